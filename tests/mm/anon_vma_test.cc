// SPDX-License-Identifier: GPL-2.0-only
// The anon_vma hierarchy (mm/rmap.cc anon_vma_prepare/clone/fork, unlink_anon_vmas) and the rmap walk through
// it, on arm64, x86 and RISC-V: MADV_PAGEOUT of a region mremap moved finds its PTEs (folio->index is the
// linear page index, the moved VMA keeps vm_pgoff) and the bytes come back; after fork and a COW in the child
// the child's new folio is found only in the child while the parent's shared folio is unmapped from both;
// mremap moves swap PTEs (swap counters and slots right, bytes back); with the deferred flush, mprotect after
// reclaim's unmap completes the pending flush (flush_tlb_batched_pending()) so no TLB keeps the old
// writable translation.
#include "swap_test_util.hh"

#include "mm/fork.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"
#include "mm/mremap.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;  // 1 GiB: aligned for any folio order
constexpr Addr kDest = 0x80000000;  // where mremap moves it
constexpr unsigned kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

std::uint64_t pattern(unsigned i) { return 0x3c3c000000000000ull ^ (std::uint64_t{i} << 20) ^ 0x99; }

void fill(Ctx& c, mm_struct& mm, Addr base, unsigned pages)
{
    for (unsigned i = 0; i < pages; ++i)
        c.cpu.store(user_access(c, mm, base + i * c.k.page_size(), AccessKind::Write) + 8, pattern(i), 8);
}

std::uint64_t read_back(Ctx& c, mm_struct& mm, Addr base, unsigned i)
{
    return c.cpu.load(user_access(c, mm, base + i * c.k.page_size(), AccessKind::Read) + 8, 8);
}

class AnonVma : public PlatformTest {};

// mremap moves a region of 64K folios; MADV_PAGEOUT at the new address swaps every page out (the walk finds
// the moved PTEs from the folio's index and the VMA's vm_pgoff), and each page comes back with its bytes.
TEST_P(AnonVma, PageoutAfterMremapMoveSwapsOutAndBack)
{
    TestKernel t = make({"simulation.check=true"});
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        const unsigned pages = 64;
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, pages * ps, PROT_READ | PROT_WRITE, kFlags, 4);
        fill(c, mm, kBase, pages);
        const Folio f = folio_at(c, mm, kBase);
        ASSERT_EQ(do_mremap(c, mm, kBase, pages * ps, pages * ps, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                  static_cast<long>(kDest));
        ASSERT_EQ(mm.vmas.size(), 1u);
        const vm_area_struct& vma = mm.vmas.begin()->second;
        EXPECT_EQ(vma.vm_pgoff, kBase >> c.k.page_shift()) << "the moved VMA keeps its pgoff";
        EXPECT_EQ(c.cpu.load(page_addr(c, f.pfn) + PAGE_OFF_INDEX, 8), kBase >> c.k.page_shift()) << "the folio's index is its linear page index";
        ASSERT_EQ(folio_at(c, mm, kDest).pfn, f.pfn);
        const auto found = rmap_walk_anon_vmas(c, f);
        ASSERT_EQ(found.size(), 1u);
        EXPECT_EQ(found[0].first, &vma);
        EXPECT_EQ(found[0].second, kDest) << "vma_address() of the moved folio";

        ASSERT_EQ(do_madvise(c, mm, kDest, pages * ps, MADV_PAGEOUT), 0);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(pages));
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        for (unsigned i = 0; i < pages; ++i)
            EXPECT_TRUE(c.k.arch().is_swap_pte(pte_at(c, mm, kDest + i * ps))) << i;
        for (unsigned i = 0; i < pages; ++i)
            EXPECT_EQ(read_back(c, mm, kDest, i), pattern(i)) << i;
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
    });
}

// fork + a write in the child: the child's COW folio belongs to the child's own anon_vma and the rmap finds
// it only in the child; the parent's folio still shared with the child is found in both and unmapped from
// both.
TEST_P(AnonVma, ForkCowFolioOnlyInChildSharedOneInBoth)
{
    TestKernel t = make({"simulation.check=true"});
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 4 * ps, PROT_READ | PROT_WRITE, kFlags, 0);
        fill(c, parent, kBase, 4);
        mm_struct& child = copy_mm(c, parent);
        vm_area_struct& pvma = parent.vmas.begin()->second;
        vm_area_struct& cvma = child.vmas.begin()->second;
        ASSERT_NE(cvma.anon, nullptr);
        EXPECT_NE(cvma.anon, pvma.anon) << "anon_vma_fork(): the child's own anon_vma";
        EXPECT_EQ(cvma.anon->root, pvma.anon) << "chained under the parent's root";
        EXPECT_EQ(cvma.anon_vma_chain.list.size(), 2u);
        EXPECT_EQ(pvma.anon->rb_root.size(), 2u) << "the parent's anon_vma finds both VMAs";

        // COW in the child: its new folio goes to the child's anon_vma.
        c.cpu.store(user_access(c, child, kBase, AccessKind::Write) + 8, 0x1234, 8);
        const Folio cf = folio_at(c, child, kBase);
        ASSERT_NE(cf.pfn, folio_at(c, parent, kBase).pfn);
        EXPECT_EQ(folio_mapping_raw(c, cf), cvma.anon->addr | PAGE_MAPPING_ANON);
        const auto in_child = rmap_walk_anon_vmas(c, cf);
        ASSERT_EQ(in_child.size(), 1u) << "the child's private folio is visited in the child only";
        EXPECT_EQ(in_child[0].first, &cvma);
        EXPECT_EQ(in_child[0].second, kBase);

        // Page 1 is still shared: found in both and unmapped from both.
        const Folio sf = folio_at(c, parent, kBase + ps);
        ASSERT_EQ(folio_at(c, child, kBase + ps).pfn, sf.pfn);
        const auto in_both = rmap_walk_anon_vmas(c, sf);
        ASSERT_EQ(in_both.size(), 2u);
        EXPECT_NE(in_both[0].first, in_both[1].first);
        folio_get(c, sf);
        folio_lock(c, sf);
        ASSERT_EQ(folio_alloc_swap(c, sf), 0);
        try_to_unmap(c, sf, TTU_BATCH_FLUSH | TTU_SYNC);
        try_to_unmap_flush(c);
        EXPECT_FALSE(folio_mapped(c, sf));
        EXPECT_TRUE(c.k.arch().is_swap_pte(pte_at(c, parent, kBase + ps)));
        EXPECT_TRUE(c.k.arch().is_swap_pte(pte_at(c, child, kBase + ps)));
        EXPECT_EQ(get_mm_counter(c, parent, MM_SWAPENTS), 1);
        EXPECT_EQ(get_mm_counter(c, child, MM_SWAPENTS), 1);
        folio_unlock(c, sf);
        folio_put(c, sf);
        EXPECT_EQ(read_back(c, child, kBase, 1), pattern(1));
        EXPECT_EQ(read_back(c, parent, kBase, 1), pattern(1));

        exit_mmap(c, child);
        c.k.mm_free(c, child);
        EXPECT_EQ(pvma.anon->rb_root.size(), 1u) << "the child's VMA left the parent's tree";
        EXPECT_EQ(pvma.anon->num_children, 1u) << "only the self-parent link is left";
        EXPECT_EQ(read_back(c, parent, kBase, 0), pattern(0));
        exit_mmap(c, parent);
        c.k.mm_free(c, parent);
    });
}

// mremap of a swapped-out range: the swap PTEs move (soft-dirty in their swap form where the architecture
// has the bit), MM_SWAPENTS stays, the pages come back with their bytes, and no slot is left at exit.
TEST_P(AnonVma, MremapMovesSwapEntries)
{
    TestKernel t = make({"simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        const unsigned pages = 32;
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, pages * ps, PROT_READ | PROT_WRITE, kFlags, 0);
        fill(c, mm, kBase, pages);
        ASSERT_EQ(do_madvise(c, mm, kBase, pages * ps, MADV_PAGEOUT), 0);
        ASSERT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(pages));
        std::vector<pte_t> before;
        for (unsigned i = 0; i < pages; ++i)
            before.push_back(pte_at(c, mm, kBase + i * ps));
        ASSERT_EQ(do_mremap(c, mm, kBase, pages * ps, pages * ps, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                  static_cast<long>(kDest));
        for (unsigned i = 0; i < pages; ++i) {
            EXPECT_TRUE(a.pte_none(pte_at(c, mm, kBase + i * ps))) << i;
            const pte_t moved = pte_at(c, mm, kDest + i * ps);
            ASSERT_TRUE(a.is_swap_pte(moved)) << i;
            EXPECT_EQ(moved, a.pte_swp_mksoft_dirty(before[i])) << "the same entry, moved: " << i;
        }
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(pages));
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), static_cast<long>(pages));
        for (unsigned i = 0; i < pages / 2; ++i)
            EXPECT_EQ(read_back(c, mm, kDest, i), pattern(i)) << i;
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(pages / 2));
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0) << "slots freed at exit";
    });
}

// An unfaulted VMA absorbing a faulted neighbour (mmap between them: prev absorbs the new range and next)
// takes the neighbour's anon_vma (dup_anon_vma()); the folios are then found in the merged VMA, at their
// addresses, and swap out through it.
TEST_P(AnonVma, MergeIntoUnfaultedVmaKeepsFoliosFindable)
{
    TestKernel t = make({"simulation.check=true"});
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 4 * ps, PROT_READ | PROT_WRITE, kFlags, 0);          // unfaulted
        do_mmap(c, mm, kBase + 8 * ps, 4 * ps, PROT_READ | PROT_WRITE, kFlags, 0); // faulted below
        fill(c, mm, kBase + 8 * ps, 4);
        ASSERT_EQ(mm.vmas.size(), 2u);
        do_mmap(c, mm, kBase + 4 * ps, 4 * ps, PROT_READ | PROT_WRITE, kFlags, 0); // fills the hole
        ASSERT_EQ(mm.vmas.size(), 1u) << "one VMA of 12 pages";
        vm_area_struct& vma = mm.vmas.begin()->second;
        ASSERT_NE(vma.anon, nullptr);
        EXPECT_EQ(vma.anon_vma_chain.list.size(), 1u);
        const Folio f = folio_at(c, mm, kBase + 9 * ps);
        const auto found = rmap_walk_anon_vmas(c, f);
        ASSERT_EQ(found.size(), 1u);
        EXPECT_EQ(found[0].first, &vma);
        EXPECT_EQ(found[0].second, kBase + 9 * ps);
        ASSERT_EQ(do_madvise(c, mm, kBase, 12 * ps, MADV_PAGEOUT), 0);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 4);
        EXPECT_EQ(read_back(c, mm, kBase + 8 * ps, 1), pattern(1));
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, AnonVma, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"),
                         platform_name);

// x86 with the deferred flush (the mm live on both cores, so reclaim defers): reclaim clears a writable PTE and
// leaves its flush pending (no IPI yet: core 1's TLB still has the translation); mprotect(PROT_READ) of that
// page finds no present PTE to change and flushes nothing itself, so only flush_tlb_batched_pending() in
// change_pte_range() removes the stale writable translation.
TEST(AnonVmaDeferredFlush, MprotectCompletesReclaimsPendingFlush)
{
    TestKernel t = make_kernel("skylake-sp", {"cores=2", "simulation.check=true"});
    mm_struct* mm = nullptr;
    t.run(0, [&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        do_mmap(c, *mm, kBase, 4 * c.k.page_size(), PROT_READ | PROT_WRITE, kFlags, 0);
        fill(c, *mm, kBase, 4);
    });
    t.run(1, [&](Ctx& c) { // core 1 runs the mm too: its TLB caches the pages, writable
        for (unsigned i = 0; i < 4; ++i)
            c.cpu.store(user_access(c, *mm, kBase + i * c.k.page_size(), AccessKind::Write) + 16, i, 8);
    });
    t.run(0, [&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        const Folio f = folio_at(c, *mm, kBase);
        folio_get(c, f);
        folio_lock(c, f);
        ASSERT_EQ(folio_alloc_swap(c, f), 0);
        try_to_unmap(c, f, TTU_BATCH_FLUSH | TTU_SYNC);
        ASSERT_TRUE(c.k.tlb_ubc(c).flush_required) << "the flush is pending";
        ASSERT_FALSE(c.k.platform().oracle().check_range(kBase, kBase + ps - 1, mm->asid, mm->pgd).empty())
            << "a TLB still translates the unmapped page";
        const std::uint64_t ipis = c.cpu.counters().ipis_sent;
        ASSERT_EQ(do_mprotect_pkey(c, *mm, kBase, ps, PROT_READ), 0);
        EXPECT_TRUE(c.k.platform().oracle().check_range(kBase, kBase + ps - 1, mm->asid, mm->pgd).empty())
            << "mprotect completed the pending flush";
        EXPECT_EQ(c.cpu.counters().ipis_sent, ipis + 1) << "flush_tlb_mm(): one IPI round";
        try_to_unmap_flush(c);
        folio_unlock(c, f);
        folio_put(c, f);
        exit_mmap(c, *mm);
        c.k.mm_free(c, *mm);
    });
}

} // namespace
