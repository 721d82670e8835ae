// SPDX-License-Identifier: GPL-2.0-only
// struct page / struct folio accessors (include/linux/page-flags.h, include/linux/page_ref.h,
// include/linux/mm.h): each one is the timed access upstream's inline makes, by the running core, to the
// field's vmemmap address (Category::StructPage). atomic_t fields are 4 bytes; page->flags is one 8-byte word.
#include "mm/page.hh"

#include "mm/debug_vm.hh"
#include "mm/kernel.hh"
#include "mm/swap.hh"

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::StructPage;
constexpr int GUP_PIN_COUNTING_BIAS = 1 << 10; // include/linux/mm.h

PAddr folio_addr(const Ctx& c, Folio f) { return page_addr(c, f.pfn); }

int as_int(std::uint64_t v) { return static_cast<int>(static_cast<std::int32_t>(static_cast<std::uint32_t>(v))); }
std::uint64_t as_u32(int v) { return static_cast<std::uint32_t>(v); }

std::uint64_t page_flags(Ctx& c, pfn_t page) { return c.cpu.load(page_addr(c, page) + PAGE_OFF_FLAGS, 8, kCat); }

} // namespace

PAddr page_addr(const Ctx& c, pfn_t page) { return c.k.vmemmap() + page * kStructPageBytes; }

// include/linux/page-flags.h folio_test_large(): folio_test_head()
bool folio_test_large(Ctx& c, Folio f) { return page_flags(c, f.pfn) & (std::uint64_t{1} << PG_head); }

// include/linux/mm.h folio_order(): the order lives in the low byte of _flags_1 of a large folio
unsigned folio_order(Ctx& c, Folio f)
{
    if (!folio_test_large(c, f))
        return 0;
    return static_cast<unsigned>(c.cpu.load(folio_addr(c, f) + FOLIO_OFF_FLAGS_1, 8, kCat) & 0xff);
}

// include/linux/mm.h folio_nr_pages()
unsigned long folio_nr_pages(Ctx& c, Folio f) { return 1ul << folio_order(c, f); }

// include/linux/page-flags.h page_folio() -> _compound_head(): a tail page's compound_head is head | 1
Folio page_folio(Ctx& c, pfn_t page)
{
    const std::uint64_t head = c.cpu.load(page_addr(c, page) + PAGE_OFF_COMPOUND_HEAD, 8, kCat);
    if (head & 1)
        return Folio{(head - 1 - c.k.vmemmap()) / kStructPageBytes};
    return Folio{page};
}

// include/linux/page-flags.h folio_test_anon(): PAGE_MAPPING_ANON in folio->mapping
bool folio_test_anon(Ctx& c, Folio f) { return folio_mapping_raw(c, f) & PAGE_MAPPING_ANON; }

// include/linux/page_ref.h folio_ref_count(): atomic_read(&folio->_refcount)
int folio_ref_count(Ctx& c, Folio f) { return folio_atomic_read(c, f, PAGE_OFF_REFCOUNT); }

// include/linux/mm.h folio_large_mapcount(): _large_mapcount starts at -1
int folio_large_mapcount(Ctx& c, Folio f) { return folio_atomic_read(c, f, FOLIO_OFF_LARGE_MAPCOUNT) + 1; }

// include/linux/mm.h folio_entire_mapcount()
int folio_entire_mapcount(Ctx& c, Folio f) { return folio_atomic_read(c, f, FOLIO_OFF_ENTIRE_MAPCOUNT) + 1; }

// include/linux/mm.h folio_mapcount(): _mapcount + 1 for a small folio (a page type reads as 0), the large
// mapcount otherwise
int folio_mapcount(Ctx& c, Folio f)
{
    if (!folio_test_large(c, f)) {
        const int mapcount = folio_atomic_read(c, f, PAGE_OFF_MAPCOUNT) + 1;
        return mapcount < 0 ? 0 : mapcount; // page_mapcount_is_type()
    }
    return folio_large_mapcount(c, f);
}

// include/linux/mm.h folio_maybe_dma_pinned(): _pincount for a large folio, the refcount bias otherwise
bool folio_maybe_dma_pinned(Ctx& c, Folio f)
{
    if (folio_test_large(c, f))
        return folio_atomic_read(c, f, FOLIO_OFF_PINCOUNT) > 0;
    return folio_ref_count(c, f) >= GUP_PIN_COUNTING_BIAS;
}

// include/linux/page-flags.h PageAnonExclusive(): test_bit on the page's own flags (PF_ANY)
bool PageAnonExclusive(Ctx& c, pfn_t page) { return page_flags(c, page) & (std::uint64_t{1} << PG_anon_exclusive); }

// include/linux/page-flags.h folio_test_<flag>(): test_bit on the head page's flags
bool folio_test_flag(Ctx& c, Folio f, PageFlag b) { return page_flags(c, f.pfn) & (std::uint64_t{1} << b); }

// include/linux/page_ref.h folio_ref_add(): atomic_add
void folio_ref_add(Ctx& c, Folio f, int nr)
{
    c.cpu.fetch_add(folio_addr(c, f) + PAGE_OFF_REFCOUNT, as_u32(nr), 4, kCat);
}

// include/linux/page_ref.h folio_ref_sub(): atomic_sub
void folio_ref_sub(Ctx& c, Folio f, int nr)
{
    c.cpu.fetch_sub(folio_addr(c, f) + PAGE_OFF_REFCOUNT, as_u32(nr), 4, kCat);
}

// include/linux/page_ref.h folio_ref_sub_and_test(): atomic_sub_and_test
// Checked mode: a reference dropped that the folio does not hold (the count going below 0: upstream's
// put_page_testzero() VM_BUG_ON_PAGE(page_ref_count(page) == 0), and free_pages_prepare()'s bad-page report of a
// freed page's count).
bool folio_ref_sub_and_test(Ctx& c, Folio f, int nr)
{
    const int old = as_int(c.cpu.fetch_sub(folio_addr(c, f) + PAGE_OFF_REFCOUNT, as_u32(nr), 4, kCat));
    MMUSIM_VM_BUG_ON_FOLIO(c, old - nr < 0, "folio_ref_sub_and_test (refcount underflow)", f);
    return old - nr == 0;
}

// include/linux/mm.h folio_get(): folio_ref_inc()
void folio_get(Ctx& c, Folio f) { folio_ref_add(c, f, 1); }

// include/linux/mm.h folio_put_testzero(): folio_ref_dec_and_test()
bool folio_put_testzero(Ctx& c, Folio f) { return folio_ref_sub_and_test(c, f, 1); }

// include/linux/mm.h folio_put()
void folio_put(Ctx& c, Folio f)
{
    if (folio_put_testzero(c, f))
        __folio_put(c, f);
}

// mm/swap.c __folio_put(): page_cache_release() (off the LRU list under lru_lock, mm/swap.cc), then
// free_frozen_pages()
void __folio_put(Ctx& c, Folio f)
{
    page_cache_release(c, f);
    c.k.page_alloc().free_folio(c, f);
}

// include/linux/page-flags.h folio_set_<flag>(): set_bit
void folio_set_flag(Ctx& c, Folio f, PageFlag b)
{
    c.cpu.fetch_or(folio_addr(c, f) + PAGE_OFF_FLAGS, std::uint64_t{1} << b, 8, kCat);
}

// include/linux/page-flags.h folio_clear_<flag>(): clear_bit
void folio_clear_flag(Ctx& c, Folio f, PageFlag b)
{
    c.cpu.fetch_andnot(folio_addr(c, f) + PAGE_OFF_FLAGS, std::uint64_t{1} << b, 8, kCat);
}

// include/linux/page-flags.h __folio_set_<flag>(): __set_bit, a plain read-modify-write
void __folio_set_flag(Ctx& c, Folio f, PageFlag b)
{
    const PAddr pa = folio_addr(c, f) + PAGE_OFF_FLAGS;
    const std::uint64_t flags = c.cpu.load(pa, 8, kCat);
    c.cpu.store(pa, flags | (std::uint64_t{1} << b), 8, kCat);
}

// include/linux/page-flags.h __folio_clear_<flag>(): __clear_bit, a plain read-modify-write
void __folio_clear_flag(Ctx& c, Folio f, PageFlag b)
{
    const PAddr pa = folio_addr(c, f) + PAGE_OFF_FLAGS;
    const std::uint64_t flags = c.cpu.load(pa, 8, kCat);
    c.cpu.store(pa, flags & ~(std::uint64_t{1} << b), 8, kCat);
}

// include/linux/page-flags.h folio_test_clear_<flag>(): test_and_clear_bit
bool folio_test_clear_flag(Ctx& c, Folio f, PageFlag b)
{
    return c.cpu.test_and_clear_bit(b, folio_addr(c, f) + PAGE_OFF_FLAGS, kCat);
}

// include/linux/page-flags.h SetPageAnonExclusive(): set_bit on the page's own flags
void SetPageAnonExclusive(Ctx& c, pfn_t page)
{
    c.cpu.fetch_or(page_addr(c, page) + PAGE_OFF_FLAGS, std::uint64_t{1} << PG_anon_exclusive, 8, kCat);
}

// include/linux/page-flags.h ClearPageAnonExclusive(): clear_bit on the page's own flags
void ClearPageAnonExclusive(Ctx& c, pfn_t page)
{
    c.cpu.fetch_andnot(page_addr(c, page) + PAGE_OFF_FLAGS, std::uint64_t{1} << PG_anon_exclusive, 8, kCat);
}

// atomic_add_return() on an atomic_t of the folio
int folio_atomic_add_return(Ctx& c, Folio f, unsigned off, int delta)
{
    return as_int(c.cpu.fetch_add(folio_addr(c, f) + off, as_u32(delta), 4, kCat) + as_u32(delta));
}

// atomic_set(): a plain store
void folio_atomic_set(Ctx& c, Folio f, unsigned off, int v) { c.cpu.store(folio_addr(c, f) + off, as_u32(v), 4, kCat); }

// atomic_read(): a plain load
int folio_atomic_read(Ctx& c, Folio f, unsigned off) { return as_int(c.cpu.load(folio_addr(c, f) + off, 4, kCat)); }

// mm/rmap.c __folio_set_anon(): WRITE_ONCE(folio->mapping, ...) and folio->index
void folio_set_mapping(Ctx& c, Folio f, std::uint64_t mapping, std::uint64_t index)
{
    c.cpu.store(folio_addr(c, f) + PAGE_OFF_INDEX, index, 8, kCat);
    c.cpu.store(folio_addr(c, f) + PAGE_OFF_MAPPING, mapping, 8, kCat);
}

// folio->private / folio->swap
std::uint64_t folio_private(Ctx& c, Folio f) { return c.cpu.load(folio_addr(c, f) + PAGE_OFF_PRIVATE, 8, kCat); }
void folio_set_private(Ctx& c, Folio f, std::uint64_t v) { c.cpu.store(folio_addr(c, f) + PAGE_OFF_PRIVATE, v, 8, kCat); }

// include/linux/page_ref.h folio_try_get() -> folio_ref_add_unless(folio, 1, 0): atomic_add_unless() as a
// cmpxchg loop
bool folio_try_get(Ctx& c, Folio f)
{
    const PAddr pa = folio_addr(c, f) + PAGE_OFF_REFCOUNT;
    std::uint64_t old = c.cpu.load(pa, 4, kCat);
    while (old != 0) {
        const std::uint64_t seen = c.cpu.cmpxchg(pa, old, as_u32(as_int(old) + 1), 4, kCat);
        if (seen == old)
            return true;
        old = seen;
    }
    return false;
}

// include/linux/page_ref.h folio_ref_freeze()
bool folio_ref_freeze(Ctx& c, Folio f, int count)
{
    return c.cpu.cmpxchg(folio_addr(c, f) + PAGE_OFF_REFCOUNT, as_u32(count), 0, 4, kCat) == as_u32(count);
}

// include/linux/page_ref.h folio_ref_unfreeze()
void folio_ref_unfreeze(Ctx& c, Folio f, int count)
{
    c.cpu.store(folio_addr(c, f) + PAGE_OFF_REFCOUNT, as_u32(count), 4, kCat);
}

// include/linux/pagemap.h folio_trylock()
bool folio_trylock(Ctx& c, Folio f)
{
    return !c.cpu.test_and_set_bit(PG_locked, folio_addr(c, f) + PAGE_OFF_FLAGS, kCat);
}

// include/linux/pagemap.h folio_lock()
void folio_lock(Ctx& c, Folio f)
{
    while (!folio_trylock(c, f))
        c.cpu.spin_pause(Category::Lock);
}

// mm/filemap.c folio_unlock()
void folio_unlock(Ctx& c, Folio f) { folio_clear_flag(c, f, PG_locked); }

// READ_ONCE(folio->mapping) with its low bits
std::uint64_t folio_mapping_raw(Ctx& c, Folio f) { return c.cpu.load(folio_addr(c, f) + PAGE_OFF_MAPPING, 8, kCat); }

} // namespace mmusim::mm
