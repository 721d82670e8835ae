// SPDX-License-Identifier: GPL-2.0-only
// The coherent interconnect as TLB maintenance sees it: broadcast TLB invalidation (arm64 DVM messages from
// TLBI ...IS, AMD INVLPGB), the completion wait that follows (DSB ISH, TLBSYNC), and inter-processor
// interrupts (x86 and RISC-V shootdowns).
//
// Functional effect: a broadcast invalidation removes entries from every core's MMU when it is issued; a
// local one only from the issuer's. Cost: the issuer pays to issue; DSB ISH pays per outstanding broadcast
// op and per core that must acknowledge it (the "DSB completion cost grows with outstanding TLBIs and with
// the number of cores" model, cf. Barry Song's Kunpeng 920 figures and Arcangeli's eMAG note in
// shared/reference/hardware-parameters.md 2c). IPIs charge the sender, run the handler on each target
// (charging the target), and make the sender wait for the slowest acknowledgement.
#pragma once

#include "hw/core/core.hh"
#include "hw/interconnect/maintenance_costs.hh"
#include "hw/platform/features.hh"

#include <vector>

namespace mmusim::hw {

struct InterconnectStats {
    std::uint64_t broadcast_ops = 0; // DVM TLBI / INVLPGB messages
    std::uint64_t local_ops = 0;
    std::uint64_t ipis = 0;          // interrupts delivered
};

class Interconnect {
public:
    Interconnect(const MaintenanceCosts& costs, const PageTableFormat& fmt, Features features)
        : costs_(costs), fmt_(fmt), features_(std::move(features))
    {
    }
    void attach(Core& c);
    std::size_t cores() const { return cores_.size(); }
    Core& core(std::size_t i) { return *cores_[i]; }

    void tlbi(Core& from, const TlbiOp& op);
    void barrier(Core& from, Barrier kind);
    void ipi(Core& from, const CpuMask& mask, const std::function<void(Core&)>& handler);

    const InterconnectStats& stats() const { return stats_; }
    const MaintenanceCosts& costs() const { return costs_; }

private:
    void apply(Core& to, const InvalidationScope& scope);
    Cycles issue_cost(const TlbiOp& op) const;

    MaintenanceCosts costs_;
    const PageTableFormat& fmt_;
    Features features_; // an instruction the platform lacks is an error, never a free no-op
    std::vector<Core*> cores_;             // owned by the Platform
    std::vector<std::uint64_t> pending_broadcast_; // per core, since its last DSB ISH / TLBSYNC
    InterconnectStats stats_;
};

} // namespace mmusim::hw
