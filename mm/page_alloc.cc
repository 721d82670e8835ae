// SPDX-License-Identifier: GPL-2.0-only
// The page allocator (mm/page_alloc.c, mm/internal.h): the buddy itself is PhysAllocator (host bookkeeping,
// its split/merge steps charged software.buddy_op each); what upstream writes in kernel memory is timed here:
// the per-CPU list's struct per_cpu_pages (lock and count) for the orders the pcp lists serve, zone->lock for
// the others, and the struct pages prep_new_page()/prep_compound_page() initialise and free_pages_prepare()
// resets.
//
// Not modelled: the pcp lists' contents (pages go straight back to the buddy; only the list head and count
// are touched, as a pcp hit would) and the list_del/list_add on the pages' own lru fields.
#include "mm/phase.hh"
#include "mm/page_alloc.hh"

#include "mm/debug_vm.hh"

#include "hw/core/spinlock.hh"
#include "mm/kernel.hh"
#include "mm/page_table_check.hh"

#include "util/hex.hh"

#include <algorithm>
#include <string>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::StructPage;
constexpr unsigned PAGE_ALLOC_COSTLY_ORDER = 3;     // include/linux/mmzone.h
constexpr std::uint64_t TAIL_MAPPING = 0x400;       // include/linux/poison.h, POISON_POINTER_DELTA 0
// include/linux/page-flags.h PAGE_FLAGS_CHECK_AT_PREP: every page flag (the node/zone bits above are not
// modelled); the whole flags word is cleared at free.
constexpr std::uint64_t PAGE_FLAGS_CHECK_AT_PREP = ~std::uint64_t{0};

// struct per_cpu_pages (include/linux/mmzone.h): lock, count, high, high_min, high_max, batch, flags,
// free_count, then lists[NR_PCP_LISTS] (13 list heads).
constexpr unsigned PCP_OFF_LOCK = 0, PCP_OFF_COUNT = 4, PCP_OFF_LISTS = 32, PCP_BYTES = 256;
constexpr unsigned NR_PCP_LISTS = 13;
// struct zone: only its lock is touched (the buddy's free_area lists are host-side).
constexpr unsigned ZONE_BYTES = 64;

} // namespace

PageAllocator::PageAllocator(Kernel& k, PhysAllocator& phys) : k_(k), phys_(phys)
{
    // Boot-time kernel memory, fresh and so zero (an unlocked lock, empty counts): no core runs yet.
    for (unsigned i = 0; i < k_.platform().cores(); ++i)
        pcp_.push_back(phys_.alloc(PCP_BYTES, 64));
    zone_ = phys_.alloc(ZONE_BYTES, 64);
    const hw::PageTableFormat& fmt = k_.format();
    pmd_order_ = fmt.levels() >= 2 ? fmt.level(fmt.levels() - 2).shift - fmt.page_shift() : 0;
}

// mm/page_alloc.c pcp_allowed_order(): the costly orders and the PMD (THP) order go through the pcp lists
bool PageAllocator::pcp_allowed_order(unsigned order) const
{
    return order <= PAGE_ALLOC_COSTLY_ORDER || (pmd_order_ && order == pmd_order_);
}

// Charges the buddy's split/merge steps since `steps_before` (expand(), __free_one_page()).
void PageAllocator::charge_buddy(Ctx& c, std::uint64_t steps_before)
{
    const std::uint64_t steps = phys_.steps() - steps_before;
    if (steps)
        k_.charge_sw(c, steps * k_.config().software.buddy_op);
}

// mm/page_alloc.c rmqueue_pcplist() / free_frozen_page_commit(): pcp_spin_trylock, the list head, pcp->count
// +- nr pages, unlock. Other orders: rmqueue_buddy() / free_one_page() under zone->lock.
void PageAllocator::pcp_account(Ctx& c, unsigned order, bool alloc)
{
    if (!pcp_allowed_order(order)) {
        hw::SpinLock zone_lock(zone_);
        zone_lock.lock(c.cpu);
        zone_lock.unlock(c.cpu);
        return;
    }
    const PAddr pcp = pcp_.at(c.cpu.id());
    hw::SpinLock lock(pcp + PCP_OFF_LOCK);
    lock.lock(c.cpu);
    const unsigned pindex = std::min(order, NR_PCP_LISTS - 1); // order_to_pindex(), one migratetype
    const PAddr list = pcp + PCP_OFF_LISTS + 16 * pindex;
    if (alloc)
        c.cpu.load(list, 8, Category::KernelMemory); // list_first_entry()
    else
        c.cpu.store(list, 0, 8, Category::KernelMemory); // list_add(): the new first entry (not kept)
    const std::uint64_t count = c.cpu.load(pcp + PCP_OFF_COUNT, 4, Category::KernelMemory);
    const std::uint64_t nr = std::uint64_t{1} << order;
    c.cpu.store(pcp + PCP_OFF_COUNT, alloc ? count - nr : count + nr, 4, Category::KernelMemory);
    lock.unlock(c.cpu);
}

// mm/page_alloc.c post_alloc_hook() (set_page_private(0), set_page_refcounted()) and prep_compound_page()
// via prep_new_page(). The head's _mapcount is reset to -1 here as well: upstream leaves it at -1 from boot
// (__init_single_page) and every free; simulated memory starts zeroed, and the store hits the line the
// refcount store owns anyway.
void PageAllocator::prep_new_page(Ctx& c, pfn_t page, unsigned order)
{
    const PAddr head = page_addr(c, page);
    c.cpu.store(head + PAGE_OFF_PRIVATE, 0, 8, kCat);
    c.cpu.store(head + PAGE_OFF_MAPCOUNT, static_cast<std::uint32_t>(-1), 4, kCat);
    c.cpu.store(head + PAGE_OFF_REFCOUNT, 1, 4, kCat);
    if (order)
        prep_compound_page(c, page, order);
}

// mm/page_alloc.c prep_compound_page(): __SetPageHead, prep_compound_tail() per tail, prep_compound_head()
void PageAllocator::prep_compound_page(Ctx& c, pfn_t page, unsigned order)
{
    const PAddr head = page_addr(c, page);
    __folio_set_flag(c, Folio{page}, PG_head);
    const unsigned long nr = 1ul << order;
    for (unsigned long i = 1; i < nr; ++i) {
        // mm/internal.h prep_compound_tail(): mapping = TAIL_MAPPING, set_compound_head(), private = 0
        const PAddr p = page_addr(c, page + i);
        c.cpu.store(p + PAGE_OFF_MAPPING, TAIL_MAPPING, 8, kCat);
        c.cpu.store(p + PAGE_OFF_COMPOUND_HEAD, head | 1, 8, kCat);
        c.cpu.store(p + PAGE_OFF_PRIVATE, 0, 8, kCat);
    }
    // mm/internal.h prep_compound_head() (CONFIG_NO_PAGE_MAPCOUNT, CONFIG_MM_ID, 64-bit): folio_set_order(),
    // _large_mapcount = -1, _mm_ids = 0, _mm_id_mapcount[] = -1, _pincount = 0, _entire_mapcount = -1.
    const std::uint64_t flags_1 = c.cpu.load(head + FOLIO_OFF_FLAGS_1, 8, kCat);
    c.cpu.store(head + FOLIO_OFF_FLAGS_1, (flags_1 & ~std::uint64_t{0xff}) | order, 8, kCat);
    const Folio f{page};
    folio_atomic_set(c, f, FOLIO_OFF_LARGE_MAPCOUNT, -1);
    c.cpu.store(head + FOLIO_OFF_MM_IDS, 0, 8, kCat);
    folio_atomic_set(c, f, FOLIO_OFF_MM_ID_MAPCOUNT, -1);
    folio_atomic_set(c, f, FOLIO_OFF_MM_ID_MAPCOUNT + 4, -1);
    folio_atomic_set(c, f, FOLIO_OFF_PINCOUNT, 0);
    folio_atomic_set(c, f, FOLIO_OFF_ENTIRE_MAPCOUNT, -1);
}

// mm/mempolicy.c folio_alloc() -> __folio_alloc() -> page_rmappable_folio()
Folio PageAllocator::folio_alloc(Ctx& c, unsigned order)
{
    const PhaseScope phase(c, "folio_alloc");
    const std::uint64_t bytes = k_.page_size() << order;
    const std::uint64_t steps = phys_.steps();
    const PAddr pa = phys_.alloc(bytes, bytes);
    pcp_account(c, order, true);
    charge_buddy(c, steps);
    const pfn_t pfn = pa >> k_.page_shift();
    prep_new_page(c, pfn, order);
    const Folio f{pfn};
    if (order > 1)
        folio_set_flag(c, f, PG_large_rmappable); // folio_set_large_rmappable()
    ++k_.stats().folios_allocated;
    return f;
}

// mm/page_alloc.c free_pages_prepare(): reset what the folio's life changed, then free_unref_folios() /
// __free_pages_ok() hand it back.
void PageAllocator::free_folio(Ctx& c, Folio f)
{
    const PhaseScope phase(c, "free_folio");
    const unsigned order = folio_order(c, f);
    const unsigned long nr = 1ul << order;
    const PAddr head = page_addr(c, f.pfn);
    if (order) {
        // page[1].flags &= ~PAGE_FLAGS_SECOND: the order and the second page's flags
        const std::uint64_t flags_1 = c.cpu.load(head + FOLIO_OFF_FLAGS_1, 8, kCat);
        c.cpu.store(head + FOLIO_OFF_FLAGS_1, flags_1 & ~std::uint64_t{0xff}, 8, kCat);
    }
    for (unsigned long i = 1; i < nr; ++i) {
        // free_tail_page_prepare() without the debug checks: mapping = NULL, clear_compound_head()
        const PAddr p = page_addr(c, f.pfn + i);
        c.cpu.store(p + PAGE_OFF_MAPPING, 0, 8, kCat);
        c.cpu.store(p + PAGE_OFF_COMPOUND_HEAD, 0, 8, kCat);
        // (page + i)->flags &= ~PAGE_FLAGS_CHECK_AT_PREP: PG_anon_exclusive of each page goes here
        const std::uint64_t flags = c.cpu.load(p + PAGE_OFF_FLAGS, 8, kCat);
        c.cpu.store(p + PAGE_OFF_FLAGS, flags & ~PAGE_FLAGS_CHECK_AT_PREP, 8, kCat);
    }
    // PageMappingFlags(page): page->mapping = NULL; then page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP
    if (folio_mapping_raw(c, f) & PAGE_MAPPING_ANON)
        c.cpu.store(head + PAGE_OFF_MAPPING, 0, 8, kCat);
    const std::uint64_t flags = c.cpu.load(head + PAGE_OFF_FLAGS, 8, kCat);
    c.cpu.store(head + PAGE_OFF_FLAGS, flags & ~PAGE_FLAGS_CHECK_AT_PREP, 8, kCat);

    const std::uint64_t bytes = k_.page_size() << order;
    check_unreachable(c, f.pfn << k_.page_shift(), bytes, "folio freed");
    if (PageTableCheck* ptc = k_.page_table_check())
        ptc->zero(f.pfn, bytes >> k_.page_shift()); // page_table_check_free()
    const std::uint64_t steps = phys_.steps();
    pcp_account(c, order, false);
    phys_.free(f.pfn << k_.page_shift(), bytes, bytes);
    charge_buddy(c, steps);
    ++k_.stats().folios_freed;
}

// include/linux/mm.h pagetable_alloc() + pagetable_pte_ctor()/pagetable_pmd_ctor(): a zeroed table
// (__GFP_ZERO: clear_page through the caches), refcount 1, its split lock initialised. A table smaller than
// a page (arm64 roots of a short VA range, upstream a kmem_cache object) has no struct page of its own.
PAddr PageAllocator::pagetable_alloc(Ctx& c, int depth)
{
    const PhaseScope phase(c, "pagetable_alloc");
    const std::uint64_t bytes = std::max<std::uint64_t>(k_.format().table_bytes(depth), 64);
    const std::uint64_t steps = phys_.steps();
    const PAddr table = phys_.alloc(bytes, bytes);
    const bool whole_page = bytes >= k_.page_size();
    if (whole_page)
        pcp_account(c, 0, true);
    charge_buddy(c, steps);
    c.cpu.clear_page(table, bytes, Category::ClearPage);
    if (whole_page) {
        const PAddr page = page_addr(c, table >> k_.page_shift());
        c.cpu.store(page + PAGE_OFF_REFCOUNT, 1, 4, kCat);       // set_page_refcounted()
        c.cpu.store(ptlock(c, table), 0, 4, Category::Lock);     // ptlock_init(): spin_lock_init()
        // pagetable_pmd_ctor() -> pmd_ptlock_init(): ptdesc->pmd_huge_pte = NULL (no deposited PTE tables)
        if (depth == k_.format().levels() - 2)
            c.cpu.store(page + PTDESC_OFF_PMD_HUGE_PTE, 0, 8, kCat);
    }
    ++k_.stats().pgtables_allocated;
    return table;
}

// include/linux/mm.h pagetable_dtor() + pagetable_free(): the page's reference dropped, back to the buddy
void PageAllocator::pagetable_free(Ctx& c, PAddr table, int depth)
{
    const std::uint64_t bytes = std::max<std::uint64_t>(k_.format().table_bytes(depth), 64);
    const bool whole_page = bytes >= k_.page_size();
    check_unreachable(c, table, bytes, "page table freed");
    if (whole_page)
        c.cpu.fetch_sub(page_addr(c, table >> k_.page_shift()) + PAGE_OFF_REFCOUNT, 1, 4, kCat);
    const std::uint64_t steps = phys_.steps();
    if (whole_page)
        pcp_account(c, 0, false);
    phys_.free(table, bytes, bytes);
    charge_buddy(c, steps);
    ++k_.stats().pgtables_freed;
}

// include/linux/mm.h ptlock_ptr(): without ALLOC_SPLIT_PTLOCKS, struct ptdesc's ptl shares the word of
// page->private (offset 40; a 4-byte spinlock_t, 8-byte aligned).
PAddr PageAllocator::ptlock(const Ctx& c, PAddr table) const
{
    return page_addr(c, table >> k_.page_shift()) + PAGE_OFF_PRIVATE;
}

} // namespace mmusim::mm
