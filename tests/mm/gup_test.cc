// SPDX-License-Identifier: GPL-2.0-only
// Pinning user pages (mm/gup.cc) on both architectures: the counts upstream keeps (a large folio's refcount
// and _pincount, a small one's GUP_PIN_COUNTING_BIAS), GUP-fast against the slow path that faults pages in
// (batched per large folio, or one PTE at a time with kernel.pte_batch=false, to the same end state), a
// read-only pin unsharing a page shared with a child, fork copying pinned pages at once, munmap leaving a
// pinned folio allocated until the unpin frees it, and write_protect_seq keeping GUP-fast off while fork
// write-protects.
#include "kernel_test_util.hh"

#include "mm/fork.hh"
#include "mm/gup.hh"
#include "mm/mmap.hh"
#include "mm/rmap.hh"

#include <gtest/gtest.h>

#include <map>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr unsigned kFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

class Gup : public PlatformTest {};

int pincount(Ctx& c, Folio f) { return folio_atomic_read(c, f, FOLIO_OFF_PINCOUNT); }
pfn_t pfn_at(const TestKernel& t, const mm_struct& mm, Addr va) { return t.k->arch().pte_pfn(pte_t{leaf_raw(t, mm, va)}); }

TEST_P(Gup, PinCountsOfLargeAndSmallFolios)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 4);
        do_mmap(c, mm, kBase + 1 * MiB, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        const Folio large = page_folio(c, user_access(c, mm, kBase, AccessKind::Write) >> c.k.page_shift());
        const Folio small = page_folio(c, user_access(c, mm, kBase + 1 * MiB, AccessKind::Write) >> c.k.page_shift());
        ASSERT_EQ(folio_ref_count(c, large), 16);
        ASSERT_EQ(folio_ref_count(c, small), 1);
        EXPECT_FALSE(mm.has_pinned);
        const std::uint64_t faults = c.k.stats().faults;

        std::vector<pfn_t> pages;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 4 * 4096, 4, FOLL_WRITE, pages), 4);
        ASSERT_EQ(pages.size(), 4u);
        for (unsigned i = 0; i < 4; ++i)
            EXPECT_EQ(pages[i], large.pfn + 4 + i);
        EXPECT_EQ(folio_ref_count(c, large), 16 + 4) << "folio_ref_add(1) per pin of a large folio";
        EXPECT_EQ(pincount(c, large), 4) << "and atomic_add(1, &_pincount)";
        EXPECT_TRUE(folio_maybe_dma_pinned(c, large));

        std::vector<pfn_t> one;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 1 * MiB, 1, FOLL_WRITE, one), 1);
        EXPECT_EQ(one.at(0), small.pfn);
        EXPECT_EQ(folio_ref_count(c, small), 1 + GUP_PIN_COUNTING_BIAS) << "a small folio counts pins in the refcount";
        EXPECT_TRUE(folio_maybe_dma_pinned(c, small));
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 1 * MiB, 1, FOLL_WRITE, one), 1);
        EXPECT_EQ(folio_ref_count(c, small), 1 + 2 * GUP_PIN_COUNTING_BIAS);

        EXPECT_EQ(c.k.stats().faults, faults) << "mapped writable pages: GUP-fast, no fault";
        EXPECT_TRUE(mm.has_pinned);
        EXPECT_TRUE(t.read(mm.addr + MM_OFF_FLAGS, 8) & (std::uint64_t{1} << MMF_HAS_PINNED)) << "MMF_HAS_PINNED";
        EXPECT_EQ(c.k.stats().pins, 6u);
        EXPECT_TRUE(folio_test_flag(c, large, PG_referenced)) << "folio_set_referenced()";

        unpin_user_pages(c, pages);
        unpin_user_pages(c, one);
        EXPECT_EQ(folio_ref_count(c, large), 16);
        EXPECT_EQ(pincount(c, large), 0);
        EXPECT_FALSE(folio_maybe_dma_pinned(c, large));
        EXPECT_EQ(folio_ref_count(c, small), 1);
        EXPECT_FALSE(folio_maybe_dma_pinned(c, small));
        EXPECT_EQ(c.k.stats().unpins, 6u);
        EXPECT_EQ(folio_mapcount(c, large), 16) << "pins never touch the mapcount";
    });
}

TEST_P(Gup, SlowPathFaultsInAndBatchesLikeOnePteAtATime)
{
    // Pinning memory never touched: GUP-fast finds no page table, the slow path faults each 64K folio in and
    // commits its 16 PTEs as one batch (follow_pte_batch()). Without batching every PTE is its own grab; the
    // end state is the same.
    struct End {
        std::vector<pfn_t> pages;
        std::vector<int> refs, pins;
        std::uint64_t faults = 0, pins_stat = 0;
        std::map<unsigned, std::uint64_t> batches;
    };
    const auto run = [&](bool batch) {
        End e;
        TestKernel t = make({}, {std::string("kernel.pte_batch=") + (batch ? "true" : "false")});
        t.run([&](Ctx& c) {
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 256 * KiB, PROT_READ | PROT_WRITE, kFlags, 4);
            EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 64 * KiB, 32, FOLL_WRITE, e.pages), 32);
            e.faults = c.k.stats().faults;
            e.pins_stat = c.k.stats().pins;
            for (unsigned f = 0; f < 2; ++f) {
                const Folio folio = page_folio(c, e.pages.at(16 * f));
                e.refs.push_back(folio_ref_count(c, folio));
                e.pins.push_back(pincount(c, folio));
                EXPECT_TRUE(folio_test_flag(c, folio, PG_referenced)) << "FOLL_TOUCH: folio_mark_accessed()";
            }
            for (unsigned i = 0; i < 32; ++i)
                EXPECT_EQ(pfn_at(t, mm, kBase + 64 * KiB + i * 4096), e.pages[i]) << i;
            EXPECT_EQ(leaf_raw(t, mm, kBase), 0u) << "nothing outside the range faulted";
            if (auto it = c.k.stats().batches.find("folio_pte_batch"); it != c.k.stats().batches.end())
                e.batches = it->second;
        });
        return e;
    };
    const End b = run(true), u = run(false);
    EXPECT_EQ(b.faults, 2u) << "one fault per 64K folio";
    EXPECT_EQ(b.refs, (std::vector<int>{32, 32})) << "16 mappings + 16 pins each";
    EXPECT_EQ(b.pins, (std::vector<int>{16, 16}));
    EXPECT_EQ(b.pins_stat, 32u);
    EXPECT_EQ(b.batches.at(16), 2u) << "one 16-PTE batch per folio";
    EXPECT_EQ(b.batches.size(), 1u);
    EXPECT_TRUE(u.batches.empty() || u.batches.begin()->first == 1) << "unbatched: no batch beyond 1";
    EXPECT_EQ(u.faults, b.faults);
    EXPECT_EQ(u.refs, b.refs);
    EXPECT_EQ(u.pins, b.pins);
    EXPECT_EQ(u.pins_stat, b.pins_stat);
    ASSERT_EQ(u.pages.size(), b.pages.size());
    for (std::size_t i = 0; i < b.pages.size(); ++i)
        EXPECT_EQ(u.pages[i] - u.pages[0], b.pages[i] - b.pages[0]) << i;
}

TEST_P(Gup, ReadPinMapsTheZeroPageAndPinsNothing)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        std::vector<pfn_t> pages;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase, 2, 0, pages), 2);
        ASSERT_EQ(pages.size(), 2u);
        EXPECT_EQ(pages[0], c.k.zero_pfn());
        EXPECT_EQ(pages[1], c.k.zero_pfn());
        EXPECT_EQ(c.k.stats().pins, 0u) << "the zero page is never pinned";
        EXPECT_EQ(c.k.stats().faults, 2u) << "read faults mapped the zero page";
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        unpin_user_pages(c, pages);
        EXPECT_EQ(c.k.stats().unpins, 0u);
        // Errors: nothing mapped there; a write pin of a read-only mapping.
        std::vector<pfn_t> none;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 1 * MiB, 1, FOLL_WRITE, none), -EFAULT);
        do_mmap(c, mm, kBase + 2 * MiB, 64 * KiB, PROT_READ, kFlags, 0);
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 2 * MiB, 1, FOLL_WRITE, none), -EFAULT);
        EXPECT_TRUE(none.empty());
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase, 1, FOLL_PIN, none), -EINVAL) << "FOLL_PIN is internal";
    });
}

TEST_P(Gup, ReadPinUnsharesAPageSharedWithTheChild)
{
    // After fork the parent's page is shared and write-protected. A read-only pin may not pin it (the next
    // write would COW away from the pinned page): gup_must_unshare() sends it to FAULT_FLAG_UNSHARE, which
    // gives the parent an exclusive copy, still read-only. A write pin COWs it writable instead.
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        const pfn_t shared = user_access(c, parent, kBase, AccessKind::Write) >> c.k.page_shift();
        user_access(c, parent, kBase + 4096, AccessKind::Write);
        mm_struct& child = copy_mm(c, parent);
        ASSERT_FALSE(PageAnonExclusive(c, shared));
        const std::uint64_t copied = c.k.stats().pages_copied;

        std::vector<pfn_t> pages;
        EXPECT_EQ(pin_user_pages_fast(c, parent, kBase, 1, 0, pages), 1);
        const pfn_t mine = pages.at(0);
        EXPECT_NE(mine, shared) << "unshared: the parent got its own copy";
        EXPECT_EQ(pfn_at(t, parent, kBase), mine);
        EXPECT_EQ(pfn_at(t, child, kBase), shared) << "the child keeps the original";
        EXPECT_FALSE(a.pte_write(pte_t{leaf_raw(t, parent, kBase)})) << "an unshare maps the copy read-only";
        EXPECT_TRUE(PageAnonExclusive(c, mine));
        EXPECT_EQ(folio_ref_count(c, page_folio(c, mine)), 1 + GUP_PIN_COUNTING_BIAS);
        EXPECT_EQ(c.k.stats().pages_copied, copied + 1);
        EXPECT_EQ(folio_mapcount(c, page_folio(c, shared)), 1) << "only the child maps the original now";

        std::vector<pfn_t> wpages;
        EXPECT_EQ(pin_user_pages_fast(c, parent, kBase + 4096, 1, FOLL_WRITE, wpages), 1);
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, parent, kBase + 4096)})) << "a write pin COWs writable";
        EXPECT_EQ(c.k.stats().pages_copied, copied + 2);
        unpin_user_pages(c, pages);
        unpin_user_pages(c, wpages);
        EXPECT_EQ(folio_ref_count(c, page_folio(c, mine)), 1);
    });
}

TEST_P(Gup, ForkCopiesPinnedPagesAtOnce)
{
    // A pinned, anon-exclusive page may not be shared with the child: the parent's pin would no longer see
    // what the parent writes after its COW. folio_try_dup_anon_rmap_ptes() says -EBUSY and copy_present_page()
    // gives the child a copy at fork time. The pin is per folio (_pincount), so every page of a pinned large
    // folio is copied.
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 128 * KiB, PROT_READ | PROT_WRITE, kFlags, 4);
        do_mmap(c, parent, kBase + 1 * MiB, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        for (Addr va = kBase; va < kBase + 128 * KiB; va += 4096)
            user_access(c, parent, va, AccessKind::Write);
        for (Addr va = kBase + 1 * MiB; va < kBase + 1 * MiB + 8 * 4096; va += 4096)
            user_access(c, parent, va, AccessKind::Write);
        const Folio pinned = page_folio(c, pfn_at(t, parent, kBase));
        const Folio other = page_folio(c, pfn_at(t, parent, kBase + 64 * KiB));
        const pfn_t small = pfn_at(t, parent, kBase + 1 * MiB + 4096);
        // Something to copy: a word at the start of two pinned pages.
        c.cpu.store((pinned.pfn + 5) << c.k.page_shift(), 0x1234, 8);
        c.cpu.store(small << c.k.page_shift(), 0x5678, 8);

        std::vector<pfn_t> pages;
        ASSERT_EQ(pin_user_pages_fast(c, parent, kBase + 4 * 4096, 4, FOLL_WRITE, pages), 4);
        ASSERT_EQ(pin_user_pages_fast(c, parent, kBase + 1 * MiB + 4096, 1, FOLL_WRITE, pages), 1);
        const std::uint64_t copied = c.k.stats().pages_copied;

        mm_struct& child = copy_mm(c, parent);
        EXPECT_EQ(c.k.stats().pages_copied, copied + 16 + 1) << "the pinned large folio whole, and the small page";
        for (unsigned i = 0; i < 16; ++i) {
            const Addr va = kBase + i * 4096;
            EXPECT_NE(pfn_at(t, child, va), pinned.pfn + i) << i;
            EXPECT_EQ(pfn_at(t, parent, va), pinned.pfn + i) << i;
            EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, parent, va)})) << "the parent keeps it writable, " << i;
            EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, child, va)})) << "the child's copy is its own, " << i;
            EXPECT_TRUE(PageAnonExclusive(c, pinned.pfn + i)) << i;
        }
        EXPECT_EQ(t.read(pfn_at(t, child, kBase + 5 * 4096) << c.k.page_shift(), 8), 0x1234u) << "copy_mc_user_highpage()";
        EXPECT_EQ(t.read(pfn_at(t, child, kBase + 1 * MiB + 4096) << c.k.page_shift(), 8), 0x5678u);
        EXPECT_NE(pfn_at(t, child, kBase + 1 * MiB + 4096), small);
        EXPECT_EQ(folio_ref_count(c, pinned), 16 + 4) << "the parent's mappings and the pins, nothing from the child";
        EXPECT_EQ(folio_mapcount(c, pinned), 16);
        // Unpinned memory is shared as usual.
        EXPECT_EQ(pfn_at(t, child, kBase + 64 * KiB), other.pfn);
        EXPECT_EQ(folio_mapcount(c, other), 32);
        EXPECT_EQ(pfn_at(t, child, kBase + 1 * MiB), pfn_at(t, parent, kBase + 1 * MiB));
        EXPECT_EQ(get_mm_counter(c, child, MM_ANONPAGES), 32 + 8);
        EXPECT_EQ(t.read(parent.addr + MM_OFF_WRITE_PROTECT_SEQ, 4), 4u) << "two COW VMAs: write_protect_seq even again";

        // Unpinned, the next fork shares.
        unpin_user_pages(c, pages);
        EXPECT_FALSE(folio_maybe_dma_pinned(c, pinned));
        const std::uint64_t before = c.k.stats().pages_copied;
        mm_struct& second = copy_mm(c, parent);
        EXPECT_EQ(c.k.stats().pages_copied, before);
        EXPECT_EQ(pfn_at(t, second, kBase), pinned.pfn);
    });
}

TEST_P(Gup, MunmapLeavesAPinnedFolioUntilTheUnpinFreesIt)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    ASSERT_TRUE(t.p->checked());
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
        do_mmap(c, mm, kBase, 256 * KiB, PROT_READ | PROT_WRITE, kFlags, 4);
        do_mmap(c, mm, kBase + 1 * MiB, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        for (Addr va = kBase; va < kBase + 256 * KiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        for (Addr va = kBase + 1 * MiB; va < kBase + 1 * MiB + 64 * KiB; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        std::vector<pfn_t> pages;
        ASSERT_EQ(pin_user_pages_fast(c, mm, kBase + 60 * KiB, 8, FOLL_WRITE, pages), 8) << "across two folios";
        ASSERT_EQ(pin_user_pages_fast(c, mm, kBase + 1 * MiB, 2, FOLL_WRITE, pages), 2);
        const Folio a = page_folio(c, pages[0]), b = page_folio(c, pages[7]), s0 = page_folio(c, pages[8]);
        ASSERT_NE(a, b);

        const std::uint64_t freed = c.k.stats().folios_freed;
        EXPECT_EQ(__vm_munmap(c, mm, kBase, 256 * KiB), 0);
        EXPECT_EQ(__vm_munmap(c, mm, kBase + 1 * MiB, 64 * KiB), 0);
        EXPECT_EQ(c.k.stats().folios_freed, freed + 2 + 14) << "all but the two pinned 64K folios and two small ones";
        EXPECT_EQ(folio_ref_count(c, a), 1) << "only the pin holds it";
        EXPECT_EQ(pincount(c, a), 1);
        EXPECT_EQ(folio_ref_count(c, b), 7);
        EXPECT_EQ(folio_mapcount(c, a), 0);
        EXPECT_EQ(folio_ref_count(c, s0), GUP_PIN_COUNTING_BIAS);
        EXPECT_LT(c.k.page_alloc().free_bytes(), baseline);

        unpin_user_pages(c, pages);
        EXPECT_EQ(c.k.stats().folios_freed, freed + 2 + 14 + 4) << "the unpin freed them";
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(after, baseline) << "every byte back";
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().pins, t.k->stats().unpins);
    EXPECT_EQ(t.p->oracle().queries(), t.k->stats().folios_freed + t.k->stats().pgtables_freed)
        << "every freed frame was checked, the unpinned ones too";
}

TEST_P(Gup, FastPathBacksOffWhileForkWriteProtects)
{
    // mm->write_protect_seq odd (copy_page_range() in progress): GUP-fast pins nothing (FOLL_FAST_ONLY shows
    // it), the slow path still works.
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, kFlags, 0);
        for (Addr va = kBase; va < kBase + 16 * 4096; va += 4096)
            user_access(c, mm, va, AccessKind::Write);
        const PAddr seq = mm.addr + MM_OFF_WRITE_PROTECT_SEQ;
        c.cpu.store(seq, 1, 4); // raw_write_seqcount_begin() of a fork elsewhere
        std::vector<pfn_t> pages;
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase, 4, FOLL_WRITE | FOLL_FAST_ONLY, pages), 0);
        EXPECT_TRUE(pages.empty());
        EXPECT_EQ(c.k.stats().pins, 0u);
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase, 4, FOLL_WRITE, pages), 4) << "the slow path under mmap_lock";
        c.cpu.store(seq, 2, 4); // raw_write_seqcount_end()
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 4 * 4096, 4, FOLL_WRITE | FOLL_FAST_ONLY, pages), 4);
        EXPECT_EQ(pin_user_pages_fast(c, mm, kBase + 15 * 4096, 4, FOLL_WRITE | FOLL_FAST_ONLY, pages), 1)
            << "GUP-fast stops at the first PTE it cannot pin (none)";
        EXPECT_EQ(pages.size(), 9u);
        unpin_user_pages(c, pages);
        EXPECT_EQ(c.k.stats().pins, c.k.stats().unpins);
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, Gup, ::testing::Values("neoverse-n1", "skylake-sp"), platform_name);

} // namespace
