// SPDX-License-Identifier: GPL-2.0-only
// arm64 page-table format: VMSAv8-64 stage-1 translation tables as Linux builds them, with a 4K, 16K or 64K
// granule, 36- to 48-bit VA and 48-bit PA (no LPA/LPA2, so no 52-bit VA or PA and no level -1).
//
// Hardware bits follow arch/arm64/include/asm/pgtable-hwdef.h (PTE_*, PMD_SECT_*, *_TABLE_PXN/UXN/AF), the
// Linux software bits 55..58 follow arch/arm64/include/asm/pgtable-prot.h (PTE_DIRTY, PTE_SPECIAL, then two
// more packed into Descriptor::sw), and the level geometry follows ARM64_HW_PGTABLE_LEVELS/LEVEL_SHIFT there.
//
// Table descriptors store only: oa, PXNTable (bit 59) as priv_exec = !PXNTable, UXNTable (bit 60) as
// exec = !UXNTable and the table AF (bit 10, FEAT_HAFT) as accessed. APTable and NSTable are not modelled:
// Linux never sets them for stage 1.
//
// Contiguous runs: every entry of a run holds its own output address, so decode() returns that entry's page
// or block address, not the run's base.
#include "hw/pgtable/format_registry.hh"

#include <stdexcept>
#include <string>

namespace mmusim::hw {

namespace {

constexpr std::uint64_t kValid = bit(0);
constexpr std::uint64_t kTypeBit = bit(1); // [1:0] = 0b11: table (L0-L2) or page (L3); 0b01: block (L1/L2)
constexpr unsigned kAttrIndxShift = 2;     // AttrIndx[2:0], bits 4:2
constexpr std::uint64_t kUser = bit(6);    // AP[1], PTE_USER
constexpr std::uint64_t kRdonly = bit(7);  // AP[2], PTE_RDONLY
constexpr unsigned kShShift = 8;           // SH[1:0], bits 9:8
constexpr std::uint64_t kAF = bit(10);     // leaf AF; in a table descriptor, the FEAT_HAFT table AF
constexpr std::uint64_t kNG = bit(11);
constexpr std::uint64_t kDbm = bit(51);    // PTE_DBM, Linux PTE_WRITE
constexpr std::uint64_t kCont = bit(52);
constexpr std::uint64_t kPxn = bit(53);
constexpr std::uint64_t kUxn = bit(54);
constexpr std::uint64_t kSwDirty = bit(55);   // PTE_DIRTY
constexpr std::uint64_t kSwSpecial = bit(56); // PTE_SPECIAL
constexpr unsigned kSwShift = 57;             // bits 57, 58 -> sw bits 0, 1
constexpr std::uint64_t kPxnTable = bit(59);
constexpr std::uint64_t kUxnTable = bit(60);

// OA bits a 52-bit-PA implementation would use above our 48 (PTE_ADDR_LOW reaches bit 49). Set, they name an
// address beyond the 48-bit PA space: an Address size fault, so decode() reports the entry as invalid.
constexpr std::uint64_t kOaAbove48 = field_mask(49, 48);

class Arm64Format final : public PageTableFormat {
public:
    Arm64Format(unsigned page_shift, unsigned va_bits) : page_shift_(page_shift)
    {
        va_bits_ = va_bits;
        const unsigned per_level = page_shift - 3; // 8-byte descriptors fill one granule
        const int nlevels = static_cast<int>((va_bits - page_shift + per_level - 1) / per_level);
        const int first = 4 - nlevels; // Linux numbering ends at L3 whatever the depth
        const unsigned g = granule_index();
        for (int arch = first; arch <= 3; ++arch) {
            LevelInfo l;
            l.arch_level = arch;
            l.shift = per_level * static_cast<unsigned>(4 - arch) + 3; // ARM64_HW_PGTABLE_LEVEL_SHIFT
            // The top level resolves only the VA bits left over.
            l.index_bits = arch == first ? va_bits - l.shift : per_level;
            // Blocks exist at L2 for every granule and at L1 only with 4K (16K/64K need LPA/LPA2 for L1).
            l.leaf_allowed = arch == 3 || arch == 2 || (arch == 1 && page_shift == 12);
            // Linux CONT_PTE_SHIFT / CONT_PMD_SHIFT (Kconfig ARM64_CONT_PTE_SHIFT = 4/7/5, ..._PMD_SHIFT = 4/5/5).
            static constexpr unsigned kContPte[] = {16, 128, 32};
            static constexpr unsigned kContPmd[] = {16, 32, 32};
            l.contig_entries = arch == 3 ? kContPte[g] : arch == 2 ? kContPmd[g] : 1;
            l.name = "L" + std::to_string(arch);
            levels_.push_back(l);
        }
    }

    std::string name() const override { return "arm64"; }
    std::string variant() const override
    {
        return std::to_string(std::uint64_t{1} << (page_shift_ - 10)) + "K granule, " + std::to_string(va_bits_) +
               "-bit VA, " + std::to_string(levels()) + " levels";
    }
    Arch arch() const override { return Arch::Arm64; }

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
                fail(depth, "a table descriptor at the last level");
            check_oa(depth, d.oa, page_shift_);
            std::uint64_t raw = kValid | kTypeBit | d.oa;
            if (d.accessed)
                raw |= kAF;
            if (!d.priv_exec)
                raw |= kPxnTable;
            if (!d.exec)
                raw |= kUxnTable;
            return raw;
        }
        case Descriptor::Type::Leaf: {
            if (!l.leaf_allowed)
                fail(depth, "a block at a level without blocks");
            check_oa(depth, d.oa, l.shift);
            if (d.attr > 7 || d.sh > 3 || d.sw > 3)
                fail(depth, "attr > 7, sh > 3 or sw > 3");
            if (d.contiguous && l.contig_entries == 1)
                fail(depth, "a contiguous entry at a level without contiguous runs");
            std::uint64_t raw = kValid | (last ? kTypeBit : 0) | d.oa;
            raw |= std::uint64_t{d.attr} << kAttrIndxShift;
            raw |= std::uint64_t{d.sh} << kShShift;
            raw |= std::uint64_t{d.sw} << kSwShift;
            if (d.user)
                raw |= kUser;
            if (!d.write)
                raw |= kRdonly;
            if (d.accessed)
                raw |= kAF;
            if (!d.global)
                raw |= kNG;
            if (d.dbm)
                raw |= kDbm;
            if (d.contiguous)
                raw |= kCont;
            if (!d.priv_exec)
                raw |= kPxn;
            if (!d.exec)
                raw |= kUxn;
            if (d.sw_dirty)
                raw |= kSwDirty;
            if (d.sw_special)
                raw |= kSwSpecial;
            return raw;
        }
        }
        fail(depth, "an unknown descriptor type");
    }

    HwUpdateBits hw_update_bits() const override { return {kAF, kAF, kRdonly}; }

    Descriptor decode(int depth, std::uint64_t raw) const override
    {
        check_depth(depth);
        Descriptor d;
        if (!(raw & kValid) || (raw & kOaAbove48))
            return d;
        const LevelInfo& l = level(depth);
        const bool last = depth == levels() - 1;
        const bool type_bit = raw & kTypeBit;
        if (!last && type_bit) {
            d.type = Descriptor::Type::Table;
            d.oa = raw & field_mask(kPaBits - 1, page_shift_);
            d.accessed = raw & kAF;
            d.priv_exec = !(raw & kPxnTable);
            d.exec = !(raw & kUxnTable);
            return d;
        }
        // 0b01 at L3 is reserved and a block where the level has none is invalid: both fault as translation
        // faults, which is what an Invalid descriptor stands for.
        if (last != type_bit || !l.leaf_allowed)
            return d;
        d.type = Descriptor::Type::Leaf;
        // Block OA bits below the block size are RES0; ignore them as hardware does.
        d.oa = raw & field_mask(kPaBits - 1, l.shift);
        d.attr = static_cast<std::uint8_t>(bits(raw, kAttrIndxShift + 2, kAttrIndxShift));
        d.sh = static_cast<std::uint8_t>(bits(raw, kShShift + 1, kShShift));
        d.sw = static_cast<std::uint8_t>(bits(raw, kSwShift + 1, kSwShift));
        d.user = raw & kUser;
        d.write = !(raw & kRdonly);
        d.accessed = raw & kAF;
        d.global = !(raw & kNG);
        d.dbm = raw & kDbm;
        // The contiguous bit is only a hint; where we model no runs it is ignored, as hardware may.
        d.contiguous = (raw & kCont) && l.contig_entries > 1;
        d.priv_exec = !(raw & kPxn);
        d.exec = !(raw & kUxn);
        d.sw_dirty = raw & kSwDirty;
        d.sw_special = raw & kSwSpecial;
        return d;
    }

private:
    unsigned granule_index() const { return page_shift_ == 12 ? 0 : page_shift_ == 14 ? 1 : 2; }




    unsigned page_shift_;
};

std::string option(const FormatOptions& opts, const std::string& key, const std::string& def)
{
    const auto it = opts.find(key);
    return it == opts.end() ? def : it->second;
}

std::unique_ptr<PageTableFormat> make_arm64(const FormatOptions& opts)
{
    const std::string granule = option(opts, "granule", "4K");
    unsigned page_shift = 0;
    std::string allowed_va; // the va_bits Linux offers with this granule (arm64 Kconfig ARM64_VA_BITS_*)
    if (granule == "4K") {
        page_shift = 12;
        allowed_va = "39|48";
    } else if (granule == "16K") {
        page_shift = 14;
        allowed_va = "36|47|48";
    } else if (granule == "64K") {
        page_shift = 16;
        allowed_va = "42|48";
    } else {
        throw FormatOptionError("granule", "bad value '" + granule + "' for arm64 option 'granule' (allowed: 4K|16K|64K)");
    }
    const std::string va = option(opts, "va_bits", "48");
    // Compare as strings against the allowed list so "048" or "48 " are rejected rather than parsed loosely.
    if (("|" + allowed_va + "|").find("|" + va + "|") == std::string::npos)
        throw FormatOptionError("va_bits", "bad value '" + va + "' for arm64 option 'va_bits' with a " + granule +
                                               " granule (allowed: " + allowed_va + ")");
    return std::make_unique<Arm64Format>(page_shift, static_cast<unsigned>(std::stoul(va)));
}

} // namespace

MMUSIM_REGISTER_FORMAT(FormatInfo{
    "arm64",
    "VMSAv8-64 stage-1 tables as Linux uses them (48-bit PA, no LPA2)",
    {{"granule", "4K|16K|64K", "4K"}, {"va_bits", "36|39|42|47|48", "48"}},
    make_arm64,
    // The granule / va_bits pairs Linux offers (arm64 Kconfig ARM64_VA_BITS_*), as make_arm64 accepts them.
    {{{"granule", "4K"}, {"va_bits", "39"}}, {{"granule", "4K"}, {"va_bits", "48"}},
     {{"granule", "16K"}, {"va_bits", "36"}}, {{"granule", "16K"}, {"va_bits", "47"}}, {{"granule", "16K"}, {"va_bits", "48"}},
     {{"granule", "64K"}, {"va_bits", "42"}}, {{"granule", "64K"}, {"va_bits", "48"}}},
});

} // namespace mmusim::hw
