// SPDX-License-Identifier: GPL-2.0-only
// Reverse mapping of anonymous folios (include/linux/rmap.h, mm/rmap.c) in the current kernel's scheme:
// CONFIG_NO_PAGE_MAPCOUNT (a large folio keeps one _large_mapcount for all its PTE mappings, no per-page
// mapcount) with CONFIG_MM_ID (two per-MM mapcount slots and a "maybe mapped shared" bit in _mm_ids, updated
// under a bit spinlock), PG_anon_exclusive per page, and folio->mapping = anon_vma | PAGE_MAPPING_ANON.
// Every field is the timed struct page access upstream makes.
//
// The anon_vma hierarchy: each VMA with anonymous folios is chained (anon_vma_chain) to its own anon_vma and,
// after fork, to its ancestors'; each anon_vma keeps the VMAs chained to it in an interval tree by vm_pgoff
// (host-side, its walks charged) and its root holds the rwsem. find_mergeable_anon_vma() is not ported.
//
// The unmap side of reclaim: try_to_unmap() walks the folio's anon_vma (rmap_walk_anon()) and unmaps each
// VMA's PTEs in try_to_unmap_one(), as mainline before the batched anon unmap series (kernel.anon_unmap_batch
// off: a swap-backed folio one PTE at a time) or with it (batches, sub-batched by anon-exclusivity), with the
// deferred TLB flush of TTU_BATCH_FLUSH (kernel.defer_flush).
//
// Device-exclusive entries (make_device_exclusive()) are mappings the rmap walk finds and unmaps.
//
// Not modelled: the NR_ANON_MAPPED/NR_ANON_THPS statistics (__folio_mod_stat), mlock/munlock (a VM_LOCKED
// folio stays mapped; mlock_vma_folio() itself is not called), the deferred split queue (no shrinker runs),
// KSM and device-private folios, file rmap, hugetlb, HWPoison, uffd-wp markers, mmu notifiers, swapoff's
// mmlist, PMD-mapped folios in try_to_unmap_one() (no TTU_SPLIT_HUGE_PMD: the walk aborts).
#pragma once

#include "mm/kernel.hh"

#include <cerrno>
#include <utility>
#include <vector>

namespace mmusim::mm {

// include/linux/rmap.h rmap_t
using rmap_t = int;
enum : rmap_t { RMAP_NONE = 0, RMAP_EXCLUSIVE = 1 };

// include/linux/pgtable.h enum pgtable_level (the levels rmap accounts at)
enum class pgtable_level { PTE, PMD, PUD };

// -EBUSY and -EAGAIN as upstream (<cerrno>)

// include/linux/mm_types.h CONFIG_MM_ID (64-bit)
constexpr unsigned MM_ID_DUMMY = 0;
constexpr unsigned MM_ID_BITS = 31;
constexpr std::uint64_t MM_ID_MASK = (std::uint64_t{1} << MM_ID_BITS) - 1;
constexpr unsigned FOLIO_MM_IDS_LOCK_BITNUM = MM_ID_BITS;
constexpr unsigned FOLIO_MM_IDS_SHARED_BITNUM = 2 * MM_ID_BITS + 1;

// struct anon_vma in simulated memory (include/linux/rmap.h order: root, rwsem, refcount, num_children,
// num_active_vmas, parent, rb_root; the rwsem word first so that the existing lock line is the root's)
constexpr unsigned ANON_VMA_OFF_RWSEM = 0, ANON_VMA_OFF_REFCOUNT = 8, ANON_VMA_OFF_NUM_CHILDREN = 16,
                   ANON_VMA_OFF_NUM_ACTIVE_VMAS = 24, ANON_VMA_OFF_ROOT = 32, ANON_VMA_OFF_PARENT = 40,
                   ANON_VMA_OFF_RB_ROOT = 48, ANON_VMA_BYTES = 128;
// struct anon_vma_chain in simulated memory: vma, anon_vma, same_vma, rb, rb_subtree_last
constexpr unsigned AVC_OFF_VMA = 0, AVC_OFF_ANON_VMA = 8, AVC_OFF_SAME_VMA = 16, AVC_OFF_RB = 32,
                   AVC_OFF_RB_SUBTREE_LAST = 56, AVC_BYTES = 64;
// struct vm_area_struct fields the rmap reads and writes (the rest of its layout: mm/mmap.cc)
constexpr unsigned VMA_OFF_VM_START = 0, VMA_OFF_VM_END = 8, VMA_OFF_PGOFF = 120, VMA_OFF_ANON_VMA_CHAIN = 136,
                   VMA_OFF_ANON_VMA = 152;

// mm/vma.h enum vma_operation: why anon_vma_clone() runs
enum class vma_operation { VMA_OP_SPLIT, VMA_OP_MERGE_UNFAULTED, VMA_OP_REMAP, VMA_OP_FORK };

// include/linux/pagemap.h linear_page_index(): vma->vm_pgoff + the page's offset in the VMA
inline std::uint64_t linear_page_index(const Ctx& c, const vm_area_struct& vma, Addr address)
{
    return vma.vm_pgoff + ((address - vma.vm_start) >> c.k.page_shift());
}

// mm/rmap.c __anon_vma_prepare() via anon_vma_prepare(): the VMA's anon_vma, allocated on first need with its
// chain, installed under the anon_vma lock and mm->page_table_lock.
void anon_vma_prepare(Ctx& c, vm_area_struct& vma);
// mm/rmap.c anon_vma_clone(): dst (a split-off part, a merge target, mremap's copy) chained to every
// anon_vma src is chained to. 0 (the port does not fail allocations here).
int anon_vma_clone(Ctx& c, vm_area_struct& dst, vm_area_struct& src, vma_operation operation);
// mm/rmap.c anon_vma_fork(): the child's VMA chained to the parent's anon_vmas plus one of its own (a child
// of the parent VMA's anon_vma), where its COW folios go; or an unused one of the hierarchy reused.
int anon_vma_fork(Ctx& c, vm_area_struct& vma, vm_area_struct& pvma);
// mm/rmap.c unlink_anon_vmas(): the VMA leaves the interval trees, its chain is freed, and anon_vmas no VMA
// references any more are put (the last reference frees one).
void unlink_anon_vmas(Ctx& c, vm_area_struct& vma);
// mm/vma.c anon_vma_interval_tree_pre_update_vma() / anon_vma_interval_tree_post_update_vma(): around a
// change of the VMA's vm_start/vm_pgoff/vm_end (the trees are keyed by them), under the anon_vma lock
void anon_vma_interval_tree_pre_update_vma(Ctx& c, vm_area_struct& vma);
void anon_vma_interval_tree_post_update_vma(Ctx& c, vm_area_struct& vma);

// mm/rmap.c folio_add_new_anon_rmap(): a new folio mapped entirely by `vma` from `address`, by PTEs or, at
// pgtable_level::PMD, by one PMD leaf. Upstream infers the level from folio_test_pmd_mappable(); the port also
// PTE-maps PMD-sized folios at fault time (mm/memory.cc alloc_anon_folio()), so the caller says which.
void folio_add_new_anon_rmap(Ctx& c, Folio folio, vm_area_struct& vma, Addr address, rmap_t flags,
                             pgtable_level level = pgtable_level::PTE);
// mm/rmap.c folio_add_anon_rmap_ptes()
void folio_add_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma, Addr address,
                              rmap_t flags);
// mm/rmap.c folio_add_file_rmap_ptes() -> __folio_add_file_rmap(): a file (shmem) folio's nr_pages pages
// mapped by PTEs of `vma` (the mapcounts as for anon; no anon_vma, no PG_anon_exclusive; the NR_SHMEM_PMDMAPPED /
// NR_FILE_MAPPED statistics are not modelled)
void folio_add_file_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma);
// mm/rmap.c folio_remove_rmap_ptes() (anon and file folios alike at PTE level)
void folio_remove_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma);
inline void folio_remove_rmap_pte(Ctx& c, Folio folio, pfn_t page, vm_area_struct& vma)
{
    folio_remove_rmap_ptes(c, folio, page, 1, vma);
}
// mm/rmap.c folio_remove_rmap_pmd(): the folio's PMD mapping goes (_entire_mapcount and _large_mapcount)
void folio_remove_rmap_pmd(Ctx& c, Folio folio, pfn_t page, vm_area_struct& vma);

// include/linux/rmap.h __folio_try_dup_anon_rmap() at PTE level via folio_try_dup_anon_rmap_ptes(): 0, or
// -EBUSY when the folio may be pinned and a page is exclusive (the caller copies instead)
int folio_try_dup_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& dst_vma,
                                 vm_area_struct& src_vma);
inline int folio_try_dup_anon_rmap_pte(Ctx& c, Folio folio, pfn_t page, vm_area_struct& dst_vma,
                                       vm_area_struct& src_vma)
{
    return folio_try_dup_anon_rmap_ptes(c, folio, page, 1, dst_vma, src_vma);
}

// include/linux/rmap.h __folio_try_share_anon_rmap(): one barrier pair and one pin check; clears
// PG_anon_exclusive on `page` only, as upstream does today (nr_pages feeds the sanity checks). The batched
// anon unmap series' folio_try_share_anon_rmap_ptes() clears all nr_pages here (PTE level).
int __folio_try_share_anon_rmap(Ctx& c, Folio folio, pfn_t page, int nr_pages, pgtable_level level);
// include/linux/rmap.h folio_try_share_anon_rmap_pte()
inline int folio_try_share_anon_rmap_pte(Ctx& c, Folio folio, pfn_t page)
{
    c.k.stats().batch("folio_try_share_anon_rmap_pte", 1);
    return __folio_try_share_anon_rmap(c, folio, page, 1, pgtable_level::PTE);
}

// include/linux/rmap.h folio_try_share_anon_rmap_ptes() (the batched anon unmap series, patch 8/9): one
// barrier pair and one pin check for a batch of exclusive pages, then ClearPagesAnonExclusive() on all nr.
inline int folio_try_share_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr)
{
    c.k.stats().batch("folio_try_share_anon_rmap_ptes", static_cast<unsigned>(nr));
    return __folio_try_share_anon_rmap(c, folio, page, nr, pgtable_level::PTE);
}

// include/linux/rmap.h enum ttu_flags
enum ttu_flags : unsigned {
    TTU_NONE = 0,
    TTU_USE_SHARED_ZEROPAGE = 0x2, // zero-filled subpages to the shared zero page (not modelled)
    TTU_SPLIT_HUGE_PMD = 0x4,      // split a PMD mapping first
    TTU_IGNORE_MLOCK = 0x8,        // unmap from VM_LOCKED VMAs too
    TTU_SYNC = 0x10,               // PVMW_SYNC: never skip a busy page table
    TTU_HWPOISON = 0x20,           // not modelled
    TTU_BATCH_FLUSH = 0x40,        // defer the TLB flush to try_to_unmap_flush()
    TTU_RMAP_LOCKED = 0x80,        // the caller holds the anon_vma lock
};
constexpr ttu_flags operator|(ttu_flags a, ttu_flags b)
{
    return static_cast<ttu_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}

// include/linux/mm.h folio_mapped()
inline bool folio_mapped(Ctx& c, Folio folio) { return folio_mapcount(c, folio) >= 1; }

// mm/rmap.c try_to_unmap(): unmaps the locked folio from every VMA that maps it (rmap_walk_anon over its
// anon_vma, try_to_unmap_one per VMA). The caller (reclaim) holds the folio lock and a reference, and for a
// swap-backed anon folio has added it to the swap cache (folio_alloc_swap()). Success is folio_mapped()
// false afterwards, as upstream.
void try_to_unmap(Ctx& c, Folio folio, ttu_flags flags);
// mm/rmap.c try_to_unmap_flush(): the TLB flush deferred by TTU_BATCH_FLUSH on the running core's task
void try_to_unmap_flush(Ctx& c);
// mm/rmap.c try_to_unmap_flush_dirty(): the same, only if a deferred PTE was writable/dirty (before pageout())
void try_to_unmap_flush_dirty(Ctx& c);
// mm/rmap.c rmap_walk_anon() over the folio's anon_vma: the VMAs the walk visits and the address it hands
// each (vma_address()), for tests and tools that look at what the rmap finds
std::vector<std::pair<vm_area_struct*, Addr>> rmap_walk_anon_vmas(Ctx& c, Folio folio);

// mm/rmap.c make_device_exclusive(): the page mapped at addr in mm (faulted in writable first, through GUP)
// replaced by a device-exclusive entry (its pfn in a special swap PTE, mm/leafops.hh): the folio stays
// mapped (mapcount, refcount and MM_ANONPAGES unchanged) but the CPU faults on it, and the fault restores
// the PTE (do_swap_page() -> remove_device_exclusive_entry()). The caller holds mm->mmap_lock for reading.
// Returns 0 with *pagep / *foliop set, the folio locked and referenced (the driver maps the page into its
// device, then folio_unlock() and folio_put()), or -errno: -EOPNOTSUPP for a page that is not anonymous,
// GUP's errors (-EFAULT: no VMA, or one that forbids writing).
int make_device_exclusive(Ctx& c, mm_struct& mm, Addr addr, pfn_t& pagep, Folio& foliop);

// mm/rmap.c flush_tlb_batched_pending(): under the PTL, before changing PTEs reclaim may have cleared without
// a completed flush (zap, mprotect, madvise, mremap call it upstream)
void flush_tlb_batched_pending(Ctx& c, mm_struct& mm);

// include/linux/mm.h folio_maybe_mapped_shared()
bool folio_maybe_mapped_shared(Ctx& c, Folio folio);
// include/linux/mm.h folio_needs_cow_for_dma(): MMF_HAS_PINNED and folio_maybe_dma_pinned()
bool folio_needs_cow_for_dma(Ctx& c, vm_area_struct& vma, Folio folio);

// include/linux/rmap.h CONFIG_MM_ID helpers
void folio_lock_large_mapcount(Ctx& c, Folio folio);
void folio_unlock_large_mapcount(Ctx& c, Folio folio);
unsigned folio_mm_id(Ctx& c, Folio folio, int idx);
bool folio_mm_ids_shared(Ctx& c, Folio folio); // test_bit(FOLIO_MM_IDS_SHARED_BITNUM, &folio->_mm_ids)
void folio_set_large_mapcount(Ctx& c, Folio folio, int mapcount, vm_area_struct& vma);
int folio_add_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma);
int folio_sub_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma);

} // namespace mmusim::mm
