// SPDX-License-Identifier: GPL-2.0-only
// The generic mm core on both architectures: a fault maps a whole mTHP folio with the folio state upstream
// leaves (refcount and large mapcount per PTE, every page anon-exclusive, rss), the zero page for reads, fork
// shares folios write-protected and COW copies or reuses, munmap gives every byte back with no TLB reaching a
// freed frame (checked mode), mprotect leaves no writable translation, MADV_DONTNEED zaps, VMAs merge/split.
#include "kernel_test_util.hh"

#include "mm/fork.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"
#include "mm/rmap.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order

class MmCore : public PlatformTest {};

TEST_P(MmCore, FaultMapsAWholeFolio)
{
    TestKernel t = make();
    mm_struct* mm = nullptr;
    PAddr pa = 0;
    t.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        EXPECT_EQ(vm_mmap_pgoff(c, *mm, kBase, 1 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4),
                  kBase);
        pa = user_access(c, *mm, kBase + 5 * 4096 + 8, AccessKind::Write);
        const Folio f = page_folio(c, pa >> c.k.page_shift());
        EXPECT_EQ(folio_order(c, f), 4u);
        EXPECT_EQ(folio_ref_count(c, f), 16) << "one reference per PTE (folio_ref_add(nr_pages - 1))";
        EXPECT_EQ(folio_mapcount(c, f), 16);
        EXPECT_TRUE(folio_test_anon(c, f));
        EXPECT_FALSE(folio_maybe_mapped_shared(c, f));
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_TRUE(PageAnonExclusive(c, folio_page(f, i))) << i;
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), 16);
        // Every page of the folio is mapped now: no more faults.
        const std::uint64_t faults = c.k.stats().faults;
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_EQ(user_access(c, *mm, kBase + i * 4096, AccessKind::Write), (folio_pfn(f) + i) * 4096) << i;
        EXPECT_EQ(c.k.stats().faults, faults);
        // The next folio of the VMA is another fault.
        user_access(c, *mm, kBase + 64 * KiB, AccessKind::Read);
        EXPECT_EQ(c.k.stats().faults, faults + 1);
    });
    const mm::Arch& a = t.k->arch();
    for (unsigned i = 0; i < 16; ++i) {
        const pte_t pte{leaf_raw(t, *mm, kBase + i * 4096)};
        EXPECT_TRUE(a.pte_present(pte)) << i;
        EXPECT_TRUE(a.pte_write(pte)) << i;
        EXPECT_EQ(a.pte_pfn(pte), (pa >> 12) - 5 + i) << i;
    }
    EXPECT_EQ(t.k->stats().batches.at("set_ptes").at(16), 1u) << "one set_ptes() of 16";
    EXPECT_EQ(rss(t, *mm, MM_ANONPAGES), 16) << "the read fault maps the zero page, no anon page";
    EXPECT_EQ(a.pte_pfn(pte_t{leaf_raw(t, *mm, kBase + 64 * KiB)}), t.k->zero_pfn());
}

TEST_P(MmCore, ZeroPageThenCopyOnWrite)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        EXPECT_EQ(user_access(c, mm, kBase, AccessKind::Read) >> 12, c.k.zero_pfn());
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        const PAddr pa = user_access(c, mm, kBase, AccessKind::Write);
        EXPECT_NE(pa >> 12, c.k.zero_pfn());
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 1);
        const Folio f = page_folio(c, pa >> 12);
        EXPECT_EQ(folio_ref_count(c, f), 1);
        EXPECT_EQ(folio_mapcount(c, f), 1);
        EXPECT_TRUE(PageAnonExclusive(c, f.pfn));
        EXPECT_EQ(c.k.stats().pages_copied, 1u) << "wp_page_copy() from the zero page";
    });
    EXPECT_EQ(t.read(t.k->zero_pfn() << 12, 8), 0u);
}

TEST_P(MmCore, ForkSharesWriteProtectedThenCopiesOrReuses)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        const PAddr pa = user_access(c, parent, kBase, AccessKind::Write);
        const Folio f = page_folio(c, pa >> 12);

        mm_struct& child = copy_mm(c, parent);
        EXPECT_EQ(folio_ref_count(c, f), 32) << "folio_ref_add(nr) for the child's 16 PTEs";
        EXPECT_EQ(folio_mapcount(c, f), 32);
        EXPECT_TRUE(folio_maybe_mapped_shared(c, f));
        for (unsigned i = 0; i < 16; ++i) {
            EXPECT_FALSE(PageAnonExclusive(c, folio_page(f, i))) << i;
            const pte_t pp{leaf_raw(t, parent, kBase + i * 4096)}, cp{leaf_raw(t, child, kBase + i * 4096)};
            EXPECT_EQ(a.pte_pfn(pp), f.pfn + i);
            EXPECT_EQ(a.pte_pfn(cp), f.pfn + i);
            EXPECT_FALSE(a.pte_write(pp)) << "parent write-protected";
            EXPECT_FALSE(a.pte_write(cp)) << "child write-protected";
        }
        EXPECT_EQ(get_mm_counter(c, child, MM_ANONPAGES), 16);
        EXPECT_EQ(c.k.stats().batches.at("folio_pte_batch").at(16), 1u);
        EXPECT_EQ(c.k.stats().batches.at("wrprotect_ptes").at(16), 1u);

        // A write in the child copies that page.
        const PAddr cpa = user_access(c, child, kBase + 3 * 4096, AccessKind::Write);
        EXPECT_NE(cpa >> 12, f.pfn + 3);
        EXPECT_EQ(c.k.stats().pages_copied, 1u);
        EXPECT_EQ(folio_ref_count(c, f), 31);
        EXPECT_EQ(folio_mapcount(c, f), 31);
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, child, kBase + 3 * 4096)}));
        EXPECT_EQ(get_mm_counter(c, child, MM_ANONPAGES), 16);

        // The parent still shares the folio with the child: its write copies too.
        user_access(c, parent, kBase + 5 * 4096, AccessKind::Write);
        EXPECT_EQ(c.k.stats().pages_copied, 2u);

        // The child goes: the parent is the folio's only mapper (the MM_ID slot holds every mapping) and
        // reuses it in place.
        exit_mmap(c, child);
        c.k.mm_free(c, child);
        EXPECT_EQ(folio_mapcount(c, f), 15);
        EXPECT_EQ(folio_ref_count(c, f), 15);
        EXPECT_FALSE(folio_maybe_mapped_shared(c, f));
        const std::uint64_t reused = c.k.stats().pages_reused;
        EXPECT_EQ(user_access(c, parent, kBase + 7 * 4096, AccessKind::Write) >> 12, f.pfn + 7);
        EXPECT_EQ(c.k.stats().pages_reused, reused + 1);
        EXPECT_TRUE(PageAnonExclusive(c, f.pfn + 7));
        EXPECT_EQ(c.k.stats().pages_copied, 2u);
    });
}

TEST_P(MmCore, MunmapGivesEverythingBackWithNoStaleTranslation)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    ASSERT_TRUE(t.p->checked());
    std::uint64_t before = 0, after = 0;
    t.run([&](Ctx& c) {
        {
            // Warm-up: per-CPU kernel state an architecture allocates on its first flush (x86 cpu_tlbstate)
            // stays for good.
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
            user_access(c, mm, kBase, AccessKind::Write);
            __vm_munmap(c, mm, kBase, 64 * KiB);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        }
        before = c.k.page_alloc().free_bytes();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 512 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        do_mmap(c, mm, kBase + 4 * MiB, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        for (Addr va = kBase; va < kBase + 512 * KiB; va += 4096) // every page in the TLBs
            user_access(c, mm, va, AccessKind::Write);
        for (Addr va = kBase + 4 * MiB; va < kBase + 4 * MiB + 64 * KiB; va += 4096)
            user_access(c, mm, va, (va / 4096) % 2 ? AccessKind::Write : AccessKind::Read);
        mm_struct& child = copy_mm(c, mm);
        for (Addr va = kBase; va < kBase + 128 * KiB; va += 4096)
            user_access(c, child, va, AccessKind::Write);
        // Part of the first VMA, then the rest, then the child and the parent go.
        EXPECT_EQ(__vm_munmap(c, mm, kBase + 64 * KiB, 128 * KiB), 0);
        EXPECT_EQ(mm.vmas.size(), 3u) << "split in two around the hole";
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 512 / 4 - 32 + 8);
        EXPECT_EQ(__vm_munmap(c, mm, kBase, 4 * MiB), 0);
        exit_mmap(c, child);
        c.k.mm_free(c, child);
        EXPECT_EQ(__vm_munmap(c, mm, kBase + 4 * MiB, 64 * KiB), 0);
        EXPECT_TRUE(mm.vmas.empty());
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(after, before);
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().pgtables_allocated, t.k->stats().pgtables_freed) << "pgds included";
    EXPECT_EQ(t.p->oracle().queries(), t.k->stats().folios_freed + t.k->stats().pgtables_freed)
        << "every freed frame was checked";
    EXPECT_GT(t.k->stats().folios_freed, 40u);
}

TEST_P(MmCore, CheckedModeCatchesAFrameFreedBeforeTheFlush)
{
    // The same check must fail when the kernel frees a frame a TLB still maps: clear the PTE and drop the
    // folio without any TLB maintenance.
    TestKernel t = make({"cores=2", "simulation.check=true"});
    EXPECT_THROW(t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        const PAddr pa = user_access(c, mm, kBase, AccessKind::Write);
        vm_area_struct& vma = *mm.vma_at(kBase);
        const PtePtr ptep = pte_offset_map(c, pmd_offset_lookup(c, mm, kBase), kBase);
        c.k.arch().ptep_get_and_clear(c, mm, kBase, ptep);
        const Folio f = page_folio(c, pa >> c.k.page_shift());
        folio_remove_rmap_pte(c, f, f.pfn, vma);
        folio_put(c, f); // no flush_tlb_page() first
    }),
                 hw::TlbCheckError);
}

TEST_P(MmCore, MprotectReadOnlyLeavesNoWritableTranslation)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 256 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        for (Addr va = kBase; va < kBase + 256 * KiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase + 64 * KiB, 128 * KiB, PROT_READ), 0);
        EXPECT_EQ(mm.vmas.size(), 3u);
        EXPECT_TRUE(c.k.platform().oracle().check_range(kBase, kBase + 256 * KiB - 1, mm.asid, mm.pgd).empty());
        for (Addr va = kBase; va < kBase + 256 * KiB; va += 4096) {
            const bool ro = va >= kBase + 64 * KiB && va < kBase + 192 * KiB;
            EXPECT_EQ(a.pte_write(pte_t{leaf_raw(t, mm, va)}), !ro) << std::hex << va;
            if (ro) {
                EXPECT_NE(c.cpu.translate(va, AccessKind::Write).fault, hw::Fault::None) << std::hex << va;
            }
        }
        EXPECT_EQ(c.k.stats().batches.at("modify_prot_start_ptes").at(16), 2u) << "two whole folios, one batch each";
        // Back to read-write: exclusive anonymous pages become writable at once (MM_CP_TRY_CHANGE_WRITABLE),
        // and the VMA merges back with its neighbours.
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase + 64 * KiB, 128 * KiB, PROT_READ | PROT_WRITE), 0);
        EXPECT_EQ(mm.vmas.size(), 1u);
        for (Addr va = kBase; va < kBase + 256 * KiB; va += 4096)
            EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, mm, va)})) << std::hex << va;

        // After fork nothing is exclusive any more; a folio half written by the parent after the fork has
        // exclusive pages (the copies) beside shared ones: mprotect upgrades only the exclusive run.
        mm_struct& child = copy_mm(c, mm);
        (void)child;
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase, 64 * KiB, PROT_READ), 0);
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE), 0);
        for (Addr va = kBase; va < kBase + 64 * KiB; va += 4096)
            EXPECT_FALSE(a.pte_write(pte_t{leaf_raw(t, mm, va)})) << "shared with the child: COW first";
        user_access(c, mm, kBase + 64 * KiB, AccessKind::Write); // a private copy of one page
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase + 64 * KiB, 64 * KiB, PROT_READ), 0);
        EXPECT_EQ(do_mprotect_pkey(c, mm, kBase + 64 * KiB, 64 * KiB, PROT_READ | PROT_WRITE), 0);
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, mm, kBase + 64 * KiB)})) << "the exclusive copy";
        EXPECT_FALSE(a.pte_write(pte_t{leaf_raw(t, mm, kBase + 68 * KiB)})) << "still shared";
        EXPECT_TRUE(c.k.platform().oracle().check_range(kBase, kBase + 256 * KiB - 1, mm.asid, mm.pgd).empty());
    });
}

TEST_P(MmCore, DontneedZapsAndTheNextTouchIsZero)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 128 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        for (Addr va = kBase; va < kBase + 128 * KiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        const Folio first = page_folio(c, a.pte_pfn(pte_t{leaf_raw(t, mm, kBase)}));
        const std::uint64_t freed = c.k.stats().folios_freed;
        // Half of the first folio and all of the second.
        EXPECT_EQ(do_madvise(c, mm, kBase + 32 * KiB, 96 * KiB, MADV_DONTNEED), 0);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 8);
        EXPECT_EQ(c.k.stats().folios_freed, freed + 1) << "the second folio, wholly unmapped";
        EXPECT_EQ(folio_mapcount(c, first), 8);
        EXPECT_EQ(folio_ref_count(c, first), 8);
        EXPECT_EQ(leaf_raw(t, mm, kBase + 32 * KiB), 0u);
        EXPECT_EQ(mm.vmas.size(), 1u) << "the VMA stays";
        EXPECT_EQ(user_access(c, mm, kBase + 100 * KiB, AccessKind::Read) >> 12, c.k.zero_pfn());
        EXPECT_EQ(do_madvise(c, mm, kBase + 1 * MiB, 4096, MADV_DONTNEED), -ENOMEM) << "nothing mapped there";
    });
}

TEST_P(MmCore, MmapMergesNeighboursThatMatch)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        const unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, flags, 0);
        do_mmap(c, mm, kBase + 128 * KiB, 64 * KiB, PROT_READ | PROT_WRITE, flags, 0);
        EXPECT_EQ(mm.vmas.size(), 2u);
        do_mmap(c, mm, kBase + 64 * KiB, 64 * KiB, PROT_READ | PROT_WRITE, flags, 0);
        ASSERT_EQ(mm.vmas.size(), 1u) << "the gap filled: prev, new and next are one VMA";
        EXPECT_EQ(mm.vmas.begin()->second.vm_end, kBase + 192 * KiB);
        do_mmap(c, mm, kBase + 192 * KiB, 64 * KiB, PROT_READ, flags, 0);
        EXPECT_EQ(mm.vmas.size(), 2u) << "other flags: no merge";
        do_mmap(c, mm, kBase + 256 * KiB, 64 * KiB, PROT_READ, flags, 4);
        EXPECT_EQ(mm.vmas.size(), 3u) << "other mTHP order: no merge";
        const Addr any = do_mmap(c, mm, 0, 3 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 0);
        EXPECT_EQ(any % (2 * MiB), 0u) << "a PMD or more gets a PMD-aligned range";
        EXPECT_GE(any, MMAP_SEARCH_BASE);
        do_mmap(c, mm, kBase + 320 * KiB, 64 * KiB, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 4);
        EXPECT_EQ(mm.vmas.size(), 5u) << "a shared mapping is a new shmem object: no merge";
        EXPECT_THROW(do_mmap(c, mm, kBase, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0),
                     std::invalid_argument);
    });
}

TEST_P(MmCore, OneCoreFaultsWhileTheOtherUnmapsAndRemaps)
{
    // Core 1 keeps touching an mm core 0 keeps changing (mmap_lock, the PTE locks and the TLB shootdowns
    // between them); checked mode stops the run if a freed frame is still reachable.
    TestKernel t = make({"cores=2", "simulation.check=true"});
    mm_struct* mm = nullptr;
    bool stop = false, finished = false, warm1 = false;
    std::uint64_t baseline = 0, after = 0, touched = 0, segv = 0;
    const auto wait = [](hw::Core& cpu) { cpu.idle(sc_core::sc_time(200, sc_core::SC_NS)); };
    const unsigned flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    // Per-CPU state an architecture allocates on first use and keeps (x86 cpu_tlbstate), before the baseline.
    const auto warm_up = [&](Ctx& c) {
        mm_struct& warm = c.k.mm_alloc(c);
        vm_mmap_pgoff(c, warm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, flags, 0);
        user_access(c, warm, kBase, AccessKind::Write);
        exit_mmap(c, warm);
        c.k.mm_free(c, warm);
    };
    t.p->core(0).set_work([&](hw::Core& cpu) {
        Ctx c{*t.k, cpu};
        warm_up(c);
        while (!warm1)
            wait(cpu);
        baseline = c.k.page_alloc().free_bytes();
        mm_struct& m = c.k.mm_alloc(c);
        vm_mmap_pgoff(c, m, kBase, 512 * KiB, PROT_READ | PROT_WRITE, flags, 4);
        mm = &m;
        for (int round = 0; round < 12; ++round) {
            EXPECT_EQ(do_mprotect_pkey(c, m, kBase + 384 * KiB, 64 * KiB, round % 2 ? PROT_READ : PROT_READ | PROT_WRITE), 0);
            for (Addr va = kBase; va < kBase + 512 * KiB; va += 16 * KiB) {
                const bool ro = va >= kBase + 384 * KiB && va < kBase + 448 * KiB && round % 2 == 1;
                user_access(c, m, va, ro ? AccessKind::Read : AccessKind::Write);
            }
            const Addr hole = kBase + static_cast<Addr>(round % 7) * 64 * KiB;
            EXPECT_EQ(__vm_munmap(c, m, hole, 96 * KiB), 0);
            EXPECT_EQ(vm_mmap_pgoff(c, m, hole, 96 * KiB, PROT_READ | PROT_WRITE, flags, 4), hole);
            EXPECT_EQ(do_madvise(c, m, kBase + 256 * KiB, 32 * KiB, MADV_DONTNEED), 0);
        }
        stop = true;
        while (!finished)
            wait(cpu);
        exit_mmap(c, m);
        c.k.mm_free(c, m);
        after = c.k.page_alloc().free_bytes();
    });
    t.p->core(1).set_work([&](hw::Core& cpu) {
        Ctx c{*t.k, cpu};
        warm_up(c);
        warm1 = true;
        while (!mm)
            wait(cpu);
        std::uint64_t i = 0;
        while (!stop) {
            const Addr va = kBase + (i++ * 4 * KiB * 7) % (512 * KiB);
            use_mm(c, *mm);
            const AccessKind kind = i % 3 ? AccessKind::Write : AccessKind::Read;
            if (cpu.translate(va, kind).fault == hw::Fault::None) {
                ++touched;
                continue;
            }
            if (do_page_fault(c, *mm, va, kind) & VM_FAULT_SIGSEGV)
                ++segv; // read-only (mprotect) at this moment
            else
                ++touched;
        }
        finished = true;
    });
    t.p->run();
    EXPECT_GT(touched, 100u);
    EXPECT_GT(segv, 0u) << "core 1 met the read-only range";
    EXPECT_GT(t.p->core(1).counters().tlbi_received + t.p->core(1).counters().ipis_received, 0u)
        << "core 0's changes reached core 1's TLBs";
    EXPECT_EQ(after, baseline) << "everything back";
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

INSTANTIATE_TEST_SUITE_P(Platforms, MmCore, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);

} // namespace

// Upstream's batched mprotect (mm/mprotect.c change_pte_range()) gathers young and dirty over each batch
// (include/linux/pgtable.h modify_prot_start_ptes()) and modify_prot_commit_ptes() writes them into every
// entry of the batch: the batch size decides which PTEs of a folio end young. Why the differential fuzzer
// compares different batch caps only on workloads without mprotect() (docs/CHECKING.md, "Findings").
TEST(MprotectBatch, YoungIsGatheredOverEachBatchAndWrittenIntoEveryEntry)
{
    for (const unsigned cap : {0u, 3u}) {
        std::vector<std::string> sets;
        if (cap)
            sets.push_back("kernel.max_pte_batch=" + std::to_string(cap));
        TestKernel t = make_kernel("skylake-sp", {"cores=2", "simulation.check=true"}, sets);
        t.run([&](Ctx& c) {
            const mm::Arch& a = c.k.arch();
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
            user_access(c, mm, kBase, AccessKind::Write); // one 64K folio, every PTE young
            ASSERT_EQ(do_madvise(c, mm, kBase, 64 * KiB, MADV_COLD), 0); // every PTE old, the TLB flushed
            for (unsigned i = 0; i < 16; ++i)
                ASSERT_FALSE(a.pte_young(pte_t{leaf_raw(t, mm, kBase + i * 4096)})) << i;
            user_access(c, mm, kBase + 5 * 4096, AccessKind::Read); // the walker sets A in entry 5 only
            ASSERT_EQ(do_mprotect_pkey(c, mm, kBase, 64 * KiB, PROT_READ), 0);
            unsigned young = 0, first = 16;
            for (unsigned i = 0; i < 16; ++i)
                if (a.pte_young(pte_t{leaf_raw(t, mm, kBase + i * 4096)})) {
                    ++young;
                    first = std::min(first, i);
                }
            if (cap) { // batches [0, 3), [3, 6), ...: entry 5's batch
                EXPECT_EQ(young, 3u);
                EXPECT_EQ(first, 3u);
            } else {
                EXPECT_EQ(young, 16u) << "one batch over the whole folio";
            }
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
    }
}
