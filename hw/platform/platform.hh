// SPDX-License-Identifier: GPL-2.0-only
// Builds one simulated machine from a PlatformConfig: a fresh SystemC kernel, the memory system, the
// interconnect and N cores (each with its MMU), sockets bound. Platforms are data (configs/platforms/*.yaml);
// this builder is the only code that turns one into modules.
#pragma once

#include "hw/check/tlb_oracle.hh"
#include "hw/core/core.hh"
#include "hw/core/sim_context.hh"
#include "hw/interconnect/interconnect.hh"
#include "hw/mem/memory_system.hh"
#include "hw/mem/phys_inspector.hh"
#include "hw/platform/platform_config.hh"

#include <memory>
#include <vector>

namespace mmusim::hw {

class Platform {
public:
    explicit Platform(PlatformConfig cfg);
    ~Platform();

    const PlatformConfig& config() const { return cfg_; }
    const PageTableFormat& format() const { return *fmt_; }
    unsigned cores() const { return static_cast<unsigned>(cores_.size()); }
    Core& core(unsigned i) { return *cores_.at(i); }
    const Core& core(unsigned i) const { return *cores_.at(i); }
    MemorySystem& memory() { return *mem_; }
    const MemorySystem& memory() const { return *mem_; }
    Interconnect& interconnect() { return *ic_; }
    const Interconnect& interconnect() const { return *ic_; }
    sc_core::sc_time cycle() const { return cycle_; }
    // Untimed view of memory and cache state, for tests, reports and checkers (never for code on a core).
    PhysInspector inspect() const { return PhysInspector(*mem_); }
    // The TLB oracle over every core's TLBs and walk cache (always available; checked mode calls it).
    TlbOracle& oracle() { return *oracle_; }
    const TlbOracle& oracle() const { return *oracle_; }
    bool checked() const { return cfg_.check; }
    // --timeline: every core records its events into one Timeline, up to `limit` events.
    Timeline& enable_timeline(std::size_t limit)
    {
        timeline_ = std::make_unique<Timeline>(limit);
        for (auto& c : cores_)
            c->set_timeline(timeline_.get());
        return *timeline_;
    }
    const Timeline* timeline() const { return timeline_.get(); }
    // Hands the recording over (after run()); the cores record no more.
    std::unique_ptr<Timeline> take_timeline()
    {
        for (auto& c : cores_)
            c->set_timeline(nullptr);
        return std::move(timeline_);
    }

    // Runs every core's work to completion (sc_start until no activity is left). Rethrows the first
    // exception a core's work raised.
    void run();

private:
    SimContext ctx_; // first member: built before the modules, torn down after them
    PlatformConfig cfg_;
    std::unique_ptr<PageTableFormat> fmt_;
    sc_core::sc_time cycle_;
    std::unique_ptr<MemorySystem> mem_;
    std::unique_ptr<Interconnect> ic_;
    std::unique_ptr<Timeline> timeline_; // before the cores, which point into it
    std::vector<std::unique_ptr<Core>> cores_;
    std::unique_ptr<TlbOracle> oracle_;
};

} // namespace mmusim::hw
