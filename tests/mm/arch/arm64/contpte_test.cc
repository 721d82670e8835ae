// SPDX-License-Identifier: GPL-2.0-only
// arm64 contpte (arch/arm64/mm/contpte.c) on simulated cores, 4K granule (CONT_PTES = 16, 64K blocks): when a
// block is written contiguous, folded, unfolded or left alone, what each costs in page-table accesses and
// TLB maintenance, and that break-before-make leaves the TLBs consistent (the TLB oracle).
#include "arm64_test_util.hh"

#include "mm/page_alloc.hh"
#include "mm/pgtable.hh"

#include <gtest/gtest.h>

namespace mmusim::mm {
namespace {

using namespace arm64;
using test::Arm64Env;
using test::make_arm64_env;
using test::pte_alloc_walk;

constexpr Addr kBase = 0x40000000; // 64K-aligned

// One process, one VMA over four 64K blocks, a 64K folio (order 4: naturally aligned, so pfn % 16 == 0), and
// the PTE slots of the first block.
struct Block {
    mm_struct* mm = nullptr;
    vm_area_struct vma;
    Folio folio;
    PtePtr ptep = 0; // entry 0

    Addr va(unsigned i, const Arm64& a) const { return kBase + i * a.page_size(); }
    PtePtr slot(unsigned i) const { return pte_offset(ptep, i); }
    // do_anonymous_page()'s entry for page i: writable, dirty, young
    pte_t entry(unsigned i, const Arm64& a) const
    {
        return a.pte_mkwrite(a.pte_mkdirty(a.pfn_pte(folio_page(folio, i), vma.vm_page_prot)));
    }
};

Block setup(Ctx& c)
{
    Arm64& a = static_cast<Arm64&>(c.k.arch());
    Block b;
    b.mm = &c.k.mm_alloc(c);
    b.vma = test::make_vma(a, *b.mm, kBase, kBase + 4 * a.cont_pte_size());
    b.folio = c.k.page_alloc().folio_alloc(c, 4);
    b.ptep = pte_alloc_walk(c, *b.mm, kBase);
    return b;
}

unsigned cont_entries(Arm64Env& e, const Block& b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 16; ++i)
        n += (e.read(b.slot(i)) & PTE_CONT) != 0;
    return n;
}

struct Delta {
    std::uint64_t loads = 0, stores = 0, atomics = 0, tlbi = 0, barriers = 0;
};
Delta since(const hw::Core& cpu, const hw::CoreCounters& b)
{
    const hw::CoreCounters& n = cpu.counters();
    return {n.loads - b.loads, n.stores - b.stores, n.atomics - b.atomics, n.tlbi_issued - b.tlbi_issued,
            n.barriers - b.barriers};
}

void wait_for(hw::Core& cpu, const bool& flag)
{
    while (!flag)
        cpu.idle(sc_core::sc_time(20, sc_core::SC_NS));
}

TEST(Arm64Contpte, SetPtesOfAWholeAlignedBlockWritesItContiguous)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    Delta d;
    unsigned hint5 = 0, hint0 = 0;
    pte_t got;
    e.run([&](Ctx& c) {
        b = setup(c);
        const hw::CoreCounters before = c.cpu.counters();
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        d = since(c.cpu, before);
        got = ptep_get(c, b.slot(5));
        hint5 = pte_batch_hint(c, b.slot(5), got);
        hint0 = pte_batch_hint(c, b.slot(0), got);
    });
    EXPECT_EQ(cont_entries(e, b), 16u);
    const int last = e.fmt().levels() - 1;
    for (unsigned i = 0; i < 16; ++i) {
        const hw::Descriptor desc = e.fmt().decode(last, e.read(b.slot(i)));
        EXPECT_TRUE(desc.contiguous) << i;
        EXPECT_EQ(desc.oa, folio_page(b.folio, i) << a.page_shift()) << i;
        EXPECT_TRUE(desc.write) << i;
    }
    EXPECT_EQ(d.stores, 16u);
    EXPECT_EQ(d.tlbi, 0u);
    EXPECT_EQ(e.k->stats().contpte_folds, 0u);
    EXPECT_EQ(e.k->stats().contpte_unfolds, 0u);
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
    EXPECT_EQ(a.pte_pfn(got), folio_page(b.folio, 5));
    EXPECT_TRUE(a.pte_cont(got));
    EXPECT_EQ(hint5, 11u);
    EXPECT_EQ(hint0, 16u);
}

TEST(Arm64Contpte, SetPtesContiguousOnlyWhereAWholeAlignedBlockIsCovered)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    PtePtr p2 = 0;
    e.run([&](Ctx& c) {
        b = setup(c);
        // 20 pages from the block start: 16 contiguous + 4 not (the second block is covered only in part)
        const Folio big = c.k.page_alloc().folio_alloc(c, 5);
        set_ptes(c, *b.mm, kBase, b.ptep, a.pfn_pte(folio_pfn(big), b.vma.vm_page_prot), 20);
        // 16 pages at a VA one page past a block boundary: no block is whole
        p2 = pte_alloc_walk(c, *b.mm, kBase + 2 * a.cont_pte_size() + a.page_size());
        set_ptes(c, *b.mm, kBase + 2 * a.cont_pte_size() + a.page_size(), p2,
                 a.pfn_pte(folio_pfn(big), b.vma.vm_page_prot), 16);
    });
    EXPECT_EQ(cont_entries(e, b), 16u);
    for (unsigned i = 16; i < 20; ++i)
        EXPECT_FALSE(e.read(b.slot(i)) & PTE_CONT) << i;
    for (unsigned i = 0; i < 16; ++i)
        EXPECT_FALSE(e.read(pte_offset(p2, i)) & PTE_CONT) << i;
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
}

// Faulting a block in page by page: nothing happens until the last entry, which folds the block (one convert:
// 16 clears, a break-before-make TLBI per page on N1 between DSBs, 16 writes).
TEST(Arm64Contpte, SetPteOneAtATimeFoldsOnTheLastEntry)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    unsigned cont_after_15 = 99;
    std::uint64_t converts_after_15 = 99;
    Delta last;
    e.run([&](Ctx& c) {
        b = setup(c);
        for (unsigned i = 0; i < 15; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
        cont_after_15 = cont_entries(e, b);
        converts_after_15 = c.k.stats().contpte_converts;
        const hw::CoreCounters before = c.cpu.counters();
        set_pte_at(c, *b.mm, b.va(15, a), b.slot(15), b.entry(15, a));
        last = since(c.cpu, before);
    });
    EXPECT_EQ(cont_after_15, 0u);
    EXPECT_EQ(converts_after_15, 0u);
    EXPECT_EQ(cont_entries(e, b), 16u);
    EXPECT_EQ(e.k->stats().contpte_folds, 1u);
    EXPECT_EQ(e.k->stats().contpte_converts, 1u);
    EXPECT_EQ(e.k->stats().contpte_unfolds, 0u);
    EXPECT_EQ(last.atomics, 16u);     // __ptep_get_and_clear x16
    EXPECT_EQ(last.stores, 1u + 16u); // the entry itself, then the repaint
    EXPECT_EQ(last.tlbi, 16u);        // VALE1IS per page: no FEAT_TLBIRANGE
    EXPECT_EQ(last.barriers, 2u);
    // young and dirty gathered into the folded entries
    for (unsigned i = 0; i < 16; ++i) {
        const pte_t p{e.read(b.slot(i))};
        EXPECT_TRUE(a.pte_dirty(p) && a.pte_young(p) && a.pte_write(p)) << i;
        EXPECT_EQ(a.pte_pfn(p), folio_page(b.folio, i));
    }
}

TEST(Arm64Contpte, FoldOnV2IsOneRangeTlbi)
{
    auto e = make_arm64_env("neoverse-v2");
    Arm64& a = e.arch();
    Delta last;
    e.run([&](Ctx& c) {
        const Block b = setup(c);
        for (unsigned i = 0; i < 15; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
        const hw::CoreCounters before = c.cpu.counters();
        set_pte_at(c, *b.mm, b.va(15, a), b.slot(15), b.entry(15, a));
        last = since(c.cpu, before);
    });
    EXPECT_EQ(e.k->stats().contpte_folds, 1u);
    EXPECT_EQ(last.tlbi, 1u); // RVALE1IS, SCALE 0 NUM 7
    EXPECT_EQ(last.barriers, 2u);
}

TEST(Arm64Contpte, Bbml2FoldIssuesNoTlbi)
{
    auto e = make_arm64_env("neoverse-v2", {"features.bbml2_noabort=true"});
    ASSERT_TRUE(e.k->config().switches.use_bbml2);
    Arm64& a = e.arch();
    Delta last;
    e.run([&](Ctx& c) {
        const Block b = setup(c);
        for (unsigned i = 0; i < 15; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
        const hw::CoreCounters before = c.cpu.counters();
        set_pte_at(c, *b.mm, b.va(15, a), b.slot(15), b.entry(15, a));
        last = since(c.cpu, before);
    });
    EXPECT_EQ(e.k->stats().contpte_folds, 1u);
    EXPECT_EQ(e.k->stats().contpte_converts, 1u);
    EXPECT_EQ(last.tlbi, 0u);
    EXPECT_EQ(last.barriers, 0u);
    EXPECT_EQ(last.atomics, 16u);
}

// contpte_try_fold() tries only with the VA and the pfn both at the last entry of a block, and never for a
// special mapping (no folio to check).
TEST(Arm64Contpte, NoFoldForMisalignedPfnsOrSpecialMappings)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    e.run([&](Ctx& c) {
        b = setup(c);
        // pages 1..16 of a 32-page folio: consecutive, one folio, but the last pfn is not a block's last
        const Folio big = c.k.page_alloc().folio_alloc(c, 5);
        for (unsigned i = 0; i < 16; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i),
                       a.pte_mkwrite(a.pte_mkdirty(a.pfn_pte(folio_page(big, i + 1), b.vma.vm_page_prot))));
        // the aligned 64K folio in the next block, mapped special (a VM_PFNMAP-style mapping)
        const PtePtr p2 = pte_offset(b.ptep, 16);
        for (unsigned i = 0; i < 16; ++i)
            set_pte_at(c, *b.mm, b.va(16 + i, a), pte_offset(p2, i), a.pte_mkspecial(b.entry(i, a)));
    });
    EXPECT_EQ(e.k->stats().contpte_folds, 0u);
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
    EXPECT_EQ(cont_entries(e, b), 0u);
}

// Unmapping one page of a folded block unfolds it: 16 clears, the TLBIs between DSBs, 16 writes, then the
// page's own clear.
TEST(Arm64Contpte, ClearingOnePteOfAFoldedBlockUnfoldsOnce)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    Delta d;
    pte_t old;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        const hw::CoreCounters before = c.cpu.counters();
        old = ptep_get_and_clear(c, *b.mm, b.va(3, a), b.slot(3));
        d = since(c.cpu, before);
    });
    EXPECT_EQ(e.k->stats().contpte_unfolds, 1u);
    EXPECT_EQ(e.k->stats().contpte_converts, 1u);
    EXPECT_EQ(e.k->stats().contpte_folds, 0u);
    EXPECT_EQ(d.loads, 1u);          // __ptep_get() before the unfold
    EXPECT_EQ(d.atomics, 16u + 1u);  // the convert's clears, then the page's own xchg
    EXPECT_EQ(d.stores, 16u);        // the repaint, non-contiguous
    EXPECT_EQ(d.tlbi, 16u);
    EXPECT_EQ(d.barriers, 2u);
    EXPECT_EQ(a.pte_pfn(old), folio_page(b.folio, 3));
    EXPECT_FALSE(a.pte_cont(old));
    EXPECT_EQ(e.read(b.slot(3)), 0u);
    EXPECT_EQ(cont_entries(e, b), 0u);
    for (unsigned i : {0u, 2u, 4u, 15u})
        EXPECT_EQ(a.pte_pfn(pte_t{e.read(b.slot(i))}), folio_page(b.folio, i));
}

TEST(Arm64Contpte, ClearFullPtesOverAWholeBlockNeedsNoConvertNorTlbi)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    Delta d;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        const hw::CoreCounters before = c.cpu.counters();
        clear_full_ptes(c, *b.mm, kBase, b.ptep, 16, 0);
        d = since(c.cpu, before);
    });
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
    EXPECT_EQ(d.tlbi, 0u);
    EXPECT_EQ(d.atomics, 16u);
    for (unsigned i = 0; i < 16; ++i)
        EXPECT_EQ(e.read(b.slot(i)), 0u) << i;
}

TEST(Arm64Contpte, PartialBatchesUnfoldTheirBlockOnce)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    std::uint64_t after_clear = 0;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        clear_full_ptes(c, *b.mm, b.va(4, a), b.slot(4), 8, 0); // both ends inside the one block
        after_clear = c.k.stats().contpte_unfolds;
        // faulting them back one by one does not refold: only a write of the block's last entry tries
        for (unsigned i = 4; i < 12; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
    });
    EXPECT_EQ(after_clear, 1u);
    EXPECT_EQ(e.k->stats().contpte_unfolds, 1u);
    EXPECT_EQ(e.k->stats().contpte_folds, 0u);
    EXPECT_EQ(cont_entries(e, b), 0u);
    for (unsigned i : {3u, 4u, 11u, 12u})
        EXPECT_EQ(a.pte_pfn(pte_t{e.read(b.slot(i))}), folio_page(b.folio, i)) << i;
}

TEST(Arm64Contpte, WrprotectWholeBlockInPlacePartialUnfolds)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    Block b2; // the next 64K block
    Delta whole;
    std::uint64_t unfolds_partial = 0;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        wrprotect_ptes(c, *b.mm, b.va(2, a), b.slot(2), 3);
        unfolds_partial = c.k.stats().contpte_unfolds;

        b2 = b;
        b2.folio = c.k.page_alloc().folio_alloc(c, 4);
        b2.ptep = pte_offset(b.ptep, 16);
        set_ptes(c, *b.mm, b.va(16, a), b2.ptep, b2.entry(0, a), 16);
        const hw::CoreCounters before = c.cpu.counters();
        wrprotect_ptes(c, *b.mm, b.va(16, a), b2.ptep, 16);
        whole = since(c.cpu, before);
    });
    // partial: unfolded once, only the three entries read-only
    EXPECT_EQ(unfolds_partial, 1u);
    EXPECT_EQ(cont_entries(e, b), 0u);
    EXPECT_FALSE(a.pte_write(pte_t{e.read(b.slot(3))}));
    EXPECT_TRUE(a.pte_write(pte_t{e.read(b.slot(9))}));
    // whole: in place, no convert, no TLBI; contiguous, read-only, dirtiness moved to PTE_DIRTY
    EXPECT_EQ(e.k->stats().contpte_unfolds, 1u);
    EXPECT_EQ(whole.tlbi, 0u);
    EXPECT_EQ(whole.atomics, 16u);
    EXPECT_EQ(cont_entries(e, b2), 16u);
    const pte_t p{e.read(b2.slot(9))};
    EXPECT_FALSE(a.pte_write(p));
    EXPECT_TRUE(a.pte_sw_dirty(p));
}

TEST(Arm64Contpte, PtepGetGathersYoungAndDirtyFromTheBlock)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    pte_t clean, young, dirty;
    e.run([&](Ctx& c) {
        b = setup(c);
        const pte_t old_clean = a.pte_mkold(a.pfn_pte(folio_pfn(b.folio), b.vma.vm_page_prot));
        set_ptes(c, *b.mm, kBase, b.ptep, old_clean, 16);
        clean = ptep_get(c, b.slot(2));
        // the hardware sets AF in one entry, a sw dirty lands in another
        c.cpu.store(b.slot(7), e.read(b.slot(7)) | PTE_AF, 8);
        young = ptep_get(c, b.slot(2));
        c.cpu.store(b.slot(12), e.read(b.slot(12)) | PTE_DIRTY, 8);
        dirty = ptep_get(c, b.slot(2));
    });
    EXPECT_FALSE(a.pte_young(clean));
    EXPECT_FALSE(a.pte_dirty(clean));
    EXPECT_TRUE(a.pte_young(young));
    EXPECT_FALSE(a.pte_dirty(young));
    EXPECT_TRUE(a.pte_young(dirty));
    EXPECT_TRUE(a.pte_dirty(dirty));
    EXPECT_EQ(a.pte_pfn(dirty), folio_page(b.folio, 2));
}

TEST(Arm64Contpte, AccessFlagsOverTheBlockWithoutUnfold)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    int changed = -1, again = -1;
    Delta d;
    std::uint64_t remote = 0;
    e.run([&](Ctx& c) {
        b = setup(c);
        const pte_t old_clean = a.pte_mkold(a.pfn_pte(folio_pfn(b.folio), b.vma.vm_page_prot));
        set_ptes(c, *b.mm, kBase, b.ptep, old_clean, 16);
        const std::uint64_t r0 = e.p->core(1).counters().tlbi_received;
        const hw::CoreCounters before = c.cpu.counters();
        // a read fault on page 6 of an old block: make it young (dirty = 1 to exercise the local flush)
        const pte_t entry = a.pte_mkyoung(ptep_get(c, b.slot(6)));
        changed = ptep_set_access_flags(c, b.vma, b.va(6, a), b.slot(6), entry, 1);
        d = since(c.cpu, before);
        remote = e.p->core(1).counters().tlbi_received - r0;
        again = ptep_set_access_flags(c, b.vma, b.va(6, a), b.slot(6), a.pte_mkyoung(ptep_get(c, b.slot(6))), 1);
    });
    EXPECT_EQ(changed, 1);
    EXPECT_EQ(again, 0);
    EXPECT_EQ(e.k->stats().contpte_unfolds, 0u);
    EXPECT_EQ(cont_entries(e, b), 16u);
    for (unsigned i = 0; i < 16; ++i)
        EXPECT_TRUE(e.read(b.slot(i)) & PTE_AF) << i; // every entry: walkers without HAFDBS read each alone
    EXPECT_EQ(d.tlbi, 16u);  // local VALE1 over the block
    EXPECT_EQ(remote, 0u);
}

TEST(Arm64Contpte, ModifyProtOverAWholeBlockStaysContiguous)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        const pte_t old = modify_prot_start_ptes(c, b.vma, kBase, b.ptep, 16);
        const pte_t ptent = a.pte_modify(old, PAGE_READONLY);
        modify_prot_commit_ptes(c, b.vma, kBase, b.ptep, old, ptent, 16);
    });
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
    EXPECT_EQ(cont_entries(e, b), 16u);
    const pte_t p{e.read(b.slot(4))};
    EXPECT_FALSE(a.pte_write(p));
    EXPECT_TRUE(a.pte_dirty(p)); // the gathered dirtiness survives the modify
    EXPECT_EQ(a.pte_pfn(p), folio_page(b.folio, 4));
}

TEST(Arm64Contpte, SwitchOffIsTheRawHelpers)
{
    auto e = make_arm64_env("neoverse-n1", {}, {"kernel.contpte=false"});
    Arm64& a = e.arch();
    Block b;
    unsigned hint = 0;
    e.run([&](Ctx& c) {
        b = setup(c);
        set_ptes(c, *b.mm, kBase, b.ptep, b.entry(0, a), 16);
        hint = pte_batch_hint(c, b.slot(0), ptep_get(c, b.slot(0)));
        for (unsigned i = 0; i < 16; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
    });
    EXPECT_EQ(cont_entries(e, b), 0u);
    EXPECT_EQ(hint, 1u);
    EXPECT_EQ(e.k->stats().contpte_converts, 0u);
}

// Break-before-make seen from another core: core 1 caches the block's pages as 4K entries, core 0 folds the
// block, core 1 walks it again as one 64K entry. No stale entry and no TLB conflict (two sizes for one address)
// may appear.
TEST(Arm64Contpte, FoldWithBreakBeforeMakeLeavesTheTlbsConsistent)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Block b;
    bool mapped = false, cached = false, folded = false;
    std::vector<hw::OracleFinding> stale_before_fold;
    e.run({[&](Ctx& c) {
               b = setup(c);
               for (unsigned i = 0; i < 15; ++i)
                   set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
               mapped = true;
               wait_for(c.cpu, cached);
               set_pte_at(c, *b.mm, b.va(15, a), b.slot(15), b.entry(15, a));
               folded = true;
           },
           [&](Ctx& c) {
               wait_for(c.cpu, mapped);
               c.cpu.mmu().set_context(b.mm->asid, b.mm->pgd);
               for (unsigned i = 0; i < 15; ++i)
                   ASSERT_EQ(c.cpu.translate(b.va(i, a), AccessKind::Write).fault, hw::Fault::None);
               cached = true;
               wait_for(c.cpu, folded);
               for (unsigned i = 0; i < 16; ++i)
                   ASSERT_EQ(c.cpu.translate(b.va(i, a), AccessKind::Write).fault, hw::Fault::None);
           }});
    EXPECT_EQ(e.k->stats().contpte_folds, 1u);
    EXPECT_TRUE(e.p->oracle().new_conflicts().empty());
    EXPECT_TRUE(e.p->oracle().check_range(kBase, kBase + a.cont_pte_size() - 1, b.mm->asid, b.mm->pgd).empty());
    EXPECT_GT(e.p->core(1).mmu().stats().walks, 0u);
}

// The 16K granule: CONT_PTES = 128 (2M blocks); the same fold, and the hardware walks the result as one run.
TEST(Arm64Contpte, FoldWith16KGranule)
{
    auto e = make_arm64_env("neoverse-n1", {"page_table.granule=16K"}, {"kernel.folio_size=16K"});
    Arm64& a = e.arch();
    ASSERT_EQ(a.cont_ptes(), 128u);
    Block b;
    Delta last;
    e.run([&](Ctx& c) {
        b = setup(c); // a 16-page folio: too small for a 128-entry block
        b.folio = c.k.page_alloc().folio_alloc(c, 7);
        for (unsigned i = 0; i < 127; ++i)
            set_pte_at(c, *b.mm, b.va(i, a), b.slot(i), b.entry(i, a));
        const hw::CoreCounters before = c.cpu.counters();
        set_pte_at(c, *b.mm, b.va(127, a), b.slot(127), b.entry(127, a));
        last = since(c.cpu, before);
        c.cpu.mmu().set_context(b.mm->asid, b.mm->pgd);
        for (unsigned i = 0; i < 128; i += 9)
            ASSERT_EQ(c.cpu.translate(b.va(i, a), AccessKind::Write).fault, hw::Fault::None);
    });
    EXPECT_EQ(e.k->stats().contpte_folds, 1u);
    EXPECT_EQ(last.atomics, 128u);
    EXPECT_EQ(last.tlbi, 128u); // below MAX_DVM_OPS (2048 with 16K pages)
    unsigned cont = 0;
    for (unsigned i = 0; i < 128; ++i)
        cont += (e.read(b.slot(i)) & PTE_CONT) != 0;
    EXPECT_EQ(cont, 128u);
    EXPECT_TRUE(e.p->oracle().new_conflicts().empty());
    EXPECT_TRUE(e.p->oracle().check_range(kBase, kBase + a.cont_pte_size() - 1, b.mm->asid, b.mm->pgd).empty());
}

} // namespace
} // namespace mmusim::mm
