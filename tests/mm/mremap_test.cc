// SPDX-License-Identifier: GPL-2.0-only
// mremap() (mm/mremap.cc) on both architectures: a move takes the PTEs to the new address with the folios
// exactly as they were (refcount, mapcount, anon-exclusive, contents), leaves no translation of the old range
// in any TLB (checked mode's oracle), gives every byte back in the end, and batches per large folio where the
// architecture's pte_batch_hint() allows (arm64 contpte) to the same end state as one PTE at a time; shrink
// and in-place growth, the move of a growth that does not fit, a move of several VMAs keeping their gaps,
// pins surviving a move, and the argument checks.
#include "kernel_test_util.hh"

#include "mm/gup.hh"
#include "mm/mmap.hh"
#include "mm/mremap.hh"
#include "mm/rmap.hh"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;               // 1 GiB: PMD-aligned
constexpr Addr kDest = kBase + 64 * MiB + 1 * MiB; // half a PMD off: PTEs move, as upstream would
constexpr unsigned kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

class Mremap : public PlatformTest {};

pfn_t pfn_at(const TestKernel& t, const mm_struct& mm, Addr va) { return t.k->arch().pte_pfn(pte_t{leaf_raw(t, mm, va)}); }

struct FolioState {
    int refs, mapcount;
    bool exclusive;
    bool operator==(const FolioState& o) const
    {
        return refs == o.refs && mapcount == o.mapcount && exclusive == o.exclusive;
    }
};
FolioState state_of(Ctx& c, pfn_t page)
{
    const Folio f = page_folio(c, page);
    return {folio_ref_count(c, f), folio_mapcount(c, f), PageAnonExclusive(c, page)};
}

TEST_P(Mremap, MoveTakesThePtesAndLeavesNoStaleTranslation)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    ASSERT_TRUE(t.p->checked());
    const bool arm64 = std::string(GetParam()) == "neoverse-n1";
    std::uint64_t baseline = 0, after = 0;
    t.run([&](Ctx& c) {
        { // warm-up: per-CPU state an architecture allocates on its first flush stays
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
            user_access(c, mm, kBase, AccessKind::Write);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        }
        baseline = c.k.page_alloc().free_bytes();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 2 * MiB, PROT_READ | PROT_WRITE, kFlags, 4);
        for (Addr va = kBase; va < kBase + 2 * MiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write); // every page in the TLB
        c.cpu.store((pfn_at(t, mm, kBase + 3 * 4096) << c.k.page_shift()) + 8, 0xabcd, 8);
        std::vector<std::uint64_t> raw;
        std::vector<FolioState> folios;
        for (Addr va = kBase; va < kBase + 2 * MiB; va += 4096) {
            raw.push_back(leaf_raw(t, mm, va));
            folios.push_back(state_of(c, pfn_at(t, mm, va)));
        }
        const long rss = get_mm_counter(c, mm, MM_ANONPAGES);
        const std::uint64_t faults = c.k.stats().faults;
        const MmStats before = c.k.stats();

        EXPECT_EQ(do_mremap(c, mm, kBase, 2 * MiB, 2 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                  static_cast<long>(kDest));
        ASSERT_EQ(mm.vmas.size(), 1u);
        EXPECT_EQ(mm.vmas.begin()->second.vm_start, kDest);
        EXPECT_EQ(mm.vmas.begin()->second.vm_end, kDest + 2 * MiB);
        EXPECT_TRUE(c.k.platform().oracle().check_range(kBase, kBase + 2 * MiB - 1, mm.asid, mm.pgd).empty())
            << "no TLB still translates the old range";
        for (unsigned i = 0; i < 512; ++i) {
            EXPECT_EQ(leaf_raw(t, mm, kBase + i * 4096), 0u) << i;
            EXPECT_EQ(leaf_raw(t, mm, kDest + i * 4096), raw[i]) << "the same PTE, moved: " << i;
            EXPECT_EQ(state_of(c, pfn_at(t, mm, kDest + i * 4096)), folios[i]) << "the folio untouched: " << i;
        }
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), rss);
        const MmStats d = c.k.stats().since(before);
        EXPECT_EQ(d.folios_allocated, 0u);
        EXPECT_EQ(d.folios_freed, 0u);
        if (arm64) {
            EXPECT_EQ(d.batches.at("get_and_clear_full_ptes").at(16), 32u) << "one batch per 64K folio";
            EXPECT_EQ(d.batches.at("set_ptes").at(16), 32u);
        } else {
            EXPECT_EQ(d.batches.at("get_and_clear_full_ptes").at(1), 512u) << "x86: pte_batch_hint() is 1";
            EXPECT_EQ(d.batches.count("folio_pte_batch"), 0u) << "not even looked at";
        }
        const char* range_flush = arm64 ? "flush_tlb_range" : "flush_tlb_mm_range";
        ASSERT_TRUE(d.flushes.count(range_flush));
        EXPECT_GE(d.flushes.at(range_flush).calls, 2u) << "one per PTE-table extent (two: half a PMD off)";

        // At the new address: no fault, the same memory.
        EXPECT_EQ(t.read(user_access(c, mm, kDest + 3 * 4096 + 8, AccessKind::Read), 8), 0xabcdu);
        for (Addr va = kDest; va < kDest + 2 * MiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        EXPECT_EQ(c.k.stats().faults, faults) << "every page is mapped at its new address";
        EXPECT_THROW(user_access(c, mm, kBase, AccessKind::Read), std::runtime_error) << "the old range is gone";

        EXPECT_EQ(__vm_munmap(c, mm, kDest, 2 * MiB), 0);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(after, baseline);
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().pgtables_allocated, t.k->stats().pgtables_freed);
}

TEST_P(Mremap, BatchedAndUnbatchedEndInTheSameState)
{
    struct End {
        std::vector<std::uint64_t> raw;
        std::vector<FolioState> folios;
        std::uint64_t pgtables = 0, free = 0;
        std::map<unsigned, std::uint64_t> clears;
    };
    const auto run = [&](bool batch) {
        End e;
        TestKernel t = make({"cores=2", "simulation.check=true"},
                            {std::string("kernel.pte_batch=") + (batch ? "true" : "false")});
        t.run([&](Ctx& c) {
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 1 * MiB, PROT_READ | PROT_WRITE, kFlags, 4);
            do_mmap(c, mm, kBase + 2 * MiB, 2 * MiB, PROT_READ | PROT_WRITE, kFlags, 9);
            for (Addr va = kBase; va < kBase + 1 * MiB; va += 4096)
                user_access(c, mm, va, AccessKind::Write);
            for (Addr va = kBase + 2 * MiB; va < kBase + 4 * MiB; va += 4096)
                user_access(c, mm, va, (va / 4096) % 3 ? AccessKind::Read : AccessKind::Write);
            EXPECT_EQ(do_mremap(c, mm, kBase, 1 * MiB, 1 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                      static_cast<long>(kDest));
            // The 2M folio, shrinking to half on the way (mremap_to() shrinks, then moves).
            EXPECT_EQ(do_mremap(c, mm, kBase + 2 * MiB, 2 * MiB, 1 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED,
                                kDest + 4 * MiB),
                      static_cast<long>(kDest + 4 * MiB));
            EXPECT_TRUE(c.k.platform().oracle().check_range(kBase, kBase + 4 * MiB - 1, mm.asid, mm.pgd).empty());
            for (Addr va = kDest; va < kDest + 1 * MiB; va += 4096) {
                e.raw.push_back(leaf_raw(t, mm, va));
                e.folios.push_back(state_of(c, pfn_at(t, mm, va)));
            }
            for (Addr va = kDest + 4 * MiB; va < kDest + 5 * MiB; va += 4096) {
                e.raw.push_back(leaf_raw(t, mm, va));
                e.folios.push_back(state_of(c, pfn_at(t, mm, va)));
            }
            e.pgtables = mm.pgtables_bytes;
            e.free = c.k.page_alloc().free_bytes();
            e.clears = c.k.stats().batches["get_and_clear_full_ptes"];
        });
        return e;
    };
    const End b = run(true), u = run(false);
    ASSERT_EQ(u.raw.size(), 512u);
    ASSERT_EQ(b.raw.size(), 512u);
    for (std::size_t i = 0; i < b.raw.size(); ++i) // the allocations are the same in both runs
        EXPECT_EQ(u.raw[i], b.raw[i]) << i;
    EXPECT_TRUE(u.folios == b.folios);
    EXPECT_EQ(u.pgtables, b.pgtables);
    EXPECT_EQ(u.free, b.free);
    EXPECT_EQ(u.clears.size(), 1u);
    EXPECT_EQ(u.clears.begin()->first, 1u) << "unbatched: one PTE at a time";
    if (std::string(GetParam()) == "neoverse-n1") {
        EXPECT_GT(b.clears.rbegin()->first, 1u) << "batched on arm64";
    }
}

TEST_P(Mremap, ShrinkAndGrowInPlaceAndMoveWhenBlocked)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 1 * MiB, PROT_READ | PROT_WRITE, kFlags, 0);
        for (Addr va = kBase; va < kBase + 1 * MiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        const std::uint64_t freed = c.k.stats().folios_freed;
        EXPECT_EQ(do_mremap(c, mm, kBase, 1 * MiB, 512 * KiB, 0), static_cast<long>(kBase));
        EXPECT_EQ(mm.vmas.at(kBase).vm_end, kBase + 512 * KiB);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 128);
        EXPECT_EQ(c.k.stats().folios_freed, freed + 128) << "the tail unmapped";
        EXPECT_EQ(leaf_raw(t, mm, kBase + 512 * KiB), 0u);

        EXPECT_EQ(do_mremap(c, mm, kBase, 512 * KiB, 768 * KiB, 0), static_cast<long>(kBase)) << "free after it";
        EXPECT_EQ(mm.vmas.at(kBase).vm_end, kBase + 768 * KiB);
        EXPECT_EQ(mm.vmas.size(), 1u);
        user_access(c, mm, kBase + 600 * KiB, AccessKind::Write);

        const pfn_t first = pfn_at(t, mm, kBase);
        do_mmap(c, mm, kBase + 1 * MiB, 64 * KiB, PROT_READ, kFlags, 0);
        EXPECT_EQ(do_mremap(c, mm, kBase, 768 * KiB, 2 * MiB, 0), -ENOMEM) << "blocked and not allowed to move";
        const long moved = do_mremap(c, mm, kBase, 768 * KiB, 2 * MiB, MREMAP_MAYMOVE);
        ASSERT_GT(moved, 0);
        const Addr to = static_cast<Addr>(moved);
        EXPECT_NE(to, kBase);
        EXPECT_EQ(to % (2 * MiB), 0u) << "get_unmapped_area(): a PMD-aligned range for 2M";
        EXPECT_EQ(mm.vmas.at(to).vm_end, to + 2 * MiB);
        EXPECT_EQ(pfn_at(t, mm, to), first);
        EXPECT_EQ(leaf_raw(t, mm, kBase), 0u);
        EXPECT_EQ(mm.vma_at(kBase), nullptr);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 129);

        // The argument checks.
        EXPECT_EQ(do_mremap(c, mm, to + 1, 4096, 4096, 0), -EINVAL) << "unaligned";
        EXPECT_EQ(do_mremap(c, mm, to, 4096, 4096, MREMAP_FIXED, kDest), -EINVAL) << "FIXED needs MAYMOVE";
        EXPECT_EQ(do_mremap(c, mm, to, 1 * MiB, 1 * MiB, MREMAP_MAYMOVE | MREMAP_FIXED, to + 512 * KiB), -EINVAL)
            << "overlap";
        EXPECT_EQ(do_mremap(c, mm, to, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, kDest), -EINVAL)
            << "MREMAP_DONTUNMAP is not ported";
        EXPECT_EQ(do_mremap(c, mm, kBase + 8 * MiB, 4096, 8192, MREMAP_MAYMOVE), -EFAULT) << "nothing mapped";
        EXPECT_EQ(do_mremap(c, mm, to + 2 * MiB - 4096, 8192, 16384, MREMAP_MAYMOVE), -EFAULT)
            << "the old range crosses the VMA's end";
        EXPECT_EQ(do_mremap(c, mm, to, 4096, 0, 0), -EINVAL) << "zero new length";
    });
}

TEST_P(Mremap, MoveOfSeveralVmasKeepsTheirGaps)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 256 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        do_mmap(c, mm, kBase + 512 * KiB, 256 * KiB, PROT_READ, kFlags, 0);
        user_access(c, mm, kBase + 4096, AccessKind::Write);
        user_access(c, mm, kBase + 512 * KiB, AccessKind::Read);
        const pfn_t a = pfn_at(t, mm, kBase + 4096);
        EXPECT_EQ(do_mremap(c, mm, kBase, 768 * KiB, 768 * KiB, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                  static_cast<long>(kDest));
        ASSERT_EQ(mm.vmas.size(), 2u);
        EXPECT_EQ(mm.vmas.at(kDest).vm_end, kDest + 256 * KiB);
        EXPECT_EQ(mm.vmas.at(kDest + 512 * KiB).vm_end, kDest + 768 * KiB);
        EXPECT_FALSE(mm.vmas.at(kDest + 512 * KiB).vm_flags & VM_WRITE);
        EXPECT_EQ(pfn_at(t, mm, kDest + 4096), a);
        EXPECT_EQ(pfn_at(t, mm, kDest + 512 * KiB), c.k.zero_pfn()) << "the zero page moves like any PTE";
        EXPECT_EQ(mm.vma_at(kBase), nullptr);
    });
}

TEST_P(Mremap, PinsSurviveAMove)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 128 * KiB, PROT_READ | PROT_WRITE, kFlags, 4);
        for (Addr va = kBase; va < kBase + 128 * KiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        std::vector<pfn_t> pages;
        ASSERT_EQ(pin_user_pages_fast(c, mm, kBase + 8 * 4096, 16, FOLL_WRITE, pages), 16);
        EXPECT_EQ(do_mremap(c, mm, kBase, 128 * KiB, 128 * KiB, MREMAP_MAYMOVE | MREMAP_FIXED, kDest),
                  static_cast<long>(kDest));
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_EQ(pfn_at(t, mm, kDest + (8 + i) * 4096), pages[i]) << i;
        const Folio f = page_folio(c, pages[0]);
        EXPECT_TRUE(folio_maybe_dma_pinned(c, f));
        EXPECT_EQ(folio_ref_count(c, f), 16 + 8);
        EXPECT_EQ(__vm_munmap(c, mm, kDest, 128 * KiB), 0);
        EXPECT_EQ(folio_ref_count(c, f), 8) << "unmapped, still pinned";
        const std::uint64_t freed = c.k.stats().folios_freed;
        unpin_user_pages(c, pages);
        EXPECT_EQ(c.k.stats().folios_freed, freed + 2);
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, Mremap, ::testing::Values("neoverse-n1", "skylake-sp"), platform_name);

} // namespace
