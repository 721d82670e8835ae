// SPDX-License-Identifier: GPL-2.0-only
// An experiment (docs/EXPERIMENTS.md): a platform, a kernel configuration, the processes and the cores that run
// them, and a workload of operations (mmap, touch, fork, munmap, madvise, mprotect, pin, unpin, mremap,
// device_exclusive, reclaim, trace) that
// the ported kernel executes on the simulated cores, run once per kernel variant (by default the batched kernel
// and the one that updates one PTE at a time). Loaded from YAML with every key checked; errors name file, line and key.
#pragma once

#include "hw/common/types.hh"

#include <optional>
#include <string>
#include <vector>

namespace mmusim::tools {

struct ProcessSpec {
    std::string name;
    std::vector<unsigned> threads;  // cores running its threads (in mm_cpumask)
    std::vector<unsigned> tlb_only; // cores that only hold its mm in their TLBs (x86 lazy TLB; in mm_cpumask)
};

enum class OpKind { Mmap, Touch, Fork, Munmap, Madvise, Mprotect, Pin, Unpin, Mremap, DeviceExclusive, Reclaim, Trace };
const char* to_string(OpKind k);

struct OpSpec {
    OpKind kind = OpKind::Touch;
    std::string process;           // whose address space
    unsigned core = 0;             // which core runs it (default: the process's first thread)
    std::string region;            // mmap names it; the others refer to it
    std::uint64_t offset = 0;      // within the region (touch, munmap, madvise, mprotect, pin, device_exclusive)
    std::uint64_t length = 0;      // 0 = to the region's end
    // mmap
    std::uint64_t size = 0;
    std::uint64_t folio = 0;       // mTHP size the VMA faults in; 0 = the kernel configuration's folio_size
    std::string prot = "rw";       // "none", "r", "rw"
    bool shared = false;           // MAP_SHARED | MAP_ANONYMOUS (shmem) instead of MAP_PRIVATE
    // touch, pin
    bool write = false;
    std::uint64_t stride = 0;      // 0 = the page size
    bool data = false;             // touch: each access stores 8 bytes of non-zero data (so pageout does I/O)
    // fork
    std::string child;
    std::vector<unsigned> child_threads;
    // madvise
    std::string advice = "dontneed"; // "dontneed", "free", "cold", "pageout"
    // mremap
    std::uint64_t new_size = 0;    // 0 = the region's size
    bool move = true;              // MREMAP_MAYMOVE | MREMAP_FIXED to a new address; false: resize in place
    // reclaim: what is written to memory.reclaim ("<bytes> [swappiness=N|max]")
    std::uint64_t bytes = 0;
    int swappiness = -1;           // -1: none given (the memcg's, vm_swappiness); 0..200; 201: "max" (anon only)
    // trace
    std::string file;              // relative to the current directory
    std::string format = "auto";   // "native", "lackey", "auto" (by file name, as replay)
    int line = 0;                  // for messages
};

struct Variant {
    std::string name;
    std::vector<std::string> sets; // kernel.* / platform overrides
};

struct Experiment {
    std::string name;
    std::string description;
    std::string source;            // the file
    std::string platform;          // name or path
    std::string kernel;            // name or path
    std::vector<std::string> sets; // the experiment's own overrides (before the command line's)
    std::vector<Variant> variants;
    std::vector<ProcessSpec> processes;
    std::vector<OpSpec> workload;
};

// Loads and validates `path`, with `overrides` (KEY=VALUE, keys of the experiment file: experiment.*, processes.N.*,
// workload.N.*; is_experiment_override() tells them from platform and kernel keys) applied to the file's tree
// first, so that they get every check the file's own values get; `cores` is checked later against the platform
// (check_cores). Throws ConfigError.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});
// Whether a --set KEY=VALUE names a key of the experiment file (experiment., processes., workload.) rather than
// one of the platform or the kernel configuration.
bool is_experiment_override(const std::string& assignment);
// Checks every core number against the platform's core count. Throws ConfigError naming the key.
void check_cores(const Experiment& e, unsigned cores);

} // namespace mmusim::tools
