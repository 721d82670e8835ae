// SPDX-License-Identifier: GPL-2.0-only
// Drives a trace's records through the cores running one process: shared by `mmusim replay` (Replayer) and the
// `trace` item of experiment workloads (tools/experiment/runner.cc).
//
// A record's `@k` names a lane, the process's k-th thread; whoever uses the driver decides which core runs each
// lane (replay: lane k is core k; an experiment: the process's threads[k]) and calls run_lane() from that core's
// SystemC thread. A shared demultiplexer reads the trace in batches and deals each lane its records, so memory
// stays flat whatever the trace length.
//
// Accesses are translated by the core's MMU (an access crossing a page boundary is one translation per page); a
// faulting access enters mm::do_page_fault() and is retried. A system call record (mmap, munmap, mprotect,
// madvise; docs/TRACES.md) runs the ported system call on its lane's core, and is a barrier in trace order: every
// record before it, on every lane, has completed before it starts, and no record after it starts before it
// returns. A trace without system calls is dealt exactly as before they existed (the fast path).
#pragma once

#include "hw/platform/platform.hh"
#include "mm/kernel.hh"
#include "traces/trace_reader.hh"

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim::tools {

struct ReplayCounters {
    std::array<std::uint64_t, 3> by_kind{}; // access records, indexed by AccessKind
    std::uint64_t translations = 0;
    std::uint64_t page_splits = 0;       // records that touched more than one page
    std::uint64_t page_faults = 0;       // faults this core took (each one do_page_fault())
    std::uint64_t permission_faults = 0; // of those, on a present translation (a write to the zero page or a
                                         // read-only PMD, a software accessed/dirty update)
    Cycles fault_cycles = 0;             // the core's cycles inside those faults
    Cycles startup_cycles = 0;           // creating the process and its mapping (core 0)
    // System call records, indexed by traces::syscall_index(): mmap, munmap, mprotect, madvise
    std::array<std::uint64_t, traces::kSyscallTypes> syscalls{};
    Cycles syscall_cycles = 0;           // the core's cycles inside them

    std::uint64_t reads() const { return by_kind[static_cast<std::size_t>(AccessKind::Read)]; }
    std::uint64_t writes() const { return by_kind[static_cast<std::size_t>(AccessKind::Write)]; }
    std::uint64_t fetches() const { return by_kind[static_cast<std::size_t>(AccessKind::Fetch)]; }
    std::uint64_t records() const { return reads() + writes() + fetches(); } // accesses
    std::uint64_t syscall_records() const
    {
        std::uint64_t n = 0;
        for (std::uint64_t s : syscalls)
            n += s;
        return n;
    }
    void add(const ReplayCounters& o);
};

// The trace format `auto` picks for a path: "lackey" when the file name (not its folder) contains "lackey",
// else "native" (docs/TRACES.md).
std::string guess_trace_format(const std::string& path);

// Called now and then from the simulation with (records so far, trace bytes consumed).
using ProgressFn = std::function<void(std::uint64_t records, std::uint64_t bytes)>;

class TraceDriver {
public:
    // `reader`'s limits must be set already (TraceReader::set_limits: lanes, the platform's VA and page size).
    TraceDriver(hw::Platform& platform, mm::Kernel& kernel, traces::TraceReader& reader, unsigned lanes,
                ProgressFn progress = {});
    ~TraceDriver();
    // The process whose threads run the records; before the first run_lane().
    void set_mm(mm::mm_struct& mm) { mm_ = &mm; }

    // Runs lane `lane`'s records on `core` until the end of the trace. Throws TraceError for a bad trace,
    // mm::OutOfMemory, and std::runtime_error for an access the process may not make (a segmentation fault) or
    // a system call that fails.
    void run_lane(hw::Core& core, unsigned lane);

    const ReplayCounters& counters(unsigned lane) const { return per_lane_.at(lane); }
    ReplayCounters total() const;
    std::uint64_t records_dealt() const;

private:
    class Demux;
    void fault(hw::Core& core, ReplayCounters& rc, Addr va, AccessKind kind, hw::Fault why);
    void syscall(hw::Core& core, ReplayCounters& rc, const traces::TraceRecord& r);
    void check(Addr first, Addr last);

    hw::Platform& platform_;
    mm::Kernel& kernel_;
    std::unique_ptr<Demux> demux_;
    mm::mm_struct* mm_ = nullptr;
    std::vector<ReplayCounters> per_lane_;
    ProgressFn progress_;
};

} // namespace mmusim::tools
