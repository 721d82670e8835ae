// SPDX-License-Identifier: GPL-2.0-only
// struct mm_struct, struct vm_area_struct and struct anon_vma (include/linux/mm_types.h, include/linux/rmap.h),
// the parts the ported paths use. Each object has a simulated address (Kernel::kmalloc), so the fields the
// kernel reads and writes on the hot paths (rss counters, the page-table lock, tlb_gen, vm_flags) are timed
// accesses; the VMA tree itself (the maple tree) is host-side and its walks are charged from the kernel's
// software cost table (software.vma_lookup).
#pragma once

#include "hw/core/core.hh"
#include "hw/core/spinlock.hh"
#include "mm/types.hh"

#include <map>
#include <memory>

namespace mmusim::mm {

struct anon_vma {
    PAddr addr = 0; // simulated struct anon_vma (its root's rwsem and refcount live there)
};

struct mm_struct;
struct shmem_file; // mm/shmem.hh: the shmem object of a MAP_SHARED | MAP_ANONYMOUS mapping

struct vm_area_struct {
    Addr vm_start = 0, vm_end = 0;
    vm_flags_t vm_flags = 0;
    pgprot_t vm_page_prot;
    mm_struct* vm_mm = nullptr;
    std::shared_ptr<anon_vma> anon; // shared by parent and child after fork, as the anon_vma chain would
    unsigned folio_order = 0;        // mTHP order this VMA faults in (sysfs hugepages-<size>kB "always")
    // vma->vm_file of a shared anonymous mapping (shmem_zero_setup()); each VMA holds one f_count reference
    // (get_file() / fput(), mm/shmem.hh). Null for private anonymous memory (vma_is_anonymous()).
    std::shared_ptr<shmem_file> vm_file;
    std::uint64_t vm_pgoff = 0; // the file page vm_start maps (meaningful with vm_file only)
    PAddr addr = 0;                  // simulated struct vm_area_struct
};

// Simulated layout of struct mm_struct's hot fields (offsets from mm_struct::addr).
constexpr unsigned MM_OFF_PAGE_TABLE_LOCK = 0, MM_OFF_PMD_HUGE_PTE = 8 /* pgtable_t, !USE_SPLIT_PMD_PTLOCKS */,
                   MM_OFF_TLB_GEN = 64, MM_OFF_TLB_FLUSH_PENDING = 72,
                   MM_OFF_TLB_FLUSH_BATCHED = 80 /* atomic_t tlb_flush_batched */,
                   MM_OFF_RSS = 128 /* NR_MM_COUNTERS x 8 */, MM_OFF_CPUMASK = 192, MM_OFF_FLAGS = 256,
                   MM_OFF_MMAP_LOCK = 264 /* rw_semaphore count */,
                   MM_OFF_WRITE_PROTECT_SEQ = 304 /* seqcount_t, after the rw_semaphore as upstream */,
                   MM_STRUCT_BYTES = 320;
// include/linux/mm_types.h MMF_* bits of mm->flags the port tests
constexpr unsigned MMF_HAS_PINNED = 27;

struct mm_struct {
    PAddr addr = 0;             // simulated struct mm_struct
    PAddr pgd = 0;              // root page table
    Asid asid = 0;              // arm64 context.id / x86 PCID (the hardware's ASID)
    unsigned mm_id = 0;         // CONFIG_MM_ID mm->mm_id: the folios' per-MM mapcount slots name it
    hw::CpuMask cpumask;        // mm_cpumask(): cores that run it or hold it in their TLBs
    hw::CpuMask lazy;           // x86: cores in lazy TLB mode for it (kernel thread borrowed the mm)
    std::map<Addr, vm_area_struct> vmas; // by vm_start (maple tree)
    std::uint64_t pgtables_bytes = 0;
    bool has_pinned = false;    // MMF_HAS_PINNED
    bool global_asid = false;   // x86 INVLPGB: mm runs on a global ASID (broadcast flushes)
    unsigned long tlb_flushes = 0;

    PAddr page_table_lock() const { return addr + MM_OFF_PAGE_TABLE_LOCK; }
    PAddr rss_addr(MmCounter m) const { return addr + MM_OFF_RSS + 8 * m; }
    // The VMA containing `a`, or nullptr (find_vma() without the "next above" case).
    vm_area_struct* vma_at(Addr a);
};

} // namespace mmusim::mm
