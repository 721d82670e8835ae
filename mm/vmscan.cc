// SPDX-License-Identifier: GPL-2.0-only
#include "mm/vmscan.hh"

#include "mm/debug_vm.hh"

#include "mm/page_io.hh"
#include "mm/phase.hh"
#include "mm/rmap.hh"
#include "mm/swap.hh"
#include "mm/swap_state.hh"
#include "mm/swapfile.hh"

#include <algorithm>
#include <cerrno>

namespace mmusim::mm {

namespace {

// mm/vmscan.c enum pageout_t
enum pageout_t { PAGE_KEEP, PAGE_ACTIVATE, PAGE_SUCCESS, PAGE_CLEAN };

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
    // folio_check_references() is not ported: without ignore_references (LRU reclaim) every folio is
    // FOLIOREF_RECLAIM, as if its PTEs were old and it was not referenced
    (void)ignore_references;
    std::vector<Folio> ret_folios, free_folios;
    unsigned nr_reclaimed = 0;
    for (const Folio folio : folio_list) {
        c.k.charge_sw(c, c.k.config().software.pte_loop); // cond_resched(), lru_to_folio(), list_del()
        if (!folio_trylock(c, folio)) {
            ret_folios.push_back(folio); // keep
            continue;
        }
        MMUSIM_VM_BUG_ON_FOLIO(c, (page_word(c.k, folio.pfn, PAGE_OFF_FLAGS) >> PG_active) & 1, "shrink_folio_list", folio);
        const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
        bool activate = false, unlocked = false, freed = false; // a break that sets none is keep_locked
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
            freed = true;
        } while (false);
        if (freed)
            continue; // the folio is gone: not kept (a `continue` above would only leave the do-while)
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

// ---- LRU reclaim: memory.reclaim of the root memcg ----

namespace {

constexpr unsigned DEACTIVATE_ANON = 1, DEACTIVATE_FILE = 2;
constexpr lru_list evictable_lrus[] = {LRU_INACTIVE_ANON, LRU_ACTIVE_ANON, LRU_INACTIVE_FILE, LRU_ACTIVE_FILE};

// mm/vmscan.c isolate_lru_folios(): up to nr_to_scan pages' worth of folios from the tail of `lru` onto dst
// (in the order taken, the oldest first); a folio that cannot be taken (off the LRU, being freed, isolated by
// another) goes to the list's head. Called under lru_lock. Returns the pages taken; *nr_scanned the pages
// looked at. The move onto the caller's private list is the unlink from the LRU and the stores to the
// folio's links (the private list's head is host-side).
unsigned long isolate_lru_folios(Ctx& c, unsigned long nr_to_scan, std::vector<Folio>& dst, unsigned long& nr_scanned,
                                 const scan_control& sc, lru_list lru)
{
    unsigned long nr_taken = 0, total_scan = 0, scan = 0;
    while (scan < nr_to_scan) {
        const std::optional<Folio> tail = lruvec_tail_folio(c, lru);
        if (!tail) // list_empty(src)
            break;
        const Folio folio = *tail;
        c.k.charge_sw(c, c.k.config().software.pte_loop); // the loop's bookkeeping per folio
        const unsigned long nr_pages = folio_nr_pages(c, folio);
        total_scan += nr_pages;
        // (no zones above sc->reclaim_idx to skip: one zone) Account all pages in a folio.
        scan += nr_pages;
        bool taken = false;
        if (folio_test_flag(c, folio, PG_lru) && (sc.may_unmap || !folio_mapped(c, folio))) {
            // Be careful not to clear the lru flag until after we're sure the folio is not being freed
            // elsewhere -- the folio release code relies on it.
            if (folio_try_get(c, folio)) {
                if (folio_test_clear_flag(c, folio, PG_lru))
                    taken = true;
                else
                    folio_put(c, folio); // Another thread is already isolating this folio
            }
        }
        if (taken) {
            nr_taken += nr_pages;
            lruvec_unlink_folio(c, folio);
            dst.push_back(folio);
        } else {
            lruvec_move_folio_to_head(c, folio, lru);
        }
    }
    nr_scanned = total_scan;
    if (nr_taken)
        update_lru_size(c, lru, -static_cast<long>(nr_taken)); // update_lru_sizes()
    return nr_taken;
}

// mm/vmscan.c move_folios_to_lru(): the folios shrink_folio_list() kept back onto their lists (active if it
// activated them) under one hold of lru_lock, the isolation reference dropped; a folio whose last reference
// that was is freed instead. Returns the pages moved.
unsigned move_folios_to_lru(Ctx& c, std::vector<Folio>& list)
{
    const PhaseScope phase(c, "move_folios_to_lru");
    unsigned nr_moved = 0;
    std::vector<Folio> free_folios;
    bool locked = false;
    for (const Folio folio : list) {
        if (!locked) {
            lruvec_lock_irq(c); // folio_lruvec_relock_irq()
            locked = true;
        }
        MMUSIM_VM_BUG_ON_FOLIO(c, (page_word(c.k, folio.pfn, PAGE_OFF_FLAGS) >> PG_lru) & 1, "move_folios_to_lru", folio);
        // (folio_evictable(): mlock is not ported, every folio is)
        // The folio_set_lru needs to be kept here for list integrity.
        folio_set_flag(c, folio, PG_lru);
        if (folio_put_testzero(c, folio)) {
            __folio_clear_lru_flags(c, folio);
            free_folios.push_back(folio);
            if (free_folios.size() == 31) { // folio_batch_add() returned 0
                lruvec_unlock_irq(c);
                locked = false;
                free_unref_folios(c, free_folios);
            }
            continue;
        }
        lruvec_add_folio(c, folio);
        nr_moved += static_cast<unsigned>(folio_nr_pages(c, folio));
    }
    if (locked)
        lruvec_unlock_irq(c);
    if (!free_folios.empty())
        free_unref_folios(c, free_folios);
    list.clear();
    return nr_moved;
}

// mm/vmscan.c shrink_inactive_list()
unsigned long shrink_inactive_list(Ctx& c, unsigned long nr_to_scan, scan_control& sc, lru_list lru)
{
    const PhaseScope phase(c, "shrink_inactive_list");
    const bool file = is_file_lru(lru);
    // too_many_isolated(): one reclaimer at a time in the port; lru_add_drain(): no per-CPU batches
    std::vector<Folio> folio_list;
    unsigned long nr_scanned = 0, nr_taken = 0;
    {
        const PhaseScope isolate(c, "isolate_lru_folios");
        lruvec_lock_irq(c);
        nr_taken = isolate_lru_folios(c, nr_to_scan, folio_list, nr_scanned, sc, lru);
        c.k.stats().pgscan += nr_scanned; // PGSCAN_PROACTIVE, PGSCAN_ANON + file
        lruvec_unlock_irq(c);
    }
    sc.nr_scanned += nr_scanned; // (shrink_folio_list() counts it upstream: the same pages without splits)
    if (nr_taken == 0)
        return 0;
    reclaim_stat stat;
    const unsigned nr_reclaimed = shrink_folio_list(c, folio_list, stat, false);
    move_folios_to_lru(c, folio_list);
    c.k.stats().pgsteal += nr_reclaimed; // PGSTEAL_PROACTIVE, PGSTEAL_ANON + file
    lruvec_lock_irq(c);
    lru_note_cost_unlock_irq(c, file, stat.nr_pageout, static_cast<unsigned>(nr_scanned - nr_reclaimed));
    // handle_reclaim_writeback(): no flusher threads, no throttling
    return nr_reclaimed;
}

// mm/vmscan.c shrink_list(): shrink_active_list() is not ported (it needs folio_referenced()), so an active
// list is never scanned, as if sc->may_deactivate never allowed it
unsigned long shrink_list(Ctx& c, lru_list lru, unsigned long nr_to_scan, scan_control& sc)
{
    if (is_active_lru(lru))
        return 0;
    return shrink_inactive_list(c, nr_to_scan, sc, lru);
}

// mm/vmscan.c inactive_is_low(): the inactive list is below its target share of the type's pages
bool inactive_is_low(Ctx& c, lru_list inactive_lru)
{
    const unsigned long inactive = lruvec_lru_size(c, inactive_lru);
    const unsigned long active = lruvec_lru_size(c, static_cast<lru_list>(inactive_lru + 1));
    const unsigned long gb = (inactive + active) >> (30 - c.k.page_shift());
    unsigned long inactive_ratio = 1;
    if (gb) { // int_sqrt(10 * gb)
        inactive_ratio = 0;
        while ((inactive_ratio + 1) * (inactive_ratio + 1) <= 10 * gb)
            ++inactive_ratio;
    }
    return inactive * inactive_ratio < active;
}

// mm/vmscan.c can_reclaim_anon_pages() for a memcg (the root: mem_cgroup_get_nr_swap_pages() is
// get_nr_swap_pages()); no demotion
bool can_reclaim_anon_pages(Ctx& c)
{
    if (!c.k.has_swap())
        return false;
    return static_cast<long>(c.cpu.load(c.k.swap().nr_swap_pages(), 8, hw::Category::KernelMemory)) > 0;
}

// mm/vmscan.c prepare_scan_control() (no workingset refaults: may_deactivate follows inactive_is_low())
void prepare_scan_control(Ctx& c, scan_control& sc)
{
    // Determine the scan balance between anon and file LRUs.
    lruvec_lock_irq(c);
    sc.anon_cost = lruvec_cost(c, false);
    sc.file_cost = lruvec_cost(c, true);
    lruvec_unlock_irq(c);
    // Target desirable inactive:active list ratios for the anon and file LRU lists.
    if (!sc.force_deactivate) {
        sc.may_deactivate = 0;
        if (inactive_is_low(c, LRU_INACTIVE_ANON))
            sc.may_deactivate |= DEACTIVATE_ANON;
        if (inactive_is_low(c, LRU_INACTIVE_FILE))
            sc.may_deactivate |= DEACTIVATE_FILE;
    } else {
        sc.may_deactivate = DEACTIVATE_ANON | DEACTIVATE_FILE;
    }
    // If we have plenty of inactive file pages that aren't thrashing, try to reclaim those first before
    // touching anonymous pages.
    const unsigned long file = lruvec_lru_size(c, LRU_INACTIVE_FILE);
    sc.cache_trim_mode = (file >> sc.priority) && !(sc.may_deactivate & DEACTIVATE_FILE);
    // file_is_tiny: global reclaim only (watermarks are not modelled)
    sc.file_is_tiny = false;
}

// mm/vmscan.c calculate_pressure_balance()
void calculate_pressure_balance(const scan_control& sc, int swappiness, std::uint64_t fraction[2],
                                std::uint64_t& denominator)
{
    // Calculate the pressure balance between anon and file pages: inversely proportional to the cost of
    // reclaiming each list, times the relative IO cost (swappiness); at least a third of the pressure each.
    unsigned long total_cost = sc.anon_cost + sc.file_cost;
    const unsigned long anon_cost = total_cost + sc.anon_cost;
    const unsigned long file_cost = total_cost + sc.file_cost;
    total_cost = anon_cost + file_cost;
    std::uint64_t ap = static_cast<std::uint64_t>(swappiness) * (total_cost + 1);
    ap /= anon_cost + 1;
    std::uint64_t fp = static_cast<std::uint64_t>(MAX_SWAPPINESS - swappiness) * (total_cost + 1);
    fp /= file_cost + 1;
    fraction[0] = ap;
    fraction[1] = fp;
    denominator = ap + fp;
}

// mm/vmscan.c get_scan_count(): nr[lru], the pages of each evictable list to scan at this priority
void get_scan_count(Ctx& c, const scan_control& sc, unsigned long nr[NR_LRU_LISTS])
{
    enum { SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE } scan_balance;
    const int swappiness = sc.proactive_swappiness ? *sc.proactive_swappiness : vm_swappiness; // sc_swappiness()
    std::uint64_t fraction[2] = {0, 0}, denominator = 0;
    if (swappiness == SWAPPINESS_ANON_ONLY) {
        // Proactive reclaim initiated by userspace for anonymous memory only.
        if (!can_reclaim_anon_pages(c)) {
            for (unsigned l = 0; l < NR_LRU_LISTS; ++l)
                nr[l] = 0;
            return;
        }
        scan_balance = SCAN_ANON;
    } else if (!sc.may_swap || !can_reclaim_anon_pages(c)) {
        // If we have no swap space, do not bother scanning anon folios.
        scan_balance = SCAN_FILE;
    } else if (sc.cgroup_reclaim && !swappiness) {
        scan_balance = SCAN_FILE;
    } else if (!sc.priority && swappiness) {
        // Do not apply any pressure balancing cleverness when the system is close to OOM.
        scan_balance = SCAN_EQUAL;
    } else if (sc.file_is_tiny) {
        scan_balance = SCAN_ANON;
    } else if (sc.cache_trim_mode) {
        // If there is enough inactive page cache (here: lazyfree folios), do not reclaim anything from the
        // anonymous working set right now.
        scan_balance = SCAN_FILE;
    } else {
        scan_balance = SCAN_FRACT;
        calculate_pressure_balance(sc, swappiness, fraction, denominator);
    }
    for (const lru_list lru : evictable_lrus) {
        const bool file = is_file_lru(lru);
        // apply_proportional_protection(): no memory.min / memory.low
        unsigned long scan = lruvec_lru_size(c, lru) >> sc.priority;
        switch (scan_balance) {
        case SCAN_EQUAL:
            break; // Scan lists relative to size
        case SCAN_FRACT:
            // Scan types proportional to swappiness and their relative recent reclaim efficiency (an online
            // memcg rounds down).
            scan = static_cast<unsigned long>(scan * fraction[file] / denominator);
            break;
        case SCAN_FILE:
        case SCAN_ANON:
            // Scan one type exclusively
            if ((scan_balance == SCAN_FILE) != file)
                scan = 0;
            break;
        }
        nr[lru] = scan;
    }
    nr[LRU_UNEVICTABLE] = 0;
}

// mm/vmscan.c shrink_lruvec()
void shrink_lruvec(Ctx& c, scan_control& sc)
{
    unsigned long nr[NR_LRU_LISTS], targets[NR_LRU_LISTS];
    unsigned long nr_reclaimed = 0;
    const unsigned long nr_to_reclaim = sc.nr_to_reclaim;
    get_scan_count(c, sc, nr);
    // Record the original scan target for proportional adjustments later
    std::copy(nr, nr + NR_LRU_LISTS, targets);
    // Global direct reclaim at DEF_PRIORITY does not stop at the target; kswapd and memcg reclaim do.
    const bool proportional_reclaim = !sc.cgroup_reclaim && sc.priority == DEF_PRIORITY;
    while (nr[LRU_INACTIVE_ANON] || nr[LRU_ACTIVE_FILE] || nr[LRU_INACTIVE_FILE]) {
        for (const lru_list lru : evictable_lrus) {
            if (nr[lru]) {
                const unsigned long nr_to_scan = std::min(nr[lru], SWAP_CLUSTER_MAX);
                nr[lru] -= nr_to_scan;
                nr_reclaimed += shrink_list(c, lru, nr_to_scan, sc);
            }
        }
        if (nr_reclaimed < nr_to_reclaim || proportional_reclaim)
            continue;
        // For kswapd and memcg, reclaim at least the number of pages requested. Ensure that the anon and file
        // LRUs are scanned proportionally what was requested by get_scan_count(). We stop reclaiming one LRU
        // and reduce the amount scanning proportional to the original scan target.
        const unsigned long nr_file = nr[LRU_INACTIVE_FILE] + nr[LRU_ACTIVE_FILE];
        const unsigned long nr_anon = nr[LRU_INACTIVE_ANON] + nr[LRU_ACTIVE_ANON];
        // It's just vindictive to attack the larger once the smaller has gone to zero.
        if (!nr_file || !nr_anon)
            break;
        unsigned lru;
        unsigned long percentage;
        if (nr_file > nr_anon) {
            const unsigned long scan_target = targets[LRU_INACTIVE_ANON] + targets[LRU_ACTIVE_ANON] + 1;
            lru = LRU_INACTIVE_ANON; // LRU_BASE
            percentage = nr_anon * 100 / scan_target;
        } else {
            const unsigned long scan_target = targets[LRU_INACTIVE_FILE] + targets[LRU_ACTIVE_FILE] + 1;
            lru = LRU_INACTIVE_FILE; // LRU_FILE
            percentage = nr_file * 100 / scan_target;
        }
        // Stop scanning the smaller of the LRU
        nr[lru] = 0;
        nr[lru + 1] = 0; // + LRU_ACTIVE
        // Recalculate the other LRU scan count based on its original scan target and the percentage scanning
        // already complete
        lru = lru == LRU_INACTIVE_FILE ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
        for (unsigned l : {lru, lru + 1}) {
            const unsigned long nr_scanned = targets[l] - nr[l];
            nr[l] = targets[l] * (100 - percentage) / 100;
            nr[l] -= std::min(nr[l], nr_scanned);
        }
    }
    sc.nr_reclaimed += nr_reclaimed;
    // Rebalancing the anon active/inactive ratio (shrink_active_list() when inactive_is_low()) is not ported.
}

// mm/vmscan.c shrink_node() -> shrink_node_memcgs(): the root memcg's lruvec (no protection, no slab
// shrinkers, no reclaim/compaction: order 0)
void shrink_node(Ctx& c, scan_control& sc)
{
    const PhaseScope phase(c, "shrink_node");
    prepare_scan_control(c, sc);
    shrink_lruvec(c, sc);
}

// mm/vmscan.c do_try_to_free_pages(): shrink_zones() (one node) at falling priority until enough is
// reclaimed. The retries with a full memcg walk, forced deactivation or memory.low overridden are not
// modelled: there is one memcg, no active list scanning and no protection.
unsigned long do_try_to_free_pages(Ctx& c, scan_control& sc)
{
    do {
        sc.nr_scanned = 0;
        shrink_node(c, sc); // shrink_zones()
        if (sc.nr_reclaimed >= sc.nr_to_reclaim)
            break;
    } while (--sc.priority >= 0);
    return sc.nr_reclaimed;
}

} // namespace

// mm/vmscan.c try_to_free_mem_cgroup_pages()
unsigned long try_to_free_mem_cgroup_pages(Ctx& c, unsigned long nr_pages, std::optional<int> swappiness)
{
    const PhaseScope phase(c, "try_to_free_mem_cgroup_pages");
    scan_control sc;
    sc.nr_to_reclaim = std::max(nr_pages, SWAP_CLUSTER_MAX);
    sc.proactive_swappiness = swappiness;
    sc.cgroup_reclaim = true; // target_mem_cgroup: the root
    sc.priority = DEF_PRIORITY;
    sc.may_writepage = sc.may_unmap = true;
    sc.may_swap = true;  // MEMCG_RECLAIM_MAY_SWAP
    sc.proactive = true; // MEMCG_RECLAIM_PROACTIVE
    return do_try_to_free_pages(c, sc);
}

// mm/vmscan.c user_proactive_reclaim() for a memcg
int user_proactive_reclaim(Ctx& c, std::uint64_t bytes, std::optional<int> swappiness, unsigned long* reclaimed_out)
{
    unsigned nr_retries = MAX_RECLAIM_RETRIES;
    const unsigned long nr_to_reclaim = bytes / c.k.page_size(); // memparse(buf) / PAGE_SIZE
    unsigned long nr_reclaimed = 0;
    int ret = 0;
    while (nr_reclaimed < nr_to_reclaim) {
        // Will converge on zero, but reclaim enforces a minimum
        const unsigned long batch_size = (nr_to_reclaim - nr_reclaimed) / 4;
        // (the final attempt's lru_add_drain_all(): no per-CPU batches to drain)
        const unsigned long reclaimed = try_to_free_mem_cgroup_pages(c, batch_size, swappiness);
        if (!reclaimed && !nr_retries--) {
            ret = -EAGAIN;
            break;
        }
        nr_reclaimed += reclaimed;
    }
    if (reclaimed_out)
        *reclaimed_out = nr_reclaimed;
    return ret;
}

} // namespace mmusim::mm
