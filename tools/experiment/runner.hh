// SPDX-License-Identifier: GPL-2.0-only
// Runs one variant of an experiment: builds the platform and boots the ported kernel on it, creates the
// processes, and executes the workload's operations one after another, each on its core's own SystemC thread
// (the other cores wait in simulated time, taking interrupts, holding their TLB contents). Around each
// operation it takes every core's counters and the kernel's statistics, so the result says, per operation and
// per core, where the cycles went.
#pragma once

#include "hw/core/core.hh"
#include "mm/kernel_config.hh"
#include "mm/stats.hh"
#include "tools/commands/run_configs.hh"
#include "tools/experiment/experiment.hh"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim::tools {

struct CoreDelta {
    hw::CoreCounters counters;   // this core's counters during the operation (differences)
    std::uint64_t walks = 0;     // table walks of its MMU
    std::uint64_t l1d_misses = 0; // misses in its first data cache level
};

struct OpResult {
    OpSpec spec;
    std::uint64_t ptes = 0;        // pages of the base granule the operation covers
    Cycles elapsed = 0;            // simulated time from its start to its end on the core that ran it
    std::vector<CoreDelta> cores;  // every core of the platform
    mm::MmStats kernel;            // what the kernel did during the operation
    std::uint64_t dram_accesses = 0;
    // trace: its records (accesses and system calls) and the page faults its accesses took
    std::uint64_t trace_records = 0;
    std::uint64_t trace_page_faults = 0;
};

struct ProcessState {            // at the end of the run, for the report and the differential tests
    std::string name;
    std::uint64_t rss_anon = 0, rss_file = 0, rss_shmem = 0, swapents = 0; // pages (mm counters)
    std::uint64_t vmas = 0;
    std::uint64_t pgtable_bytes = 0;
};

struct VariantResult {
    std::string name;
    RunConfigs configs;            // as the variant ran (overrides applied)
    std::vector<OpResult> ops;
    std::vector<ProcessState> processes;
    std::uint64_t memory_free = 0; // bytes the page allocator has free at the end
    std::uint64_t page_size = 0;
    std::shared_ptr<const hw::Timeline> timeline; // with timeline_limit > 0: what the cores did
};

// Called after each operation with (operations done, total).
using OpProgress = std::function<void(std::size_t, std::size_t)>;

// The platform and kernel configuration variant `v` runs with: the experiment's overrides, the variant's, then
// `cli_sets`; its cores checked against the platform. Throws ConfigError.
RunConfigs variant_configs(const Experiment& e, const Variant& v, const std::vector<std::string>& cli_sets);

// timeline_limit > 0 records a timeline of up to that many events (--timeline).
VariantResult run_variant(const Experiment& e, const Variant& v, const std::vector<std::string>& cli_sets,
                          bool check, const OpProgress& progress = {}, std::size_t timeline_limit = 0);

} // namespace mmusim::tools
