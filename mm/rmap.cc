// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/rmap.hh"

#include "hw/core/spinlock.hh"
#include "mm/internal.hh"

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::StructPage;
constexpr std::uint64_t LOCK_BIT = std::uint64_t{1} << FOLIO_MM_IDS_LOCK_BITNUM;
constexpr std::uint64_t SHARED_BIT = std::uint64_t{1} << FOLIO_MM_IDS_SHARED_BITNUM;

PAddr mm_ids_addr(const Ctx& c, Folio f) { return page_addr(c, f.pfn) + FOLIO_OFF_MM_IDS; }
PAddr mm_id_mapcount_addr(const Ctx& c, Folio f, int idx) { return page_addr(c, f.pfn) + FOLIO_OFF_MM_ID_MAPCOUNT + 4 * idx; }

std::uint64_t load_mm_ids(Ctx& c, Folio f) { return c.cpu.load(mm_ids_addr(c, f), 8, kCat); }
void store_mm_ids(Ctx& c, Folio f, std::uint64_t v) { c.cpu.store(mm_ids_addr(c, f), v, 8, kCat); }
unsigned mm_id_of(std::uint64_t ids, int idx) { return static_cast<unsigned>((ids >> (32 * idx)) & MM_ID_MASK); }
// include/linux/rmap.h folio_set_mm_id()
std::uint64_t with_mm_id(std::uint64_t ids, int idx, unsigned id)
{
    const unsigned shift = 32u * static_cast<unsigned>(idx);
    return (ids & ~(MM_ID_MASK << shift)) | (std::uint64_t{id} << shift);
}
int load_slot(Ctx& c, Folio f, int idx)
{
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(c.cpu.load(mm_id_mapcount_addr(c, f, idx), 4, kCat)));
}
void store_slot(Ctx& c, Folio f, int idx, int v)
{
    c.cpu.store(mm_id_mapcount_addr(c, f, idx), static_cast<std::uint32_t>(v), 4, kCat);
}

// mm/rmap.c __folio_set_anon(): WRITE_ONCE(folio->mapping, anon_vma | PAGE_MAPPING_ANON) and folio->index =
// linear_page_index() (an anonymous private VMA's vm_pgoff is its start >> PAGE_SHIFT, so the index is the
// address's page number). The root anon_vma is the VMA's own here (no anon_vma chains).
void __folio_set_anon(Ctx& c, Folio folio, vm_area_struct& vma, Addr address)
{
    folio_set_mapping(c, folio, vma.anon->addr | PAGE_MAPPING_ANON, address >> c.k.page_shift());
}

// mm/rmap.c __folio_add_rmap() at PTE level with CONFIG_NO_PAGE_MAPCOUNT. Returns the pages that became
// mapped (the NR_ANON_MAPPED delta, whose statistic is not modelled).
int __folio_add_rmap(Ctx& c, Folio folio, int nr_pages, vm_area_struct& vma)
{
    if (!folio_test_large(c, folio))
        return folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, 1) == 0; // atomic_inc_and_test()
    const int nr = folio_add_return_large_mapcount(c, folio, nr_pages, vma);
    return nr == nr_pages ? static_cast<int>(folio_nr_pages(c, folio)) : 0; // was completely unmapped
}

} // namespace

// include/linux/rmap.h folio_lock_large_mapcount(): bit_spin_lock(FOLIO_MM_IDS_LOCK_BITNUM, &folio->_mm_ids)
void folio_lock_large_mapcount(Ctx& c, Folio folio)
{
    const PAddr pa = mm_ids_addr(c, folio);
    while (c.cpu.test_and_set_bit(FOLIO_MM_IDS_LOCK_BITNUM, pa, kCat)) {
        do {
            c.cpu.spin_pause(Category::Lock);
        } while (c.cpu.load(pa, 8, kCat) & LOCK_BIT);
    }
}

// include/linux/rmap.h folio_unlock_large_mapcount(): __bit_spin_unlock(), a release store of the word
void folio_unlock_large_mapcount(Ctx& c, Folio folio)
{
    const std::uint64_t ids = load_mm_ids(c, folio);
    store_mm_ids(c, folio, ids & ~LOCK_BIT);
}

// include/linux/rmap.h folio_mm_id()
unsigned folio_mm_id(Ctx& c, Folio folio, int idx) { return mm_id_of(load_mm_ids(c, folio), idx); }

bool folio_mm_ids_shared(Ctx& c, Folio folio) { return load_mm_ids(c, folio) & SHARED_BIT; }

// include/linux/rmap.h folio_set_large_mapcount() (CONFIG_MM_ID): a new folio, all of it in this MM's slot 0
void folio_set_large_mapcount(Ctx& c, Folio folio, int mapcount, vm_area_struct& vma)
{
    // Note: mapcounts start at -1.
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, mapcount - 1);
    store_slot(c, folio, 0, mapcount - 1);
    store_mm_ids(c, folio, with_mm_id(load_mm_ids(c, folio), 0, vma.vm_mm->mm_id));
}

// include/linux/rmap.h folio_add_return_large_mapcount() (CONFIG_MM_ID, 64-bit)
int folio_add_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma)
{
    const unsigned mm_id = vma.vm_mm->mm_id;
    folio_lock_large_mapcount(c, folio);
    const int new_mapcount_val = folio_atomic_read(c, folio, FOLIO_OFF_LARGE_MAPCOUNT) + diff;
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, new_mapcount_val);

    std::uint64_t ids = load_mm_ids(c, folio);
    if (mm_id_of(ids, 0) == mm_id) {
        store_slot(c, folio, 0, load_slot(c, folio, 0) + diff);
    } else if (mm_id_of(ids, 1) == mm_id) {
        store_slot(c, folio, 1, load_slot(c, folio, 1) + diff);
    } else if (mm_id_of(ids, 0) == MM_ID_DUMMY) {
        ids = with_mm_id(ids, 0, mm_id);
        store_slot(c, folio, 0, diff - 1);
        // We might have other mappings already.
        if (new_mapcount_val != diff - 1)
            ids |= SHARED_BIT;
        store_mm_ids(c, folio, ids);
    } else if (mm_id_of(ids, 1) == MM_ID_DUMMY) {
        ids = with_mm_id(ids, 1, mm_id);
        store_slot(c, folio, 1, diff - 1);
        // Slot 0 certainly has mappings as well.
        ids |= SHARED_BIT;
        store_mm_ids(c, folio, ids);
    }
    folio_unlock_large_mapcount(c, folio);
    return new_mapcount_val + 1;
}

// include/linux/rmap.h folio_sub_return_large_mapcount() (CONFIG_MM_ID)
int folio_sub_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma)
{
    const unsigned mm_id = vma.vm_mm->mm_id;
    folio_lock_large_mapcount(c, folio);
    const int new_mapcount_val = folio_atomic_read(c, folio, FOLIO_OFF_LARGE_MAPCOUNT) - diff;
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, new_mapcount_val);

    // There are valid corner cases where we might underflow a per-MM mapcount, so we always set it to -1
    // once we go negative.
    std::uint64_t ids = load_mm_ids(c, folio);
    bool out = false;
    for (int idx = 0; idx < 2; ++idx) {
        if (mm_id_of(ids, idx) != mm_id)
            continue;
        const int v = load_slot(c, folio, idx) - diff;
        if (v >= 0) {
            store_slot(c, folio, idx, v);
            out = true;
        } else {
            store_slot(c, folio, idx, -1);
            ids = with_mm_id(ids, idx, MM_ID_DUMMY);
            store_mm_ids(c, folio, ids);
        }
        break;
    }
    // If one MM slot owns all mappings, the folio is mapped exclusively.
    if (!out && (load_slot(c, folio, 0) == new_mapcount_val || load_slot(c, folio, 1) == new_mapcount_val)) {
        ids &= ~SHARED_BIT;
        store_mm_ids(c, folio, ids);
    }
    folio_unlock_large_mapcount(c, folio);
    return new_mapcount_val + 1;
}

// mm/rmap.c __anon_vma_prepare()
void anon_vma_prepare(Ctx& c, vm_area_struct& vma)
{
    if (vma.anon)
        return;
    auto av = std::make_shared<anon_vma>();
    av->addr = c.k.kmalloc(c, ANON_VMA_BYTES); // anon_vma_alloc(): refcount 1
    c.cpu.store(av->addr + ANON_VMA_OFF_REFCOUNT, 1, 4, Category::KernelMemory);
    hw::SpinLock lock(vma.vm_mm->page_table_lock());
    lock.lock(c.cpu);
    vma.anon = std::move(av);
    lock.unlock(c.cpu);
}

// mm/rmap.c unlink_anon_vmas(): put_anon_vma() of the last user frees it
void unlink_anon_vmas(Ctx& c, vm_area_struct& vma)
{
    if (!vma.anon)
        return;
    if (vma.anon.use_count() == 1) {
        c.cpu.fetch_sub(vma.anon->addr + ANON_VMA_OFF_REFCOUNT, 1, 4, Category::KernelMemory);
        c.k.kfree(c, vma.anon->addr, ANON_VMA_BYTES);
    }
    vma.anon.reset();
}

// mm/rmap.c folio_add_new_anon_rmap()
void folio_add_new_anon_rmap(Ctx& c, Folio folio, vm_area_struct& vma, Addr address, rmap_t flags, pgtable_level level)
{
    const PhaseScope phase(c, "folio_add_new_anon_rmap");
    const bool exclusive = flags & RMAP_EXCLUSIVE;
    if (!folio_test_flag(c, folio, PG_swapbacked))
        __folio_set_flag(c, folio, PG_swapbacked); // __folio_set_swapbacked() (no VM_DROPPABLE here)
    __folio_set_anon(c, folio, vma, address);

    if (!folio_test_large(c, folio)) {
        folio_atomic_set(c, folio, PAGE_OFF_MAPCOUNT, 0); // increment count (starts at -1)
        if (exclusive)
            SetPageAnonExclusive(c, folio.pfn);
    } else if (level == pgtable_level::PTE) { // !folio_test_pmd_mappable() upstream
        const int nr = static_cast<int>(folio_nr_pages(c, folio));
        for (int i = 0; i < nr; ++i)
            if (exclusive)
                SetPageAnonExclusive(c, folio_page(folio, i));
        folio_set_large_mapcount(c, folio, nr, vma);
    } else {
        // A PMD mapping: one entire mapping, one large mapcount; only the head page's flag counts.
        folio_atomic_set(c, folio, FOLIO_OFF_ENTIRE_MAPCOUNT, 0); // increment count (starts at -1)
        folio_set_large_mapcount(c, folio, 1, vma);
        if (exclusive)
            SetPageAnonExclusive(c, folio.pfn);
    }
}

// mm/rmap.c folio_remove_rmap_pmd() -> __folio_remove_rmap() at PMD level, CONFIG_NO_PAGE_MAPCOUNT: the
// NR_ANON_THPS/NR_ANON_MAPPED deltas it computes feed statistics the port does not keep, and the deferred
// split of a partially mapped folio is not modelled; the timed part is the two mapcount updates.
void folio_remove_rmap_pmd(Ctx& c, Folio folio, pfn_t, vm_area_struct& vma)
{
    const PhaseScope phase(c, "folio_remove_rmap_pmd");
    folio_atomic_add_return(c, folio, FOLIO_OFF_ENTIRE_MAPCOUNT, -1); // atomic_add_negative(-1, &_entire_mapcount)
    folio_sub_return_large_mapcount(c, folio, 1, vma);                // folio_dec_return_large_mapcount()
}

// mm/rmap.c folio_add_anon_rmap_ptes() -> __folio_add_anon_rmap()
void folio_add_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma, Addr,
                              rmap_t flags)
{
    __folio_add_rmap(c, folio, nr_pages, vma);
    if (flags & RMAP_EXCLUSIVE)
        for (int i = 0; i < nr_pages; ++i)
            SetPageAnonExclusive(c, page + i);
}

// mm/rmap.c folio_remove_rmap_ptes() -> __folio_remove_rmap() at PTE level, CONFIG_NO_PAGE_MAPCOUNT
void folio_remove_rmap_ptes(Ctx& c, Folio folio, pfn_t, int nr_pages, vm_area_struct& vma)
{
    const PhaseScope phase(c, "folio_remove_rmap_ptes");
    if (!folio_test_large(c, folio)) {
        folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, -1); // atomic_add_negative(-1, &_mapcount)
        return;
    }
    const int nr = folio_sub_return_large_mapcount(c, folio, nr_pages, vma);
    if (nr) {
        // partially_mapped: upstream queues the folio for deferred split here (not modelled); the
        // entire-mapcount read is the timed part of the test.
        if (nr < static_cast<int>(folio_nr_pages(c, folio)))
            folio_entire_mapcount(c, folio);
    }
}

// include/linux/mm.h folio_needs_cow_for_dma()
bool folio_needs_cow_for_dma(Ctx& c, vm_area_struct& vma, Folio folio)
{
    c.cpu.load(vma.vm_mm->addr + MM_OFF_FLAGS, 8, Category::KernelMemory); // test_bit(MMF_HAS_PINNED, ...)
    static_assert(MMF_HAS_PINNED < 64, "one word of mm->flags");
    if (!vma.vm_mm->has_pinned)
        return false;
    return folio_maybe_dma_pinned(c, folio);
}

// include/linux/rmap.h __folio_try_dup_anon_rmap() at PTE level
int folio_try_dup_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& dst_vma,
                                 vm_area_struct& src_vma)
{
    const PhaseScope phase(c, "folio_try_dup_anon_rmap_ptes");
    // If this folio may have been pinned by the parent process, don't allow to duplicate the mappings but
    // instead require to e.g. copy the subpage immediately for the child.
    const bool maybe_pinned = folio_needs_cow_for_dma(c, src_vma, folio);
    if (maybe_pinned)
        for (int i = 0; i < nr_pages; ++i)
            if (PageAnonExclusive(c, page + i))
                return -EBUSY;

    if (!folio_test_large(c, folio)) {
        if (PageAnonExclusive(c, page))
            ClearPageAnonExclusive(c, page);
        folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, 1); // atomic_inc(&folio->_mapcount)
        return 0;
    }
    for (int i = 0; i < nr_pages; ++i)
        if (PageAnonExclusive(c, page + i))
            ClearPageAnonExclusive(c, page + i);
    folio_add_return_large_mapcount(c, folio, nr_pages, dst_vma); // folio_add_large_mapcount()
    return 0;
}

// include/linux/rmap.h __folio_try_share_anon_rmap()
int __folio_try_share_anon_rmap(Ctx& c, Folio folio, pfn_t page, int, pgtable_level)
{
    // Paired with the memory barrier in try_grab_folio() (CONFIG_HAVE_GUP_FAST).
    smp_mb(c);
    if (folio_maybe_dma_pinned(c, folio))
        return -EBUSY;
    ClearPageAnonExclusive(c, page);
    // This is conceptually a smp_wmb() paired with the smp_rmb() in gup_must_unshare().
    smp_mb__after_atomic(c);
    return 0;
}

// include/linux/mm.h folio_maybe_mapped_shared()
bool folio_maybe_mapped_shared(Ctx& c, Folio folio)
{
    const int mapcount = folio_mapcount(c, folio);
    // Only partially-mappable folios require more care.
    if (!folio_test_large(c, folio))
        return mapcount > 1;
    // A single mapping implies "mapped exclusively".
    if (mapcount <= 1)
        return false;
    // If any page is mapped more than once we treat it "mapped shared".
    if (folio_entire_mapcount(c, folio) || mapcount > static_cast<int>(folio_nr_pages(c, folio)))
        return true;
    // Let's guess based on the first subpage.
    return folio_mm_ids_shared(c, folio);
}

} // namespace mmusim::mm
