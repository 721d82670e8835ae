// SPDX-License-Identifier: GPL-2.0-only
// The LRU moves of mm/swap.c and mm/vmscan.c the madvise paths and reclaim make: folio_deactivate() (MADV_COLD),
// folio_mark_lazyfree() (MADV_FREE: a clean anon folio becomes reclaimable without swap), folio_isolate_lru() /
// folio_putback_lru() (MADV_PAGEOUT's isolation and reclaim's putback).
//
// The node's lruvec is one struct in simulated memory (Kernel::lruvec()): lru_lock at +0, the list heads at
// +16. A folio's LRU membership is PG_lru (as on main: folio_add_lru() only sets it); a move takes lru_lock as
// a spinlock and writes the folio's lru words and the list head as list_del()/list_add() would. The neighbours'
// link updates are not modelled (the lists are not walked: the ported paths never scan the LRU), nor the
// per-CPU folio batches (each move takes the lock, as folio_batch_add_and_move() does when the batch is
// disabled), nor MGLRU.
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// include/linux/mmzone.h enum lru_list
enum lru_list : unsigned { LRU_INACTIVE_ANON = 0, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE };

// include/linux/mm_inline.h folio_lru_list(): the list a folio on the LRU is on, from its flags
lru_list folio_lru_list(Ctx& c, Folio folio);
// mm/swap.c folio_deactivate(): an active folio to the inactive list
void folio_deactivate(Ctx& c, Folio folio);
// mm/swap.c folio_mark_lazyfree(): an anon, swap-backed folio not in the swap cache loses PG_swapbacked and
// moves to the inactive file list
void folio_mark_lazyfree(Ctx& c, Folio folio);
// mm/vmscan.c folio_isolate_lru(): off the LRU with a reference; false if it was not on it
bool folio_isolate_lru(Ctx& c, Folio folio);
// mm/vmscan.c folio_putback_lru(): back on the LRU (folio_add_lru()), the isolation reference dropped
void folio_putback_lru(Ctx& c, Folio folio);

} // namespace mmusim::mm
