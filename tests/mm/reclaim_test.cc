// SPDX-License-Identifier: GPL-2.0-only
// MADV_COLD, MADV_FREE and MADV_PAGEOUT (mm/madvise.cc, mm/vmscan.cc, mm/swap.cc) on arm64 and x86, after the
// kernel selftests' MADV_FREE and pageout checks: cold deactivates without unmapping; free makes exclusive
// folios lazyfree and clean, drops swap entries, leaves partly covered large folios alone; pageout of written
// 64K folios swaps them out (bytes back on touch, MM_SWAPENTS, frames freed, exclusivity restored); a clean
// lazyfree folio is discarded and reads back zero, a redirtied one survives with its data.
#include "swap_test_util.hh"

#include "mm/gup.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr unsigned kOrder64k = 4;  // 64K folios of 4K pages

class Reclaim : public ::testing::TestWithParam<const char*> {
protected:
    TestKernel make() { return make_kernel(GetParam()); }
};

std::string name(const ::testing::TestParamInfo<const char*>& i)
{
    std::string s = i.param;
    for (char& ch : s)
        if (ch == '-')
            ch = '_';
    return s;
}

std::uint64_t pattern(Addr va) { return 0xc3c3000000000000ull ^ va; } // never zero

// Maps n 64K folios at kBase and writes a word into each page (so a pageout does real I/O).
void map_and_write(Ctx& c, mm_struct& mm, unsigned n)
{
    do_mmap(c, mm, kBase, n * 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            kOrder64k);
    for (Addr va = kBase; va < kBase + n * 64 * KiB; va += c.k.page_size())
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), pattern(va), 8);
}

std::vector<pte_t> ptes(Ctx& c, mm_struct& mm, Addr va, unsigned nr)
{
    const PtePtr first = pte_offset_map(c, pmd_offset_lookup(c, mm, va), va);
    std::vector<pte_t> v;
    for (unsigned i = 0; i < nr; ++i)
        v.push_back(ptep_get(c, pte_offset(first, i)));
    return v;
}

TEST_P(Reclaim, ColdDeactivatesWithoutUnmapping)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        const Folio f = folio_at(c, mm, kBase);
        folio_set_flag(c, f, PG_active); // as if it had been promoted
        ASSERT_TRUE(a.pte_young(ptes(c, mm, kBase, 1)[0]));
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_COLD), 0);
        EXPECT_FALSE(folio_test_flag(c, f, PG_active));
        EXPECT_TRUE(folio_test_flag(c, f, PG_lru));
        EXPECT_TRUE(folio_test_flag(c, f, PG_swapbacked));
        for (const pte_t p : ptes(c, mm, kBase, 32)) {
            EXPECT_TRUE(a.pte_present(p));
            EXPECT_FALSE(a.pte_young(p));
        }
        EXPECT_EQ(rss(t, mm, MM_ANONPAGES), 32);
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase + 5 * c.k.page_size(), AccessKind::Read), 8),
                  pattern(kBase + 5 * c.k.page_size()));
    });
}

TEST_P(Reclaim, FreeMakesWholeFoliosLazyfreeAndCleanAndSkipsPartOfOne)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        const Folio f0 = folio_at(c, mm, kBase), f1 = folio_at(c, mm, kBase + 64 * KiB);
        // The first folio whole, the second's first half: that one would be split upstream; here it is left.
        ASSERT_EQ(do_madvise(c, mm, kBase, 96 * KiB, MADV_FREE), 0);
        EXPECT_FALSE(folio_test_flag(c, f0, PG_swapbacked));
        EXPECT_FALSE(folio_test_flag(c, f0, PG_dirty));
        for (const pte_t p : ptes(c, mm, kBase, 16)) {
            EXPECT_TRUE(a.pte_present(p));
            EXPECT_FALSE(a.pte_dirty(p));
            EXPECT_FALSE(a.pte_young(p));
        }
        EXPECT_TRUE(folio_test_flag(c, f1, PG_swapbacked));
        EXPECT_TRUE(a.pte_dirty(ptes(c, mm, kBase + 64 * KiB, 1)[0]));
        EXPECT_EQ(c.k.stats().batches["clear_young_dirty_ptes"].count(16), 1u) << "one call for the whole folio";
        // Not reclaimed yet: the data is still there
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase + 3 * c.k.page_size(), AccessKind::Read), 8),
                  pattern(kBase + 3 * c.k.page_size()));
    });
}

TEST_P(Reclaim, FreeOnePteAtATimeEndsTheSame)
{
    // kernel.pte_batch=false: madvise_folio_pte_batch() is 1, yet whole folios are still made lazyfree and a
    // partly covered one is still left alone
    TestKernel t = make_kernel(GetParam(), {}, {"kernel.pte_batch=false"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        const Folio f0 = folio_at(c, mm, kBase), f1 = folio_at(c, mm, kBase + 64 * KiB);
        ASSERT_EQ(do_madvise(c, mm, kBase, 96 * KiB, MADV_FREE), 0);
        EXPECT_FALSE(folio_test_flag(c, f0, PG_swapbacked));
        for (const pte_t p : ptes(c, mm, kBase, 16))
            EXPECT_FALSE(a.pte_dirty(p));
        EXPECT_TRUE(folio_test_flag(c, f1, PG_swapbacked));
        EXPECT_TRUE(a.pte_dirty(ptes(c, mm, kBase + 64 * KiB, 1)[0]));
        EXPECT_EQ(c.k.stats().batches["clear_young_dirty_ptes"].count(16), 0u);
        // One call per PTE on x86; on arm64 the first call clears the whole contpte block (the contiguous bit
        // makes young/dirty block-wide) and ptep_get() of the others then reads them clean: one call
        const bool contpte = std::string(GetParam()) == "neoverse-n1";
        EXPECT_EQ(c.k.stats().batches["clear_young_dirty_ptes"][1], contpte ? 1u : 16u);
    });
}

TEST_P(Reclaim, FreeOfASwappedOutFolioDropsItsSwapEntries)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 1);
        ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, mm, kBase), {{&mm, kBase}}));
        ASSERT_EQ(rss(t, mm, MM_SWAPENTS), 16);
        ASSERT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 16);
        ASSERT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_FREE), 0);
        EXPECT_EQ(rss(t, mm, MM_SWAPENTS), 0);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        for (const pte_t p : ptes(c, mm, kBase, 16))
            EXPECT_TRUE(a.pte_none(p));
        // The next touch is a fresh zeroed page
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase, AccessKind::Read), 8), 0u);
    });
}

TEST_P(Reclaim, PageoutOfWritten64kFoliosSwapsThemOutAndTouchBringsThemBack)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        constexpr unsigned n = 4;
        map_and_write(c, mm, n);
        const std::uint64_t free_before = c.k.page_alloc().free_bytes();
        const std::uint64_t freed_before = c.k.stats().folios_freed;
        std::vector<Folio> folios;
        for (unsigned i = 0; i < n; ++i)
            folios.push_back(folio_at(c, mm, kBase + i * 64 * KiB));
        ASSERT_EQ(do_madvise(c, mm, kBase, n * 64 * KiB, MADV_PAGEOUT), 0);
        // Each freed folio is free once: refcount 0, off the LRU (not put back as if kept)
        for (const Folio f : folios) {
            const PAddr head = c.k.vmemmap() + f.pfn * kStructPageBytes;
            EXPECT_EQ(t.read(head + PAGE_OFF_REFCOUNT, 4), 0u) << std::hex << f.pfn;
            EXPECT_FALSE(t.read(head + PAGE_OFF_FLAGS, 8) & (std::uint64_t{1} << PG_lru)) << std::hex << f.pfn;
        }
        const unsigned pages = n * 16;
        EXPECT_EQ(rss(t, mm, MM_SWAPENTS), long{pages});
        EXPECT_EQ(rss(t, mm, MM_ANONPAGES), 0);
        EXPECT_EQ(c.k.swap().events.pswpout, pages);
        // The folios are freed; a swap cluster's table page is allocated on first use
        EXPECT_EQ(c.k.stats().folios_freed - freed_before, n);
        EXPECT_GE(c.k.page_alloc().free_bytes(), free_before + n * 64 * KiB - 8 * KiB);
        for (const pte_t p : ptes(c, mm, kBase, pages)) {
            ASSERT_TRUE(a.is_swap_pte(p));
            EXPECT_TRUE(a.pte_swp_exclusive(p));
        }
        for (Addr va = kBase; va < kBase + n * 64 * KiB; va += c.k.page_size()) {
            const PAddr pa = user_access(c, mm, va, AccessKind::Read);
            ASSERT_EQ(c.cpu.load(pa, 8), pattern(va)) << std::hex << va;
            EXPECT_TRUE(PageAnonExclusive(c, pa / c.k.page_size()));
        }
        EXPECT_EQ(rss(t, mm, MM_SWAPENTS), 0);
        EXPECT_EQ(rss(t, mm, MM_ANONPAGES), long{pages});
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
    });
}

TEST_P(Reclaim, LazyfreeReclaimDiscardsACleanFolioAndKeepsARedirtiedOne)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        const Folio redirtied = folio_at(c, mm, kBase + 64 * KiB);
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_FREE), 0);
        const Addr va = kBase + 64 * KiB + 2 * c.k.page_size();
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), 0x1234, 8); // redirty the second folio
        const std::uint64_t freed_before = c.k.stats().folios_freed;
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_PAGEOUT), 0);
        EXPECT_EQ(c.k.swap().events.pswpout, 0u) << "lazyfree folios are not written";
        // The clean one is gone: its PTEs are none, its frame free, and it reads back zero
        for (const pte_t p : ptes(c, mm, kBase, 16))
            EXPECT_TRUE(a.pte_none(p));
        EXPECT_EQ(c.k.stats().folios_freed - freed_before, 1u);
        EXPECT_EQ(rss(t, mm, MM_ANONPAGES), 16);
        // The redirtied one is swap-backed again and still mapped with its data
        EXPECT_TRUE(folio_test_flag(c, redirtied, PG_swapbacked));
        EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), 0x1234u);
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase + 64 * KiB, AccessKind::Read), 8),
                  pattern(kBase + 64 * KiB));
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase, AccessKind::Read), 8), 0u);
    });
}

// A lazyfree folio redirtied in one page is discarded or kept per unmap batch, as upstream's try_to_unmap_one()
// decides it (mm/rmap.c: a batch whose merged pteval is clean is discarded, "goto discard", and the walk goes
// on; the batch after which the folio is dirty is restored with set_ptes(pteval, nr_pages), the folio swap-backed
// again, "goto walk_abort"). Page 10 of a 64K folio redirtied: one whole-folio batch keeps all 16 pages, every
// PTE dirty; batches of 3 discard pages 0-8 and restore 9-11; one PTE at a time discards 0-9. The batched anon
// unmap series does not change it (the lazyfree path is shared). On arm64 with contpte the folded block is dirty
// as a whole (contpte_ptep_get() ORs its entries, and the first partial clear unfolds it: contpte_convert()
// writes the OR into every entry), so the first batch is dirty already and nothing is discarded in any batch
// size. This is why the differential tests compare batch sizes only on workloads without MADV_FREE
// (tests/mm/reclaim_differential_test.cc).
TEST_P(Reclaim, LazyfreeDiscardIsDecidedPerUnmapBatch)
{
    struct Case {
        const char* batch;
        unsigned discarded; // the pages before the batch with the redirtied page
        unsigned restored;  // that batch
    };
    const bool arm64 = std::string(GetParam()) == "neoverse-n1";
    for (const bool contpte : arm64 ? std::vector<bool>{true, false} : std::vector<bool>{false})
        for (Case k : {Case{nullptr, 0, 16}, Case{"kernel.max_pte_batch=3", 9, 3}, Case{"kernel.pte_batch=false", 10, 1}})
            for (const char* series : {"kernel.anon_unmap_batch=true", "kernel.anon_unmap_batch=false"}) {
                std::vector<std::string> sets{series};
                if (k.batch)
                    sets.push_back(k.batch);
                if (arm64 && !contpte)
                    sets.push_back("kernel.contpte=false");
                if (contpte) {
                    k.discarded = 0; // the first batch is dirty already,
                    k.restored = 16; // and the unfold left every entry dirty
                }
                std::string what = std::string(series) + " " + (k.batch ? k.batch : "no cap") +
                                   (arm64 ? contpte ? " contpte" : " no contpte" : "");
                TestKernel t = make_kernel(GetParam(), {"cores=2", "simulation.check=true"}, sets);
                t.run([&](Ctx& c) {
                    const mm::Arch& a = c.k.arch();
                    const std::uint64_t page = c.k.page_size();
                    mm_struct& mm = c.k.mm_alloc(c);
                    map_and_write(c, mm, 1);
                    const Folio f = folio_at(c, mm, kBase);
                    ASSERT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_FREE), 0);
                    c.cpu.store(user_access(c, mm, kBase + 10 * page, AccessKind::Write), 0x1234, 8);
                    ASSERT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_PAGEOUT), 0);
                    const std::vector<pte_t> p = ptes(c, mm, kBase, 16);
                    for (unsigned i = 0; i < 16; ++i) {
                        EXPECT_EQ(a.pte_none(p[i]), i < k.discarded) << what << " page " << i;
                        if (i >= k.discarded && i < k.discarded + k.restored) {
                            EXPECT_TRUE(a.pte_dirty(p[i])) << what << " page " << i << ": restored with the batch's dirty bit";
                        }
                        if (i >= k.discarded + k.restored && i != 10) {
                            EXPECT_FALSE(a.pte_dirty(p[i])) << what << " page " << i << ": as MADV_FREE left it";
                        }
                    }
                    EXPECT_EQ(rss(t, mm, MM_ANONPAGES), static_cast<long>(16 - k.discarded)) << what;
                    EXPECT_EQ(folio_mapcount(c, f), static_cast<int>(16 - k.discarded)) << what;
                    EXPECT_TRUE(folio_test_flag(c, f, PG_swapbacked)) << what << ": swap-backed again";
                    EXPECT_EQ(c.k.swap().events.pswpout, 0u) << what;
                    // The redirtied page and every page kept have their data; a discarded one reads back zero.
                    for (unsigned i = 0; i < 16; ++i) {
                        const Addr va = kBase + i * page;
                        const std::uint64_t want = i == 10 ? 0x1234 : i < k.discarded ? 0 : pattern(va);
                        EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), want) << what << " page " << i;
                    }
                    exit_mmap(c, mm);
                    c.k.mm_free(c, mm);
                });
                EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << what;
            }
}

// A folio reclaim frees is not also put back on the LRU (shrink_folio_list()'s free_it path goes on to the next
// folio; the port's `continue` inside its do-while(false) once only left that block, and the freed folio went to
// the kept list: folio_putback_lru() set PG_lru on the free frames and dropped a reference they did not hold, and
// when a frame had been reallocated meanwhile, e.g. as a swap cluster's table, freed it under its new owner).
// Unchecked, so that the reference underflow is visible rather than caught.
TEST_P(Reclaim, FreedFoliosAreNotPutBackOnTheLru)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        const Folio swapped = folio_at(c, mm, kBase), discarded = folio_at(c, mm, kBase + 64 * KiB);
        ASSERT_EQ(do_madvise(c, mm, kBase + 64 * KiB, 64 * KiB, MADV_FREE), 0);
        const std::uint64_t freed_before = c.k.stats().folios_freed;
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_PAGEOUT), 0);
        ASSERT_EQ(c.k.stats().folios_freed - freed_before, 2u) << "one swapped out, one discarded";
        for (const Folio f : {swapped, discarded}) {
            const PAddr page = c.k.vmemmap() + f.pfn * kStructPageBytes;
            EXPECT_EQ(t.read(page + PAGE_OFF_REFCOUNT, 4), 0u) << "folio " << f.pfn << ": no reference dropped after the free";
            EXPECT_FALSE(t.read(page + PAGE_OFF_FLAGS, 8) & (std::uint64_t{1} << PG_lru)) << "folio " << f.pfn;
        }
    });
}

// Checked mode: reclaim frees a discarded lazyfree folio only after the deferred flush (try_to_unmap_flush()),
// so a TLB that still held its translation (a read after MADV_FREE, which does not redirty) never reaches the
// freed frame. The mutant that frees first (tests/mutants/04) is caught here by the TLB oracle at the free.
TEST_P(Reclaim, DiscardedLazyfreeFolioIsFreedOnlyAfterTheDeferredFlush)
{
    TestKernel t = make_kernel(GetParam(), {"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        mm.cpumask.set(1); // another CPU runs the mm: the unmap's flush is deferred (should_defer_flush())
        map_and_write(c, mm, 2);
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_FREE), 0);
        for (Addr va = kBase; va < kBase + 128 * KiB; va += c.k.page_size())
            (void)c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8); // the TLB holds every page again
        const std::uint64_t freed_before = c.k.stats().folios_freed;
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_PAGEOUT), 0); // TlbCheckError if freed too early
        EXPECT_EQ(c.k.stats().folios_freed - freed_before, 2u) << "both clean lazyfree folios are discarded";
        EXPECT_EQ(c.k.swap().events.pswpout, 0u);
    });
}

TEST_P(Reclaim, PinnedFolioIsNotPagedOutAndALockedVmaIsRefused)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, 2);
        std::vector<pfn_t> pinned;
        ASSERT_EQ(pin_user_pages_fast(c, mm, kBase, 16, FOLL_WRITE, pinned), 16);
        ASSERT_EQ(do_madvise(c, mm, kBase, 128 * KiB, MADV_PAGEOUT), 0);
        // The pinned folio keeps its PTEs and gets no swap slots (shrink_folio_list(): folio_maybe_dma_pinned()
        // before add_to_swap); the other one is paged out
        for (const pte_t p : ptes(c, mm, kBase, 16))
            EXPECT_TRUE(a.pte_present(p));
        for (const pte_t p : ptes(c, mm, kBase + 64 * KiB, 16))
            EXPECT_TRUE(a.is_swap_pte(p));
        EXPECT_EQ(rss(t, mm, MM_ANONPAGES), 16);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 16);
        EXPECT_TRUE(folio_test_flag(c, folio_at(c, mm, kBase), PG_lru)) << "put back on the LRU";
        for (Addr va = kBase; va < kBase + 128 * KiB; va += c.k.page_size())
            ASSERT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(va));
        unpin_user_pages(c, pinned);

        // can_madv_lru_vma(): MADV_COLD and MADV_PAGEOUT refuse a VM_LOCKED VMA (mlock() itself is not ported)
        mm.vma_at(kBase)->vm_flags |= VM_LOCKED;
        EXPECT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_PAGEOUT), -EINVAL);
        EXPECT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_COLD), -EINVAL);
        EXPECT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_FREE), -EINVAL);
        for (const pte_t p : ptes(c, mm, kBase, 16))
            EXPECT_TRUE(a.pte_present(p));
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, Reclaim, ::testing::Values("neoverse-n1", "skylake-sp"), name);

} // namespace
