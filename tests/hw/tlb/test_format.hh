// SPDX-License-Identifier: GPL-2.0-only
// Tiny test-only page-table formats: just the geometry (levels_, va_bits_) that the TLB, walk cache and
// invalidation-scope code reads. encode()/decode() are never used by these tests.
#pragma once

#include "hw/pgtable/format.hh"

#include <string>
#include <utility>
#include <vector>

namespace mmusim::hw::test {

inline LevelInfo test_level(unsigned shift, unsigned index_bits, bool leaf, int arch_level, std::string name)
{
    LevelInfo l;
    l.shift = shift;
    l.index_bits = index_bits;
    l.leaf_allowed = leaf;
    l.arch_level = arch_level;
    l.contig_entries = 1;
    l.name = std::move(name);
    return l;
}

class TestFormat final : public PageTableFormat {
public:
    TestFormat(std::string name, Arch arch, unsigned va_bits, std::vector<LevelInfo> levels)
        : name_(std::move(name)), arch_(arch)
    {
        levels_ = std::move(levels);
        va_bits_ = va_bits;
    }

    std::string name() const override { return name_; }
    std::string variant() const override { return "test-only geometry"; }
    Arch arch() const override { return arch_; }
    std::uint64_t encode(int, const Descriptor&) const override { return 0; }
    Descriptor decode(int, std::uint64_t) const override { return Descriptor{}; }
    HwUpdateBits hw_update_bits() const override { return {}; }

private:
    std::string name_;
    Arch arch_;
};

// arm64, 4K granule, 48-bit VA: L0..L3 at shifts 39/30/21/12; leaves (2M blocks, 4K pages) at depths 2, 3.
inline const TestFormat& arm64_4k()
{
    static const TestFormat f("test-arm64-4k", Arch::Arm64, 48,
                              {test_level(39, 9, false, 0, "L0"), test_level(30, 9, false, 1, "L1"),
                               test_level(21, 9, true, 2, "L2"), test_level(12, 9, true, 3, "L3")});
    return f;
}

// arm64, 64K granule, 48-bit VA: L1..L3 at shifts 42/29/16 (arch levels 1..3); leaves at depths 1 and 2.
inline const TestFormat& arm64_64k()
{
    static const TestFormat f("test-arm64-64k", Arch::Arm64, 48,
                              {test_level(42, 6, false, 1, "L1"), test_level(29, 13, true, 2, "L2"),
                               test_level(16, 13, true, 3, "L3")});
    return f;
}

// x86-64 4-level paging: PML4/PDPT/PD/PT as arch levels 4..1.
inline const TestFormat& x86_4level()
{
    static const TestFormat f("test-x86-4level", Arch::X86_64, 48,
                              {test_level(39, 9, false, 4, "PML4"), test_level(30, 9, true, 3, "PDPT"),
                               test_level(21, 9, true, 2, "PD"), test_level(12, 9, true, 1, "PT")});
    return f;
}

// RISC-V Sv48: arch levels 3..0.
inline const TestFormat& riscv_sv48()
{
    static const TestFormat f("test-riscv-sv48", Arch::RiscV, 48,
                              {test_level(39, 9, true, 3, "L3"), test_level(30, 9, true, 2, "L2"),
                               test_level(21, 9, true, 1, "L1"), test_level(12, 9, true, 0, "L0")});
    return f;
}

// Span shifts for a WalkCache built on `f`.
inline std::vector<unsigned> span_shifts(const PageTableFormat& f)
{
    std::vector<unsigned> s;
    for (int d = 0; d < f.levels(); ++d)
        s.push_back(f.level(d).shift);
    return s;
}

} // namespace mmusim::hw::test
