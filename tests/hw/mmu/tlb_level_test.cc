// SPDX-License-Identifier: GPL-2.0-only
// Unit tests for hw/mmu/tlb_level.{hh,cc}: a level of one or more arrays never holds two entries that
// translate one address, so its hits, misses and LRU order match an exact reference model whatever mix of
// full-size entries (from walks) and splinters (refilled from an L2 that holds fewer sizes) it is given.
#include "hw/mmu/tlb_level.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <vector>

namespace mmusim::hw {
namespace {

constexpr Addr K4 = 4 * KiB;
constexpr Addr M2 = 2 * MiB;

TlbGeometry array(unsigned entries, unsigned ways, std::vector<unsigned> shifts)
{
    TlbGeometry g;
    g.name = "a";
    g.entries = entries;
    g.ways = ways;
    g.size_shifts = std::move(shifts);
    return g;
}

// A translation of `shift` bytes at `va`'s region; PA derived from the region so any mix-up shows.
TlbEntry translation(Addr va, unsigned shift, Asid asid = 1, bool global = false)
{
    TlbEntry e;
    e.vpn = va >> shift;
    e.pa = 0x100000000ull + ((va >> shift) << shift);
    e.size_shift = static_cast<std::uint8_t>(shift);
    e.trans_shift = static_cast<std::uint8_t>(shift);
    e.asid = asid;
    e.global = global;
    e.write = true;
    return e;
}

// A 4K piece of a larger translation, as an L2 that holds only 4K would hand it to the L1.
TlbEntry splinter(Addr va, unsigned shift, Asid asid = 1)
{
    TlbEntry e = translation(va, shift, asid);
    e.pa += (va & ((Addr{1} << shift) - 1)) & ~(K4 - 1);
    e.vpn = va >> 12;
    e.size_shift = 12;
    return e;
}

// The documented rule, written as plainly as possible: arrays of sets of stamped entries; a fill goes to the
// array holding the size (else the best smaller fit, splintered), removes every overlapping entry in every
// array, then takes an invalid way or the least recently used one.
class RefLevel {
public:
    struct E {
        Addr base;
        unsigned shift;
        Asid asid;
        bool global;
        PAddr pa;
        std::uint64_t stamp;
    };
    struct Array {
        unsigned ways;
        std::uint64_t sets;
        std::vector<unsigned> shifts;
        std::vector<std::vector<E>> content;
    };

    explicit RefLevel(const std::vector<TlbGeometry>& g)
    {
        for (const TlbGeometry& a : g)
            arrays_.push_back({a.ways, a.entries / a.ways, a.size_shifts,
                               std::vector<std::vector<E>>(a.entries / a.ways)});
    }

    // PA of the one entry translating va, counting a hit or a miss. Fails the test if two entries match.
    std::optional<PAddr> lookup(Addr va, Asid asid)
    {
        E* found = nullptr;
        for (Array& a : arrays_)
            for (auto& set : a.content)
                for (E& e : set)
                    if (covers(e, va, asid)) {
                        EXPECT_EQ(found, nullptr) << "two entries translate 0x" << std::hex << va;
                        found = &e;
                    }
        if (!found) {
            ++misses;
            return std::nullopt;
        }
        ++hits;
        found->stamp = ++clock_;
        return found->pa + (va - found->base);
    }

    void fill(const TlbEntry& in, Addr va)
    {
        Array* target = nullptr;
        unsigned fit = 0;
        for (Array& a : arrays_) {
            for (unsigned s : a.shifts)
                if (s <= in.size_shift && s > fit) {
                    fit = s;
                    target = &a;
                }
        }
        ASSERT_NE(target, nullptr);
        const Addr base = va & ~((Addr{1} << fit) - 1);
        const E n{base, fit, in.asid, in.global, in.pa + ((va & ((Addr{1} << in.size_shift) - 1)) & ~((Addr{1} << fit) - 1)),
                  ++clock_};
        for (Array& a : arrays_)
            for (auto& set : a.content)
                set.erase(std::remove_if(set.begin(), set.end(),
                                         [&](const E& e) {
                                             const bool hit = overlaps(e, n);
                                             replaced += hit;
                                             return hit;
                                         }),
                          set.end());
        auto& set = target->content[(base >> fit) % target->sets];
        if (set.size() == target->ways) {
            set.erase(std::min_element(set.begin(), set.end(), [](const E& a, const E& b) { return a.stamp < b.stamp; }));
            ++evictions;
        }
        set.push_back(n);
    }

    std::multiset<std::tuple<unsigned, Addr, PAddr>> contents() const
    {
        std::multiset<std::tuple<unsigned, Addr, PAddr>> s;
        for (const Array& a : arrays_)
            for (const auto& set : a.content)
                for (const E& e : set)
                    s.emplace(e.shift, e.base, e.pa);
        return s;
    }

    std::uint64_t hits = 0, misses = 0, evictions = 0, replaced = 0;

private:
    static bool covers(const E& e, Addr va, Asid asid)
    {
        return (va >> e.shift) == (e.base >> e.shift) && (e.global || e.asid == asid);
    }
    static bool overlaps(const E& a, const E& b)
    {
        const unsigned big = std::max(a.shift, b.shift);
        return (a.base >> big) == (b.base >> big) && (a.global || b.global || a.asid == b.asid);
    }
    std::vector<Array> arrays_;
    std::uint64_t clock_ = 0;
};

std::multiset<std::tuple<unsigned, Addr, PAddr>> contents(const TlbLevel& l)
{
    std::multiset<std::tuple<unsigned, Addr, PAddr>> s;
    for (const Tlb& t : l.arrays())
        t.for_each([&](const TlbEntry& e) { s.emplace(e.size_shift, e.va_base(), e.pa); });
    return s;
}

std::uint64_t sum(const TlbLevel& l, std::uint64_t TlbStats::*field)
{
    std::uint64_t n = 0;
    for (const Tlb& t : l.arrays())
        n += t.stats().*field;
    return n;
}

TEST(TlbLevel, FullEntryReplacesTheSplinterItCovers)
{
    // Skylake-like L1D: a 4K array and a 2M array.
    TlbLevel l("l1d", {array(4, 2, {12}), array(2, 1, {21})});
    const Addr block = 0x800000;
    ASSERT_TRUE(l.fill(splinter(block + 0x1000, 21), block + 0x1000)); // refilled from an L2 holding only 4K
    ASSERT_TRUE(l.fill(translation(block, 21), block + 0x2000));       // then a walk brings the whole 2M
    EXPECT_EQ(l.valid_entries(), 1u) << "the 2M entry covers the 4K piece: only one may stay";
    EXPECT_EQ(sum(l, &TlbStats::replaced), 1u);
    const TlbEntry* e = l.lookup(block + 0x1000, 1);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size_shift, 21);
}

TEST(TlbLevel, SplinterReplacesTheFullEntryItOverlaps)
{
    TlbLevel l("l1d", {array(4, 2, {12}), array(2, 1, {21})});
    ASSERT_TRUE(l.fill(translation(0x800000, 21), 0x800000));
    ASSERT_TRUE(l.fill(splinter(0x803000, 21), 0x803000));
    EXPECT_EQ(l.valid_entries(), 1u);
    EXPECT_EQ(l.probe(0x800000, 1), nullptr) << "the 2M entry went; only its 4K piece at 0x803000 remains";
    EXPECT_NE(l.probe(0x803000, 1), nullptr);
}

TEST(TlbLevel, OverlapsOfOtherAsidsStayUnlessGlobal)
{
    TlbLevel l("l1d", {array(8, 8, {12, 21})});
    ASSERT_TRUE(l.fill(translation(0x800000, 21, 1), 0x800000));
    ASSERT_TRUE(l.fill(splinter(0x801000, 21, 2), 0x801000)); // another ASID: a different address space
    EXPECT_EQ(l.valid_entries(), 2u);
    ASSERT_TRUE(l.fill(translation(0x801000, 12, 3, true), 0x801000)); // global: matches every ASID
    EXPECT_EQ(l.valid_entries(), 1u);
}

TEST(TlbLevel, SplintersOfOneTranslationCoexist)
{
    TlbLevel l("l1d", {array(8, 8, {12})});
    for (Addr off = 0; off < 4 * K4; off += K4)
        ASSERT_TRUE(l.fill(translation(0x800000, 21), 0x800000 + off));
    EXPECT_EQ(l.valid_entries(), 4u) << "distinct 4K pieces of one 2M page do not overlap";
    EXPECT_EQ(sum(l, &TlbStats::replaced), 0u);
}

struct LevelCase {
    const char* name;
    std::vector<TlbGeometry> arrays;
};
void PrintTo(const LevelCase& c, std::ostream* os) { *os << c.name; }

class TlbLevelVsReference : public ::testing::TestWithParam<LevelCase> {};

// Random accesses over 2M pages and 4K pages; on a miss the level is filled either with the whole
// translation (a walk) or with its 4K piece (an L2 refill), as an MMU whose L2 holds fewer sizes does.
TEST_P(TlbLevelVsReference, ExactLruWithMixedSizesAndSplinters)
{
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        std::mt19937_64 rng(seed);
        TlbLevel level("l", GetParam().arrays);
        RefLevel ref(GetParam().arrays);
        std::vector<std::pair<Addr, unsigned>> pages;
        for (unsigned i = 0; i < 12; ++i)
            pages.push_back({0x40000000 + i * M2, 21});
        for (unsigned i = 0; i < 24; ++i)
            pages.push_back({0x10000000 + (rng() % 4096) * K4, 12});
        for (unsigned step = 0; step < 20000; ++step) {
            SCOPED_TRACE(testing::Message() << "seed " << seed << " step " << step);
            const auto& [base, shift] = pages[rng() % pages.size()];
            const Addr va = base + (shift == 21 ? (rng() % 8) * K4 : 0) + rng() % K4;
            const TlbEntry* got = level.lookup(va, 1);
            const auto want = ref.lookup(va, 1);
            ASSERT_EQ(got != nullptr, want.has_value());
            if (got) {
                ASSERT_EQ(got->pa + (va & ((Addr{1} << got->size_shift) - 1)), *want);
                continue;
            }
            const TlbEntry in = shift == 21 && rng() % 2 ? splinter(va, 21) : translation(va, shift);
            ASSERT_TRUE(level.fill(in, va));
            ref.fill(in, va);
            if (step % 97 == 0) {
                ASSERT_EQ(contents(level), ref.contents());
            }
        }
        EXPECT_EQ(contents(level), ref.contents());
        EXPECT_EQ(level.stats().hits, ref.hits);
        EXPECT_EQ(level.stats().misses, ref.misses);
        EXPECT_EQ(sum(level, &TlbStats::evictions), ref.evictions);
        EXPECT_EQ(sum(level, &TlbStats::replaced), ref.replaced);
        EXPECT_GT(ref.replaced, 100u) << "the stream must exercise overlapping fills";
        EXPECT_GT(ref.evictions, 100u);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Levels, TlbLevelVsReference,
    ::testing::Values(LevelCase{"skylake_l1d_shrunk", {array(4, 2, {12}), array(2, 1, {21})}},
                      LevelCase{"split_arrays", {array(16, 4, {12}), array(8, 8, {21})}},
                      LevelCase{"one_array_two_sizes", {array(16, 16, {12, 21})}},
                      LevelCase{"set_associative_two_sizes", {array(32, 4, {12, 21})}}),
    [](const ::testing::TestParamInfo<LevelCase>& i) { return std::string(i.param.name); });

} // namespace
} // namespace mmusim::hw
