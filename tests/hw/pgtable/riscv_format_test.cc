// SPDX-License-Identifier: GPL-2.0-only
// RISC-V format tests. Expected values come from the RISC-V privileged spec (Sv39/Sv48/Sv57, Svpbmt,
// Svnapot) and Linux arch/riscv/include/asm/pgtable-bits.h / pgtable-64.h, written out by hand.
#include "tests/hw/pgtable/format_test_util.hh"

namespace mmusim::hw::test {
namespace {

struct RiscvVariant {
    std::string mode;
    unsigned va_bits;
    std::vector<unsigned> shifts;
    std::vector<unsigned> leaf_shifts;
};

std::ostream& operator<<(std::ostream& os, const RiscvVariant& v) { return os << v.mode; }

const std::vector<RiscvVariant> kVariants = {
    {"sv39", 39, {30, 21, 12}, {12, 21, 30}},
    {"sv48", 48, {39, 30, 21, 12}, {12, 21, 30, 39}},
    {"sv57", 57, {48, 39, 30, 21, 12}, {12, 21, 30, 39, 48}},
};

constexpr std::uint64_t kV = B(0), kR = B(1), kW = B(2), kX = B(3), kU = B(4), kG = B(5), kA = B(6), kD = B(7);
constexpr std::uint64_t kN = B(63);
constexpr unsigned kPpnShift = 10; // PTE.PPN starts at bit 10; PA = PPN << 12

class RiscvFormatTest : public ::testing::TestWithParam<RiscvVariant> {
protected:
    void SetUp() override
    {
        f = make_format("riscv", {{"mode", GetParam().mode}});
        ASSERT_NE(f, nullptr);
    }
    bool last(int depth) const { return depth == f->levels() - 1; }
    std::unique_ptr<PageTableFormat> f;
};

TEST_P(RiscvFormatTest, Geometry)
{
    const RiscvVariant& v = GetParam();
    EXPECT_EQ(f->name(), "riscv");
    EXPECT_EQ(f->arch(), Arch::RiscV);
    EXPECT_EQ(f->va_bits(), v.va_bits);
    ASSERT_EQ(f->levels(), static_cast<int>(v.shifts.size()));
    EXPECT_EQ(f->page_shift(), 12u);
    EXPECT_EQ(f->leaf_shifts(), v.leaf_shifts);
    for (int d = 0; d < f->levels(); ++d) {
        const LevelInfo& l = f->level(d);
        const int arch = f->levels() - 1 - d; // the spec's level i, root = levels-1
        SCOPED_TRACE("depth " + std::to_string(d));
        EXPECT_EQ(l.shift, v.shifts[static_cast<size_t>(d)]);
        EXPECT_EQ(l.index_bits, 9u);
        EXPECT_EQ(l.arch_level, arch);
        EXPECT_EQ(l.name, "L" + std::to_string(arch));
        EXPECT_TRUE(l.leaf_allowed);
        EXPECT_EQ(l.contig_entries, arch == 0 ? 16u : 1u) << "Svnapot 64K = 16 x 4K, level 0 only";
        EXPECT_EQ(f->table_bytes(d), 4096u);
    }
}

TEST_P(RiscvFormatTest, IndexOfKnownVa)
{
    const RiscvVariant& v = GetParam();
    std::vector<std::uint64_t> idx;
    for (size_t d = 0; d < v.shifts.size(); ++d)
        idx.push_back((3 + 100 * d) & 0x1ff);
    const std::uint64_t va = va_from_indices(v.shifts, idx, 0xfff);
    const std::uint64_t upper = va | ~(B(v.va_bits) - 1); // VA bits above va_bits copy bit va_bits-1
    for (int d = 0; d < f->levels(); ++d) {
        EXPECT_EQ(f->index(va, d), idx[static_cast<size_t>(d)]);
        EXPECT_EQ(f->index(upper, d), idx[static_cast<size_t>(d)]);
    }
    // Sv39 worked example: VA 0x3f_c060_1000 -> VPN[2] 0xff, VPN[1] 0x3, VPN[0] 0x1.
    if (v.mode == "sv39") {
        EXPECT_EQ(f->index(0x3fc0601000, 0), 0xffu);
        EXPECT_EQ(f->index(0x3fc0601000, 1), 0x3u);
        EXPECT_EQ(f->index(0x3fc0601000, 2), 0x1u);
    }
}

TEST_P(RiscvFormatTest, LeafBitPositions)
{
    for (int d = 0; d < f->levels(); ++d) {
        const unsigned shift = f->level(d).shift;
        // Baseline: read-only, not executable, supervisor, PMA: V and R only.
        Descriptor base;
        base.type = Descriptor::Type::Leaf;
        base.exec = base.priv_exec = false;
        std::vector<FieldCase> cases = {
            {"W", [](Descriptor& x) { x.write = true; }, kW},
            {"X", [](Descriptor& x) { x.exec = x.priv_exec = true; }, kX},
            {"execute-only: X without R", [](Descriptor& x) { x.read = false;
                 x.exec = x.priv_exec = true; },
             kR | kX},
            {"U", [](Descriptor& x) { x.user = true; }, kU},
            {"G", [](Descriptor& x) { x.global = true; }, kG},
            {"A", [](Descriptor& x) { x.accessed = true; }, kA},
            {"D", [](Descriptor& x) { x.dirty = true; }, kD},
            {"RSW bit 0", [](Descriptor& x) { x.sw = 1; }, B(8)},
            {"RSW bit 1", [](Descriptor& x) { x.sw = 2; }, B(9)},
            {"PBMT NC", [](Descriptor& x) { x.attr = 1; }, B(61)},
            {"PBMT IO", [](Descriptor& x) { x.attr = 2; }, B(62)},
            // Fields RISC-V does not have.
            {"priv_exec alone ignored", [](Descriptor& x) { x.priv_exec = true; }, 0},
            {"dbm ignored", [](Descriptor& x) { x.dbm = true; }, 0},
            {"sw_dirty ignored", [](Descriptor& x) { x.sw_dirty = true; }, 0},
            {"sw_special ignored", [](Descriptor& x) { x.sw_special = true; }, 0},
            {"sh ignored", [](Descriptor& x) { x.sh = 2; }, 0},
            {"pkey ignored", [](Descriptor& x) { x.pkey = 2; }, 0},
        };
        // With a 48-bit PA, an Sv57 level-4 leaf (256T) can only map address 0.
        if (shift < 48)
            cases.push_back({"lowest PPN bit of this level", [shift](Descriptor& x) { x.oa = B(shift); },
                             B(shift - 12 + kPpnShift)});
        if (shift <= 47)
            cases.push_back({"PA bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47 - 12 + kPpnShift)});
        // Svnapot 64K at level 0: N and PPN[3:0] = 0b1000 (pgtable-64.h napot_cont_order).
        if (last(d))
            cases.push_back({"N (64K NAPOT)", [](Descriptor& x) { x.contiguous = true; }, kN | B(3 + kPpnShift)});
        check_fields(*f, d, base, kV | kR, cases);
    }
}

TEST_P(RiscvFormatTest, TableBitPositions)
{
    for (int d = 0; d + 1 < f->levels(); ++d) {
        Descriptor base;
        base.type = Descriptor::Type::Table;
        const std::vector<FieldCase> cases = {
            {"G", [](Descriptor& x) { x.global = true; }, kG},
            {"RSW", [](Descriptor& x) { x.sw = 3; }, B(9) | B(8)},
            {"next-table PPN", [](Descriptor& x) { x.oa = 4096; }, B(kPpnShift)},
            {"next-table PA bit 47", [](Descriptor& x) { x.oa = B(47); }, B(47 - 12 + kPpnShift)},
            // R/W/X must stay 0 in a pointer, U/A/D are reserved there, PBMT/N too.
            {"write not stored", [](Descriptor& x) { x.write = true; }, 0},
            {"exec not stored", [](Descriptor& x) { x.exec = false; }, 0},
            {"read not stored", [](Descriptor& x) { x.read = false; }, 0},
            {"user not stored", [](Descriptor& x) { x.user = true; }, 0},
            {"accessed not stored", [](Descriptor& x) { x.accessed = true; }, 0},
            {"dirty not stored", [](Descriptor& x) { x.dirty = true; }, 0},
            {"attr not stored", [](Descriptor& x) { x.attr = 1; }, 0},
            {"contiguous not stored", [](Descriptor& x) { x.contiguous = true; }, 0},
        };
        check_fields(*f, d, base, kV, cases);
    }
}

TEST_P(RiscvFormatTest, RoundTripCombinedAndRandom)
{
    // The permission combinations the spec allows in a leaf (W requires R): R, RW, X, RX, RWX.
    const std::uint8_t kRwx[] = {0b001, 0b011, 0b100, 0b101, 0b111};
    std::mt19937_64 rng(0x5c5);
    for (int d = 0; d < f->levels(); ++d) {
        if (!last(d)) {
            Descriptor t;
            t.type = Descriptor::Type::Table;
            t.oa = (B(48) - 1) & ~std::uint64_t{0xfff};
            t.global = true;
            t.sw = 3;
            check_round_trip(*f, d, t);
            for (int i = 0; i < 100; ++i) {
                t.oa = random_oa(rng, 12);
                t.global = rng() & 1;
                t.sw = static_cast<std::uint8_t>(rng() & 3);
                check_round_trip(*f, d, t);
            }
        }
        const unsigned shift = f->level(d).shift;
        Descriptor all;
        all.type = Descriptor::Type::Leaf;
        all.oa = (B(48) - 1) & ~(B(shift) - 1);
        all.write = all.user = all.accessed = all.dirty = all.global = true;
        all.attr = 2;
        all.sw = 3;
        check_round_trip(*f, d, all);
        for (int i = 0; i < 300; ++i) {
            Descriptor x;
            x.type = Descriptor::Type::Leaf;
            const std::uint8_t rwx = kRwx[rng() % 5];
            x.read = rwx & 1;
            x.write = rwx & 2;
            x.exec = x.priv_exec = rwx & 4;
            x.contiguous = last(d) && (rng() & 1);
            x.oa = random_oa(rng, x.contiguous ? 16 : shift);
            x.user = rng() & 1;
            x.global = rng() & 1;
            x.accessed = rng() & 1;
            x.dirty = rng() & 1;
            x.attr = static_cast<std::uint8_t>(rng() % 3);
            x.sw = static_cast<std::uint8_t>(rng() & 3);
            check_round_trip(*f, d, x);
        }
    }
}

TEST_P(RiscvFormatTest, Napot64K)
{
    const int l0 = f->levels() - 1;
    Descriptor x;
    x.type = Descriptor::Type::Leaf;
    x.contiguous = true;
    x.exec = x.priv_exec = false;
    x.oa = 0x12340000; // 64K-aligned
    const std::uint64_t raw = f->encode(l0, x);
    EXPECT_EQ(raw, kN | (((0x12340000u >> 12) | 0b1000) << kPpnShift) | kV | kR);
    // Every PTE of the run holds the same value, so any page of the run encodes the same.
    for (std::uint64_t page = 0; page < 16; ++page) {
        Descriptor y = x;
        y.oa = 0x12340000 + page * 4096;
        EXPECT_EQ(f->encode(l0, y), raw) << page;
    }
    // Decode gives the 64K base whatever PPN[3:0] holds (Linux knows only 64K NAPOT).
    for (std::uint64_t low = 0; low < 16; ++low) {
        const Descriptor d = f->decode(l0, kN | kV | kR | ((0x12340000u >> 12 | low) << kPpnShift));
        EXPECT_TRUE(d.contiguous);
        EXPECT_EQ(d.oa, 0x12340000u);
    }
    EXPECT_THROW(f->encode(l0 - 1, x), std::invalid_argument) << "NAPOT above level 0";
    EXPECT_FALSE(f->decode(l0 - 1, kN | kV | kR).valid()) << "N in a level-1 leaf is reserved";
}

TEST_P(RiscvFormatTest, InvalidAndReservedEntries)
{
    check_invalid(*f, 0x15c5);
    const int l0 = f->levels() - 1;
    for (int d = 0; d < f->levels(); ++d) {
        SCOPED_TRACE("depth " + std::to_string(d));
        EXPECT_FALSE(f->decode(d, kV | kW).valid()) << "W without R is reserved";
        EXPECT_FALSE(f->decode(d, kV | kR | kW | kX | B(54)).valid()) << "bits 60:54 reserved";
        EXPECT_FALSE(f->decode(d, kV | kR | B(60)).valid());
        EXPECT_FALSE(f->decode(d, kV | kR | B(62) | B(61)).valid()) << "PBMT 3 reserved";
        EXPECT_FALSE(f->decode(d, kV | kR | (B(48 - 12) << kPpnShift)).valid()) << "PA beyond 48 bits";
        if (d != l0) {
            EXPECT_EQ(f->decode(d, kV).type, Descriptor::Type::Table);
            EXPECT_FALSE(f->decode(d, kV | B(61)).valid()) << "PBMT in a non-leaf entry";
            EXPECT_FALSE(f->decode(d, kV | kN).valid()) << "N in a non-leaf entry";
            // A superpage whose PPN is not aligned to its size is misaligned: page fault.
            EXPECT_FALSE(f->decode(d, kV | kR | B(kPpnShift)).valid());
        } else {
            EXPECT_FALSE(f->decode(d, kV).valid()) << "pointer at level 0";
        }
    }
}

TEST_P(RiscvFormatTest, DecodeOfLinuxValues)
{
    // Linux _PAGE_KERNEL: V R W A D G (pgtable-bits.h PAGE_KERNEL), at PA 0x8020_0000 in a 4K PTE.
    const std::uint64_t raw = kV | kR | kW | kA | kD | kG | ((0x80200000u >> 12) << kPpnShift);
    const Descriptor d = f->decode(f->levels() - 1, raw);
    EXPECT_EQ(d.type, Descriptor::Type::Leaf);
    EXPECT_EQ(d.oa, 0x80200000u);
    EXPECT_TRUE(d.read);
    EXPECT_TRUE(d.write);
    EXPECT_FALSE(d.exec);
    EXPECT_FALSE(d.priv_exec) << "RISC-V decode mirrors exec into priv_exec";
    EXPECT_TRUE(d.global);
    // D/A/U in a non-leaf entry are reserved for software to clear; the decoder ignores them.
    const Descriptor t = f->decode(0, kV | kA | kD | kU | (1u << kPpnShift));
    EXPECT_EQ(t.type, Descriptor::Type::Table);
    EXPECT_EQ(t.oa, 4096u);
    EXPECT_FALSE(t.accessed);
    EXPECT_FALSE(t.user);
}

TEST_P(RiscvFormatTest, EncodeRejectsWhatCannotBeEncoded)
{
    const int l0 = f->levels() - 1;
    Descriptor table;
    table.type = Descriptor::Type::Table;
    EXPECT_THROW(f->encode(l0, table), std::invalid_argument);
    table.sw = 4;
    EXPECT_THROW(f->encode(0, table), std::invalid_argument);
    Descriptor leaf;
    leaf.type = Descriptor::Type::Leaf;
    leaf.read = leaf.write = leaf.exec = false;
    EXPECT_THROW(f->encode(l0, leaf), std::invalid_argument) << "no permission: would be a pointer";
    leaf.write = true;
    EXPECT_THROW(f->encode(l0, leaf), std::invalid_argument) << "W without R";
    leaf.read = true;
    leaf.attr = 3;
    EXPECT_THROW(f->encode(l0, leaf), std::invalid_argument) << "PBMT 3 reserved";
    leaf.attr = 0;
    leaf.oa = 4096;
    EXPECT_NO_THROW(f->encode(l0, leaf));
    EXPECT_THROW(f->encode(l0 - 1, leaf), std::invalid_argument) << "misaligned superpage";
    leaf.oa = B(48);
    EXPECT_THROW(f->encode(l0, leaf), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Variants, RiscvFormatTest, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<RiscvVariant>& i) { return i.param.mode; });

TEST(RiscvFormat, DefaultIsSv39)
{
    const auto f = make_format("riscv");
    EXPECT_EQ(f->levels(), 3);
    EXPECT_EQ(f->va_bits(), 39u);
    EXPECT_EQ(f->variant(), "Sv39, 39-bit VA, 3 levels");
}

} // namespace
} // namespace mmusim::hw::test
