// SPDX-License-Identifier: GPL-2.0-only
// The path of a broadcast TLB invalidation through the interconnect, as a timing mechanism: arm64 TLBI ...IS
// travels as a DVM message (Arm AMBA 5 CHI, DVM operations), AMD INVLPGB as its broadcast message.
//
//   issuer --hop--> serialization point --fanout per core, hop--> every other core's MMU (TLB search) --hop--> ack
//
// The serialization point handles one operation at a time for the whole system (CHI's MN, the DVM node), so
// back-to-back operations from one core, and operations from several initiators at once, queue there: this is
// what makes a loop of per-page TLBIs cost per page and concurrent broadcasts slow each other down (Arcangeli's
// eMAG observation, hardware-parameters.md 2c [S35]). Each receiving core searches its TLBs once per operation
// (a range operation once, with its own cost) and serves operations one after another.
//
// Completion is a message of its own: DSB ISH after broadcast TLBIs sends a DVM Sync (TLBSYNC likewise), which
// queues at the serialization point behind the operations before it, reaches every core once that core has
// served them, and is acknowledged. The DSB ends when the last acknowledgement is back.
//
// Times are absolute core cycles since the start of the simulation.
#pragma once

#include "hw/common/types.hh"

#include <vector>

namespace mmusim::hw {

struct BroadcastCosts {
    Cycles hop = 0;          // one way between a core and the serialization point
    Cycles service = 0;      // the serialization point's time per operation, whoever sent it
    Cycles fanout = 0;       // its extra time per receiving core: it sends the operation to one after another
    Cycles lookup = 0;       // a receiving core's TLB search for one by-VA or by-ASID operation
    Cycles range_lookup = 0; // the same for one range operation (FEAT_TLBIRANGE)
    Cycles sync = 0;         // the serialization point's time for a completion message (DVM Sync)
};

class BroadcastChannel {
public:
    BroadcastChannel(const BroadcastCosts& costs, std::size_t cores) : costs_(costs), receiver_free_(cores, 0) {}

    struct Delivery {
        Cycles complete = 0;                // when the issuer may see the last acknowledgement
        std::vector<Cycles> receiver_busy;  // cycles each core's MMU spent on it (0 for the issuer)
    };
    // An operation that leaves core `from` at time `t`. `receivers[i]`: whether core i searches its TLBs
    // for it (every core but the issuer, for a broadcast).
    Delivery post(std::size_t from, Cycles t, bool range);
    // A completion message from core `from` at time `t`; returns when its last acknowledgement is back: every
    // operation posted before it has then been served by every core.
    Cycles sync(std::size_t from, Cycles t);

    const BroadcastCosts& costs() const { return costs_; }

private:
    BroadcastCosts costs_;
    Cycles node_free_ = 0;               // when the serialization point can take the next operation
    std::vector<Cycles> receiver_free_;  // per core: when its MMU has served what it was sent
};

} // namespace mmusim::hw
