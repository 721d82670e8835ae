// SPDX-License-Identifier: GPL-2.0-only
// Trace replay: streams a trace into the cores of a platform. Each core's SC_THREAD pulls its own records
// (the `@core` of a native record; lackey traces are core 0) from a shared demultiplexer that reads the trace
// in batches, so memory stays flat whatever the trace length. Every access is translated by the core's MMU;
// an access that crosses a page boundary is one translation per page; a not-present fault maps the folio
// around the address (mm/anon_fault) and the access is retried.
#pragma once

#include "hw/platform/platform.hh"
#include "mm/anon_fault.hh"
#include "traces/trace_reader.hh"

#include <functional>
#include <memory>
#include <vector>

namespace mmusim::tools {

struct ReplayCounters {
    std::uint64_t records = 0;
    std::uint64_t translations = 0;
    std::uint64_t page_splits = 0; // records that touched more than one page
    std::uint64_t reads = 0, writes = 0, fetches = 0;
};

// Called now and then from the simulation with (records so far, trace bytes consumed).
using ProgressFn = std::function<void(std::uint64_t records, std::uint64_t bytes)>;

class Replayer {
public:
    Replayer(hw::Platform& platform, traces::TraceReader& reader, std::string trace_name, ProgressFn progress = {});
    ~Replayer();
    // Runs the whole trace. Throws TraceError for a bad trace, mm::OutOfMemory, ConfigError.
    void run();

    const ReplayCounters& counters(unsigned core) const { return per_core_.at(core); }
    ReplayCounters total() const;
    const mm::AnonFaultHandler& faults() const { return *faults_; }
    const mm::AddressSpace& address_space() const { return *as_; }

private:
    class Demux;
    void core_loop(hw::Core& core);

    hw::Platform& platform_;
    std::unique_ptr<Demux> demux_;
    mm::PhysAllocator alloc_;
    std::unique_ptr<mm::AddressSpace> as_;
    std::unique_ptr<mm::AnonFaultHandler> faults_;
    std::vector<ReplayCounters> per_core_;
    ProgressFn progress_;
};

} // namespace mmusim::tools
