// SPDX-License-Identifier: GPL-2.0-only
// struct page and struct folio in simulated memory (include/linux/mm_types.h, include/linux/page-flags.h,
// include/linux/page_ref.h, include/linux/mm.h). Every field the ported code reads or writes is a timed access
// by the running core to the page's vmemmap address (Category::StructPage), with the kernel's atomics and
// barriers. A page is named by its pfn (upstream `struct page *`); a folio by its head pfn.
//
// Layout (64-bit, 64 bytes per struct page, CONFIG_NO_PAGE_MAPCOUNT + CONFIG_MM_ID as in 6.16+):
//   page[0]: flags 0, lru 8, mapping 24, index 32, private 40, _mapcount 48 (4 B), _refcount 52 (4 B), memcg 56
//   page[1]: _flags_1 64 (folio order in bits 7:0), _head_1 72, _large_mapcount 80, _nr_pages_mapped 84,
//            _entire_mapcount 88, _pincount 92, _mm_id_mapcount[2] 96, _mm_ids 104
//   tail pages: compound_head 8 (head page address | 1)
// Mapcounts and _refcount are stored as upstream: mapcounts start at -1, refcount at 0 (free).
#pragma once

#include "mm/types.hh"

namespace mmusim::mm {

struct Ctx;

constexpr unsigned kStructPageBytes = 64;

// struct page field offsets
constexpr unsigned PAGE_OFF_FLAGS = 0, PAGE_OFF_COMPOUND_HEAD = 8, PAGE_OFF_MAPPING = 24, PAGE_OFF_INDEX = 32,
                   PAGE_OFF_PRIVATE = 40, PAGE_OFF_MAPCOUNT = 48, PAGE_OFF_REFCOUNT = 52;
// page->lru (next, prev) shares the words of compound_head; a page table's struct ptdesc keeps pmd_huge_pte (the
// PTE tables deposited under a PMD table, mm/huge_memory.cc) in lru.prev's word
constexpr unsigned PAGE_OFF_LRU = 8, PTDESC_OFF_PMD_HUGE_PTE = 16;
// struct folio fields that live in page[1]
constexpr unsigned FOLIO_OFF_FLAGS_1 = 64, FOLIO_OFF_LARGE_MAPCOUNT = 80, FOLIO_OFF_NR_PAGES_MAPPED = 84,
                   FOLIO_OFF_ENTIRE_MAPCOUNT = 88, FOLIO_OFF_PINCOUNT = 92, FOLIO_OFF_MM_ID_MAPCOUNT = 96,
                   FOLIO_OFF_MM_IDS = 104;

// enum pageflags (include/linux/page-flags.h), the bits the ported paths use. PG_anon_exclusive aliases
// PG_mappedtodisk, as upstream: it is only ever set on anonymous pages.
enum PageFlag : unsigned {
    PG_locked = 0,
    PG_writeback = 1,
    PG_referenced = 2,
    PG_uptodate = 3,
    PG_dirty = 4,
    PG_lru = 5,
    PG_head = 6,
    PG_waiters = 7,
    PG_active = 8,
    PG_workingset = 9,
    PG_owner_priv_1 = 10,
    PG_arch_1 = 11,
    PG_reserved = 12,
    PG_private = 13,
    PG_private_2 = 14,
    PG_reclaim = 15,
    PG_swapbacked = 16,
    PG_unevictable = 17,
    PG_mlocked = 18,
    PG_mappedtodisk = 19,
    PG_anon_exclusive = PG_mappedtodisk,
    PG_swapcache = PG_owner_priv_1, // swap cache folios only (folio_test_swapcache() checks PG_swapbacked too)
    PG_large_rmappable = 20, // in _flags_1 upstream; kept with the others here
};

// folio->mapping low bits (include/linux/page-flags.h)
constexpr std::uint64_t PAGE_MAPPING_ANON = 0x1;

struct Folio {
    pfn_t pfn = 0; // head page
    bool operator==(const Folio& o) const { return pfn == o.pfn; }
    bool operator!=(const Folio& o) const { return pfn != o.pfn; }
};

// The simulated address of a page's struct page.
PAddr page_addr(const Ctx& c, pfn_t page);
inline pfn_t folio_page(Folio f, unsigned long i) { return f.pfn + i; } // include/linux/mm.h folio_page()
inline pfn_t folio_pfn(Folio f) { return f.pfn; }

// ---- reads (timed loads of struct page fields) ----
unsigned folio_order(Ctx& c, Folio f);            // include/linux/mm.h folio_order()
unsigned long folio_nr_pages(Ctx& c, Folio f);    // include/linux/mm.h folio_nr_pages()
bool folio_test_large(Ctx& c, Folio f);           // include/linux/page-flags.h folio_test_large()
Folio page_folio(Ctx& c, pfn_t page);             // include/linux/page-flags.h page_folio(): reads compound_head
bool folio_test_anon(Ctx& c, Folio f);            // include/linux/page-flags.h folio_test_anon()
int folio_ref_count(Ctx& c, Folio f);             // include/linux/page_ref.h folio_ref_count()
int folio_mapcount(Ctx& c, Folio f);              // include/linux/mm.h folio_mapcount()
int folio_large_mapcount(Ctx& c, Folio f);        // include/linux/mm.h folio_large_mapcount()
int folio_entire_mapcount(Ctx& c, Folio f);
bool folio_maybe_dma_pinned(Ctx& c, Folio f);     // include/linux/mm.h folio_maybe_dma_pinned()
bool PageAnonExclusive(Ctx& c, pfn_t page);       // include/linux/page-flags.h PageAnonExclusive()
bool folio_test_flag(Ctx& c, Folio f, PageFlag b);

// ---- updates (atomics where upstream uses them) ----
void folio_ref_add(Ctx& c, Folio f, int nr);      // include/linux/page_ref.h folio_ref_add()
void folio_ref_sub(Ctx& c, Folio f, int nr);
bool folio_ref_sub_and_test(Ctx& c, Folio f, int nr);
void folio_get(Ctx& c, Folio f);
bool folio_put_testzero(Ctx& c, Folio f);         // include/linux/mm.h folio_put_testzero()
void folio_put(Ctx& c, Folio f);                  // include/linux/mm.h folio_put(): the last reference frees
void __folio_put(Ctx& c, Folio f);                // mm/swap.c __folio_put(): off the LRU, back to the allocator
void folio_set_flag(Ctx& c, Folio f, PageFlag b);           // atomic set_bit
void folio_clear_flag(Ctx& c, Folio f, PageFlag b);         // atomic clear_bit
void __folio_set_flag(Ctx& c, Folio f, PageFlag b);         // non-atomic __set_bit (folio not yet visible)
void __folio_clear_flag(Ctx& c, Folio f, PageFlag b);       // non-atomic __clear_bit (no other user left)
bool folio_test_clear_flag(Ctx& c, Folio f, PageFlag b);    // atomic test_and_clear_bit (folio_test_clear_*())
void SetPageAnonExclusive(Ctx& c, pfn_t page);              // include/linux/page-flags.h
void ClearPageAnonExclusive(Ctx& c, pfn_t page);
// include/linux/page-flags.h ClearPagesAnonExclusive() (the batched anon unmap series, patch 8/9): nr != 0
inline void ClearPagesAnonExclusive(Ctx& c, pfn_t page, unsigned nr)
{
    for (;;) {
        ClearPageAnonExclusive(c, page);
        if (--nr == 0)
            break;
        ++page;
    }
}
// Adds `delta` to an atomic_t field at `off` from the folio's head struct page; returns the new value.
int folio_atomic_add_return(Ctx& c, Folio f, unsigned off, int delta);
void folio_atomic_set(Ctx& c, Folio f, unsigned off, int v);
int folio_atomic_read(Ctx& c, Folio f, unsigned off);
void folio_set_mapping(Ctx& c, Folio f, std::uint64_t mapping, std::uint64_t index);
std::uint64_t folio_mapping_raw(Ctx& c, Folio f);
// folio->private, which holds folio->swap for a swap-cache folio (include/linux/mm_types.h)
std::uint64_t folio_private(Ctx& c, Folio f);
void folio_set_private(Ctx& c, Folio f, std::uint64_t v);
// include/linux/page_ref.h folio_try_get(): a reference unless the count is already 0 (atomic_add_unless)
bool folio_try_get(Ctx& c, Folio f);
// include/linux/page_ref.h folio_ref_freeze(): cmpxchg of the refcount from `count` to 0
bool folio_ref_freeze(Ctx& c, Folio f, int count);
// include/linux/page_ref.h folio_ref_unfreeze(): atomic_set_release(), a store-release (stlr on arm64, a plain
// store on x86)
void folio_ref_unfreeze(Ctx& c, Folio f, int count);
// include/linux/pagemap.h folio_trylock(): test_and_set_bit_lock(PG_locked)
bool folio_trylock(Ctx& c, Folio f);
// include/linux/pagemap.h folio_lock(): the port has no sleeping, so a contended lock spins
void folio_lock(Ctx& c, Folio f);
// mm/filemap.c folio_unlock(): clear_bit_unlock(PG_locked) (no waiters are modelled: PG_waiters stays clear)
void folio_unlock(Ctx& c, Folio f);

} // namespace mmusim::mm
