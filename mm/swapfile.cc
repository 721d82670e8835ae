// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swapfile.hh"

#include "hw/core/spinlock.hh"
#include "mm/internal.hh"
#include "mm/kernel.hh"
#include "mm/phase.hh"
#include "mm/phys_alloc.hh"
#include "mm/swap_state.hh"
#include "mm/swap_table.hh"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::KernelMemory;

// include/linux/poison.h LIST_POISON1/2 (POISON_POINTER_DELTA 0)
constexpr std::uint64_t LIST_POISON1 = 0x100, LIST_POISON2 = 0x122;
// mm/swapfile.c: the second highest bit of the inuse_pages counter marks a device off the avail list
constexpr std::uint64_t SWAP_USAGE_OFFLIST_BIT = std::uint64_t{1} << (32 - 2);
constexpr std::uint64_t SWAP_USAGE_COUNTER_MASK = ~SWAP_USAGE_OFFLIST_BIT;
// mm/swapfile.c __try_to_reclaim_swap() flags
constexpr unsigned long TTRS_ANYWAY = 0x1, TTRS_UNMAPPED = 0x2, TTRS_FULL = 0x4;

Swap& swp(Ctx& c) { return c.k.swap(); }

void spin_lock(Ctx& c, PAddr lock) { hw::SpinLock(lock).lock(c.cpu); }
bool spin_trylock(Ctx& c, PAddr lock) { return hw::SpinLock(lock).try_lock(c.cpu); }
void spin_unlock(Ctx& c, PAddr lock) { hw::SpinLock(lock).unlock(c.cpu); }

// ---- include/linux/list.h on list_heads in simulated memory (next at +0, prev at +8) ----
void __list_add(Ctx& c, PAddr n, PAddr prev, PAddr next)
{
    c.cpu.store(next + 8, n, 8, kCat);
    c.cpu.store(n, next, 8, kCat);
    c.cpu.store(n + 8, prev, 8, kCat);
    c.cpu.store(prev, n, 8, kCat); // WRITE_ONCE(prev->next, new)
}
void list_add_tail(Ctx& c, PAddr n, PAddr head) { __list_add(c, n, c.cpu.load(head + 8, 8, kCat), head); }
void __list_del_entry(Ctx& c, PAddr entry)
{
    const PAddr prev = c.cpu.load(entry + 8, 8, kCat);
    const PAddr next = c.cpu.load(entry, 8, kCat);
    c.cpu.store(next + 8, prev, 8, kCat);
    c.cpu.store(prev, next, 8, kCat);
}
void list_del(Ctx& c, PAddr entry)
{
    __list_del_entry(c, entry);
    c.cpu.store(entry, LIST_POISON1, 8, kCat);
    c.cpu.store(entry + 8, LIST_POISON2, 8, kCat);
}
void list_move_tail(Ctx& c, PAddr entry, PAddr head)
{
    __list_del_entry(c, entry);
    list_add_tail(c, entry, head);
}

// ---- struct swap_cluster_info fields ----
unsigned ci_count(Ctx& c, PAddr ci) { return static_cast<unsigned>(c.cpu.load(ci + CI_OFF_COUNT, 2, kCat)); }
void ci_set_count(Ctx& c, PAddr ci, unsigned v) { c.cpu.store(ci + CI_OFF_COUNT, v, 2, kCat); }
unsigned ci_flags(Ctx& c, PAddr ci) { return static_cast<unsigned>(c.cpu.load(ci + CI_OFF_FLAGS, 1, kCat)); }
void ci_set_flags(Ctx& c, PAddr ci, unsigned v) { c.cpu.store(ci + CI_OFF_FLAGS, v, 1, kCat); }
unsigned ci_order(Ctx& c, PAddr ci) { return static_cast<unsigned>(c.cpu.load(ci + CI_OFF_ORDER, 1, kCat)); }
void ci_set_order(Ctx& c, PAddr ci, unsigned v) { c.cpu.store(ci + CI_OFF_ORDER, v, 1, kCat); }
PAddr ci_table(Ctx& c, PAddr ci) { return c.cpu.load(ci + CI_OFF_TABLE, 8, kCat); } // rcu_dereference(ci->table)
PAddr ci_extend_table(Ctx& c, PAddr ci) { return c.cpu.load(ci + CI_OFF_EXTEND_TABLE, 8, kCat); }
PAddr ci_lock(PAddr ci) { return ci + CI_OFF_LOCK; }
PAddr ci_from_list(PAddr node) { return node - CI_OFF_LIST; } // list_entry(node, struct swap_cluster_info, list)
// ci->extend_table[ci_off] (unsigned int)
unsigned extend_get(Ctx& c, PAddr ci, unsigned off)
{
    return static_cast<unsigned>(c.cpu.load(ci_extend_table(c, ci) + 4 * off, 4, kCat));
}
void extend_set(Ctx& c, PAddr ci, unsigned off, unsigned v)
{
    c.cpu.store(ci_extend_table(c, ci) + 4 * off, v, 4, kCat);
}

unsigned cluster_bytes_extend(Ctx& c) { return 4 * swp(c).swapfile_cluster(); }

// mm/swapfile.c cluster_is_empty()
bool cluster_is_empty(Ctx& c, PAddr ci) { return ci_count(c, ci) == 0; }
// mm/swapfile.c cluster_is_discard()
bool cluster_is_discard(Ctx& c, PAddr ci) { return ci_flags(c, ci) == CLUSTER_FLAG_DISCARD; }
// mm/swapfile.c cluster_table_is_alloced()
bool cluster_table_is_alloced(Ctx& c, PAddr ci) { return ci_table(c, ci) != 0; }

// mm/swapfile.c cluster_is_usable()
bool cluster_is_usable(Ctx& c, PAddr ci, unsigned order)
{
    if (ci_flags(c, ci) > CLUSTER_FLAG_USABLE)
        return false;
    if (!cluster_table_is_alloced(c, ci))
        return false;
    if (!order)
        return true;
    return cluster_is_empty(c, ci) || order == ci_order(c, ci);
}

// mm/swapfile.c cluster_index() / cluster_offset(): pointer arithmetic
unsigned cluster_index(const swap_info_struct& si, PAddr ci)
{
    return static_cast<unsigned>((ci - si.cluster_info) / SWAP_CLUSTER_INFO_BYTES);
}
pgoff_t cluster_offset(Ctx& c, const swap_info_struct& si, PAddr ci)
{
    return pgoff_t{cluster_index(si, ci)} * swp(c).swapfile_cluster();
}

// mm/swapfile.c swap_usage_in_pages()
long usage_in_pages(Ctx& c, const swap_info_struct& si)
{
    return static_cast<long>(c.cpu.load(si.inuse_pages(), 8, kCat) & SWAP_USAGE_COUNTER_MASK);
}

// mm/swapfile.c swap_cluster_free_table(): the table page back (after an RCU grace period upstream; at once
// here: nothing reads a free cluster's table)
void swap_cluster_free_table(Ctx& c, PAddr ci)
{
    const PAddr table = ci_table(c, ci);
    if (!table)
        return;
    c.cpu.store(ci + CI_OFF_TABLE, 0, 8, kCat); // rcu_assign_pointer(ci->table, NULL)
    folio_put(c, Folio{table >> c.k.page_shift()}); // SWP_TABLE_USE_PAGE
}

// mm/swapfile.c swap_cluster_alloc_table(): SWAPFILE_CLUSTER entries of 8 bytes are one page (HPAGE_PMD_NR
// entries: PAGE_SIZE / 8), so the table is a zeroed page (SWP_TABLE_USE_PAGE).
int swap_cluster_alloc_table(Ctx& c, PAddr ci)
{
    if (ci_table(c, ci))
        return 0;
    try {
        const Folio folio = c.k.page_alloc().folio_alloc(c, 0); // folio_alloc(gfp | __GFP_ZERO, 0)
        const PAddr table = folio_pfn(folio) << c.k.page_shift();
        c.cpu.clear_page(table, c.k.page_size(), Category::ClearPage);
        c.cpu.store(ci + CI_OFF_TABLE, table, 8, kCat); // rcu_assign_pointer()
    } catch (const OutOfMemory&) {
        return -ENOMEM;
    }
    return 0;
}

// mm/swapfile.c move_cluster()
void move_cluster(Ctx& c, swap_info_struct& si, PAddr ci, PAddr list, unsigned new_flags)
{
    spin_lock(c, si.lock());
    if (ci_flags(c, ci) == CLUSTER_FLAG_NONE)
        list_add_tail(c, ci + CI_OFF_LIST, list);
    else
        list_move_tail(c, ci + CI_OFF_LIST, list);
    spin_unlock(c, si.lock());
    ci_set_flags(c, ci, new_flags);
}

// mm/swapfile.c __free_cluster()
void __free_cluster(Ctx& c, swap_info_struct& si, PAddr ci)
{
    swap_cluster_free_table(c, ci);
    move_cluster(c, si, ci, si.free_clusters(), CLUSTER_FLAG_FREE);
    ci_set_order(c, ci, 0);
}

// mm/swapfile.c free_cluster(): no discard (SWP_PAGE_DISCARD is never set here)
void free_cluster(Ctx& c, swap_info_struct& si, PAddr ci) { __free_cluster(c, si, ci); }

// mm/swapfile.c partial_free_cluster()
void partial_free_cluster(Ctx& c, swap_info_struct& si, PAddr ci)
{
    if (ci_flags(c, ci) != CLUSTER_FLAG_NONFULL)
        move_cluster(c, si, ci, si.nonfull_clusters(ci_order(c, ci)), CLUSTER_FLAG_NONFULL);
}

// mm/swapfile.c relocate_cluster()
void relocate_cluster(Ctx& c, swap_info_struct& si, PAddr ci)
{
    if (cluster_is_discard(c, ci))
        return;
    const unsigned count = ci_count(c, ci);
    const unsigned flags = ci_flags(c, ci);
    if (!count) {
        if (flags != CLUSTER_FLAG_FREE)
            free_cluster(c, si, ci);
    } else if (count != swp(c).swapfile_cluster()) {
        if (flags != CLUSTER_FLAG_FRAG)
            move_cluster(c, si, ci, si.frag_clusters(ci_order(c, ci)), CLUSTER_FLAG_FRAG);
    } else {
        if (flags != CLUSTER_FLAG_FULL)
            move_cluster(c, si, ci, si.full_clusters(), CLUSTER_FLAG_FULL);
    }
}

// mm/swapfile.c swap_cluster_populate(): a cluster isolated from the free list gets its table
PAddr swap_cluster_populate(Ctx& c, swap_info_struct& si, PAddr ci)
{
    if (!swap_cluster_alloc_table(c, ci))
        return ci;
    move_cluster(c, si, ci, si.free_clusters(), CLUSTER_FLAG_FREE);
    spin_unlock(c, ci_lock(ci));
    return 0;
}

// mm/swapfile.c isolate_lock_cluster(): the first cluster of `list` whose lock is free, off the list, locked
PAddr isolate_lock_cluster(Ctx& c, swap_info_struct& si, PAddr list)
{
    PAddr found = 0;
    unsigned flags = CLUSTER_FLAG_NONE;
    spin_lock(c, si.lock());
    for (PAddr node = c.cpu.load(list, 8, kCat); node != list; node = c.cpu.load(node, 8, kCat)) {
        const PAddr ci = ci_from_list(node);
        if (!spin_trylock(c, ci_lock(ci)))
            continue;
        list_del(c, node);
        flags = ci_flags(c, ci);
        ci_set_flags(c, ci, CLUSTER_FLAG_NONE);
        found = ci;
        break;
    }
    spin_unlock(c, si.lock());
    // Cluster's table is freed when and only when it's on the free list.
    if (found && flags == CLUSTER_FLAG_FREE)
        return swap_cluster_populate(c, si, found);
    return found;
}

// mm/swapfile.c swap_usage_add() (del_from_avail_list() when the device fills up)
bool swap_usage_add(Ctx& c, swap_info_struct& si, unsigned nr)
{
    const std::uint64_t val = c.cpu.fetch_add(si.inuse_pages(), nr, 8, kCat) + nr;
    if (val == si.pages) {
        // del_from_avail_list(si, false): take it off-list only if full and the off-list bit is clear
        spin_lock(c, swp(c).swap_avail_lock());
        const std::uint64_t pages = si.pages;
        if (c.cpu.cmpxchg(si.inuse_pages(), pages, pages | SWAP_USAGE_OFFLIST_BIT, 8, kCat) == pages)
            swp(c).on_avail_list = false; // plist_del()
        spin_unlock(c, swp(c).swap_avail_lock());
        return true;
    }
    return false;
}

// mm/swapfile.c swap_usage_sub() (add_to_avail_list() when it has room again)
void swap_usage_sub(Ctx& c, swap_info_struct& si, unsigned nr)
{
    const std::uint64_t val = c.cpu.fetch_sub(si.inuse_pages(), nr, 8, kCat) - nr;
    if (!(val & SWAP_USAGE_OFFLIST_BIT))
        return;
    // add_to_avail_list(si, false)
    spin_lock(c, swp(c).swap_avail_lock());
    if (c.cpu.load(si.inuse_pages(), 8, kCat) & SWAP_USAGE_OFFLIST_BIT) {
        const std::uint64_t v = c.cpu.fetch_and(si.inuse_pages(), ~SWAP_USAGE_OFFLIST_BIT, 8, kCat);
        const std::uint64_t pages = si.pages;
        if (!((v & SWAP_USAGE_COUNTER_MASK) == pages &&
              c.cpu.cmpxchg(si.inuse_pages(), pages, pages | SWAP_USAGE_OFFLIST_BIT, 8, kCat) == pages))
            swp(c).on_avail_list = true; // plist_add()
    }
    spin_unlock(c, swp(c).swap_avail_lock());
}

// mm/swapfile.c swap_range_alloc() (the full device's reclaim work is not scheduled: no workqueues)
void swap_range_alloc(Ctx& c, swap_info_struct& si, unsigned nr)
{
    swap_usage_add(c, si, nr);
    c.cpu.fetch_sub(swp(c).nr_swap_pages(), nr, 8, kCat); // atomic_long_sub(nr_entries, &nr_swap_pages)
}

// mm/swapfile.c swap_range_free(): zswap_invalidate(), arch_swap_invalidate_page() and the block device's
// swap_slot_free_notify() are not modelled; the device forgets the slots' data.
void swap_range_free(Ctx& c, swap_info_struct& si, pgoff_t offset, unsigned nr)
{
    for (unsigned i = 0; i < nr; ++i)
        swp(c).store->erase(offset + i);
    smp_wmb(c);
    c.cpu.fetch_add(swp(c).nr_swap_pages(), nr, 8, kCat); // atomic_long_add(nr_entries, &nr_swap_pages)
    swap_usage_sub(c, si, nr);
}

// mm/swapfile.c get_swap_device_info(): percpu_ref_tryget_live(&si->users) in percpu mode (the ref's mode
// word, then this CPU's counter), then smp_rmb()
bool get_swap_device_info(Ctx& c, swap_info_struct& si)
{
    c.cpu.load(si.addr + swap_info_struct::OFF_USERS, 8, kCat); // __ref_is_percpu()
    const PAddr count = swp(c).users_count(c.cpu.id());
    c.cpu.store(count, c.cpu.load(count, 8, kCat) + 1, 8, kCat); // this_cpu_inc()
    if (c.k.platform().config().arch != mmusim::Arch::X86_64)
        smp_mb(c); // smp_rmb(): dmb ishld / fence r,r (a compiler barrier on x86)
    return true;
}

// mm/swapfile.c swap_only_has_cache()
bool swap_only_has_cache(Ctx& c, PAddr ci, pgoff_t offset, unsigned nr_pages)
{
    unsigned ci_off = static_cast<unsigned>(offset % swp(c).swapfile_cluster());
    const unsigned ci_end = ci_off + nr_pages;
    do {
        if (swp_tb_get_count(__swap_table_get(c, ci, ci_off)))
            return false;
    } while (++ci_off < ci_end);
    return true;
}

// mm/swapfile.c folio_swapcache_freeable(): no hibernation (pm_suspended_storage() is false)
bool folio_swapcache_freeable(Ctx& c, Folio folio)
{
    if (!folio_test_swapcache(c, folio))
        return false;
    if (folio_test_flag(c, folio, PG_writeback))
        return false;
    return true;
}

// mm/swapfile.c folio_maybe_swapped(): any slot of the folio with a swap count (folio lock held)
bool folio_maybe_swapped(Ctx& c, Folio folio)
{
    const swp_entry_t entry = folio_swap(c, folio);
    const PAddr ci = __swap_entry_to_cluster(c, entry);
    unsigned ci_off = swp_cluster_offset(c, entry);
    const unsigned ci_end = ci_off + static_cast<unsigned>(folio_nr_pages(c, folio));
    do {
        if (__swp_tb_get_count(__swap_table_get(c, ci, ci_off)))
            return true;
    } while (++ci_off < ci_end);
    return false;
}

// mm/swapfile.c __try_to_reclaim_swap(): the pages of the folio in the swap cache at `offset` if it was
// reclaimed (its slots freed), minus that if not, 0 if no folio holds the slot.
int __try_to_reclaim_swap(Ctx& c, swap_info_struct& si, pgoff_t offset, unsigned long flags)
{
    const swp_entry_t entry = swp_entry(si.type, offset);
    for (;;) { // again:
        const std::optional<Folio> folio = swap_cache_get_folio(c, entry);
        if (!folio)
            return 0;
        const int nr_pages = static_cast<int>(folio_nr_pages(c, *folio));
        int ret = -nr_pages;
        // We hold a folio lock here. We have to use trylock for avoiding deadlock.
        if (!folio_trylock(c, *folio)) {
            folio_put(c, *folio);
            return ret;
        }
        // Offset could point to the middle of a large folio, or folio may no longer point to the expected
        // offset before it's locked.
        if (!folio_matches_swap_entry(c, *folio, entry)) {
            folio_unlock(c, *folio);
            folio_put(c, *folio);
            continue;
        }
        const pgoff_t off = swp_offset(folio_swap(c, *folio));
        bool need_reclaim = (flags & TTRS_ANYWAY) || ((flags & TTRS_UNMAPPED) && folio_mapcount(c, *folio) < 1) ||
                            ((flags & TTRS_FULL) && vm_swap_full(c)); // mem_cgroup_swap_full(): no memcg
        if (need_reclaim && folio_swapcache_freeable(c, *folio)) {
            // It's safe to delete the folio from swap cache only if the folio is in swap cache with swap
            // count == 0.
            const PAddr ci = swap_cluster_lock(c, si, off);
            need_reclaim = swap_only_has_cache(c, ci, off, static_cast<unsigned>(nr_pages));
            swap_cluster_unlock(c, ci);
            if (need_reclaim) {
                swap_cache_del_folio(c, *folio);
                folio_set_flag(c, *folio, PG_dirty); // folio_set_dirty()
                ret = nr_pages;
            }
        }
        folio_unlock(c, *folio);
        folio_put(c, *folio);
        return ret;
    }
}

// mm/swapfile.c cluster_reclaim_range(): reclaim drops the ci lock, so the cluster may become unusable
bool cluster_reclaim_range(Ctx& c, swap_info_struct& si, PAddr ci, pgoff_t start, unsigned order, bool* usable)
{
    const unsigned nr_pages = 1u << order;
    const pgoff_t end = start + nr_pages;
    const unsigned cs = swp(c).swapfile_cluster();
    pgoff_t offset = start;
    spin_unlock(c, ci_lock(ci));
    do {
        const std::uint64_t tb = swap_table_get(c, ci, static_cast<unsigned>(offset % cs));
        if (swp_tb_get_count(tb))
            break;
        if (swp_tb_is_folio(tb))
            if (__try_to_reclaim_swap(c, si, offset, TTRS_ANYWAY) < 0)
                break;
    } while (++offset < end);
    spin_lock(c, ci_lock(ci));
    // We just dropped ci->lock so cluster could be used by another order or got freed.
    if (!cluster_is_usable(c, ci, order)) {
        *usable = false;
        return false;
    }
    *usable = true;
    if (cluster_is_empty(c, ci)) // Fast path, no need to scan if the whole cluster is empty
        return true;
    for (offset = start; offset < end; offset++)
        if (!swp_tb_is_null(__swap_table_get(c, ci, static_cast<unsigned>(offset % cs))))
            return false;
    return true;
}

// mm/swapfile.c cluster_scan_range()
bool cluster_scan_range(Ctx& c, PAddr ci, pgoff_t offset, unsigned nr_pages, bool* need_reclaim)
{
    unsigned ci_off = static_cast<unsigned>(offset % swp(c).swapfile_cluster());
    const unsigned ci_end = ci_off + nr_pages;
    do {
        const std::uint64_t tb = __swap_table_get(c, ci, ci_off);
        if (swp_tb_is_null(tb))
            continue;
        if (swp_tb_is_folio(tb) && !__swp_tb_get_count(tb)) {
            if (!vm_swap_full(c))
                return false;
            *need_reclaim = true;
            continue;
        }
        // Slot with zero count can only be NULL or folio
        return false;
    } while (++ci_off < ci_end);
    return true;
}

// mm/swapfile.c __swap_cluster_alloc_entries(): the slots join the swap cache with the folio
bool __swap_cluster_alloc_entries(Ctx& c, swap_info_struct& si, PAddr ci, Folio folio, unsigned ci_off)
{
    if (!(c.cpu.load(si.addr + swap_info_struct::OFF_FLAGS, 8, kCat) & SWP_WRITEOK))
        return false;
    const unsigned order = folio_order(c, folio);
    const unsigned nr_pages = 1u << order;
    __swap_cache_add_folio(c, ci, folio, swp_entry(si.type, ci_off + cluster_offset(c, si, ci)));
    // The first allocation in a cluster makes the cluster exclusive to this order
    if (cluster_is_empty(c, ci))
        ci_set_order(c, ci, order);
    ci_set_count(c, ci, ci_count(c, ci) + nr_pages);
    swap_range_alloc(c, si, nr_pages);
    return true;
}

// mm/swapfile.c alloc_swap_scan_cluster(): called with the cluster locked; unlocks it and updates this CPU's
// cluster for the order
pgoff_t alloc_swap_scan_cluster(Ctx& c, swap_info_struct& si, PAddr ci, Folio folio, pgoff_t offset)
{
    const unsigned cs = swp(c).swapfile_cluster();
    pgoff_t next = SWAP_ENTRY_INVALID, found = SWAP_ENTRY_INVALID;
    const pgoff_t start = offset - offset % cs;
    const unsigned order = folio_order(c, folio);
    pgoff_t end = start + cs;
    const unsigned nr_pages = 1u << order;

    if (!(end < nr_pages || ci_count(c, ci) + nr_pages > cs)) {
        for (end -= nr_pages; offset <= end; offset += nr_pages) {
            bool need_reclaim = false, usable = true;
            if (!cluster_scan_range(c, ci, offset, nr_pages, &need_reclaim))
                continue;
            if (need_reclaim) {
                const bool ret = cluster_reclaim_range(c, si, ci, offset, order, &usable);
                if (!usable)
                    break;
                if (cluster_is_empty(c, ci))
                    offset = start;
                // Reclaim failed but cluster is usable, try next
                if (!ret)
                    continue;
            }
            if (!__swap_cluster_alloc_entries(c, si, ci, folio, static_cast<unsigned>(offset % cs)))
                break;
            found = offset;
            offset += nr_pages;
            if (ci_count(c, ci) < cs && offset <= end)
                next = offset;
            break;
        }
    }
    // out:
    relocate_cluster(c, si, ci);
    swap_cluster_unlock(c, ci);
    // SWP_SOLIDSTATE: this CPU's cluster (this_cpu_write(percpu_swap_cluster.offset[order], next) & .si[order])
    c.cpu.store(swp(c).pcp_offset(c.cpu.id(), order), next, 8, kCat);
    c.cpu.store(swp(c).pcp_si(c.cpu.id(), order), si.addr, 8, kCat);
    return found;
}

// mm/swapfile.c alloc_swap_scan_list()
pgoff_t alloc_swap_scan_list(Ctx& c, swap_info_struct& si, PAddr list, Folio folio, bool scan_all)
{
    pgoff_t found = SWAP_ENTRY_INVALID;
    do {
        const PAddr ci = isolate_lock_cluster(c, si, list);
        if (!ci)
            break;
        found = alloc_swap_scan_cluster(c, si, ci, folio, cluster_offset(c, si, ci));
        if (found)
            break;
    } while (scan_all);
    return found;
}

// mm/swapfile.c swap_reclaim_full_clusters()
void swap_reclaim_full_clusters(Ctx& c, swap_info_struct& si, bool force)
{
    const unsigned cs = swp(c).swapfile_cluster();
    long to_scan = 1;
    if (force)
        to_scan = usage_in_pages(c, si) / static_cast<long>(cs);
    PAddr ci;
    while ((ci = isolate_lock_cluster(c, si, si.full_clusters()))) {
        pgoff_t offset = cluster_offset(c, si, ci);
        const pgoff_t end = std::min<pgoff_t>(si.max, offset + cs);
        to_scan--;
        while (offset < end) {
            const std::uint64_t tb = swap_table_get(c, ci, static_cast<unsigned>(offset % cs));
            if (swp_tb_is_folio(tb) && !__swp_tb_get_count(tb)) {
                spin_unlock(c, ci_lock(ci));
                const int nr_reclaim = __try_to_reclaim_swap(c, si, offset, TTRS_ANYWAY);
                spin_lock(c, ci_lock(ci));
                if (nr_reclaim) {
                    offset += static_cast<pgoff_t>(std::abs(nr_reclaim));
                    continue;
                }
            }
            offset++;
        }
        // in case no swap cache is reclaimed
        if (ci_flags(c, ci) == CLUSTER_FLAG_NONE)
            relocate_cluster(c, si, ci);
        swap_cluster_unlock(c, ci);
        if (to_scan <= 0)
            break;
    }
}

// mm/swapfile.c cluster_alloc_swap_entry(): a new cluster for this CPU (SWP_SOLIDSTATE, no discard)
pgoff_t cluster_alloc_swap_entry(Ctx& c, swap_info_struct& si, Folio folio)
{
    const unsigned order = folio_order(c, folio);
    const unsigned pmd_order = swp(c).pmd_order();
    // Swapfile is not block device so unable to allocate large entries.
    if (order && !(si.flags & SWP_BLKDEV))
        return 0;
    pgoff_t found = SWAP_ENTRY_INVALID;
    // new_cluster:
    if (order < pmd_order) {
        found = alloc_swap_scan_list(c, si, si.nonfull_clusters(order), folio, true);
        if (found)
            return found;
    }
    found = alloc_swap_scan_list(c, si, si.free_clusters(), folio, false);
    if (found)
        return found;
    // Try reclaim full clusters if free and nonfull lists are drained
    if (vm_swap_full(c))
        swap_reclaim_full_clusters(c, si, false);
    if (order < pmd_order) {
        // Scan only one fragment cluster is good enough.
        found = alloc_swap_scan_list(c, si, si.frag_clusters(order), folio, false);
        if (found)
            return found;
    }
    if (order)
        return found;
    // Order 0 stealing from higher order
    for (unsigned o = 1; o < si.nr_orders; o++) {
        found = alloc_swap_scan_list(c, si, si.frag_clusters(o), folio, true);
        if (found)
            return found;
        found = alloc_swap_scan_list(c, si, si.nonfull_clusters(o), folio, true);
        if (found)
            return found;
    }
    return found;
}

// mm/swapfile.c swap_alloc_fast(): this CPU's cluster for the folio's order
bool swap_alloc_fast(Ctx& c, Folio folio)
{
    const unsigned order = folio_order(c, folio);
    const PAddr si_addr = c.cpu.load(swp(c).pcp_si(c.cpu.id(), order), 8, kCat);
    pgoff_t offset = c.cpu.load(swp(c).pcp_offset(c.cpu.id(), order), 8, kCat);
    if (!si_addr || !offset)
        return false;
    swap_info_struct& si = swp(c).si(); // the one device si_addr names
    if (!get_swap_device_info(c, si))
        return false;
    const PAddr ci = swap_cluster_lock(c, si, offset);
    if (cluster_is_usable(c, ci, order)) {
        if (cluster_is_empty(c, ci))
            offset = cluster_offset(c, si, ci);
        alloc_swap_scan_cluster(c, si, ci, folio, offset);
    } else {
        swap_cluster_unlock(c, ci);
    }
    put_swap_device(c, si);
    return folio_test_swapcache(c, folio);
}

// mm/swapfile.c swap_alloc_slow(): the devices on swap_avail_head in turn (one here)
void swap_alloc_slow(Ctx& c, Folio folio)
{
    spin_lock(c, swp(c).swap_avail_lock());
    const bool avail = swp(c).on_avail_list;
    spin_unlock(c, swp(c).swap_avail_lock()); // plist_requeue() of a one-device list changes nothing
    if (!avail)
        return;
    swap_info_struct& si = swp(c).si();
    if (get_swap_device_info(c, si)) {
        cluster_alloc_swap_entry(c, si, folio);
        put_swap_device(c, si);
    }
}

// mm/swapfile.c swap_extend_table_alloc(): the cluster's extend table, allocated with the lock dropped
int swap_extend_table_alloc(Ctx& c, PAddr ci, unsigned ci_off)
{
    const PAddr table = c.k.kmalloc(c, cluster_bytes_extend(c)); // kzalloc()
    spin_lock(c, ci_lock(ci));
    bool keep = cluster_table_is_alloced(c, ci) &&
                swp_tb_get_count(__swap_table_get(c, ci, ci_off)) >= SWP_TB_COUNT_MAX - 1 && !ci_extend_table(c, ci);
    if (keep)
        c.cpu.store(ci + CI_OFF_EXTEND_TABLE, table, 8, kCat);
    spin_unlock(c, ci_lock(ci));
    if (!keep)
        c.k.kfree(c, table, cluster_bytes_extend(c));
    return 0;
}

// mm/swapfile.c swap_extend_table_try_free()
void swap_extend_table_try_free(Ctx& c, PAddr ci)
{
    const PAddr table = ci_extend_table(c, ci);
    if (!table)
        return;
    bool can_free = true;
    for (unsigned i = 0; i < swp(c).swapfile_cluster(); i++)
        if (c.cpu.load(table + 4 * i, 4, kCat))
            can_free = false;
    if (can_free) {
        c.k.kfree(c, table, cluster_bytes_extend(c));
        c.cpu.store(ci + CI_OFF_EXTEND_TABLE, 0, 8, kCat);
    }
}

// mm/swapfile.c __swap_cluster_put_entry(): decrease the swap count of one slot, without freeing it
void __swap_cluster_put_entry(Ctx& c, PAddr ci, unsigned ci_off)
{
    const std::uint64_t tb = __swap_table_get(c, ci, ci_off);
    int count = static_cast<int>(__swp_tb_get_count(tb));
    if (count <= 0)
        throw std::logic_error("__swap_cluster_put_entry: swap count underflow");
    if (count == SWP_TB_COUNT_MAX) {
        count = static_cast<int>(extend_get(c, ci, ci_off)); // Overflow starts with SWP_TB_COUNT_MAX
        count--;
        if (count == SWP_TB_COUNT_MAX - 1) {
            extend_set(c, ci, ci_off, 0);
            __swap_table_set(c, ci, ci_off, __swp_tb_mk_count(tb, count));
        } else {
            extend_set(c, ci, ci_off, static_cast<unsigned>(count));
        }
    } else {
        __swap_table_set(c, ci, ci_off, __swp_tb_mk_count(tb, --count));
    }
    if (count == SWP_TB_COUNT_MAX - 2 || count == SWP_TB_COUNT_MAX - 1)
        swap_extend_table_try_free(c, ci);
}

// mm/swapfile.c swap_put_entries_cluster(): decrease the swap count of slots within one cluster, batch free
// the ones reaching 0 that no folio caches, reclaim the cache of the others if asked
void swap_put_entries_cluster(Ctx& c, swap_info_struct& si, pgoff_t offset, unsigned nr, bool reclaim_cache)
{
    const pgoff_t end = offset + nr;
    bool need_reclaim = false;
    int ci_batch = -1;
    const PAddr ci = swap_cluster_lock(c, si, offset);
    unsigned ci_off = static_cast<unsigned>(offset % swp(c).swapfile_cluster());
    const unsigned ci_end = ci_off + nr;
    do {
        const std::uint64_t tb = __swap_table_get(c, ci, ci_off);
        if (swp_tb_get_count(tb) == 1) {
            // count == 1 and non-cached slots will be batch freed.
            if (!swp_tb_is_folio(tb)) {
                if (ci_batch == -1)
                    ci_batch = static_cast<int>(ci_off);
                continue;
            }
            // count will be 0 after put, slot can be reclaimed
            need_reclaim = true;
        }
        // A count != 1 or cached slot can't be freed. Put its swap count and then free the interrupted
        // pending batch.
        __swap_cluster_put_entry(c, ci, ci_off);
        if (ci_batch != -1) {
            const unsigned batch = static_cast<unsigned>(ci_batch);
            __swap_cluster_free_entries(c, si, ci, batch, ci_off - batch);
            ci_batch = -1;
        }
    } while (++ci_off < ci_end);
    if (ci_batch != -1) {
        const unsigned batch = static_cast<unsigned>(ci_batch);
        __swap_cluster_free_entries(c, si, ci, batch, ci_off - batch);
    }
    swap_cluster_unlock(c, ci);

    if (!need_reclaim || !reclaim_cache)
        return;
    do {
        const int nr_reclaimed = __try_to_reclaim_swap(c, si, offset, TTRS_UNMAPPED | TTRS_FULL);
        offset++;
        if (nr_reclaimed) { // round_up(offset, abs(nr_reclaimed))
            const pgoff_t n = static_cast<pgoff_t>(std::abs(nr_reclaimed));
            offset = (offset + n - 1) / n * n;
        }
    } while (offset < end);
}

// mm/swapfile.c __swap_cluster_dup_entry(): increase the swap count of one slot
int __swap_cluster_dup_entry(Ctx& c, PAddr ci, unsigned ci_off)
{
    const std::uint64_t tb = __swap_table_get(c, ci, ci_off);
    if (swp_tb_is_bad(tb)) // Bad or special slots can't be handled
        return -EINVAL;
    const int count = static_cast<int>(__swp_tb_get_count(tb));
    if (!count && !swp_tb_is_folio(tb)) // Must be either cached or have a count already
        return -ENOENT;
    if (count < SWP_TB_COUNT_MAX - 1) {
        __swap_table_set(c, ci, ci_off, __swp_tb_mk_count(tb, count + 1));
    } else if (count == SWP_TB_COUNT_MAX - 1) {
        if (!ci_extend_table(c, ci))
            return -ENOMEM;
        extend_set(c, ci, ci_off, SWP_TB_COUNT_MAX);
        __swap_table_set(c, ci, ci_off, __swp_tb_mk_count(tb, SWP_TB_COUNT_MAX));
    } else {
        extend_set(c, ci, ci_off, extend_get(c, ci, ci_off) + 1);
    }
    return 0;
}

// mm/swapfile.c swap_dup_entries_cluster(): increase the swap count of slots within one cluster
int swap_dup_entries_cluster(Ctx& c, swap_info_struct& si, pgoff_t offset, unsigned nr)
{
    const unsigned ci_start = static_cast<unsigned>(offset % swp(c).swapfile_cluster());
    const unsigned ci_end = ci_start + nr;
    unsigned ci_off = ci_start;
    const PAddr ci = swap_cluster_lock(c, si, offset);
    int err = 0;
    for (;;) { // restart:
        err = 0;
        do {
            err = __swap_cluster_dup_entry(c, ci, ci_off);
            if (err)
                break;
        } while (++ci_off < ci_end);
        if (err == -ENOMEM) {
            spin_unlock(c, ci_lock(ci));
            err = swap_extend_table_alloc(c, ci, ci_off); // GFP_ATOMIC: the simulated kmalloc always works
            spin_lock(c, ci_lock(ci));
            if (!err)
                continue;
        }
        break;
    }
    if (!err) {
        swap_cluster_unlock(c, ci);
        return 0;
    }
    // failed:
    while (ci_off-- > ci_start)
        __swap_cluster_put_entry(c, ci, ci_off);
    swap_extend_table_try_free(c, ci);
    swap_cluster_unlock(c, ci);
    return err;
}

} // namespace

// ---- Swap: the boot-time swapon ----

// sys_swapon() for a block device of `bytes`: alloc_swap_info(), the header's size (read_swap_header(): slot 0
// is the header), setup_swap_clusters_info() with the header slot and the tail of the last cluster bad, the
// flags a non-rotational synchronous block device gets, enable_swap_info(). Written straight into memory.
Swap::Swap(Kernel& k, PhysAllocator& phys, std::uint64_t bytes)
{
    const hw::PageTableFormat& fmt = k.format();
    const unsigned page_shift = fmt.page_shift();
    const std::uint64_t page_size = fmt.page_size();
    hw::PhysMemory& mem = k.platform().memory().memory();
    store = std::make_unique<SwapSlotStore>(page_size);

    // CONFIG_THP_SWAP: SWAPFILE_CLUSTER is HPAGE_PMD_NR, SWAP_NR_ORDERS is PMD_ORDER + 1
    pmd_order_ = fmt.level(fmt.levels() - 2).shift - page_shift;
    swapfile_cluster_ = 1u << pmd_order_;
    si_.nr_orders = pmd_order_ + 1;
    const std::uint64_t maxpages =
        std::min<std::uint64_t>(bytes >> page_shift, std::numeric_limits<unsigned>::max());
    si_.type = 0;
    si_.max = static_cast<unsigned>(maxpages);
    si_.pages = si_.max - 1;
    si_.flags = SWP_USED | SWP_WRITEOK | SWP_SOLIDSTATE | SWP_BLKDEV | SWP_SYNCHRONOUS_IO;
    si_.nr_clusters = (si_.max + swapfile_cluster_ - 1) / swapfile_cluster_;

    const auto alloc = [&](std::uint64_t n) {
        return phys.alloc(std::max<std::uint64_t>((n + 63) & ~std::uint64_t{63}, 64), 64);
    };
    si_.addr = alloc(si_.bytes());
    si_.cluster_info = alloc(std::uint64_t{si_.nr_clusters} * SWAP_CLUSTER_INFO_BYTES);
    globals_ = alloc(128);
    for (unsigned i = 0; i < k.platform().cores(); ++i)
        pcp_.push_back(alloc(16 * std::uint64_t{si_.nr_orders} + 8)); // si[], offset[], the users count

    // Fresh boot memory reads as zero: unlocked locks, NULL tables, per-CPU clusters SWAP_ENTRY_INVALID.
    mem.write64(si_.addr + swap_info_struct::OFF_FLAGS, si_.flags);
    mem.write(si_.addr + swap_info_struct::OFF_PAGES, &si_.pages, 4);
    mem.write(si_.addr + swap_info_struct::OFF_MAX, &si_.max, 4);
    mem.write64(si_.addr + swap_info_struct::OFF_CLUSTER_INFO, si_.cluster_info);
    mem.write64(si_.addr + swap_info_struct::OFF_USERS, 1); // percpu_ref in percpu mode
    mem.write64(nr_swap_pages(), si_.pages);                // _enable_swap_info()
    mem.write64(total_swap_pages(), si_.pages);

    // The bad slots: the header, and the tail of the last cluster (swap_cluster_setup_bad_slot()). A cluster
    // holding one gets its table now and stays off the free list for good.
    const auto ci_addr = [&](unsigned idx) { return si_.cluster_info + PAddr{idx} * SWAP_CLUSTER_INFO_BYTES; };
    std::vector<unsigned> counts(si_.nr_clusters, 0);
    const auto setup_bad_slot = [&](std::uint64_t offset) {
        const unsigned idx = static_cast<unsigned>(offset / swapfile_cluster_);
        const PAddr ci = ci_addr(idx);
        if (!counts[idx]) {
            const PAddr table = phys.alloc(page_size, page_size); // swap_cluster_alloc_table()
            mem.write64(ci + CI_OFF_TABLE, table);
        }
        mem.write64(mem.read64(ci + CI_OFF_TABLE) + 8 * (offset % swapfile_cluster_), SWP_TB_BAD);
        ++counts[idx];
    };
    setup_bad_slot(0);
    for (std::uint64_t i = si_.max; i < std::uint64_t{si_.nr_clusters} * swapfile_cluster_; ++i)
        setup_bad_slot(i);

    // The cluster lists: INIT_LIST_HEAD() of each, then every cluster on free_clusters or nonfull_clusters[0]
    std::vector<PAddr> heads = {si_.free_clusters(), si_.full_clusters(), si_.discard_clusters()};
    for (unsigned o = 0; o < si_.nr_orders; ++o) {
        heads.push_back(si_.nonfull_clusters(o));
        heads.push_back(si_.frag_clusters(o));
    }
    for (PAddr h : heads) {
        mem.write64(h, h);
        mem.write64(h + 8, h);
    }
    const auto add_tail = [&](PAddr node, PAddr head) {
        const PAddr prev = mem.read64(head + 8);
        mem.write64(node, head);
        mem.write64(node + 8, prev);
        mem.write64(prev, node);
        mem.write64(head + 8, node);
    };
    for (unsigned i = 0; i < si_.nr_clusters; ++i) {
        const PAddr ci = ci_addr(i);
        const std::uint16_t count = static_cast<std::uint16_t>(counts[i]);
        mem.write(ci + CI_OFF_COUNT, &count, 2);
        const std::uint8_t flags = counts[i] ? CLUSTER_FLAG_NONFULL : CLUSTER_FLAG_FREE;
        mem.write(ci + CI_OFF_FLAGS, &flags, 1);
        add_tail(ci + CI_OFF_LIST, counts[i] ? si_.nonfull_clusters(0) : si_.free_clusters());
    }
}

// ---- mm/swap.h helpers ----

// mm/swap.h swp_cluster_offset()
unsigned swp_cluster_offset(const Ctx& c, swp_entry_t entry)
{
    return static_cast<unsigned>(swp_offset(entry) % c.k.swap().swapfile_cluster());
}

// mm/swap.h __swap_entry_to_info()
swap_info_struct& __swap_entry_to_info(Ctx& c, swp_entry_t entry)
{
    swap_info_struct* si = c.k.swap().swap_type_to_info(swp_type(entry));
    if (!si)
        throw std::logic_error("__swap_entry_to_info: no swap device of type " + std::to_string(swp_type(entry)));
    return *si;
}

// mm/swap.h __swap_offset_to_cluster()
PAddr __swap_offset_to_cluster(Ctx& c, const swap_info_struct& si, pgoff_t offset)
{
    return si.cluster_info + (offset / c.k.swap().swapfile_cluster()) * SWAP_CLUSTER_INFO_BYTES;
}

// mm/swap.h __swap_entry_to_cluster()
PAddr __swap_entry_to_cluster(Ctx& c, swp_entry_t entry)
{
    return __swap_offset_to_cluster(c, __swap_entry_to_info(c, entry), swp_offset(entry));
}

// mm/swap.h swap_cluster_lock()
PAddr swap_cluster_lock(Ctx& c, const swap_info_struct& si, pgoff_t offset)
{
    const PAddr ci = __swap_offset_to_cluster(c, si, offset);
    spin_lock(c, ci_lock(ci));
    return ci;
}

// mm/swap.h swap_cluster_unlock()
void swap_cluster_unlock(Ctx& c, PAddr ci) { spin_unlock(c, ci_lock(ci)); }

// mm/swap.h swap_cluster_get_and_lock()
PAddr swap_cluster_get_and_lock(Ctx& c, Folio folio)
{
    const swp_entry_t entry = folio_swap(c, folio);
    return swap_cluster_lock(c, __swap_entry_to_info(c, entry), swp_offset(entry));
}

// ---- mm/swap_table.h accessors ----

// mm/swap_table.h __swap_table_set()
void __swap_table_set(Ctx& c, PAddr ci, unsigned off, std::uint64_t swp_tb)
{
    c.cpu.store(ci_table(c, ci) + 8 * off, swp_tb, 8, kCat);
}

// mm/swap_table.h __swap_table_xchg()
std::uint64_t __swap_table_xchg(Ctx& c, PAddr ci, unsigned off, std::uint64_t swp_tb)
{
    return c.cpu.xchg(ci_table(c, ci) + 8 * off, swp_tb, 8, kCat);
}

// mm/swap_table.h __swap_table_get()
std::uint64_t __swap_table_get(Ctx& c, PAddr ci, unsigned off)
{
    return c.cpu.load(ci_table(c, ci) + 8 * off, 8, kCat);
}

// mm/swap_table.h swap_table_get()
std::uint64_t swap_table_get(Ctx& c, PAddr ci, unsigned off)
{
    const PAddr table = ci_table(c, ci);
    return table ? c.cpu.load(table + 8 * off, 8, kCat) : null_to_swp_tb();
}

// mm/swap_table.h __swap_table_set_zero()
void __swap_table_set_zero(Ctx& c, PAddr ci, unsigned off)
{
    __swap_table_set(c, ci, off, __swap_table_get(c, ci, off) | SWP_TB_ZERO_FLAG);
}

// mm/swap_table.h __swap_table_test_zero()
bool __swap_table_test_zero(Ctx& c, PAddr ci, unsigned off) { return __swap_table_get(c, ci, off) & SWP_TB_ZERO_FLAG; }

// mm/swap_table.h __swap_table_clear_zero()
void __swap_table_clear_zero(Ctx& c, PAddr ci, unsigned off)
{
    __swap_table_set(c, ci, off, __swap_table_get(c, ci, off) & ~SWP_TB_ZERO_FLAG);
}

// ---- mm/swapfile.c ----

// mm/swapfile.c folio_alloc_swap()
int folio_alloc_swap(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "folio_alloc_swap");
    const unsigned order = folio_order(c, folio);
    // Allocation size should never exceed cluster size (HPAGE_PMD_SIZE).
    if (order && (1u << order) > c.k.swap().swapfile_cluster())
        return -EINVAL;
    // local_lock(&percpu_swap_cluster.lock): preemption off, no memory access
    if (!swap_alloc_fast(c, folio))
        swap_alloc_slow(c, folio);
    // swap_sync_discard(): no discard; mem_cgroup_try_charge_swap(): no memcg
    if (!folio_test_swapcache(c, folio))
        return -ENOMEM;
    return 0;
}

// mm/swapfile.c folio_dup_swap(), batched over nr pages from `page` (the series' form)
int folio_dup_swap(Ctx& c, Folio folio, std::optional<pfn_t> page, unsigned nr)
{
    const PhaseScope phase(c, "folio_dup_swap");
    swp_entry_t entry = folio_swap(c, folio);
    unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    if (page) {
        entry.val += *page - folio_pfn(folio); // folio_page_idx()
        nr_pages = nr;
    }
    return swap_dup_entries_cluster(c, __swap_entry_to_info(c, entry), swp_offset(entry), nr_pages);
}

// mm/swapfile.c folio_put_swap(), batched over nr pages from `page` (the series' form)
void folio_put_swap(Ctx& c, Folio folio, std::optional<pfn_t> page, unsigned nr)
{
    const PhaseScope phase(c, "folio_put_swap");
    swp_entry_t entry = folio_swap(c, folio);
    unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    if (page) {
        entry.val += *page - folio_pfn(folio);
        nr_pages = nr;
    }
    swap_put_entries_cluster(c, __swap_entry_to_info(c, entry), swp_offset(entry), nr_pages, false);
}

// mm/swapfile.c get_swap_device()
swap_info_struct* get_swap_device(Ctx& c, swp_entry_t entry)
{
    if (!entry.val)
        return nullptr;
    swap_info_struct* si = c.k.swap().swap_type_to_info(swp_type(entry));
    if (!si)
        return nullptr; // Bad_file
    if (!get_swap_device_info(c, *si))
        return nullptr;
    if (swp_offset(entry) >= c.cpu.load(si->addr + swap_info_struct::OFF_MAX, 4, kCat)) {
        put_swap_device(c, *si); // Bad_offset
        return nullptr;
    }
    return si;
}

// include/linux/swap.h put_swap_device(): percpu_ref_put(&si->users), this_cpu_dec()
void put_swap_device(Ctx& c, swap_info_struct&)
{
    const PAddr count = c.k.swap().users_count(c.cpu.id());
    c.cpu.store(count, c.cpu.load(count, 8, kCat) - 1, 8, kCat);
}

// mm/swapfile.c __swap_cluster_free_entries(): the slots become NULL entries; the cluster goes to the free or
// the nonfull list
void __swap_cluster_free_entries(Ctx& c, swap_info_struct& si, PAddr ci, unsigned ci_start, unsigned nr_pages)
{
    const unsigned ci_end = ci_start + nr_pages;
    const pgoff_t ci_head = cluster_offset(c, si, ci);
    const unsigned count = ci_count(c, ci);
    if (count < nr_pages)
        throw std::logic_error("__swap_cluster_free_entries: freeing more slots than the cluster holds");
    ci_set_count(c, ci, count - nr_pages);
    unsigned ci_off = ci_start;
    do {
        // Freeing is done after release of the last swap count ref, or after swap cache is dropped.
        // Resetting the slot to NULL also clears the inline flags (the zero mark).
        __swap_table_set(c, ci, ci_off, null_to_swp_tb());
    } while (++ci_off < ci_end);
    swap_range_free(c, si, ci_head + ci_start, nr_pages);
    if (count == nr_pages)
        free_cluster(c, si, ci);
    else
        partial_free_cluster(c, si, ci);
}

// mm/swapfile.c __swap_count()
int __swap_count(Ctx& c, swp_entry_t entry)
{
    return swp_tb_get_count(__swap_table_get(c, __swap_entry_to_cluster(c, entry), swp_cluster_offset(c, entry)));
}

// mm/swapfile.c swap_entry_swapped()
bool swap_entry_swapped(Ctx& c, swap_info_struct& si, swp_entry_t entry)
{
    const pgoff_t offset = swp_offset(entry);
    const PAddr ci = swap_cluster_lock(c, si, offset);
    const std::uint64_t tb = swap_table_get(c, ci, static_cast<unsigned>(offset % c.k.swap().swapfile_cluster()));
    swap_cluster_unlock(c, ci);
    return swp_tb_get_count(tb) > 0;
}

// mm/swapfile.c swp_swapcount()
int swp_swapcount(Ctx& c, swp_entry_t entry)
{
    swap_info_struct* si = get_swap_device(c, entry);
    if (!si)
        return 0;
    const PAddr ci = swap_cluster_lock(c, *si, swp_offset(entry));
    int count = swp_tb_get_count(__swap_table_get(c, ci, swp_cluster_offset(c, entry)));
    if (count == SWP_TB_COUNT_MAX)
        count = static_cast<int>(extend_get(c, ci, swp_cluster_offset(c, entry)));
    swap_cluster_unlock(c, ci);
    put_swap_device(c, *si);
    return count < 0 ? 0 : count;
}

// mm/swapfile.c folio_free_swap()
bool folio_free_swap(Ctx& c, Folio folio)
{
    if (!folio_swapcache_freeable(c, folio))
        return false;
    if (folio_maybe_swapped(c, folio))
        return false;
    swap_cache_del_folio(c, folio);
    folio_set_flag(c, folio, PG_dirty); // folio_set_dirty()
    return true;
}

// mm/swapfile.c swap_put_entries_direct()
void swap_put_entries_direct(Ctx& c, swp_entry_t entry, unsigned nr)
{
    const PhaseScope phase(c, "swap_put_entries_direct");
    const pgoff_t start_offset = swp_offset(entry);
    const pgoff_t end_offset = start_offset + nr;
    swap_info_struct* si = get_swap_device(c, entry);
    if (!si)
        throw std::logic_error("swap_put_entries_direct: bad swap entry");
    if (end_offset > si->max) {
        put_swap_device(c, *si);
        throw std::logic_error("swap_put_entries_direct: range beyond the device");
    }
    // Put entries and reclaim cache in each cluster
    const pgoff_t cs = c.k.swap().swapfile_cluster();
    pgoff_t offset = start_offset;
    do {
        const pgoff_t cluster_end = std::min((offset + 1 + cs - 1) / cs * cs, end_offset);
        swap_put_entries_cluster(c, *si, offset, static_cast<unsigned>(cluster_end - offset), true);
        offset = cluster_end;
    } while (offset < end_offset);
    put_swap_device(c, *si);
}

// mm/swapfile.c swap_dup_entry_direct()
int swap_dup_entry_direct(Ctx& c, swp_entry_t entry)
{
    swap_info_struct* si = c.k.swap().swap_type_to_info(swp_type(entry));
    if (!si)
        return -EINVAL; // Bad_file
    return swap_dup_entries_cluster(c, *si, swp_offset(entry), 1);
}

// include/linux/swap.h vm_swap_full(): atomic_long_read(&nr_swap_pages) * 2 < total_swap_pages
bool vm_swap_full(Ctx& c)
{
    const long free = static_cast<long>(c.cpu.load(c.k.swap().nr_swap_pages(), 8, kCat));
    const long total = static_cast<long>(c.cpu.load(c.k.swap().total_swap_pages(), 8, kCat));
    return free * 2 < total;
}

// mm/swapfile.c swap_usage_in_pages()
long swap_usage_in_pages(Ctx& c, const swap_info_struct& si) { return usage_in_pages(c, si); }

// ---- folio->swap and PG_swapcache ----

// include/linux/mm_types.h folio->swap (the word of folio->private)
swp_entry_t folio_swap(Ctx& c, Folio folio) { return swp_entry_t{folio_private(c, folio)}; }
void folio_set_swap(Ctx& c, Folio folio, swp_entry_t entry) { folio_set_private(c, folio, entry.val); }

// include/linux/page-flags.h folio_test_swapcache(): folio_test_swapbacked() && test_bit(PG_swapcache)
bool folio_test_swapcache(Ctx& c, Folio folio)
{
    return folio_test_flag(c, folio, PG_swapbacked) && folio_test_flag(c, folio, PG_swapcache);
}

// include/linux/swap.h page_swap_entry()
swp_entry_t page_swap_entry(Ctx& c, Folio folio, pfn_t page)
{
    swp_entry_t entry = folio_swap(c, folio);
    entry.val += page - folio_pfn(folio);
    return entry;
}

} // namespace mmusim::mm
