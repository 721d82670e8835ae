// SPDX-License-Identifier: GPL-2.0-only
// Shared anonymous memory (mm/shmem.cc and the file-fault paths of mm/memory.cc): pages live in the shmem
// object's page cache, are mapped by both processes after fork (no COW), counted as MM_SHMEMPAGES, survive
// one process's munmap and go back to the allocator when the last mapping goes; mprotect and mremap of a
// shared VMA; a 64K-folio shared fault on arm64 is one set_ptes() of 16.
#include "kernel_test_util.hh"

#include "mm/fork.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"
#include "mm/mremap.hh"
#include "mm/rmap.hh"
#include "mm/shmem.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;
constexpr unsigned kShared = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;

class Shmem : public PlatformTest {};

// A user store of v at va (the access faults the page in first); returns the physical address written.
PAddr user_store(Ctx& c, mm_struct& mm, Addr va, std::uint64_t v)
{
    const PAddr pa = user_access(c, mm, va, AccessKind::Write);
    c.cpu.store(pa, v, 8, hw::Category::KernelMemory);
    return pa;
}

// Per-CPU state an architecture allocates on first use and keeps (x86 cpu_tlbstate), before a baseline.
void warm_up(Ctx& c)
{
    mm_struct& warm = c.k.mm_alloc(c);
    do_mmap(c, warm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kShared, 0);
    user_access(c, warm, kBase, AccessKind::Write);
    exit_mmap(c, warm);
    c.k.mm_free(c, warm);
}

} // namespace

TEST_P(Shmem, ForkedProcessesSeeEachOthersWritesInTheSamePages)
{
    TestKernel t = make();
    std::uint64_t before_exit = 0;
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        warm_up(c);
        const std::uint64_t baseline = c.k.page_alloc().free_bytes();
        mm_struct& parent = c.k.mm_alloc(c);
        ASSERT_EQ(do_mmap(c, parent, kBase, 8 * 4096, PROT_READ | PROT_WRITE, kShared, 0), kBase);
        const PAddr p0 = user_store(c, parent, kBase, 0x1111);
        const Folio f0 = page_folio(c, p0 >> c.k.page_shift());
        EXPECT_FALSE(folio_test_anon(c, f0));
        EXPECT_TRUE(folio_test_flag(c, f0, PG_swapbacked));
        EXPECT_EQ(get_mm_counter(c, parent, MM_SHMEMPAGES), 1);
        EXPECT_EQ(get_mm_counter(c, parent, MM_ANONPAGES), 0);
        EXPECT_EQ(folio_mapcount(c, f0), 1);
        EXPECT_EQ(folio_ref_count(c, f0), 2) << "the page cache's reference and the PTE's";

        // fork: the shared VMA has no anon_vma, so vma_needs_copy() is false: no PTEs in the child
        mm_struct& child = copy_mm(c, parent);
        EXPECT_EQ(leaf_raw(t, child, kBase), 0u);
        EXPECT_EQ(get_mm_counter(c, child, MM_SHMEMPAGES), 0);

        // The parent writes after the fork; the child reads the same bytes from the same frame.
        user_store(c, parent, kBase, 0x2222);
        const PAddr c0 = user_access(c, child, kBase, AccessKind::Read);
        EXPECT_EQ(c0, p0) << "no copy: the child maps the page-cache page";
        EXPECT_EQ(t.read(c0, 8), 0x2222u);
        EXPECT_EQ(folio_mapcount(c, f0), 2);
        EXPECT_EQ(folio_ref_count(c, f0), 3);
        EXPECT_EQ(get_mm_counter(c, child, MM_SHMEMPAGES), 1);

        // The child writes (its read-faulted PTE is writable: no COW for VM_SHARED) and the parent sees it.
        const PAddr c0w = user_store(c, child, kBase + 8, 0x3333);
        EXPECT_EQ(c0w, p0 + 8);
        EXPECT_EQ(t.read(p0 + 8, 8), 0x3333u);
        EXPECT_EQ(c.k.stats().pages_copied, 0u);

        // A page only the child faulted is found by the parent in the cache.
        const PAddr c5 = user_store(c, child, kBase + 5 * 4096, 0x5555);
        const PAddr p5 = user_access(c, parent, kBase + 5 * 4096, AccessKind::Read);
        EXPECT_EQ(p5, c5);
        EXPECT_EQ(t.read(p5, 8), 0x5555u);
        EXPECT_EQ(shmem_nrpages(c, *parent.vma_at(kBase)->vm_file), 2u);
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, child, kBase)}));

        // munmap in the parent: the child's data stays, in the page cache.
        ASSERT_EQ(do_munmap(c, parent, kBase, 8 * 4096), 0);
        EXPECT_EQ(get_mm_counter(c, parent, MM_SHMEMPAGES), 0);
        EXPECT_EQ(folio_mapcount(c, f0), 1);
        EXPECT_EQ(t.read(user_access(c, child, kBase, AccessKind::Read), 8), 0x2222u);
        EXPECT_EQ(t.read(user_access(c, child, kBase + 5 * 4096, AccessKind::Read), 8), 0x5555u);
        EXPECT_TRUE(folio_test_flag(c, f0, PG_dirty)) << "zap moved the PTE's dirty bit to the folio";

        exit_mmap(c, parent);
        c.k.mm_free(c, parent);
        before_exit = c.k.page_alloc().free_bytes();
        exit_mmap(c, child);
        c.k.mm_free(c, child);
        EXPECT_GT(c.k.page_alloc().free_bytes(), before_exit) << "the last fput() evicted the page cache";
        EXPECT_EQ(c.k.page_alloc().free_bytes(), baseline);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().pgtables_allocated, t.k->stats().pgtables_freed);
    EXPECT_EQ(t.k->stats().shmem_fault_alloc.at(0), 3u) << "warm-up 1, then 2";
}

TEST_P(Shmem, LargeFoliosAreMappedWholeAndCountedPerPteInBothMms)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        warm_up(c);
        const std::uint64_t baseline = c.k.page_alloc().free_bytes();
        mm_struct& parent = c.k.mm_alloc(c);
        // 64K folios (order 4 with a 4K granule); the last 4 pages do not fill an aligned 64K: order 0 there
        ASSERT_EQ(do_mmap(c, parent, kBase, 20 * 4096, PROT_READ | PROT_WRITE, kShared, 4), kBase);
        const PAddr pa = user_access(c, parent, kBase + 3 * 4096, AccessKind::Read);
        const Folio f = page_folio(c, pa >> 12);
        EXPECT_EQ(folio_nr_pages(c, f), 16u);
        EXPECT_EQ(pa >> 12, f.pfn + 3);
        EXPECT_EQ(get_mm_counter(c, parent, MM_SHMEMPAGES), 16) << "finish_fault() maps the whole folio";
        EXPECT_EQ(folio_mapcount(c, f), 16);
        EXPECT_EQ(folio_ref_count(c, f), 32) << "16 for the page cache, 16 for the PTEs";

        mm_struct& child = copy_mm(c, parent);
        user_access(c, child, kBase + 9 * 4096, AccessKind::Write);
        EXPECT_EQ(folio_mapcount(c, f), 32) << "every PTE of both mms";
        EXPECT_TRUE(folio_maybe_mapped_shared(c, f));
        EXPECT_EQ(get_mm_counter(c, child, MM_SHMEMPAGES), 16);
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_EQ(c.k.arch().pte_pfn(pte_t{leaf_raw(t, child, kBase + i * 4096)}), f.pfn + i) << i;

        const PAddr tail = user_access(c, parent, kBase + 17 * 4096, AccessKind::Write);
        EXPECT_EQ(folio_nr_pages(c, page_folio(c, tail >> 12)), 1u) << "the aligned 64K would pass the VMA's end";
        EXPECT_EQ(get_mm_counter(c, parent, MM_SHMEMPAGES), 17);

        // MADV_DONTNEED in the child drops its PTEs, not the cache: a new fault maps the same folio.
        ASSERT_EQ(do_madvise(c, child, kBase, 16 * 4096, MADV_DONTNEED), 0);
        EXPECT_EQ(get_mm_counter(c, child, MM_SHMEMPAGES), 0);
        EXPECT_EQ(folio_mapcount(c, f), 16);
        EXPECT_EQ(user_access(c, child, kBase, AccessKind::Read) >> 12, f.pfn);
        // MADV_FREE is for anonymous VMAs only; reclaim of shmem is not ported
        EXPECT_EQ(do_madvise(c, child, kBase, 4096, MADV_FREE), -EINVAL);
        EXPECT_EQ(do_madvise(c, child, kBase, 4096, MADV_PAGEOUT), -EINVAL);

        exit_mmap(c, child);
        c.k.mm_free(c, child);
        exit_mmap(c, parent);
        c.k.mm_free(c, parent);
        EXPECT_EQ(c.k.page_alloc().free_bytes(), baseline);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().shmem_fault_alloc.at(4), 1u);
}

TEST_P(Shmem, MprotectReadOnlySegfaultsOnWriteAndBackToWritableNeedsNoCopy)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        ASSERT_EQ(do_mmap(c, mm, kBase, 4 * 4096, PROT_READ | PROT_WRITE, kShared, 0), kBase);
        const PAddr pa = user_store(c, mm, kBase + 4096, 0xabcd);
        ASSERT_EQ(do_mprotect_pkey(c, mm, kBase + 4096, 4096, PROT_READ), 0);
        EXPECT_EQ(mm.vmas.size(), 3u) << "split around the read-only page";
        EXPECT_FALSE(a.pte_write(pte_t{leaf_raw(t, mm, kBase + 4096)}));
        EXPECT_EQ(do_page_fault(c, mm, kBase + 4096, AccessKind::Write) & VM_FAULT_SIGSEGV, VM_FAULT_SIGSEGV);
        EXPECT_EQ(t.read(user_access(c, mm, kBase + 4096, AccessKind::Read), 8), 0xabcdu);

        ASSERT_EQ(do_mprotect_pkey(c, mm, kBase + 4096, 4096, PROT_READ | PROT_WRITE), 0);
        EXPECT_EQ(mm.vmas.size(), 1u) << "same object at contiguous offsets: merged back";
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, mm, kBase + 4096)})) << "a shared writable vm_page_prot";
        const std::uint64_t faults = c.k.stats().faults;
        EXPECT_EQ(user_store(c, mm, kBase + 4096, 0xbeef), pa);
        EXPECT_EQ(c.k.stats().faults, faults) << "the write needs no fault";
        EXPECT_EQ(c.k.stats().pages_copied, 0u);
        EXPECT_EQ(t.read(pa, 8), 0xbeefu);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// A write to a read-only PTE of a writable shared VMA (what writenotify leaves; shmem never asks for it, so
// the test makes vm_page_prot read-only by hand): wp_page_shared() reuses the page in place, dirty.
TEST_P(Shmem, WriteToAReadOnlySharedPteReusesThePageInPlace)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        ASSERT_EQ(do_mmap(c, mm, kBase, 4096, PROT_READ, kShared, 0), kBase);
        const PAddr pa = user_access(c, mm, kBase, AccessKind::Read);
        const Folio f = page_folio(c, pa >> c.k.page_shift());
        EXPECT_FALSE(folio_test_flag(c, f, PG_dirty)) << "a new shmem folio is not dirtied by a read";
        mm.vma_at(kBase)->vm_flags |= VM_WRITE;
        const std::uint64_t reused = c.k.stats().pages_reused;
        EXPECT_EQ(do_page_fault(c, mm, kBase, AccessKind::Write), 0u);
        const pte_t pte{leaf_raw(t, mm, kBase)};
        EXPECT_EQ(a.pte_pfn(pte), f.pfn);
        EXPECT_TRUE(a.pte_write(pte));
        EXPECT_TRUE(a.pte_dirty(pte));
        EXPECT_TRUE(folio_test_flag(c, f, PG_dirty)) << "fault_dirty_shared_page()";
        EXPECT_FALSE(folio_test_flag(c, f, PG_locked));
        EXPECT_EQ(c.k.stats().pages_reused, reused + 1);
        EXPECT_EQ(c.k.stats().pages_copied, 0u);
        EXPECT_EQ(folio_ref_count(c, f), 2);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

TEST_P(Shmem, MremapMovesTheMappingWithItsFileOffsets)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        ASSERT_EQ(do_mmap(c, mm, kBase, 4 * 4096, PROT_READ | PROT_WRITE, kShared, 0), kBase);
        mm_struct& child = copy_mm(c, mm);
        const PAddr p2 = user_store(c, mm, kBase + 2 * 4096, 0x77);
        const Addr to = kBase + 0x100000;
        // move the upper half
        ASSERT_EQ(do_mremap(c, mm, kBase + 2 * 4096, 2 * 4096, 2 * 4096, MREMAP_MAYMOVE | MREMAP_FIXED, to),
                  static_cast<long>(to));
        EXPECT_EQ(mm.vma_at(to)->vm_pgoff, 2u);
        EXPECT_EQ(user_access(c, mm, to, AccessKind::Read), p2) << "the PTE moved with the page";
        // A page not faulted before the move is found at its file offset: shared with the child
        const PAddr p3 = user_store(c, mm, to + 4096, 0x88);
        EXPECT_EQ(user_access(c, child, kBase + 3 * 4096, AccessKind::Read), p3);
        EXPECT_EQ(t.read(p3, 8), 0x88u);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        exit_mmap(c, child);
        c.k.mm_free(c, child);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

INSTANTIATE_TEST_SUITE_P(Platforms, Shmem, ::testing::Values("neoverse-n1", "skylake-sp"), platform_name);

TEST(ShmemContpte, A64KSharedFaultIsOneSetPtesOf16)
{
    TestKernel t = make_kernel("neoverse-n1", {"cores=2"}, {"kernel.pte_batch=true"});
    mm_struct* mm = nullptr;
    t.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        do_mmap(c, *mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kShared, 4);
        user_access(c, *mm, kBase + 7 * 4096, AccessKind::Write);
    });
    EXPECT_EQ(t.k->stats().batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}}));
    unsigned cont = 0;
    for (unsigned i = 0; i < 16; ++i)
        cont += t.k->arch().pte_cont(pte_t{leaf_raw(t, *mm, kBase + i * 4096)});
    EXPECT_EQ(cont, 16u);
}
