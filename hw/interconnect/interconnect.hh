// SPDX-License-Identifier: GPL-2.0-only
// The coherent interconnect as TLB maintenance sees it: broadcast TLB invalidation (arm64 DVM messages from
// TLBI ...IS, AMD INVLPGB), the completion wait that follows (DSB ISH, TLBSYNC), and inter-processor
// interrupts (x86 and RISC-V shootdowns).
//
// Functional effect: an invalidation takes effect when the architecture says it has completed, not when it
// is issued: a broadcast TLBI at the issuer's next DSB ISH (on every core), a local TLBI at the issuer's next
// DSB, an INVLPGB at the issuer's TLBSYNC, INVLPG / MOV CR3 / INVPCID / SFENCE.VMA at once (they are
// synchronous), an IPI handler's work when its target runs it. Until then the old entries stay usable, as
// hardware may keep them (Arm ARM: a TLBI is only guaranteed complete after a DSB).
//
// Cost, from mechanism: the issuer pays the instruction; a broadcast then goes through the BroadcastChannel
// (one serialization point, every other core's TLB search, acknowledgements), and DSB ISH / TLBSYNC waits
// until the last acknowledgement of every operation it covers. IPIs are sent by the interrupt controller one
// target after another; each target takes them in its own thread, one at a time, on its own timeline; the
// sender waits in simulated time for the last acknowledgement.
// docs/ARCHITECTURE.md, "TLB maintenance timing", has the whole model and the parameters' sources.
#pragma once

#include "hw/core/core.hh"
#include "hw/interconnect/broadcast_channel.hh"
#include "hw/interconnect/maintenance_costs.hh"
#include "hw/platform/features.hh"

#include <memory>
#include <vector>

namespace mmusim::hw {

struct InterconnectStats {
    std::uint64_t broadcast_ops = 0; // DVM TLBI / INVLPGB messages
    std::uint64_t local_ops = 0;
    std::uint64_t ipis = 0;          // interrupts delivered
};

class Interconnect {
public:
    Interconnect(const MaintenanceCosts& costs, const PageTableFormat& fmt, Features features);
    ~Interconnect();
    void attach(Core& c);
    std::size_t cores() const { return cores_.size(); }
    Core& core(std::size_t i) { return *cores_[i]; }

    void tlbi(Core& from, const TlbiOp& op);
    void barrier(Core& from, Barrier kind);
    // Sends `handler` to every core of `mask` but `from`, into each target's own thread (Core::raise).
    IpiHandle ipi_send(Core& from, const CpuMask& mask, const std::function<void(Core&)>& handler);

    // Invalidations issued by `core` that have not completed yet (for checkers and tests).
    std::size_t pending_invalidations(std::size_t core) const;
    const InterconnectStats& stats() const { return stats_; }
    const MaintenanceCosts& costs() const { return costs_; }

private:
    struct CoreState {
        std::vector<InvalidationScope> broadcast; // issued, complete on every core at DSB ISH / TLBSYNC
        std::vector<InvalidationScope> local;     // issued, complete on the issuer at its next DSB
        std::uint64_t outstanding = 0;            // broadcast operations since the last DSB ISH / TLBSYNC
    };
    void apply(Core& to, const InvalidationScope& scope);
    void complete_broadcasts(Core& from);
    void complete_local(Core& from);
    Cycles issue_cost(const TlbiOp& op) const;
    // The broadcast path's parameters for `k`'s architecture: arm64 DVM, AMD INVLPGB.
    const BroadcastCosts& fabric(TlbiKind k) const;
    BroadcastChannel& channel(const BroadcastCosts& costs);
    // DSB ISH / TLBSYNC: with broadcasts outstanding, sends the completion message and returns the cycles until
    // its last acknowledgement (0 with none outstanding).
    Cycles sync_broadcasts(Core& from, const BroadcastCosts& costs);

    MaintenanceCosts costs_;
    const PageTableFormat& fmt_;
    Features features_; // an instruction the platform lacks is an error, never a free no-op
    std::vector<Core*> cores_; // owned by the Platform
    std::vector<CoreState> state_;
    std::unique_ptr<BroadcastChannel> channel_; // made at the first broadcast, when every core is attached
    InterconnectStats stats_;
};

} // namespace mmusim::hw
