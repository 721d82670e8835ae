// SPDX-License-Identifier: GPL-2.0-only
// Unit tests for hw/tlb/walk_cache.{hh,cc}: deepest-level hits, ASID tagging, LRU replacement and
// invalidation by scope.
#include "hw/tlb/walk_cache.hh"
#include "tests/hw/tlb/test_format.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <vector>

namespace mmusim::hw {
namespace {

constexpr Addr M2 = 2 * MiB;
constexpr Addr G1 = GiB;
constexpr Addr G512 = 512 * GiB;

WalkCache make_wc(unsigned entries, unsigned ways)
{
    return WalkCache(WalkCacheGeometry{entries, ways, 1}, test::span_shifts(test::arm64_4k()));
}

// Table address that depth `d` of the walk for `va` points to (distinct per depth and span).
PAddr table_for(Addr va, int depth, Asid asid = 1)
{
    return 0x40000000ull + (static_cast<PAddr>(depth) << 24) + ((va >> (39 - 9 * depth)) & 0xfff) * 0x1000 +
           (PAddr{asid} << 36);
}

void fill_walk(WalkCache& wc, Addr va, Asid asid, int deepest)
{
    for (int d = 0; d <= deepest; ++d)
        wc.fill(va, asid, d, table_for(va, d, asid));
}

bool hit_at(WalkCache& wc, Addr va, Asid asid, int next_depth, PAddr table)
{
    WalkCacheHit h;
    if (!wc.lookup(va, asid, h))
        return false;
    EXPECT_EQ(h.next_depth, next_depth);
    EXPECT_EQ(h.table_pa, table);
    return h.next_depth == next_depth && h.table_pa == table;
}

bool misses(WalkCache& wc, Addr va, Asid asid)
{
    WalkCacheHit h;
    return !wc.lookup(va, asid, h);
}

InvalidationScope va_scope(Addr start, Addr len)
{
    InvalidationScope s;
    s.by_va = true;
    s.va_start = start;
    s.va_last = start + len - 1;
    return s;
}

TEST(WalkCache, DisabledWithoutEntries)
{
    WalkCache wc = make_wc(0, 1);
    EXPECT_FALSE(wc.enabled());
    wc.fill(0x1000, 1, 0, 0x5000);
    EXPECT_EQ(wc.valid_entries(), 0u);
    EXPECT_TRUE(misses(wc, 0x1000, 1));
    EXPECT_EQ(wc.stats().lookups, 0u);
    EXPECT_EQ(wc.stats().fills, 0u);
    EXPECT_EQ(wc.invalidate(InvalidationScope::everything()), 0u);
}

TEST(WalkCache, RejectsBadGeometry)
{
    const auto shifts = test::span_shifts(test::arm64_4k());
    EXPECT_THROW(WalkCache(WalkCacheGeometry{12, 4, 1}, shifts), std::invalid_argument);
    EXPECT_THROW(WalkCache(WalkCacheGeometry{6, 4, 1}, shifts), std::invalid_argument);
    EXPECT_THROW(WalkCache(WalkCacheGeometry{8, 0, 1}, shifts), std::invalid_argument);
    EXPECT_NO_THROW(WalkCache(WalkCacheGeometry{24, 24, 1}, shifts));
    EXPECT_TRUE(make_wc(16, 4).enabled());
}

TEST(WalkCache, HitReturnsDeepestCachedLevel)
{
    WalkCache wc = make_wc(16, 16);
    const Addr va = 0x123456789000ull;
    EXPECT_TRUE(misses(wc, va, 1));

    wc.fill(va, 1, 0, table_for(va, 0));
    EXPECT_TRUE(hit_at(wc, va, 1, 1, table_for(va, 0)));
    wc.fill(va, 1, 2, table_for(va, 2)); // out of order: depth 2 before depth 1
    EXPECT_TRUE(hit_at(wc, va, 1, 3, table_for(va, 2)));
    wc.fill(va, 1, 1, table_for(va, 1));
    EXPECT_TRUE(hit_at(wc, va, 1, 3, table_for(va, 2)));

    // Other addresses get the deepest level whose span they share with va.
    const Addr same_2m = (va & ~(M2 - 1)) + 0x1ff000;
    const Addr same_1g = (va & ~(G1 - 1)) + ((va + M2) & (G1 - 1));
    const Addr same_512g = (va & ~(G512 - 1)) + ((va + G1) & (G512 - 1));
    const Addr other = va + G512;
    EXPECT_TRUE(hit_at(wc, same_2m, 1, 3, table_for(va, 2)));
    EXPECT_TRUE(hit_at(wc, same_1g, 1, 2, table_for(va, 1)));
    EXPECT_TRUE(hit_at(wc, same_512g, 1, 1, table_for(va, 0)));
    EXPECT_TRUE(misses(wc, other, 1));

    EXPECT_EQ(wc.stats().lookups, 8u);
    EXPECT_EQ(wc.stats().hits, 6u);
    EXPECT_EQ(wc.stats().fills, 3u);
    EXPECT_EQ(wc.valid_entries(), 3u);
}

TEST(WalkCache, EntriesAreAsidTagged)
{
    WalkCache wc = make_wc(16, 4);
    const Addr va = 0x7f0012345000ull;
    fill_walk(wc, va, 1, 2);
    EXPECT_TRUE(misses(wc, va, 2));
    EXPECT_TRUE(misses(wc, va, 0));
    fill_walk(wc, va, 2, 1);
    EXPECT_TRUE(hit_at(wc, va, 1, 3, table_for(va, 2, 1)));
    EXPECT_TRUE(hit_at(wc, va, 2, 2, table_for(va, 1, 2)));
    EXPECT_EQ(wc.valid_entries(), 5u);
}

TEST(WalkCache, RefillReplacesTheSameEntry)
{
    WalkCache wc = make_wc(4, 4);
    const Addr va = 0x40201000;
    wc.fill(va, 1, 2, 0x1000);
    wc.fill(va + 0x1000, 1, 2, 0x2000); // same 2M span, same depth: same entry
    EXPECT_EQ(wc.valid_entries(), 1u);
    EXPECT_TRUE(hit_at(wc, va, 1, 3, 0x2000));
    EXPECT_EQ(wc.stats().fills, 2u);
}

TEST(WalkCache, LruEvictionFullyAssociative)
{
    WalkCache wc = make_wc(4, 4);
    const auto region = [](unsigned k) { return 0x40000000ull + Addr{k} * M2 + 0x3000; };
    for (unsigned k = 0; k < 4; ++k)
        wc.fill(region(k), 1, 2, table_for(region(k), 2));
    EXPECT_EQ(wc.valid_entries(), 4u);
    EXPECT_TRUE(hit_at(wc, region(0), 1, 3, table_for(region(0), 2))); // 1 becomes LRU
    wc.fill(region(4), 1, 2, table_for(region(4), 2));
    EXPECT_EQ(wc.valid_entries(), 4u);
    EXPECT_TRUE(misses(wc, region(1), 1));
    for (unsigned k : {0u, 2u, 3u, 4u})
        EXPECT_TRUE(hit_at(wc, region(k), 1, 3, table_for(region(k), 2))) << k;
    // Order now (LRU first): 0, 2, 3, 4; touch 0 and 2, then two fills evict 3 and 4.
    EXPECT_TRUE(hit_at(wc, region(0), 1, 3, table_for(region(0), 2)));
    EXPECT_TRUE(hit_at(wc, region(2), 1, 3, table_for(region(2), 2)));
    wc.fill(region(5), 1, 2, table_for(region(5), 2));
    wc.fill(region(6), 1, 2, table_for(region(6), 2));
    EXPECT_TRUE(misses(wc, region(3), 1));
    EXPECT_TRUE(misses(wc, region(4), 1));
    for (unsigned k : {0u, 2u, 5u, 6u})
        EXPECT_TRUE(hit_at(wc, region(k), 1, 3, table_for(region(k), 2))) << k;
}

// Depth-0 entries index sets by their tag (va >> 39) directly, so tags 0, 4, 8 share set 0 of a 4-set cache.
TEST(WalkCache, LruThrashInOneSet)
{
    {
        WalkCache wc = make_wc(8, 2);
        for (int r = 0; r < 5; ++r)
            for (Addr t : {0, 4, 8})
                if (misses(wc, t * G512, 1))
                    wc.fill(t * G512, 1, 0, 0x1000 + t);
        EXPECT_EQ(wc.stats().hits, 0u);
        EXPECT_EQ(wc.stats().lookups, 15u);
        EXPECT_EQ(wc.valid_entries(), 2u);
    }
    {
        WalkCache wc = make_wc(8, 2);
        for (int r = 0; r < 5; ++r)
            for (Addr t : {0, 4})
                if (misses(wc, t * G512, 1))
                    wc.fill(t * G512, 1, 0, 0x1000 + t);
        EXPECT_EQ(wc.stats().hits, 8u);
        EXPECT_EQ(wc.stats().fills, 2u);
    }
}

// A mix used by the invalidation tests.
struct Mix {
    static constexpr Addr X = 0x0000004000200000ull + 0x5000; // L0 index 0, L1 index 256, L2 index 1
    WalkCache wc = make_wc(32, 32);
    Mix()
    {
        fill_walk(wc, X, 1, 2);             // 3 entries: spans 512G, 1G, 2M containing X
        fill_walk(wc, X, 2, 2);             // 3 entries, ASID 2
        wc.fill(X + M2, 1, 2, 0xa000);      // neighbouring 2M span, same 1G
        wc.fill(X + G1, 1, 1, 0xb000);      // neighbouring 1G span, same 512G
        wc.fill(X + G512, 1, 0, 0xc000);    // neighbouring 512G span
        wc.fill(X + G512, 3, 0, 0xd000);    // ASID 3
    }
    bool has(Addr va, Asid asid, int next_depth)
    {
        WalkCacheHit h;
        return wc.lookup(va, asid, h) && h.next_depth == next_depth;
    }
};

TEST(WalkCache, InvalidateByVaSpanRemovesOverlappingEntriesOfAllLevels)
{
    Mix m;
    ASSERT_EQ(m.wc.valid_entries(), 10u);
    EXPECT_EQ(m.wc.invalidate(va_scope(Mix::X & ~0xfffull, 0x1000)), 6u); // X's 3 levels, both ASIDs
    EXPECT_EQ(m.wc.valid_entries(), 4u);
    EXPECT_EQ(m.wc.stats().invalidated, 6u);
    EXPECT_TRUE(misses(m.wc, Mix::X, 1));
    EXPECT_TRUE(misses(m.wc, Mix::X, 2));
    EXPECT_TRUE(m.has(Mix::X + M2, 1, 3));
    EXPECT_TRUE(m.has(Mix::X + G1, 1, 2));
    EXPECT_TRUE(m.has(Mix::X + G512, 1, 1));
    EXPECT_TRUE(m.has(Mix::X + G512, 3, 1));
}

TEST(WalkCache, InvalidateByVaRangeCoversSeveralSpans)
{
    Mix m;
    // [2M span of X, +4M) overlaps X's three levels (both ASIDs) and the neighbouring 2M span.
    EXPECT_EQ(m.wc.invalidate(va_scope(Mix::X & ~(M2 - 1), 2 * M2)), 7u);
    EXPECT_TRUE(m.has(Mix::X + G1, 1, 2));
    EXPECT_TRUE(m.has(Mix::X + G512, 1, 1));
    // Adjacent but not overlapping: [end of X's 2M+2M span, +4K) touches nothing of ASID 1 at depth 2.
    Mix n;
    EXPECT_EQ(n.wc.invalidate(va_scope((Mix::X & ~(M2 - 1)) + 2 * M2, 0x1000)), 0u + 2u + 2u);
    // (that address still lies inside X's 1G and 512G spans, for ASIDs 1 and 2)
    EXPECT_TRUE(n.has(Mix::X + M2, 1, 3));
}

TEST(WalkCache, InvalidateByVaAndAsid)
{
    Mix m;
    InvalidationScope s = va_scope(Mix::X & ~0xfffull, 0x1000);
    s.any_asid = false;
    s.asid = 2;
    EXPECT_EQ(m.wc.invalidate(s), 3u);
    EXPECT_TRUE(misses(m.wc, Mix::X, 2));
    EXPECT_TRUE(m.has(Mix::X, 1, 3));
}

TEST(WalkCache, InvalidateByAsid)
{
    Mix m;
    InvalidationScope s;
    s.any_asid = false;
    s.asid = 1;
    s.include_global = false;
    EXPECT_EQ(m.wc.invalidate(s), 6u);
    EXPECT_EQ(m.wc.valid_entries(), 4u);
    EXPECT_TRUE(misses(m.wc, Mix::X, 1));
    EXPECT_TRUE(misses(m.wc, Mix::X + G512, 1));
    EXPECT_TRUE(m.has(Mix::X, 2, 3));
    EXPECT_TRUE(m.has(Mix::X + G512, 3, 1));
}

TEST(WalkCache, WholeAsidScopeIgnoresTheVa)
{
    Mix m;
    InvalidationScope s = va_scope(0x1000, 0x1000); // far from everything
    s.any_asid = false;
    s.asid = 1;
    s.walk_cache_whole_asid = true;
    EXPECT_EQ(m.wc.invalidate(s), 6u);
    EXPECT_TRUE(m.has(Mix::X, 2, 3));
    EXPECT_TRUE(m.has(Mix::X + G512, 3, 1));
}

TEST(WalkCache, LeafOnlyScopesLeaveItUntouched)
{
    Mix m;
    InvalidationScope everything_leaf = InvalidationScope::everything();
    everything_leaf.leaf_only = true;
    EXPECT_EQ(m.wc.invalidate(everything_leaf), 0u);
    InvalidationScope va_leaf = va_scope(Mix::X & ~0xfffull, 0x1000);
    va_leaf.leaf_only = true;
    va_leaf.walk_cache_whole_asid = true;
    va_leaf.any_asid = false;
    va_leaf.asid = 1;
    EXPECT_EQ(m.wc.invalidate(va_leaf), 0u);
    EXPECT_EQ(m.wc.valid_entries(), 10u);
    EXPECT_EQ(m.wc.stats().invalidated, 0u);
    EXPECT_TRUE(m.has(Mix::X, 1, 3));
    EXPECT_EQ(m.wc.invalidate(InvalidationScope::everything()), 10u);
    EXPECT_EQ(m.wc.valid_entries(), 0u);
}

TEST(WalkCache, ByVaInvalidationReachesTheTopOfTheAddressSpace)
{
    WalkCache wc = make_wc(16, 16);
    const Addr kva = 0xffffffff81000000ull;
    fill_walk(wc, kva, 1, 2);
    EXPECT_EQ(wc.invalidate(va_scope(kva, 0x1000)), 3u);
    EXPECT_TRUE(misses(wc, kva, 1));
}


// ---------------------------------------------------------------------------------------------------------
// Against a reference written from the rules in docs/ARCHITECTURE.md ("Walk cache"): one set-associative
// structure for every non-leaf depth; set = (tag ^ ((depth * 0x9e3779b97f4a7c15) >> 58)) mod sets with
// tag = va >> span_shift(depth); a lookup returns the deepest depth that hits and makes it most recent; a
// fill replaces the entry with the same (depth, tag, ASID) in place, else an invalid way, else the LRU one.

class RefWalkCache {
public:
    RefWalkCache(unsigned entries, unsigned ways, std::vector<unsigned> spans)
        : ways_(ways), sets_(entries / ways), spans_(std::move(spans)), content_(sets_)
    {
    }
    // next_depth, or -1 on a miss.
    int lookup(Addr va, Asid asid, PAddr& table)
    {
        ++lookups;
        for (int d = static_cast<int>(spans_.size()) - 2; d >= 0; --d)
            for (E& e : set(va, d))
                if (e.depth == d && e.tag == (va >> spans_[static_cast<size_t>(d)]) && e.asid == asid) {
                    e.stamp = ++clock_;
                    table = e.table;
                    ++hits;
                    return d + 1;
                }
        return -1;
    }
    void fill(Addr va, Asid asid, int d, PAddr table)
    {
        const Addr tag = va >> spans_[static_cast<size_t>(d)];
        auto& s = set(va, d);
        for (E& e : s)
            if (e.depth == d && e.tag == tag && e.asid == asid) {
                e = {tag, d, asid, table, ++clock_};
                return;
            }
        if (s.size() == ways_) {
            s.erase(std::min_element(s.begin(), s.end(), [](const E& a, const E& b) { return a.stamp < b.stamp; }));
            ++evictions;
        }
        s.push_back({tag, d, asid, table, ++clock_});
    }
    std::size_t size() const
    {
        std::size_t n = 0;
        for (const auto& s : content_)
            n += s.size();
        return n;
    }
    std::uint64_t lookups = 0, hits = 0, evictions = 0;

private:
    struct E {
        Addr tag;
        int depth;
        Asid asid;
        PAddr table;
        std::uint64_t stamp;
    };
    std::vector<E>& set(Addr va, int d)
    {
        const Addr tag = va >> spans_[static_cast<size_t>(d)];
        const std::uint64_t mix = (static_cast<std::uint64_t>(d) * 0x9e3779b97f4a7c15ULL) >> 58;
        return content_[(tag ^ mix) % sets_];
    }
    unsigned ways_;
    std::uint64_t sets_;
    std::vector<unsigned> spans_;
    std::vector<std::vector<E>> content_;
    std::uint64_t clock_ = 0;
};

TEST(WalkCache, MatchesTheDocumentedModelUnderEvictionPressure)
{
    for (const auto& [entries, ways] : {std::pair{8u, 2u}, std::pair{16u, 4u}, std::pair{32u, 32u}, std::pair{64u, 1u}}) {
        SCOPED_TRACE(testing::Message() << entries << " entries, " << ways << " ways");
        std::mt19937_64 rng(entries * 31 + ways);
        WalkCache wc = make_wc(entries, ways);
        RefWalkCache ref(entries, ways, test::span_shifts(test::arm64_4k()));
        for (int step = 0; step < 30000; ++step) {
            // Regions spread over several 512G, 1G and 2M spans, two ASIDs: far more spans than entries.
            const Addr va = (rng() % 3) * G512 + (rng() % 6) * G1 + (rng() % 12) * M2 + (rng() % 512) * 4096;
            const Asid asid = static_cast<Asid>(1 + rng() % 2);
            WalkCacheHit h;
            PAddr ref_table = 0;
            const bool hit = wc.lookup(va, asid, h);
            const int ref_next = ref.lookup(va, asid, ref_table);
            ASSERT_EQ(hit, ref_next >= 0) << "step " << step;
            int depth = 0;
            if (hit) {
                ASSERT_EQ(h.next_depth, ref_next);
                ASSERT_EQ(h.table_pa, ref_table);
                depth = h.next_depth;
            }
            // What the walker does: fill every table descriptor it reads below the hit.
            for (; depth < 3; ++depth) {
                wc.fill(va, asid, depth, table_for(va, depth, asid));
                ref.fill(va, asid, depth, table_for(va, depth, asid));
            }
            ASSERT_EQ(wc.valid_entries(), ref.size());
        }
        EXPECT_EQ(wc.stats().lookups, ref.lookups);
        EXPECT_EQ(wc.stats().hits, ref.hits);
        EXPECT_GT(ref.hits, 1000u);
        EXPECT_GT(ref.evictions, 1000u) << "the stream must keep evicting";
    }
}

} // namespace
} // namespace mmusim::hw
