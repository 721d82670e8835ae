// SPDX-License-Identifier: GPL-2.0-only
// Unit tests for hw/tlb/tlb.{hh,cc}: LRU hit/miss behaviour, set indexing, several page sizes, splintering,
// ASID/global tagging, and a randomised comparison of the TLB (with its MRU fast path) against a
// straightforward reference LRU model.
#include "hw/tlb/tlb.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <ostream>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>
#include <vector>

namespace mmusim::hw {
namespace {

constexpr Addr K4 = 4 * KiB;
constexpr Addr K64 = 64 * KiB;
constexpr Addr M2 = 2 * MiB;
constexpr Addr G1 = GiB;

// Physical base chosen per (size, vpn) so that any mix-up of entries shows up as a wrong PA.
PAddr pa_for(Addr va, unsigned shift) { return ((va >> shift) << shift) + 0x1000000000ull + (Addr{shift} << 32); }

TlbEntry make_entry(Addr va, unsigned shift, Asid asid = 1, bool global = false, std::uint8_t depth = 3)
{
    TlbEntry e;
    e.vpn = va >> shift;
    e.pa = pa_for(va, shift);
    e.desc_pa = 0x7000000 + ((va >> shift) & 0xfff) * 8;
    e.asid = asid;
    e.size_shift = static_cast<std::uint8_t>(shift);
    e.depth = depth;
    e.global = global;
    e.write = true;
    e.user = true;
    return e;
}

TlbGeometry geo(unsigned entries, unsigned ways, std::vector<unsigned> shifts = {12})
{
    TlbGeometry g;
    g.name = "test-tlb";
    g.entries = entries;
    g.ways = ways;
    g.size_shifts = std::move(shifts);
    return g;
}

// What an MMU does: look up, and fill on a miss. Returns true on a hit.
bool access(Tlb& tlb, Addr va, Asid asid = 1, unsigned shift = 12, bool global = false)
{
    if (tlb.lookup(va, asid))
        return true;
    EXPECT_TRUE(tlb.fill(make_entry(va, shift, asid, global), va));
    return false;
}

// ---------------------------------------------------------------------------------------------------------
// Construction

TEST(Tlb, RejectsImpossibleGeometry)
{
    EXPECT_THROW(Tlb(geo(0, 1)), std::invalid_argument);
    EXPECT_THROW(Tlb(geo(8, 0)), std::invalid_argument);
    EXPECT_THROW(Tlb(geo(10, 4)), std::invalid_argument); // not a multiple of ways
    EXPECT_THROW(Tlb(geo(12, 4)), std::invalid_argument); // 3 sets
    EXPECT_THROW(Tlb(geo(16, 4, {})), std::invalid_argument);
    EXPECT_NO_THROW(Tlb(geo(48, 48)));                    // fully associative: one set, any size
    EXPECT_NO_THROW(Tlb(geo(16, 4)));
}

TEST(Tlb, HeldSizesAreSortedAndDeduplicated)
{
    Tlb tlb(geo(16, 4, {21, 12, 21, 16}));
    EXPECT_EQ(tlb.geometry().size_shifts, (std::vector<unsigned>{12, 16, 21}));
    EXPECT_TRUE(tlb.holds(12));
    EXPECT_TRUE(tlb.holds(16));
    EXPECT_TRUE(tlb.holds(21));
    EXPECT_FALSE(tlb.holds(14));
    EXPECT_FALSE(tlb.holds(30));
}

// ---------------------------------------------------------------------------------------------------------
// Hit/miss counts for known access patterns, per associativity

struct Assoc {
    const char* name;
    unsigned entries;
    unsigned ways;
};

void PrintTo(const Assoc& a, std::ostream* os) { *os << a.name; }

class TlbPattern : public ::testing::TestWithParam<Assoc> {};

// `ways` distinct pages that all index one set: after the cold misses, every access hits.
TEST_P(TlbPattern, WaysPagesInOneSetAllHitAfterWarmup)
{
    const Assoc a = GetParam();
    Tlb tlb(geo(a.entries, a.ways));
    const unsigned sets = a.entries / a.ways;
    const unsigned rounds = 10;
    for (unsigned r = 0; r < rounds; ++r)
        for (unsigned k = 0; k < a.ways; ++k)
            EXPECT_EQ(access(tlb, Addr{k} * sets * K4 + 0x123), r > 0) << "round " << r << " page " << k;
    EXPECT_EQ(tlb.stats().accesses, std::uint64_t{rounds} * a.ways);
    EXPECT_EQ(tlb.stats().misses, a.ways);
    EXPECT_EQ(tlb.stats().hits, std::uint64_t{rounds - 1} * a.ways);
    EXPECT_EQ(tlb.stats().evictions, 0u);
}

// ways+1 pages cycled through one set: LRU always evicts the page needed next, so nothing ever hits.
TEST_P(TlbPattern, WaysPlusOnePagesInOneSetMissEveryTime)
{
    const Assoc a = GetParam();
    Tlb tlb(geo(a.entries, a.ways));
    const unsigned sets = a.entries / a.ways;
    const unsigned rounds = 10;
    const unsigned n = a.ways + 1;
    for (unsigned r = 0; r < rounds; ++r)
        for (unsigned k = 0; k < n; ++k)
            EXPECT_FALSE(access(tlb, Addr{k} * sets * K4)) << "round " << r << " page " << k;
    EXPECT_EQ(tlb.stats().hits, 0u);
    EXPECT_EQ(tlb.stats().misses, std::uint64_t{rounds} * n);
    EXPECT_EQ(tlb.stats().fills, std::uint64_t{rounds} * n);
    EXPECT_EQ(tlb.stats().evictions, std::uint64_t{rounds} * n - a.ways);
    EXPECT_EQ(tlb.valid_entries(), a.ways);
}

// A working set of exactly `entries` consecutive pages fits; one page more overflows set 0 (page 0 and page
// `entries` both index it) and that set then misses on each of its ways+1 pages every round.
TEST_P(TlbPattern, WorkingSetJustUnderAndJustOverCapacity)
{
    const Assoc a = GetParam();
    const unsigned rounds = 8;
    {
        Tlb tlb(geo(a.entries, a.ways));
        for (unsigned r = 0; r < rounds; ++r)
            for (unsigned p = 0; p < a.entries; ++p)
                access(tlb, Addr{p} * K4);
        EXPECT_EQ(tlb.stats().misses, a.entries);
        EXPECT_EQ(tlb.stats().hits, std::uint64_t{rounds - 1} * a.entries);
        EXPECT_EQ(tlb.valid_entries(), a.entries);
    }
    {
        Tlb tlb(geo(a.entries, a.ways));
        const unsigned n = a.entries + 1;
        for (unsigned p = 0; p < n; ++p)
            access(tlb, Addr{p} * K4); // warm-up round
        const TlbStats warm = tlb.stats();
        EXPECT_EQ(warm.misses, n);
        for (unsigned r = 1; r < rounds; ++r)
            for (unsigned p = 0; p < n; ++p)
                access(tlb, Addr{p} * K4);
        const std::uint64_t thrash = a.ways + 1; // pages of set 0
        EXPECT_EQ(tlb.stats().misses - warm.misses, std::uint64_t{rounds - 1} * thrash);
        EXPECT_EQ(tlb.stats().hits - warm.hits, std::uint64_t{rounds - 1} * (n - thrash));
    }
}

INSTANTIATE_TEST_SUITE_P(Assoc, TlbPattern,
                         ::testing::Values(Assoc{"direct_mapped", 8, 1}, Assoc{"two_way", 16, 2},
                                           Assoc{"four_way", 32, 4}, Assoc{"fully_associative", 16, 16}),
                         [](const ::testing::TestParamInfo<Assoc>& i) { return std::string(i.param.name); });

// ---------------------------------------------------------------------------------------------------------
// LRU order

TEST(Tlb, TouchingAnEntryProtectsItFromEviction)
{
    Tlb tlb(geo(16, 4)); // 4 sets; vpn 0,4,8,... all index set 0
    const auto page = [](unsigned k) { return Addr{k} * 4 * K4; };
    for (unsigned k = 0; k < 4; ++k)
        ASSERT_TRUE(tlb.fill(make_entry(page(k), 12), page(k)));
    ASSERT_NE(tlb.lookup(page(0), 1), nullptr); // 0 becomes most recent; 1 is now LRU
    ASSERT_TRUE(tlb.fill(make_entry(page(4), 12), page(4)));
    EXPECT_NE(tlb.probe(page(0), 1), nullptr);
    EXPECT_EQ(tlb.probe(page(1), 1), nullptr);
    EXPECT_NE(tlb.probe(page(2), 1), nullptr);
    EXPECT_NE(tlb.probe(page(3), 1), nullptr);

    ASSERT_NE(tlb.lookup(page(2), 1), nullptr); // order now (LRU first): 3, 0, 4, 2
    ASSERT_TRUE(tlb.fill(make_entry(page(5), 12), page(5)));
    EXPECT_EQ(tlb.probe(page(3), 1), nullptr);
    for (unsigned k : {0u, 2u, 4u, 5u})
        EXPECT_NE(tlb.probe(page(k), 1), nullptr) << k;
    EXPECT_EQ(tlb.stats().evictions, 2u);
}

// Repeated hits on the same entry go through the fast path; they must leave exactly the LRU state that the
// slow path would (the entry stays most recent, everyone else keeps their order).
TEST(Tlb, RepeatedHitsKeepLruOrder)
{
    Tlb tlb(geo(4, 2)); // 2 sets of 2 ways; even vpns in set 0
    const Addr A = 0, B = 2 * K4, C = 4 * K4, X = 1 * K4;
    tlb.fill(make_entry(A, 12), A);
    tlb.fill(make_entry(B, 12), B);
    for (int i = 0; i < 3; ++i)
        ASSERT_NE(tlb.lookup(A, 1), nullptr);
    ASSERT_NE(tlb.lookup(B, 1), nullptr);
    for (int i = 0; i < 3; ++i)
        ASSERT_NE(tlb.lookup(A, 1), nullptr);
    // A miss in another set, and a miss in this set without a fill, change no LRU state.
    EXPECT_EQ(tlb.lookup(X, 1), nullptr);
    EXPECT_EQ(tlb.lookup(C, 1), nullptr);
    ASSERT_NE(tlb.lookup(A, 1), nullptr);
    tlb.fill(make_entry(C, 12), C); // B is LRU
    EXPECT_NE(tlb.probe(A, 1), nullptr);
    EXPECT_EQ(tlb.probe(B, 1), nullptr);
    EXPECT_NE(tlb.probe(C, 1), nullptr);
    EXPECT_EQ(tlb.stats().hits, 8u);
    EXPECT_EQ(tlb.stats().misses, 2u);
    EXPECT_EQ(tlb.stats().accesses, 10u);
}

TEST(Tlb, FastPathDoesNotReturnInvalidatedEntry)
{
    Tlb tlb(geo(16, 4));
    const Addr A = 0x5000;
    tlb.fill(make_entry(A, 12), A);
    ASSERT_NE(tlb.lookup(A, 1), nullptr);
    ASSERT_NE(tlb.lookup(A, 1), nullptr);
    InvalidationScope s;
    s.by_va = true;
    s.va_start = A;
    s.va_last = A + K4 - 1;
    EXPECT_EQ(tlb.invalidate(s), 1u);
    EXPECT_EQ(tlb.lookup(A, 1), nullptr);
    EXPECT_EQ(tlb.stats().misses, 1u);
}

TEST(Tlb, FastPathChecksAsid)
{
    Tlb tlb(geo(16, 4));
    const Addr A = 0x5000;
    tlb.fill(make_entry(A, 12, /*asid=*/1), A);
    ASSERT_NE(tlb.lookup(A, 1), nullptr);
    EXPECT_EQ(tlb.lookup(A, 2), nullptr);
    EXPECT_EQ(tlb.lookup(A + K4, 1), nullptr);
}

TEST(Tlb, ProbeNeitherCountsNorTouchesLru)
{
    Tlb tlb(geo(2, 2)); // one set of 2 ways
    const Addr A = 0x1000, B = 0x2000, C = 0x3000;
    tlb.fill(make_entry(A, 12), A);
    tlb.fill(make_entry(B, 12), B);
    for (int i = 0; i < 5; ++i)
        ASSERT_NE(tlb.probe(A, 1), nullptr);
    EXPECT_EQ(tlb.probe(C, 1), nullptr);
    EXPECT_EQ(tlb.stats().accesses, 0u);
    EXPECT_EQ(tlb.stats().hits, 0u);
    EXPECT_EQ(tlb.stats().misses, 0u);
    tlb.fill(make_entry(C, 12), C); // A is still LRU
    EXPECT_EQ(tlb.probe(A, 1), nullptr);
    EXPECT_NE(tlb.probe(B, 1), nullptr);
}

// ---------------------------------------------------------------------------------------------------------
// Set indexing

TEST(Tlb, SetIndexUsesTheVpnBitsOfEachPageSize)
{
    // 4 sets x 4 ways, holding 4K and 2M.
    {
        Tlb tlb(geo(16, 4, {12, 21}));
        for (unsigned v = 0; v < 16; ++v) // consecutive 4K VPNs spread over all sets: no evictions
            access(tlb, Addr{v} * K4);
        EXPECT_EQ(tlb.valid_entries(), 16u);
        EXPECT_EQ(tlb.stats().evictions, 0u);
    }
    {
        Tlb tlb(geo(16, 4, {12, 21}));
        for (unsigned v = 0; v < 16; ++v) // consecutive 2M VPNs (va >> 21) spread over all sets too
            access(tlb, Addr{v} * M2, 1, 21);
        EXPECT_EQ(tlb.valid_entries(), 16u);
        EXPECT_EQ(tlb.stats().evictions, 0u);
        for (unsigned v = 0; v < 16; ++v)
            EXPECT_NE(tlb.probe(Addr{v} * M2 + 0x12345, 1), nullptr) << v;
    }
    {
        Tlb tlb(geo(16, 4, {12, 21}));
        for (unsigned k = 0; k < 5; ++k) // 2M VPNs 0,4,8,12,16 share set 0: the fifth evicts the first
            access(tlb, Addr{k} * 4 * M2, 1, 21);
        EXPECT_EQ(tlb.valid_entries(), 4u);
        EXPECT_EQ(tlb.stats().evictions, 1u);
        EXPECT_EQ(tlb.probe(0, 1), nullptr);
        // Bits of the VA below the 2M VPN (here: the 4K VPN bits that would pick set 1) do not matter.
        EXPECT_NE(tlb.probe(4 * M2 + 0x1000, 1), nullptr);
    }
    {
        // Sizes share the sets: a 2M entry with (va >> 21) & 3 == 1 competes with 4K pages with vpn & 3 == 1.
        Tlb tlb(geo(16, 4, {12, 21}));
        const Addr block = 1 * M2;
        access(tlb, block, 1, 21);
        for (Addr v : {1, 5, 9})
            access(tlb, v * K4);
        access(tlb, 2 * K4); // set 2: no effect on set 1
        EXPECT_EQ(tlb.stats().evictions, 0u);
        access(tlb, 13 * K4); // set 1 is full: the block is LRU
        EXPECT_EQ(tlb.stats().evictions, 1u);
        EXPECT_EQ(tlb.probe(block, 1), nullptr);
        for (Addr v : {1, 2, 5, 9, 13})
            EXPECT_NE(tlb.probe(v * K4, 1), nullptr) << v;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Several page sizes, splintering

TEST(Tlb, TwoMegAndFourKEntriesCoexist)
{
    Tlb tlb(geo(16, 4, {12, 21}));
    const Addr block = 0x40000000, page = 0x1000;
    ASSERT_TRUE(tlb.fill(make_entry(block, 21, 1, false, 2), block + 0x1000));
    ASSERT_TRUE(tlb.fill(make_entry(page, 12), page));
    EXPECT_EQ(tlb.valid_entries(), 2u);

    const TlbEntry* b = tlb.lookup(block + 0x123456, 1);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->size_shift, 21);
    EXPECT_EQ(b->pa, pa_for(block, 21));
    EXPECT_EQ(b->vpn, block >> 21);
    EXPECT_EQ(b->depth, 2);
    const TlbEntry* p = tlb.lookup(page + 0xabc, 1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->size_shift, 12);
    EXPECT_EQ(p->pa, pa_for(page, 12));
    EXPECT_NE(tlb.lookup(block + M2 - 1, 1), nullptr);
    EXPECT_EQ(tlb.lookup(block + M2, 1), nullptr);
    EXPECT_EQ(tlb.lookup(page + K4, 1), nullptr);
    EXPECT_EQ(tlb.stats().hits, 3u);
    EXPECT_EQ(tlb.stats().misses, 2u);
    EXPECT_EQ(tlb.stats().splintered, 0u);
}

TEST(Tlb, HeldSizeIsNotSplintered)
{
    Tlb tlb(geo(16, 4, {12, 16, 21}));
    const Addr va = 0x12340000 + 0x5678;
    TlbEntry in = make_entry(va, 16);
    in.contiguous = true;
    ASSERT_TRUE(tlb.fill(in, va));
    const TlbEntry* e = tlb.probe(va, 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size_shift, 16);
    EXPECT_EQ(e->pa, in.pa);
    EXPECT_EQ(e->va_base(), 0x12340000u);
    EXPECT_TRUE(e->contiguous);
    EXPECT_EQ(tlb.stats().splintered, 0u);
}

struct SplinterCase {
    const char* name;
    std::vector<unsigned> held;
    unsigned in_shift;
    unsigned expect_shift;
};

void PrintTo(const SplinterCase& c, std::ostream* os) { *os << c.name; }

class TlbSplinter : public ::testing::TestWithParam<SplinterCase> {};

TEST_P(TlbSplinter, CoversTheAccessedPageWithTheRightPaOffset)
{
    const SplinterCase c = GetParam();
    Tlb tlb(geo(16, 4, c.held));
    const Addr size = Addr{1} << c.in_shift;
    const Addr base = 8 * size;             // region base (aligned to the translation size)
    const PAddr pbase = 0x3000000000ull + 5 * size;
    const Addr off = size / 2 + size / 8 + 0x7ab; // somewhere inside, not on any boundary
    const Addr va = base + off;

    TlbEntry in = make_entry(base, c.in_shift, 3, false, 2);
    in.pa = pbase;
    in.desc_pa = 0xabcd0;
    in.write = false;
    in.exec = true;
    ASSERT_TRUE(tlb.fill(in, va));
    EXPECT_EQ(tlb.stats().splintered, 1u);
    EXPECT_EQ(tlb.stats().fills, 1u);
    ASSERT_EQ(tlb.valid_entries(), 1u);

    const Addr small = Addr{1} << c.expect_shift;
    const TlbEntry* e = tlb.probe(va, 3);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size_shift, c.expect_shift);
    EXPECT_EQ(e->vpn, va >> c.expect_shift);
    EXPECT_EQ(e->va_base(), va & ~(small - 1));
    EXPECT_EQ(e->pa, pbase + (off & ~(small - 1)));
    EXPECT_EQ(e->desc_pa, 0xabcd0u);
    EXPECT_EQ(e->depth, 2);
    EXPECT_EQ(e->asid, 3);
    EXPECT_FALSE(e->write);
    EXPECT_TRUE(e->exec);
    // The splinter covers only its own small page of the region.
    EXPECT_NE(tlb.probe(e->va_base(), 3), nullptr);
    EXPECT_NE(tlb.probe(e->va_last(), 3), nullptr);
    EXPECT_EQ(tlb.probe(e->va_last() + 1, 3), nullptr);
    EXPECT_EQ(tlb.probe(e->va_base() - 1, 3), nullptr);
    EXPECT_EQ(tlb.probe(base, 3), nullptr);

    // A second access elsewhere in the region gets its own splinter.
    const Addr va2 = base + 0x10;
    ASSERT_TRUE(tlb.fill(in, va2));
    const TlbEntry* e2 = tlb.probe(va2, 3);
    ASSERT_NE(e2, nullptr);
    EXPECT_EQ(e2->pa, pbase);
    EXPECT_EQ(tlb.valid_entries(), 2u);
    EXPECT_EQ(tlb.stats().splintered, 2u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, TlbSplinter,
                         ::testing::Values(SplinterCase{"k64_into_4k", {12}, 16, 12},
                                           SplinterCase{"m2_into_4k", {12}, 21, 12},
                                           SplinterCase{"m2_into_4k_64k", {12, 16}, 21, 16},
                                           SplinterCase{"g1_into_4k_2m", {12, 21}, 30, 21},
                                           SplinterCase{"g1_into_2m_only", {21}, 30, 21},
                                           SplinterCase{"k64_into_4k_2m", {12, 21}, 16, 12}),
                         [](const ::testing::TestParamInfo<SplinterCase>& i) { return std::string(i.param.name); });

TEST(Tlb, SizeSmallerThanAnyHeldSizeIsRefused)
{
    Tlb tlb(geo(16, 4, {21, 30}));
    EXPECT_FALSE(tlb.fill(make_entry(0x5000, 12), 0x5000));
    EXPECT_FALSE(tlb.fill(make_entry(0x50000, 16), 0x50000));
    EXPECT_EQ(tlb.valid_entries(), 0u);
    EXPECT_EQ(tlb.stats().fills, 0u);
    EXPECT_EQ(tlb.stats().splintered, 0u);
    EXPECT_EQ(tlb.probe(0x5000, 1), nullptr);
    // A size between two held sizes is cut to the smaller one.
    EXPECT_TRUE(tlb.fill(make_entry(0x40000000, 29), 0x40000000 + 0x1234567));
    const TlbEntry* e = tlb.probe(0x40000000 + 0x1234567, 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size_shift, 21);
}

// ---------------------------------------------------------------------------------------------------------
// ASIDs and global entries

TEST(Tlb, NonGlobalEntriesHitOnlyUnderTheirAsid)
{
    Tlb tlb(geo(16, 4));
    const Addr va = 0x7000;
    TlbEntry e1 = make_entry(va, 12, 1);
    TlbEntry e2 = make_entry(va, 12, 2);
    e2.pa = 0x999000;
    tlb.fill(e1, va);
    EXPECT_NE(tlb.lookup(va, 1), nullptr);
    EXPECT_EQ(tlb.lookup(va, 2), nullptr);
    EXPECT_EQ(tlb.lookup(va, 0), nullptr);
    tlb.fill(e2, va);
    EXPECT_EQ(tlb.valid_entries(), 2u);
    const TlbEntry* h1 = tlb.lookup(va, 1);
    const TlbEntry* h2 = tlb.lookup(va, 2);
    ASSERT_NE(h1, nullptr);
    ASSERT_NE(h2, nullptr);
    EXPECT_EQ(h1->pa, e1.pa);
    EXPECT_EQ(h2->pa, 0x999000u);
    EXPECT_EQ(tlb.lookup(va, 3), nullptr);
}

TEST(Tlb, GlobalEntriesHitUnderAnyAsid)
{
    Tlb tlb(geo(16, 4, {12, 21}));
    const Addr va = 0xffff0000, blk = 0x80000000;
    tlb.fill(make_entry(va, 12, 5, /*global=*/true), va);
    tlb.fill(make_entry(blk, 21, 9, /*global=*/true, 2), blk);
    for (Asid a : {0, 1, 5, 9, 4095, 65535}) {
        EXPECT_NE(tlb.lookup(va, a), nullptr) << a;
        EXPECT_NE(tlb.probe(va, a), nullptr) << a;
        EXPECT_NE(tlb.lookup(blk + 0x10000, a), nullptr) << a;
    }
    // Refilling a global translation under another ASID replaces it, it does not duplicate it.
    tlb.fill(make_entry(va, 12, 6, true), va);
    EXPECT_EQ(tlb.valid_entries(), 2u);
    EXPECT_EQ(tlb.stats().evictions, 0u);
}

// ---------------------------------------------------------------------------------------------------------
// Refill, desc_pa, invalidate

TEST(Tlb, RefillOfSameTranslationReplacesInPlace)
{
    Tlb tlb(geo(4, 4));
    const Addr va = 0x3000;
    TlbEntry e = make_entry(va, 12);
    e.write = false;
    tlb.fill(e, va);
    for (Addr v : {0x4000, 0x5000, 0x6000})
        tlb.fill(make_entry(v, 12), v);
    ASSERT_NE(tlb.lookup(va, 1), nullptr); // make it most recent, so that only a replace-in-place keeps the rest
    e.write = true;
    e.dirty = true;
    e.desc_pa = 0x4242;
    tlb.fill(e, va); // permission upgrade: same VPN/ASID, set is full, nothing evicted
    EXPECT_EQ(tlb.valid_entries(), 4u);
    EXPECT_EQ(tlb.stats().evictions, 0u);
    EXPECT_EQ(tlb.stats().fills, 5u);
    const TlbEntry* h = tlb.lookup(va, 1);
    ASSERT_NE(h, nullptr);
    EXPECT_TRUE(h->write);
    EXPECT_TRUE(h->dirty);
    EXPECT_EQ(h->desc_pa, 0x4242u);
    for (Addr v : {0x4000, 0x5000, 0x6000})
        EXPECT_NE(tlb.probe(v, 1), nullptr) << v;
}

TEST(Tlb, DescPaIsPreserved)
{
    Tlb tlb(geo(16, 4, {12, 21}));
    std::vector<std::pair<Addr, PAddr>> want;
    for (unsigned i = 0; i < 6; ++i) {
        const Addr va = 0x10000000 + Addr{i} * 0x3000;
        TlbEntry e = make_entry(va, 12);
        e.desc_pa = 0x80000000ull + i * 8 + 0x100;
        tlb.fill(e, va);
        want.emplace_back(va, e.desc_pa);
    }
    TlbEntry blk = make_entry(0x40000000, 21, 1, false, 2);
    blk.desc_pa = 0x81234568;
    tlb.fill(blk, 0x40000000);
    for (auto [va, d] : want) {
        const TlbEntry* e = tlb.lookup(va, 1);
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->desc_pa, d);
        EXPECT_EQ(tlb.probe(va, 1)->desc_pa, d);
    }
    EXPECT_EQ(tlb.lookup(0x401fffff, 1)->desc_pa, 0x81234568u);
    std::set<PAddr> seen;
    tlb.for_each([&](const TlbEntry& e) { seen.insert(e.desc_pa); });
    EXPECT_EQ(seen.size(), 7u);
    EXPECT_TRUE(seen.count(0x81234568));
}

TEST(Tlb, InvalidateCountsAndClearsEntries)
{
    Tlb tlb(geo(16, 4));
    for (unsigned i = 0; i < 10; ++i)
        tlb.fill(make_entry(Addr{i} * K4, 12, static_cast<Asid>(i % 2)), Addr{i} * K4);
    InvalidationScope s;
    s.any_asid = false;
    s.asid = 1;
    EXPECT_EQ(tlb.invalidate(s), 5u);
    EXPECT_EQ(tlb.valid_entries(), 5u);
    EXPECT_EQ(tlb.stats().invalidated, 5u);
    EXPECT_EQ(tlb.invalidate(s), 0u);
    EXPECT_EQ(tlb.invalidate(InvalidationScope::everything()), 5u);
    EXPECT_EQ(tlb.valid_entries(), 0u);
    EXPECT_EQ(tlb.stats().invalidated, 10u);
    std::size_t n = 0;
    tlb.for_each([&](const TlbEntry&) { ++n; });
    EXPECT_EQ(n, 0u);
}

// Stats bug: the victim is a different translation (same VPN, other ASID) but is not counted as an eviction.
TEST(Tlb, EvictionOfSameVpnOtherAsidIsCounted)
{
    Tlb tlb(geo(2, 2));
    const Addr X = 0x1000, Y = 0x2000;
    tlb.fill(make_entry(X, 12, 1), X); // LRU
    tlb.fill(make_entry(Y, 12, 1), Y);
    tlb.fill(make_entry(X, 12, 2), X); // evicts (X, ASID 1)
    EXPECT_EQ(tlb.probe(X, 1), nullptr);
    EXPECT_NE(tlb.probe(X, 2), nullptr);
    EXPECT_EQ(tlb.stats().evictions, 1u);
}

// ---------------------------------------------------------------------------------------------------------
// The fast path against a reference LRU model

// Straightforward LRU TLB: per set a list of entries with a use stamp; victim = smallest stamp.
class RefTlb {
public:
    struct E {
        Addr vpn;
        unsigned shift;
        Asid asid;
        bool global;
        PAddr pa;
        std::uint64_t stamp;
        unsigned tshift; // the translation it was cut from
    };

    RefTlb(unsigned entries, unsigned ways, std::vector<unsigned> shifts)
        : ways_(ways), mask_(entries / ways - 1), sets_(entries / ways), shifts_(std::move(shifts))
    {
        std::sort(shifts_.begin(), shifts_.end());
    }

    const E* lookup(Addr va, Asid asid)
    {
        ++accesses;
        if (E* e = find(va, asid)) {
            e->stamp = ++clock_;
            ++hits;
            return e;
        }
        ++misses;
        return nullptr;
    }
    const E* peek(Addr va, Asid asid) { return find(va, asid); }

    // `shift` must be held (the caller splinters).
    void fill(Addr va, unsigned shift, Asid asid, bool global, PAddr pa, unsigned tshift)
    {
        const E n{va >> shift, shift, asid, global, pa, ++clock_, tshift};
        auto& set = sets_[(va >> shift) & mask_];
        ++fills;
        for (E& e : set) {
            if (e.shift == shift && e.vpn == n.vpn && e.global == global && (global || e.asid == asid)) {
                e = n;
                return;
            }
        }
        if (set.size() < ways_) {
            set.push_back(n);
            return;
        }
        auto victim = std::min_element(set.begin(), set.end(), [](const E& a, const E& b) { return a.stamp < b.stamp; });
        ++evictions;
        *victim = n;
    }

    std::size_t invalidate(const std::function<bool(const E&)>& pred)
    {
        std::size_t n = 0;
        for (auto& set : sets_) {
            const auto it = std::remove_if(set.begin(), set.end(), pred);
            n += static_cast<std::size_t>(set.end() - it);
            set.erase(it, set.end());
        }
        return n;
    }

    using Key = std::tuple<unsigned, Addr, bool, Asid, PAddr>;
    std::multiset<Key> contents() const
    {
        std::multiset<Key> s;
        for (const auto& set : sets_)
            for (const E& e : set)
                s.emplace(e.shift, e.vpn, e.global, e.global ? Asid{0} : e.asid, e.pa);
        return s;
    }

    std::uint64_t accesses = 0, hits = 0, misses = 0, fills = 0, evictions = 0;

private:
    E* find(Addr va, Asid asid)
    {
        for (unsigned shift : shifts_)
            for (E& e : sets_[(va >> shift) & mask_])
                if (e.shift == shift && e.vpn == (va >> shift) && (e.global || e.asid == asid))
                    return &e;
        return nullptr;
    }

    unsigned ways_;
    std::uint64_t mask_;
    std::vector<std::vector<E>> sets_;
    std::vector<unsigned> shifts_;
    std::uint64_t clock_ = 0;
};

std::multiset<RefTlb::Key> contents(const Tlb& tlb)
{
    std::multiset<RefTlb::Key> s;
    tlb.for_each([&](const TlbEntry& e) {
        s.emplace(e.size_shift, e.vpn, e.global, e.global ? Asid{0} : e.asid, e.pa);
    });
    return s;
}

struct Page {
    Addr va;        // region base
    unsigned shift; // translation size
    bool global;
};

struct StreamConfig {
    const char* name;
    unsigned entries;
    unsigned ways;
    std::vector<unsigned> held;
    bool multi_asid;  // ASIDs 1..3 and some global pages
    bool big_pages;   // some 2M translations
    bool compare_evictions;
};

// Drives the real TLB and the reference with one random stream of lookups (+ fill on miss), probes and
// occasional invalidations, and checks every result and the full contents along the way.
void run_stream(const StreamConfig& c, std::uint64_t seed, unsigned steps)
{
    std::mt19937_64 rng(seed);
    std::vector<Page> pages;
    std::set<Addr> used;
    // ~300 4K pages below 64M, plus 2M blocks from 1G up.
    while (pages.size() < 300) {
        const Addr va = (rng() % 16384) * K4;
        if (used.insert(va).second)
            pages.push_back({va, 12, c.multi_asid && pages.size() % 5 == 0});
    }
    if (c.big_pages)
        for (unsigned i = 0; i < 40; ++i)
            pages.push_back({G1 + (rng() % 512) * M2, 21, c.multi_asid && i % 4 == 0});
    std::shuffle(pages.begin(), pages.end(), rng);
    // Deduplicate blocks that collided.
    {
        std::set<std::pair<Addr, unsigned>> seen;
        std::vector<Page> u;
        for (const Page& p : pages)
            if (seen.insert({p.va, p.shift}).second)
                u.push_back(p);
        pages.swap(u);
    }
    const std::size_t hot = std::min<std::size_t>(pages.size(), c.entries * 3 / 4 + 1);

    Tlb tlb(geo(c.entries, c.ways, c.held));
    RefTlb ref(c.entries, c.ways, c.held);
    const unsigned min_held = *std::min_element(c.held.begin(), c.held.end());
    const auto fit = [&](unsigned s) {
        unsigned f = 0;
        for (unsigned h : c.held)
            if (h <= s)
                f = std::max(f, h);
        return f;
    };

    Asid cur = 1;
    for (unsigned step = 0; step < steps; ++step) {
        SCOPED_TRACE(testing::Message() << c.name << " seed " << seed << " step " << step);
        if (c.multi_asid && rng() % 50 == 0)
            cur = static_cast<Asid>(1 + rng() % 3);
        const Page& p = pages[(rng() % 100 < 70) ? rng() % hot : rng() % pages.size()];
        const Addr va = p.va + (p.shift == 12 ? rng() % K4 : (rng() % 8) * K4 + rng() % K4);
        const unsigned r = static_cast<unsigned>(rng() % 1000);

        if (r < 8) {
            // Invalidation: by VA (this ASID or all), by ASID, or everything.
            InvalidationScope s;
            const unsigned kind = static_cast<unsigned>(rng() % 4);
            if (kind == 0 || kind == 1) {
                s.by_va = true;
                s.va_start = va & ~(K4 - 1);
                s.va_last = s.va_start + K4 - 1;
                s.any_asid = kind == 1;
                s.asid = cur;
            } else if (kind == 2) {
                s.any_asid = false;
                s.asid = cur;
                s.include_global = false;
            }
            const Addr vs = s.va_start, vl = s.va_last;
            const std::size_t want = ref.invalidate([&](const RefTlb::E& e) {
                if (kind == 3)
                    return true;
                if (kind == 2)
                    return !e.global && e.asid == cur;
                // Every splinter of the translation goes (SDM 4.10.2.3).
                const Addr b = (e.vpn << e.shift) & ~((Addr{1} << e.tshift) - 1);
                const Addr last = b + ((Addr{1} << e.tshift) - 1);
                const bool overlap = b <= vl && last >= vs;
                return overlap && (kind == 1 || e.global || e.asid == cur);
            });
            ASSERT_EQ(tlb.invalidate(s), want);
        } else if (r < 60) {
            const TlbEntry* got = tlb.probe(va, cur);
            const RefTlb::E* exp = ref.peek(va, cur);
            ASSERT_EQ(got != nullptr, exp != nullptr);
            if (got) {
                ASSERT_EQ(got->pa, exp->pa);
            }
        } else {
            const TlbEntry* got = tlb.lookup(va, cur);
            const RefTlb::E* exp = ref.lookup(va, cur);
            ASSERT_EQ(got != nullptr, exp != nullptr) << "va 0x" << std::hex << va;
            if (got) {
                ASSERT_EQ(got->pa, exp->pa);
                ASSERT_EQ(got->size_shift, exp->shift);
            } else {
                ASSERT_GE(p.shift, min_held);
                TlbEntry in = make_entry(p.va, p.shift, cur, p.global, p.shift == 12 ? 3 : 2);
                ASSERT_TRUE(tlb.fill(in, va));
                const unsigned s = fit(p.shift);
                const PAddr pa = in.pa + ((va & ((Addr{1} << p.shift) - 1)) & ~((Addr{1} << s) - 1));
                ref.fill(va, s, cur, p.global, pa, p.shift);
            }
        }
        ASSERT_EQ(tlb.stats().accesses, ref.accesses);
        ASSERT_EQ(tlb.stats().hits, ref.hits);
        ASSERT_EQ(tlb.stats().misses, ref.misses);
        ASSERT_EQ(tlb.stats().fills, ref.fills);
        if (c.compare_evictions) {
            ASSERT_EQ(tlb.stats().evictions, ref.evictions);
        }
        if (step % 61 == 0) {
            ASSERT_EQ(contents(tlb), ref.contents());
        }
    }
    ASSERT_EQ(contents(tlb), ref.contents());
    // The stream must have exercised both outcomes and replacement.
    EXPECT_GT(ref.hits, steps / 10);
    EXPECT_GT(ref.misses, steps / 20);
    EXPECT_GT(ref.evictions, 0u);
}

void PrintTo(const StreamConfig& c, std::ostream* os) { *os << c.name; }

class TlbVsReference : public ::testing::TestWithParam<StreamConfig> {};

TEST_P(TlbVsReference, FastPathPreservesExactLru)
{
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        run_stream(GetParam(), seed, 20000);
        if (HasFatalFailure())
            return;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Streams, TlbVsReference,
    ::testing::Values(StreamConfig{"direct_mapped", 16, 1, {12}, false, false, true},
                      StreamConfig{"two_way", 32, 2, {12}, false, false, true},
                      StreamConfig{"four_way", 64, 4, {12}, false, false, true},
                      StreamConfig{"eight_way", 64, 8, {12}, false, false, true},
                      StreamConfig{"fully_associative", 48, 48, {12}, false, false, true},
                      StreamConfig{"mixed_sizes", 64, 4, {12, 21}, false, true, true},
                      StreamConfig{"splintering", 32, 4, {12}, false, true, true},
                      StreamConfig{"asids_globals", 32, 4, {12}, true, false, true},
                      StreamConfig{"asids_globals_mixed", 32, 2, {12, 21}, true, true, true},
                      StreamConfig{"asids_globals_full", 32, 32, {12, 21}, true, true, true}),
    [](const ::testing::TestParamInfo<StreamConfig>& i) { return std::string(i.param.name); });

// A by-VA invalidation searches only the sets that can hold an overlapping entry: it must remove exactly the
// entries a search of the whole TLB would (every match, nothing else), with splintered entries (a 2M or 1G
// translation cut to a held size, lying anywhere inside it) and contiguous ones among them.
TEST(Tlb, ByVaInvalidationRemovesExactlyTheMatchingEntries)
{
    Tlb tlb(geo(256, 4, {12, 21}));
    std::mt19937_64 rng(7);
    const unsigned shifts[] = {12, 12, 16, 21, 30};
    for (int round = 0; round < 3000; ++round) {
        for (int f = 0; f < 8; ++f) {
            const Addr va = (rng() % (std::uint64_t{2} << 30)) & ~Addr{0xfff};
            const unsigned s = shifts[rng() % 5];
            TlbEntry e = make_entry(va, s, static_cast<Asid>(1 + rng() % 3), rng() % 10 == 0);
            tlb.fill(e, va);
        }
        InvalidationScope scope;
        scope.by_va = true;
        scope.va_start = (rng() % (std::uint64_t{2} << 30)) & ~Addr{0xfff};
        const unsigned span = 12 + static_cast<unsigned>(rng() % 12); // 4K .. 8M
        scope.va_last = scope.va_start + (Addr{1} << span) - 1;
        scope.any_asid = rng() % 2;
        scope.asid = static_cast<Asid>(1 + rng() % 3);
        scope.include_global = rng() % 2;
        std::size_t matching = 0, valid = 0;
        tlb.for_each([&](const TlbEntry& e) {
            ++valid;
            matching += scope.matches(e);
        });
        ASSERT_EQ(tlb.invalidate(scope), matching) << "round " << round;
        std::size_t after = 0;
        tlb.for_each([&](const TlbEntry& e) {
            ++after;
            ASSERT_FALSE(scope.matches(e)) << "round " << round << ": a matching entry survived";
        });
        ASSERT_EQ(after, valid - matching);
    }
}

} // namespace
} // namespace mmusim::hw
