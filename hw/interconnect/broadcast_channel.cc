// SPDX-License-Identifier: GPL-2.0-only
#include "hw/interconnect/broadcast_channel.hh"

#include <algorithm>

namespace mmusim::hw {

BroadcastChannel::Delivery BroadcastChannel::post(std::size_t from, Cycles t, bool range)
{
    Delivery d;
    d.receiver_busy.assign(receiver_free_.size(), 0);
    const Cycles start = std::max(t + costs_.hop, node_free_);
    Cycles sent = start + costs_.service;
    const Cycles search = range ? costs_.range_lookup : costs_.lookup;
    // With no other core the node still answers the issuer.
    d.complete = sent + costs_.hop;
    for (std::size_t r = 0; r < receiver_free_.size(); ++r) {
        if (r == from)
            continue;
        sent += costs_.fanout;
        const Cycles begin = std::max(sent + costs_.hop, receiver_free_[r]);
        receiver_free_[r] = begin + search;
        d.receiver_busy[r] = search;
        d.complete = std::max(d.complete, receiver_free_[r] + costs_.hop);
    }
    node_free_ = sent;
    return d;
}

Cycles BroadcastChannel::sync(std::size_t from, Cycles t)
{
    const Cycles start = std::max(t + costs_.hop, node_free_);
    Cycles sent = start + costs_.sync;
    Cycles done = sent + 2 * costs_.hop;
    for (std::size_t r = 0; r < receiver_free_.size(); ++r) {
        if (r == from)
            continue;
        sent += costs_.fanout;
        done = std::max(done, std::max(sent + costs_.hop, receiver_free_[r]) + costs_.hop);
    }
    node_free_ = sent;
    return done;
}

} // namespace mmusim::hw
