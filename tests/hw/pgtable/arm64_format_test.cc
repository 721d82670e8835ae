// SPDX-License-Identifier: GPL-2.0-only
// arm64 format tests. Expected values come from the Arm ARM (DDI 0487, VMSAv8-64 descriptor formats),
// Linux arch/arm64/include/asm/pgtable-hwdef.h / pgtable-prot.h and the arm64 Kconfig, written out here by
// hand rather than computed the way the format computes them.
#include "tests/hw/pgtable/format_test_util.hh"

#include <algorithm>

namespace mmusim::hw::test {
namespace {

struct Arm64Variant {
    std::string granule;
    std::string va_bits;
    unsigned page_shift;
    int first_level;                  // arch level of the root
    std::vector<unsigned> shifts;     // per depth
    std::vector<unsigned> index_bits; // per depth
    std::vector<unsigned> leaf_shifts;
    unsigned cont_pte; // Linux CONT_PTES
    unsigned cont_pmd; // Linux CONT_PMDS
};

std::ostream& operator<<(std::ostream& os, const Arm64Variant& v) { return os << v.granule << "/" << v.va_bits; }

const std::vector<Arm64Variant> kVariants = {
    {"4K", "39", 12, 1, {30, 21, 12}, {9, 9, 9}, {12, 21, 30}, 16, 16},
    {"4K", "48", 12, 0, {39, 30, 21, 12}, {9, 9, 9, 9}, {12, 21, 30}, 16, 16},
    {"16K", "36", 14, 2, {25, 14}, {11, 11}, {14, 25}, 128, 32},
    {"16K", "47", 14, 1, {36, 25, 14}, {11, 11, 11}, {14, 25}, 128, 32},
    {"16K", "48", 14, 0, {47, 36, 25, 14}, {1, 11, 11, 11}, {14, 25}, 128, 32},
    {"64K", "42", 16, 2, {29, 16}, {13, 13}, {16, 29}, 32, 32},
    {"64K", "48", 16, 1, {42, 29, 16}, {6, 13, 13}, {16, 29}, 32, 32},
};

// Architectural bit positions (pgtable-hwdef.h, pgtable-prot.h).
constexpr std::uint64_t kTableOrPage = B(1) | B(0);
constexpr std::uint64_t kBlock = B(0);
constexpr std::uint64_t kApUser = B(6);   // AP[1]
constexpr std::uint64_t kApRdonly = B(7); // AP[2]
constexpr std::uint64_t kAF = B(10);
constexpr std::uint64_t kNG = B(11);
constexpr std::uint64_t kDBM = B(51);
constexpr std::uint64_t kCont = B(52);
constexpr std::uint64_t kPXN = B(53);
constexpr std::uint64_t kUXN = B(54);
constexpr std::uint64_t kPteDirty = B(55);
constexpr std::uint64_t kPteSpecial = B(56);
constexpr std::uint64_t kPXNTable = B(59);
constexpr std::uint64_t kUXNTable = B(60);

class Arm64FormatTest : public ::testing::TestWithParam<Arm64Variant> {
protected:
    void SetUp() override
    {
        f = make_format("arm64", {{"granule", GetParam().granule}, {"va_bits", GetParam().va_bits}});
        ASSERT_NE(f, nullptr);
    }
    bool leaf_at(int depth) const
    {
        const auto& ls = GetParam().leaf_shifts;
        return std::find(ls.begin(), ls.end(), GetParam().shifts[static_cast<size_t>(depth)]) != ls.end();
    }
    unsigned contig_at(int depth) const
    {
        const int arch = GetParam().first_level + depth;
        return arch == 3 ? GetParam().cont_pte : arch == 2 ? GetParam().cont_pmd : 1;
    }
    bool last(int depth) const { return depth == f->levels() - 1; }
    std::unique_ptr<PageTableFormat> f;
};

TEST_P(Arm64FormatTest, Geometry)
{
    const Arm64Variant& v = GetParam();
    EXPECT_EQ(f->name(), "arm64");
    EXPECT_EQ(f->arch(), Arch::Arm64);
    EXPECT_EQ(f->va_bits(), static_cast<unsigned>(std::stoul(v.va_bits)));
    ASSERT_EQ(f->levels(), static_cast<int>(v.shifts.size()));
    EXPECT_EQ(f->page_shift(), v.page_shift);
    EXPECT_EQ(f->page_size(), B(v.page_shift));
    EXPECT_EQ(f->leaf_shifts(), v.leaf_shifts);
    for (int d = 0; d < f->levels(); ++d) {
        const LevelInfo& l = f->level(d);
        SCOPED_TRACE("depth " + std::to_string(d));
        EXPECT_EQ(l.shift, v.shifts[static_cast<size_t>(d)]);
        EXPECT_EQ(l.index_bits, v.index_bits[static_cast<size_t>(d)]);
        EXPECT_EQ(l.arch_level, v.first_level + d);
        EXPECT_EQ(l.name, "L" + std::to_string(v.first_level + d));
        EXPECT_EQ(l.leaf_allowed, leaf_at(d));
        EXPECT_EQ(l.contig_entries, contig_at(d));
        EXPECT_EQ(f->table_bytes(d), B(v.index_bits[static_cast<size_t>(d)]) * 8);
    }
    // The top level's index bits plus its shift cover exactly the VA.
    EXPECT_EQ(f->level(0).shift + f->level(0).index_bits, f->va_bits());
}

TEST_P(Arm64FormatTest, IndexOfKnownVa)
{
    const Arm64Variant& v = GetParam();
    for (int pattern = 0; pattern < 3; ++pattern) {
        std::vector<std::uint64_t> idx;
        for (size_t d = 0; d < v.shifts.size(); ++d) {
            const std::uint64_t max = B(v.index_bits[d]) - 1;
            idx.push_back(pattern == 0 ? 0 : pattern == 1 ? max : (0x2D5 + 131 * d) & max);
        }
        const std::uint64_t va = va_from_indices(v.shifts, idx, 0x123);
        // A TTBR1 (kernel) address has every bit above va_bits set; the indices must not see them.
        const std::uint64_t kernel_va = va | ~(B(f->va_bits()) - 1);
        for (int d = 0; d < f->levels(); ++d) {
            EXPECT_EQ(f->index(va, d), idx[static_cast<size_t>(d)]) << "pattern " << pattern << " depth " << d;
            EXPECT_EQ(f->index(kernel_va, d), idx[static_cast<size_t>(d)]) << "pattern " << pattern << " depth " << d;
        }
    }
    // 4K/48-bit worked example: VA 0x0000_7fab_cdef_1234 -> L0 0xff, L1 0xaf, L2 0x6f, L3 0xf1.
    if (v.granule == "4K" && v.va_bits == "48") {
        EXPECT_EQ(f->index(0x00007fabcdef1234, 0), 0xffu);
        EXPECT_EQ(f->index(0x00007fabcdef1234, 1), 0xafu);
        EXPECT_EQ(f->index(0x00007fabcdef1234, 2), 0x6fu);
        EXPECT_EQ(f->index(0x00007fabcdef1234, 3), 0xf1u);
    }
}

TEST_P(Arm64FormatTest, LeafBitPositions)
{
    for (int d = 0; d < f->levels(); ++d) {
        if (!leaf_at(d))
            continue;
        const unsigned shift = f->level(d).shift;
        // Baseline: writable, global, executable at both ELs, AF clear, attr/sh 0: only the type bits are set.
        Descriptor base;
        base.type = Descriptor::Type::Leaf;
        base.write = true;
        base.global = true;
        std::vector<FieldCase> cases = {
            {"write=false sets AP[2] (RDONLY)", [](Descriptor& x) { x.write = false; }, kApRdonly},
            {"user sets AP[1]", [](Descriptor& x) { x.user = true; }, kApUser},
            {"exec=false sets UXN", [](Descriptor& x) { x.exec = false; }, kUXN},
            {"priv_exec=false sets PXN", [](Descriptor& x) { x.priv_exec = false; }, kPXN},
            {"accessed sets AF", [](Descriptor& x) { x.accessed = true; }, kAF},
            {"global=false sets nG", [](Descriptor& x) { x.global = false; }, kNG},
            {"dbm", [](Descriptor& x) { x.dbm = true; }, kDBM},
            {"sw_dirty is PTE_DIRTY", [](Descriptor& x) { x.sw_dirty = true; }, kPteDirty},
            {"sw_special is PTE_SPECIAL", [](Descriptor& x) { x.sw_special = true; }, kPteSpecial},
            {"sw bit 0", [](Descriptor& x) { x.sw = 1; }, B(57)},
            {"sw bit 1", [](Descriptor& x) { x.sw = 2; }, B(58)},
            {"AttrIndx[0]", [](Descriptor& x) { x.attr = 1; }, B(2)},
            {"AttrIndx[1]", [](Descriptor& x) { x.attr = 2; }, B(3)},
            {"AttrIndx[2]", [](Descriptor& x) { x.attr = 4; }, B(4)},
            {"AttrIndx 7", [](Descriptor& x) { x.attr = 7; }, B(4) | B(3) | B(2)},
            {"SH[0]", [](Descriptor& x) { x.sh = 1; }, B(8)},
            {"SH inner shareable", [](Descriptor& x) { x.sh = 3; }, B(9) | B(8)},
            {"lowest OA bit", [shift](Descriptor& x) { x.oa = B(shift); }, B(shift)},
            {"OA bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47)},
            // Fields arm64 does not have.
            {"dirty is not a hardware bit", [](Descriptor& x) { x.dirty = true; }, 0},
            {"pkey ignored", [](Descriptor& x) { x.pkey = 5; }, 0},
            {"read ignored", [](Descriptor& x) { x.read = false; }, 0},
        };
        if (contig_at(d) > 1)
            cases.push_back({"contiguous", [](Descriptor& x) { x.contiguous = true; }, kCont});
        check_fields(*f, d, base, last(d) ? kTableOrPage : kBlock, cases);
    }
}

TEST_P(Arm64FormatTest, TableBitPositions)
{
    for (int d = 0; d + 1 < f->levels(); ++d) {
        Descriptor base;
        base.type = Descriptor::Type::Table;
        const std::vector<FieldCase> cases = {
            {"priv_exec=false sets PXNTable", [](Descriptor& x) { x.priv_exec = false; }, kPXNTable},
            {"exec=false sets UXNTable", [](Descriptor& x) { x.exec = false; }, kUXNTable},
            {"accessed sets the FEAT_HAFT table AF", [](Descriptor& x) { x.accessed = true; }, kAF},
            {"next-table address", [this](Descriptor& x) { x.oa = f->page_size(); }, f->page_size()},
            {"next-table address bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47)},
            {"write not stored", [](Descriptor& x) { x.write = true; }, 0},
            {"user not stored", [](Descriptor& x) { x.user = true; }, 0},
            {"global not stored", [](Descriptor& x) { x.global = true; }, 0},
            {"attr not stored", [](Descriptor& x) { x.attr = 5; }, 0},
            {"sh not stored", [](Descriptor& x) { x.sh = 3; }, 0},
            {"dbm not stored", [](Descriptor& x) { x.dbm = true; }, 0},
            {"contiguous not stored", [](Descriptor& x) { x.contiguous = true; }, 0},
            {"sw not stored", [](Descriptor& x) { x.sw = 3; }, 0},
        };
        check_fields(*f, d, base, kTableOrPage, cases);
    }
}

TEST_P(Arm64FormatTest, RoundTripCombinedAndRandom)
{
    std::mt19937_64 rng(0xa64);
    for (int d = 0; d < f->levels(); ++d) {
        if (d + 1 < f->levels()) {
            Descriptor t;
            t.type = Descriptor::Type::Table;
            t.oa = (B(48) - 1) & ~(f->page_size() - 1);
            t.accessed = true;
            t.exec = t.priv_exec = false;
            check_round_trip(*f, d, t);
            for (int i = 0; i < 100; ++i) {
                t.oa = random_oa(rng, f->page_shift());
                t.accessed = rng() & 1;
                t.exec = rng() & 1;
                t.priv_exec = rng() & 1;
                check_round_trip(*f, d, t);
            }
        }
        if (!leaf_at(d))
            continue;
        const unsigned shift = f->level(d).shift;
        Descriptor all; // every field away from its default
        all.type = Descriptor::Type::Leaf;
        all.oa = (B(48) - 1) & ~(B(shift) - 1);
        all.write = all.user = all.accessed = all.global = all.dbm = all.sw_dirty = all.sw_special = true;
        all.exec = all.priv_exec = false;
        all.contiguous = contig_at(d) > 1;
        all.attr = 7;
        all.sh = 3;
        all.sw = 3;
        check_round_trip(*f, d, all);
        for (int i = 0; i < 300; ++i) {
            Descriptor x;
            x.type = Descriptor::Type::Leaf;
            x.oa = random_oa(rng, shift);
            x.write = rng() & 1;
            x.user = rng() & 1;
            x.exec = rng() & 1;
            x.priv_exec = rng() & 1;
            x.accessed = rng() & 1;
            x.global = rng() & 1;
            x.contiguous = contig_at(d) > 1 && (rng() & 1);
            x.dbm = rng() & 1;
            x.sw_dirty = rng() & 1;
            x.sw_special = rng() & 1;
            x.attr = static_cast<std::uint8_t>(rng() & 7);
            x.sh = static_cast<std::uint8_t>(rng() & 3);
            x.sw = static_cast<std::uint8_t>(rng() & 3);
            check_round_trip(*f, d, x);
        }
    }
}

TEST_P(Arm64FormatTest, InvalidEntries)
{
    check_invalid(*f, 0x1a64);
    for (int d = 0; d < f->levels(); ++d) {
        SCOPED_TRACE("depth " + std::to_string(d));
        if (last(d)) {
            EXPECT_FALSE(f->decode(d, kBlock).valid()) << "0b01 at L3 is reserved";
        } else if (!leaf_at(d)) {
            EXPECT_FALSE(f->decode(d, kBlock).valid()) << "no blocks at this level";
        } else {
            EXPECT_TRUE(f->decode(d, kBlock).valid());
        }
        // OA bits 49:48 name an address beyond the 48-bit PA space.
        EXPECT_FALSE(f->decode(d, kTableOrPage | B(48)).valid());
        EXPECT_FALSE(f->decode(d, kTableOrPage | B(49)).valid());
        EXPECT_TRUE(f->decode(d, kTableOrPage).valid());
    }
}

TEST_P(Arm64FormatTest, DecodeOfLinuxValues)
{
    // A Linux PAGE_KERNEL-like L3 PTE: valid page, AttrIndx 0 (MT_NORMAL), SH inner, AF, PXN clear, UXN set,
    // DBM + PTE_DIRTY, at PA 0x8000_0000 (aligned to every granule).
    const std::uint64_t raw = kTableOrPage | (3u << 8) | kAF | kUXN | kDBM | kPteDirty | 0x80000000;
    const Descriptor d = f->decode(f->levels() - 1, raw);
    EXPECT_EQ(d.type, Descriptor::Type::Leaf);
    EXPECT_EQ(d.oa, 0x80000000u);
    EXPECT_TRUE(d.write);
    EXPECT_FALSE(d.user);
    EXPECT_FALSE(d.exec);
    EXPECT_TRUE(d.priv_exec);
    EXPECT_TRUE(d.accessed);
    EXPECT_TRUE(d.global);
    EXPECT_TRUE(d.dbm);
    EXPECT_TRUE(d.sw_dirty);
    EXPECT_EQ(d.sh, 3);
    // Block OA bits below the block size are RES0 and ignored.
    const int l2 = f->levels() - 2;
    const Descriptor blk = f->decode(l2, kBlock | B(f->level(l2).shift) | f->page_size());
    EXPECT_EQ(blk.type, Descriptor::Type::Leaf);
    EXPECT_EQ(blk.oa, B(f->level(l2).shift));
}

TEST_P(Arm64FormatTest, EncodeRejectsWhatCannotBeEncoded)
{
    const int lastd = f->levels() - 1;
    Descriptor table;
    table.type = Descriptor::Type::Table;
    EXPECT_THROW(f->encode(lastd, table), std::invalid_argument);
    table.oa = f->page_size() / 2;
    EXPECT_THROW(f->encode(0, table), std::invalid_argument) << "table address not granule-aligned";
    table.oa = B(48);
    EXPECT_THROW(f->encode(0, table), std::invalid_argument) << "table address above 48 bits";

    Descriptor leaf;
    leaf.type = Descriptor::Type::Leaf;
    for (int d = 0; d < f->levels(); ++d)
        if (!leaf_at(d)) {
            EXPECT_THROW(f->encode(d, leaf), std::invalid_argument) << "depth " << d;
        }
    leaf.oa = f->page_size() / 2;
    EXPECT_THROW(f->encode(lastd, leaf), std::invalid_argument);
    leaf.oa = f->page_size(); // aligned for L3, not for an L2 block
    EXPECT_NO_THROW(f->encode(lastd, leaf));
    EXPECT_THROW(f->encode(lastd - 1, leaf), std::invalid_argument);
    leaf.oa = 0;
    leaf.attr = 8;
    EXPECT_THROW(f->encode(lastd, leaf), std::invalid_argument);
    leaf.attr = 0;
    leaf.sh = 4;
    EXPECT_THROW(f->encode(lastd, leaf), std::invalid_argument);
    leaf.sh = 0;
    leaf.sw = 4;
    EXPECT_THROW(f->encode(lastd, leaf), std::invalid_argument);
    leaf.sw = 0;
    EXPECT_THROW(f->encode(-1, leaf), std::out_of_range);
    EXPECT_THROW(f->encode(f->levels(), leaf), std::out_of_range);
    EXPECT_THROW(f->decode(f->levels(), 3), std::out_of_range);
}

INSTANTIATE_TEST_SUITE_P(Variants, Arm64FormatTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Arm64Variant>& i) {
                             return i.param.granule + "_" + i.param.va_bits + "bit";
                         });

TEST(Arm64Format, ContiguousOnlyWhereLinuxUsesIt)
{
    // 4K/48: L1 1G blocks exist but Linux has no CONT_PUD; the hint is refused on encode, ignored on decode.
    const auto f = make_format("arm64", {{"granule", "4K"}, {"va_bits", "48"}});
    Descriptor leaf;
    leaf.type = Descriptor::Type::Leaf;
    leaf.contiguous = true;
    EXPECT_THROW(f->encode(1, leaf), std::invalid_argument);
    const Descriptor d = f->decode(1, kBlock | kCont);
    EXPECT_EQ(d.type, Descriptor::Type::Leaf);
    EXPECT_FALSE(d.contiguous);
}

TEST(Arm64Format, DefaultsAre4KAnd48Bit)
{
    const auto f = make_format("arm64");
    EXPECT_EQ(f->page_shift(), 12u);
    EXPECT_EQ(f->va_bits(), 48u);
    EXPECT_EQ(f->levels(), 4);
    EXPECT_EQ(f->variant(), "4K granule, 48-bit VA, 4 levels");
}

} // namespace
} // namespace mmusim::hw::test
