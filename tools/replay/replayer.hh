// SPDX-License-Identifier: GPL-2.0-only
// Trace replay: streams a trace into the cores of a platform. Each core's SC_THREAD pulls its own records
// (the `@core` of a native record; lackey traces are core 0) from a shared demultiplexer that reads the trace
// in batches, so memory stays flat whatever the trace length. Every access is translated by the core's MMU;
// an access that crosses a page boundary is one translation per page; a not-present fault maps the folio
// around the address (mm/anon_fault) and the access is retried. In checked mode (simulation.check) the TLB
// oracle checks the faulted range after each fault and the whole address space at the end.
#pragma once

#include "hw/platform/platform.hh"
#include "mm/anon_fault.hh"
#include "traces/trace_reader.hh"

#include <array>
#include <functional>
#include <memory>
#include <vector>

namespace mmusim::tools {

struct ReplayCounters {
    std::array<std::uint64_t, 3> by_kind{}; // records, indexed by AccessKind
    std::uint64_t translations = 0;
    std::uint64_t page_splits = 0; // records that touched more than one page

    std::uint64_t reads() const { return by_kind[static_cast<std::size_t>(AccessKind::Read)]; }
    std::uint64_t writes() const { return by_kind[static_cast<std::size_t>(AccessKind::Write)]; }
    std::uint64_t fetches() const { return by_kind[static_cast<std::size_t>(AccessKind::Fetch)]; }
    std::uint64_t records() const { return reads() + writes() + fetches(); }
};

// Called now and then from the simulation with (records so far, trace bytes consumed).
using ProgressFn = std::function<void(std::uint64_t records, std::uint64_t bytes)>;

class Replayer {
public:
    Replayer(hw::Platform& platform, mm::KernelConfig kernel, traces::TraceReader& reader, ProgressFn progress = {});
    ~Replayer();
    // Runs the whole trace. Throws TraceError for a bad trace, mm::OutOfMemory, ConfigError.
    void run();

    const ReplayCounters& counters(unsigned core) const { return per_core_.at(core); }
    ReplayCounters total() const;
    const mm::AnonFaultHandler& faults() const { return *faults_; }
    const mm::AddressSpace& address_space() const { return *as_; }
    const mm::KernelConfig& kernel() const { return kernel_; }

private:
    class Demux;
    void core_loop(hw::Core& core);
    // Checked mode: the TLB oracle must find every TLB and walk cache in agreement with the page tables for
    // [first, last] and no new TLB conflict event; otherwise hw::TlbCheckError stops the run.
    void check(Addr first, Addr last);

    hw::Platform& platform_;
    mm::KernelConfig kernel_;
    std::unique_ptr<Demux> demux_;
    mm::PhysAllocator alloc_;
    std::unique_ptr<mm::AddressSpace> as_;
    std::unique_ptr<mm::AnonFaultHandler> faults_;
    std::vector<ReplayCounters> per_core_;
    ProgressFn progress_;
};

} // namespace mmusim::tools
