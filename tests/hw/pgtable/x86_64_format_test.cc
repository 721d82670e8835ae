// SPDX-License-Identifier: GPL-2.0-only
// x86-64 format tests. Expected values come from the Intel SDM vol. 3A section 4.5 (tables 4-15 to 4-20) and
// Linux arch/x86/include/asm/pgtable_types.h, written out by hand.
#include "tests/hw/pgtable/format_test_util.hh"

namespace mmusim::hw::test {
namespace {

struct X86Variant {
    std::string levels_opt;
    unsigned va_bits;
    std::vector<unsigned> shifts;
    std::vector<std::string> names;
    std::vector<int> arch_levels;
};

std::ostream& operator<<(std::ostream& os, const X86Variant& v) { return os << v.levels_opt << "-level"; }

const std::vector<X86Variant> kVariants = {
    {"4", 48, {39, 30, 21, 12}, {"PML4", "PDPT", "PD", "PT"}, {4, 3, 2, 1}},
    {"5", 57, {48, 39, 30, 21, 12}, {"PML5", "PML4", "PDPT", "PD", "PT"}, {5, 4, 3, 2, 1}},
};

constexpr std::uint64_t kP = B(0), kRW = B(1), kUS = B(2), kPWT = B(3), kPCD = B(4), kA = B(5), kD = B(6);
constexpr std::uint64_t kPS = B(7), kPAT4K = B(7), kG = B(8), kPATLarge = B(12), kNX = B(63);

class X86FormatTest : public ::testing::TestWithParam<X86Variant> {
protected:
    void SetUp() override
    {
        f = make_format("x86-64", {{"levels", GetParam().levels_opt}});
        ASSERT_NE(f, nullptr);
    }
    // Leaves: PDPT (1G), PD (2M), PT (4K).
    bool leaf_at(int depth) const { return GetParam().arch_levels[static_cast<size_t>(depth)] <= 3; }
    bool last(int depth) const { return depth == f->levels() - 1; }
    std::unique_ptr<PageTableFormat> f;
};

TEST_P(X86FormatTest, Geometry)
{
    const X86Variant& v = GetParam();
    EXPECT_EQ(f->name(), "x86-64");
    EXPECT_EQ(f->arch(), Arch::X86_64);
    EXPECT_EQ(f->va_bits(), v.va_bits);
    ASSERT_EQ(f->levels(), static_cast<int>(v.shifts.size()));
    EXPECT_EQ(f->page_shift(), 12u);
    EXPECT_EQ(f->page_size(), 4096u);
    EXPECT_EQ(f->leaf_shifts(), (std::vector<unsigned>{12, 21, 30}));
    for (int d = 0; d < f->levels(); ++d) {
        const LevelInfo& l = f->level(d);
        SCOPED_TRACE("depth " + std::to_string(d));
        EXPECT_EQ(l.shift, v.shifts[static_cast<size_t>(d)]);
        EXPECT_EQ(l.index_bits, 9u);
        EXPECT_EQ(l.arch_level, v.arch_levels[static_cast<size_t>(d)]);
        EXPECT_EQ(l.name, v.names[static_cast<size_t>(d)]);
        EXPECT_EQ(l.leaf_allowed, leaf_at(d));
        EXPECT_EQ(l.contig_entries, 1u);
        EXPECT_EQ(f->table_bytes(d), 4096u);
    }
}

TEST_P(X86FormatTest, IndexOfKnownVa)
{
    const X86Variant& v = GetParam();
    // SDM figure 4-8 split: [47:39] PML4, [38:30] PDPT, [29:21] PD, [20:12] PT; LA57 adds [56:48] PML5.
    // Canonical upper-half address (sign-extended from bit va_bits-1) must index the same.
    std::vector<std::uint64_t> idx;
    for (size_t d = 0; d < v.shifts.size(); ++d)
        idx.push_back((0x1ff - 37 * d) & 0x1ff);
    const std::uint64_t va = va_from_indices(v.shifts, idx, 0xabc);
    const std::uint64_t canonical = va | ~(B(v.va_bits) - 1);
    for (int d = 0; d < f->levels(); ++d) {
        EXPECT_EQ(f->index(va, d), idx[static_cast<size_t>(d)]);
        EXPECT_EQ(f->index(canonical, d), idx[static_cast<size_t>(d)]);
    }
    // Worked example: 0xffff_8881_2345_6789 (the direct map) in 4-level paging -> PML4 273, PDPT 4,
    // PD 282, PT 86.
    if (v.va_bits == 48) {
        EXPECT_EQ(f->index(0xffff888123456789, 0), 273u);
        EXPECT_EQ(f->index(0xffff888123456789, 1), 4u);
        EXPECT_EQ(f->index(0xffff888123456789, 2), 282u);
        EXPECT_EQ(f->index(0xffff888123456789, 3), 86u);
    }
}

TEST_P(X86FormatTest, LeafBitPositions)
{
    for (int d = 0; d < f->levels(); ++d) {
        if (!leaf_at(d))
            continue;
        const unsigned shift = f->level(d).shift;
        // Baseline: present, read-only, supervisor, executable, not accessed, WB: only P (and PS above PT).
        Descriptor base;
        base.type = Descriptor::Type::Leaf;
        const std::vector<FieldCase> cases = {
            {"R/W", [](Descriptor& x) { x.write = true; }, kRW},
            {"U/S", [](Descriptor& x) { x.user = true; }, kUS},
            {"attr bit 0 is PWT", [](Descriptor& x) { x.attr = 1; }, kPWT},
            {"attr bit 1 is PCD", [](Descriptor& x) { x.attr = 2; }, kPCD},
            {"attr bit 2 is PAT", [](Descriptor& x) { x.attr = 4; }, last(d) ? kPAT4K : kPATLarge},
            {"A", [](Descriptor& x) { x.accessed = true; }, kA},
            {"D", [](Descriptor& x) { x.dirty = true; }, kD},
            {"G", [](Descriptor& x) { x.global = true; }, kG},
            {"sw_special is _PAGE_SPECIAL (SOFTW1)", [](Descriptor& x) { x.sw_special = true; }, B(9)},
            {"sw bit 0 is SOFTW2", [](Descriptor& x) { x.sw = 1; }, B(10)},
            {"sw bit 1 is SOFTW3", [](Descriptor& x) { x.sw = 2; }, B(11)},
            {"sw bit 2 is SOFTW4", [](Descriptor& x) { x.sw = 4; }, B(57)},
            {"sw bit 3 is SOFTW5", [](Descriptor& x) { x.sw = 8; }, B(58)},
            {"PKEY bit 0", [](Descriptor& x) { x.pkey = 1; }, B(59)},
            {"PKEY bit 3", [](Descriptor& x) { x.pkey = 8; }, B(62)},
            {"PKEY 15", [](Descriptor& x) { x.pkey = 15; }, B(62) | B(61) | B(60) | B(59)},
            {"NX", [](Descriptor& x) { x.exec = x.priv_exec = false; }, kNX},
            {"lowest PFN bit", [shift](Descriptor& x) { x.oa = B(shift); }, B(shift)},
            {"PFN bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47)},
            // Fields x86 does not have.
            {"priv_exec alone ignored", [](Descriptor& x) { x.priv_exec = false; }, 0},
            {"dbm ignored", [](Descriptor& x) { x.dbm = true; }, 0},
            {"sw_dirty ignored", [](Descriptor& x) { x.sw_dirty = true; }, 0},
            {"sh ignored", [](Descriptor& x) { x.sh = 3; }, 0},
            {"contiguous ignored", [](Descriptor& x) { x.contiguous = true; }, 0},
            {"read ignored", [](Descriptor& x) { x.read = false; }, 0},
        };
        check_fields(*f, d, base, last(d) ? kP : kP | kPS, cases);
    }
}

TEST_P(X86FormatTest, TableBitPositions)
{
    for (int d = 0; d + 1 < f->levels(); ++d) {
        Descriptor base;
        base.type = Descriptor::Type::Table;
        const std::vector<FieldCase> cases = {
            {"R/W", [](Descriptor& x) { x.write = true; }, kRW},
            {"U/S", [](Descriptor& x) { x.user = true; }, kUS},
            {"PWT", [](Descriptor& x) { x.attr = 1; }, kPWT},
            {"PCD", [](Descriptor& x) { x.attr = 2; }, kPCD},
            {"A", [](Descriptor& x) { x.accessed = true; }, kA},
            {"XD", [](Descriptor& x) { x.exec = x.priv_exec = false; }, kNX},
            {"next-table address", [](Descriptor& x) { x.oa = 4096; }, B(12)},
            {"next-table address bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47)},
            {"PAT has no place in a table entry", [](Descriptor& x) { x.attr = 4; }, 0},
            {"D ignored", [](Descriptor& x) { x.dirty = true; }, 0},
            {"G ignored", [](Descriptor& x) { x.global = true; }, 0},
            {"pkey ignored", [](Descriptor& x) { x.pkey = 3; }, 0},
            {"sw ignored", [](Descriptor& x) { x.sw = 15; }, 0},
            {"sw_special ignored", [](Descriptor& x) { x.sw_special = true; }, 0},
        };
        check_fields(*f, d, base, kP, cases);
    }
}

TEST_P(X86FormatTest, RoundTripCombinedAndRandom)
{
    std::mt19937_64 rng(0x8664);
    for (int d = 0; d < f->levels(); ++d) {
        if (!last(d)) {
            Descriptor t;
            t.type = Descriptor::Type::Table;
            t.oa = (B(48) - 1) & ~std::uint64_t{0xfff};
            t.write = t.user = t.accessed = true;
            t.exec = t.priv_exec = false;
            t.attr = 3;
            check_round_trip(*f, d, t);
            for (int i = 0; i < 100; ++i) {
                t.oa = random_oa(rng, 12);
                t.write = rng() & 1;
                t.user = rng() & 1;
                t.accessed = rng() & 1;
                t.exec = t.priv_exec = rng() & 1;
                t.attr = static_cast<std::uint8_t>(rng() & 3);
                check_round_trip(*f, d, t);
            }
        }
        if (!leaf_at(d))
            continue;
        const unsigned shift = f->level(d).shift;
        Descriptor all;
        all.type = Descriptor::Type::Leaf;
        all.oa = (B(48) - 1) & ~(B(shift) - 1);
        all.write = all.user = all.accessed = all.dirty = all.global = all.sw_special = true;
        all.exec = all.priv_exec = false;
        all.attr = 7;
        all.pkey = 15;
        all.sw = 15;
        check_round_trip(*f, d, all);
        for (int i = 0; i < 300; ++i) {
            Descriptor x;
            x.type = Descriptor::Type::Leaf;
            x.oa = random_oa(rng, shift);
            x.write = rng() & 1;
            x.user = rng() & 1;
            x.exec = x.priv_exec = rng() & 1;
            x.accessed = rng() & 1;
            x.dirty = rng() & 1;
            x.global = rng() & 1;
            x.sw_special = rng() & 1;
            x.attr = static_cast<std::uint8_t>(rng() & 7);
            x.pkey = static_cast<std::uint8_t>(rng() & 15);
            x.sw = static_cast<std::uint8_t>(rng() & 15);
            check_round_trip(*f, d, x);
        }
    }
}

TEST_P(X86FormatTest, InvalidAndReservedEntries)
{
    check_invalid(*f, 0x18664);
    for (int d = 0; d < f->levels(); ++d) {
        SCOPED_TRACE("depth " + std::to_string(d));
        // PFN bits 51:48 are reserved with MAXPHYADDR 48.
        EXPECT_FALSE(f->decode(d, kP | B(48)).valid());
        EXPECT_FALSE(f->decode(d, kP | B(51)).valid());
        EXPECT_TRUE(f->decode(d, kP).valid());
        // PS is reserved in PML4E/PML5E.
        if (!leaf_at(d)) {
            EXPECT_FALSE(f->decode(d, kP | kPS).valid());
        }
    }
    const int pt = f->levels() - 1, pd = pt - 1, pdpt = pt - 2;
    // 4K PTE: bit 13 is a PFN bit; 2M PDE: bits 20:13 reserved; 1G PDPTE: bits 29:13 reserved.
    EXPECT_EQ(f->decode(pt, kP | B(13)).oa, B(13));
    EXPECT_FALSE(f->decode(pd, kP | kPS | B(13)).valid());
    EXPECT_FALSE(f->decode(pd, kP | kPS | B(20)).valid());
    EXPECT_EQ(f->decode(pd, kP | kPS | B(21)).oa, B(21));
    EXPECT_FALSE(f->decode(pdpt, kP | kPS | B(21)).valid());
    EXPECT_FALSE(f->decode(pdpt, kP | kPS | B(29)).valid());
    EXPECT_EQ(f->decode(pdpt, kP | kPS | B(30)).oa, B(30));
    // A non-PS PDE is a table pointer, even with bit 12 (PAT in a 2M entry) set: bit 12 is then PFN.
    const Descriptor t = f->decode(pd, kP | B(12));
    EXPECT_EQ(t.type, Descriptor::Type::Table);
    EXPECT_EQ(t.oa, B(12));
}

TEST_P(X86FormatTest, DecodeOfLinuxValues)
{
    // __PAGE_KERNEL | _PAGE_PSE at PD: P RW A D G NX PS, 2M page at 0x4000_0000.
    const std::uint64_t raw = kP | kRW | kA | kD | kG | kNX | kPS | 0x40000000;
    const Descriptor d = f->decode(f->levels() - 2, raw);
    EXPECT_EQ(d.type, Descriptor::Type::Leaf);
    EXPECT_EQ(d.oa, 0x40000000u);
    EXPECT_TRUE(d.write);
    EXPECT_FALSE(d.user);
    EXPECT_FALSE(d.exec);
    EXPECT_FALSE(d.priv_exec) << "x86 decode mirrors exec into priv_exec";
    EXPECT_TRUE(d.accessed);
    EXPECT_TRUE(d.dirty);
    EXPECT_TRUE(d.global);
    EXPECT_EQ(d.attr, 0);
    // _PAGE_TABLE at PML4: P RW US A D; D is ignored in a non-leaf entry.
    const Descriptor t = f->decode(0, kP | kRW | kUS | kA | kD | 0x1000);
    EXPECT_EQ(t.type, Descriptor::Type::Table);
    EXPECT_TRUE(t.write);
    EXPECT_TRUE(t.user);
    EXPECT_TRUE(t.accessed);
    EXPECT_FALSE(t.dirty);
}

TEST_P(X86FormatTest, EncodeRejectsWhatCannotBeEncoded)
{
    const int pt = f->levels() - 1;
    Descriptor table;
    table.type = Descriptor::Type::Table;
    EXPECT_THROW(f->encode(pt, table), std::invalid_argument);
    table.oa = 0x800;
    EXPECT_THROW(f->encode(0, table), std::invalid_argument);
    Descriptor leaf;
    leaf.type = Descriptor::Type::Leaf;
    for (int d = 0; d < f->levels(); ++d)
        if (!leaf_at(d)) {
            EXPECT_THROW(f->encode(d, leaf), std::invalid_argument);
        }
    leaf.oa = 4096;
    EXPECT_NO_THROW(f->encode(pt, leaf));
    EXPECT_THROW(f->encode(pt - 1, leaf), std::invalid_argument) << "2M page not 2M-aligned";
    leaf.oa = B(48);
    EXPECT_THROW(f->encode(pt, leaf), std::invalid_argument);
    leaf.oa = 0;
    leaf.pkey = 16;
    EXPECT_THROW(f->encode(pt, leaf), std::invalid_argument);
    leaf.pkey = 0;
    leaf.attr = 8;
    EXPECT_THROW(f->encode(pt, leaf), std::invalid_argument);
    leaf.attr = 0;
    leaf.sw = 16;
    EXPECT_THROW(f->encode(pt, leaf), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Variants, X86FormatTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<X86Variant>& i) { return "L" + i.param.levels_opt; });

TEST(X86Format, DefaultIsFourLevel)
{
    const auto f = make_format("x86-64");
    EXPECT_EQ(f->levels(), 4);
    EXPECT_EQ(f->va_bits(), 48u);
}

} // namespace
} // namespace mmusim::hw::test
