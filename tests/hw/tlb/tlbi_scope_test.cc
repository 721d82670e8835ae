// SPDX-License-Identifier: GPL-2.0-only
// Unit tests for hw/invalidation/tlbi_op.{hh,cc} and InvalidationScope: every architectural maintenance
// operation is turned into a scope and applied to a TLB and a walk cache holding a known mix; each test
// checks exactly which entries went.
#include "hw/invalidation/tlbi_op.hh"
#include "hw/tlb/tlb.hh"
#include "hw/tlb/walk_cache.hh"
#include "tests/hw/tlb/test_format.hh"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim::hw {
namespace {

using Names = std::set<std::string>;

constexpr Addr K4 = 4 * KiB;
constexpr Addr M2 = 2 * MiB;

constexpr Addr A = 0x400000;          // a run of 4K pages
constexpr Addr B = 0x40000000;        // 2M blocks
constexpr Addr F = 0x7f0000001000ull; // far away (another L0 slot)

struct LeafSpec {
    const char* name;
    Addr va;
    unsigned shift;
    Asid asid;
    bool global;
};

// Several ASIDs, global and non-global, several VAs, leaves at depth 2 (2M) and 3 (4K). Global entries sit on
// pages of their own (no global/non-global conflict for one VA).
const std::vector<LeafSpec>& leaves()
{
    static const std::vector<LeafSpec> v = {
        {"p1", A, 12, 1, false},           {"p2", A, 12, 2, false},          {"p3", A, 12, 3, false},
        {"g", A + 0x1000, 12, 1, true},    {"n1", A + 0x2000, 12, 1, false}, {"n2", A + 0x2000, 12, 2, false},
        {"g2", A + 0x3000, 12, 2, true},   {"m1", A + 0x40000, 12, 1, false}, {"b1", B, 21, 1, false},
        {"b2", B, 21, 2, false},           {"gb", B + M2, 21, 3, true},      {"f1", F, 12, 1, false},
        {"f2", F, 12, 2, false},
    };
    return v;
}

Names all_leaves()
{
    Names n;
    for (const LeafSpec& l : leaves())
        n.insert(l.name);
    return n;
}

Names non_global_leaves()
{
    Names n;
    for (const LeafSpec& l : leaves())
        if (!l.global)
            n.insert(l.name);
    return n;
}

TlbEntry leaf_entry(const LeafSpec& l)
{
    TlbEntry e;
    e.vpn = l.va >> l.shift;
    e.pa = 0x100000000ull + (l.va & 0xfffffffff) + (PAddr{l.asid} << 40);
    e.desc_pa = 0x8000 + l.va / 0x1000 * 8;
    e.asid = l.asid;
    e.global = l.global;
    e.size_shift = static_cast<std::uint8_t>(l.shift);
    e.depth = l.shift == 21 ? 2 : 3;
    return e;
}

Tlb filled_tlb()
{
    TlbGeometry g;
    g.entries = 64;
    g.ways = 64;
    g.size_shifts = {12, 21};
    Tlb tlb(g);
    for (const LeafSpec& l : leaves())
        EXPECT_TRUE(tlb.fill(leaf_entry(l), l.va));
    EXPECT_EQ(tlb.valid_entries(), leaves().size());
    return tlb;
}

Names present(const Tlb& tlb)
{
    Names n;
    tlb.for_each([&](const TlbEntry& e) {
        for (const LeafSpec& l : leaves())
            if (e.vpn == (l.va >> l.shift) && e.size_shift == l.shift && e.global == l.global &&
                (l.global || e.asid == l.asid))
                n.insert(l.name);
    });
    EXPECT_EQ(n.size(), tlb.valid_entries());
    return n;
}

// Leaves the scope removes from the full mix, checked through the TLB (count and which).
Names removed_leaves(const InvalidationScope& s)
{
    Tlb tlb = filled_tlb();
    const std::size_t n = tlb.invalidate(s);
    Names left = present(tlb);
    Names gone;
    for (const std::string& name : all_leaves())
        if (!left.count(name))
            gone.insert(name);
    EXPECT_EQ(n, gone.size());
    EXPECT_EQ(tlb.stats().invalidated, gone.size());
    return gone;
}

struct WalkSpec {
    const char* name;
    Addr va;
    Asid asid;
    int depth;
};

const std::vector<WalkSpec>& walks()
{
    static const std::vector<WalkSpec> v = {
        {"wA0_1", A, 1, 0}, {"wA1_1", A, 1, 1}, {"wA2_1", A, 1, 2}, {"wA1_2", A, 2, 1},
        {"wA2_2", A, 2, 2}, {"wB1_2", B, 2, 1}, {"wF2_1", F, 1, 2}, {"wF0_3", F, 3, 0},
    };
    return v;
}

const Names kWalkA = {"wA0_1", "wA1_1", "wA2_1", "wA1_2", "wA2_2"}; // spans containing A..A+256K
const Names kWalkAsid1 = {"wA0_1", "wA1_1", "wA2_1", "wF2_1"};
const Names kWalkAsid2 = {"wA1_2", "wA2_2", "wB1_2"};

Names all_walks()
{
    Names n;
    for (const WalkSpec& w : walks())
        n.insert(w.name);
    return n;
}

// Walk entries the scope removes: each entry is tried in a cache of its own (so "which" is exact), and the
// whole mix in one cache must lose the same number.
Names removed_walks(const InvalidationScope& s, const PageTableFormat& fmt)
{
    Names gone;
    WalkCache all(WalkCacheGeometry{32, 32, 1}, test::span_shifts(fmt));
    for (const WalkSpec& w : walks()) {
        all.fill(w.va, w.asid, w.depth, 0x1000);
        WalkCache one(WalkCacheGeometry{4, 4, 1}, test::span_shifts(fmt));
        one.fill(w.va, w.asid, w.depth, 0x1000);
        const std::size_t n = one.invalidate(s);
        EXPECT_EQ(n + one.valid_entries(), 1u);
        if (n)
            gone.insert(w.name);
    }
    EXPECT_EQ(all.valid_entries(), walks().size());
    EXPECT_EQ(all.invalidate(s), gone.size());
    return gone;
}

InvalidationScope scope(const TlbiOp& op, const PageTableFormat& fmt)
{
    const std::optional<InvalidationScope> s = scope_of(op, fmt);
    EXPECT_TRUE(s.has_value()) << op.describe();
    return s.value_or(InvalidationScope{});
}

// ---------------------------------------------------------------------------------------------------------
// arm64 operand encoding

// Independent re-statement of Linux __TLBI_VADDR + __tlbi_level (arch/arm64/include/asm/tlbflush.h).
std::uint64_t linux_tlbi_vaddr(Addr va, Asid asid, unsigned tg, unsigned level)
{
    std::uint64_t ta = (va >> 12) & ((std::uint64_t{1} << 44) - 1);
    ta |= std::uint64_t{asid} << 48;
    if (level >= 1 && level <= 3)
        ta |= std::uint64_t{(tg << 2) | level} << 44;
    return ta;
}

// Independent re-statement of Linux __TLBI_VADDR_RANGE.
std::uint64_t linux_tlbi_vaddr_range(std::uint64_t baddr, Asid asid, unsigned scale, unsigned num, unsigned ttl,
                                     unsigned tg)
{
    std::uint64_t ta = baddr & ((std::uint64_t{1} << 37) - 1);
    ta |= std::uint64_t{ttl >= 1 && ttl <= 3 ? ttl : 0} << 37;
    ta |= std::uint64_t{num} << 39;
    ta |= std::uint64_t{scale} << 44;
    ta |= std::uint64_t{tg} << 46;
    ta |= std::uint64_t{asid} << 48;
    return ta;
}

TEST(Arm64Operand, TranslationGranuleCodes)
{
    EXPECT_EQ(arm64::tg_of(12), 1u);
    EXPECT_EQ(arm64::tg_of(14), 2u);
    EXPECT_EQ(arm64::tg_of(16), 3u);
    EXPECT_THROW(arm64::tg_of(13), std::invalid_argument);
    EXPECT_THROW(arm64::tg_of(21), std::invalid_argument);
}

TEST(Arm64Operand, VaOperandFields)
{
    const Addr va = 0x00007f123456789aull;
    const std::uint64_t x = arm64::va_operand(va, 0xbeef, 12);
    EXPECT_EQ(x >> 48, 0xbeefu);                           // ASID 63:48
    EXPECT_EQ((x >> 44) & 0xf, 0u);                        // no TTL hint
    EXPECT_EQ(x & ((std::uint64_t{1} << 44) - 1), va >> 12); // VA[55:12] in 43:0
    EXPECT_EQ(x, linux_tlbi_vaddr(va, 0xbeef, 1, 0));

    // TTL = TG << 2 | level.
    EXPECT_EQ((arm64::va_operand(va, 1, 12, 3) >> 44) & 0xf, 0b0111u);
    EXPECT_EQ((arm64::va_operand(va, 1, 12, 2) >> 44) & 0xf, 0b0110u);
    EXPECT_EQ((arm64::va_operand(va, 1, 12, 1) >> 44) & 0xf, 0b0101u);
    EXPECT_EQ((arm64::va_operand(va, 1, 14, 1) >> 44) & 0xf, 0b1001u);
    EXPECT_EQ((arm64::va_operand(va, 1, 16, 2) >> 44) & 0xf, 0b1110u);
    EXPECT_EQ((arm64::va_operand(va, 1, 12, 0) >> 44) & 0xf, 0u);  // level 0: no hint without LPA2
    EXPECT_EQ((arm64::va_operand(va, 1, 12, -1) >> 44) & 0xf, 0u);
    for (unsigned tg_shift : {12u, 14u, 16u})
        for (unsigned level = 0; level <= 3; ++level)
            EXPECT_EQ(arm64::va_operand(va, 0x42, tg_shift, static_cast<int>(level)),
                      linux_tlbi_vaddr(va, 0x42, arm64::tg_of(tg_shift), level))
                << tg_shift << " " << level;

    // Upper-half addresses: VA[55:12] kept, bits 63:56 dropped.
    const Addr kva = 0xffff800012345000ull;
    EXPECT_EQ(arm64::va_operand(kva, 0, 12) & ((std::uint64_t{1} << 44) - 1), (kva >> 12) & 0xfffffffffffull);
    EXPECT_EQ(arm64::va_operand(kva, 0, 12) >> 48, 0u);
}

TEST(Arm64Operand, RangeOperandFields)
{
    const Addr base = 0x00001234567f0000ull;
    const std::uint64_t x = arm64::range_operand(base, 0x1234, 12, 2, 17, 3);
    EXPECT_EQ(x >> 48, 0x1234u);                         // ASID
    EXPECT_EQ((x >> 46) & 3, 1u);                        // TG 4K
    EXPECT_EQ((x >> 44) & 3, 2u);                        // SCALE
    EXPECT_EQ((x >> 39) & 31, 17u);                      // NUM
    EXPECT_EQ((x >> 37) & 3, 3u);                        // TTL
    EXPECT_EQ(x & ((std::uint64_t{1} << 37) - 1), base >> 12); // BADDR
    EXPECT_EQ(x, linux_tlbi_vaddr_range(base >> 12, 0x1234, 2, 17, 3, 1));

    const std::uint64_t y = arm64::range_operand(base, 7, 16, 0, 0);
    EXPECT_EQ((y >> 46) & 3, 3u);
    EXPECT_EQ((y >> 37) & 3, 0u);
    EXPECT_EQ(y & ((std::uint64_t{1} << 37) - 1), base >> 16);
    EXPECT_EQ(y, linux_tlbi_vaddr_range(base >> 16, 7, 0, 0, 0, 3));

    for (unsigned scale = 0; scale < 4; ++scale)
        for (unsigned num = 0; num < 32; num += 5)
            for (unsigned ttl = 0; ttl < 4; ++ttl)
                EXPECT_EQ(arm64::range_operand(base, 9, 14, scale, num, static_cast<int>(ttl)),
                          linux_tlbi_vaddr_range(base >> 14, 9, scale, num, ttl, 2));

    EXPECT_THROW(arm64::range_operand(base, 1, 12, 4, 0), std::invalid_argument);
    EXPECT_THROW(arm64::range_operand(base, 1, 12, 0, 32), std::invalid_argument);
}

TEST(Arm64Operand, RangePages)
{
    EXPECT_EQ(arm64::range_pages(0, 0), 2u); // the minimum
    EXPECT_EQ(arm64::range_pages(0, 1), 4u);
    EXPECT_EQ(arm64::range_pages(0, 31), 64u);
    EXPECT_EQ(arm64::range_pages(1, 0), 64u);
    EXPECT_EQ(arm64::range_pages(1, 31), 2048u);
    EXPECT_EQ(arm64::range_pages(2, 0), 2048u);
    EXPECT_EQ(arm64::range_pages(3, 31), 32u << 16);
    for (unsigned scale = 0; scale < 4; ++scale)
        for (unsigned num = 0; num < 32; ++num) {
            std::uint64_t pow = 1;
            for (unsigned i = 0; i < 5 * scale + 1; ++i)
                pow *= 2;
            EXPECT_EQ(arm64::range_pages(scale, num), (num + 1) * pow);
        }
}

// The scope of a range op spans exactly (NUM+1) * 2^(5*SCALE+1) granules from BADDR.
TEST(Arm64Scope, RangeScopeBounds)
{
    for (const test::TestFormat* f : {&test::arm64_4k(), &test::arm64_64k()}) {
        const unsigned ps = f->page_shift();
        const Addr base = Addr{0x1234} << ps;
        for (unsigned scale = 0; scale < 4; ++scale)
            for (unsigned num = 0; num < 32; ++num) {
                const InvalidationScope s =
                    scope(arm64::tlbi(TlbiKind::RVAE1, arm64::range_operand(base, 5, ps, scale, num), false), *f);
                EXPECT_TRUE(s.by_va);
                EXPECT_EQ(s.va_start, base);
                EXPECT_EQ(s.va_last - s.va_start + 1, ((num + 1ull) << (5 * scale + 1)) << ps) << scale << "/" << num;
                EXPECT_EQ(s.ttl_depth, -1);
            }
    }
}

TEST(Arm64Scope, ByVaScopeIsOneGranuleAlignedDown)
{
    const InvalidationScope s4 = scope(arm64::tlbi(TlbiKind::VAE1, arm64::va_operand(0x12345678, 3, 12), false),
                                       test::arm64_4k());
    EXPECT_EQ(s4.va_start, 0x12345000u);
    EXPECT_EQ(s4.va_last, 0x12345fffu);
    EXPECT_EQ(s4.asid, 3);
    EXPECT_FALSE(s4.any_asid);
    EXPECT_TRUE(s4.include_global);
    EXPECT_FALSE(s4.leaf_only);
    const InvalidationScope s64 = scope(arm64::tlbi(TlbiKind::VALE1, arm64::va_operand(0x12345678, 3, 16), false),
                                        test::arm64_64k());
    EXPECT_EQ(s64.va_start, 0x12340000u);
    EXPECT_EQ(s64.va_last, 0x1234ffffu);
    EXPECT_TRUE(s64.leaf_only);
}

// ---------------------------------------------------------------------------------------------------------
// arm64 TLBI kinds on the mix

struct Arm64Case {
    const char* name;
    TlbiKind kind;
    std::uint64_t operand;
    Names tlb_gone;
    Names walk_gone;
};

void PrintTo(const Arm64Case& c, std::ostream* os) { *os << c.name; }

class Arm64Tlbi : public ::testing::TestWithParam<Arm64Case> {};

TEST_P(Arm64Tlbi, RemovesExactlyTheNamedEntries)
{
    const Arm64Case& c = GetParam();
    for (bool is : {false, true}) {
        const TlbiOp op = arm64::tlbi(c.kind, c.operand, is);
        EXPECT_EQ(op.broadcast, is);
        EXPECT_TRUE(is_arm64(op.kind));
        const InvalidationScope s = scope(op, test::arm64_4k());
        EXPECT_EQ(removed_leaves(s), c.tlb_gone) << op.describe();
        EXPECT_EQ(removed_walks(s, test::arm64_4k()), c.walk_gone) << op.describe();
    }
}

std::uint64_t va_op(Addr va, Asid asid, int ttl = -1) { return arm64::va_operand(va, asid, 12, ttl); }
std::uint64_t rg_op(Addr base, Asid asid, unsigned scale, unsigned num, int ttl = -1)
{
    return arm64::range_operand(base, asid, 12, scale, num, ttl);
}

const Names kNone;

INSTANTIATE_TEST_SUITE_P(
    Kinds, Arm64Tlbi,
    ::testing::Values(
        // By VA and ASID: that ASID's entry and any global entry for the address; walk entries of that ASID.
        Arm64Case{"VAE1_page", TlbiKind::VAE1, va_op(A, 1), {"p1"}, {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"VAE1_unaligned", TlbiKind::VAE1, va_op(A + 0xfff, 3), {"p3"}, kNone},
        Arm64Case{"VAE1_global", TlbiKind::VAE1, va_op(A + 0x1000, 2), {"g"}, {"wA1_2", "wA2_2"}},
        Arm64Case{"VAE1_inside_block", TlbiKind::VAE1, va_op(B + 0x12345, 2), {"b2"}, {"wB1_2"}},
        Arm64Case{"VAE1_global_block", TlbiKind::VAE1, va_op(B + M2 + 0x5000, 7), {"gb"}, kNone},
        Arm64Case{"VAE1_unmapped", TlbiKind::VAE1, va_op(A + 0x10000, 1), kNone, {"wA0_1", "wA1_1", "wA2_1"}},
        // Last level: same leaves, walk cache untouched.
        Arm64Case{"VALE1_page", TlbiKind::VALE1, va_op(A, 1), {"p1"}, kNone},
        Arm64Case{"VALE1_global", TlbiKind::VALE1, va_op(A + 0x3000, 1), {"g2"}, kNone},
        // All ASIDs.
        Arm64Case{"VAAE1_page", TlbiKind::VAAE1, va_op(A, 0), {"p1", "p2", "p3"}, kWalkA},
        Arm64Case{"VAAE1_global", TlbiKind::VAAE1, va_op(A + 0x1000, 0), {"g"}, kWalkA},
        Arm64Case{"VAAE1_asid_field_ignored", TlbiKind::VAAE1, va_op(F, 3), {"f1", "f2"}, {"wF2_1", "wF0_3"}},
        Arm64Case{"VAALE1_block", TlbiKind::VAALE1, va_op(B + 0x1000, 0), {"b1", "b2"}, kNone},
        // TTL hints: only leaves at the hinted level; non-last-level forms still take the walk entries.
        Arm64Case{"VAE1_ttl3_page", TlbiKind::VAE1, va_op(A, 1, 3), {"p1"}, {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"VAE1_ttl2_page", TlbiKind::VAE1, va_op(A, 1, 2), kNone, {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"VAE1_ttl2_block", TlbiKind::VAE1, va_op(B, 1, 2), {"b1"}, {"wA0_1"}},
        Arm64Case{"VAE1_ttl3_block", TlbiKind::VAE1, va_op(B, 1, 3), kNone, {"wA0_1"}},
        Arm64Case{"VAALE1_ttl3_page", TlbiKind::VAALE1, va_op(A, 0, 3), {"p1", "p2", "p3"}, kNone},
        // A TTL whose TG is not the granule in use is no hint at all (64K TG on a 4K table).
        Arm64Case{"VAE1_ttl_wrong_tg", TlbiKind::VAE1, arm64::va_operand(A, 1, 16, 2), {"p1"},
                  {"wA0_1", "wA1_1", "wA2_1"}},
        // ASID: non-global entries of that ASID, everywhere.
        Arm64Case{"ASIDE1_1", TlbiKind::ASIDE1, std::uint64_t{1} << 48, {"p1", "n1", "m1", "b1", "f1"}, kWalkAsid1},
        Arm64Case{"ASIDE1_2", TlbiKind::ASIDE1, std::uint64_t{2} << 48, {"p2", "n2", "b2", "f2"}, kWalkAsid2},
        Arm64Case{"ASIDE1_3", TlbiKind::ASIDE1, std::uint64_t{3} << 48, {"p3"}, {"wF0_3"}},
        Arm64Case{"ASIDE1_unused", TlbiKind::ASIDE1, std::uint64_t{9} << 48, kNone, kNone},
        // Everything.
        Arm64Case{"VMALLE1", TlbiKind::VMALLE1, 0, all_leaves(), all_walks()},
        // Ranges: [BADDR, BADDR + (NUM+1) * 2^(5*SCALE+1) pages).
        Arm64Case{"RVAE1_min_2_pages", TlbiKind::RVAE1, rg_op(A, 1, 0, 0), {"p1", "g"}, {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAE1_4_pages", TlbiKind::RVAE1, rg_op(A, 1, 0, 1), {"p1", "g", "n1", "g2"},
                  {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAE1_64_pages_end_exclusive", TlbiKind::RVAE1, rg_op(A, 1, 1, 0), {"p1", "g", "n1", "g2"},
                  {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAE1_128_pages", TlbiKind::RVAE1, rg_op(A, 1, 1, 1), {"p1", "g", "n1", "g2", "m1"},
                  {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAE1_offset_base", TlbiKind::RVAE1, rg_op(A + 0x2000, 2, 0, 0), {"n2", "g2"}, {"wA1_2", "wA2_2"}},
        Arm64Case{"RVAAE1_min", TlbiKind::RVAAE1, rg_op(A, 0, 0, 0), {"p1", "p2", "p3", "g"}, kWalkA},
        Arm64Case{"RVALE1_blocks", TlbiKind::RVALE1, rg_op(B, 2, 2, 0), {"b2", "gb"}, kNone},
        Arm64Case{"RVAALE1_8G", TlbiKind::RVAALE1, rg_op(0, 0, 3, 31),
                  {"p1", "p2", "p3", "g", "n1", "n2", "g2", "m1", "b1", "b2", "gb"}, kNone},
        Arm64Case{"RVAE1_ttl2", TlbiKind::RVAE1, rg_op(A, 1, 3, 31, 2), {"b1", "gb"}, {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAE1_ttl3", TlbiKind::RVAE1, rg_op(A, 1, 3, 31, 3), {"p1", "g", "n1", "g2", "m1"},
                  {"wA0_1", "wA1_1", "wA2_1"}},
        Arm64Case{"RVAALE1_ttl2", TlbiKind::RVAALE1, rg_op(0, 0, 3, 31, 2), {"b1", "b2", "gb"}, kNone}),
    [](const ::testing::TestParamInfo<Arm64Case>& i) { return std::string(i.param.name); });

// 64K granule: by-VA ops cover the whole 64K page; TTL level 3 names depth 2 of a 3-level table.
TEST(Arm64Scope, SixtyFourKGranule)
{
    const test::TestFormat& f = test::arm64_64k();
    const auto make = [] {
        TlbGeometry g2;
        g2.entries = 16;
        g2.ways = 16;
        g2.size_shifts = {16, 29};
        Tlb tlb(g2);
        TlbEntry e;
        e.vpn = 0x12340000 >> 16;
        e.asid = 1;
        e.size_shift = 16;
        e.depth = 2;
        tlb.fill(e, 0x12340000);
        TlbEntry blk;
        blk.vpn = 0x40000000 >> 29;
        blk.asid = 1;
        blk.size_shift = 29;
        blk.depth = 1;
        tlb.fill(blk, 0x40000000);
        return tlb;
    };
    const auto run = [&](std::uint64_t operand) {
        Tlb tlb = make();
        return tlb.invalidate(scope(arm64::tlbi(TlbiKind::VAE1, operand, false), f));
    };
    EXPECT_EQ(run(arm64::va_operand(0x1234f000, 1, 16)), 1u);     // last 4K of the 64K page
    EXPECT_EQ(run(arm64::va_operand(0x12350000, 1, 16)), 0u);     // next 64K page
    EXPECT_EQ(run(arm64::va_operand(0x12340000, 1, 16, 3)), 1u);  // TTL level 3 = depth 2
    EXPECT_EQ(run(arm64::va_operand(0x12340000, 1, 16, 2)), 0u);  // TTL level 2 = depth 1: not this leaf
    EXPECT_EQ(run(arm64::va_operand(0x45670000, 1, 16, 2)), 1u);  // the 512M block
    EXPECT_EQ(run(arm64::va_operand(0x12340000, 1, 12, 2)), 1u);  // 4K TG on a 64K table: no hint
    // Range ops count in 64K granules: 2 granules from 0x12330000 reach 0x12340000.
    Tlb tlb = make();
    EXPECT_EQ(tlb.invalidate(scope(arm64::tlbi(TlbiKind::RVAE1, arm64::range_operand(0x12330000, 1, 16, 0, 0), false), f)),
              1u);
}

// Linux's sequence for a 2M block (break-before-make): TLBI VAE1IS with TTL=2 at the block's address. A TLB
// that splintered the block into 4K entries must lose all of them (Arm ARM: every entry built from that
// translation table entry for the address; Intel SDM 4.10.2.3/INVLPG: "invalidates all of them").
TEST(Arm64Scope, VaOpRemovesEverySplinterOfABlock)
{
    TlbGeometry g;
    g.entries = 16;
    g.ways = 16;
    g.size_shifts = {12};
    Tlb tlb(g);
    LeafSpec blk{"b1", B, 21, 1, false};
    for (Addr off : {Addr{0}, Addr{0x1000}, Addr{0x5000}, Addr{0x1ff000}})
        ASSERT_TRUE(tlb.fill(leaf_entry(blk), B + off));
    ASSERT_EQ(tlb.valid_entries(), 4u);
    EXPECT_EQ(tlb.invalidate(scope(arm64::tlbi(TlbiKind::VAE1, va_op(B, 1, 2), true), test::arm64_4k())), 4u);
    EXPECT_EQ(tlb.valid_entries(), 0u);
}

// TTBR1 (upper-half, kernel) addresses: Xt holds VA[55:12], and VA[63:56] are VA[55] repeated (QEMU:
// sextract64(value << 12, 0, 56); for ranges BADDR is sign-extended when the regime has two VA ranges).
TEST(Arm64Scope, ByVaOpsReachUpperHalfAddresses)
{
    TlbGeometry g;
    g.entries = 16;
    g.ways = 16;
    Tlb tlb(g);
    const Addr kva = 0xffff800012345000ull;
    const auto fill = [&] {
        TlbEntry e;
        e.vpn = kva >> 12;
        e.global = true;
        e.size_shift = 12;
        e.depth = 3;
        tlb.fill(e, kva);
    };
    fill();
    EXPECT_EQ(tlb.invalidate(scope(arm64::tlbi(TlbiKind::VAAE1, va_op(kva, 0), true), test::arm64_4k())), 1u);
    fill();
    EXPECT_EQ(tlb.invalidate(scope(arm64::tlbi(TlbiKind::RVAAE1, rg_op(kva, 0, 0, 0), true), test::arm64_4k())), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// x86

TlbiOp x86_op(TlbiKind kind, Addr la, Asid pcid)
{
    TlbiOp op;
    op.kind = kind;
    op.operand = la;
    op.asid = pcid;
    return op;
}

TlbiOp invpcid(int type, Addr la, Asid pcid)
{
    TlbiOp op = x86_op(TlbiKind::Invpcid, la, pcid);
    op.invpcid_type = type;
    return op;
}

TlbiOp invlpgb(Addr la, Asid pcid, std::uint32_t pages, bool global, bool final_only)
{
    TlbiOp op = x86_op(TlbiKind::Invlpgb, la, pcid);
    op.pages = pages;
    op.include_global = global;
    op.final_only = final_only;
    op.broadcast = true;
    return op;
}

struct X86Case {
    const char* name;
    TlbiOp op;
    Names tlb_gone;
    Names walk_gone;
};

void PrintTo(const X86Case& c, std::ostream* os) { *os << c.name; }

class X86Invalidation : public ::testing::TestWithParam<X86Case> {};

TEST_P(X86Invalidation, RemovesExactlyTheNamedEntries)
{
    const X86Case& c = GetParam();
    EXPECT_FALSE(is_arm64(c.op.kind));
    const InvalidationScope s = scope(c.op, test::x86_4level());
    EXPECT_EQ(removed_leaves(s), c.tlb_gone) << c.op.describe();
    EXPECT_EQ(removed_walks(s, test::x86_4level()), c.walk_gone) << c.op.describe();
}

Names minus(Names a, const Names& b)
{
    for (const std::string& n : b)
        a.erase(n);
    return a;
}

INSTANTIATE_TEST_SUITE_P(
    Ops, X86Invalidation,
    ::testing::Values(
        // INVLPG: the page for the current PCID, global entries for the page, every paging-structure entry of
        // the current PCID whatever its address; other PCIDs' entries for the page stay.
        X86Case{"INVLPG_page", x86_op(TlbiKind::Invlpg, A + 0x123, 1), {"p1"}, kWalkAsid1},
        X86Case{"INVLPG_pcid3", x86_op(TlbiKind::Invlpg, A, 3), {"p3"}, {"wF0_3"}},
        X86Case{"INVLPG_global", x86_op(TlbiKind::Invlpg, A + 0x1000, 2), {"g"}, kWalkAsid2},
        X86Case{"INVLPG_large_page", x86_op(TlbiKind::Invlpg, B + 0x1f0000, 1), {"b1"}, kWalkAsid1},
        X86Case{"INVLPG_global_large_page", x86_op(TlbiKind::Invlpg, B + M2, 2), {"gb"}, kWalkAsid2},
        // MOV to CR3 without bit 63: non-global entries of the new PCID; global entries stay.
        X86Case{"MOV_CR3_pcid1", x86_op(TlbiKind::MovCr3, 0, 1), {"p1", "n1", "m1", "b1", "f1"}, kWalkAsid1},
        X86Case{"MOV_CR3_pcid2", x86_op(TlbiKind::MovCr3, 0, 2), {"p2", "n2", "b2", "f2"}, kWalkAsid2},
        // INVPCID.
        X86Case{"INVPCID0_page", invpcid(0, A, 1), {"p1"}, kWalkAsid1},
        X86Case{"INVPCID0_global_page_kept", invpcid(0, A + 0x1000, 1), kNone, kWalkAsid1},
        X86Case{"INVPCID0_other_pcid", invpcid(0, A + 0x2000, 2), {"n2"}, kWalkAsid2},
        X86Case{"INVPCID1", invpcid(1, 0, 1), {"p1", "n1", "m1", "b1", "f1"}, kWalkAsid1},
        X86Case{"INVPCID2", invpcid(2, 0, 0), all_leaves(), all_walks()},
        X86Case{"INVPCID3", invpcid(3, 0, 0), non_global_leaves(), all_walks()},
        // INVLPGB: pages, include_global, final_only.
        X86Case{"INVLPGB_3_pages", invlpgb(A, 1, 3, false, false), {"p1", "n1"}, {"wA0_1", "wA1_1", "wA2_1"}},
        X86Case{"INVLPGB_3_pages_global", invlpgb(A, 1, 3, true, false), {"p1", "g", "n1"},
                {"wA0_1", "wA1_1", "wA2_1"}},
        X86Case{"INVLPGB_4_pages_global", invlpgb(A, 1, 4, true, false), {"p1", "g", "n1", "g2"},
                {"wA0_1", "wA1_1", "wA2_1"}},
        X86Case{"INVLPGB_64_pages", invlpgb(A, 1, 64, false, false), {"p1", "n1"}, {"wA0_1", "wA1_1", "wA2_1"}},
        X86Case{"INVLPGB_65_pages", invlpgb(A, 1, 65, false, false), {"p1", "n1", "m1"},
                {"wA0_1", "wA1_1", "wA2_1"}},
        X86Case{"INVLPGB_final_only", invlpgb(A, 1, 4, true, true), {"p1", "g", "n1", "g2"}, kNone},
        X86Case{"INVLPGB_1_page_pcid2", invlpgb(A + 0x2000, 2, 1, false, false), {"n2"}, {"wA1_2", "wA2_2"}},
        X86Case{"INVLPGB_block", invlpgb(B + 0x3000, 2, 1, true, false), {"b2"}, {"wB1_2"}}),
    [](const ::testing::TestParamInfo<X86Case>& i) { return std::string(i.param.name); });

TEST(X86Scope, FullFlushKeepsGlobalEntries)
{
    // Every non-global entry of the PCID goes, no global one does, whatever PCID tagged the global entry.
    for (Asid pcid : {1, 2, 3}) {
        const Names gone = removed_leaves(scope(x86_op(TlbiKind::MovCr3, 0, pcid), test::x86_4level()));
        for (const LeafSpec& l : leaves()) {
            if (l.global)
                EXPECT_FALSE(gone.count(l.name)) << l.name;
            else
                EXPECT_EQ(gone.count(l.name) == 1, l.asid == pcid) << l.name;
        }
    }
    EXPECT_EQ(minus(all_leaves(), non_global_leaves()), (Names{"g", "g2", "gb"}));
}

TEST(X86Scope, MovCr3NoFlushRemovesNothing)
{
    TlbiOp op = x86_op(TlbiKind::MovCr3, 0, 1);
    op.noflush = true;
    EXPECT_FALSE(scope_of(op, test::x86_4level()).has_value());
}

TEST(X86Scope, BadInvpcidTypeThrows)
{
    EXPECT_THROW(scope_of(invpcid(4, 0, 1), test::x86_4level()), std::invalid_argument);
    EXPECT_THROW(scope_of(invpcid(-1, 0, 1), test::x86_4level()), std::invalid_argument);
}

TEST(X86Scope, InvlpgbPageCount)
{
    for (std::uint32_t pages : {1u, 2u, 7u, 512u, 65536u}) {
        const InvalidationScope s = scope(invlpgb(0x10001234, 4, pages, false, false), test::x86_4level());
        EXPECT_EQ(s.va_start, 0x10001000u);
        EXPECT_EQ(s.va_last - s.va_start + 1, Addr{pages} * K4);
        EXPECT_FALSE(s.include_global);
        EXPECT_FALSE(s.leaf_only);
        EXPECT_FALSE(s.any_asid);
        EXPECT_EQ(s.asid, 4);
    }
    const InvalidationScope g = scope(invlpgb(0, 4, 1, true, true), test::x86_4level());
    EXPECT_TRUE(g.include_global);
    EXPECT_TRUE(g.leaf_only);
}

TEST(X86Scope, InvlpgbWithoutVaRemovesThePcid)
{
    // rAX[0] clear: every non-global translation of the PCID, whatever its address (Linux
    // invlpgb_flush_single_pcid_nosync()).
    TlbiOp op = invlpgb(0, 4, 1, false, false);
    op.va_valid = false;
    const InvalidationScope s = scope(op, test::x86_4level());
    EXPECT_FALSE(s.by_va);
    EXPECT_FALSE(s.any_asid);
    EXPECT_EQ(s.asid, 4);
    EXPECT_FALSE(s.include_global);
    TlbGeometry g;
    g.entries = 8;
    g.ways = 8;
    Tlb tlb(g);
    for (Addr va : {Addr{0x1000}, Addr{0x7fff0000}}) {
        TlbEntry e;
        e.vpn = va >> 12;
        e.asid = 4;
        e.size_shift = 12;
        ASSERT_TRUE(tlb.fill(e, va));
    }
    TlbEntry other;
    other.vpn = 0x2000 >> 12;
    other.asid = 5;
    other.size_shift = 12;
    ASSERT_TRUE(tlb.fill(other, 0x2000));
    EXPECT_EQ(tlb.invalidate(s), 2u) << "both PCID 4 entries, not PCID 5's";
}

TEST(X86Scope, InvlpgbPmdStrideSpansTwoMegabytesPerPage)
{
    TlbiOp op = invlpgb(0x40000000 + 0x1234, 4, 3, false, false);
    op.pmd_stride = true;
    const InvalidationScope s = scope(op, test::x86_4level());
    EXPECT_EQ(s.va_start, 0x40000000u);
    EXPECT_EQ(s.va_last, 0x40000000u + 3 * (Addr{2} << 20) - 1);
}

TEST(X86Scope, InvlpgRemovesEverySplinterOfALargePage)
{
    TlbGeometry g;
    g.entries = 16;
    g.ways = 16;
    g.size_shifts = {12};
    Tlb tlb(g);
    LeafSpec blk{"b1", B, 21, 1, false};
    for (Addr off : {Addr{0x1000}, Addr{0x5000}, Addr{0x100000}})
        ASSERT_TRUE(tlb.fill(leaf_entry(blk), B + off));
    ASSERT_EQ(tlb.valid_entries(), 3u);
    EXPECT_EQ(tlb.invalidate(scope(x86_op(TlbiKind::Invlpg, B + 0x1000, 1), test::x86_4level())), 3u);
}

TEST(X86Scope, InvlpgbReachesTheKernelTopSlot)
{
    const Addr kva = 0xffffffff81000000ull;
    WalkCache wc(WalkCacheGeometry{16, 16, 1}, test::span_shifts(test::x86_4level()));
    for (int d = 0; d < 3; ++d)
        wc.fill(kva, 1, d, 0x1000 * (d + 1));
    EXPECT_EQ(wc.invalidate(scope(invlpgb(kva, 1, 1, true, false), test::x86_4level())), 3u);
    // The last 4K page of the address space, in the TLB.
    TlbGeometry g;
    g.entries = 4;
    g.ways = 4;
    Tlb tlb(g);
    TlbEntry e;
    e.vpn = 0xfffffffffffff000ull >> 12;
    e.asid = 1;
    e.size_shift = 12;
    tlb.fill(e, 0xfffffffffffff000ull);
    EXPECT_EQ(tlb.invalidate(scope(x86_op(TlbiKind::Invlpg, 0xfffffffffffff000ull, 1), test::x86_4level())), 1u);
}

// ---------------------------------------------------------------------------------------------------------
// RISC-V SFENCE.VMA

TlbiOp sfence(bool rs1_x0, Addr va, bool rs2_x0, Asid asid)
{
    TlbiOp op;
    op.kind = TlbiKind::SfenceVma;
    op.all_va = rs1_x0;
    op.operand = va;
    op.all_asid = rs2_x0;
    op.asid = asid;
    return op;
}

TEST(RiscvSfence, Rs1ZeroRs2Zero)
{
    const InvalidationScope s = scope(sfence(true, 0, true, 0), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), all_leaves());
    EXPECT_EQ(removed_walks(s, test::riscv_sv48()), all_walks());
}

TEST(RiscvSfence, Rs1ZeroRs2Asid)
{
    // Every entry of the ASID except global mappings.
    InvalidationScope s = scope(sfence(true, 0x5000, false, 1), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"p1", "n1", "m1", "b1", "f1"}));
    EXPECT_EQ(removed_walks(s, test::riscv_sv48()), kWalkAsid1);
    s = scope(sfence(true, 0, false, 2), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"p2", "n2", "b2", "f2"}));
    EXPECT_EQ(removed_walks(s, test::riscv_sv48()), kWalkAsid2);
}

TEST(RiscvSfence, Rs1VaRs2Zero)
{
    // Leaf entries for the address, all address spaces, global ones included.
    InvalidationScope s = scope(sfence(false, A + 0x10, true, 2), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"p1", "p2", "p3"}));
    // The spec only requires leaf entries here; dropping walk entries for the address is allowed, but
    // nothing for other addresses may go.
    for (const std::string& w : removed_walks(s, test::riscv_sv48()))
        EXPECT_TRUE(kWalkA.count(w)) << w;
    s = scope(sfence(false, A + 0x1000, true, 0), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"g"}));
    s = scope(sfence(false, B + 0x1ff000, true, 0), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"b1", "b2"}));
}

TEST(RiscvSfence, Rs1VaRs2Asid)
{
    // Leaf entries for the address in that ASID; global mappings are left alone.
    InvalidationScope s = scope(sfence(false, A, false, 2), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"p2"}));
    for (const std::string& w : removed_walks(s, test::riscv_sv48()))
        EXPECT_TRUE(w == "wA1_2" || w == "wA2_2") << w;
    s = scope(sfence(false, A + 0x1000, false, 1), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), kNone);
    s = scope(sfence(false, B + M2, false, 3), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), kNone);
    s = scope(sfence(false, F + 0xfff, false, 2), test::riscv_sv48());
    EXPECT_EQ(removed_leaves(s), (Names{"f2"}));
}

// ---------------------------------------------------------------------------------------------------------
// Names and classification

TEST(TlbiOp, NamesAndClassification)
{
    const std::map<TlbiKind, std::string> names = {
        {TlbiKind::VAE1, "VAE1"},     {TlbiKind::VALE1, "VALE1"},     {TlbiKind::VAAE1, "VAAE1"},
        {TlbiKind::VAALE1, "VAALE1"}, {TlbiKind::RVAE1, "RVAE1"},     {TlbiKind::RVALE1, "RVALE1"},
        {TlbiKind::RVAAE1, "RVAAE1"}, {TlbiKind::RVAALE1, "RVAALE1"}, {TlbiKind::ASIDE1, "ASIDE1"},
        {TlbiKind::VMALLE1, "VMALLE1"}, {TlbiKind::Invlpg, "INVLPG"},  {TlbiKind::MovCr3, "MOV_CR3"},
        {TlbiKind::Invpcid, "INVPCID"}, {TlbiKind::Invlpgb, "INVLPGB"}, {TlbiKind::SfenceVma, "SFENCE.VMA"},
    };
    for (const auto& [k, n] : names)
        EXPECT_EQ(to_string(k), n);
    const std::set<TlbiKind> arm = {TlbiKind::VAE1,   TlbiKind::VALE1,  TlbiKind::VAAE1,  TlbiKind::VAALE1,
                                    TlbiKind::RVAE1,  TlbiKind::RVALE1, TlbiKind::RVAAE1, TlbiKind::RVAALE1,
                                    TlbiKind::ASIDE1, TlbiKind::VMALLE1};
    const std::set<TlbiKind> range = {TlbiKind::RVAE1, TlbiKind::RVALE1, TlbiKind::RVAAE1, TlbiKind::RVAALE1};
    for (const auto& [k, n] : names) {
        EXPECT_EQ(is_arm64(k), arm.count(k) == 1) << n;
        EXPECT_EQ(is_range(k), range.count(k) == 1) << n;
    }
    EXPECT_EQ(arm64::tlbi(TlbiKind::VAE1, 0x1234, true).describe(), "TLBI VAE1IS, 0x1234");
    EXPECT_EQ(arm64::tlbi(TlbiKind::VMALLE1, 0, false).describe(), "TLBI VMALLE1, 0x0");
    EXPECT_EQ(x86_op(TlbiKind::Invlpg, 0xabc000, 5).describe(), "INVLPG 0xabc000 pcid/asid=5");
}

} // namespace
} // namespace mmusim::hw
