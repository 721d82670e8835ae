// SPDX-License-Identifier: GPL-2.0-only
// The ticket spinlock on a simulated line: mutual exclusion between cores that yield inside their critical
// sections, and contention that costs simulated time and coherence traffic.
#include "core_test_util.hh"

#include "hw/core/spinlock.hh"

#include <gtest/gtest.h>

#include <cstdio>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;

namespace {

constexpr PAddr kLock = 0x300000;
constexpr PAddr kCounter = 0x300040; // its own line

struct Result {
    std::uint64_t counter = 0;
    Cycles lock_cycles = 0; // all cores, Category::Lock
    std::uint64_t contended = 0;
};

// Each core increments the counter `n` times with a plain load and store, yielding in between so that
// another core can run inside the critical section if the lock lets it.
Result increment(unsigned cores, int n, bool locked, const std::string& platform = "neoverse-n1")
{
    auto p = make_platform(platform, cores);
    hw::SpinLock lock(kLock);
    std::vector<std::function<void(Core&)>> work(cores, [&](Core& c) {
        for (int i = 0; i < n; ++i) {
            if (locked)
                lock.lock(c);
            const std::uint64_t v = c.load(kCounter, 8);
            c.charge(200, Category::Software); // the critical section's work
            c.sync_now();                      // ... during which other cores run
            c.store(kCounter, v + 1, 8);
            if (locked)
                lock.unlock(c);
            c.charge(300, Category::Software); // work outside the lock
            c.sync_now();
        }
    });
    run_cores(*p, work);
    Result r;
    r.counter = p->inspect().read64(kCounter);
    for (unsigned i = 0; i < cores; ++i)
        r.lock_cycles += p->core(i).cycles(Category::Lock);
    r.contended = lock.contended();
    return r;
}

TEST(SpinLock, GivesMutualExclusionBetweenCores)
{
    EXPECT_LT(increment(2, 50, false).counter, 100u); // the test can see a race: updates get lost
    EXPECT_EQ(increment(2, 50, true).counter, 100u);
    EXPECT_EQ(increment(4, 50, true).counter, 200u);
    EXPECT_EQ(increment(4, 50, true, "skylake-sp").counter, 200u);
}

TEST(SpinLock, ContendedAcquisitionCostsMoreSimulatedTime)
{
    const Result alone = increment(1, 100, true);
    const Result two = increment(2, 100, true);
    const Result four = increment(4, 100, true);
    EXPECT_EQ(alone.contended, 0u);
    EXPECT_GT(two.contended, 0u);
    const double per_alone = double(alone.lock_cycles) / 100;
    const double per_two = double(two.lock_cycles) / 200;
    const double per_four = double(four.lock_cycles) / 400;
    std::printf("lock+unlock cycles per critical section: 1 core %.1f, 2 cores %.1f, 4 cores %.1f\n", per_alone, per_two,
                per_four);
    EXPECT_GT(per_two, 2 * per_alone);
    EXPECT_GT(per_four, per_two);
}

TEST(SpinLock, TryLockFailsWhileHeld)
{
    auto p = make_platform("neoverse-n1", 2);
    hw::SpinLock lock(kLock);
    bool second = true;
    run_cores(*p, {[&](Core& c) {
                       EXPECT_TRUE(lock.try_lock(c));
                       sc_core::wait(sc_core::sc_time(2, sc_core::SC_US));
                       lock.unlock(c);
                   },
                   [&](Core& c) {
                       sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
                       second = lock.try_lock(c);
                       sc_core::wait(sc_core::sc_time(2, sc_core::SC_US));
                       EXPECT_TRUE(lock.try_lock(c));
                   }});
    EXPECT_FALSE(second);
}

} // namespace
