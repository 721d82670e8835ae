// SPDX-License-Identifier: GPL-2.0-only
// Helpers shared by the page-table format tests, in the spirit of Linux's mm/debug_vm_pgtable.c: set one
// field, check the documented bit, and check encode/decode round trips at every level of every variant.
#pragma once

#include "hw/pgtable/format_registry.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace mmusim::hw {

// Lets GoogleTest print a Descriptor when an EXPECT_EQ fails.
inline void PrintTo(const Descriptor& d, std::ostream* os)
{
    static const char* const kTypes[] = {"Invalid", "Table", "Leaf"};
    *os << "{" << kTypes[static_cast<int>(d.type)] << " oa=0x" << std::hex << d.oa << std::dec << " r" << d.read
        << " w" << d.write << " u" << d.user << " x" << d.exec << " px" << d.priv_exec << " af" << d.accessed
        << " d" << d.dirty << " g" << d.global << " cont" << d.contiguous << " dbm" << d.dbm << " swd"
        << d.sw_dirty << " special" << d.sw_special << " attr" << int{d.attr} << " sh" << int{d.sh} << " pkey"
        << int{d.pkey} << " sw" << int{d.sw} << "}";
}

} // namespace mmusim::hw

namespace mmusim::hw::test {

constexpr std::uint64_t B(unsigned n) { return std::uint64_t{1} << n; }

inline std::unique_ptr<PageTableFormat> make_format(const std::string& name, const FormatOptions& opts = {})
{
    return FormatRegistry::instance().create(name, opts);
}

// One field changed from a baseline descriptor and the raw bits that change must follow (0: the format does
// not store the field here, so the encoding must not change and decode must give the baseline back).
struct FieldCase {
    std::string what;
    std::function<void(Descriptor&)> set;
    std::uint64_t bits;
};

// Encodes the baseline, checks its raw value, then each case: raw XOR baseline_raw must be exactly the
// documented bits, and decoding must give the changed descriptor back (or the baseline for an ignored field).
inline void check_fields(const PageTableFormat& f, int depth, const Descriptor& baseline, std::uint64_t baseline_raw,
                         const std::vector<FieldCase>& cases)
{
    SCOPED_TRACE(f.variant() + ", level " + f.level(depth).name);
    const std::uint64_t raw0 = f.encode(depth, baseline);
    EXPECT_EQ(raw0, baseline_raw) << "baseline encoding";
    EXPECT_EQ(f.decode(depth, raw0), baseline) << "baseline decoding";
    for (const FieldCase& c : cases) {
        SCOPED_TRACE(c.what);
        Descriptor d = baseline;
        c.set(d);
        const std::uint64_t raw = f.encode(depth, d);
        EXPECT_EQ(raw ^ raw0, c.bits) << std::hex << "raw 0x" << raw << " baseline 0x" << raw0;
        EXPECT_EQ(f.decode(depth, raw), c.bits ? d : baseline);
    }
}

// encode -> decode gives the descriptor back, and decode -> encode the raw value.
inline void check_round_trip(const PageTableFormat& f, int depth, const Descriptor& d)
{
    const std::uint64_t raw = f.encode(depth, d);
    const Descriptor back = f.decode(depth, raw);
    EXPECT_EQ(back, d) << "level " << f.level(depth).name << " raw 0x" << std::hex << raw;
    EXPECT_EQ(f.encode(depth, back), raw) << "level " << f.level(depth).name;
}

// A random address below 2^48 aligned to 2^align_shift.
inline std::uint64_t random_oa(std::mt19937_64& rng, unsigned align_shift)
{
    return rng() & (B(48) - 1) & ~(B(align_shift) - 1);
}

// A VA whose index at each depth is idx[depth], given the level shifts, plus an in-page offset.
inline std::uint64_t va_from_indices(const std::vector<unsigned>& shifts, const std::vector<std::uint64_t>& idx,
                                     std::uint64_t offset)
{
    std::uint64_t va = offset;
    for (size_t i = 0; i < shifts.size(); ++i)
        va |= idx[i] << shifts[i];
    return va;
}

// Every raw value with the valid/present bit (bit 0) clear decodes to a default Descriptor, and an Invalid
// descriptor, whatever its other fields, encodes to 0.
inline void check_invalid(const PageTableFormat& f, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    Descriptor junk;
    junk.type = Descriptor::Type::Invalid;
    junk.oa = 0x1234000;
    junk.write = junk.user = junk.accessed = junk.dirty = junk.global = junk.contiguous = true;
    junk.attr = 3;
    junk.sw = 1;
    for (int depth = 0; depth < f.levels(); ++depth) {
        EXPECT_EQ(f.decode(depth, 0), Descriptor{});
        EXPECT_EQ(f.encode(depth, Descriptor{}), 0u);
        EXPECT_EQ(f.encode(depth, junk), 0u);
        for (int i = 0; i < 200; ++i) {
            const std::uint64_t raw = rng() & ~std::uint64_t{1};
            EXPECT_EQ(f.decode(depth, raw), Descriptor{}) << std::hex << raw;
        }
    }
}

} // namespace mmusim::hw::test
