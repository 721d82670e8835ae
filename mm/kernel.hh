// SPDX-License-Identifier: GPL-2.0-only
// The simulated kernel: one instance per simulation, running on a hw::Platform. It owns what upstream keeps
// in globals (the page allocator and vmemmap, the kernel's slab objects, the architecture's mm operations, the
// processes) and the statistics the reports show. Ported functions take a Ctx: the kernel and the core they
// run on (upstream's implicit `current` CPU).
#pragma once

#include "hw/platform/platform.hh"
#include "mm/arch/arch.hh"
#include "mm/kernel_config.hh"
#include "mm/mm_types.hh"
#include "mm/page.hh"
#include "mm/page_alloc.hh"
#include "mm/stats.hh"

#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace mmusim::mm {

class Kernel;
class Swap;
class PageTableCheck;

// include/linux/sched.h struct tlbflush_unmap_batch: current->tlb_ubc, the deferred unmap flush of the task
// (the port's task is the core's work: one per core).
struct tlbflush_unmap_batch {
    arch_tlbflush_unmap_batch arch;
    bool flush_required = false; // a PTE was cleared whose TLB entry may still be cached
    bool writable = false;       // a cleared PTE was dirty: flush before the folio's I/O starts
};

struct Ctx {
    Kernel& k;
    hw::Core& cpu;
};

class Kernel {
public:
    // Boots on `platform`: reserves vmemmap for all of memory, picks the architecture's mm operations
    // (arm64, x86-64 or RISC-V).
    Kernel(hw::Platform& platform, KernelConfig cfg);
    ~Kernel();

    hw::Platform& platform() { return platform_; }
    const hw::PageTableFormat& format() const { return platform_.format(); }
    const KernelConfig& config() const { return cfg_; }
    Arch& arch() { return *arch_; }
    PageAllocator& page_alloc() { return *page_alloc_; }
    MmStats& stats() { return stats_; }
    const MmStats& stats() const { return stats_; }
    // The swap device and the swap globals (mm/swapfile.hh); kernel.swap_size 0 means none (swap() throws).
    bool has_swap() const { return swap_ != nullptr; }
    Swap& swap();
    // CONFIG_PAGE_TABLE_CHECK (mm/page_table_check.hh): only in checked mode, null otherwise
    PageTableCheck* page_table_check() { return ptc_.get(); }

    unsigned page_shift() const { return format().page_shift(); }
    std::uint64_t page_size() const { return format().page_size(); }
    PAddr vmemmap() const { return vmemmap_; }

    // The shared zero page (mm/memory.c my_zero_pfn()): a reserved, zeroed frame read faults map.
    pfn_t zero_pfn() const { return zero_pfn_; }
    bool is_zero_pfn(pfn_t pfn) const { return pfn == zero_pfn_; }
    // mm/huge_memory.c huge_zero_folio (so huge_zero_pfn) once get_huge_zero_folio() has allocated it, and
    // huge_zero_refcount (host-side: it changes once per mm, MMF_HUGE_ZERO_FOLIO). mm/huge_memory.cc.
    struct HugeZero {
        std::optional<Folio> folio;
        long refcount = 0;
    };
    HugeZero& huge_zero() { return huge_zero_; }
    bool is_huge_zero_pfn(pfn_t pfn) const { return huge_zero_.folio && huge_zero_.folio->pfn == pfn; }

    // Kernel objects (mm_struct, vma, anon_vma) in simulated memory: a 64-byte aligned block from the buddy,
    // zeroed by the running core (kzalloc()).
    PAddr kmalloc(Ctx& c, std::uint64_t bytes);
    void kfree(Ctx& c, PAddr pa, std::uint64_t bytes);

    // A new process address space (kernel/fork.c mm_alloc() + mm_init()): its struct mm_struct, an empty
    // root table (pgd_alloc()) and the next free ASID; the running core does the work.
    mm_struct& mm_alloc(Ctx& c);
    // mmdrop() -> __mmdrop(): frees the root table and the mm_struct. The VMAs must be gone (exit_mmap()).
    void mm_free(Ctx& c, mm_struct& mm);
    std::size_t processes() const { return mms_.size(); }
    // The live mms (host-side), for the rmap walk's search of the VMAs on an anon_vma (mm/rmap.cc).
    const std::vector<std::unique_ptr<mm_struct>>& mms() const { return mms_; }
    // current->tlb_ubc of the task running on the core (mm/rmap.cc try_to_unmap_flush())
    tlbflush_unmap_batch& tlb_ubc(const Ctx& c);
    // exit_mmap(): the ASID of an exiting mm is never used again, so TLB entries tagged with it are harmless
    // (checked mode does not count them as reaching a freed frame).
    void retire_asid(Asid asid) { retired_asids_.insert(asid); }
    bool asid_retired(Asid asid) const { return retired_asids_.count(asid) != 0; }

    // The node's struct lruvec (mm/swap.hh): its lru_lock, list heads, list sizes and reclaim costs in
    // simulated memory, set up at boot (pgdat_init_internals() -> lruvec_init()); one node, no memcg.
    PAddr lruvec() const { return lruvec_; }

    // PhaseScope (mm/phase.hh): a ported function's self time on the running core, into stats().phases.
    void phase_enter(Ctx& c, const char* name);
    void phase_exit(Ctx& c);

    // Software work that is no memory access (kernel_config.hh SoftwareCosts), charged as Category::Software.
    void charge_sw(Ctx& c, Cycles cycles) const { c.cpu.charge(cycles, hw::Category::Software); }

private:
    hw::Platform& platform_;
    KernelConfig cfg_;
    PhysAllocator phys_;
    PAddr vmemmap_ = 0;
    pfn_t zero_pfn_ = 0;
    HugeZero huge_zero_;
    std::unique_ptr<Arch> arch_;
    std::unique_ptr<PageAllocator> page_alloc_;
    std::unique_ptr<Swap> swap_;
    std::unique_ptr<PageTableCheck> ptc_;
    PAddr lruvec_ = 0;
    std::vector<std::unique_ptr<mm_struct>> mms_;
    Asid next_asid_ = 1;
    unsigned next_mm_id_ = 1; // MM_ID_MIN
    std::set<Asid> retired_asids_;
    MmStats stats_;
    struct PhaseFrame {
        const char* name;
        Cycles start;    // the core's now() at entry
        Cycles children; // cycles of the phases nested in it
    };
    std::vector<std::vector<PhaseFrame>> phases_;
    std::vector<tlbflush_unmap_batch> tlb_ubc_; // per core // per core: the open phases, innermost last
};

} // namespace mmusim::mm
