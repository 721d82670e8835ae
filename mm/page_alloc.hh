// SPDX-License-Identifier: GPL-2.0-only
// The page allocator as the ported paths use it (mm/page_alloc.c): folios of 2^order base pages and page-table
// pages come from the buddy allocator (PhysAllocator, host bookkeeping) through per-CPU lists, the way
// upstream's pcp lists front the buddy lists for orders up to PAGE_ALLOC_COSTLY_ORDER and the PMD order.
// Timed: prep_new_page() / prep_compound_page() initialise the struct pages (refcount, flags, order, each tail's
// compound_head), the per-CPU list head and count are simulated kernel memory, and freeing resets the struct
// pages as free_pages_prepare() does. The buddy's own splitting and merging is charged from the software cost
// table (software.buddy_op) per operation.
#pragma once

#include "mm/page.hh"
#include "mm/phys_alloc.hh"

#include <vector>

namespace mmusim::mm {

class Kernel;

class PageAllocator {
public:
    PageAllocator(Kernel& k, PhysAllocator& phys);

    // folio_alloc() / vma_alloc_folio(): 2^order pages, refcount 1, mapcounts -1, order recorded in _flags_1.
    // Throws OutOfMemory.
    Folio folio_alloc(Ctx& c, unsigned order);
    // free_unref_folios() / free_frozen_pages() for a folio whose refcount has dropped to 0.
    void free_folio(Ctx& c, Folio f);
    // pagetable_alloc() + pagetable_pte_ctor(): a zeroed table of format().table_bytes(depth) (clear_page
    // through the caches); its split lock (ptdesc->ptl) lives in the table page's struct page.
    PAddr pagetable_alloc(Ctx& c, int depth);
    void pagetable_free(Ctx& c, PAddr table, int depth);
    // The split page-table lock of a table page (include/linux/mm.h ptlock_ptr()).
    PAddr ptlock(const Ctx& c, PAddr table) const;

    std::uint64_t free_bytes() const { return phys_.capacity() - phys_.allocated(); }
    std::uint64_t allocated_bytes() const { return phys_.allocated(); }

private:
    bool pcp_allowed_order(unsigned order) const;
    void pcp_account(Ctx& c, unsigned order, bool alloc);
    void charge_buddy(Ctx& c, std::uint64_t steps_before);
    void prep_new_page(Ctx& c, pfn_t page, unsigned order);
    void prep_compound_page(Ctx& c, pfn_t page, unsigned order);

    Kernel& k_;
    PhysAllocator& phys_;
    std::vector<PAddr> pcp_;        // per-CPU struct per_cpu_pages (count, high, lists)
    PAddr zone_ = 0;                // struct zone (its lock)
    unsigned pmd_order_ = 0;        // HPAGE_PMD_ORDER
};

} // namespace mmusim::mm
