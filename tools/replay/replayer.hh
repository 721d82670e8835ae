// SPDX-License-Identifier: GPL-2.0-only
// Trace replay: streams a trace into the cores of a platform, as the threads of one process that the ported
// kernel (mm::Kernel) runs. Each core's SC_THREAD pulls its own records (the `@core` of a native record;
// lackey traces are core 0) from a shared demultiplexer that reads the trace in batches, so memory stays flat
// whatever the trace length. Every access is translated by the core's MMU; an access that crosses a page
// boundary is one translation per page.
//
// The records are driven by TraceDriver (tools/replay/trace_driver.hh), which also runs a trace's system call
// records (mmap, munmap, mprotect, madvise) as barriers.
//
// The process: before the trace, core 0 creates it (mm_alloc()) and, unless ReplayOptions::premap is off
// (--no-premap), maps the whole user address range as one private anonymous read-write-execute VMA (mmap with MAP_FIXED from address 0: traces may touch any user
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
#include "tools/replay/trace_driver.hh"
#include "traces/trace_reader.hh"

#include <array>
#include <functional>
#include <memory>
#include <vector>

namespace mmusim::tools {

struct ReplayOptions {
    // Map the whole user address range before the trace (the default, so that traces of accesses alone work);
    // false: the process starts with no mapping and the trace's own mmap records make its memory.
    bool premap = true;
};

class Replayer {
public:
    // Boots the kernel on `platform` (an architecture the port lacks is an error naming the platform).
    Replayer(hw::Platform& platform, mm::KernelConfig kernel, traces::TraceReader& reader, ProgressFn progress = {},
             ReplayOptions options = {});
    ~Replayer();
    // Runs the whole trace. Throws TraceError for a bad trace, mm::OutOfMemory, ConfigError, and
    // std::runtime_error for an access the process may not make (a segmentation fault).
    void run();

    const ReplayCounters& counters(unsigned core) const { return per_core_.at(core); }
    ReplayCounters total() const;
    const ReplayOptions& options() const { return options_; }
    // The simulated kernel: its configuration and its statistics (kernel().stats()).
    const mm::Kernel& kernel() const { return *kernel_; }
    const mm::KernelConfig& kernel_config() const { return kernel_->config(); }
    // The replayed process, once run() has created it.
    const mm::mm_struct& mm() const;

private:
    void start_process(hw::Core& core);
    // Checked mode: the TLB oracle must find every TLB and walk cache in agreement with the page tables for
    // [first, last] and no new TLB conflict event; otherwise hw::TlbCheckError stops the run.
    void check(Addr first, Addr last);

    hw::Platform& platform_;
    std::unique_ptr<mm::Kernel> kernel_;
    std::unique_ptr<TraceDriver> driver_; // lane k is core k
    mm::mm_struct* mm_ = nullptr;
    std::vector<ReplayCounters> per_core_; // after run(): the driver's lanes, with startup_cycles
    ReplayOptions options_;
};

} // namespace mmusim::tools
