// SPDX-License-Identifier: GPL-2.0-only
// x86-64 page-table format: IA-32e 4-level paging (48-bit VA) and 5-level paging (LA57, 57-bit VA) with 4K
// pages, 2M pages (PDE.PS) and 1G pages (PDPTE.PS), and MAXPHYADDR = 48.
//
// Bit layout follows arch/x86/include/asm/pgtable_types.h (_PAGE_BIT_*: SOFTW1..5, PAT_LARGE, PKEY_BIT0..3,
// NX) and the Intel SDM vol. 3A section 4.5 tables 4-15..4-20.
//
// Table (non-leaf) entries store only: oa, R/W (write), U/S (user), PWT/PCD (attr bits 0-1, the memory type
// of the next table), A (accessed) and XD (exec; priv_exec mirrors it). Those are the bits the hardware
// reads from a non-leaf entry; D, G, PKEY and the software bits are ignored there.
//
// Reserved bits the hardware faults on (PFN above MAXPHYADDR, PS in a PML4E/PML5E, the low PFN bits of a 2M
// or 1G page) make decode() return Invalid, as a walk would take a #PF there.
#include "hw/pgtable/format_registry.hh"

#include <stdexcept>
#include <string>

namespace mmusim::hw {

namespace {

constexpr std::uint64_t kPresent = bit(0);
constexpr std::uint64_t kRw = bit(1);
constexpr std::uint64_t kUser = bit(2);
constexpr std::uint64_t kPwt = bit(3);
constexpr std::uint64_t kPcd = bit(4);
constexpr std::uint64_t kAccessed = bit(5);
constexpr std::uint64_t kDirty = bit(6);
constexpr std::uint64_t kPse = bit(7);      // PS in a PDE/PDPTE
constexpr std::uint64_t kPat4K = bit(7);    // PAT in a 4K PTE
constexpr std::uint64_t kGlobal = bit(8);
constexpr std::uint64_t kSpecial = bit(9);  // _PAGE_BIT_SOFTW1 = _PAGE_BIT_SPECIAL
constexpr std::uint64_t kPatLarge = bit(12); // _PAGE_BIT_PAT_LARGE, PAT in a 2M/1G entry
constexpr unsigned kPkeyShift = 59;          // _PAGE_BIT_PKEY_BIT0..3 = 59..62
constexpr std::uint64_t kNx = bit(63);
// Software bits packed into Descriptor::sw, low bit first: SOFTW2 (10), SOFTW3 (11), SOFTW4 (57), SOFTW5 (58).
constexpr unsigned kSwBits[] = {10, 11, 57, 58};

constexpr unsigned kPageShift = 12;
constexpr unsigned kMaxPhyAddr = 48;
// PFN bits 51:MAXPHYADDR are reserved: set, they fault.
constexpr std::uint64_t kPfnReserved = field_mask(51, kMaxPhyAddr);

class X86_64Format final : public PageTableFormat {
public:
    explicit X86_64Format(int nlevels)
    {
        static const char* const kNames[] = {"PT", "PD", "PDPT", "PML4", "PML5"};
        va_bits_ = kPageShift + 9 * static_cast<unsigned>(nlevels);
        for (int arch = nlevels; arch >= 1; --arch) {
            LevelInfo l;
            l.arch_level = arch;
            l.shift = kPageShift + 9 * static_cast<unsigned>(arch - 1);
            l.index_bits = 9;
            l.leaf_allowed = arch <= 3; // PT 4K, PD 2M (PS), PDPT 1G (PS)
            l.contig_entries = 1;
            l.name = kNames[arch - 1];
            levels_.push_back(l);
        }
    }

    std::string name() const override { return "x86-64"; }
    std::string variant() const override
    {
        return levels() == 5 ? "5-level paging (LA57), 57-bit VA" : "4-level paging, 48-bit VA";
    }
    Arch arch() const override { return Arch::X86_64; }

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
                fail(depth, "a table entry in a page table (PT)");
            check_oa(depth, d.oa, kPageShift);
            // attr bit 2 (PAT) has no place in a non-leaf entry; ignore it like the other leaf-only fields.
            return kPresent | d.oa | common_bits(d);
        }
        case Descriptor::Type::Leaf: {
            if (!l.leaf_allowed)
                fail(depth, "a leaf above the PDPT");
            check_oa(depth, d.oa, l.shift);
            if (d.attr > 7 || d.pkey > 15 || d.sw > 15)
                fail(depth, "attr > 7, pkey > 15 or sw > 15");
            std::uint64_t raw = kPresent | d.oa | common_bits(d);
            if (d.attr & 4)
                raw |= last ? kPat4K : kPatLarge;
            if (!last)
                raw |= kPse;
            if (d.dirty)
                raw |= kDirty;
            if (d.global)
                raw |= kGlobal;
            if (d.sw_special)
                raw |= kSpecial;
            for (unsigned i = 0; i < 4; ++i)
                if (d.sw & (1u << i))
                    raw |= bit(kSwBits[i]);
            raw |= std::uint64_t{d.pkey} << kPkeyShift;
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
        if (!(raw & kPresent) || (raw & kPfnReserved))
            return d;
        const LevelInfo& l = level(depth);
        const bool last = depth == levels() - 1;
        const bool leaf = last || (raw & kPse);
        if (leaf && !l.leaf_allowed)
            return d; // PS in a PML4E/PML5E is a reserved bit
        const std::uint64_t oa = raw & field_mask(kMaxPhyAddr - 1, leaf ? l.shift : kPageShift);
        if (leaf && !last && (raw & field_mask(l.shift - 1, kPageShift + 1)))
            return d; // 2M/1G entries: PFN bits below the page size (bit 12 is PAT) are reserved
        d.type = leaf ? Descriptor::Type::Leaf : Descriptor::Type::Table;
        d.oa = oa;
        d.write = raw & kRw;
        d.user = raw & kUser;
        d.accessed = raw & kAccessed;
        d.exec = !(raw & kNx);
        d.priv_exec = d.exec;
        d.attr = static_cast<std::uint8_t>(((raw & kPcd) ? 2 : 0) | ((raw & kPwt) ? 1 : 0));
        if (!leaf)
            return d;
        if (raw & (last ? kPat4K : kPatLarge))
            d.attr |= 4;
        d.dirty = raw & kDirty;
        d.global = raw & kGlobal;
        d.sw_special = raw & kSpecial;
        for (unsigned i = 0; i < 4; ++i)
            if (raw & bit(kSwBits[i]))
                d.sw |= static_cast<std::uint8_t>(1u << i);
        d.pkey = static_cast<std::uint8_t>(bits(raw, kPkeyShift + 3, kPkeyShift));
        return d;
    }

private:
    // Bits with the same meaning in leaf and non-leaf entries.
    static std::uint64_t common_bits(const Descriptor& d)
    {
        std::uint64_t raw = 0;
        if (d.write)
            raw |= kRw;
        if (d.user)
            raw |= kUser;
        if (d.attr & 1)
            raw |= kPwt;
        if (d.attr & 2)
            raw |= kPcd;
        if (d.accessed)
            raw |= kAccessed;
        if (!d.exec)
            raw |= kNx;
        return raw;
    }



};

std::unique_ptr<PageTableFormat> make_x86_64(const FormatOptions& opts)
{
    const auto it = opts.find("levels");
    const std::string levels = it == opts.end() ? "4" : it->second;
    if (levels != "4" && levels != "5")
        throw FormatOptionError("levels", "bad value '" + levels + "' for x86-64 option 'levels' (allowed: 4|5)");
    return std::make_unique<X86_64Format>(levels == "5" ? 5 : 4);
}

} // namespace

MMUSIM_REGISTER_FORMAT(FormatInfo{
    "x86-64",
    "x86-64 4-level or 5-level (LA57) paging, 4K/2M/1G pages, MAXPHYADDR 48",
    {{"levels", "4|5", "4"}},
    make_x86_64,
    {{{"levels", "4"}}, {{"levels", "5"}}},
});

} // namespace mmusim::hw
