// SPDX-License-Identifier: GPL-2.0-only
// Page-table format interface: the geometry of a radix page table and the encoding of its descriptors.
//
// A format knows nothing of SystemC or timing. Levels are numbered by depth from the root (depth 0) to the
// last level (depth levels()-1); LevelInfo::arch_level gives the architecture's own number (arm64 L0..L3,
// x86 PML5..PT as 5..1, RISC-V 3..0) for printing and for TLBI TTL hints.
#pragma once

#include "hw/common/types.hh"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim::hw {

// A decoded descriptor in architecture-neutral terms. Fields a format does not have stay at their defaults
// and encode() ignores them; Descriptor::operator== compares every field so round-trip tests can use it.
struct Descriptor {
    enum class Type : std::uint8_t { Invalid, Table, Leaf };
    Type type = Type::Invalid;
    PAddr oa = 0; // output address: next table (Table) or the mapped page/block base (Leaf)

    // Permissions, as the hardware applies them.
    bool read = true;       // RISC-V R; always true for arm64/x86 leaves
    bool write = false;     // arm64 !AP[2] (PTE_RDONLY clear); x86 R/W; RISC-V W
    bool user = false;      // arm64 AP[1]; x86 U/S; RISC-V U
    bool exec = true;       // arm64 !UXN; x86 !NX; RISC-V X
    bool priv_exec = true;  // arm64 !PXN; x86/RISC-V: same as exec (ignored)

    bool accessed = false;  // arm64 AF; x86 A; RISC-V A
    bool dirty = false;     // x86 D; RISC-V D; arm64: unused (dirty is DBM && !RDONLY, or sw_dirty)
    bool global = false;    // arm64 !nG; x86 G; RISC-V G
    bool contiguous = false; // arm64 contiguous bit 52; RISC-V Svnapot N (64K NAPOT)

    // arm64-only
    bool dbm = false;       // bit 51, Linux PTE_WRITE
    bool sw_dirty = false;  // bit 55, Linux PTE_DIRTY
    bool sw_special = false; // arm64 bit 56 / x86 bit 9 (Linux _PAGE_SPECIAL)

    std::uint8_t attr = 0;  // arm64 AttrIndx[2:0]; x86 PAT:PCD:PWT (bit2:1:0); RISC-V PBMT
    std::uint8_t sh = 0;    // arm64 SH[1:0]
    std::uint8_t pkey = 0;  // x86 protection key (bits 62:59)
    std::uint8_t sw = 0;    // remaining software bits, packed (arm64 57,58; x86 10,11,57,58; RISC-V RSW 9:8)

    bool valid() const { return type != Type::Invalid; }
    bool operator==(const Descriptor& o) const;
    bool operator!=(const Descriptor& o) const { return !(*this == o); }
};

// The raw bits a hardware accessed/dirty update changes in a leaf descriptor; every other bit is preserved,
// including ones Descriptor does not carry. arm64 (Arm ARM D8.4 "Hardware updates to the Access flag and dirty
// state", FEAT_HAFDBS): AF set; a write to a DBM-writable entry clears AP[2]. x86 (Intel SDM 4.8): A set; a
// write sets A and D. RISC-V Svadu: the same with A and D.
struct HwUpdateBits {
    std::uint64_t set_on_access = 0;
    std::uint64_t set_on_write = 0;
    std::uint64_t clear_on_write = 0;
};

struct LevelInfo {
    unsigned shift = 0;       // log2 of the VA span of one entry at this level
    unsigned index_bits = 0;  // log2 of entries in a table at this level
    bool leaf_allowed = false; // a valid leaf (page/block) may appear here
    int arch_level = 0;       // the architecture's level number
    unsigned contig_entries = 1; // entries in a contiguous/NAPOT run at this level (1 = none)
    std::string name;         // "L3", "PTE", "PMD" ...
};

class PageTableFormat {
public:
    virtual ~PageTableFormat() = default;

    virtual std::string name() const = 0;     // registry name, e.g. "arm64"
    virtual std::string variant() const = 0;  // human summary, e.g. "4K granule, 48-bit VA, 4 levels"
    virtual Arch arch() const = 0;

    virtual std::uint64_t encode(int depth, const Descriptor& d) const = 0;
    virtual Descriptor decode(int depth, std::uint64_t raw) const = 0;
    virtual HwUpdateBits hw_update_bits() const = 0;

    int levels() const { return static_cast<int>(levels_.size()); }
    const LevelInfo& level(int depth) const { return levels_[static_cast<size_t>(depth)]; }
    unsigned page_shift() const { return levels_.back().shift; }
    std::uint64_t page_size() const { return std::uint64_t{1} << page_shift(); }
    unsigned va_bits() const { return va_bits_; }
    // Last address of the lower (user) VA range one root table translates: arm64 TTBR0 covers [0, 2^va_bits);
    // x86-64 and RISC-V user addresses are the lower canonical half, [0, 2^(va_bits-1)). An address above it
    // is the other root's (TTBR1, kernel half) or non-canonical: indexing it here would alias a lower one.
    Addr user_va_last() const { return (Addr{1} << (arch() == Arch::Arm64 ? va_bits_ : va_bits_ - 1)) - 1; }
    static constexpr unsigned descriptor_bytes = 8;

    unsigned index(Addr va, int depth) const
    {
        const LevelInfo& l = level(depth);
        return static_cast<unsigned>((va >> l.shift) & ((std::uint64_t{1} << l.index_bits) - 1));
    }
    std::uint64_t table_bytes(int depth) const { return (std::uint64_t{1} << level(depth).index_bits) * descriptor_bytes; }
    // Leaf sizes (log2 bytes) this format can map, smallest first, without contiguous runs.
    std::vector<unsigned> leaf_shifts() const;

protected:
    // Shared argument checks for encode()/decode(): a depth outside the table throws std::out_of_range; an
    // impossible descriptor throws std::invalid_argument naming the format, variant and level.
    static constexpr unsigned kPaBits = 48; // no LPA2 / 52-bit PA yet
    void check_depth(int depth) const;
    [[noreturn]] void fail(int depth, const std::string& what) const;
    void check_oa(int depth, PAddr oa, unsigned align_shift) const;

    std::vector<LevelInfo> levels_;
    unsigned va_bits_ = 0;
};

// Options a format accepts from YAML (`page_table: {format: arm64, granule: 4K, va_bits: 48}`), as strings.
using FormatOptions = std::map<std::string, std::string>;

// Thrown by a format factory for a bad option; the caller adds file and line.
struct FormatOptionError : std::runtime_error {
    FormatOptionError(std::string key_, const std::string& what) : std::runtime_error(what), key(std::move(key_)) {}
    std::string key;
};

} // namespace mmusim::hw
