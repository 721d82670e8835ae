// SPDX-License-Identifier: GPL-2.0-only
// One cache level against a reference model (a list per set, most recent first): hits, misses, the victim
// each miss displaces, and invalidation (an invalidated way is refilled before any valid line is evicted).
#include "hw/mem/cache.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <list>
#include <random>
#include <vector>

using namespace mmusim;
using hw::Cache;
using hw::Mesi;

namespace {

class ReferenceLru {
public:
    ReferenceLru(std::uint64_t sets, unsigned ways) : sets_(sets), ways_(ways) {}
    // Returns {hit, evicted line or ~0}.
    std::pair<bool, std::uint64_t> access(std::uint64_t line)
    {
        auto& s = sets_[line % sets_.size()];
        if (auto it = std::find(s.begin(), s.end(), line); it != s.end()) {
            s.erase(it);
            s.push_front(line);
            return {true, ~std::uint64_t{0}};
        }
        std::uint64_t victim = ~std::uint64_t{0};
        if (s.size() == ways_) {
            victim = s.back();
            s.pop_back();
        }
        s.push_front(line);
        return {false, victim};
    }
    bool invalidate(std::uint64_t line)
    {
        auto& s = sets_[line % sets_.size()];
        auto it = std::find(s.begin(), s.end(), line);
        if (it == s.end())
            return false;
        s.erase(it);
        return true;
    }

private:
    std::vector<std::list<std::uint64_t>> sets_;
    unsigned ways_;
};

void compare(Cache& c, int steps, unsigned seed)
{
    const auto& g = c.geometry();
    const std::uint64_t sets = g.size / g.line_size / g.ways;
    ReferenceLru ref(sets, g.ways);
    std::mt19937_64 rng(seed);
    const std::uint64_t lines = 3 * sets * g.ways;
    for (int i = 0; i < steps; ++i) {
        const std::uint64_t line = rng() % lines;
        const PAddr pa = line * g.line_size;
        if (rng() % 8 == 0) {
            ASSERT_EQ(c.invalidate_line(pa), ref.invalidate(line)) << "step " << i;
            ASSERT_FALSE(c.contains(pa));
            continue;
        }
        const auto [hit, victim] = ref.access(line);
        const hw::CacheAccess r = c.access(pa, Mesi::E);
        ASSERT_EQ(r.hit, hit) << "step " << i;
        ASSERT_EQ(r.evicted, victim != ~std::uint64_t{0}) << "step " << i;
        if (r.evicted) {
            ASSERT_EQ(r.victim_line, victim) << "step " << i;
        }
        ASSERT_EQ(c.state(pa), Mesi::E);
    }
    EXPECT_EQ(c.stats().accesses, c.stats().hits + c.stats().misses);
    EXPECT_GT(c.stats().hits, 0u);
    EXPECT_GT(c.stats().misses, 0u);
}

} // namespace

TEST(Cache, MatchesAReferenceLru)
{
    Cache c(hw::CacheGeometry{"l1", 16 * 64 * 4, 4, 64, 4, false});
    compare(c, 100000, 1);
}

TEST(Cache, MatchesAReferenceLruWithSixteenWays)
{
    Cache c(hw::CacheGeometry{"llc", 32 * 64 * 16, 16, 64, 30, true});
    compare(c, 100000, 2);
}

TEST(Cache, StateChangesAndInvalidation)
{
    Cache c(hw::CacheGeometry{"l1", 1024, 2, 64, 4, false});
    EXPECT_EQ(c.state(0x40), Mesi::I);
    c.access(0x40, Mesi::S);
    c.set_state(0x40, Mesi::M);
    EXPECT_EQ(c.state(0x40), Mesi::M);
    c.set_state(0x40, Mesi::I);
    EXPECT_FALSE(c.contains(0x40));
    EXPECT_FALSE(c.access(0x40, Mesi::E).hit); // an invalidated line misses
    EXPECT_TRUE(c.invalidate_line(0x40));
    EXPECT_FALSE(c.invalidate_line(0x40));
    EXPECT_EQ(c.stats().snoop_invalidations, 1u);
}
