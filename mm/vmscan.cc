// SPDX-License-Identifier: GPL-2.0-only
#include "mm/vmscan.hh"

#include "mm/debug_vm.hh"

#include "mm/page_io.hh"
#include "mm/phase.hh"
#include "mm/rmap.hh"
#include "mm/swap.hh"
#include "mm/swap_state.hh"
#include "mm/swapfile.hh"

namespace mmusim::mm {

namespace {

// mm/vmscan.c enum pageout_t
enum pageout_t { PAGE_KEEP, PAGE_ACTIVATE, PAGE_SUCCESS, PAGE_CLEAN };

// include/linux/page_ref.h folio_ref_freeze(): cmpxchg of the refcount from `count` to 0
bool folio_ref_freeze(Ctx& c, Folio folio, int count)
{
    const PAddr pa = page_addr(c, folio_page(folio, 0)) + PAGE_OFF_REFCOUNT;
    return c.cpu.cmpxchg(pa, static_cast<std::uint32_t>(count), 0, 4, hw::Category::StructPage) ==
           static_cast<std::uint32_t>(count);
}

// include/linux/page_ref.h folio_ref_unfreeze(): atomic_set_release(), a store-release (stlr on arm64, a plain
// store on x86)
void folio_ref_unfreeze(Ctx& c, Folio folio, int count)
{
    c.cpu.store(page_addr(c, folio_page(folio, 0)) + PAGE_OFF_REFCOUNT, static_cast<std::uint32_t>(count), 4,
                hw::Category::StructPage);
}

// include/linux/mm_inline.h folio_test_lazyfree(): anon and no longer swap-backed
bool folio_test_lazyfree(Ctx& c, Folio folio)
{
    return folio_test_anon(c, folio) && !folio_test_flag(c, folio, PG_swapbacked);
}

// mm/vmscan.c pageout() for a swap-cache folio: folio_clear_dirty_for_io(), PG_reclaim, swap_writeout()
// (which unlocks the folio)
pageout_t pageout(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "pageout");
    if (!folio_test_swapcache(c, folio))
        return PAGE_KEEP; // no mapping: file folios are not ported
    if (!folio_test_flag(c, folio, PG_dirty))
        return PAGE_CLEAN;
    folio_clear_flag(c, folio, PG_dirty); // folio_clear_dirty_for_io(): no mapping accounting for swap
    folio_set_flag(c, folio, PG_reclaim);  // folio_set_reclaim()
    // The contents go to swap now: try_to_unmap_flush_dirty() must have completed, or a CPU could still write
    // through a stale writable TLB entry and the write would be lost (checked mode asks the TLB oracle).
    check_unreachable(c, folio.pfn << c.k.page_shift(), folio_nr_pages(c, folio) << c.k.page_shift(),
                      "folio written to swap", true);
    swap_writeout(c, folio);
    if (!folio_test_flag(c, folio, PG_writeback))
        folio_clear_flag(c, folio, PG_reclaim); // synchronous write finished
    return PAGE_SUCCESS;
}

// mm/vmscan.c __remove_mapping() for a swap-cache folio: freeze the references (the isolation's and the swap
// cache's nr_pages), then __swap_cache_del_folio() under the cluster lock
bool __remove_mapping(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "__remove_mapping");
    const PAddr ci = swap_cluster_get_and_lock(c, folio);
    const int refcount = 1 + static_cast<int>(folio_nr_pages(c, folio));
    if (!folio_ref_freeze(c, folio, refcount)) {
        swap_cluster_unlock(c, ci);
        return false;
    }
    // Note that if the dirty flag is always set via folio_mark_dirty, and thus under the i_pages lock, then
    // this ordering is not required.
    if (folio_test_flag(c, folio, PG_dirty)) {
        folio_ref_unfreeze(c, folio, refcount);
        swap_cluster_unlock(c, ci);
        return false;
    }
    __swap_cache_del_folio(c, ci, folio, folio_swap(c, folio));
    swap_cluster_unlock(c, ci);
    return true;
}

// mm/page_alloc.c free_unref_folios(): folios whose references are frozen at 0 back to the allocator
void free_unref_folios(Ctx& c, std::vector<Folio>& free_folios)
{
    const PhaseScope phase(c, "free_unref_folios");
    for (const Folio f : free_folios)
        c.k.page_alloc().free_folio(c, f);
    free_folios.clear();
}

} // namespace

// mm/vmscan.c shrink_folio_list(), the anon and lazyfree paths
unsigned shrink_folio_list(Ctx& c, std::vector<Folio>& folio_list, reclaim_stat& stat, bool ignore_references)
{
    const PhaseScope phase(c, "shrink_folio_list");
    (void)ignore_references; // folio_check_references() is not ported: MADV_PAGEOUT ignores references
    std::vector<Folio> ret_folios, free_folios;
    unsigned nr_reclaimed = 0;
    for (const Folio folio : folio_list) {
        c.k.charge_sw(c, c.k.config().software.pte_loop); // cond_resched(), lru_to_folio(), list_del()
        if (!folio_trylock(c, folio)) {
            ret_folios.push_back(folio); // keep
            continue;
        }
        const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
        bool activate = false, unlocked = false; // a break that sets neither is keep_locked
        bool freed = false;                      // free_it: neither kept nor put back
        do {
            if (folio_test_flag(c, folio, PG_unevictable)) { // !folio_evictable()
                activate = true;
                break;
            }
            const bool dirty = folio_test_flag(c, folio, PG_dirty);
            const bool writeback = folio_test_flag(c, folio, PG_writeback);
            if (dirty || writeback)
                stat.nr_dirty += nr_pages;
            if (dirty && !writeback)
                stat.nr_unqueued_dirty += nr_pages;
            if (writeback) { // case 2: the port's writes complete at once, so this is a racing writer
                activate = true;
                break;
            }
            // Anonymous process memory has backing store? Try to allocate it some swap space here. Lazyfree
            // folio could be freed directly
            if (folio_test_anon(c, folio) && folio_test_flag(c, folio, PG_swapbacked) &&
                !folio_test_swapcache(c, folio)) {
                const PhaseScope add(c, "add_to_swap");
                if (folio_maybe_dma_pinned(c, folio)) {
                    // keep_locked
                    break;
                }
                if (!c.k.has_swap() || folio_alloc_swap(c, folio)) {
                    // A large folio would be split and retried (split_folio_to_list() is not ported)
                    activate = true;
                    break;
                }
                // Normally the folio will be dirtied in unmap because its pte should be dirty. A special case
                // is MADV_FREE page ... Always setting the dirty flag for the folio solves the problem.
                folio_set_flag(c, folio, PG_dirty); // folio_mark_dirty()
            }
            // The folio is mapped into the page tables of one or more processes. Try to unmap it here.
            if (folio_mapped(c, folio)) {
                ttu_flags flags = TTU_BATCH_FLUSH;
                const bool was_swapbacked = folio_test_flag(c, folio, PG_swapbacked);
                // Without TTU_SYNC, try_to_unmap will only begin to hold PTL from the first present PTE
                // within a large folio
                if (nr_pages > 1)
                    flags = flags | TTU_SYNC;
                {
                    const PhaseScope unmap(c, "try_to_unmap");
                    try_to_unmap(c, folio, flags);
                }
                if (folio_mapped(c, folio)) {
                    stat.nr_unmap_fail += nr_pages;
                    if (!was_swapbacked && folio_test_flag(c, folio, PG_swapbacked))
                        stat.nr_lazyfree_fail += nr_pages;
                    activate = true;
                    break;
                }
            }
            // Folio is unmapped now so it cannot be newly pinned anymore. No point in trying to reclaim folio
            // if it is pinned.
            if (folio_maybe_dma_pinned(c, folio)) {
                activate = true;
                break;
            }
            if (folio_test_flag(c, folio, PG_dirty)) {
                // Folio is dirty. Flush the TLB if a writable entry potentially exists to avoid CPU writes
                // after I/O starts and then write it out here.
                try_to_unmap_flush_dirty(c);
                const pageout_t res = pageout(c, folio);
                if (res == PAGE_KEEP) {
                    // keep_locked
                    break;
                }
                if (res == PAGE_ACTIVATE) {
                    activate = true;
                    break;
                }
                if (res == PAGE_SUCCESS) {
                    stat.nr_pageout += nr_pages;
                    unlocked = true; // swap_writeout() unlocked it
                    if (folio_test_flag(c, folio, PG_writeback) || folio_test_flag(c, folio, PG_dirty))
                        break; // keep
                    // A synchronous write - probably a ramdisk. Go ahead and try to reclaim the folio.
                    if (!folio_trylock(c, folio))
                        break; // keep
                    unlocked = false;
                    if (folio_test_flag(c, folio, PG_dirty) || folio_test_flag(c, folio, PG_writeback)) {
                        // keep_locked
                        break;
                    }
                }
            }
            if (folio_test_lazyfree(c, folio)) {
                // follow __remove_mapping for reference
                if (!folio_ref_freeze(c, folio, 1)) {
                    // keep_locked
                    break;
                }
            } else if (!folio_test_swapcache(c, folio) || !__remove_mapping(c, folio)) {
                // keep_locked
                break;
            }
            folio_unlock(c, folio);
            // free_it: Folio may get swapped out as a whole, need to account all pages in it.
            nr_reclaimed += nr_pages;
            free_folios.push_back(folio);
            if (free_folios.size() == 31) { // PAGEVEC_SIZE: folio_batch_add() returned 0
                try_to_unmap_flush(c);
                free_unref_folios(c, free_folios);
            }
            freed = true; // upstream's `continue` of the list walk (a continue here would only leave the do-while)
            break;
        } while (false);
        if (freed)
            continue;
        if (unlocked) {
            ret_folios.push_back(folio); // keep
            continue;
        }
        if (activate) {
            // Not a candidate for swapping, so reclaim swap space (mem_cgroup_swap_full(): vm_swap_full()).
            if (folio_test_swapcache(c, folio) && vm_swap_full(c))
                folio_free_swap(c, folio);
            folio_set_flag(c, folio, PG_active);
            stat.nr_activate += nr_pages;
        }
        folio_unlock(c, folio); // keep_locked
        ret_folios.push_back(folio); // keep
    }
    try_to_unmap_flush(c);
    free_unref_folios(c, free_folios);
    folio_list = std::move(ret_folios);
    return nr_reclaimed;
}

// mm/vmscan.c reclaim_pages() -> reclaim_folio_list() (one node)
unsigned long reclaim_pages(Ctx& c, std::vector<Folio>& folio_list)
{
    if (folio_list.empty())
        return 0;
    for (const Folio folio : folio_list)
        folio_clear_flag(c, folio, PG_active); // folio_clear_active()
    reclaim_stat stat;
    const unsigned nr_reclaimed = shrink_folio_list(c, folio_list, stat, true);
    {
        const PhaseScope phase(c, "folio_putback_lru");
        for (const Folio folio : folio_list)
            folio_putback_lru(c, folio);
    }
    folio_list.clear();
    return nr_reclaimed;
}

} // namespace mmusim::mm
