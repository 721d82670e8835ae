// SPDX-License-Identifier: GPL-2.0-only
// The per-core atomic read-modify-write family: value semantics at every size, access-size and alignment
// errors, and what atomics cost in coherence (the line taken exclusive, other copies invalidated, lines
// bouncing between cores that hammer them).
#include "core_test_util.hh"

#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;
using hw::Mesi;

namespace {

constexpr PAddr kA = 0x200000;

TEST(Atomics, ValueSemanticsAtEverySize)
{
    auto p = make_platform("neoverse-n1", 1);
    run_cores(*p, {[](Core& c) {
        for (unsigned size : {1u, 2u, 4u, 8u}) {
            const PAddr a = kA + size * 64;
            const std::uint64_t ones = size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
            c.store(a, 5, size);
            EXPECT_EQ(c.fetch_add(a, 3, size), 5u);
            EXPECT_EQ(c.load(a, size), 8u);
            EXPECT_EQ(c.fetch_sub(a, 10, size), 8u);
            EXPECT_EQ(c.load(a, size), ones - 1); // wraps at the access size
            EXPECT_EQ(c.fetch_add(a, 2, size), ones - 1);
            EXPECT_EQ(c.load(a, size), 0u);
            EXPECT_EQ(c.fetch_or(a, 0x0f, size), 0u);
            EXPECT_EQ(c.fetch_and(a, 0x3c, size), 0x0fu);
            EXPECT_EQ(c.fetch_andnot(a, 0x04, size), 0x0cu);
            EXPECT_EQ(c.fetch_xor(a, 0x09, size), 0x08u);
            EXPECT_EQ(c.load(a, size), 0x01u);
            EXPECT_EQ(c.xchg(a, 0x7f, size), 0x01u);
            EXPECT_EQ(c.cmpxchg(a, 0x10, 0x20, size), 0x7fu); // fails: no store
            EXPECT_EQ(c.load(a, size), 0x7fu);
            EXPECT_EQ(c.cmpxchg(a, 0x7f, 0x20, size), 0x7fu); // succeeds
            EXPECT_EQ(c.load(a, size), 0x20u);
            // Neighbouring bytes are untouched.
            EXPECT_EQ(c.load(a + size, size), 0u);
        }
        // Bitops on a word array: bit 70 is bit 6 of the second word.
        EXPECT_FALSE(c.test_and_set_bit(70, kA));
        EXPECT_TRUE(c.test_and_set_bit(70, kA));
        EXPECT_EQ(c.load(kA + 8, 8), 1u << 6);
        EXPECT_TRUE(c.test_and_clear_bit(70, kA));
        EXPECT_FALSE(c.test_and_clear_bit(70, kA));
        EXPECT_EQ(c.load(kA + 8, 8), 0u);
        EXPECT_EQ(c.counters().atomics, 4u * 10 + 4);
    }});
    EXPECT_EQ(p->inspect().read(kA + 64 * 4, 4), 0x20u);
}

TEST(Atomics, BadSizesAndMisalignedAccessesAreErrors)
{
    auto p = make_platform("neoverse-n1", 1);
    run_cores(*p, {[](Core& c) {
        for (unsigned size : {0u, 3u, 5u, 16u}) {
            EXPECT_THROW(c.load(kA, size), std::invalid_argument) << size;
            EXPECT_THROW(c.store(kA, 0, size), std::invalid_argument) << size;
            EXPECT_THROW(c.fetch_add(kA, 1, size), std::invalid_argument) << size;
        }
        EXPECT_THROW(c.load(kA + 2, 4), std::invalid_argument);
        EXPECT_THROW(c.store(kA + 4, 0, 8), std::invalid_argument);
        EXPECT_THROW(c.cmpxchg(kA + 1, 0, 1, 2), std::invalid_argument);
        EXPECT_THROW(c.xchg(kA + 60, 0, 8), std::invalid_argument); // would cross a line
        try {
            c.load(kA + 3, 2);
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("load of 2 bytes at 0x200003"), std::string::npos) << e.what();
        }
        EXPECT_EQ(c.counters().loads + c.counters().stores + c.counters().atomics, 0u); // nothing happened
    }});
}

// Core 1 reads the line; core 0 then runs `op` on it; core 1 reads again. Returns core 1's second read.
Cycles reread_after(const std::function<void(Core&)>& op, Mesi* state_after_op = nullptr)
{
    auto p = make_platform("neoverse-n1", 2);
    Cycles second = 0;
    const auto gap = sc_core::sc_time(1, sc_core::SC_US);
    run_cores(*p, {[&](Core& c) {
                       sc_core::wait(gap);
                       op(c);
                       c.sync_now();
                       if (state_after_op)
                           *state_after_op = p->inspect().line_state(1, kA);
                   },
                   [&](Core& c) {
                       c.load(kA, 8);
                       c.sync_now();
                       sc_core::wait(2 * gap);
                       const Cycles t = c.now();
                       c.load(kA, 8);
                       second = c.now() - t;
                   }});
    return second;
}

TEST(Atomics, AtomicsAndStoresTakeTheLineExclusive)
{
    const auto& coh = platform_config("neoverse-n1").memory.coherence;
    const Cycles l1 = platform_config("neoverse-n1").memory.levels[0].latency;
    EXPECT_EQ(reread_after([](Core&) {}), l1); // nothing happened: an L1 hit
    for (const auto& [name, op] : std::vector<std::pair<std::string, std::function<void(Core&)>>>{
             {"store", [](Core& c) { c.store(kA, 1, 8); }},
             {"fetch_add", [](Core& c) { c.fetch_add(kA, 1, 8); }},
             {"xchg", [](Core& c) { c.xchg(kA, 1, 4); }},
             {"test_and_set_bit", [](Core& c) { c.test_and_set_bit(3, kA); }},
             {"cmpxchg", [](Core& c) { c.cmpxchg(kA, 0, 1, 8); }}}) {
        Mesi st = Mesi::S;
        EXPECT_EQ(reread_after(op, &st), coh.remote_dirty) << name;
        EXPECT_EQ(st, Mesi::I) << name;
    }
}

TEST(Atomics, FailedCmpxchgStillTakesTheLineExclusive)
{
    const auto& coh = platform_config("neoverse-n1").memory.coherence;
    Mesi st = Mesi::S;
    // Memory holds 0; expecting 42 fails, yet core 1's copy is gone and the owner's copy is clean.
    EXPECT_EQ(reread_after([](Core& c) { EXPECT_EQ(c.cmpxchg(kA, 42, 1, 8), 0u); }, &st), coh.remote_clean);
    EXPECT_EQ(st, Mesi::I);
}

// Cycles per atomic when `cores` cores each do `n` fetch_adds on one line.
double hammer(const std::string& platform, unsigned cores, int n, std::vector<std::string> sets = {})
{
    auto p = make_platform(platform, cores, sets);
    std::vector<std::function<void(Core&)>> work(cores, [n](Core& c) {
        for (int i = 0; i < n; ++i) {
            c.fetch_add(kA, 1, 8);
            c.charge(20, Category::Software); // the loop around it
            c.sync_now();                     // interleave the cores finely, as real ones are
        }
    });
    run_cores(*p, work);
    EXPECT_EQ(p->inspect().read64(kA), std::uint64_t(n) * cores);
    Cycles atomic = 0;
    for (unsigned i = 0; i < cores; ++i)
        atomic += p->core(i).cycles(Category::KernelMemory);
    return double(atomic) / (double(n) * cores);
}

TEST(Atomics, TwoCoresHammeringOneLinePayCoherenceTransfers)
{
    for (const std::string platform : {"neoverse-n1", "skylake-sp"}) {
        const double one = hammer(platform, 1, 1000);
        const double two = hammer(platform, 2, 1000);
        const double four = hammer(platform, 4, 1000);
        std::printf("%s: cycles per fetch_add, 1 core %.1f, 2 cores %.1f, 4 cores %.1f\n", platform.c_str(), one, two, four);
        const auto cfg = platform_config(platform);
        EXPECT_NEAR(one, double(cfg.memory.levels[0].latency + cfg.core.atomic_extra), 1.0) << platform;
        // Each atomic finds the line Modified in the other core: a forward every time.
        EXPECT_NEAR(two, double(cfg.memory.coherence.remote_dirty + cfg.core.atomic_extra), 2.0) << platform;
        EXPECT_GT(two, one * 2) << platform;
    }
}

TEST(Atomics, PlatformSwitchSelectsNearFarOrLlsc)
{
    const double near = hammer("neoverse-n1", 1, 100);
    const double llsc = hammer("neoverse-n1", 1, 100, {"atomics.kind=llsc"});
    const double far = hammer("neoverse-n1", 1, 100, {"atomics.kind=far"});
    const auto cfg = platform_config("neoverse-n1");
    EXPECT_NEAR(llsc, near + double(cfg.memory.levels[0].latency), 0.5); // the store-exclusive is paid too
    EXPECT_NEAR(far, double(cfg.memory.levels[2].latency + cfg.core.atomic_extra), 2.0); // at the L3 (the first from DRAM)
    // Contended, far atomics avoid the bouncing line: cheaper than near ones under contention.
    EXPECT_LT(hammer("neoverse-n1", 2, 100, {"atomics.kind=far"}), hammer("neoverse-n1", 2, 100));
    EXPECT_THROW(platform_config("skylake-sp", {"atomics.kind=llsc"}), std::exception);
}

} // namespace
