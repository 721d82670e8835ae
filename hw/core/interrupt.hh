// SPDX-License-Identifier: GPL-2.0-only
// Inter-processor interrupts as the target core sees them. One IpiRequest per ipi_send: the handler every
// target runs and the acknowledgements the sender waits for. An Interrupt is one request queued at one
// target, with the time it reaches that core; the target's own SystemC thread takes it at that time
// (Core::wait_until), runs the handler on its own timeline, and acknowledges.
#pragma once

#include "hw/common/types.hh"

#include <systemc>

#include <algorithm>
#include <functional>
#include <memory>

namespace mmusim::hw {

class Core;

struct IpiRequest {
    explicit IpiRequest(std::function<void(Core&)> h) : handler(std::move(h)) {}
    std::function<void(Core&)> handler;
    unsigned pending = 0;       // targets that have not acknowledged yet
    Cycles last_ack = 0;        // when the latest acknowledgement so far reaches the sender (absolute cycles)
    sc_core::sc_event acked;    // notified when `pending` drops to 0

    void acknowledge(Cycles at)
    {
        last_ack = std::max(last_ack, at);
        if (--pending == 0)
            acked.notify(sc_core::SC_ZERO_TIME);
    }
};
using IpiHandle = std::shared_ptr<IpiRequest>;

struct Interrupt {
    Cycles arrival = 0; // when the target can take it (absolute cycles)
    Cycles entry = 0;   // the target's interrupt entry and exit around the handler
    Cycles ack = 0;     // from the end of the handler until the sender sees the acknowledgement
    IpiHandle ipi;
};

} // namespace mmusim::hw
