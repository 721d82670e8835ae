// SPDX-License-Identifier: GPL-2.0-only
// Reclaim of an isolated folio list (mm/vmscan.c): reclaim_pages() -> reclaim_folio_list() ->
// shrink_folio_list(), as MADV_PAGEOUT drives it (ignore_references: the caller asked for these folios to go).
// The anon path: folio_trylock(), add_to_swap (folio_alloc_swap(): slots and the swap cache), try_to_unmap()
// with TTU_BATCH_FLUSH (mm/rmap.hh), try_to_unmap_flush_dirty() before pageout() -> swap_writeout()
// (mm/page_io.hh), then __remove_mapping() out of the swap cache and free_unref_folios() after the final
// try_to_unmap_flush(); a clean lazyfree folio (MADV_FREE) is discarded without I/O, a redirtied one goes back
// swap-backed (try_to_unmap() restores it). Folios that could not be reclaimed return to the LRU.
//
// Not modelled: LRU scanning (shrink_lruvec() and kswapd: only MADV_PAGEOUT's list is reclaimed),
// folio_check_references() (ignore_references is always true here), demotion, memcg, file folios, splitting
// a large folio that cannot get swap slots (it is kept: split_folio_to_list() is not ported), writeback
// waits (the device completes writes before swap_writeout() returns).
#pragma once

#include "mm/kernel.hh"

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

} // namespace mmusim::mm
