// SPDX-License-Identifier: GPL-2.0-only
// The batched anon unmap of try_to_unmap_one() (mm/rmap.cc) where a folio's PTEs are not all alike, reached
// through MADV_PAGEOUT on arm64 (contpte) and x86: a batch whose pages differ in anon-exclusivity (fork, the
// child gone, some pages reused by write faults in the parent, then mprotect(PROT_READ) so that every PTE is
// alike) is one unmap batch split into sub-batches of uniform exclusivity (patch 12 of v4,
// page_anon_exclusive_sub_batch()), each exclusive one shared with one folio_try_share_anon_rmap_ptes(); the
// shape of the nr_pages-not-reset fix (a batch followed by a single PTE of another kind) ends with every
// page accounted once; and the ptep_get() calls move with the unmap as its mechanism says.
#include "swap_test_util.hh"

#include "mm/fork.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <gtest/gtest.h>

#include <set>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr unsigned kOrder64K = 4;  // 64K folios of 4K pages
constexpr unsigned kNr = 16;

std::uint64_t pattern(Addr va) { return 0x5a5a000000000000ull ^ va; } // never zero

// `folios` 64K folios at kBase, each page written with its pattern (so that a pageout writes them out).
void map_and_write(Ctx& c, mm_struct& mm, unsigned folios)
{
    do_mmap(c, mm, kBase, folios * kNr * c.k.page_size(), PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, static_cast<int>(kOrder64K));
    for (unsigned i = 0; i < folios * kNr; ++i) {
        const Addr va = kBase + i * c.k.page_size();
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), pattern(va), 8);
    }
}

bool holds(Ctx& c, mm_struct& mm, unsigned i)
{
    const Addr va = kBase + i * c.k.page_size();
    return c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8) == pattern(va);
}

// The calls by batch size of `helper` since `before` (an earlier copy of the kernel's statistics).
std::map<unsigned, std::uint64_t> calls(Ctx& c, const MmStats& before, const char* helper)
{
    const MmStats d = c.k.stats().since(before);
    const auto it = d.batches.find(helper);
    return it == d.batches.end() ? std::map<unsigned, std::uint64_t>{} : it->second;
}

// After fork the parent's folio is shared and none of its pages exclusive; the child exits; write faults in
// the parent on `reused` reuse those pages (wp_can_reuse_anon_folio(): the folio is the parent's alone
// again), which makes them exclusive and writable, the others stay read-only and not exclusive.
void fork_exit_and_reuse(Ctx& c, mm_struct& parent, const std::set<unsigned>& reused)
{
    mm_struct& child = copy_mm(c, parent);
    exit_mmap(c, child);
    c.k.mm_free(c, child);
    const Folio f = folio_at(c, parent, kBase);
    for (unsigned i = 0; i < kNr; ++i)
        ASSERT_FALSE(PageAnonExclusive(c, folio_page(f, i))) << "fork shares every page " << i;
    for (const unsigned i : reused) {
        const Addr va = kBase + i * c.k.page_size();
        c.cpu.store(user_access(c, parent, va, AccessKind::Write), pattern(va), 8);
    }
    ASSERT_EQ(folio_at(c, parent, kBase).pfn, f.pfn) << "reused in place, not copied";
    for (unsigned i = 0; i < kNr; ++i)
        ASSERT_EQ(PageAnonExclusive(c, folio_page(f, i)), reused.count(i) == 1) << i;
}

class RmapBatch : public ::testing::TestWithParam<const char*> {};

// Pages 0-3 and 9 exclusive, the rest not, every PTE read-only: one unmap batch of 16 (the series), split into
// the sub-batches [0,4) [4,9) [9,10) [10,16); the two exclusive ones are shared with one call each (4 and 1
// pages). Before the series each exclusive page is shared on its own. Both leave swap PTEs exclusive exactly
// where the pages were, and a swap-in restores that (page by page: the PTEs differ in exclusivity).
TEST_P(RmapBatch, MixedExclusivityIsSplitIntoUniformSubBatches)
{
    const std::set<unsigned> exclusive{0, 1, 2, 3, 9};
    for (const bool series : {true, false}) {
        const std::string what = std::string(GetParam()) + (series ? " series" : " mainline");
        TestKernel t = make_kernel(GetParam(), {"cores=2", "simulation.check=true"},
                                   {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
        t.run([&](Ctx& c) {
            const mm::Arch& a = c.k.arch();
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_write(c, mm, 1);
            fork_exit_and_reuse(c, mm, exclusive);
            ASSERT_EQ(do_mprotect_pkey(c, mm, kBase, kNr * ps, PROT_READ), 0);
            for (unsigned i = 0; i < kNr; ++i)
                ASSERT_FALSE(a.pte_write(pte_at(c, mm, kBase + i * ps))) << i;
            const Folio f = folio_at(c, mm, kBase);
            const MmStats before = c.k.stats();
            ASSERT_EQ(do_madvise(c, mm, kBase, kNr * ps, MADV_PAGEOUT), 0);
            EXPECT_EQ(c.k.stats().folios_freed, before.folios_freed + 1) << what << ": paged out and freed";
            if (series) {
                EXPECT_EQ(calls(c, before, "get_and_clear_full_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}}))
                    << what << ": one unmap batch";
                EXPECT_EQ(calls(c, before, "folio_try_share_anon_rmap_ptes"),
                          (std::map<unsigned, std::uint64_t>{{1, 1}, {4, 1}}))
                    << what << ": one share per exclusive sub-batch";
                EXPECT_TRUE(calls(c, before, "folio_try_share_anon_rmap_pte").empty()) << what;
            } else {
                EXPECT_EQ(calls(c, before, "ptep_get_and_clear"), (std::map<unsigned, std::uint64_t>{{1, 16}})) << what;
                EXPECT_EQ(calls(c, before, "folio_try_share_anon_rmap_pte"),
                          (std::map<unsigned, std::uint64_t>{{1, exclusive.size()}}))
                    << what << ": one share per exclusive page";
                EXPECT_TRUE(calls(c, before, "folio_try_share_anon_rmap_ptes").empty()) << what;
            }
            for (unsigned i = 0; i < kNr; ++i) {
                const pte_t pte = pte_at(c, mm, kBase + i * ps);
                ASSERT_TRUE(a.is_swap_pte(pte)) << what << ' ' << i;
                EXPECT_EQ(a.pte_swp_exclusive(pte), exclusive.count(i) == 1) << what << ' ' << i;
                EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 1) << what << ' ' << i;
            }
            (void)f;
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(kNr)) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0) << what;
            // Back in, read-only VMA: each page's exclusivity comes back from its swap PTE.
            ASSERT_EQ(do_mprotect_pkey(c, mm, kBase, kNr * ps, PROT_READ | PROT_WRITE), 0);
            for (unsigned i = 0; i < kNr; ++i) {
                EXPECT_TRUE(holds(c, mm, i)) << what << ' ' << i;
                const pte_t pte = pte_at(c, mm, kBase + i * ps);
                EXPECT_EQ(PageAnonExclusive(c, a.pte_pfn(pte)), exclusive.count(i) == 1) << what << ' ' << i;
            }
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << what;
    }
}

// The shape the nr_pages-not-reset fix ("mm/rmap: initialize nr_pages to 1 at loop start in
// try_to_unmap_one") is about: a batch, then a single PTE of another kind in the same folio. Upstream the
// single one was a device-exclusive entry (its reproducer is tests/mm/device_exclusive_test.cc); here it is
// the one writable PTE after pages 0-14 stayed read-only since fork (FPB_RESPECT_WRITE ends the batch there),
// which folio_unmap_pte_batch() sizes again (1), so a stale size cannot reach it. A batch size carried over would unmap,
// uncharge and put 15 pages for the last PTE. Lazyfree folios (the reproducer's MADV_FREE) are batched in both
// kernels; swap-backed ones in the series only. Every page must be accounted exactly once.
TEST_P(RmapBatch, BatchThenSinglePteOfAnotherKindAccountsEachPageOnce)
{
    for (const bool lazyfree : {true, false})
        for (const bool series : {true, false}) {
            const std::string what = std::string(GetParam()) + (lazyfree ? " lazyfree" : " swap-backed") +
                                     (series ? " series" : " mainline");
            TestKernel t = make_kernel(GetParam(), {"cores=2", "simulation.check=true"},
                                       {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
            t.run([&](Ctx& c) {
                const mm::Arch& a = c.k.arch();
                const std::uint64_t ps = c.k.page_size();
                mm_struct& mm = c.k.mm_alloc(c);
                map_and_write(c, mm, 2); // the second folio must be left alone
                fork_exit_and_reuse(c, mm, {kNr - 1});
                for (unsigned i = 0; i < kNr; ++i)
                    ASSERT_EQ(a.pte_write(pte_at(c, mm, kBase + i * ps)), i == kNr - 1) << i;
                const Folio f = folio_at(c, mm, kBase);
                if (lazyfree) {
                    ASSERT_EQ(do_madvise(c, mm, kBase, kNr * ps, MADV_FREE), 0);
                    ASSERT_FALSE(folio_test_flag(c, f, PG_swapbacked)) << "lazyfree";
                }
                const MmStats before = c.k.stats();
                ASSERT_EQ(do_madvise(c, mm, kBase, kNr * ps, MADV_PAGEOUT), 0);
                // A batch of 15, then the single PTE (which mainline clears with ptep_get_and_clear()); mainline
                // does not batch a swap-backed folio at all.
                using Hist = std::map<unsigned, std::uint64_t>;
                const Hist batches = calls(c, before, "get_and_clear_full_ptes"), singles = calls(c, before, "ptep_get_and_clear");
                if (series) {
                    EXPECT_EQ(batches, (Hist{{1, 1}, {15, 1}})) << what;
                    EXPECT_TRUE(singles.empty()) << what;
                } else if (lazyfree) {
                    EXPECT_EQ(batches, (Hist{{15, 1}})) << what;
                    EXPECT_EQ(singles, (Hist{{1, 1}})) << what;
                } else {
                    EXPECT_TRUE(batches.empty()) << what;
                    EXPECT_EQ(singles, (Hist{{1, kNr}})) << what;
                }
                EXPECT_EQ(c.k.stats().folios_freed, before.folios_freed + 1) << what;
                EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), static_cast<long>(kNr)) << what << ": the other folio";
                EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), lazyfree ? 0 : static_cast<long>(kNr)) << what;
                for (unsigned i = 0; i < kNr; ++i) {
                    const pte_t pte = pte_at(c, mm, kBase + i * ps);
                    if (lazyfree) {
                        EXPECT_EQ(pte.val, 0u) << what << ": discarded " << i;
                    } else {
                        ASSERT_TRUE(a.is_swap_pte(pte)) << what << ' ' << i;
                        EXPECT_EQ(a.pte_swp_exclusive(pte), i == kNr - 1) << what << ' ' << i;
                        EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 1) << what << ' ' << i;
                    }
                }
                const Folio other = folio_at(c, mm, kBase + kNr * ps);
                EXPECT_EQ(folio_mapcount(c, other), static_cast<int>(kNr)) << what;
                EXPECT_EQ(folio_ref_count(c, other), static_cast<int>(kNr)) << what;
                for (unsigned i = 0; i < 2 * kNr; ++i) {
                    if (lazyfree && i < kNr)
                        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase + i * ps, AccessKind::Read), 8), 0u)
                            << what << ": a discarded page reads back zero " << i;
                    else
                        EXPECT_TRUE(holds(c, mm, i)) << what << ' ' << i;
                }
                exit_mmap(c, mm);
                c.k.mm_free(c, mm);
            });
            EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << what;
        }
}

// ptep_get() during MADV_PAGEOUT of N PTEs (written 64K folios). One PTE at a time, page_vma_mapped_walk()
// (check_pte()) and try_to_unmap_one() each read every PTE: at least 2N. The series reads fewer: one
// iteration per folio, folio_pte_batch() reading the rest once; on x86 every PTE is still read at least once,
// on arm64 a folded contpte block is read through contpte_ptep_get() (the walk, check_pte(), the unmap) and
// pte_batch_hint() skips its other 15 entries.
TEST_P(RmapBatch, PtepGetCallsMoveWithTheUnmap)
{
    constexpr unsigned kFolios = 4, kN = kFolios * kNr;
    const bool arm64 = std::string(GetParam()) == "neoverse-n1";
    MmStats batched, unbatched;
    for (const bool series : {true, false}) {
        TestKernel t = make_kernel(GetParam(), {"cores=2"},
                                   {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
        t.run([&](Ctx& c) {
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_write(c, mm, kFolios);
            const MmStats before = c.k.stats();
            ASSERT_EQ(do_madvise(c, mm, kBase, kN * c.k.page_size(), MADV_PAGEOUT), 0);
            (series ? batched : unbatched) = c.k.stats().since(before);
            EXPECT_EQ(c.k.stats().folios_freed, before.folios_freed + kFolios);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
    }
    EXPECT_GE(unbatched.ptep_get, 2u * kN);
    EXPECT_LT(batched.ptep_get, unbatched.ptep_get);
    for (const MmStats* s : {&batched, &unbatched})
        EXPECT_GE(s->ptep_get_raw, s->ptep_get) << "each ptep_get() reads at least its own entry";
    if (arm64) {
        EXPECT_LT(batched.ptep_get, kN) << "pte_batch_hint() skips the rest of a folded block";
        EXPECT_GE(batched.contpte_ptep_get, 2u * kFolios) << "check_pte() and the unmap read the folded block";
        EXPECT_GE(unbatched.contpte_ptep_get, kFolios) << "the first PTE of each block, before the unfold";
    } else {
        EXPECT_GE(batched.ptep_get, kN) << "folio_pte_batch() reads every PTE";
        EXPECT_EQ(batched.contpte_ptep_get + unbatched.contpte_ptep_get, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(Platforms, RmapBatch, ::testing::Values("neoverse-n1", "skylake-sp"), platform_name);

} // namespace
