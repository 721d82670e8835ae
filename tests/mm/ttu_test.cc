// SPDX-License-Identifier: GPL-2.0-only
// try_to_unmap() on arm64 (contpte), x86 and RISC-V: a swap-backed 64K folio that reclaim put in the swap
// cache is unmapped through the rmap walk, leaving swap PTEs with the exclusive bit and the counters moved;
// both kernel.anon_unmap_batch settings end in the same state; the batched unmap of a contpte block converts
// nothing where one PTE at a time unfolds once; a pinned folio keeps its PTEs and bytes; after fork both mms
// lose the folio and the swap PTEs are not exclusive; an mlocked VMA keeps it; lazyfree folios are discarded
// clean and kept (swapbacked again) when redirtied; the deferred flush issues the TLBIs as PTEs are cleared
// and completes them once (arm64: one DSB; x86: one IPI round), after which nothing stale remains.
#include "swap_test_util.hh"

#include "mm/fork.hh"
#include "mm/gup.hh"
#include "mm/mmap.hh"
#include "mm/swap_table.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr unsigned kOrder64K = 4;  // 64K folios of 4K pages

std::uint64_t pattern(unsigned i) { return 0x7a7a000000000000ull ^ (std::uint64_t{i} << 20) ^ 0x55; }

// An anonymous mapping of `folios` 64K folios, each page written with its pattern.
void map_and_fill(Ctx& c, mm_struct& mm, unsigned folios)
{
    const std::uint64_t ps = c.k.page_size();
    const unsigned nr = folios << kOrder64K;
    do_mmap(c, mm, kBase, nr * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            static_cast<int>(kOrder64K));
    for (unsigned i = 0; i < nr; ++i)
        c.cpu.store(user_access(c, mm, kBase + i * ps, AccessKind::Write) + 8, pattern(i), 8);
}

bool holds(Ctx& c, mm_struct& mm, unsigned i)
{
    return c.cpu.load(user_access(c, mm, kBase + i * c.k.page_size(), AccessKind::Read) + 8, 8) == pattern(i);
}

// What shrink_folio_list() does before and around try_to_unmap(): the isolation reference, the folio lock,
// swap slots and the swap cache for a swap-backed folio, then try_to_unmap(TTU_BATCH_FLUSH) and the deferred
// flush. Returns whether the folio is unmapped; the folio stays locked with the isolation reference.
bool reclaim_unmap(Ctx& c, Folio f, ttu_flags flags = TTU_BATCH_FLUSH)
{
    folio_get(c, f);
    folio_lock(c, f);
    if (folio_test_flag(c, f, PG_swapbacked) && !folio_test_swapcache(c, f) && folio_alloc_swap(c, f))
        throw std::runtime_error("no swap slots");
    try_to_unmap(c, f, flags | TTU_SYNC);
    try_to_unmap_flush(c);
    return !folio_mapped(c, f);
}

// The end of reclaim for an unmapped swap-backed folio: pageout() and __remove_mapping() (as the test helper).
void reclaim_finish(Ctx& c, Folio f, bool unmapped)
{
    if (!unmapped) {
        folio_unlock(c, f);
        folio_put(c, f);
        return;
    }
    const unsigned long nr = folio_nr_pages(c, f);
    swap_writeout(c, f);
    folio_lock(c, f);
    if (folio_test_swapcache(c, f)) {
        const PAddr ci = swap_cluster_get_and_lock(c, f);
        __swap_cache_del_folio(c, ci, f, folio_swap(c, f));
        swap_cluster_unlock(c, ci);
        folio_ref_sub(c, f, static_cast<int>(nr));
    }
    folio_unlock(c, f);
    folio_put(c, f);
}

class Ttu : public PlatformTest {};

TEST_P(Ttu, SwapBackedFolioLeavesExclusiveSwapPtesAndComesBackWithItsBytes)
{
    for (const char* batch : {"kernel.anon_unmap_batch=true", "kernel.anon_unmap_batch=false"}) {
        TestKernel t = make({"cores=2"}, {batch});
        t.run([&](Ctx& c) {
            const mm::Arch& a = c.k.arch();
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_fill(c, mm, 2);
            const Folio f = folio_at(c, mm, kBase);
            ASSERT_EQ(folio_nr_pages(c, f), 16u);
            const auto batches = c.k.stats().batches["get_and_clear_full_ptes"];
            ASSERT_TRUE(reclaim_unmap(c, f)) << batch;
            if (std::string(batch) == "kernel.anon_unmap_batch=true") {
                EXPECT_EQ(c.k.stats().batches["get_and_clear_full_ptes"][16], batches.count(16) ? batches.at(16) + 1 : 1u)
                    << "one batch of 16";
                EXPECT_EQ(c.k.stats().batches["get_and_clear_full_ptes"].count(1), batches.count(1));
            }
            EXPECT_EQ(folio_mapcount(c, f), 0);
            EXPECT_EQ(folio_ref_count(c, f), 1 + 16) << "isolation + the swap cache";
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 16);
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 16) << "the second folio";
            const swp_entry_t first = folio_swap(c, f);
            for (unsigned i = 0; i < 16; ++i) {
                const pte_t pte = pte_at(c, mm, kBase + i * ps);
                ASSERT_TRUE(a.is_swap_pte(pte)) << i;
                EXPECT_TRUE(a.pte_swp_exclusive(pte)) << i;
                EXPECT_EQ(swp_offset(a.pte_to_swp_entry(pte)), swp_offset(first) + i);
                EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 1);
                EXPECT_FALSE(PageAnonExclusive(c, folio_page(f, i))) << "exclusivity moved to the swap PTE";
            }
            EXPECT_TRUE(a.pte_present(pte_at(c, mm, kBase + 16 * ps))) << "the other folio stays";
            reclaim_finish(c, f, true);
            for (unsigned i = 0; i < 32; ++i)
                EXPECT_TRUE(holds(c, mm, i)) << i;
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    }
}

// Both settings, over a mix of exclusive and shared pages, fork, a pinned folio and a partial mapping: the same
// page tables, swap counts, counters and folio state.
struct Snapshot {
    std::vector<std::uint64_t> ptes;
    std::vector<long> counters;
    std::vector<int> folio;
    bool operator==(const Snapshot& o) const { return ptes == o.ptes && counters == o.counters && folio == o.folio; }
};

Snapshot differential_run(const char* platform, const std::string& batch, const std::string& cap)
{
    Snapshot s;
    TestKernel t = make_kernel(platform, {"cores=2"}, {batch, cap});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_fill(c, mm, 4);
        // Folio 2 pinned (fork copies it for the child); folio 1 shared with a child for its first half only;
        // folios 0 and 3 the parent's alone after the child unmaps them, not exclusive since the fork, folio
        // 3 with some pages exclusive again (a batch of mixed exclusivity: the series splits it).
        std::vector<pfn_t> pinned;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 32 * ps, 1, FOLL_WRITE, pinned), 1);
        mm_struct& child = copy_mm(c, mm);
        do_munmap(c, child, kBase + 16 * ps + 8 * ps, 8 * ps);
        do_munmap(c, child, kBase, 16 * ps);
        do_munmap(c, child, kBase + 32 * ps, 32 * ps);
        const Folio f3 = folio_at(c, mm, kBase + 48 * ps);
        for (unsigned i : {0u, 1u, 2u, 3u, 4u, 9u})
            SetPageAnonExclusive(c, folio_page(f3, i));
        // Folio 0: its second half exclusive again and pinned (read-only pin of page 8): the first half is
        // unmapped, the share of the second fails (partial success: the series' own accounting).
        const Folio f0 = folio_at(c, mm, kBase);
        for (unsigned i = 8; i < 16; ++i)
            SetPageAnonExclusive(c, folio_page(f0, i));
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 8 * ps, 1, 0, pinned), 1);
        for (unsigned fi = 0; fi < 4; ++fi) {
            const Folio f = folio_at(c, mm, kBase + fi * 16 * ps);
            const bool unmapped = reclaim_unmap(c, f);
            if (fi == 0) {
                EXPECT_FALSE(unmapped);
                EXPECT_EQ(folio_mapcount(c, f), 8);
                EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 8);
                for (unsigned i = 0; i < 16; ++i)
                    EXPECT_EQ(a.is_swap_pte(pte_at(c, mm, kBase + i * ps)), i < 8) << i;
            }
            s.folio.push_back(unmapped);
            s.folio.push_back(folio_mapcount(c, f));
            s.folio.push_back(folio_ref_count(c, f));
            for (unsigned i = 0; i < 16; ++i)
                s.folio.push_back(PageAnonExclusive(c, folio_page(f, i)));
            for (mm_struct* m : {&mm, &child})
                for (unsigned i = 0; i < 64; ++i) {
                    const pte_t pte = pte_at(c, *m, kBase + i * ps);
                    s.ptes.push_back(a.pte_present(pte) ? a.pte_pfn(pte) - folio_pfn(f) : pte.val);
                    if (a.is_swap_pte(pte))
                        s.counters.push_back(__swap_count(c, a.pte_to_swp_entry(pte)));
                }
            reclaim_finish(c, f, unmapped);
        }
        unpin_user_pages(c, pinned);
        for (mm_struct* m : {&mm, &child}) {
            s.counters.push_back(get_mm_counter(c, *m, MM_ANONPAGES));
            s.counters.push_back(get_mm_counter(c, *m, MM_SWAPENTS));
        }
        for (unsigned i = 0; i < 64; ++i)
            EXPECT_TRUE(holds(c, mm, i)) << i;
        for (mm_struct* m : {&mm, &child}) {
            exit_mmap(c, *m);
            c.k.mm_free(c, *m);
        }
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    return s;
}

TEST_P(Ttu, BothSettingsAndEveryCapEndInTheSameState)
{
    const Snapshot before = differential_run(GetParam(), "kernel.anon_unmap_batch=false", "kernel.max_pte_batch=0");
    for (const char* cap : {"kernel.max_pte_batch=0", "kernel.max_pte_batch=1", "kernel.max_pte_batch=4", "kernel.max_pte_batch=5"})
        EXPECT_TRUE(differential_run(GetParam(), "kernel.anon_unmap_batch=true", cap) == before) << cap;
    EXPECT_TRUE(differential_run(GetParam(), "kernel.anon_unmap_batch=true", "kernel.pte_batch=false") == before);
}

TEST_P(Ttu, PinnedFolioKeepsItsPtesAndBytes)
{
    for (const char* batch : {"kernel.anon_unmap_batch=true", "kernel.anon_unmap_batch=false"}) {
        TestKernel t = make({"cores=2", "simulation.check=true"}, {batch});
        t.run([&](Ctx& c) {
            const mm::Arch& a = c.k.arch();
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_fill(c, mm, 1);
            const Folio f = folio_at(c, mm, kBase);
            std::vector<pfn_t> pinned;
            ASSERT_EQ(pin_user_pages_fast(c, mm, kBase + 5 * ps, 1, FOLL_WRITE, pinned), 1);
            EXPECT_FALSE(reclaim_unmap(c, f)) << batch;
            EXPECT_EQ(folio_mapcount(c, f), 16);
            for (unsigned i = 0; i < 16; ++i) {
                const pte_t pte = pte_at(c, mm, kBase + i * ps);
                ASSERT_TRUE(a.pte_present(pte)) << i;
                EXPECT_EQ(a.pte_pfn(pte), folio_pfn(f) + i);
                EXPECT_TRUE(PageAnonExclusive(c, folio_page(f, i))) << i;
            }
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 16);
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
            EXPECT_EQ(__swap_count(c, folio_swap(c, f)), 0) << "folio_put_swap() undid the dup";
            reclaim_finish(c, f, false);
            for (unsigned i = 0; i < 16; ++i)
                EXPECT_TRUE(holds(c, mm, i)) << i;
            unpin_user_pages(c, pinned);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    }
}

TEST_P(Ttu, AfterForkTheFolioIsUnmappedFromBothMmsNotExclusive)
{
    TestKernel t = make({"cores=2"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& parent = c.k.mm_alloc(c);
        map_and_fill(c, parent, 1);
        mm_struct& child = copy_mm(c, parent);
        const Folio f = folio_at(c, parent, kBase);
        ASSERT_TRUE(reclaim_unmap(c, f));
        for (mm_struct* m : {&parent, &child}) {
            EXPECT_EQ(get_mm_counter(c, *m, MM_SWAPENTS), 16);
            EXPECT_EQ(get_mm_counter(c, *m, MM_ANONPAGES), 0);
            for (unsigned i = 0; i < 16; ++i) {
                const pte_t pte = pte_at(c, *m, kBase + i * ps);
                ASSERT_TRUE(a.is_swap_pte(pte)) << i;
                EXPECT_FALSE(a.pte_swp_exclusive(pte)) << i;
                EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 2);
            }
        }
        reclaim_finish(c, f, true);
        for (mm_struct* m : {&parent, &child})
            for (unsigned i = 0; i < 16; ++i)
                EXPECT_TRUE(holds(c, *m, i)) << i;
        for (mm_struct* m : {&child, &parent}) {
            exit_mmap(c, *m);
            c.k.mm_free(c, *m);
        }
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

TEST_P(Ttu, MlockedFolioStaysMapped)
{
    TestKernel t = make({"cores=2"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_fill(c, mm, 1);
        mm.vma_at(kBase)->vm_flags |= VM_LOCKED; // mlock() of the range (the VMA flag is what reclaim sees)
        const Folio f = folio_at(c, mm, kBase);
        EXPECT_FALSE(reclaim_unmap(c, f));
        EXPECT_EQ(folio_mapcount(c, f), 16);
        EXPECT_TRUE(c.k.arch().pte_present(pte_at(c, mm, kBase + 15 * c.k.page_size())));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        reclaim_finish(c, f, false);
        // TTU_IGNORE_MLOCK unmaps it
        EXPECT_TRUE(reclaim_unmap(c, f, TTU_BATCH_FLUSH | TTU_IGNORE_MLOCK));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 16);
        reclaim_finish(c, f, true);
        mm.vma_at(kBase)->vm_flags &= ~VM_LOCKED;
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_TRUE(holds(c, mm, i)) << i;
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

// MADV_FREE's effect (folio_mark_lazyfree()): not swap-backed, clean PTEs. A clean lazyfree folio is discarded
// (reads back zero); one redirtied before reclaim is kept with its data and swap-backed again.
void mark_lazyfree(Ctx& c, mm_struct& mm, Folio f)
{
    const mm::Arch& a = c.k.arch();
    for (unsigned i = 0; i < 16; ++i) {
        const Addr addr = kBase + i * c.k.page_size();
        const PtePtr ptep = pte_offset_map(c, pmd_offset_lookup(c, mm, addr), addr);
        set_pte_at(c, mm, addr, ptep, a.pte_mkclean(a.pte_mkold(ptep_get(c, ptep))));
    }
    c.k.arch().flush_tlb_mm(c, mm);
    folio_clear_flag(c, f, PG_dirty);
    folio_clear_flag(c, f, PG_swapbacked);
}

TEST_P(Ttu, LazyfreeFolioDiscardedCleanKeptRedirtied)
{
    for (unsigned run = 0; run < 4; ++run) {
        const bool redirty = run & 1;
        const char* batch = run & 2 ? "kernel.anon_unmap_batch=false" : "kernel.anon_unmap_batch=true";
        TestKernel t = make({"cores=2", "simulation.check=true"}, {batch});
        t.run([&](Ctx& c) {
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_fill(c, mm, 1);
            const Folio f = folio_at(c, mm, kBase);
            mark_lazyfree(c, mm, f);
            if (redirty)
                c.cpu.store(user_access(c, mm, kBase + 3 * c.k.page_size(), AccessKind::Write) + 8, pattern(3), 8);
            const bool unmapped = reclaim_unmap(c, f);
            EXPECT_EQ(unmapped, !redirty);
            EXPECT_FALSE(folio_test_swapcache(c, f)) << "lazyfree: no swap";
            if (redirty) {
                EXPECT_TRUE(folio_test_flag(c, f, PG_swapbacked)) << "set swapbacked again";
                EXPECT_EQ(folio_mapcount(c, f), 16);
                folio_unlock(c, f);
                folio_put(c, f);
                for (unsigned i = 0; i < 16; ++i)
                    EXPECT_TRUE(holds(c, mm, i)) << i;
            } else {
                EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
                EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
                EXPECT_EQ(pte_at(c, mm, kBase).val, 0u) << "discarded: none PTEs";
                EXPECT_EQ(folio_ref_count(c, f), 1);
                folio_unlock(c, f);
                folio_put(c, f); // freed
                EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase, AccessKind::Read) + 8, 8), 0u) << "reads back zero";
            }
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    }
}

INSTANTIATE_TEST_SUITE_P(Platforms, Ttu, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);

// arm64 contpte: the batched unmap of a full block converts nothing; one PTE at a time unfolds it once.
TEST(TtuContpte, BatchedUnmapOfAFullBlockConvertsNothingSingleUnfoldsOnce)
{
    for (const bool series : {true, false}) {
        TestKernel t = make_kernel("neoverse-n1", {"cores=2"},
                                   {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
        t.run([&](Ctx& c) {
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_fill(c, mm, 1);
            ASSERT_TRUE(c.k.arch().pte_cont(pte_at(c, mm, kBase))) << "folded at fault";
            const Folio f = folio_at(c, mm, kBase);
            const std::uint64_t converts = c.k.stats().contpte_converts, unfolds = c.k.stats().contpte_unfolds;
            ASSERT_TRUE(reclaim_unmap(c, f));
            if (series) {
                EXPECT_EQ(c.k.stats().contpte_converts, converts);
                EXPECT_EQ(c.k.stats().contpte_unfolds, unfolds);
            } else {
                EXPECT_EQ(c.k.stats().contpte_unfolds, unfolds + 1);
                EXPECT_EQ(c.k.stats().contpte_converts, converts + 1);
            }
            reclaim_finish(c, f, true);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
    }
}

// The deferred flush on arm64: TLBIs go out as the PTEs are cleared, without their DSB; try_to_unmap_flush()
// completes them with one DSB; flush_tlb_batched_pending() flushes the mm once; the oracle finds nothing stale (the
// frames are freed in checked mode).
TEST(TtuDeferredFlush, Arm64TlbisAsClearedOneDsbAtTheEnd)
{
    TestKernel t = make_kernel("neoverse-n1", {"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_fill(c, mm, 2);
        const Folio f0 = folio_at(c, mm, kBase), f1 = folio_at(c, mm, kBase + 16 * c.k.page_size());
        for (const Folio f : {f0, f1}) {
            folio_get(c, f);
            folio_lock(c, f);
            ASSERT_EQ(folio_alloc_swap(c, f), 0);
        }
        const std::uint64_t tlbis = c.cpu.counters().tlbi_issued;
        const auto fl = c.k.stats().flushes;
        try_to_unmap(c, f0, TTU_BATCH_FLUSH | TTU_SYNC);
        try_to_unmap(c, f1, TTU_BATCH_FLUSH | TTU_SYNC);
        EXPECT_GT(c.cpu.counters().tlbi_issued, tlbis) << "TLBIs issued as the PTEs were cleared";
        EXPECT_TRUE(c.k.tlb_ubc(c).flush_required);
        EXPECT_EQ(c.k.stats().flushes["arch_tlbbatch_flush"].calls, 0u);
        // Another path changing this mm's page tables first completes what reclaim left pending (the current
        // tree's flush_tlb_batched_pending(): flush_tlb_mm(), the arch hook is gone), once.
        const std::uint64_t mm_flushes = c.k.stats().flushes["flush_tlb_mm"].calls;
        const std::uint64_t b0 = c.cpu.counters().barriers;
        flush_tlb_batched_pending(c, mm);
        EXPECT_EQ(c.k.stats().flushes["flush_tlb_mm"].calls, mm_flushes + 1);
        EXPECT_GT(c.cpu.counters().barriers, b0);
        const std::uint64_t b1 = c.cpu.counters().barriers;
        flush_tlb_batched_pending(c, mm);
        EXPECT_EQ(c.k.stats().flushes["flush_tlb_mm"].calls, mm_flushes + 1) << "nothing pending any more";
        EXPECT_EQ(c.cpu.counters().barriers, b1);
        const Cycles dsb = c.cpu.cycles(hw::Category::Dsb);
        const std::uint64_t barriers = c.cpu.counters().barriers;
        try_to_unmap_flush(c);
        EXPECT_EQ(c.k.stats().flushes["arch_tlbbatch_flush"].calls, 1u);
        EXPECT_EQ(c.cpu.counters().barriers, barriers + 1) << "one DSB for both folios";
        EXPECT_GT(c.cpu.cycles(hw::Category::Dsb), dsb);
        EXPECT_FALSE(c.k.tlb_ubc(c).flush_required);
        try_to_unmap_flush(c); // nothing pending: nothing issued
        EXPECT_EQ(c.cpu.counters().barriers, barriers + 1);
        for (const Folio f : {f0, f1})
            reclaim_finish(c, f, true); // frees the frames: checked mode finds no stale translation
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

// x86 and RISC-V: the deferred flush with the mm live on the other core is one IPI round at
// try_to_unmap_flush(), none while unmapping; the other core's TLB holds nothing stale afterwards (checked
// mode at the frees).
class TtuDeferredIpi : public ::testing::TestWithParam<const char*> {};

TEST_P(TtuDeferredIpi, OneIpiRound)
{
    TestKernel t = make_kernel(GetParam(), {"cores=2", "simulation.check=true"});
    mm_struct* mm = nullptr;
    t.run(0, [&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        map_and_fill(c, *mm, 2);
    });
    t.run(1, [&](Ctx& c) { // core 1 runs the mm too: its TLB caches the folios
        for (unsigned i = 0; i < 32; ++i)
            EXPECT_TRUE(holds(c, *mm, i));
    });
    t.run(0, [&](Ctx& c) {
        const Folio f0 = folio_at(c, *mm, kBase), f1 = folio_at(c, *mm, kBase + 16 * c.k.page_size());
        for (const Folio f : {f0, f1}) {
            folio_get(c, f);
            folio_lock(c, f);
            ASSERT_EQ(folio_alloc_swap(c, f), 0);
        }
        const std::uint64_t ipis = c.cpu.counters().ipis_sent;
        try_to_unmap(c, f0, TTU_BATCH_FLUSH | TTU_SYNC);
        try_to_unmap(c, f1, TTU_BATCH_FLUSH | TTU_SYNC);
        EXPECT_EQ(c.cpu.counters().ipis_sent, ipis) << "deferred: no IPI yet";
        EXPECT_TRUE(c.k.tlb_ubc(c).flush_required);
        try_to_unmap_flush(c);
        EXPECT_EQ(c.cpu.counters().ipis_sent, ipis + 1) << "one IPI round for both folios";
        for (const Folio f : {f0, f1})
            reclaim_finish(c, f, true);
    });
    t.run(1, [&](Ctx& c) {
        for (unsigned i = 0; i < 32; ++i)
            EXPECT_TRUE(holds(c, *mm, i)) << "swapped back in on core 1 " << i;
    });
    t.run(0, [&](Ctx& c) {
        exit_mmap(c, *mm);
        c.k.mm_free(c, *mm);
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, TtuDeferredIpi, ::testing::Values("skylake-sp", "riscv-sv39"), platform_name);

} // namespace

namespace {

// kernel.defer_flush=false: each cleared batch is flushed at once (flush_tlb_range()), nothing is left for
// try_to_unmap_flush(); the phases of the unmap path are in the report.
TEST(TtuDeferredFlush, OffFlushesEachBatchAndPhasesAreReported)
{
    TestKernel t = make_kernel("neoverse-n1", {"cores=2", "simulation.check=true"}, {"kernel.defer_flush=false"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_fill(c, mm, 1);
        const Folio f = folio_at(c, mm, kBase);
        const std::uint64_t ranges = c.k.stats().flushes["flush_tlb_range"].calls;
        ASSERT_TRUE(reclaim_unmap(c, f));
        EXPECT_EQ(c.k.stats().flushes["flush_tlb_range"].calls, ranges + 1) << "one batch, one flush";
        EXPECT_EQ(c.k.stats().flushes["arch_tlbbatch_flush"].calls, 0u);
        EXPECT_FALSE(c.k.tlb_ubc(c).flush_required);
        reclaim_finish(c, f, true);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_GT(t.k->stats().phases.at("try_to_unmap_one"), 0u);
    EXPECT_GT(t.k->stats().phases.at("try_to_unmap"), 0u);
    EXPECT_EQ(t.k->stats().phases.count("try_to_unmap_flush"), 1u);
}

} // namespace

namespace {

// ttu_lazyfree_folio(): an extra reference (a GUP or speculative one) keeps a clean lazyfree folio mapped;
// in a VM_DROPPABLE VMA a dirty one is discarded all the same.
TEST(TtuLazyfree, ExtraReferenceKeepsItDroppableDiscardsDirty)
{
    TestKernel t = make_kernel("neoverse-n1", {"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_fill(c, mm, 1);
        const Folio f = folio_at(c, mm, kBase);
        mark_lazyfree(c, mm, f);
        folio_get(c, f); // a speculative reference
        EXPECT_FALSE(reclaim_unmap(c, f));
        EXPECT_EQ(folio_mapcount(c, f), 16);
        EXPECT_FALSE(folio_test_flag(c, f, PG_swapbacked)) << "clean: still lazyfree";
        folio_unlock(c, f);
        folio_put(c, f);
        folio_put(c, f); // the speculative reference goes
        // Redirtied, but MAP_DROPPABLE: discarded anyway.
        c.cpu.store(user_access(c, mm, kBase, AccessKind::Write) + 8, 1, 8);
        mm.vma_at(kBase)->vm_flags |= VM_DROPPABLE;
        EXPECT_TRUE(reclaim_unmap(c, f));
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        folio_unlock(c, f);
        folio_put(c, f);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

} // namespace
