// SPDX-License-Identifier: GPL-2.0-only
// TEST HELPER, not mm code: swaps out one mapped anonymous folio the way reclaim does for the simple case,
// until the port has shrink_folio_list() and try_to_unmap_one() (issue 9). It follows what they do to a
// folio reclaim has isolated (one reference held): folio_lock(), folio_alloc_swap() (slots, swap cache), then
// for each mapping of the folio (the caller names the mms and the address of the folio's first page; one VMA
// and one page table each) every present PTE of the folio: ptep_clear_flush(), folio_dup_swap() of its slot,
// folio_try_share_anon_rmap_pte() if the page was exclusive, MM_ANONPAGES-- MM_SWAPENTS++, the swap PTE
// (exclusive when the page was), folio_remove_rmap_pte() and folio_put(); then swap_writeout() (pageout) and
// __remove_mapping(): the folio leaves the swap cache and is freed.
#pragma once

#include "kernel_test_util.hh"

#include "mm/memory.hh"
#include "mm/page_io.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"
#include "mm/swap_state.hh"
#include "mm/swapfile.hh"

#include <stdexcept>
#include <utility>
#include <vector>

namespace mmusim::test {

struct Mapping {
    mm::mm_struct* mm;
    Addr start; // the address of the folio's first page in that mm
};

// Returns false (the folio stays mapped where it was not yet unmapped, as try_to_unmap_one() restores the PTE
// and aborts) if a page could not be shared: the folio may be pinned.
inline bool test_swap_out_folio(mm::Ctx& c, mm::Folio folio, const std::vector<Mapping>& maps)
{
    using namespace mm;
    const mm::Arch& a = c.k.arch();
    const unsigned long nr = folio_nr_pages(c, folio);
    folio_get(c, folio); // isolation's reference
    folio_lock(c, folio);
    if (!folio_test_swapcache(c, folio) && folio_alloc_swap(c, folio))
        throw std::runtime_error("test_swap_out_folio: no swap slots");
    bool ok = true;
    for (const Mapping& m : maps) {
        const PtePtr pmd = pmd_offset_lookup(c, *m.mm, m.start); // a folio lies in one PTE table
        const PtePtr first = pmd ? pte_offset_map(c, pmd, m.start) : 0;
        if (!first)
            continue;
        const PAddr ptl = pte_lockptr(c, first);
        hw::SpinLock(ptl).lock(c.cpu);
        for (unsigned long i = 0; i < nr && ok; ++i) {
            const Addr addr = m.start + i * c.k.page_size();
            vm_area_struct* vma = m.mm->vma_at(addr);
            if (!vma)
                continue;
            const PtePtr ptep = pte_offset(first, static_cast<long>(i));
            const pte_t pte = ptep_get(c, ptep);
            if (!a.pte_present(pte) || a.pte_pfn(pte) != folio_pfn(folio) + i)
                continue;
            const pfn_t page = folio_page(folio, i);
            const bool anon_exclusive = PageAnonExclusive(c, page);
            const pte_t pteval = ptep_clear_flush(c, *vma, addr, ptep);
            if (a.pte_dirty(pteval))
                folio_set_flag(c, folio, PG_dirty); // folio_mark_dirty()
            if (folio_dup_swap(c, folio, page, 1) < 0) {
                set_pte_at(c, *m.mm, addr, ptep, pteval);
                ok = false;
                break;
            }
            // See folio_try_share_anon_rmap(): clear PTE first.
            if (anon_exclusive && folio_try_share_anon_rmap_pte(c, folio, page)) {
                folio_put_swap(c, folio, page, 1);
                set_pte_at(c, *m.mm, addr, ptep, pteval);
                ok = false;
                break;
            }
            dec_mm_counter(c, *m.mm, MM_ANONPAGES);
            inc_mm_counter(c, *m.mm, MM_SWAPENTS);
            pte_t swp_pte = a.swp_entry_to_pte(page_swap_entry(c, folio, page));
            if (anon_exclusive)
                swp_pte = a.pte_swp_mkexclusive(swp_pte);
            if (a.pte_soft_dirty(pteval))
                swp_pte = a.pte_swp_mksoft_dirty(swp_pte);
            set_pte_at(c, *m.mm, addr, ptep, swp_pte);
            folio_remove_rmap_pte(c, folio, page, *vma);
            folio_put(c, folio);
        }
        hw::SpinLock(ptl).unlock(c.cpu);
        if (!ok)
            break;
    }
    if (!ok || folio_mapcount(c, folio) > 0) {
        folio_unlock(c, folio);
        folio_put(c, folio);
        return false;
    }
    swap_writeout(c, folio); // pageout(): unlocks the folio
    // __remove_mapping(): the folio out of the swap cache (the cache's references and ours: it is freed)
    folio_lock(c, folio);
    if (folio_test_swapcache(c, folio)) {
        const PAddr ci = swap_cluster_get_and_lock(c, folio);
        __swap_cache_del_folio(c, ci, folio, folio_swap(c, folio));
        swap_cluster_unlock(c, ci);
        folio_ref_sub(c, folio, static_cast<int>(nr));
    }
    folio_unlock(c, folio);
    folio_put(c, folio);
    return true;
}

// The folio mapped at va in mm (the test's accessor: page_folio() of the PTE's page).
inline mm::Folio folio_at(mm::Ctx& c, mm::mm_struct& mm, Addr va)
{
    const mm::PtePtr ptep = mm::pte_offset_map(c, mm::pmd_offset_lookup(c, mm, va), va);
    const mm::pte_t pte = mm::ptep_get(c, ptep);
    if (!c.k.arch().pte_present(pte))
        throw std::logic_error("folio_at: nothing mapped");
    return mm::page_folio(c, c.k.arch().pte_pfn(pte));
}

// The PTE of va in mm, read through the core.
inline mm::pte_t pte_at(mm::Ctx& c, mm::mm_struct& mm, Addr va)
{
    const mm::PtePtr pmd = mm::pmd_offset_lookup(c, mm, va);
    const mm::PtePtr ptep = pmd ? mm::pte_offset_map(c, pmd, va) : 0;
    return ptep ? mm::ptep_get(c, ptep) : mm::pte_t{0};
}

} // namespace mmusim::test
