// SPDX-License-Identifier: GPL-2.0-only
// x86 TLB flushing on simulated cores: INVLPG per page up to the ceiling and one CR3 write above it, IPIs to
// the other CPUs of the mm (lazy ones only when page tables were freed), a CPU that missed a flush catching up
// with a full one, INVLPGB broadcasts once the mm has a global ASID (Zen 4, never Skylake). After each flush,
// the TLB oracle finds no stale translation; the page-table helpers x86 defines itself; make_arch().
#include "../../../hw/page_table_builder.hh"
#include "../../../hw/platform/platform_test_util.hh"

#include "mm/arch/x86/pgtable.hh"
#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

using namespace mmusim;
using namespace mmusim::test;
using mm::Ctx;
using mm::mm_struct;
using mm::X86;

namespace {

constexpr Addr kBase = 0x10000000;
constexpr std::uint64_t kPage = 4096;
constexpr unsigned kPages = 48; // more than the default ceiling of 33
Addr page_va(unsigned n) { return kBase + n * kPage; }

struct Scenario {
    std::string platform = "skylake-sp";
    unsigned cores = 1;
    std::vector<std::string> platform_sets;
    std::vector<std::string> kernel_sets;
    hw::CpuMask lazy; // CPUs in lazy TLB mode for the mm (they touched its pages first)
    // Core 0's part, once every core has touched every page. `pt` finds the PTEs.
    std::function<void(Ctx&, mm_struct&, PageTableBuilder& pt)> script;
};

struct Outcome {
    std::vector<hw::CoreCounters> before, after; // per core, around the script
    std::vector<std::vector<bool>> cached;       // [core][page]: the translation is still in its L1D or L2 TLB
    std::vector<hw::OracleFinding> stale;        // oracle: TLB entries that disagree with the page tables
    mm::MmStats stats;
    bool global_asid = false;
    std::uint64_t tlb_gen = 0;

    std::uint64_t delta(unsigned core, std::uint64_t hw::CoreCounters::*field) const
    {
        return after[core].*field - before[core].*field;
    }
    mm::FlushCount flush(const std::string& kind) const
    {
        const auto it = stats.flushes.find(kind);
        return it == stats.flushes.end() ? mm::FlushCount{} : it->second;
    }
    unsigned cached_pages(unsigned core) const
    {
        unsigned n = 0;
        for (bool b : cached[core])
            n += b;
        return n;
    }
};

// Core 0 allocates an mm and maps kPages pages (timed, through its caches); every core runs the mm and reads
// every page, filling its TLBs; then core 0 runs the script while the others idle (taking interrupts).
Outcome run(const Scenario& s)
{
    std::vector<std::string> sets = s.platform_sets;
    sets.push_back("cores=" + std::to_string(s.cores));
    const hw::PlatformConfig pc = platform_config(s.platform, sets);
    hw::Platform p(pc);
    mm::Kernel k(p, mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml",
                                         s.kernel_sets, pc));
    PageTableBuilder pt(p.format(), p.memory().memory());
    pt.next = pc.memory.size - 512 * MiB; // clear of what the kernel's buddy hands out in a test
    const PAddr frames = pc.memory.size - 256 * MiB;
    const int leaf = p.format().levels() - 1;

    mm_struct* mm = nullptr;
    bool mapped = false, scripted = false;
    unsigned touched = 0;
    Outcome out;
    out.before.resize(s.cores);
    out.after.resize(s.cores);
    for (unsigned i = 0; i < s.cores; ++i) {
        p.core(i).set_work([&, i](hw::Core& cpu) {
            Ctx c{k, cpu};
            if (i == 0) {
                mm = &k.mm_alloc(c);
                pt.root = mm->pgd;
                for (unsigned n = 0; n < kPages; ++n)
                    pt.map(cpu, page_va(n), frames + n * kPage, 1, leaf);
                for (unsigned j = 0; j < s.cores; ++j)
                    mm->cpumask.set(j);
                mm->lazy = s.lazy;
                mapped = true;
            }
            while (!mapped)
                cpu.idle(sc_core::sc_time(100, sc_core::SC_NS));
            cpu.mmu().set_context(mm->asid, mm->pgd);
            for (unsigned n = 0; n < kPages; ++n)
                EXPECT_EQ(cpu.translate(page_va(n), AccessKind::Read).fault, hw::Fault::None);
            ++touched;
            if (i != 0) {
                while (!scripted)
                    cpu.idle(sc_core::sc_time(1, sc_core::SC_US));
                return;
            }
            while (touched < s.cores)
                cpu.idle(sc_core::sc_time(100, sc_core::SC_NS));
            for (unsigned j = 0; j < s.cores; ++j)
                out.before[j] = p.core(j).counters();
            s.script(c, *mm, pt);
            for (unsigned j = 0; j < s.cores; ++j)
                out.after[j] = p.core(j).counters();
            scripted = true;
        });
    }
    p.run();

    out.cached.assign(s.cores, std::vector<bool>(kPages, false));
    for (unsigned i = 0; i < s.cores; ++i)
        for (unsigned n = 0; n < kPages; ++n)
            out.cached[i][n] = p.core(i).mmu().l1d().probe(page_va(n), mm->asid) != nullptr ||
                               p.core(i).mmu().l2().probe(page_va(n), mm->asid) != nullptr;
    out.stale = p.oracle().check_range(kBase, page_va(kPages) - 1, mm->asid, mm->pgd);
    out.stats = k.stats();
    out.global_asid = mm->global_asid;
    out.tlb_gen = p.inspect().read(mm->addr + mm::MM_OFF_TLB_GEN, 8);
    return out;
}

X86& x86arch(Ctx& c)
{
    auto* a = dynamic_cast<X86*>(&c.k.arch());
    if (!a)
        throw std::logic_error("not the x86 architecture");
    return *a;
}

// Unmaps pages [first, first + n): the PTEs are cleared (xchg), nothing is flushed.
void clear_ptes(Ctx& c, mm_struct& mm, PageTableBuilder& pt, unsigned first, unsigned n)
{
    for (unsigned i = first; i < first + n; ++i)
        x86arch(c).ptep_get_and_clear(c, mm, page_va(i), pt.desc_pa(page_va(i), pt.fmt.levels() - 1));
}

std::string describe(const std::vector<hw::OracleFinding>& f)
{
    std::string s;
    for (const auto& x : f)
        s += x.message() + "\n";
    return s;
}

} // namespace

// ---- one CPU ----

TEST(X86Flush, OracleSeesStaleEntriesWithoutAFlush)
{
    Scenario s;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) { clear_ptes(c, mm, pt, 2, 4); };
    const Outcome o = run(s);
    ASSERT_FALSE(o.stale.empty());
    std::vector<bool> seen(kPages, false);
    for (const auto& f : o.stale) {
        ASSERT_GE(f.va, page_va(2));
        ASSERT_LT(f.va, page_va(6));
        seen[(f.va - kBase) / kPage] = true;
    }
    for (unsigned n = 2; n < 6; ++n)
        EXPECT_TRUE(seen[n]) << "page " << n;
    EXPECT_EQ(o.cached_pages(0), kPages);
}

TEST(X86Flush, PartialFlushIsOneInvlpgPerPage)
{
    Scenario s;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 2, 4);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(2), page_va(6), 12, false);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::tlbi_issued), 4u);
    EXPECT_EQ(o.flush("invlpg").calls, 1u);
    EXPECT_EQ(o.flush("invlpg").pages, 4u);
    EXPECT_EQ(o.flush("full_flush").calls, 0u);
    EXPECT_EQ(o.flush("flush_tlb_mm_range").pages, 4u);
    EXPECT_EQ(o.flush("flush_tlb_multi").calls, 0u) << "no other CPU runs the mm";
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::ipis_sent), 0u);
    for (unsigned n = 0; n < kPages; ++n)
        EXPECT_EQ(o.cached[0][n], n < 2 || n >= 6) << "page " << n;
    EXPECT_EQ(o.tlb_gen, 1u) << "inc_mm_tlb_gen()";
}

TEST(X86Flush, CeilingPagesStillInvlpgOneMoreIsAFullFlush)
{
    Scenario s;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 33);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(33), 12, false);
    };
    const Outcome at = run(s);
    EXPECT_TRUE(at.stale.empty()) << describe(at.stale);
    EXPECT_EQ(at.delta(0, &hw::CoreCounters::tlbi_issued), 33u);
    EXPECT_EQ(at.flush("invlpg").pages, 33u);
    EXPECT_EQ(at.cached_pages(0), kPages - 33);

    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 34);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(34), 12, false);
    };
    const Outcome above = run(s);
    EXPECT_TRUE(above.stale.empty()) << describe(above.stale);
    EXPECT_EQ(above.delta(0, &hw::CoreCounters::tlbi_issued), 1u) << "one CR3 write";
    EXPECT_EQ(above.flush("full_flush").calls, 1u);
    EXPECT_EQ(above.flush("invlpg").calls, 0u);
    EXPECT_EQ(above.flush("flush_tlb_mm_range").pages, 0u);
    EXPECT_EQ(above.cached_pages(0), 0u) << "the whole PCID went";
}

TEST(X86Flush, CeilingIsTheKernelSwitch)
{
    Scenario s;
    s.kernel_sets = {"kernel.tlb_single_page_flush_ceiling=2"};
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 3);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(3), 12, false);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.flush("full_flush").calls, 1u);
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::tlbi_issued), 1u);
}

TEST(X86Flush, TlbFlushOfAGather)
{
    Scenario s;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 4, 2);
        mm::mmu_gather tlb;
        tlb.mm = &mm;
        tlb.start = page_va(4);
        tlb.end = page_va(6);
        tlb.cleared_ptes = true;
        x86arch(c).tlb_flush(c, tlb);
    };
    const Outcome range = run(s);
    EXPECT_TRUE(range.stale.empty()) << describe(range.stale);
    EXPECT_EQ(range.flush("tlb_flush").pages, 2u);
    EXPECT_EQ(range.flush("invlpg").pages, 2u);
    EXPECT_EQ(range.cached_pages(0), kPages - 2);

    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, kPages);
        mm::mmu_gather tlb;
        tlb.mm = &mm;
        tlb.start = page_va(0);
        tlb.end = page_va(2);
        tlb.fullmm = true; // exit_mmap: the whole mm, whatever the range says
        tlb.cleared_ptes = true;
        x86arch(c).tlb_flush(c, tlb);
    };
    const Outcome full = run(s);
    EXPECT_TRUE(full.stale.empty()) << describe(full.stale);
    EXPECT_EQ(full.flush("full_flush").calls, 1u);
    EXPECT_EQ(full.cached_pages(0), 0u);
}

// ---- several CPUs ----

TEST(X86Flush, EveryCpuOfTheMmLosesTheRange)
{
    Scenario s;
    s.cores = 4;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 8);
        mm::vm_area_struct vma;
        vma.vm_start = kBase;
        vma.vm_end = page_va(kPages);
        vma.vm_mm = &mm;
        x86arch(c).flush_tlb_range(c, vma, page_va(0), page_va(8));
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    for (unsigned i = 0; i < 4; ++i) {
        for (unsigned n = 0; n < kPages; ++n)
            EXPECT_EQ(o.cached[i][n], n >= 8) << "core " << i << " page " << n;
        EXPECT_EQ(o.delta(i, &hw::CoreCounters::tlbi_issued), 8u) << "core " << i << ": INVLPG per page";
    }
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::ipis_sent), 3u);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(o.delta(i, &hw::CoreCounters::ipis_received), 1u) << "core " << i;
    EXPECT_EQ(o.flush("flush_tlb_multi").calls, 1u);
    EXPECT_EQ(o.flush("flush_tlb_multi").pages, 3u);
    EXPECT_EQ(o.flush("invlpg").calls, 4u);
    EXPECT_EQ(o.flush("invlpg").pages, 32u);
    EXPECT_EQ(o.flush("flush_tlb_range").pages, 8u);
    EXPECT_FALSE(o.global_asid) << "Skylake has no INVLPGB";
}

TEST(X86Flush, LazyCpuIsSkippedUnlessTablesWereFreed)
{
    Scenario s;
    s.cores = 4;
    s.lazy.set(3);
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 4);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(4), 12, false);
    };
    const Outcome skipped = run(s);
    EXPECT_EQ(skipped.delta(0, &hw::CoreCounters::ipis_sent), 2u);
    EXPECT_EQ(skipped.delta(3, &hw::CoreCounters::ipis_received), 0u);
    EXPECT_EQ(skipped.flush("flush_tlb_multi_lazy_skipped").pages, 1u);
    EXPECT_EQ(skipped.cached_pages(3), kPages) << "the lazy CPU flushes when it switches back";
    ASSERT_FALSE(skipped.stale.empty());
    for (const auto& f : skipped.stale)
        EXPECT_EQ(f.core, 3u) << f.message();
    for (unsigned i = 0; i < 3; ++i)
        EXPECT_EQ(skipped.cached_pages(i), kPages - 4) << "core " << i;

    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 4);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(4), 12, true);
    };
    const Outcome freed = run(s);
    EXPECT_TRUE(freed.stale.empty()) << describe(freed.stale);
    EXPECT_EQ(freed.delta(0, &hw::CoreCounters::ipis_sent), 3u);
    EXPECT_EQ(freed.delta(3, &hw::CoreCounters::ipis_received), 1u);
    EXPECT_EQ(freed.cached_pages(3), 0u) << "the lazy CPU leaves the mm: its whole PCID goes";
    EXPECT_EQ(freed.flush("flush_tlb_multi_lazy_skipped").calls, 0u);
}

// tlb_gen: a CPU that missed a flush (lazy then) is two generations behind at the next one, so it cannot catch
// up with that request's range alone: it flushes everything; the others flush the range.
TEST(X86Flush, CpuThatMissedAFlushCatchesUpWithAFullFlush)
{
    Scenario s;
    s.cores = 4;
    s.lazy.set(3);
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 2);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(2), 12, false);
        mm.lazy.reset(3); // core 3 runs the mm again (switch_mm() would have flushed it: the test wants the IPI)
        clear_ptes(c, mm, pt, 2, 2);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(2), page_va(4), 12, false);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.tlb_gen, 2u);
    EXPECT_EQ(o.cached_pages(3), 0u) << "full flush";
    EXPECT_EQ(o.delta(3, &hw::CoreCounters::tlbi_issued), 1u) << "one CR3 write";
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(o.cached_pages(i), kPages - 4) << "core " << i;
        EXPECT_EQ(o.delta(i, &hw::CoreCounters::tlbi_issued), 4u) << "core " << i << ": 2 + 2 INVLPGs";
    }
    EXPECT_EQ(o.flush("full_flush").calls, 1u);
    EXPECT_EQ(o.flush("invlpg").calls, 6u);
}

// Zen 4: the first flush of an mm active on 4 CPUs goes by IPI and gives it a global ASID; from then on its
// flushes are INVLPGB + TLBSYNC, with no IPI.
TEST(X86Flush, Zen4SwitchesAnMmOnFourCpusToInvlpgb)
{
    Scenario s;
    s.platform = "zen4";
    s.cores = 4;
    s.platform_sets = {"mmu.coalescing=false"}; // one TLB entry per page, so that pages can be counted
    hw::CoreCounters after_first, after_second;
    bool global_after_first = false;
    Cycles second_cycles = 0;
    s.script = [&](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        clear_ptes(c, mm, pt, 0, 2);
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(2), 12, false);
        after_first = c.cpu.counters();
        global_after_first = mm.global_asid;
        clear_ptes(c, mm, pt, 2, 4);
        const Cycles t0 = c.cpu.now();
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(2), page_va(6), 12, false);
        second_cycles = c.cpu.now() - t0;
        after_second = c.cpu.counters();
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_TRUE(global_after_first);
    EXPECT_EQ(o.flush("global_asid").calls, 1u);
    EXPECT_EQ(after_first.ipis_sent - o.before[0].ipis_sent, 3u) << "the first flush still goes by IPI";
    EXPECT_EQ(after_second.ipis_sent, after_first.ipis_sent) << "no IPI once on the global ASID";
    EXPECT_EQ(after_second.tlbi_issued - after_first.tlbi_issued, 1u) << "one INVLPGB for 4 pages";
    EXPECT_EQ(after_second.barriers - after_first.barriers, 1u) << "TLBSYNC";
    EXPECT_EQ(o.flush("invlpgb").calls, 1u);
    EXPECT_EQ(o.flush("invlpgb").pages, 1u);
    EXPECT_GT(second_cycles, 0u);
    for (unsigned i = 0; i < 4; ++i) {
        for (unsigned n = 0; n < kPages; ++n)
            EXPECT_EQ(o.cached[i][n], n >= 6) << "core " << i << " page " << n;
        EXPECT_EQ(o.delta(i, &hw::CoreCounters::ipis_received), i == 0 ? 0u : 1u) << "core " << i;
    }
}

TEST(X86Flush, Zen4FullFlushIsOneInvlpgbForThePcid)
{
    Scenario s;
    s.platform = "zen4";
    s.cores = 4;
    s.platform_sets = {"mmu.coalescing=false"};
    hw::CoreCounters before_mm;
    s.script = [&](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        x86arch(c).flush_tlb_mm_range(c, mm, page_va(0), page_va(1), 12, false); // gets the global ASID
        clear_ptes(c, mm, pt, 0, kPages);
        before_mm = c.cpu.counters();
        x86arch(c).flush_tlb_mm(c, mm);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.global_asid);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_EQ(o.after[0].tlbi_issued - before_mm.tlbi_issued, 1u);
    EXPECT_EQ(o.after[0].ipis_sent, before_mm.ipis_sent);
    for (unsigned i = 0; i < 4; ++i)
        EXPECT_EQ(o.cached_pages(i), 0u) << "core " << i;
    EXPECT_EQ(o.flush("invlpgb").calls, 1u);
    EXPECT_EQ(o.flush("flush_tlb_mm").calls, 1u);
}

TEST(X86Flush, Zen4WithoutTheSwitchStaysOnIpis)
{
    Scenario s;
    s.platform = "zen4";
    s.cores = 4;
    s.platform_sets = {"mmu.coalescing=false"};
    s.kernel_sets = {"kernel.use_invlpgb=false"};
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        for (unsigned k = 0; k < 2; ++k) {
            clear_ptes(c, mm, pt, 2 * k, 2);
            x86arch(c).flush_tlb_mm_range(c, mm, page_va(2 * k), page_va(2 * k + 2), 12, false);
        }
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_FALSE(o.global_asid);
    EXPECT_EQ(o.flush("invlpgb").calls, 0u);
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::ipis_sent), 6u);
}

TEST(X86Flush, SkylakeNeverUsesInvlpgb)
{
    Scenario s;
    s.cores = 4;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        for (unsigned k = 0; k < 3; ++k) {
            clear_ptes(c, mm, pt, 2 * k, 2);
            x86arch(c).flush_tlb_mm_range(c, mm, page_va(2 * k), page_va(2 * k + 2), 12, false);
        }
        x86arch(c).flush_tlb_mm(c, mm);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
    EXPECT_FALSE(o.global_asid);
    EXPECT_EQ(o.flush("invlpgb").calls, 0u);
    EXPECT_EQ(o.flush("global_asid").calls, 0u);
    EXPECT_EQ(o.delta(0, &hw::CoreCounters::ipis_sent), 12u) << "4 flushes x 3 other CPUs";
    EXPECT_EQ(o.flush("full_flush").calls, 4u) << "flush_tlb_mm on every CPU";
}

// ---- the page-table helpers x86 defines itself ----

TEST(X86Pgtable, HelpersThroughTheCore)
{
    Scenario s;
    s.script = [](Ctx& c, mm_struct& mm, PageTableBuilder& pt) {
        using namespace mm::x86;
        using mm::pte_t;
        using mm::PtePtr;
        X86& a = x86arch(c);
        const PtePtr p0 = pt.desc_pa(page_va(0), pt.fmt.levels() - 1);
        const pte_t orig = a.ptep_get(c, p0);
        ASSERT_TRUE(a.pte_write(orig));
        ASSERT_TRUE(a.pte_dirty(orig));

        // ptep_set_wrprotect(): one cmpxchg per entry, Dirty moved to SavedDirty.
        std::uint64_t atomics = c.cpu.counters().atomics;
        a.wrprotect_ptes(c, mm, page_va(0), p0, 4);
        EXPECT_EQ(c.cpu.counters().atomics - atomics, 4u);
        for (unsigned i = 0; i < 4; ++i) {
            const pte_t pte = a.ptep_get(c, mm::pte_offset(p0, i));
            EXPECT_FALSE(a.pte_write(pte));
            EXPECT_TRUE(a.pte_dirty(pte));
            EXPECT_EQ(pte.val & (_PAGE_DIRTY | _PAGE_SAVED_DIRTY), _PAGE_SAVED_DIRTY);
        }

        // ptep_set_access_flags(): written only when the caller makes the entry dirty.
        mm::vm_area_struct vma;
        vma.vm_mm = &mm;
        const pte_t ro = a.ptep_get(c, p0);
        const pte_t rw = a.pte_mkwrite(ro);
        EXPECT_EQ(a.ptep_set_access_flags(c, vma, page_va(0), p0, rw, 0), 1);
        EXPECT_EQ(a.ptep_get(c, p0), ro) << "not dirty: the hardware keeps A/D, nothing written";
        EXPECT_EQ(a.ptep_set_access_flags(c, vma, page_va(0), p0, rw, 1), 1);
        EXPECT_EQ(a.ptep_get(c, p0), rw);
        EXPECT_EQ(a.ptep_set_access_flags(c, vma, page_va(0), p0, rw, 1), 0) << "unchanged";

        // get_and_clear_full_ptes(): plain read and clear for a full mm, xchg otherwise; young and dirty
        // gathered into the first entry.
        const PtePtr p8 = pt.desc_pa(page_va(8), pt.fmt.levels() - 1);
        c.cpu.store(p8, a.pte_mkclean(a.ptep_get(c, p8)).val, 8); // only the last of the four stays dirty
        c.cpu.store(mm::pte_offset(p8, 1), a.pte_mkclean(a.ptep_get(c, mm::pte_offset(p8, 1))).val, 8);
        c.cpu.store(mm::pte_offset(p8, 2), a.pte_mkclean(a.ptep_get(c, mm::pte_offset(p8, 2))).val, 8);
        atomics = c.cpu.counters().atomics;
        const pte_t full = a.get_and_clear_full_ptes(c, mm, page_va(8), p8, 4, 1);
        EXPECT_EQ(c.cpu.counters().atomics - atomics, 0u);
        EXPECT_TRUE(a.pte_dirty(full));
        EXPECT_EQ(a.pte_pfn(full), a.pte_pfn(orig) + 8);
        for (unsigned i = 0; i < 4; ++i)
            EXPECT_TRUE(a.pte_none(a.ptep_get(c, mm::pte_offset(p8, i))));
        const PtePtr p12 = pt.desc_pa(page_va(12), pt.fmt.levels() - 1);
        atomics = c.cpu.counters().atomics;
        a.clear_full_ptes(c, mm, page_va(12), p12, 4, 0);
        EXPECT_EQ(c.cpu.counters().atomics - atomics, 4u);
        for (unsigned i = 0; i < 4; ++i)
            EXPECT_TRUE(a.pte_none(a.ptep_get(c, mm::pte_offset(p12, i))));
        x86arch(c).flush_tlb_mm(c, mm);
    };
    const Outcome o = run(s);
    EXPECT_TRUE(o.stale.empty()) << describe(o.stale);
}

// ---- make_arch() ----

TEST(X86Arch, MakeArchPicksByPlatform)
{
    {
        const hw::PlatformConfig pc = platform_config("skylake-sp", {"cores=1"});
        hw::Platform p(pc);
        mm::Kernel k(p, mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml", {}, pc));
        EXPECT_STREQ(k.arch().name(), "x86");
    }
    const hw::PlatformConfig pc = platform_config("riscv-sv39", {"cores=1"});
    hw::Platform p(pc);
    mm::Kernel k(p, mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml", {}, pc));
    EXPECT_STREQ(k.arch().name(), "riscv");
}
