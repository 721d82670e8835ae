// SPDX-License-Identifier: GPL-2.0-only
// Contiguous runs are used only when correctly programmed, and TLB conflicts (two sizes for one address, a
// misprogrammed run) are reported, never silently served.
#include "mmu_test_util.hh"

#include <gtest/gtest.h>

#include <functional>

using namespace mmusim;
using namespace mmusim::test;

namespace {

constexpr Addr kVa = 0x7f0000000000ULL;

struct Rig {
    explicit Rig(const std::string& fmt_name, hw::MmuConfig cfg = small_mmu())
        : fmt(make_format(fmt_name)), mem(1 * GiB), port(mem), pt(*fmt, mem), mmu(cfg, *fmt, port)
    {
        mmu.set_context(1, pt.root);
    }
    PAddr leaf(Addr va, int depth) { return pt.desc_pa(va, depth); }
    void edit(Addr va, int depth, const std::function<void(hw::Descriptor&)>& f)
    {
        hw::Descriptor d = fmt->decode(depth, mem.read64(leaf(va, depth)));
        f(d);
        mem.write64(leaf(va, depth), fmt->encode(depth, d));
    }
    std::unique_ptr<hw::PageTableFormat> fmt;
    hw::PhysMemory mem;
    FixedLatencyPort port;
    PageTableBuilder pt;
    hw::Mmu mmu;
};

struct Misprogram {
    const char* name;
    unsigned entry;
    std::function<void(hw::Descriptor&)> edit;
    hw::RunProblem problem;
};

} // namespace

TEST(TlbConflict, MisprogrammedRunsAreReportedAndNotUsedAsOneEntry)
{
    const Misprogram cases[] = {
        {"cont bit missing", 5, [](hw::Descriptor& d) { d.contiguous = false; }, hw::RunProblem::NotALeaf},
        {"output elsewhere", 3, [](hw::Descriptor& d) { d.oa += 64 * KiB; }, hw::RunProblem::OutputNotInRun},
        {"execute-never", 7, [](hw::Descriptor& d) { d.exec = false; }, hw::RunProblem::AttributesDiffer},
        {"memory type", 15, [](hw::Descriptor& d) { d.attr = 1; }, hw::RunProblem::AttributesDiffer},
    };
    for (const Misprogram& m : cases) {
        Rig r("arm64");
        r.pt.map(kVa, 64 * MiB, 16, 3, /*contiguous=*/true);
        r.edit(kVa + m.entry * 4096, 3, m.edit);
        const auto t = r.mmu.translate(kVa + 8, AccessKind::Read);
        ASSERT_EQ(t.fault, hw::Fault::None) << m.name;
        EXPECT_EQ(t.pa, 64 * MiB + 8) << m.name;
        EXPECT_EQ(r.mmu.l1d().probe(kVa + 4096, 1), nullptr) << m.name << ": the page alone, not the run";
        ASSERT_EQ(r.mmu.stats().misprogrammed_runs, 1u) << m.name;
        ASSERT_EQ(r.mmu.conflicts().size(), 1u);
        const hw::TlbConflict& c = r.mmu.conflicts()[0];
        EXPECT_EQ(c.kind, hw::ConflictKind::MisprogrammedRun);
        EXPECT_EQ(c.run.problem, m.problem) << m.name;
        EXPECT_EQ(c.run.entry, m.entry) << m.name;
        EXPECT_NE(c.describe().find("misprogrammed contiguous run at VA 0x7f0000000008"), std::string::npos) << c.describe();
    }
}

TEST(TlbConflict, AccessFlagAndDbmDirtyStateMayDifferWithinARun)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 16, 3, /*contiguous=*/true);
    r.edit(kVa + 2 * 4096, 3, [](hw::Descriptor& d) { d.accessed = false; });
    r.edit(kVa + 4 * 4096, 3, [](hw::Descriptor& d) { d.write = false; }); // AP[2] set, DBM set: clean
    r.edit(kVa + 6 * 4096, 3, [](hw::Descriptor& d) { d.sw_dirty = true; }); // software bit
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    EXPECT_EQ(r.mmu.stats().misprogrammed_runs, 0u);
    EXPECT_EQ(r.mmu.l1d().valid_entries(), 1u) << "one 64K entry";
}

TEST(TlbConflict, SvnapotPagesMapTheirOwnFramesWhenTheHintIsNotHonoured)
{
    hw::MmuConfig cfg = small_mmu();
    cfg.walker.contiguous = false;
    Rig r("riscv", cfg);
    r.pt.map(0x40000000, 64 * MiB, 16, 2, /*contiguous=*/true);
    for (int i = 0; i < 16; ++i)
        EXPECT_EQ(r.mmu.translate(0x40000000 + i * 4096 + 1, AccessKind::Read).pa, 64 * MiB + i * 4096 + 1) << i;
}

TEST(TlbConflict, FoldWithoutBreakBeforeMakeIsAConflict)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 16, 3);
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None); // 4K entry in L1D and L2
    // contpte fold in place: the same frames, now with the contiguous bit, and no TLBI.
    for (int i = 0; i < 16; ++i)
        r.edit(kVa + i * 4096, 3, [](hw::Descriptor& d) { d.contiguous = true; });
    ASSERT_EQ(r.mmu.translate(kVa + 4096, AccessKind::Read).fault, hw::Fault::None); // walk: the 64K run
    EXPECT_EQ(r.mmu.stats().size_conflicts, 2u) << "the 64K fill met the live 4K entry in L2 and in L1D";
    ASSERT_FALSE(r.mmu.conflicts().empty());
    const hw::TlbConflict& c = r.mmu.conflicts()[0];
    EXPECT_EQ(c.kind, hw::ConflictKind::MultipleSizes);
    EXPECT_EQ(c.level, "l2");
    EXPECT_EQ(c.held.trans_shift, 12u);
    EXPECT_EQ(c.filled.trans_shift, 16u);
    EXPECT_EQ(c.va, kVa);
    EXPECT_EQ(r.mmu.l1d().valid_entries(), 1u) << "a level still holds one entry per address";
}

TEST(TlbConflict, FoldWithBreakBeforeMakeIsClean)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 16, 3);
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    for (int i = 0; i < 16; ++i)
        r.edit(kVa + i * 4096, 3, [](hw::Descriptor& d) { d = hw::Descriptor{}; }); // break
    hw::InvalidationScope s;
    s.by_va = true;
    s.va_start = kVa;
    s.va_last = kVa + 64 * KiB - 1;
    r.mmu.invalidate(s);
    r.pt.map(kVa, 64 * MiB, 16, 3, /*contiguous=*/true); // make
    ASSERT_EQ(r.mmu.translate(kVa + 4096, AccessKind::Read).fault, hw::Fault::None);
    EXPECT_EQ(r.mmu.stats().size_conflicts, 0u);
    EXPECT_TRUE(r.mmu.conflicts().empty());
}

TEST(TlbConflict, HardwareCoalescingReplacingPagesIsNoConflict)
{
    hw::MmuConfig cfg = small_mmu();
    cfg.l1d = {hw::TlbGeometry{"l1d", 16, 16, {12, 14}, 1}};
    cfg.l2 = {hw::TlbGeometry{"l2", 256, 4, {12, 14}, 5}};
    cfg.walker.coalescing = true;
    Rig r("x86-64", cfg);
    r.pt.map(kVa, 64 * MiB, 1, 3);
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None); // a lone 4K page
    r.pt.map(kVa + 4096, 64 * MiB + 4096, 3, 3); // not-present -> present: no flush needed
    ASSERT_EQ(r.mmu.translate(kVa + 4096, AccessKind::Read).fault, hw::Fault::None); // a 16K group
    EXPECT_GT(r.mmu.l2().arrays()[0].stats().replaced, 0u);
    EXPECT_EQ(r.mmu.stats().size_conflicts, 0u);
}
