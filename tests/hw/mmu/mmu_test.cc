// SPDX-License-Identifier: GPL-2.0-only
// MMU behaviour: contiguous runs, walk cache, coalescing, hardware A/D updates, L2 refill.
#include "mmu_test_util.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;

namespace {

struct Rig {
    explicit Rig(const std::string& fmt_name, hw::MmuConfig cfg = small_mmu(), hw::FormatOptions o = {})
        : fmt(make_format(fmt_name, o)), mem(1 * GiB), port(mem), pt(*fmt, mem), mmu(cfg, *fmt, port)
    {
        mmu.set_context(1, pt.root);
    }
    std::unique_ptr<hw::PageTableFormat> fmt;
    hw::PhysMemory mem;
    FixedLatencyPort port;
    PageTableBuilder pt;
    hw::Mmu mmu;
};

constexpr Addr kVa = 0x7f0000000000ULL; // 2M-aligned user address

} // namespace

TEST(Mmu, ContiguousRunIsOneEntryAndOneWalkWhenHonoured)
{
    hw::MmuConfig cfg = small_mmu();
    Rig r("arm64", cfg);
    r.pt.map(kVa, 64 * MiB, 16, 3, /*contiguous=*/true);
    for (int i = 0; i < 16; ++i) {
        const auto t = r.mmu.translate(kVa + i * 4096 + 8, AccessKind::Read);
        ASSERT_EQ(t.fault, hw::Fault::None);
        EXPECT_EQ(t.pa, 64 * MiB + i * 4096 + 8);
    }
    EXPECT_EQ(r.mmu.stats().walks, 1u);
    EXPECT_EQ(r.mmu.l1d().valid_entries(), 1u);
    EXPECT_EQ(r.mmu.l1d().stats().misses, 1u);
    EXPECT_EQ(r.mmu.l1d().stats().hits, 15u);
}

TEST(Mmu, ContiguousRunCostsSixteenEntriesWhenNotHonoured)
{
    hw::MmuConfig cfg = small_mmu();
    cfg.walker.contiguous = false;
    Rig r("arm64", cfg);
    r.pt.map(kVa, 64 * MiB, 16, 3, /*contiguous=*/true);
    for (int i = 0; i < 16; ++i)
        ASSERT_EQ(r.mmu.translate(kVa + i * 4096, AccessKind::Read).pa, 64 * MiB + i * 4096);
    EXPECT_EQ(r.mmu.stats().walks, 16u);
    EXPECT_EQ(r.mmu.l1d().valid_entries(), 16u);
}

TEST(Mmu, SvnapotRunIsOneEntry)
{
    Rig r("riscv");
    r.pt.map(0x40000000, 64 * MiB, 16, 2, /*contiguous=*/true);
    for (int i = 0; i < 16; ++i)
        ASSERT_EQ(r.mmu.translate(0x40000000 + i * 4096 + 1, AccessKind::Fetch).pa, 64 * MiB + i * 4096 + 1);
    EXPECT_EQ(r.mmu.stats().walks, 1u);
    EXPECT_EQ(r.mmu.l1i().valid_entries(), 1u);
}

TEST(Mmu, WalkCacheShortensWalks)
{
    for (unsigned wc : {0u, 16u}) {
        Rig r("arm64", small_mmu(16, 16, wc));
        r.pt.map(kVa, 64 * MiB, 4, 3);
        r.mmu.translate(kVa, AccessKind::Read);
        const unsigned first = r.port.reads;
        r.mmu.translate(kVa + 4096, AccessKind::Read); // same last-level table
        const unsigned second = r.port.reads - first;
        EXPECT_EQ(first, 4u) << "4-level walk";
        EXPECT_EQ(second, wc ? 1u : 4u) << "walk cache entries " << wc;
        EXPECT_EQ(r.mmu.stats().walk_cache_hits, wc ? 1u : 0u);
    }
}

TEST(Mmu, BlockMappingAndSplinteringIntoL1)
{
    hw::MmuConfig cfg = small_mmu();
    cfg.l1d = {hw::TlbGeometry{"l1d", 16, 16, {12}, 1}}; // L1 holds 4K only: 2M block splinters
    Rig r("x86-64", cfg);
    r.pt.map(kVa, 512 * MiB, 1, 2); // one 2M leaf at PD level
    EXPECT_EQ(r.mmu.translate(kVa + 0x12345, AccessKind::Write).pa, 512 * MiB + 0x12345);
    EXPECT_EQ(r.mmu.translate(kVa + 0x13000, AccessKind::Read).pa, 512 * MiB + 0x13000); // L1 miss, L2 hit
    EXPECT_EQ(r.mmu.stats().walks, 1u);
    EXPECT_EQ(r.mmu.l2().stats().hits, 1u);
    EXPECT_EQ(r.mmu.l1d().valid_entries(), 2u);
}

TEST(Mmu, AmdCoalescingMergesAlignedAdjacentPtes)
{
    hw::MmuConfig cfg = small_mmu();
    cfg.l1d = {hw::TlbGeometry{"l1d", 16, 16, {12, 14}, 1}};
    cfg.l2 = {hw::TlbGeometry{"l2", 256, 4, {12, 14}, 5}};
    cfg.walker.coalescing = true;
    cfg.walker.coalesce_group = 4;
    Rig r("x86-64", cfg);
    r.pt.map(kVa, 64 * MiB, 4, 3);                 // contiguous, aligned frames: coalesced
    r.pt.map(kVa + 16 * KiB, 80 * MiB + 4096, 4, 3); // frames not 16K aligned: not coalesced
    for (int i = 0; i < 4; ++i)
        r.mmu.translate(kVa + i * 4096, AccessKind::Read);
    EXPECT_EQ(r.mmu.stats().walks, 1u);
    for (int i = 0; i < 4; ++i)
        r.mmu.translate(kVa + 16 * KiB + i * 4096, AccessKind::Read);
    EXPECT_EQ(r.mmu.stats().walks, 5u);
}

TEST(Mmu, HardwareSetsDirtyOnFirstWrite)
{
    Rig r("x86-64");
    r.pt.map(kVa, 64 * MiB, 1, 3, false, false, /*dirty=*/false);
    r.mmu.translate(kVa, AccessKind::Read);
    EXPECT_EQ(r.port.atomics, 0u);
    const auto t = r.mmu.translate(kVa, AccessKind::Write); // read-only-clean entry: walk and set D
    EXPECT_EQ(t.fault, hw::Fault::None);
    EXPECT_EQ(r.port.atomics, 1u) << "a locked OR, not a store";
    EXPECT_EQ(r.port.writes, 0u);
    EXPECT_EQ(r.mmu.stats().walks, 2u);
    r.mmu.translate(kVa, AccessKind::Write);
    EXPECT_EQ(r.mmu.stats().walks, 2u) << "dirty entry now in the TLB";
}

TEST(Mmu, NotPresentFaultReportsDepth)
{
    Rig r("arm64");
    const auto t = r.mmu.translate(kVa, AccessKind::Read);
    EXPECT_EQ(t.fault, hw::Fault::NotPresent);
    EXPECT_EQ(t.fault_depth, 0);
    EXPECT_EQ(r.mmu.stats().faults, 1u);
}

TEST(Mmu, InvalidateReachesEveryLevelAndWalkCache)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 2, 3);
    r.mmu.translate(kVa, AccessKind::Read);
    r.mmu.translate(kVa, AccessKind::Fetch);
    EXPECT_GT(r.mmu.walk_cache().valid_entries(), 0u);
    hw::InvalidationScope all;
    EXPECT_EQ(r.mmu.invalidate(all), 3u); // the page in L1D, L1I (refilled from L2) and L2
    EXPECT_EQ(r.mmu.walk_cache().valid_entries(), 0u);
}

TEST(Mmu, FetchFromANoExecPageFaultsEvenWhenTheL2HoldsIt)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 1, 3);
    // Make the page execute-never, then let a data access bring it into the unified L2.
    const PAddr pte = r.pt.desc_pa(kVa, 3);
    hw::Descriptor d = r.fmt->decode(3, r.mem.read64(pte));
    d.exec = false;
    r.mem.write64(pte, r.fmt->encode(3, d));
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    EXPECT_EQ(r.mmu.translate(kVa, AccessKind::Fetch).fault, hw::Fault::Permission);
    EXPECT_EQ(r.mmu.l1i().valid_entries(), 0u);
}

TEST(Mmu, Arm64HardwareUpdatesChangeOnlyAfAndApBits)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 1, 3);
    const PAddr pte = r.pt.desc_pa(kVa, 3);
    // Young-less, clean (AP[2] set) and DBM, with bits the Descriptor struct does not carry: 59 and 62 (PBHA /
    // ignored in a leaf) must survive the update.
    constexpr std::uint64_t kAf = 1u << 10, kRdonly = 1u << 7, kExtra = (std::uint64_t{1} << 59) | (std::uint64_t{1} << 62);
    const std::uint64_t before = ((r.mem.read64(pte) & ~kAf) | kRdonly) | kExtra;
    r.mem.write64(pte, before);
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    EXPECT_EQ(r.mem.read64(pte), before | kAf) << "read: AF only";
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Write).fault, hw::Fault::None);
    EXPECT_EQ(r.mem.read64(pte), (before | kAf) & ~kRdonly) << "write with DBM: AP[2] cleared, nothing else";
    EXPECT_EQ(r.port.atomics, 2u);
    EXPECT_EQ(r.port.writes, 0u);
}

TEST(Mmu, X86HardwareUpdatesOrInAccessedAndDirty)
{
    Rig r("x86-64");
    r.pt.map(kVa, 64 * MiB, 1, 3, false, false, /*dirty=*/false);
    const PAddr pte = r.pt.desc_pa(kVa, 3);
    constexpr std::uint64_t kA = 1u << 5, kD = 1u << 6, kPkey3 = std::uint64_t{1} << 62;
    const std::uint64_t before = (r.mem.read64(pte) & ~kA) | kPkey3 | (std::uint64_t{1} << 52);
    r.mem.write64(pte, before);
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Write).fault, hw::Fault::None);
    EXPECT_EQ(r.mem.read64(pte), before | kA | kD);
    EXPECT_EQ(r.port.atomics, 1u);
}

TEST(Mmu, Arm64AccessFlagUpdateThatLosesARaceRewalks)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 1, 3);
    const PAddr pte = r.pt.desc_pa(kVa, 3);
    constexpr std::uint64_t kAf = 1u << 10;
    r.mem.write64(pte, r.mem.read64(pte) & ~kAf);
    // Between the walk's read and its compare-and-swap, "another agent" remaps the page to another frame.
    const std::uint64_t other = (r.mem.read64(pte) & ~((std::uint64_t{1} << 48) - 4096)) | (96 * MiB);
    r.port.before_atomic = [&](PAddr pa) { r.mem.write64(pa, other); };
    const auto t = r.mmu.translate(kVa + 8, AccessKind::Read);
    ASSERT_EQ(t.fault, hw::Fault::None);
    EXPECT_EQ(t.pa, 96 * MiB + 8) << "the walk started over and used the new descriptor";
    EXPECT_EQ(r.mem.read64(pte), other | kAf);
    EXPECT_EQ(r.port.atomics, 2u) << "the failed CAS and the one that succeeded";
}

namespace {

void edit_leaf(Rig& r, Addr va, int depth, const std::function<void(hw::Descriptor&)>& f)
{
    const PAddr pte = r.pt.desc_pa(va, depth);
    hw::Descriptor d = r.fmt->decode(depth, r.mem.read64(pte));
    f(d);
    r.mem.write64(pte, r.fmt->encode(depth, d));
}

} // namespace

TEST(Mmu, X86WriteToReadOnlyEntryFaultsFromTheTlbAndDropsIt)
{
    Rig r("x86-64");
    r.pt.map(kVa, 64 * MiB, 2, 3);
    edit_leaf(r, kVa, 3, [](hw::Descriptor& d) { d.write = false; });
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    ASSERT_EQ(r.mmu.translate(kVa + 4096, AccessKind::Read).fault, hw::Fault::None);
    const unsigned reads = r.port.reads;
    const auto t = r.mmu.translate(kVa, AccessKind::Write);
    EXPECT_EQ(t.fault, hw::Fault::Permission);
    EXPECT_EQ(r.port.reads, reads) << "no walk: the cached R/W=0 entry faults";
    EXPECT_EQ(r.mmu.stats().walks, 2u);
    EXPECT_EQ(r.mmu.stats().tlb_permission_faults, 1u);
    // SDM 4.10.4.1: the page fault invalidated the page's entries, not its neighbour's.
    EXPECT_EQ(r.mmu.l1d().probe(kVa, 1), nullptr);
    EXPECT_EQ(r.mmu.l2().probe(kVa, 1), nullptr);
    EXPECT_NE(r.mmu.l1d().probe(kVa + 4096, 1), nullptr);
    // The kernel makes the page writable (no flush needed on x86): the retried write walks and succeeds.
    edit_leaf(r, kVa, 3, [](hw::Descriptor& d) { d.write = true; });
    EXPECT_EQ(r.mmu.translate(kVa, AccessKind::Write).fault, hw::Fault::None);
    EXPECT_EQ(r.mmu.stats().walks, 3u);
}

TEST(Mmu, Arm64DbmCleanEntryRewalksOnlyWithHardwareDirty)
{
    for (bool hw_dirty : {true, false}) {
        hw::MmuConfig cfg = small_mmu();
        cfg.walker.hw_dirty = hw_dirty;
        Rig r("arm64", cfg);
        r.pt.map(kVa, 64 * MiB, 1, 3);
        edit_leaf(r, kVa, 3, [](hw::Descriptor& d) { d.write = false; }); // AP[2]=1, DBM=1: writable-clean
        ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
        const auto t = r.mmu.translate(kVa, AccessKind::Write);
        if (hw_dirty) {
            EXPECT_EQ(t.fault, hw::Fault::None);
            EXPECT_EQ(r.mmu.stats().walks, 2u) << "walk + atomic clear of AP[2]";
            EXPECT_EQ(r.port.atomics, 1u);
        } else {
            EXPECT_EQ(t.fault, hw::Fault::Permission) << "software dirty: the kernel handles the fault";
            EXPECT_EQ(r.mmu.stats().walks, 1u);
            EXPECT_NE(r.mmu.l1d().probe(kVa, 1), nullptr) << "arm64 keeps the entry: the kernel flushes it";
        }
    }
}

TEST(Mmu, Arm64WriteToReadOnlyEntryFaultsWithoutAWalk)
{
    Rig r("arm64");
    r.pt.map(kVa, 64 * MiB, 1, 3);
    edit_leaf(r, kVa, 3, [](hw::Descriptor& d) {
        d.write = false;
        d.dbm = false; // truly read-only
    });
    ASSERT_EQ(r.mmu.translate(kVa, AccessKind::Read).fault, hw::Fault::None);
    EXPECT_EQ(r.mmu.translate(kVa, AccessKind::Write).fault, hw::Fault::Permission);
    EXPECT_EQ(r.mmu.stats().walks, 1u);
    EXPECT_EQ(r.mmu.stats().tlb_permission_faults, 1u);
}
