// SPDX-License-Identifier: GPL-2.0-only
#include "hw/interconnect/broadcast_channel.hh"

#include <algorithm>

namespace mmusim::hw {

BroadcastChannel::Delivery BroadcastChannel::post(std::size_t from, Cycles t, bool range)
{
    Delivery d;
    d.receiver_busy.assign(receiver_free_.size(), 0);
    const Cycles start = std::max(t + costs_.hop, node_free_);
    node_free_ = start + costs_.service;
    const Cycles arrive = node_free_ + costs_.hop;
    const Cycles search = range ? costs_.range_lookup : costs_.lookup;
    // With no other core the node still answers the issuer.
    d.complete = arrive;
    for (std::size_t r = 0; r < receiver_free_.size(); ++r) {
        if (r == from)
            continue;
        const Cycles begin = std::max(arrive, receiver_free_[r]);
        receiver_free_[r] = begin + search;
        d.receiver_busy[r] = search;
        d.complete = std::max(d.complete, receiver_free_[r] + costs_.hop);
    }
    return d;
}

Cycles BroadcastChannel::sync(std::size_t from, Cycles t)
{
    const Cycles start = std::max(t + costs_.hop, node_free_);
    node_free_ = start + costs_.sync;
    const Cycles arrive = node_free_ + costs_.hop;
    Cycles done = arrive + costs_.hop;
    for (std::size_t r = 0; r < receiver_free_.size(); ++r)
        if (r != from)
            done = std::max(done, std::max(arrive, receiver_free_[r]) + costs_.hop);
    return done;
}

} // namespace mmusim::hw
