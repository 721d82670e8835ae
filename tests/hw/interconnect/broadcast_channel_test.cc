// SPDX-License-Identifier: GPL-2.0-only
// The broadcast-invalidation timing mechanism on its own (hw/interconnect/broadcast_channel.hh): one
// serialization point, receivers that serve one operation at a time, a completion message behind them.
#include "hw/interconnect/broadcast_channel.hh"

#include <gtest/gtest.h>

namespace mmusim::hw {
namespace {

constexpr BroadcastCosts kCosts{/*hop*/ 10, /*service*/ 100, /*fanout*/ 0, /*lookup*/ 20, /*range_lookup*/ 70, /*sync*/ 300};

TEST(BroadcastChannel, OneOperationAndItsSync)
{
    BroadcastChannel ch(kCosts, 4);
    const auto d = ch.post(0, 1000, false);
    // Node from 1010 to 1110, receivers from 1120 to 1140, acks at 1150.
    EXPECT_EQ(d.complete, 1150u);
    EXPECT_EQ(d.receiver_busy[0], 0u);
    for (int r = 1; r < 4; ++r)
        EXPECT_EQ(d.receiver_busy[r], 20u);
    // The Sync queues behind the operation (node busy until 1110), takes 300, reaches the cores at 1420.
    EXPECT_EQ(ch.sync(0, 1005), 1430u);
}

TEST(BroadcastChannel, BackToBackOperationsQueueAtTheNode)
{
    BroadcastChannel one(kCosts, 2), many(kCosts, 2);
    one.post(0, 0, false);
    const Cycles single = one.sync(0, 1);
    for (int k = 0; k < 8; ++k)
        many.post(0, k, false); // issued a cycle apart
    EXPECT_EQ(many.sync(0, 8) - single, 7 * kCosts.service) << "each extra operation waits one service time";
}

TEST(BroadcastChannel, ConcurrentInitiatorsSlowEachOtherDown)
{
    BroadcastChannel alone(kCosts, 4), shared(kCosts, 4);
    for (int k = 0; k < 4; ++k)
        alone.post(0, 0, false);
    const Cycles t_alone = alone.sync(0, 0);
    for (int k = 0; k < 4; ++k) {
        shared.post(0, 0, false);
        shared.post(1, 0, false);
    }
    EXPECT_GT(shared.sync(0, 0), t_alone);
    EXPECT_GT(shared.sync(1, 0), t_alone);
}

TEST(BroadcastChannel, SlowReceiversHoldTheSyncBack)
{
    BroadcastCosts slow = kCosts;
    slow.lookup = 500; // searching takes longer than the node's service: receivers become the bottleneck
    BroadcastChannel ch(slow, 2);
    for (int k = 0; k < 4; ++k)
        ch.post(0, 0, false);
    // First op leaves the node at 110 and reaches core 1 at 120; four searches end at 2120; ack 2130.
    EXPECT_EQ(ch.sync(0, 0), 2130u);
}

TEST(BroadcastChannel, FanoutMakesMoreCoresCostMore)
{
    BroadcastCosts c = kCosts;
    c.fanout = 5;
    BroadcastChannel four(c, 4), sixteen(c, 16);
    four.post(0, 0, false);
    sixteen.post(0, 0, false);
    // The node sends to 3 or 15 cores, one after another, for the operation and again for the Sync.
    EXPECT_EQ(sixteen.sync(0, 0) - four.sync(0, 0), 2 * 12 * c.fanout);
}

TEST(BroadcastChannel, RangeOperationsUseTheirOwnSearchCost)
{
    BroadcastChannel ch(kCosts, 3);
    const auto d = ch.post(2, 0, true);
    EXPECT_EQ(d.receiver_busy[0], kCosts.range_lookup);
    EXPECT_EQ(d.receiver_busy[2], 0u);
}

} // namespace
} // namespace mmusim::hw
