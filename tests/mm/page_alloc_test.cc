// SPDX-License-Identifier: GPL-2.0-only
// The page allocator and struct page accessors: a new folio's struct pages are what prep_new_page() /
// prep_compound_page() write (read back untimed through the inspector as well as through the accessors),
// freeing resets them and gives every byte back, and page tables come zeroed with an initialised ptlock.
#include "kernel_test_util.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

TEST(PageAlloc, LargeFolioStructPagesAsPrepCompoundPage)
{
    TestKernel t = make_kernel("neoverse-n1");
    const std::uint64_t free_before = t.k->page_alloc().free_bytes();
    Folio f;
    PAddr head = 0;
    const auto check_new = [&](Ctx& c) {
        EXPECT_EQ(f.pfn % 16, 0u) << "naturally aligned";
        EXPECT_EQ(t.k->page_alloc().free_bytes(), free_before - 16 * 4096);
        EXPECT_EQ(t.k->stats().folios_allocated, 1u);
        // The raw fields, untimed.
        head = t.k->vmemmap() + f.pfn * kStructPageBytes;
        EXPECT_EQ(t.read(head + PAGE_OFF_FLAGS, 8) & (1u << PG_head), 1u << PG_head);
        EXPECT_EQ(t.read(head + PAGE_OFF_REFCOUNT, 4), 1u);
        EXPECT_EQ(t.read(head + FOLIO_OFF_FLAGS_1, 8) & 0xff, 4u);
        EXPECT_EQ(t.read(head + FOLIO_OFF_LARGE_MAPCOUNT, 4), 0xffffffffu);
        EXPECT_EQ(t.read(head + FOLIO_OFF_ENTIRE_MAPCOUNT, 4), 0xffffffffu);
        EXPECT_EQ(t.read(head + FOLIO_OFF_PINCOUNT, 4), 0u);
        for (unsigned i = 1; i < 16; ++i)
            EXPECT_EQ(t.read(head + i * kStructPageBytes + PAGE_OFF_COMPOUND_HEAD, 8), head | 1) << i;
        EXPECT_EQ(t.read(head + 2 * kStructPageBytes + PAGE_OFF_MAPPING, 8), 0x400u) << "TAIL_MAPPING";
        // Cycles went to struct page accesses.
        EXPECT_GT(c.cpu.cycles(hw::Category::StructPage), 0u);
    };
    t.run([&](Ctx& c) {
        f = c.k.page_alloc().folio_alloc(c, 4);
        EXPECT_EQ(folio_order(c, f), 4u);
        EXPECT_EQ(folio_nr_pages(c, f), 16u);
        EXPECT_TRUE(folio_test_large(c, f));
        EXPECT_EQ(folio_ref_count(c, f), 1);
        EXPECT_EQ(folio_mapcount(c, f), 0);
        EXPECT_EQ(folio_entire_mapcount(c, f), 0);
        EXPECT_FALSE(folio_maybe_dma_pinned(c, f));
        EXPECT_FALSE(folio_test_anon(c, f));
        EXPECT_TRUE(folio_test_flag(c, f, PG_large_rmappable));
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_EQ(page_folio(c, folio_page(f, i)), f) << i;
        check_new(c);
        SetPageAnonExclusive(c, folio_page(f, 3));
        EXPECT_TRUE(PageAnonExclusive(c, folio_page(f, 3)));
        EXPECT_FALSE(PageAnonExclusive(c, folio_page(f, 2)));
        EXPECT_TRUE(folio_put_testzero(c, f));
        c.k.page_alloc().free_folio(c, f);
    });
    EXPECT_EQ(t.k->page_alloc().free_bytes(), free_before);
    EXPECT_EQ(t.read(head + PAGE_OFF_FLAGS, 8), 0u);
    EXPECT_EQ(t.read(head + 3 * kStructPageBytes + PAGE_OFF_FLAGS, 8), 0u) << "anon exclusive cleared at free";
    for (unsigned i = 1; i < 16; ++i)
        EXPECT_EQ(t.read(head + i * kStructPageBytes + PAGE_OFF_COMPOUND_HEAD, 8), 0u) << i;
}

TEST(PageAlloc, RefcountAndFlagAtomics)
{
    TestKernel t = make_kernel("skylake-sp");
    t.run([&](Ctx& c) {
        const Folio f = c.k.page_alloc().folio_alloc(c, 0);
        EXPECT_FALSE(folio_test_large(c, f));
        EXPECT_EQ(folio_nr_pages(c, f), 1u);
        EXPECT_EQ(page_folio(c, f.pfn), f);
        EXPECT_EQ(folio_mapcount(c, f), 0);
        folio_ref_add(c, f, 3);
        EXPECT_EQ(folio_ref_count(c, f), 4);
        EXPECT_FALSE(folio_ref_sub_and_test(c, f, 2));
        folio_ref_sub(c, f, 1);
        EXPECT_EQ(folio_ref_count(c, f), 1);
        EXPECT_EQ(folio_atomic_add_return(c, f, PAGE_OFF_MAPCOUNT, 1), 0);
        EXPECT_EQ(folio_mapcount(c, f), 1);
        EXPECT_EQ(folio_atomic_add_return(c, f, PAGE_OFF_MAPCOUNT, -1), -1);
        folio_set_flag(c, f, PG_dirty);
        EXPECT_TRUE(folio_test_flag(c, f, PG_dirty));
        folio_clear_flag(c, f, PG_dirty);
        EXPECT_FALSE(folio_test_flag(c, f, PG_dirty));
        folio_set_mapping(c, f, 0x1000 | PAGE_MAPPING_ANON, 7);
        EXPECT_TRUE(folio_test_anon(c, f));
        EXPECT_TRUE(folio_put_testzero(c, f));
        c.k.page_alloc().free_folio(c, f);
    });
    EXPECT_GT(t.p->core(0).counters().atomics, 5u);
}

TEST(PageAlloc, PageTablesAreZeroedWithTheirLock)
{
    TestKernel t = make_kernel("neoverse-n1");
    PAddr table = 0;
    const std::uint64_t free_before = t.k->page_alloc().free_bytes();
    t.run([&](Ctx& c) {
        // Dirty a frame, free it, and get it back as a table: it must come zeroed.
        const Folio f = c.k.page_alloc().folio_alloc(c, 0);
        const PAddr pa = f.pfn << c.k.page_shift();
        c.cpu.store(pa + 128, 0xdeadbeef, 8);
        folio_put_testzero(c, f);
        c.k.page_alloc().free_folio(c, f);
        table = c.k.page_alloc().pagetable_alloc(c, 3);
        EXPECT_EQ(table, pa) << "lowest block first";
        c.cpu.store(c.k.page_alloc().ptlock(c, table), 5, 4); // dirty the lock word
        c.k.page_alloc().pagetable_free(c, table, 3);
        table = c.k.page_alloc().pagetable_alloc(c, 3);
    });
    EXPECT_EQ(t.read(table + 128, 8), 0u);
    EXPECT_EQ(t.read(t.k->vmemmap() + (table >> 12) * kStructPageBytes + PAGE_OFF_PRIVATE, 4), 0u) << "ptlock_init";
    EXPECT_EQ(t.k->page_alloc().free_bytes(), free_before - 4096);
    EXPECT_EQ(t.k->stats().pgtables_allocated, 2u);
    EXPECT_GT(t.p->core(0).counters().bytes_cleared, 0u);
}

TEST(PageAlloc, BuddyStepsAreChargedAsSoftware)
{
    // No swap device: its boot-time structures would leave split blocks behind, and the first allocation
    // would need no split.
    TestKernel t = make_kernel("neoverse-n1", {"cores=1"}, {"kernel.software.buddy_op=1000", "kernel.swap_size=0"});
    t.run([&](Ctx& c) {
        const Cycles before = c.cpu.cycles(hw::Category::Software);
        const Folio f = c.k.page_alloc().folio_alloc(c, 0); // splits a large free block
        EXPECT_GE(c.cpu.cycles(hw::Category::Software) - before, 1000u);
        EXPECT_EQ((c.cpu.cycles(hw::Category::Software) - before) % 1000, 0u);
        folio_put_testzero(c, f);
        c.k.page_alloc().free_folio(c, f);
    });
}

} // namespace
