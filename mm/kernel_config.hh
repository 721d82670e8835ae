// SPDX-License-Identifier: GPL-2.0-only
// The kernel configuration: what the simulated Linux does on a platform, as opposed to what the hardware is
// (hw/platform/platform_config.hh). One YAML map `kernel:` (configs/kernels/*.yaml, default.yaml unless
// `--kernel` names another; docs/CONFIG.md): the anonymous folio size faults map, the software costs, and the
// port's switches (kernel.pte_batch, kernel.max_pte_batch, kernel.contpte, kernel.use_tlbi_range, ...), each
// read in load_kernel() and, when it needs a hardware feature, checked against the platform in check_platform()
// (kernel_config.cc).
#pragma once

#include "hw/common/types.hh"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mmusim {
class ConfigNode;
}

namespace mmusim::hw {
struct PlatformConfig;
}

namespace mmusim::mm {

// Software work that is no memory access, charged per event (DESIGN.md: named by what it stands for). Each is
// an estimate unless configs/kernels/default.yaml cites a source beside it.
struct SoftwareCosts {
    Cycles fault_entry = 0;   // exception entry + handler dispatch + return, per page fault
    Cycles syscall_entry = 0; // system call entry and return (mmap, munmap, mprotect, madvise, mremap, fork)
    Cycles vma_lookup = 0;    // one maple-tree walk (find_vma, vma_lookup)
    Cycles vma_modify = 0;    // inserting, splitting, merging or removing one VMA (maple-tree store)
    Cycles pte_loop = 0;      // bookkeeping per iteration of a PTE loop (zap, copy, change_pte_range)
    Cycles buddy_op = 0;      // one buddy-allocator split or merge step under the zone lock
    Cycles fork_base = 0;     // copy_process() outside dup_mmap (task struct, files, signals, ...)
    Cycles swap_submit = 0;   // submitting one swap write bio to the block layer (completion is asynchronous)
    Cycles swap_read = 0;     // reading 4 KiB back from the synchronous swap device (zram-like), per 4 KiB
};

// The kernel variants, as switches on one code base (issue 8; DESIGN.md "The port").
struct KernelSwitches {
    bool pte_batch = true;           // batched PTE helpers (folio_pte_batch); off: one PTE at a time everywhere
    unsigned max_pte_batch = 0;      // cap on nr for every batch (0 = no cap)
    bool contpte = true;             // arm64 CONFIG_ARM64_CONTPTE
    bool use_tlbi_range = true;      // arm64 system_supports_tlb_range() (needs FEAT_TLBIRANGE)
    bool use_bbml2 = true;           // arm64 system_supports_bbml2_noabort() (needs BBML2_NOABORT)
    unsigned tlb_single_page_flush_ceiling = 33; // x86 arch/x86/mm/tlb.c
    bool use_invlpgb = true;         // x86 CONFIG_BROADCAST_TLB_FLUSH (needs INVLPGB)
    bool defer_flush = true;         // CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH: TTU_BATCH_FLUSH defers the flush
    bool anon_unmap_batch = true;    // the batched anon unmap series (try_to_unmap_one batches swap-backed anon)
};

struct KernelConfig {
    std::string name;
    std::string source;                 // file it came from
    std::uint64_t folio_size = 4 * KiB; // the mTHP (up to the PMD size: a PMD THP) a write fault maps
    std::uint64_t swap_size = 1 * GiB;  // the swap device (mm/swapfile.hh); 0: no swap
    SoftwareCosts software;
    KernelSwitches switches;
};

// Reads and validates root's `kernel:` map for `platform` (a value the platform cannot run, such as a folio
// smaller than its page, or a switch needing a feature it lacks, is an error). Throws ConfigError.
KernelConfig load_kernel(const ConfigNode& root, const hw::PlatformConfig& platform);
// Loads a file, applies overrides ("kernel.folio_size=2M"), validates. Throws ConfigError.
KernelConfig load_kernel_file(const std::string& path, const std::vector<std::string>& overrides,
                              const hw::PlatformConfig& platform);

// Every parameter in effect, for reports.
nlohmann::ordered_json to_json(const KernelConfig& k);

} // namespace mmusim::mm
