// SPDX-License-Identifier: GPL-2.0-only
// The LRU lists (include/linux/mm_inline.h, mm/swap.c, the LRU side of mm/vmscan.c): folio_add_lru() at
// fault and swap-in, the moves the madvise paths and reclaim make (folio_activate(), folio_deactivate() for
// MADV_COLD, folio_mark_lazyfree() for MADV_FREE, folio_isolate_lru() / folio_putback_lru()), and the release
// of a freed folio from its list (__folio_put() -> page_cache_release()).
//
// The node's struct lruvec is one struct in simulated memory (Kernel::lruvec(), set up at boot): lru_lock at
// +0, the five list heads (struct list_head: next, prev) at +16, each list's size in pages at +96 (upstream
// lruvec_page_state(NR_LRU_BASE + lru), a node vmstat counter; here one word per list), anon_cost and
// file_cost at +136. A folio on a list is linked through folio->lru (next at +8, prev at +16 of its head
// struct page, the words tail pages use for compound_head): list_add() and list_del() write the folio's and
// its neighbours' links, as upstream, and reclaim walks the lists from their tails through those links.
//
// Not modelled: the per-CPU folio batches (cpu_fbatches: each move takes lru_lock at once, as
// folio_batch_add_and_move() does when lru_cache_disabled(); upstream batches up to 31 small folios per lock
// but moves a large folio at once), memcg (one lruvec per node), MGLRU, mlock (the unevictable list is never
// entered), workingset shadows and refault accounting.
#pragma once

#include "mm/kernel.hh"

#include <string>

namespace mmusim::hw {
class PhysMemory;
}

namespace mmusim::mm {

struct vm_area_struct;

// include/linux/mmzone.h enum lru_list
enum lru_list : unsigned { LRU_INACTIVE_ANON = 0, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE, LRU_UNEVICTABLE };
constexpr unsigned NR_LRU_LISTS = 5;
inline bool is_file_lru(lru_list lru) { return lru == LRU_INACTIVE_FILE || lru == LRU_ACTIVE_FILE; }
inline bool is_active_lru(lru_list lru) { return lru == LRU_ACTIVE_ANON || lru == LRU_ACTIVE_FILE; }

// struct lruvec in simulated memory
constexpr unsigned LRUVEC_OFF_LOCK = 0, LRUVEC_OFF_LISTS = 16, LRUVEC_OFF_NR_PAGES = 96, LRUVEC_OFF_ANON_COST = 136,
                   LRUVEC_OFF_FILE_COST = 144, LRUVEC_BYTES = 192;
// include/linux/poison.h LIST_POISON1 / LIST_POISON2 with arm64's and x86-64's POISON_POINTER_DELTA: what
// list_del() leaves in the removed entry
constexpr std::uint64_t LIST_POISON1 = 0xdead000000000100ull, LIST_POISON2 = 0xdead000000000122ull;

// mm/mmzone.c lruvec_init(): every list empty (INIT_LIST_HEAD), at boot (untimed, as boot is)
void lruvec_init(hw::PhysMemory& mem, PAddr lruvec);

// include/linux/mm_inline.h folio_lru_list(): the list a folio on the LRU is on, from its flags
lru_list folio_lru_list(Ctx& c, Folio folio);
// lruvec->lru_lock (folio_lruvec_lock_irq() / lruvec_unlock_irq(): one lruvec)
void lruvec_lock_irq(Ctx& c);
void lruvec_unlock_irq(Ctx& c);
// include/linux/mm_inline.h lruvec_add_folio() / lruvec_del_folio(): the caller holds lru_lock
void lruvec_add_folio(Ctx& c, Folio folio);
void lruvec_del_folio(Ctx& c, Folio folio);
// The folio the entry at the tail of `lru` belongs to (lru_to_folio(&lruvec->lists[lru])), nullopt if the list
// is empty; the caller holds lru_lock.
std::optional<Folio> lruvec_tail_folio(Ctx& c, lru_list lru);
// list_move(&folio->lru, &lruvec->lists[lru]): to the head of its list (isolate_lru_folios() skipping it)
void lruvec_move_folio_to_head(Ctx& c, Folio folio, lru_list lru);
// list_del() of an isolated folio's entry without the size update (isolate_lru_folios() updates the sizes
// once, update_lru_sizes())
void lruvec_unlink_folio(Ctx& c, Folio folio);
// include/linux/mm_inline.h update_lru_size(): the list's size in pages += nr
void update_lru_size(Ctx& c, lru_list lru, long nr);
// include/linux/memcontrol.h lruvec_page_state(lruvec, NR_LRU_BASE + lru): a list's size in pages
unsigned long lruvec_lru_size(Ctx& c, lru_list lru);
// lruvec->anon_cost and file_cost (mm/vmscan.c prepare_scan_control() reads them under lru_lock)
unsigned long lruvec_cost(Ctx& c, bool file);
// mm/swap.c lru_note_cost_unlock_irq(): the reclaim cost of a list type (IO and rotations), decayed; releases
// lru_lock
void lru_note_cost_unlock_irq(Ctx& c, bool file, unsigned nr_io, unsigned nr_rotated);

// mm/swap.c folio_add_lru(): onto the LRU (the inactive list of its type: anon folios start inactive)
void folio_add_lru(Ctx& c, Folio folio);
// mm/swap.c folio_add_lru_vma() (VM_LOCKED would go to mlock_new_folio(): mlock is not ported)
void folio_add_lru_vma(Ctx& c, Folio folio, vm_area_struct& vma);
// mm/swap.c folio_activate(): an inactive folio on the LRU to the active list
void folio_activate(Ctx& c, Folio folio);
// mm/swap.c folio_mark_accessed() without MGLRU: inactive,unreferenced -> inactive,referenced ->
// active,unreferenced (folio_activate())
void folio_mark_accessed(Ctx& c, Folio folio);
// mm/swap.c folio_deactivate(): an active folio to the inactive list
void folio_deactivate(Ctx& c, Folio folio);
// mm/swap.c folio_mark_lazyfree(): an anon, swap-backed folio not in the swap cache loses PG_swapbacked and
// moves to the inactive file list
void folio_mark_lazyfree(Ctx& c, Folio folio);
// mm/vmscan.c folio_isolate_lru(): off the LRU with a reference; false if it was not on it
bool folio_isolate_lru(Ctx& c, Folio folio);
// mm/vmscan.c folio_putback_lru(): back on the LRU (folio_add_lru()), the isolation reference dropped
void folio_putback_lru(Ctx& c, Folio folio);
// include/linux/mm_inline.h __folio_clear_lru_flags(): PG_lru, PG_active, PG_unevictable cleared (non-atomic:
// the folio has no other user)
void __folio_clear_lru_flags(Ctx& c, Folio folio);
// mm/swap.c page_cache_release(): a folio whose last reference went leaves its LRU list (__folio_put())
void page_cache_release(Ctx& c, Folio folio);

// Checked mode (untimed, no simulated cycle): every LRU list is a well-formed ring through its head (each
// entry's prev names the entry before it), each entry is the head page of a folio with PG_lru whose flags
// name that list, no folio is on a list twice, and each list's size counter equals the pages on it. Throws
// CheckError naming `when`. A no-op unless the platform is checked.
void check_lru_lists(Kernel& k, const std::string& when);

} // namespace mmusim::mm
