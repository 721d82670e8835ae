// SPDX-License-Identifier: GPL-2.0-only
// The ported kernel end to end on riscv-sv39, with Svadu (hardware A/D) and without it (Svade: a clear A, or
// a write to a clear D, faults): mmap and faults through the MMU on two harts, the zero page then COW, an mTHP
// folio mapped with base PTEs, fork (the child's PTEs are old: A faults without Svadu), a write that reuses
// an exclusive page over a stale read-only TLB entry (update_mmu_cache_range()'s SFENCE.VMA), then munmap
// and exit give every byte back with no TLB reaching a freed frame (checked mode).
#include "../../kernel_test_util.hh"

#include "mm/arch/riscv/pgtable.hh"
#include "mm/fork.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr std::uint64_t kPage = 4096;

class RiscvKernel : public ::testing::TestWithParam<bool> {
protected:
    bool svadu() const { return GetParam(); }
    TestKernel make()
    {
        return make_kernel("riscv-sv39", {"cores=2", "simulation.check=true",
                                          std::string("features.svadu=") + (svadu() ? "true" : "false")});
    }
};

std::string name(const ::testing::TestParamInfo<bool>& i) { return i.param ? "Svadu" : "Svade"; }

// A user access that must not fault (the TLB or a walk serves it as the PTEs are).
void must_translate(Ctx& c, mm_struct& mm, Addr va, AccessKind kind)
{
    use_mm(c, mm);
    EXPECT_EQ(c.cpu.translate(va, kind).fault, hw::Fault::None) << std::hex << va;
}

TEST_P(RiscvKernel, FaultsThenAccessesThroughTheMmu)
{
    TestKernel t = make();
    ASSERT_TRUE(t.p->checked());
    ASSERT_STREQ(t.k->arch().name(), "riscv");
    mm_struct* mm = nullptr;
    std::uint64_t free_before = 0, free_after = 0, fences = 0;
    constexpr unsigned kSmall = 8; // order-0 pages at kBase
    const Addr thp = kBase + 2 * MiB; // a 64K mTHP VMA

    // Core 0: warm-up (per-CPU flush data stays allocated), then the mm, faults, and accesses.
    t.run(0, [&](Ctx& c) {
        {
            mm_struct& w = c.k.mm_alloc(c);
            do_mmap(c, w, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
            user_access(c, w, kBase, AccessKind::Write);
            w.cpumask.set(1);
            __vm_munmap(c, w, kBase, 64 * KiB);
            exit_mmap(c, w);
            c.k.mm_free(c, w);
        }
        free_before = c.k.page_alloc().free_bytes();
        fences = c.k.stats().flushes["update_mmu_cache_range"].pages;
        mm = &c.k.mm_alloc(c);
        ASSERT_EQ(do_mmap(c, *mm, kBase, kSmall * kPage, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0),
                  kBase);
        ASSERT_EQ(do_mmap(c, *mm, thp, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4),
                  thp);

        // Reads map the zero page (one fault each), writes then copy (one more): A is in every protection
        // and D in every write fault, so no access-bit fault follows, with or without Svadu.
        std::uint64_t faults = c.k.stats().faults;
        for (unsigned i = 0; i < kSmall; ++i)
            EXPECT_EQ(user_access(c, *mm, kBase + i * kPage, AccessKind::Read) >> 12, c.k.zero_pfn());
        EXPECT_EQ(c.k.stats().faults - faults, kSmall);
        faults = c.k.stats().faults;
        for (unsigned i = 0; i < kSmall; ++i)
            EXPECT_NE(user_access(c, *mm, kBase + i * kPage, AccessKind::Write) >> 12, c.k.zero_pfn());
        EXPECT_EQ(c.k.stats().faults - faults, kSmall);
        EXPECT_EQ(c.k.stats().pages_copied, kSmall);

        // One write fault maps the whole 64K folio with 16 base PTEs (no NAPOT for mTHP on RISC-V).
        faults = c.k.stats().faults;
        const PAddr pa = user_access(c, *mm, thp + 3 * kPage, AccessKind::Write);
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_EQ(user_access(c, *mm, thp + i * kPage, AccessKind::Write), pa - 3 * kPage + i * kPage) << i;
        EXPECT_EQ(c.k.stats().faults - faults, 1u);
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), kSmall + 16);
        fences = c.k.stats().flushes["update_mmu_cache_range"].pages - fences;
    });
    EXPECT_EQ(fences, 2 * kSmall + 16) << "every PTE a fault installed is fenced on the faulting hart";
    EXPECT_EQ(t.k->stats().batches.at("set_ptes").at(16), 1u);
    for (unsigned i = 0; i < 16; ++i) {
        const hw::Descriptor d = leaf_desc(t, *mm, thp + i * kPage);
        ASSERT_EQ(d.type, hw::Descriptor::Type::Leaf) << i;
        EXPECT_FALSE(d.contiguous) << "base PTEs";
        EXPECT_TRUE(d.write && d.accessed && d.dirty && d.user) << i;
    }

    // Core 1 runs the mm too: every page translates with no fault at all.
    t.run(1, [&](Ctx& c) {
        const std::uint64_t faults = c.k.stats().faults;
        for (unsigned i = 0; i < kSmall; ++i)
            must_translate(c, *mm, kBase + i * kPage, AccessKind::Write);
        for (unsigned i = 0; i < 16; ++i)
            must_translate(c, *mm, thp + i * kPage, AccessKind::Read);
        EXPECT_EQ(c.k.stats().faults, faults);
    });

    // Core 0: fork. The child's PTEs are old and write-protected: without Svadu each first read takes an
    // access fault (handle_pte_fault() -> pte_mkyoung()); with Svadu the walk sets A.
    t.run(0, [&](Ctx& c) {
        const Riscv& a = static_cast<const Riscv&>(c.k.arch());
        mm_struct& child = copy_mm(c, *mm);
        for (unsigned i = 0; i < kSmall; ++i) {
            const pte_t cp{leaf_raw(t, child, kBase + i * kPage)};
            EXPECT_FALSE(a.pte_young(cp)) << "__copy_present_ptes(): pte_mkold()";
            EXPECT_FALSE(a.pte_write(cp));
        }
        std::uint64_t faults = c.k.stats().faults;
        for (unsigned i = 0; i < kSmall; ++i)
            user_access(c, child, kBase + i * kPage, AccessKind::Read);
        EXPECT_EQ(c.k.stats().faults - faults, svadu() ? 0u : kSmall);
        for (unsigned i = 0; i < kSmall; ++i)
            EXPECT_TRUE(a.pte_young(pte_t{leaf_raw(t, child, kBase + i * kPage)})) << "by the walk or the fault";

        // The parent reads page 0 (a read-only entry in the TLB), the child goes, the parent writes: the page
        // is exclusive again and reused in place; the stale read-only entry needs the fault path's fence.
        user_access(c, *mm, kBase, AccessKind::Read);
        exit_mmap(c, child);
        c.k.mm_free(c, child);
        faults = c.k.stats().faults;
        const std::uint64_t reused = c.k.stats().pages_reused;
        const PAddr before = leaf_desc(t, *mm, kBase).oa;
        EXPECT_EQ(user_access(c, *mm, kBase, AccessKind::Write), before) << "reused, not copied";
        EXPECT_EQ(c.k.stats().faults - faults, 1u);
        EXPECT_EQ(c.k.stats().pages_reused - reused, 1u);
        must_translate(c, *mm, kBase, AccessKind::Write);

        // mprotect read-only and back: page 0, exclusive again, becomes writable at once; the others lost
        // PageAnonExclusive at fork and are reused by one write fault each.
        EXPECT_EQ(do_mprotect_pkey(c, *mm, kBase, kSmall * kPage, PROT_READ), 0);
        EXPECT_NE(c.cpu.translate(kBase, AccessKind::Write).fault, hw::Fault::None);
        EXPECT_EQ(do_mprotect_pkey(c, *mm, kBase, kSmall * kPage, PROT_READ | PROT_WRITE), 0);
        EXPECT_TRUE(a.pte_write(pte_t{leaf_raw(t, *mm, kBase)}));
        faults = c.k.stats().faults;
        for (unsigned i = 0; i < kSmall; ++i)
            user_access(c, *mm, kBase + i * kPage, AccessKind::Write);
        EXPECT_EQ(c.k.stats().faults - faults, kSmall - 1);
    });

    // Core 1 still runs the mm: its TLB lost what mprotect changed, and it reads everything again.
    t.run(1, [&](Ctx& c) {
        for (unsigned i = 0; i < kSmall; ++i)
            must_translate(c, *mm, kBase + i * kPage, AccessKind::Write);
    });

    // Core 0: munmap everything (IPIs to core 1, which runs the mm), then exit.
    t.run(0, [&](Ctx& c) {
        EXPECT_EQ(__vm_munmap(c, *mm, kBase, kSmall * kPage), 0);
        EXPECT_EQ(__vm_munmap(c, *mm, thp, 64 * KiB), 0);
        EXPECT_TRUE(mm->vmas.empty());
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), 0);
        use_mm(c, *mm);
        EXPECT_EQ(c.cpu.translate(kBase, AccessKind::Read).fault, hw::Fault::NotPresent);
        exit_mmap(c, *mm);
        c.k.mm_free(c, *mm);
        free_after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(free_after, free_before);
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
    EXPECT_EQ(t.k->stats().pgtables_allocated, t.k->stats().pgtables_freed) << "pgds included";
    EXPECT_EQ(t.p->oracle().queries(), t.k->stats().folios_freed + t.k->stats().pgtables_freed)
        << "every freed frame was checked";
    EXPECT_GT(t.k->stats().flushes.at("on_each_cpu_mask").calls, 0u) << "core 1 was in mm_cpumask";
    EXPECT_GT(t.p->core(1).counters().ipis_received, 0u);
}

INSTANTIATE_TEST_SUITE_P(AccessDirty, RiscvKernel, ::testing::Values(true, false), name);

} // namespace
