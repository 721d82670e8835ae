// SPDX-License-Identifier: GPL-2.0-only
// clear_page/copy_page go through the cache model as the full-line stores (and loads) they are, and cost
// their stream's bandwidth.
#include "core_test_util.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;
using hw::Mesi;

namespace {

constexpr PAddr kPage = 0x400000;
constexpr PAddr kSrc = 0x500000;

TEST(ClearPage, ZeroesThroughTheCachesAndInvalidatesOtherCopies)
{
    auto p = make_platform("neoverse-n1", 2);
    const auto& cfg = p->config();
    Cycles cleared = 0;
    run_cores(*p, {[&](Core& c) {
                       sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
                       const Cycles t = c.cycles(Category::ClearPage);
                       c.clear_page(kPage, 4096);
                       cleared = c.cycles(Category::ClearPage) - t;
                   },
                   [&](Core& c) {
                       for (PAddr a = kPage; a < kPage + 4096; a += 64)
                           c.store(a, 0xabcd, 8);
                       c.sync_now();
                   }});
    const hw::PhysInspector in = p->inspect();
    for (PAddr a = kPage; a < kPage + 4096; a += 8)
        ASSERT_EQ(in.read64(a), 0u) << a;
    for (PAddr a = kPage; a < kPage + 4096; a += 64) {
        EXPECT_TRUE(in.cached(0, 0, a)); // a 4K page fits in the 64K L1
        EXPECT_EQ(in.line_state(0, a), Mesi::M);
        EXPECT_EQ(in.line_state(1, a), Mesi::I);
    }
    EXPECT_EQ(cleared, 4096 / cfg.core.clear_bytes_per_cycle);
    EXPECT_EQ(p->core(0).counters().bytes_cleared, 4096u);
    EXPECT_EQ(p->memory().coherence_stats(0).invalidations_sent, 64u);
}

TEST(ClearPage, CopyPageReadsTheSourceAndWritesTheDestination)
{
    auto p = make_platform("neoverse-n1", 1);
    Cycles copied = 0;
    run_cores(*p, {[&](Core& c) {
        for (PAddr a = 0; a < 8192; a += 8)
            c.store(kSrc + a, a * 3 + 1, 8);
        const Cycles t = c.cycles(Category::ClearPage);
        c.copy_page(kPage, kSrc, 8192);
        copied = c.cycles(Category::ClearPage) - t;
    }});
    const hw::PhysInspector in = p->inspect();
    for (PAddr a = 0; a < 8192; a += 8)
        ASSERT_EQ(in.read64(kPage + a), a * 3 + 1);
    EXPECT_TRUE(in.cached(0, 0, kPage + 8192 - 64));
    EXPECT_EQ(copied, 8192 / p->config().core.copy_bytes_per_cycle);
}

TEST(ClearPage, ReleasesHostMemoryOfWholeFrames)
{
    auto p = make_platform("neoverse-n1", 1);
    run_cores(*p, {[&](Core& c) {
        c.store(kPage + 8, 1, 8);
        c.clear_page(kPage, 4096);
    }});
    EXPECT_EQ(p->memory().memory().frames_touched(), 0u);
}

} // namespace
