// SPDX-License-Identifier: GPL-2.0-only
// RISC-V page-table format: Sv39, Sv48 and Sv57 (RISC-V privileged spec, "Supervisor-Level ISA", sections
// on Sv39/48/57, Svpbmt and Svnapot) with Svnapot limited to 64K as Linux uses it, and a 48-bit PA.
//
// Bit layout follows arch/riscv/include/asm/pgtable-bits.h (_PAGE_PRESENT.._PAGE_DIRTY, RSW 9:8) and
// arch/riscv/include/asm/pgtable-64.h (_PAGE_PFN_MASK 53:10, _PAGE_*_SVPBMT 62:61, _PAGE_NAPOT 63,
// napot_cont_order). Levels are named by the spec's level number: "L2".."L0" for Sv39, up to "L4" for Sv57.
//
// Table (non-leaf, R=W=X=0) entries store only: oa, G (global; it covers every mapping below) and RSW (sw).
// The spec reserves D, A and U in non-leaf entries; decode ignores them and encode writes them as 0.
//
// Encodings the hardware raises a page fault on decode to Invalid: reserved bits 60:54, W without R, PBMT 3,
// N or PBMT in a non-leaf entry, N in a leaf above level 0, a non-leaf entry at level 0 and a misaligned
// superpage. An output address at or above 2^48 is also Invalid (the model's PA space is 48 bits; hardware
// would raise an access fault instead).
//
// Svnapot: a leaf with contiguous=true is one of the 16 PTEs of a 64K NAPOT run. All 16 hold the same PPN,
// the run's base with PPN[3:0] = 0b1000, so decode() returns the run base and encode() accepts the address of
// any page in the run.
//
// Option svnapot=false models a hart without Svnapot: bit 63 is then reserved, so a leaf with N set decodes
// to Invalid (the privileged spec: "If Svnapot is not implemented, bit 63 remains reserved and must be zeroed
// by software for forward compatibility, or else a page-fault exception is raised"), and no level has
// contiguous runs. The platform sets it from features.svnapot.
#include "hw/pgtable/format_registry.hh"

#include <stdexcept>
#include <string>

namespace mmusim::hw {

namespace {

constexpr std::uint64_t kValid = bit(0);
constexpr std::uint64_t kRead = bit(1);
constexpr std::uint64_t kWrite = bit(2);
constexpr std::uint64_t kExec = bit(3);
constexpr std::uint64_t kUser = bit(4);
constexpr std::uint64_t kGlobal = bit(5);
constexpr std::uint64_t kAccessed = bit(6);
constexpr std::uint64_t kDirty = bit(7);
constexpr unsigned kRswShift = 8;  // RSW, bits 9:8
constexpr unsigned kPpnShift = 10; // PPN, bits 53:10
constexpr std::uint64_t kPpnMask = field_mask(53, kPpnShift);
constexpr std::uint64_t kReserved = field_mask(60, 54);
constexpr unsigned kPbmtShift = 61; // Svpbmt, bits 62:61: 0 PMA, 1 NC, 2 IO, 3 reserved
constexpr std::uint64_t kPbmtMask = field_mask(62, 61);
constexpr std::uint64_t kNapot = bit(63);

constexpr unsigned kPageShift = 12;
constexpr unsigned kNapotOrder = 4;                              // 64K = 16 x 4K, NAPOT_CONT64KB_ORDER
constexpr std::uint64_t kNapotPpnLow = bit(kNapotOrder - 1);     // PPN[3:0] = 0b1000
constexpr std::uint64_t kNapotBytes = bit(kPageShift + kNapotOrder);

class RiscvFormat final : public PageTableFormat {
public:
    RiscvFormat(int nlevels, bool svnapot) : svnapot_(svnapot)
    {
        va_bits_ = kPageShift + 9 * static_cast<unsigned>(nlevels);
        for (int arch = nlevels - 1; arch >= 0; --arch) {
            LevelInfo l;
            l.arch_level = arch;
            l.shift = kPageShift + 9 * static_cast<unsigned>(arch);
            l.index_bits = 9;
            l.leaf_allowed = true; // any level may hold a leaf (a superpage above level 0)
            l.contig_entries = arch == 0 && svnapot ? 1u << kNapotOrder : 1;
            l.name = "L" + std::to_string(arch);
            levels_.push_back(l);
        }
    }

    std::string name() const override { return "riscv"; }
    std::string variant() const override
    {
        return "Sv" + std::to_string(va_bits_) + ", " + std::to_string(va_bits_) + "-bit VA, " +
               std::to_string(levels()) + " levels" + (svnapot_ ? "" : ", no Svnapot");
    }
    Arch arch() const override { return Arch::RiscV; }

    std::uint64_t encode(int depth, const Descriptor& d) const override
    {
        check_depth(depth);
        const LevelInfo& l = level(depth);
        const bool last = depth == levels() - 1;
        switch (d.type) {
        case Descriptor::Type::Invalid:
            return 0;
        case Descriptor::Type::Table: {
            if (last)
                fail(depth, "a non-leaf entry at level 0");
            check_oa(depth, d.oa, kPageShift);
            if (d.sw > 3)
                fail(depth, "sw > 3");
            std::uint64_t raw = kValid | ((d.oa >> kPageShift) << kPpnShift) | (std::uint64_t{d.sw} << kRswShift);
            if (d.global)
                raw |= kGlobal;
            return raw;
        }
        case Descriptor::Type::Leaf: {
            // R=W=X=0 would make a pointer to the next table; W without R is reserved.
            if (!d.read && !d.write && !d.exec)
                fail(depth, "a leaf with none of read, write, exec");
            if (d.write && !d.read)
                fail(depth, "a writable leaf that is not readable");
            if (d.attr > 2 || d.sw > 3)
                fail(depth, "attr (PBMT) > 2 or sw > 3");
            std::uint64_t ppn;
            if (d.contiguous) {
                if (l.contig_entries == 1)
                    fail(depth, svnapot_ ? "a NAPOT leaf above level 0" : "a NAPOT leaf without Svnapot");
                check_oa(depth, d.oa, kPageShift);
                ppn = ((d.oa & ~(kNapotBytes - 1)) >> kPageShift) | kNapotPpnLow;
            } else {
                check_oa(depth, d.oa, l.shift);
                ppn = d.oa >> kPageShift;
            }
            std::uint64_t raw = kValid | (ppn << kPpnShift) | (std::uint64_t{d.sw} << kRswShift) |
                                (std::uint64_t{d.attr} << kPbmtShift);
            if (d.read)
                raw |= kRead;
            if (d.write)
                raw |= kWrite;
            if (d.exec)
                raw |= kExec;
            if (d.user)
                raw |= kUser;
            if (d.global)
                raw |= kGlobal;
            if (d.accessed)
                raw |= kAccessed;
            if (d.dirty)
                raw |= kDirty;
            if (d.contiguous)
                raw |= kNapot;
            return raw;
        }
        }
        fail(depth, "an unknown descriptor type");
    }

    HwUpdateBits hw_update_bits() const override { return {kAccessed, kAccessed | kDirty, 0}; }

    Descriptor decode(int depth, std::uint64_t raw) const override
    {
        check_depth(depth);
        Descriptor d;
        if (!(raw & kValid) || (raw & kReserved))
            return d;
        const LevelInfo& l = level(depth);
        const bool last = depth == levels() - 1;
        const PAddr pa = ((raw & kPpnMask) >> kPpnShift) << kPageShift;
        if (pa >> kPaBits)
            return d;
        const unsigned pbmt = static_cast<unsigned>((raw & kPbmtMask) >> kPbmtShift);
        if (!(raw & (kRead | kWrite | kExec))) {
            if (last || (raw & (kNapot | kPbmtMask)))
                return d;
            d.type = Descriptor::Type::Table;
            d.oa = pa;
            d.global = raw & kGlobal;
            d.sw = static_cast<std::uint8_t>(bits(raw, kRswShift + 1, kRswShift));
            return d;
        }
        if (((raw & kWrite) && !(raw & kRead)) || pbmt == 3)
            return d;
        if (raw & kNapot) {
            // Linux supports only 64K NAPOT, so any N=1 leaf at level 0 is taken as one, whatever PPN[3:0].
            // Above level 0, or without Svnapot (bit 63 reserved), N=1 is a page fault.
            if (l.contig_entries == 1)
                return d;
            d.contiguous = true;
            d.oa = pa & ~(kNapotBytes - 1);
        } else {
            if (pa & (bit(l.shift) - 1))
                return d; // misaligned superpage
            d.oa = pa;
        }
        d.type = Descriptor::Type::Leaf;
        d.read = raw & kRead;
        d.write = raw & kWrite;
        d.exec = raw & kExec;
        d.priv_exec = d.exec;
        d.user = raw & kUser;
        d.global = raw & kGlobal;
        d.accessed = raw & kAccessed;
        d.dirty = raw & kDirty;
        d.sw = static_cast<std::uint8_t>(bits(raw, kRswShift + 1, kRswShift));
        d.attr = static_cast<std::uint8_t>(pbmt);
        return d;
    }

private:
    bool svnapot_;
};

std::unique_ptr<PageTableFormat> make_riscv(const FormatOptions& opts)
{
    const auto it = opts.find("mode");
    const std::string mode = it == opts.end() ? "sv39" : it->second;
    int nlevels = 0;
    if (mode == "sv39")
        nlevels = 3;
    else if (mode == "sv48")
        nlevels = 4;
    else if (mode == "sv57")
        nlevels = 5;
    else
        throw FormatOptionError("mode", "bad value '" + mode + "' for riscv option 'mode' (allowed: sv39|sv48|sv57)");
    const auto napot = opts.find("svnapot");
    return std::make_unique<RiscvFormat>(nlevels, napot == opts.end() || napot->second == "true");
}

} // namespace

MMUSIM_REGISTER_FORMAT(FormatInfo{
    "riscv",
    "RISC-V Sv39/Sv48/Sv57 with Svpbmt and 64K Svnapot (48-bit PA)",
    {{"mode", "sv39|sv48|sv57", "sv39"}, {"svnapot", "true|false", "true"}},
    make_riscv,
    {{{"mode", "sv39"}}, {{"mode", "sv48"}}, {{"mode", "sv57"}},
     {{"mode", "sv39"}, {"svnapot", "false"}}, {{"mode", "sv48"}, {"svnapot", "false"}}, {{"mode", "sv57"}, {"svnapot", "false"}}},
});

} // namespace mmusim::hw
