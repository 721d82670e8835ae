// SPDX-License-Identifier: GPL-2.0-only
// Reclaim (mm/vmscan.c), from its two entries in the port:
//  - MADV_PAGEOUT: reclaim_pages() -> reclaim_folio_list() -> shrink_folio_list() on the folios madvise
//    isolated (ignore_references: the caller asked for these folios to go);
//  - LRU reclaim as cgroup v2 memory.reclaim reaches it (mm/memcontrol.c memory_reclaim() ->
//    user_proactive_reclaim() -> try_to_free_mem_cgroup_pages() -> do_try_to_free_pages() -> shrink_zones() ->
//    shrink_node() -> shrink_node_memcgs() -> shrink_lruvec() -> get_scan_count(), shrink_list() ->
//    shrink_inactive_list() -> isolate_lru_folios(), shrink_folio_list(), move_folios_to_lru()): folios from
//    the tails of the inactive lists (mm/swap.hh), whichever VMAs and mms map them; try_to_unmap() finds
//    every mapping through the rmap walk.
// shrink_folio_list()'s anon path: folio_trylock(), add_to_swap (folio_alloc_swap(): slots and the swap
// cache), try_to_unmap() with TTU_BATCH_FLUSH (mm/rmap.hh), try_to_unmap_flush_dirty() before pageout() ->
// swap_writeout() (mm/page_io.hh), then __remove_mapping() out of the swap cache and free_unref_folios() after
// the final try_to_unmap_flush(); a clean lazyfree folio (MADV_FREE) is discarded without I/O, a redirtied one
// goes back swap-backed (try_to_unmap() restores it). Folios that could not be reclaimed return to the LRU
// (activated where upstream activates them).
//
// Not modelled: memcg (the root cgroup's lruvec is the node's; no charges, limits, protection or cgroup
// tree), folio_check_references() (no reference aging: the LRU path reclaims an isolated folio as if its
// PTEs were old, FOLIOREF_RECLAIM), shrink_active_list() (it needs folio_referenced(): the active lists are
// not scanned, so a folio reclaim activated stays active until MADV_PAGEOUT or a free takes it), kswapd,
// direct reclaim from the allocator and watermarks, workingset refaults, shrink_slab(), demotion, file
// folios, splitting (a large folio that cannot get swap slots is kept; a partially mapped one is swapped
// out whole: the deferred split queue is not ported, so none is ever queued for the split upstream does
// first), TTU_SPLIT_HUGE_PMD (a PMD-mapped THP stays mapped and is activated), shmem writeout (a shmem
// folio LRU reclaim meets is kept or activated), writeback waits and throttling (the device completes writes
// before swap_writeout() returns; too_many_isolated() is never true with one reclaimer).
#pragma once

#include "mm/kernel.hh"

#include <optional>
#include <vector>

namespace mmusim::mm {

// mm/vmscan.c struct reclaim_stat, the fields the anon path fills
struct reclaim_stat {
    unsigned nr_dirty = 0, nr_unqueued_dirty = 0, nr_pageout = 0, nr_unmap_fail = 0, nr_lazyfree_fail = 0;
    unsigned nr_activate = 0;
};

// mm/vmscan.c shrink_folio_list(): reclaims the isolated, locked-by-nobody folios of `folio_list` (each with
// the isolation reference); the ones kept stay in folio_list. Returns the pages reclaimed.
unsigned shrink_folio_list(Ctx& c, std::vector<Folio>& folio_list, reclaim_stat& stat, bool ignore_references);
// mm/vmscan.c reclaim_pages(): reclaims an isolated folio list (one node) and puts back what is left.
unsigned long reclaim_pages(Ctx& c, std::vector<Folio>& folio_list);

// include/linux/swap.h
constexpr int MIN_SWAPPINESS = 0, MAX_SWAPPINESS = 200, SWAPPINESS_ANON_ONLY = MAX_SWAPPINESS + 1;
// mm/vmscan.c vm_swappiness: the sysctl's default, which the root memcg's mem_cgroup_swappiness() returns
constexpr int vm_swappiness = 60;
// mm/vmscan.c: DEF_PRIORITY (scan 1/4096 of the lists first), SWAP_CLUSTER_MAX (include/linux/swap.h),
// MAX_RECLAIM_RETRIES (mm/internal.h)
constexpr int DEF_PRIORITY = 12;
constexpr unsigned long SWAP_CLUSTER_MAX = 32;
constexpr unsigned MAX_RECLAIM_RETRIES = 16;

// mm/vmscan.c struct scan_control, the fields the ported paths use
struct scan_control {
    unsigned long nr_to_reclaim = 0;      // how many pages to reclaim
    std::optional<int> proactive_swappiness; // memory.reclaim's swappiness=, else the memcg's
    bool cgroup_reclaim = false;          // target_mem_cgroup != NULL (cgroup_reclaim())
    bool may_writepage = true, may_unmap = true, may_swap = true, proactive = false;
    unsigned may_deactivate = 0;          // DEACTIVATE_ANON / DEACTIVATE_FILE
    bool force_deactivate = false, cache_trim_mode = false, file_is_tiny = false;
    unsigned long anon_cost = 0, file_cost = 0; // the lruvec's, for get_scan_count()
    int priority = DEF_PRIORITY;          // scan (lru size >> priority) pages
    unsigned long nr_scanned = 0, nr_reclaimed = 0;
};

// mm/vmscan.c try_to_free_mem_cgroup_pages() of the root memcg with MEMCG_RECLAIM_MAY_SWAP |
// MEMCG_RECLAIM_PROACTIVE (memory.reclaim): reclaims at least max(nr_pages, SWAP_CLUSTER_MAX) pages if it
// can, priority by priority; returns the pages reclaimed.
unsigned long try_to_free_mem_cgroup_pages(Ctx& c, unsigned long nr_pages, std::optional<int> swappiness);
// mm/vmscan.c user_proactive_reclaim() for a memcg (the root; memory.reclaim written with `bytes` and, when
// given, swappiness=N or swappiness=max, which is SWAPPINESS_ANON_ONLY): reclaims bytes / PAGE_SIZE pages,
// retrying MAX_RECLAIM_RETRIES times without progress. Returns 0, or -EAGAIN when it gave up; *reclaimed
// (if given) gets the pages reclaimed.
int user_proactive_reclaim(Ctx& c, std::uint64_t bytes, std::optional<int> swappiness,
                           unsigned long* reclaimed = nullptr);

} // namespace mmusim::mm
