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
#include <vector>

namespace mmusim::mm {

struct anon_vma_chain;
struct vm_area_struct;

// include/linux/rmap.h struct anon_vma. Its fields live in simulated memory (ANON_VMA_OFF_* in mm/rmap.hh:
// the root's rwsem, the refcount, num_children, num_active_vmas, root, parent); the host copies here are
// what the port's C++ needs to follow the pointers. The interval tree of the VMAs chained to it (rb_root) is
// a host-side container keyed by each VMA's vm_pgoff; the walks charge the accesses upstream's tree makes.
struct anon_vma {
    PAddr addr = 0;                         // simulated struct anon_vma
    anon_vma* root = nullptr;               // the root of this anon_vma's tree (itself for a root)
    std::shared_ptr<anon_vma> root_ref;     // get_anon_vma(root): a child pins its root (null for a root)
    std::shared_ptr<anon_vma> parent;       // null for a root (whose parent is itself upstream)
    unsigned long num_children = 0;         // host copy of the simulated counter
    unsigned long num_active_vmas = 0;      // host copy of the simulated counter
    std::multimap<std::uint64_t, anon_vma_chain*> rb_root; // anon_vma_interval_tree, by vma->vm_pgoff
};

// include/linux/rmap.h struct anon_vma_chain: links one VMA to one anon_vma (the VMA's own and each of its
// ancestors' after fork). Owned by the VMA's chain list; the anon_vma's tree refers to it.
struct anon_vma_chain {
    vm_area_struct* vma = nullptr;
    std::shared_ptr<anon_vma> av; // avc->anon_vma (keeps the host object alive while chained)
    std::uint64_t tree_key = 0;   // the vm_pgoff it is filed under in av->rb_root
    PAddr addr = 0;               // simulated struct anon_vma_chain
};

// vma->anon_vma_chain (newest first, as list_add() leaves it). Copying a VMA (vm_area_dup()) gives the copy
// an empty list, as upstream's vm_area_dup() does with INIT_LIST_HEAD: anon_vma_clone()/anon_vma_fork()
// fill it.
struct anon_vma_chain_list {
    std::vector<std::unique_ptr<anon_vma_chain>> list;
    anon_vma_chain_list() = default;
    anon_vma_chain_list(const anon_vma_chain_list&) {}
    anon_vma_chain_list& operator=(const anon_vma_chain_list&) { return *this; }
    anon_vma_chain_list(anon_vma_chain_list&&) = default;
    anon_vma_chain_list& operator=(anon_vma_chain_list&&) = default;
    ~anon_vma_chain_list() = default;
};

struct mm_struct;
struct shmem_file; // mm/shmem.hh: the shmem object of a MAP_SHARED | MAP_ANONYMOUS mapping

struct vm_area_struct {
    Addr vm_start = 0, vm_end = 0;
    vm_flags_t vm_flags = 0;
    pgprot_t vm_page_prot;
    mm_struct* vm_mm = nullptr;
    std::uint64_t vm_pgoff = 0;      // the page vm_start maps: anonymous, its linear index (start >> PAGE_SHIFT at
                                     // mmap, kept by splits, merges and mremap); shmem, the file's page
    anon_vma* anon = nullptr;        // vma->anon_vma: where its new folios go (owned through the chain)
    anon_vma_chain_list anon_vma_chain; // vma->anon_vma_chain
    unsigned folio_order = 0;        // mTHP order this VMA faults in (sysfs hugepages-<size>kB "always")
    // vma->vm_file of a shared anonymous mapping (shmem_zero_setup()); each VMA holds one f_count reference
    // (get_file() / fput(), mm/shmem.hh). Null for private anonymous memory (vma_is_anonymous()).
    std::shared_ptr<shmem_file> vm_file;
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
