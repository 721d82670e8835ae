// SPDX-License-Identifier: GPL-2.0-only
// mm/memory.c for anonymous memory: the page fault (handle_mm_fault() down to do_anonymous_page() and
// do_wp_page()), page-table allocation (__pte_alloc(), __pmd_alloc(), ...), fork's copy_page_range(), unmapping
// (zap_pte_range() with batched zap_present_ptes()) and page-table freeing (free_pgtables()); the mm counters
// (include/linux/mm.h add_mm_counter()) and ptep_clear_flush() (mm/pgtable-generic.c).
//
// Page-table levels are walked generically over the platform's format: depth 0 is the root (pgd), depth L =
// levels()-1 holds the PTEs, the entries at depth L-1 are the "pmd"s that point at PTE tables. Every entry
// read or write is a timed access by the running core; the locks are the kernel's (mm->page_table_lock, the
// split PTE/PMD ptlocks in the table pages' struct pages).
//
// PMD-mapped transparent huge pages are mm/huge_memory.cc's: __handle_mm_fault() hands a fault there when the
// VMA may have them (create_huge_pmd(), wp_huge_pmd(), huge_pmd_set_accessed()), and zap_pmd_range() calls
// zap_huge_pmd() for a PMD leaf; fork and mprotect of a PMD leaf are refused (std::logic_error).
//
// Swap PTEs (mm/swapfile.hh) are zapped (zap_nonpresent_ptes()), copied at fork (copy_nonpresent_pte()) and
// faulted in (do_swap_page()). Device-exclusive entries (make_device_exclusive(), mm/rmap.hh) are zapped as
// mappings of their page, made present again at fork before the copy (try_restore_exclusive_pte()) and on a
// CPU fault (do_swap_page() -> remove_device_exclusive_entry()).
//
// Shared anonymous (shmem) VMAs fault through do_fault() -> do_read_fault() / do_shared_fault() -> __do_fault()
// (shmem_fault(), mm/shmem.hh) -> finish_fault(), which maps a whole large folio where it fits (set_pte_range(),
// folio_add_file_rmap_ptes(), MM_SHMEMPAGES); a write to a read-only shared PTE is wp_page_shared(); zap moves a
// file folio's dirty bit to it and delays its rmap removal past the flush.
//
// Not ported: file mappings other than shmem, private file mappings (do_cow_fault()), fault-around, other
// non-present entries (migration, device-private, hwpoison, markers: refused by name), userfaultfd, NUMA
// hinting, KSM, mlock, the zap_details variants other than "zap everything".
#pragma once

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"
#include "mm/swap.hh" // folio_add_lru_vma()

#include <optional>

namespace mmusim::mm {

// include/linux/mm_types.h enum fault_flag (the flags the ported paths test)
enum : unsigned {
    FAULT_FLAG_WRITE = 1u << 0,
    FAULT_FLAG_USER = 1u << 6,
    FAULT_FLAG_INSTRUCTION = 1u << 8,
    FAULT_FLAG_UNSHARE = 1u << 10,
    FAULT_FLAG_ORIG_PTE_VALID = 1u << 11,
};

// include/linux/mm_types.h vm_fault_t
using vm_fault_t = unsigned;
enum : vm_fault_t {
    VM_FAULT_OOM = 0x000001,
    VM_FAULT_SIGBUS = 0x000002,
    VM_FAULT_MAJOR = 0x000004,
    VM_FAULT_SIGSEGV = 0x000040,
    VM_FAULT_NOPAGE = 0x000100,
    VM_FAULT_LOCKED = 0x000200,
    VM_FAULT_RETRY = 0x000400,
    VM_FAULT_FALLBACK = 0x000800,
};

// include/linux/mm.h struct vm_fault, the fields the anonymous paths use
struct vm_fault {
    vm_area_struct* vma = nullptr;
    Addr address = 0;      // page aligned
    Addr real_address = 0; // as faulted
    unsigned flags = 0;
    PtePtr pmd = 0;        // the entry pointing at the PTE table (upstream pmd_t *pmd)
    pte_t orig_pmd;        // *pmd when the fault began (a PMD leaf's value; arch.hh holds PMD leaves in pte_t)
    PtePtr pte = 0;        // the PTE, 0 when none is mapped (upstream vmf->pte == NULL)
    pte_t orig_pte;
    PAddr ptl = 0;         // the PTE table's lock while held
    std::optional<pfn_t> page;
    std::uint64_t pgoff = 0; // linear_page_index() of the address in a file (shmem) VMA
};

// ---- mm counters (include/linux/mm.h): per-mm rss in the mm_struct, atomically updated ----
void add_mm_counter(Ctx& c, mm_struct& mm, MmCounter member, long value);
inline void inc_mm_counter(Ctx& c, mm_struct& mm, MmCounter member) { add_mm_counter(c, mm, member, 1); }
inline void dec_mm_counter(Ctx& c, mm_struct& mm, MmCounter member) { add_mm_counter(c, mm, member, -1); }
long get_mm_counter(Ctx& c, mm_struct& mm, MmCounter member);

// ---- page-table helpers ----
// include/linux/mm.h pte_lockptr(): the split lock of the PTE table holding `ptep`
PAddr pte_lockptr(const Ctx& c, PtePtr ptep);
// mm/memory.c vm_normal_page(): the page a present PTE maps, none for special mappings (the zero page)
std::optional<pfn_t> vm_normal_page(Ctx& c, vm_area_struct& vma, Addr addr, pte_t pte);
// mm/pgtable-generic.c ptep_clear_flush(): get and clear, then flush_tlb_page() if it was accessible
pte_t ptep_clear_flush(Ctx& c, vm_area_struct& vma, Addr address, PtePtr ptep);
// mm/memory.c walk_to_pmd(): the pmd entry covering addr, allocating the upper levels (p4d_alloc(),
// pud_alloc(), pmd_alloc()); 0 on no memory
PtePtr walk_to_pmd(Ctx& c, mm_struct& mm, Addr addr);
// The pmd entry covering addr if every upper level is present, else 0 (pgd_offset() ... pmd_offset() with
// the *_none() checks of the read-only walks).
PtePtr pmd_offset_lookup(Ctx& c, mm_struct& mm, Addr addr);
// mm/memory.c __pte_alloc(): a PTE table installed under pmd (pmd_install() under the pmd lock)
int __pte_alloc(Ctx& c, mm_struct& mm, PtePtr pmd);
// include/linux/mm.h pte_offset_map(): the PTE for addr in the table *pmd points at, 0 if *pmd is none or a
// PMD leaf
PtePtr pte_offset_map(Ctx& c, PtePtr pmd, Addr addr);
// include/linux/mm.h pmd_lockptr(): the split PMD lock in the PMD table page's struct page
// (USE_SPLIT_PMD_PTLOCKS), mm->page_table_lock for a table smaller than a page
PAddr pmd_lockptr(const Ctx& c, mm_struct& mm, PtePtr pmd);
// include/linux/mm.h mm_inc_nr_ptes() / mm_dec_nr_ptes()
void mm_inc_nr_ptes(const Ctx& c, mm_struct& mm);
void mm_dec_nr_ptes(const Ctx& c, mm_struct& mm);

// ---- folios of the fault path ----
// include/linux/page-flags.h __folio_mark_uptodate(): smp_wmb() so the folio's contents are visible before
// the entry that maps it, then __folio_set_uptodate()
void __folio_mark_uptodate(Ctx& c, Folio folio);

// ---- the fault ----
// mm/memory.c handle_mm_fault()
vm_fault_t handle_mm_fault(Ctx& c, vm_area_struct& vma, Addr address, unsigned flags);
// The architecture's user fault entry (arch/arm64/mm/fault.c do_page_fault(), arch/x86/mm/fault.c
// do_user_addr_fault()) as far as it is generic: exception entry (software.fault_entry), the VMA lookup
// (lock_vma_under_rcu()), the access check against vm_flags, handle_mm_fault(). SIGSEGV when no VMA covers
// the address or it forbids the access. Holds mm->mmap_lock for reading.
vm_fault_t do_page_fault(Ctx& c, mm_struct& mm, Addr address, AccessKind kind);

// ---- fork ----
// mm/memory.c copy_page_range(): the child's page tables for one VMA (0, or -ENOMEM)
int copy_page_range(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma);

// ---- unmapping ----
// mm/memory.c __zap_vma_range() (unmap_page_range()): clears the PTEs of [start, end) inside vma into tlb
void __zap_vma_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end);
// mm/memory.c unmap_vmas(): __zap_vma_range() over every VMA of `vmas` clipped to [start, end)
void unmap_vmas(Ctx& c, mmu_gather& tlb, const std::vector<vm_area_struct*>& vmas, Addr start, Addr end);
// mm/memory.c zap_vma_range_batched()
void zap_vma_range_batched(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr address, std::uint64_t size);
// mm/memory.c zap_vma_range(): with its own mmu_gather
void zap_vma_range(Ctx& c, vm_area_struct& vma, Addr address, std::uint64_t size);
// mm/memory.c free_pgd_range(): frees the page tables that only [addr, end) used, within [floor, ceiling)
// (ceiling 0 = the top, USER_PGTABLES_CEILING)
void free_pgd_range(Ctx& c, mmu_gather& tlb, Addr addr, Addr end, Addr floor, Addr ceiling);
// mm/memory.c free_pgtables(): unlink_anon_vmas() and free_pgd_range() for VMAs already out of the tree, in
// address order; floor/ceiling are the neighbours' ends (pg_start, pg_end)
void free_pgtables(Ctx& c, mmu_gather& tlb, const std::vector<vm_area_struct*>& vmas, Addr floor, Addr ceiling);

} // namespace mmusim::mm
