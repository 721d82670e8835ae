// SPDX-License-Identifier: GPL-2.0-only
// mm/page_vma_mapped.c page_vma_mapped_walk() for PTE-mapped anonymous folios: each PTE of `vma` that maps a
// page of the folio, present or device-exclusive (check_pte()), returned with its page table's lock held. A
// PMD leaf mapping the folio is returned with pte == 0 (the caller aborts: the port's try_to_unmap_one()
// splits no PMD). Not modelled: hugetlb, file folios, migration entries (PVMW_MIGRATION).
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// include/linux/rmap.h PVMW_* flags
enum : unsigned {
    PVMW_SYNC = 1u << 0,               // look at every PTE table even if it is busy
    PVMW_MIGRATION = 1u << 1,          // not modelled
    PVMW_PGTABLE_CROSSED = 1u << 16,   // result: the walk crossed a page-table boundary
};

// include/linux/rmap.h struct page_vma_mapped_walk
struct page_vma_mapped_walk {
    pfn_t pfn = 0;
    unsigned long nr_pages = 0;
    vm_area_struct* vma = nullptr;
    Addr address = 0; // the current PTE's address (the folio's first address in vma before the first call)
    Addr end = 0;     // vma_address_end(): set on the first call
    std::uint64_t pgoff = 0; // folio_pgoff(): the folio's linear page index
    PtePtr pmd = 0;
    PtePtr pte = 0;
    PAddr ptl = 0; // the held page-table lock, 0 when none
    unsigned flags = 0;
    bool started = false;
};

// mm/page_vma_mapped.c page_vma_mapped_walk(): the next PTE mapping the folio; false when there is none (the
// lock is dropped then).
bool page_vma_mapped_walk(Ctx& c, struct page_vma_mapped_walk& pvmw);
// include/linux/rmap.h page_vma_mapped_walk_done(): drops the page-table lock
void page_vma_mapped_walk_done(Ctx& c, struct page_vma_mapped_walk& pvmw);

} // namespace mmusim::mm
