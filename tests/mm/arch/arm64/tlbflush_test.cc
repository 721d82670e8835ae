// SPDX-License-Identifier: GPL-2.0-only
// arm64 TLB maintenance (asm/tlbflush.h, asm/tlb.h) on simulated cores: the instructions each flush issues
// (counted by the cores and the kernel's statistics), what they remove (the TLB oracle: nothing stale may
// remain once a flush returns; entries outside the range stay unless the flush fell back to the ASID), on
// Neoverse N1 (no FEAT_TLBIRANGE) and Neoverse V2 (range operations).
#include "arm64_test_util.hh"

#include "mm/mmu_gather.hh"

#include <gtest/gtest.h>

namespace mmusim::mm {
namespace {

using namespace arm64;
using test::Arm64Env;
using test::make_arm64_env;
using test::pte_alloc_walk;

constexpr Addr kBase = 0x40000000; // 1G: 2M- and 64K-aligned
constexpr pfn_t kPfn = 0x100000;   // frames at 4G (only translated, never touched)

// Maps pages [0, n) of kBase to kPfn + i read-only, and makes core c run the mm.
void map_pages(Ctx& c, mm_struct& mm, unsigned n)
{
    Arm64& a = static_cast<Arm64&>(c.k.arch());
    for (unsigned i = 0; i < n; ++i)
        a.__set_pte(c, pte_alloc_walk(c, mm, kBase + i * a.page_size()), a.pfn_pte(kPfn + i, PAGE_READONLY));
    c.cpu.mmu().set_context(mm.asid, mm.pgd);
}

void touch(Ctx& c, Addr va)
{
    const hw::Translation t = c.cpu.translate(va, AccessKind::Read);
    ASSERT_EQ(t.fault, hw::Fault::None) << std::hex << va;
}

bool cached(Arm64Env& e, pfn_t pfn)
{
    const PAddr pa = pfn << e.arch().page_shift();
    return !e.p->oracle().frame_mappings(pa, pa + e.arch().page_size() - 1).empty();
}

struct Delta {
    std::uint64_t tlbi = 0, barriers = 0;
};
Delta since(const hw::Core& cpu, const hw::CoreCounters& before)
{
    return {cpu.counters().tlbi_issued - before.tlbi_issued, cpu.counters().barriers - before.barriers};
}

TEST(Arm64TlbFlush, OnePageIsDsbTlbiDsbAndLeavesTheNeighbour)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    mm_struct* mm = nullptr;
    Delta d;
    std::vector<hw::OracleFinding> stale_before;
    std::uint64_t remote_before = 0;
    e.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        map_pages(c, *mm, 2);
        touch(c, kBase);
        touch(c, kBase + a.page_size());
        a.__ptep_get_and_clear(c, *mm, kBase, pte_alloc_walk(c, *mm, kBase));
        stale_before = e.p->oracle().check_range(kBase, kBase + 2 * a.page_size() - 1, mm->asid, mm->pgd);
        remote_before = e.p->core(1).counters().tlbi_received;
        const hw::CoreCounters before = c.cpu.counters();
        a.__flush_tlb_range(c, *mm, kBase, kBase + a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d = since(c.cpu, before);
    });
    // the oracle sees the stale entry before the flush (in each TLB level that holds it), for page 0 only
    ASSERT_FALSE(stale_before.empty());
    for (const hw::OracleFinding& f : stale_before)
        EXPECT_EQ(f.va, kBase) << f.message();
    EXPECT_EQ(d.tlbi, 1u);       // VALE1IS
    EXPECT_EQ(d.barriers, 2u);   // DSB ISHST, DSB ISH
    EXPECT_EQ(e.p->core(1).counters().tlbi_received - remote_before, 1u); // broadcast
    EXPECT_TRUE(e.p->oracle().check_range(kBase, kBase + 2 * a.page_size() - 1, mm->asid, mm->pgd).empty());
    EXPECT_FALSE(cached(e, kPfn));
    EXPECT_TRUE(cached(e, kPfn + 1)); // a by-VA flush, not an ASID one
    EXPECT_EQ(e.k->stats().flushes["flush_tlb_range"].calls, 1u);
    EXPECT_EQ(e.k->stats().flushes["flush_tlb_range"].pages, 1u);
    EXPECT_EQ(e.k->stats().flushes["tlbi_ops"].pages, 1u);
}

// 513 pages are above MAX_DVM_OPS (PTRS_PER_PTE = 512) without FEAT_TLBIRANGE: one TLBI ASIDE1IS.
TEST(Arm64TlbFlush, AboveMaxDvmOpsFallsBackToTheAsid)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    constexpr unsigned kPages = 513, kOutside = 600;
    mm_struct* mm = nullptr;
    Delta d;
    e.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        map_pages(c, *mm, kOutside + 1);
        touch(c, kBase);
        touch(c, kBase + (kPages - 1) * a.page_size());
        touch(c, kBase + kOutside * a.page_size());
        const hw::CoreCounters before = c.cpu.counters();
        a.__flush_tlb_range(c, *mm, kBase, kBase + kPages * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d = since(c.cpu, before);
    });
    EXPECT_EQ(d.tlbi, 1u);
    EXPECT_EQ(d.barriers, 2u);
    EXPECT_FALSE(cached(e, kPfn + kOutside)); // the whole ASID went
    EXPECT_EQ(e.k->stats().flushes["flush_tlb_mm"].calls, 1u);
    EXPECT_EQ(e.k->stats().flushes.count("flush_tlb_range"), 0u);
}

TEST(Arm64TlbFlush, BelowMaxDvmOpsIsOneTlbiPerPage)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Delta d;
    e.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_pages(c, mm, 1);
        const hw::CoreCounters before = c.cpu.counters();
        a.__flush_tlb_range(c, mm, kBase, kBase + 511 * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d = since(c.cpu, before);
    });
    EXPECT_EQ(d.tlbi, 511u);
    EXPECT_EQ(d.barriers, 2u);
    EXPECT_EQ(e.k->stats().flushes["tlbi_ops"].pages, 511u);
}

// With FEAT_TLBIRANGE 513 pages are one RVALE1IS (SCALE 1, NUM 7: 512 pages) and one VALE1IS for the odd page;
// entries outside the range stay, none inside does.
TEST(Arm64TlbFlush, RangeOperationsOnV2)
{
    auto e = make_arm64_env("neoverse-v2");
    ASSERT_TRUE(e.k->config().switches.use_tlbi_range);
    Arm64& a = e.arch();
    constexpr unsigned kPages = 513, kOutside = 600;
    mm_struct* mm = nullptr;
    Delta d;
    e.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        map_pages(c, *mm, kOutside + 1);
        for (unsigned i : {0u, 100u, 511u, 512u, kOutside})
            touch(c, kBase + i * a.page_size());
        for (unsigned i = 0; i < kPages; ++i)
            a.__ptep_get_and_clear(c, *mm, kBase + i * a.page_size(), pte_alloc_walk(c, *mm, kBase + i * a.page_size()));
        const hw::CoreCounters before = c.cpu.counters();
        a.__flush_tlb_range(c, *mm, kBase, kBase + kPages * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d = since(c.cpu, before);
    });
    EXPECT_EQ(d.tlbi, 2u);
    EXPECT_EQ(d.barriers, 2u);
    EXPECT_TRUE(e.p->oracle().check_range(kBase, kBase + kPages * a.page_size() - 1, mm->asid, mm->pgd).empty());
    EXPECT_FALSE(cached(e, kPfn + 512));
    EXPECT_TRUE(cached(e, kPfn + kOutside));
    EXPECT_EQ(e.k->stats().flushes["flush_tlb_range"].pages, kPages);
}

TEST(Arm64TlbFlush, RangeSwitchOffOnV2IsThePerPageLoop)
{
    auto e = make_arm64_env("neoverse-v2", {}, {"kernel.use_tlbi_range=false"});
    Arm64& a = e.arch();
    Delta d511, d512, d513;
    e.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        hw::CoreCounters before = c.cpu.counters();
        a.__flush_tlb_range(c, mm, kBase, kBase + 511 * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d511 = since(c.cpu, before);
        before = c.cpu.counters();
        a.__flush_tlb_range(c, mm, kBase, kBase + 512 * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d512 = since(c.cpu, before);
        before = c.cpu.counters();
        a.__flush_tlb_range(c, mm, kBase, kBase + 513 * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
        d513 = since(c.cpu, before);
    });
    EXPECT_EQ(d511.tlbi, 511u);
    EXPECT_EQ(d512.tlbi, 1u); // pages >= MAX_DVM_OPS: the ASID
    EXPECT_EQ(d513.tlbi, 1u);
}

TEST(Arm64TlbFlush, RangeOperationCountsAndLimit)
{
    auto e = make_arm64_env("neoverse-v2");
    Arm64& a = e.arch();
    // pages -> range ops: every scale contributes at most one op, plus one for an odd last page
    const struct {
        std::uint64_t pages;
        std::uint64_t ops;
    } cases[] = {{1, 1}, {2, 1}, {3, 2}, {64, 1}, {65, 2}, {66, 2}, {2048, 1}, {2049, 2}, {2051, 3},
                 {(2u << 16) + (3u << 11) + (5u << 6) + 7, 5}};
    std::vector<std::uint64_t> got;
    e.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        for (const auto& k : cases) {
            const hw::CoreCounters before = c.cpu.counters();
            a.__flush_tlb_range(c, mm, kBase, kBase + k.pages * a.page_size(), a.page_size(), 3, TLBF_NOWALKCACHE);
            got.push_back(since(c.cpu, before).tlbi);
        }
        EXPECT_FALSE(a.__flush_tlb_range_limit_excess(c, MAX_TLBI_RANGE_PAGES, a.page_size()));
        EXPECT_TRUE(a.__flush_tlb_range_limit_excess(c, MAX_TLBI_RANGE_PAGES + 1, a.page_size()));
    });
    for (std::size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(got[i], cases[i].ops) << cases[i].pages << " pages";
    EXPECT_EQ(e.k->stats().flushes.count("flush_tlb_mm"), 0u);
}

TEST(Arm64TlbFlush, FlushTlbMmAndLocalFlush)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    Delta mm_d, local_d;
    std::uint64_t remote_mm = 0, remote_local = 0;
    e.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        map_pages(c, mm, 17);
        touch(c, kBase + 16 * a.page_size());
        vm_area_struct vma = test::make_vma(a, mm, kBase, kBase + 17 * a.page_size());
        std::uint64_t r0 = e.p->core(1).counters().tlbi_received;
        hw::CoreCounters before = c.cpu.counters();
        a.local_flush_tlb_contpte(c, vma, kBase + 5 * a.page_size());
        local_d = since(c.cpu, before);
        remote_local = e.p->core(1).counters().tlbi_received - r0;
        EXPECT_TRUE(cached(e, kPfn + 16)); // outside the 64K block
        r0 = e.p->core(1).counters().tlbi_received;
        before = c.cpu.counters();
        a.flush_tlb_mm(c, mm);
        mm_d = since(c.cpu, before);
        remote_mm = e.p->core(1).counters().tlbi_received - r0;
    });
    EXPECT_EQ(local_d.tlbi, 16u); // VALE1 per page of the block (no range ops on N1)
    EXPECT_EQ(local_d.barriers, 2u);
    EXPECT_EQ(remote_local, 0u); // TLBF_NOBROADCAST
    EXPECT_EQ(mm_d.tlbi, 1u);
    EXPECT_EQ(mm_d.barriers, 2u);
    EXPECT_EQ(remote_mm, 1u);
    EXPECT_FALSE(cached(e, kPfn + 16));
    EXPECT_EQ(e.k->stats().flushes["flush_tlb_range_local"].pages, 16u);
}

TEST(Arm64TlbFlush, TlbFlushOfAnMmuGather)
{
    auto e = make_arm64_env("neoverse-n1");
    Arm64& a = e.arch();
    mmu_gather leaf, tables, full_no_tables;
    leaf.cleared_ptes = true;
    EXPECT_EQ(tlb_get_level(leaf), 3);
    tables.cleared_ptes = tables.cleared_pmds = tables.freed_tables = true;
    EXPECT_EQ(tlb_get_level(tables), TLBI_TTL_UNKNOWN);
    mmu_gather pmds;
    pmds.cleared_pmds = true;
    EXPECT_EQ(tlb_get_level(pmds), 2);
    Delta dl, dt, df;
    mm_struct* mm = nullptr;
    e.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        map_pages(c, *mm, 4);
        for (unsigned i = 0; i < 4; ++i)
            touch(c, kBase + i * a.page_size());
        EXPECT_EQ(mm::tlb_get_unmap_size(c, leaf), a.page_size());
        EXPECT_EQ(mm::tlb_get_unmap_size(c, pmds), std::uint64_t{2} << 20);
        for (mmu_gather* t : {&leaf, &tables, &full_no_tables}) {
            t->mm = mm;
            t->start = kBase;
            t->end = kBase + 3 * a.page_size();
        }
        full_no_tables.fullmm = true;
        hw::CoreCounters before = c.cpu.counters();
        a.tlb_flush(c, leaf);
        dl = since(c.cpu, before);
        EXPECT_FALSE(cached(e, kPfn + 2));
        EXPECT_TRUE(cached(e, kPfn + 3));
        before = c.cpu.counters();
        a.tlb_flush(c, tables);
        dt = since(c.cpu, before);
        before = c.cpu.counters();
        a.tlb_flush(c, full_no_tables);
        df = since(c.cpu, before);
    });
    EXPECT_EQ(dl.tlbi, 3u); // VALE1IS x3
    EXPECT_EQ(dt.tlbi, 3u); // VAE1IS x3
    EXPECT_EQ(df.tlbi, 0u); // exit without freed tables: the ASID is never reused unflushed
}

} // namespace
} // namespace mmusim::mm
