// SPDX-License-Identifier: GPL-2.0-only
// The swap cache (mm/swap_state.c, mm/swap.h): the folio holding a swap slot's data, found by the slot. In
// the 2026 mm tree it is the cluster's swap table (mm/swap_table.hh): a cached slot's entry holds the folio's
// pfn beside the slot's swap count, so a lookup is the cluster's table pointer and one entry (no xarray walk),
// and adding or removing a folio writes one entry per page under the cluster lock. A swap-cache folio has
// PG_swapcache, folio->swap (its first slot) and one reference per page held by the cache.
#pragma once

#include "mm/swapfile.hh"

#include <optional>

namespace mmusim::mm {

struct vm_fault;

// mm/swap_state.c swap_cache_get_folio(): the folio caching `entry`'s slot, with a reference (unlocked; the
// caller locks it and checks folio_matches_swap_entry())
std::optional<Folio> swap_cache_get_folio(Ctx& c, swp_entry_t entry);
// mm/swap_state.c swap_cache_has_folio()
bool swap_cache_has_folio(Ctx& c, swp_entry_t entry);
// mm/swap.h folio_matches_swap_entry(): a locked folio still in the swap cache at the aligned slot of `entry`
bool folio_matches_swap_entry(Ctx& c, Folio folio, swp_entry_t entry);
// mm/swap_state.c __swap_cache_add_folio(): a locked, swap-backed folio into the swap cache at `entry`, the
// cluster `ci` locked and every slot free of other folios (folio_alloc_swap() at allocation, swapin)
void __swap_cache_add_folio(Ctx& c, PAddr ci, Folio folio, swp_entry_t entry);
// mm/swap_state.c __swap_cache_del_folio(): the folio out of the swap cache (an empty shadow left in each
// slot, slots with no swap count freed), the cluster locked; its references stay with the caller
void __swap_cache_del_folio(Ctx& c, PAddr ci, Folio folio, swp_entry_t entry);
// mm/swap_state.c swap_cache_del_folio(): the same taking the cluster lock, dropping the cache's references
void swap_cache_del_folio(Ctx& c, Folio folio);
// mm/swap_state.c swapin_folio(): a new, allocated folio into the swap cache at `entry` (rounded down to the
// folio's size) and read from the device. The folio itself on success, the folio already cached at an order-0
// entry, or nullopt when a large folio raced with another swapin (the caller falls back to order 0).
std::optional<Folio> swapin_folio(Ctx& c, swp_entry_t entry, Folio folio);
// mm/swap_state.c free_swap_cache(): an unmapped swap-cache folio leaves the cache if no swap PTE names it
void free_swap_cache(Ctx& c, Folio folio);

// mm/swap.h non_swapcache_batch(): how many slots from `entry` no folio caches (up to max_nr)
unsigned non_swapcache_batch(Ctx& c, swp_entry_t entry, unsigned max_nr);

} // namespace mmusim::mm
