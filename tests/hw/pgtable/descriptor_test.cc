// SPDX-License-Identifier: GPL-2.0-only
// Descriptor::operator== and PageTableFormat::leaf_shifts(), independent of any real format.
#include "tests/hw/pgtable/format_test_util.hh"

namespace mmusim::hw::test {
namespace {

TEST(Descriptor, DefaultsAreInvalid)
{
    const Descriptor d;
    EXPECT_FALSE(d.valid());
    EXPECT_EQ(d, Descriptor{});
}

TEST(Descriptor, EqualityComparesEveryField)
{
    const std::vector<std::pair<const char*, std::function<void(Descriptor&)>>> changes = {
        {"type", [](Descriptor& d) { d.type = Descriptor::Type::Leaf; }},
        {"oa", [](Descriptor& d) { d.oa = 0x1000; }},
        {"read", [](Descriptor& d) { d.read = false; }},
        {"write", [](Descriptor& d) { d.write = true; }},
        {"user", [](Descriptor& d) { d.user = true; }},
        {"exec", [](Descriptor& d) { d.exec = false; }},
        {"priv_exec", [](Descriptor& d) { d.priv_exec = false; }},
        {"accessed", [](Descriptor& d) { d.accessed = true; }},
        {"dirty", [](Descriptor& d) { d.dirty = true; }},
        {"global", [](Descriptor& d) { d.global = true; }},
        {"contiguous", [](Descriptor& d) { d.contiguous = true; }},
        {"dbm", [](Descriptor& d) { d.dbm = true; }},
        {"sw_dirty", [](Descriptor& d) { d.sw_dirty = true; }},
        {"sw_special", [](Descriptor& d) { d.sw_special = true; }},
        {"attr", [](Descriptor& d) { d.attr = 1; }},
        {"sh", [](Descriptor& d) { d.sh = 1; }},
        {"pkey", [](Descriptor& d) { d.pkey = 1; }},
        {"sw", [](Descriptor& d) { d.sw = 1; }},
    };
    for (const auto& [name, change] : changes) {
        Descriptor a, b;
        change(b);
        EXPECT_FALSE(a == b) << name;
        EXPECT_TRUE(a != b) << name;
        change(a);
        EXPECT_TRUE(a == b) << name;
        EXPECT_FALSE(a != b) << name;
    }
}

// A format with hand-set levels, to test the base class on its own.
class FakeFormat : public PageTableFormat {
public:
    explicit FakeFormat(std::vector<LevelInfo> levels) { levels_ = std::move(levels); }
    std::string name() const override { return "fake"; }
    std::string variant() const override { return "fake"; }
    Arch arch() const override { return Arch::Arm64; }
    std::uint64_t encode(int, const Descriptor&) const override { return 0; }
    Descriptor decode(int, std::uint64_t) const override { return {}; }
    HwUpdateBits hw_update_bits() const override { return {}; }
};

LevelInfo lvl(unsigned shift, unsigned bits, bool leaf)
{
    LevelInfo l;
    l.shift = shift;
    l.index_bits = bits;
    l.leaf_allowed = leaf;
    return l;
}

TEST(PageTableFormat, LeafShiftsAreTheLeafLevelsSmallestFirst)
{
    const FakeFormat f({lvl(39, 9, false), lvl(30, 9, true), lvl(21, 9, false), lvl(12, 9, true)});
    EXPECT_EQ(f.leaf_shifts(), (std::vector<unsigned>{12, 30}));
    EXPECT_EQ(f.page_shift(), 12u);
    EXPECT_EQ(f.page_size(), 4096u);
    EXPECT_EQ(f.table_bytes(0), 4096u);
    EXPECT_EQ(f.index(0x0000'0080'4020'1000, 0), 1u);
    EXPECT_EQ(f.index(0x0000'0080'4020'1000, 1), 1u);
    EXPECT_EQ(f.index(0x0000'0080'4020'1000, 2), 1u);
    EXPECT_EQ(f.index(0x0000'0080'4020'1000, 3), 1u);
}

TEST(PageTableFormat, LeafShiftsEmptyWithoutLeaves)
{
    const FakeFormat f({lvl(21, 9, false), lvl(12, 9, false)});
    EXPECT_TRUE(f.leaf_shifts().empty());
}

} // namespace
} // namespace mmusim::hw::test
