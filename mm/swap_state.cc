// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swap_state.hh"

#include "mm/kernel.hh"
#include "mm/page_io.hh"
#include "mm/phase.hh"
#include "mm/swap.hh"
#include "mm/swap_table.hh"

#include <cerrno>
#include <stdexcept>

namespace mmusim::mm {

namespace {

// mm/swap_state.c swap_cache_add_folio(): the folio into the swap cache at `entry` if every slot is swapped
// out and uncached: 0, -EEXIST when a folio caches a slot, -ENOENT when a slot has no swap count (the swapin
// lost a race with a free)
int swap_cache_add_folio(Ctx& c, Folio folio, swp_entry_t entry)
{
    const swap_info_struct& si = __swap_entry_to_info(c, entry);
    const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    const unsigned ci_start = swp_cluster_offset(c, entry);
    const PAddr ci = swap_cluster_lock(c, si, swp_offset(entry));
    int err = 0;
    if (!c.cpu.load(ci + CI_OFF_TABLE, 8, hw::Category::KernelMemory)) {
        err = -ENOENT;
    } else {
        unsigned ci_off = ci_start;
        do {
            const std::uint64_t old_tb = __swap_table_get(c, ci, ci_off);
            if (swp_tb_is_folio(old_tb)) {
                err = -EEXIST;
                break;
            }
            if (!__swp_tb_get_count(old_tb)) {
                err = -ENOENT;
                break;
            }
            // (a workingset shadow would be taken here: the port keeps none)
        } while (++ci_off < ci_start + nr_pages);
        if (!err)
            __swap_cache_add_folio(c, ci, folio, entry);
    }
    swap_cluster_unlock(c, ci);
    return err;
}

// mm/swap_state.c __swap_cache_prepare_and_add(): the locked, swap-backed folio joins the swap cache and the
// LRU before its read; the folio already cached if the slot is, nullopt on a race
std::optional<Folio> __swap_cache_prepare_and_add(Ctx& c, swp_entry_t entry, Folio folio)
{
    std::optional<Folio> swapcache;
    __folio_set_flag(c, folio, PG_locked);     // __folio_set_locked()
    __folio_set_flag(c, folio, PG_swapbacked); // __folio_set_swapbacked()
    for (;;) {
        const int ret = swap_cache_add_folio(c, folio, entry);
        if (!ret) {
            // (memcg1_swapin(), workingset_refault(): not modelled) Caller will initiate read into locked
            // folio.
            folio_add_lru(c, folio);
            return folio;
        }
        // Large order allocation needs special handling on race: if a smaller folio exists in cache, swapin
        // needs to fallback to order 0.
        if (ret != -EEXIST || folio_test_large(c, folio))
            break;
        swapcache = swap_cache_get_folio(c, entry);
        if (swapcache)
            break;
    }
    folio_unlock(c, folio);
    return swapcache;
}

} // namespace

// mm/swap_state.c swap_cache_get_folio()
std::optional<Folio> swap_cache_get_folio(Ctx& c, swp_entry_t entry)
{
    for (;;) {
        const std::uint64_t tb = swap_table_get(c, __swap_entry_to_cluster(c, entry), swp_cluster_offset(c, entry));
        if (!swp_tb_is_folio(tb))
            return std::nullopt;
        const Folio folio{swp_tb_to_pfn(tb)};
        if (folio_try_get(c, folio))
            return folio;
    }
}

// mm/swap_state.c swap_cache_has_folio()
bool swap_cache_has_folio(Ctx& c, swp_entry_t entry)
{
    return swp_tb_is_folio(swap_table_get(c, __swap_entry_to_cluster(c, entry), swp_cluster_offset(c, entry)));
}

// mm/swap.h folio_matches_swap_entry()
bool folio_matches_swap_entry(Ctx& c, Folio folio, swp_entry_t entry)
{
    if (!folio_test_swapcache(c, folio))
        return false;
    const std::uint64_t nr_pages = folio_nr_pages(c, folio);
    return folio_swap(c, folio).val == entry.val / nr_pages * nr_pages; // round_down()
}

// mm/swap_state.c __swap_cache_add_folio() -> __swap_cache_do_add_folio() (the NR_FILE_PAGES and
// NR_SWAPCACHE statistics are not modelled)
void __swap_cache_add_folio(Ctx& c, PAddr ci, Folio folio, swp_entry_t entry)
{
    const PhaseScope phase(c, "__swap_cache_add_folio");
    unsigned ci_off = swp_cluster_offset(c, entry);
    const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    const unsigned ci_end = ci_off + nr_pages;
    const pfn_t pfn = folio_pfn(folio);
    do {
        const std::uint64_t old_tb = __swap_table_get(c, ci, ci_off);
        if (swp_tb_is_folio(old_tb))
            throw std::logic_error("__swap_cache_add_folio: the slot is cached already");
        __swap_table_set(c, ci, ci_off, pfn_to_swp_tb(pfn, __swp_tb_get_flags(old_tb)));
    } while (++ci_off < ci_end);
    folio_ref_add(c, folio, static_cast<int>(nr_pages));
    folio_set_flag(c, folio, PG_swapcache); // folio_set_swapcache()
    folio_set_swap(c, folio, entry);
}

// mm/swap_state.c __swap_cache_del_folio() -> __swap_cache_do_del_folio() (no memcg1 swapout accounting)
void __swap_cache_del_folio(Ctx& c, PAddr ci, Folio folio, swp_entry_t entry)
{
    const PhaseScope phase(c, "__swap_cache_del_folio");
    swap_info_struct& si = __swap_entry_to_info(c, entry);
    const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    const unsigned ci_start = swp_cluster_offset(c, entry);
    const unsigned ci_end = ci_start + nr_pages;
    bool folio_swapped = false, need_free = false;
    unsigned ci_off = ci_start;
    do {
        const std::uint64_t old_tb = __swap_table_get(c, ci, ci_off);
        if (!swp_tb_is_folio(old_tb) || swp_tb_to_pfn(old_tb) != folio_pfn(folio))
            throw std::logic_error("__swap_cache_del_folio: the slot does not cache this folio");
        if (__swp_tb_get_count(old_tb))
            folio_swapped = true;
        else
            need_free = true;
        // If shadow is NULL, we set an empty shadow.
        __swap_table_set(c, ci, ci_off, shadow_to_swp_tb(0, __swp_tb_get_flags(old_tb)));
    } while (++ci_off < ci_end);

    folio_set_swap(c, folio, swp_entry_t{0});
    folio_clear_flag(c, folio, PG_swapcache); // folio_clear_swapcache()

    if (!folio_swapped) {
        __swap_cluster_free_entries(c, si, ci, ci_start, nr_pages);
    } else if (need_free) {
        ci_off = ci_start;
        do {
            if (!__swp_tb_get_count(__swap_table_get(c, ci, ci_off)))
                __swap_cluster_free_entries(c, si, ci, ci_off, 1);
        } while (++ci_off < ci_end);
    }
}

// mm/swap_state.c swap_cache_del_folio()
void swap_cache_del_folio(Ctx& c, Folio folio)
{
    const swp_entry_t entry = folio_swap(c, folio);
    const PAddr ci = swap_cluster_lock(c, __swap_entry_to_info(c, entry), swp_offset(entry));
    __swap_cache_del_folio(c, ci, folio, entry);
    swap_cluster_unlock(c, ci);
    folio_ref_sub(c, folio, static_cast<int>(folio_nr_pages(c, folio)));
}

// mm/swap_state.c swapin_folio()
std::optional<Folio> swapin_folio(Ctx& c, swp_entry_t entry, Folio folio)
{
    const PhaseScope phase(c, "swapin_folio");
    const pgoff_t offset = swp_offset(entry);
    const std::uint64_t nr_pages = folio_nr_pages(c, folio);
    entry = swp_entry(swp_type(entry), offset / nr_pages * nr_pages);
    const std::optional<Folio> swapcache = __swap_cache_prepare_and_add(c, entry, folio);
    if (swapcache == folio)
        swap_read_folio(c, folio);
    return swapcache;
}

// mm/swap_state.c free_swap_cache()
void free_swap_cache(Ctx& c, Folio folio)
{
    if (folio_test_swapcache(c, folio) && folio_mapcount(c, folio) < 1 && folio_trylock(c, folio)) {
        folio_free_swap(c, folio);
        folio_unlock(c, folio);
    }
}

// mm/swap.h non_swapcache_batch()
unsigned non_swapcache_batch(Ctx& c, swp_entry_t entry, unsigned max_nr)
{
    unsigned i = 0;
    for (; i < max_nr; i++) {
        if (swap_cache_has_folio(c, entry))
            return i;
        entry.val++;
    }
    return i;
}

} // namespace mmusim::mm
