// SPDX-License-Identifier: GPL-2.0-only
// RISC-V TLB flushing (arch/riscv/mm/tlbflush.c, asm/tlb.h) on simulated harts: one SFENCE.VMA per page up to
// tlb_flush_all_threshold (64), one for the whole ASID above it; IPIs to the other CPUs of mm_cpumask() and
// none to the rest, the initiator flushing only if it is in the mask; tlb_flush() by range, or the whole ASID
// when tables were freed. After each flush the TLB oracle finds no stale translation, and the cores' TLBs
// still hold what a by-address flush should leave.
#include "riscv_test_util.hh"

#include "mm/mmu_gather.hh"

#include <gtest/gtest.h>

namespace mmusim::mm {
namespace {

using namespace riscv;
using test::make_riscv_env;
using test::make_vma;
using test::pte_alloc_walk;
using test::RiscvEnv;

constexpr Addr kBase = 0x40000000;
constexpr pfn_t kPfn = 0x100000; // frames at 4G (only translated, never touched)
constexpr unsigned kPages = 80;  // more than tlb_flush_all_threshold
Addr page_va(unsigned n) { return kBase + n * PAGE_SIZE; }

struct Scenario {
    unsigned cores = 1;
    hw::CpuMask cpumask;   // mm_cpumask()
    hw::CpuMask touchers;  // cores that run the mm and read every page first
    unsigned cleared = 0;  // pages [0, cleared) have their PTEs cleared before the script
    std::function<void(Ctx&, mm_struct&, vm_area_struct&)> script; // core 0's part
};

struct Outcome {
    std::vector<hw::CoreCounters> before, after;
    std::vector<std::vector<bool>> cached; // [core][page]: still in the core's L1D or L2 TLB
    std::vector<hw::OracleFinding> stale;
    MmStats stats;

    std::uint64_t sfences(unsigned core) const { return after[core].tlbi_issued - before[core].tlbi_issued; }
    std::uint64_t ipis(unsigned core) const { return after[core].ipis_received - before[core].ipis_received; }
    unsigned cached_pages(unsigned core, unsigned first, unsigned last) const
    {
        unsigned n = 0;
        for (unsigned p = first; p < last; ++p)
            n += cached[core][p];
        return n;
    }
    FlushCount flush(const std::string& kind) const
    {
        const auto it = stats.flushes.find(kind);
        return it == stats.flushes.end() ? FlushCount{} : it->second;
    }
};

// Core 0 maps kPages read-only pages and clears the first `cleared` PTEs after every toucher has read every
// page; then it runs the script while the other cores wait, taking interrupts.
Outcome run(const Scenario& s)
{
    RiscvEnv e = make_riscv_env({"cores=" + std::to_string(s.cores)});
    Riscv& a = e.arch();
    mm_struct* mm = nullptr;
    vm_area_struct vma;
    bool mapped = false, cleared = false, scripted = false;
    unsigned touched = 0;
    Outcome out;
    out.before.resize(s.cores);
    out.after.resize(s.cores);
    std::vector<std::function<void(Ctx&)>> work(s.cores);
    for (unsigned i = 0; i < s.cores; ++i) {
        work[i] = [&, i](Ctx& c) {
            if (i == 0) {
                mm = &c.k.mm_alloc(c);
                vma = make_vma(a, *mm, kBase, page_va(kPages));
                for (unsigned n = 0; n < kPages; ++n)
                    a.__set_pte(c, pte_alloc_walk(c, *mm, page_va(n)), a.pfn_pte(kPfn + n, PAGE_READ));
                mm->cpumask = s.cpumask;
                mapped = true;
            }
            while (!mapped)
                c.cpu.idle(sc_core::sc_time(100, sc_core::SC_NS));
            if (s.touchers.test(i)) {
                c.cpu.mmu().set_context(mm->asid, mm->pgd);
                for (unsigned n = 0; n < kPages; ++n)
                    EXPECT_EQ(c.cpu.translate(page_va(n), AccessKind::Read).fault, hw::Fault::None);
            }
            ++touched;
            if (i != 0) {
                while (!scripted)
                    c.cpu.idle(sc_core::sc_time(1, sc_core::SC_US));
                return;
            }
            while (touched < s.cores)
                c.cpu.idle(sc_core::sc_time(100, sc_core::SC_NS));
            for (unsigned n = 0; n < s.cleared; ++n)
                a.ptep_get_and_clear(c, *mm, page_va(n), pte_alloc_walk(c, *mm, page_va(n)));
            cleared = true;
            for (unsigned j = 0; j < s.cores; ++j)
                out.before[j] = e.p->core(j).counters();
            s.script(c, *mm, vma);
            for (unsigned j = 0; j < s.cores; ++j)
                out.after[j] = e.p->core(j).counters();
            scripted = true;
        };
    }
    e.run(work);
    EXPECT_TRUE(cleared);
    out.cached.assign(s.cores, std::vector<bool>(kPages, false));
    for (unsigned i = 0; i < s.cores; ++i)
        for (unsigned n = 0; n < kPages; ++n)
            out.cached[i][n] = e.p->core(i).mmu().l1d().probe(page_va(n), mm->asid) != nullptr ||
                               e.p->core(i).mmu().l2().probe(page_va(n), mm->asid) != nullptr;
    out.stale = e.p->oracle().check_range(kBase, page_va(kPages) - 1, mm->asid, mm->pgd);
    out.stats = e.k->stats();
    return out;
}

hw::CpuMask mask_of(std::initializer_list<unsigned> cpus)
{
    hw::CpuMask m;
    for (unsigned c : cpus)
        m.set(c);
    return m;
}

std::string describe(const std::vector<hw::OracleFinding>& v)
{
    std::string s;
    for (const hw::OracleFinding& f : v)
        s += f.message() + "\n";
    return s;
}

class RiscvRangeFlush : public ::testing::TestWithParam<unsigned> {};

// One CPU: flush_tlb_range() of n pages is one SFENCE.VMA per page up to 64, one for the ASID above it.
TEST_P(RiscvRangeFlush, PerPageUpToTheThresholdWholeAsidAbove)
{
    const unsigned n = GetParam();
    Scenario s;
    s.cpumask = s.touchers = mask_of({0});
    s.cleared = n;
    s.script = [n](Ctx& c, mm_struct&, vm_area_struct& vma) { c.k.arch().flush_tlb_range(c, vma, kBase, page_va(n)); };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.cached_pages(0, 0, n), 0u);
    EXPECT_EQ(o.flush("flush_tlb_range").pages, n);
    EXPECT_EQ(o.flush("on_each_cpu_mask").calls, 0u) << "no other CPU in the mask";
    if (n <= tlb_flush_all_threshold) {
        EXPECT_EQ(o.sfences(0), n);
        EXPECT_EQ(o.flush("sfence_vma").pages, n);
        EXPECT_EQ(o.flush(n == 1 ? "local_flush_tlb_page" : "local_flush_tlb_range").pages, n);
        EXPECT_EQ(o.flush("local_flush_tlb_all_asid").calls, 0u);
        EXPECT_EQ(o.cached_pages(0, n, kPages), kPages - n) << "a by-address flush leaves the rest";
    } else {
        EXPECT_EQ(o.sfences(0), 1u);
        EXPECT_EQ(o.flush("local_flush_tlb_all_asid").calls, 1u);
        EXPECT_EQ(o.flush("local_flush_tlb_range").calls, 0u);
        EXPECT_EQ(o.cached_pages(0, n, kPages), 0u) << "the whole ASID went";
    }
}

INSTANTIATE_TEST_SUITE_P(Pages, RiscvRangeFlush, ::testing::Values(1u, 2u, 64u, 65u, 80u));

// Four CPUs in mm_cpumask(): the other three take an IPI each and flush the range themselves from the
// initiator's flush_tlb_range_data; nothing stale remains anywhere, the rest of the mm stays cached.
TEST(RiscvTlbFlush, RemoteCpusFlushByIpi)
{
    Scenario s;
    s.cores = 4;
    s.cpumask = s.touchers = mask_of({0, 1, 2, 3});
    s.cleared = 8;
    s.script = [](Ctx& c, mm_struct&, vm_area_struct& vma) { c.k.arch().flush_tlb_range(c, vma, kBase, page_va(8)); };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.flush("on_each_cpu_mask").calls, 1u);
    EXPECT_EQ(o.flush("on_each_cpu_mask").pages, 3u) << "the CPUs interrupted";
    EXPECT_EQ(o.flush("local_flush_tlb_range").calls, 4u);
    for (unsigned cpu = 0; cpu < 4; ++cpu) {
        SCOPED_TRACE("cpu " + std::to_string(cpu));
        EXPECT_EQ(o.sfences(cpu), 8u);
        EXPECT_EQ(o.ipis(cpu), cpu == 0 ? 0u : 1u);
        EXPECT_EQ(o.cached_pages(cpu, 0, 8), 0u);
        EXPECT_EQ(o.cached_pages(cpu, 8, kPages), kPages - 8);
    }
}

// A CPU outside mm_cpumask() is left alone; an initiator outside it sends the IPIs without flushing itself
// (on_each_cpu_mask() runs the function locally only for a CPU in the mask).
TEST(RiscvTlbFlush, OnlyTheMaskIsInterrupted)
{
    Scenario s;
    s.cores = 3;
    s.cpumask = s.touchers = mask_of({1, 2});
    s.cleared = 1;
    s.script = [](Ctx& c, mm_struct&, vm_area_struct& vma) { c.k.arch().flush_tlb_page(c, vma, kBase); };
    Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.sfences(0), 0u) << "the initiator is not in the mask";
    EXPECT_EQ(o.ipis(1), 1u);
    EXPECT_EQ(o.ipis(2), 1u);
    EXPECT_EQ(o.flush("local_flush_tlb_page").calls, 2u);
    EXPECT_EQ(o.flush("on_each_cpu_mask").pages, 2u);

    s.cpumask = mask_of({0, 1}); // CPU 2 ran the mm but left the mask: it keeps its (stale) entries
    s.touchers = mask_of({0, 1, 2});
    o = run(s);
    EXPECT_EQ(o.ipis(2), 0u);
    EXPECT_EQ(o.sfences(2), 0u);
    EXPECT_EQ(o.sfences(0), 1u);
    EXPECT_EQ(o.sfences(1), 1u);
    EXPECT_EQ(o.cached_pages(1, 0, 1), 0u);
    EXPECT_EQ(o.cached_pages(2, 0, 1), 1u);
    EXPECT_FALSE(o.stale.empty()) << "the oracle sees what a CPU outside the mask kept";
}

// tlb_flush(): a gathered range of PTEs is flush_tlb_mm_range() with the PTE stride; with page tables freed
// (or a whole mm) it is flush_tlb_mm(): one SFENCE.VMA x0, asid per CPU.
TEST(RiscvTlbFlush, TlbFlushByRangeOrWholeMm)
{
    for (bool freed : {false, true}) {
        SCOPED_TRACE(freed ? "freed tables" : "ptes only");
        Scenario s;
        s.cores = 2;
        s.cpumask = s.touchers = mask_of({0, 1});
        s.cleared = 16;
        s.script = [freed](Ctx& c, mm_struct& mm, vm_area_struct&) {
            mmu_gather tlb;
            tlb.mm = &mm;
            tlb.start = kBase;
            tlb.end = page_va(16);
            tlb.cleared_ptes = true;
            tlb.freed_tables = freed;
            c.k.arch().tlb_flush(c, tlb);
        };
        const Outcome o = run(s);
        EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
        EXPECT_EQ(o.flush("tlb_flush").calls, 1u);
        for (unsigned cpu = 0; cpu < 2; ++cpu) {
            EXPECT_EQ(o.sfences(cpu), freed ? 1u : 16u);
            EXPECT_EQ(o.cached_pages(cpu, 16, kPages), freed ? 0u : kPages - 16);
        }
        EXPECT_EQ(o.flush("flush_tlb_mm").calls, freed ? 1u : 0u);
        EXPECT_EQ(o.flush("flush_tlb_mm_range").pages, freed ? 0u : 16u);
    }
}

TEST(RiscvTlbFlush, FlushTlbMmIsOneAsidFencePerCpu)
{
    Scenario s;
    s.cores = 2;
    s.cpumask = s.touchers = mask_of({0, 1});
    s.cleared = kPages;
    s.script = [](Ctx& c, mm_struct& mm, vm_area_struct&) { c.k.arch().flush_tlb_mm(c, mm); };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.sfences(0), 1u);
    EXPECT_EQ(o.sfences(1), 1u);
    EXPECT_EQ(o.ipis(1), 1u);
    EXPECT_EQ(o.flush("local_flush_tlb_all_asid").calls, 2u);
}

} // namespace
} // namespace mmusim::mm
