// SPDX-License-Identifier: GPL-2.0-only
// Trace replay: streams a trace into the cores of a platform, as the threads of one process that the ported
// kernel (mm::Kernel) runs. Each core's SC_THREAD pulls its own records (the `@core` of a native record;
// lackey traces are core 0) from a shared demultiplexer that reads the trace in batches, so memory stays flat
// whatever the trace length. Every access is translated by the core's MMU; an access that crosses a page
// boundary is one translation per page.
//
// The process: before the trace, core 0 creates it (mm_alloc()) and maps the whole user address range as one
// private anonymous read-write-execute VMA (mmap with MAP_FIXED from address 0: traces may touch any user
// address). Its mTHP order is kernel.folio_size's; when that is the PMD size the VMA is madvised
// MADV_HUGEPAGE, so faults map PMD-sized THPs with a PMD leaf (mm/huge_memory.hh). Every core runs the
// process (its MMU has the process's ASID and root table, and it is in mm_cpumask).
//
// A faulting access enters the kernel's fault path, mm::do_page_fault() (exception entry, VMA lookup,
// handle_mm_fault(): do_anonymous_page() with the zero page for reads and mTHP folios for writes, the COW of a
// write to the zero page, the accessed/dirty update on a platform without hardware A/D, the THP paths), and
// the access is retried, as the instruction would be re-executed. In checked mode (simulation.check) the TLB
// oracle checks the faulted folio's range after each fault and the whole address space at the end.
#pragma once

#include "hw/platform/platform.hh"
#include "mm/kernel.hh"
#include "traces/trace_reader.hh"

#include <array>
#include <functional>
#include <memory>
#include <vector>

namespace mmusim::tools {

struct ReplayCounters {
    std::array<std::uint64_t, 3> by_kind{}; // records, indexed by AccessKind
    std::uint64_t translations = 0;
    std::uint64_t page_splits = 0;       // records that touched more than one page
    std::uint64_t page_faults = 0;       // faults this core took (each one do_page_fault())
    std::uint64_t permission_faults = 0; // of those, on a present translation (a write to the zero page or a
                                         // read-only PMD, a software accessed/dirty update)
    Cycles fault_cycles = 0;             // the core's cycles inside those faults
    Cycles startup_cycles = 0;           // creating the process and its mapping (core 0)

    std::uint64_t reads() const { return by_kind[static_cast<std::size_t>(AccessKind::Read)]; }
    std::uint64_t writes() const { return by_kind[static_cast<std::size_t>(AccessKind::Write)]; }
    std::uint64_t fetches() const { return by_kind[static_cast<std::size_t>(AccessKind::Fetch)]; }
    std::uint64_t records() const { return reads() + writes() + fetches(); }
};

// Called now and then from the simulation with (records so far, trace bytes consumed).
using ProgressFn = std::function<void(std::uint64_t records, std::uint64_t bytes)>;

class Replayer {
public:
    // Boots the kernel on `platform` (an architecture the port lacks is an error naming the platform).
    Replayer(hw::Platform& platform, mm::KernelConfig kernel, traces::TraceReader& reader, ProgressFn progress = {});
    ~Replayer();
    // Runs the whole trace. Throws TraceError for a bad trace, mm::OutOfMemory, ConfigError, and
    // std::runtime_error for an access the process may not make (a segmentation fault).
    void run();

    const ReplayCounters& counters(unsigned core) const { return per_core_.at(core); }
    ReplayCounters total() const;
    // The simulated kernel: its configuration and its statistics (kernel().stats()).
    const mm::Kernel& kernel() const { return *kernel_; }
    const mm::KernelConfig& kernel_config() const { return kernel_->config(); }
    // The replayed process, once run() has created it.
    const mm::mm_struct& mm() const;

private:
    class Demux;
    void start_process(hw::Core& core);
    void core_loop(hw::Core& core);
    // The kernel's fault path for `va`, then checked mode's look at the folio around it.
    void fault(hw::Core& core, Addr va, AccessKind kind, hw::Fault why);
    // Checked mode: the TLB oracle must find every TLB and walk cache in agreement with the page tables for
    // [first, last] and no new TLB conflict event; otherwise hw::TlbCheckError stops the run.
    void check(Addr first, Addr last);

    hw::Platform& platform_;
    std::unique_ptr<mm::Kernel> kernel_;
    std::unique_ptr<Demux> demux_;
    mm::mm_struct* mm_ = nullptr;
    std::vector<ReplayCounters> per_core_;
    ProgressFn progress_;
};

} // namespace mmusim::tools
