// SPDX-License-Identifier: GPL-2.0-only
// TLB maintenance through the interconnect on a running SystemC platform: which cores' TLBs each operation
// reaches, and that its cycles show up in the issuing core's time.
#include "platform_test_util.hh"

#include "../page_table_builder.hh"

#include "hw/invalidation/tlbi_op.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;
using hw::TlbiKind;

namespace {

constexpr Addr kBase = 0x400000000ULL;
constexpr int kPages = 8;
constexpr Asid kAsid = 1;
constexpr PAddr kFrames = 64 * MiB; // the mapped pages' frames, above the page tables

// Core 0 maps kPages pages (timed, as a kernel would), every core touches them, then the core-0 script runs, then every core
// reports how many valid L1D entries it holds.
struct Run {
    std::vector<std::size_t> l1d_after;
    std::vector<std::size_t> l2_after;
    std::vector<Cycles> cycles_in;    // per core, cycles of the category under test during the script
    Cycles script_cycles = 0;         // core 0's time spent in the script
};

Run run(const std::string& platform, unsigned cores, const std::function<void(Core&)>& script,
        Category cat, std::vector<std::string> sets = {})
{
    sets.push_back("cores=" + std::to_string(cores));
    hw::Platform p(platform_config(platform, sets));
    PageTableBuilder pt(p.format(), p.memory().memory());
    const std::uint64_t page = p.format().page_size();
    Run out;
    out.l1d_after.resize(cores);
    out.l2_after.resize(cores);
    out.cycles_in.resize(cores);
    std::vector<bool> touched(cores, false);
    for (unsigned i = 0; i < cores; ++i) {
        p.core(i).mmu().set_context(kAsid, pt.root);
        p.core(i).set_work([&, i](Core& c) {
            // Core 0 maps the pages; every core then touches them.
            if (i == 0)
                for (int k = 0; k < kPages; ++k)
                    pt.map(c, kBase + Addr(k) * page, kFrames + PAddr(k) * page, 1, p.format().levels() - 1);
            c.sync();
            sc_core::wait(sc_core::sc_time(1, sc_core::SC_US)); // let core 0 map first
            for (int k = 0; k < kPages; ++k)
                EXPECT_EQ(c.translate(kBase + Addr(k) * page, AccessKind::Read).fault, hw::Fault::None);
            touched[i] = true;
            c.sync();
            sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
            if (i != 0) // stay running while core 0's script runs: a finished core is idle and charged nothing
                c.idle(sc_core::sc_time(1, sc_core::SC_MS));
            if (i == 0) {
                std::vector<Cycles> before(cores);
                for (unsigned j = 0; j < cores; ++j)
                    before[j] = p.core(j).cycles(cat);
                const Cycles t0 = c.now();
                script(c);
                out.script_cycles = c.now() - t0;
                for (unsigned j = 0; j < cores; ++j)
                    out.cycles_in[j] = p.core(j).cycles(cat) - before[j];
                // Invalidations take effect when they complete: finish what the script left outstanding.
                if (p.interconnect().pending_invalidations(0))
                    c.barrier(p.config().arch == Arch::Arm64 ? hw::Barrier::DsbIsh : hw::Barrier::Tlbsync);
                for (unsigned j = 0; j < cores; ++j) {
                    out.l1d_after[j] = p.core(j).mmu().l1d().valid_entries();
                    out.l2_after[j] = p.core(j).mmu().l2().valid_entries();
                }
            }
        });
    }
    p.run();
    for (unsigned i = 0; i < cores; ++i)
        EXPECT_TRUE(touched[i]);
    return out;
}

hw::TlbiOp arm_va(TlbiKind k, Addr va, bool is)
{
    return hw::arm64::tlbi(k, hw::arm64::va_operand(va, kAsid, 12), is);
}

} // namespace

TEST(Maintenance, BroadcastTlbiReachesEveryCoreLocalOnlyTheIssuer)
{
    const auto bcast = run("neoverse-n1", 4, [](Core& c) { c.tlbi(arm_va(TlbiKind::VAE1, kBase, true)); },
                           Category::Tlbi);
    for (unsigned i = 0; i < 4; ++i) {
        EXPECT_EQ(bcast.l1d_after[i], kPages - 1) << "core " << i;
        EXPECT_EQ(bcast.l2_after[i], kPages - 1) << "core " << i;
    }
    const auto local = run("neoverse-n1", 4, [](Core& c) { c.tlbi(arm_va(TlbiKind::VAE1, kBase, false)); },
                           Category::Tlbi);
    EXPECT_EQ(local.l1d_after[0], kPages - 1);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(local.l1d_after[i], kPages) << "core " << i;
}

TEST(Maintenance, AsidAndVmallRemoveWholeContexts)
{
    const auto other_asid = run("neoverse-n1", 2, [](Core& c) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::ASIDE1, std::uint64_t{2} << 48, true));
    }, Category::Tlbi);
    EXPECT_EQ(other_asid.l1d_after[1], kPages) << "ASID 2 names nothing of ASID 1";
    const auto own_asid = run("neoverse-n1", 2, [](Core& c) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::ASIDE1, std::uint64_t{1} << 48, true));
    }, Category::Tlbi);
    EXPECT_EQ(own_asid.l1d_after[0], 0u);
    EXPECT_EQ(own_asid.l1d_after[1], 0u);
    const auto all = run("neoverse-n1", 2, [](Core& c) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::VMALLE1, 0, false));
    }, Category::Tlbi);
    EXPECT_EQ(all.l1d_after[0], 0u);
    EXPECT_EQ(all.l1d_after[1], kPages);
}

TEST(Maintenance, RangeTlbiRemovesExactlyItsRange)
{
    // RVALE1IS over pages 2..5 (SCALE 0, NUM 1 -> 4 pages), on a core with FEAT_TLBIRANGE.
    const auto r = run("neoverse-v2", 2, [](Core& c) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::RVALE1, hw::arm64::range_operand(kBase + 2 * 4096, 1, 12, 0, 1, 3), true));
    }, Category::Tlbi);
    EXPECT_EQ(r.l1d_after[0], kPages - 4u);
    EXPECT_EQ(r.l1d_after[1], kPages - 4u);
}

TEST(Maintenance, TlbiAndDsbCyclesAppearInCoreTime)
{
    const auto& costs = platform_config("neoverse-n1").costs.arm64;
    const auto script = [](int pages) {
        return [pages](Core& c) {
            c.barrier(hw::Barrier::DsbIshst);
            for (int k = 0; k < pages; ++k)
                c.tlbi(arm_va(TlbiKind::VALE1, kBase + Addr(k) * 4096, true));
            c.barrier(hw::Barrier::DsbIsh);
        };
    };
    const auto tlbi = run("neoverse-n1", 4, script(3), Category::Tlbi);
    EXPECT_EQ(tlbi.cycles_in[0], 3 * costs.tlbi_issue);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(tlbi.cycles_in[i], 0u) << "receiving cores search their TLBs, they issue nothing";
    const auto received = run("neoverse-n1", 4, script(3), Category::TlbiReceive);
    EXPECT_EQ(received.cycles_in[0], 0u);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(received.cycles_in[i], 3 * costs.dvm.lookup) << "core " << i;
    // The DVM node serves one operation at a time: each extra page adds its service time to the DSB's wait.
    const auto dsb1 = run("neoverse-n1", 4, script(1), Category::Dsb);
    const auto dsb3 = run("neoverse-n1", 4, script(3), Category::Dsb);
    const Cycles node_per_op = costs.dvm.service + 3 * costs.dvm.fanout; // sent to 3 other cores
    EXPECT_EQ(dsb3.cycles_in[0] - dsb1.cycles_in[0], 2 * node_per_op - 2 * costs.tlbi_issue);
    // One page: DSB ISHST, then the DSB waits for the TLBI (hop, its node time) and the Sync (its node time, two
    // hops), less the issue time already spent.
    EXPECT_EQ(dsb1.cycles_in[0], costs.dsb_ishst + 3 * costs.dvm.hop + node_per_op + costs.dvm.sync + 3 * costs.dvm.fanout);
    EXPECT_EQ(dsb3.script_cycles, tlbi.cycles_in[0] + dsb3.cycles_in[0]);
}

TEST(Maintenance, X86Cr3WriteIsLocal)
{
    auto script = [](Core& c) {
        hw::TlbiOp cr3;
        cr3.kind = TlbiKind::MovCr3;
        cr3.asid = kAsid;
        c.tlbi(cr3);
    };
    const auto r = run("skylake-sp", 2, script, Category::Tlbi);
    EXPECT_EQ(r.l1d_after[0], 0u);
    EXPECT_EQ(r.l1d_after[1], kPages) << "CR3 write is local";
    EXPECT_EQ(r.cycles_in[0], platform_config("skylake-sp").costs.x86.cr3_write);
}

TEST(Maintenance, X86FullFlushKeepsGlobalEntries)
{
    hw::Platform p(platform_config("skylake-sp", {"cores=1"}));
    PageTableBuilder pt(p.format(), p.memory().memory());
    pt.map(0x10000000, 64 * MiB, 1, 3, false, /*global=*/true);
    pt.map(0x10001000, 65 * MiB, 1, 3, false, /*global=*/false);
    std::size_t before = 0, after = 0;
    p.core(0).mmu().set_context(1, pt.root);
    p.core(0).set_work([&](Core& c) {
        c.translate(0x10000000, AccessKind::Read);
        c.translate(0x10001000, AccessKind::Read);
        before = c.mmu().l1d().valid_entries();
        hw::TlbiOp cr3;
        cr3.kind = TlbiKind::MovCr3;
        cr3.asid = 1;
        c.tlbi(cr3);
        after = c.mmu().l1d().valid_entries();
    });
    p.run();
    EXPECT_EQ(before, 2u);
    EXPECT_EQ(after, 1u);
    EXPECT_NE(p.core(0).mmu().l1d().probe(0x10000000, 1), nullptr) << "the global entry survives";
}

TEST(Maintenance, IpiShootdownReachesExactlyTheMask)
{
    std::vector<int> ran(4, 0);
    const auto& ipi = platform_config("skylake-sp").costs.ipi;
    const auto& x86 = platform_config("skylake-sp").costs.x86;
    auto script = [&](Core& c) {
        hw::CpuMask mask;
        mask.set(1);
        mask.set(3);
        c.ipi(mask, [&](Core& target) {
            ++ran[target.id()];
            hw::TlbiOp op;
            op.kind = TlbiKind::Invlpg;
            op.operand = kBase;
            op.asid = kAsid;
            target.tlbi(op);
        });
    };
    const auto send = run("skylake-sp", 4, script, Category::IpiSend);
    EXPECT_EQ(ran, (std::vector<int>{0, 1, 0, 1}));
    EXPECT_EQ(send.l1d_after[0], kPages);
    EXPECT_EQ(send.l1d_after[1], kPages - 1);
    EXPECT_EQ(send.l1d_after[2], kPages);
    EXPECT_EQ(send.l1d_after[3], kPages - 1);
    EXPECT_EQ(send.cycles_in[0], ipi.send_base + 2 * ipi.send_per_target);
    std::fill(ran.begin(), ran.end(), 0);
    const auto wait = run("skylake-sp", 4, script, Category::IpiWait);
    // The initiator waits for delivery, the handler's entry and its INVLPG, then the acknowledgement.
    EXPECT_EQ(wait.cycles_in[0], ipi.delivery + ipi.handler_entry + x86.invlpg + ipi.ack);
    std::fill(ran.begin(), ran.end(), 0);
    const auto handler = run("skylake-sp", 4, script, Category::IpiHandler);
    EXPECT_EQ(handler.cycles_in[1], ipi.handler_entry);
    EXPECT_EQ(handler.cycles_in[2], 0u);
}

namespace {

hw::TlbiOp invlpgb(Addr va, std::uint32_t pages)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::Invlpgb;
    op.operand = va;
    op.pages = pages;
    op.asid = kAsid;
    return op;
}

// `ops` INVLPGBs of `pages` pages each, one after another, then TLBSYNC (Linux broadcast_tlb_flush()).
std::function<void(Core&)> invlpgb_script(int ops, std::uint32_t pages)
{
    return [ops, pages](Core& c) {
        for (int k = 0; k < ops; ++k)
            c.tlbi(invlpgb(kBase + Addr(k) * pages * 4096, pages));
        c.barrier(hw::Barrier::Tlbsync);
    };
}

} // namespace

TEST(Maintenance, InvlpgbBroadcastsAndTlbsyncWaits)
{
    const auto& x86 = platform_config("zen4").costs.x86;
    const auto& fab = x86.invlpgb_fabric;
    // Coalescing off: the pages are allocated back to back and would otherwise share 16K entries.
    const std::vector<std::string> sets{"mmu.coalescing=false"};
    const auto r = run("zen4", 4, invlpgb_script(1, 2), Category::Dsb, sets);
    for (unsigned i = 0; i < 4; ++i)
        EXPECT_EQ(r.l1d_after[i], kPages - 2u) << "core " << i;
    // (INVLPGB completes at TLBSYNC: the script's own TLBSYNC made the entries go.)
    const auto issued = run("zen4", 4, invlpgb_script(3, 1), Category::Tlbi, sets);
    EXPECT_EQ(issued.cycles_in[0], 3 * x86.invlpgb);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(issued.cycles_in[i], 0u) << "receiving cores search their TLBs, they issue nothing";
    // Each receiving core searches its TLBs once per INVLPGB: a multi-page one is one (range) search.
    const auto received = run("zen4", 4, invlpgb_script(3, 1), Category::TlbiReceive, sets);
    const auto received_range = run("zen4", 4, invlpgb_script(1, 4), Category::TlbiReceive, sets);
    EXPECT_EQ(received.cycles_in[0], 0u);
    for (unsigned i = 1; i < 4; ++i) {
        EXPECT_EQ(received.cycles_in[i], 3 * fab.lookup) << "core " << i;
        EXPECT_EQ(received_range.cycles_in[i], fab.range_lookup) << "core " << i;
    }
    // One page: TLBSYNC waits for the INVLPGB (hop, its fabric time) and its own completion message (its
    // fabric time, two hops), less the issue time already spent. As DSB ISH's wait for a DVM Sync.
    const Cycles per_op = fab.service + 3 * fab.fanout; // sent to 3 other cores
    const auto one = run("zen4", 4, invlpgb_script(1, 1), Category::Dsb, sets);
    EXPECT_EQ(one.cycles_in[0], 3 * fab.hop + per_op + fab.sync + 3 * fab.fanout);
    EXPECT_EQ(one.script_cycles, x86.invlpgb + one.cycles_in[0]);
    // The fabric serves one INVLPGB at a time: each extra one adds its fabric time (here longer than its issue).
    ASSERT_GT(per_op, x86.invlpgb);
    const auto three = run("zen4", 4, invlpgb_script(3, 1), Category::Dsb, sets);
    EXPECT_EQ(three.cycles_in[0] - one.cycles_in[0], 2 * (per_op - x86.invlpgb));
    // TLBSYNC with nothing outstanding: nothing to wait for (Linux does not even issue it).
    const auto idle = run("zen4", 4, [](Core& c) { c.barrier(hw::Barrier::Tlbsync); }, Category::Dsb, sets);
    EXPECT_EQ(idle.cycles_in[0], 0u);
}

// Every arm64 TLBI kind, in its broadcast (IS) and local form: the IS form removes the same entries on every
// core, the local form removes them on the issuer only.
class Arm64Reach : public ::testing::TestWithParam<TlbiKind> {};

TEST_P(Arm64Reach, BroadcastReachesAllCoresLocalOnlyTheIssuer)
{
    const TlbiKind kind = GetParam();
    const std::uint64_t operand = hw::is_range(kind)     ? hw::arm64::range_operand(kBase, 1, 12, 0, 0) // 2 pages
                                  : kind == TlbiKind::ASIDE1 ? std::uint64_t{1} << 48
                                  : kind == TlbiKind::VMALLE1 ? 0
                                                              : hw::arm64::va_operand(kBase, 1, 12);
    // Neoverse V2: the range kinds need FEAT_TLBIRANGE, which N1 lacks.
    const auto bcast = run("neoverse-v2", 3, [&](Core& c) { c.tlbi(hw::arm64::tlbi(kind, operand, true)); },
                           Category::Tlbi);
    const auto local = run("neoverse-v2", 3, [&](Core& c) { c.tlbi(hw::arm64::tlbi(kind, operand, false)); },
                           Category::Tlbi);
    EXPECT_LT(bcast.l1d_after[0], std::size_t(kPages)) << "the operation names some of the entries";
    for (unsigned i = 1; i < 3; ++i) {
        EXPECT_EQ(bcast.l1d_after[i], bcast.l1d_after[0]) << "core " << i;
        EXPECT_EQ(bcast.l2_after[i], bcast.l2_after[0]) << "core " << i;
        EXPECT_EQ(local.l1d_after[i], std::size_t(kPages)) << "core " << i;
    }
    EXPECT_EQ(local.l1d_after[0], bcast.l1d_after[0]);
}

INSTANTIATE_TEST_SUITE_P(AllKinds, Arm64Reach,
                         ::testing::Values(TlbiKind::VAE1, TlbiKind::VALE1, TlbiKind::VAAE1, TlbiKind::VAALE1, TlbiKind::RVAE1,
                                           TlbiKind::RVALE1, TlbiKind::RVAAE1, TlbiKind::RVAALE1, TlbiKind::ASIDE1,
                                           TlbiKind::VMALLE1),
                         [](const ::testing::TestParamInfo<TlbiKind>& i) { return std::string(hw::to_string(i.param)); });

// ---------------------------------------------------------------------------------------------------------
// Timing from mechanism (docs/ARCHITECTURE.md, "TLB maintenance timing")

TEST(MaintenanceTiming, BroadcastTlbiTakesEffectAtTheDsb)
{
    std::size_t before_dsb = 0, after_dsb = 0;
    const auto r = run("neoverse-n1", 2, [&](Core& c) {
        c.tlbi(arm_va(TlbiKind::VAE1, kBase, true));
        before_dsb = c.mmu().l1d().valid_entries();
        c.barrier(hw::Barrier::DsbIsh);
        after_dsb = c.mmu().l1d().valid_entries();
    }, Category::Dsb);
    EXPECT_EQ(before_dsb, std::size_t(kPages)) << "until it completes, the old entry may still be used";
    EXPECT_EQ(after_dsb, kPages - 1u);
    EXPECT_EQ(r.l1d_after[1], kPages - 1u) << "and on every other core";
}

TEST(MaintenanceTiming, LocalTlbiCompletesAtDsbNsh)
{
    std::size_t before = 0, after = 0;
    run("neoverse-n1", 1, [&](Core& c) {
        c.tlbi(arm_va(TlbiKind::VAE1, kBase, false));
        before = c.mmu().l1d().valid_entries();
        c.barrier(hw::Barrier::DsbNsh);
        after = c.mmu().l1d().valid_entries();
    }, Category::Dsb);
    EXPECT_EQ(before, std::size_t(kPages));
    EXPECT_EQ(after, kPages - 1u);
}

// Two cores flush eight pages each at the same simulated time: they share the DVM node, so each one's DSB
// waits longer than when it flushes alone.
TEST(MaintenanceTiming, ConcurrentBroadcastsContend)
{
    // One platform at a time: each owns the SystemC kernel while it exists.
    const auto flush = [](unsigned initiators) {
        hw::Platform p(platform_config("neoverse-n1", {"cores=4"}));
        std::vector<Cycles> dsb(p.cores(), 0);
        for (unsigned i = 0; i < p.cores(); ++i)
            p.core(i).set_work([&, i, initiators](Core& c) {
                if (i >= initiators)
                    return;
                c.barrier(hw::Barrier::DsbIshst);
                for (int k = 0; k < 8; ++k)
                    c.tlbi(arm_va(TlbiKind::VALE1, kBase + Addr(k) * 4096, true));
                const Cycles before = c.cycles(Category::Dsb);
                c.barrier(hw::Barrier::DsbIsh);
                dsb[i] = c.cycles(Category::Dsb) - before;
            });
        p.run();
        return dsb;
    };
    const auto one = flush(1);
    const auto two = flush(2);
    const auto& dvm = platform_config("neoverse-n1").costs.arm64.dvm;
    EXPECT_GT(two[0], one[0]);
    EXPECT_GT(two[1], one[0]);
    // Sixteen operations and two Syncs through one node: the later initiator waits for nearly all of them.
    EXPECT_GE(std::max(two[0], two[1]), one[0] + 7 * (dvm.service + 3 * dvm.fanout));
}

// The same for AMD: two cores' INVLPGBs queue at the one fabric, and each TLBSYNC waits behind them.
TEST(MaintenanceTiming, ConcurrentInvlpgbsQueueAtTheFabric)
{
    struct Flush {
        std::vector<Cycles> wait; // TLBSYNC's
        Cycles end = 0;           // when the last initiator's TLBSYNC returned
    };
    const auto flush = [](unsigned initiators) {
        hw::Platform p(platform_config("zen4", {"cores=4"}));
        Flush f;
        f.wait.assign(p.cores(), 0);
        for (unsigned i = 0; i < p.cores(); ++i)
            p.core(i).set_work([&, i, initiators](Core& c) {
                if (i >= initiators)
                    return;
                for (int k = 0; k < 8; ++k)
                    c.tlbi(invlpgb(kBase + Addr(k) * 4096, 1));
                const Cycles before = c.cycles(Category::Dsb);
                c.barrier(hw::Barrier::Tlbsync);
                f.wait[i] = c.cycles(Category::Dsb) - before;
                f.end = std::max(f.end, c.time());
            });
        p.run();
        return f;
    };
    const auto one = flush(1);
    const auto two = flush(2);
    const auto& fab = platform_config("zen4").costs.x86.invlpgb_fabric;
    EXPECT_GT(two.wait[0], one.wait[0]);
    EXPECT_GT(two.wait[1], one.wait[0]);
    // Sixteen INVLPGBs and two completion messages through one fabric, one at a time: the later TLBSYNC
    // returns no earlier than the fabric took for all of them, plus the hops there and back.
    const Cycles per_op = fab.service + 3 * fab.fanout;
    EXPECT_GE(two.end, 3 * fab.hop + 16 * per_op + 2 * (fab.sync + 3 * fab.fanout));
    EXPECT_GE(two.end, one.end + 8 * per_op);
}

// TLBSYNC's wait grows with the cores the broadcast reaches: the fabric sends the INVLPGB and the completion
// message to each one (what the former flat cost had as tlbsync_per_remote_core, now from mechanism).
TEST(MaintenanceTiming, TlbsyncGrowsWithCoreCount)
{
    const auto& fab = platform_config("zen4").costs.x86.invlpgb_fabric;
    Cycles previous = 0;
    for (unsigned cores : {2u, 4u, 8u, 16u}) {
        const Cycles wait = run("zen4", cores, invlpgb_script(1, 1), Category::Dsb).cycles_in[0];
        EXPECT_EQ(wait, 3 * fab.hop + fab.service + fab.sync + 2 * (cores - 1) * fab.fanout) << cores << " cores";
        EXPECT_GT(wait, previous) << cores << " cores";
        previous = wait;
    }
}

// A multi-page INVLPGB is one operation: one pass through the fabric whatever pages it covers, each receiving
// core searching once (range_lookup); a loop of single-page INVLPGBs pays a pass per page.
TEST(MaintenanceTiming, MultiPageInvlpgbIsOneOperation)
{
    const std::vector<std::string> sets{"mmu.coalescing=false"};
    const Cycles two = run("zen4", 4, invlpgb_script(1, 2), Category::Dsb, sets).cycles_in[0];
    const Cycles many = run("zen4", 4, invlpgb_script(1, 64), Category::Dsb, sets).cycles_in[0];
    EXPECT_EQ(many, two) << "the page count does not change the operation's cost";
    const Cycles loop = run("zen4", 4, invlpgb_script(2, 1), Category::Dsb, sets).cycles_in[0];
    const auto& x86 = platform_config("zen4").costs.x86;
    const auto& fab = x86.invlpgb_fabric;
    // The loop's second INVLPGB costs a pass through the fabric (its issue overlaps part of it); the one range
    // operation costs the range search's extra time over a single-page search, where that is on the critical path.
    const Cycles one_page = run("zen4", 4, invlpgb_script(1, 1), Category::Dsb, sets).cycles_in[0];
    EXPECT_EQ(loop - one_page, fab.service + 3 * fab.fanout - x86.invlpgb);
    EXPECT_GE(two, one_page);
    EXPECT_LE(two - one_page, fab.range_lookup - fab.lookup);
}

// Linux __flush_tlb_range_op with FEAT_TLBIRANGE: the page count is cut into (NUM+1) << (5*SCALE+1) pieces,
// one range TLBI each (arch/arm64/include/asm/tlbflush.h); returns the operands for `pages` 4K pages.
std::vector<std::uint64_t> range_ops(Addr start, std::uint64_t pages)
{
    std::vector<std::uint64_t> ops;
    for (int scale = 0; pages > 0 && scale <= 3;) {
        if (pages % 2) { // an odd page: one non-range TLBI in Linux; a range op of 2 pages would overshoot
            ops.push_back(hw::arm64::va_operand(start, 1, 12));
            start += 4096;
            --pages;
            continue;
        }
        const std::uint64_t num = ((pages >> (5 * scale + 1)) & 31);
        if (num) {
            ops.push_back(hw::arm64::range_operand(start, 1, 12, static_cast<unsigned>(scale), static_cast<unsigned>(num - 1)));
            const std::uint64_t n = num << (5 * scale + 1);
            start += n * 4096;
            pages -= n;
        }
        ++scale;
    }
    return ops;
}

TEST(MaintenanceTiming, RangeTlbiCostFollowsTheOperationsNotThePages)
{
    const auto cost = [](std::uint64_t pages, std::size_t& ops_out) {
        const auto ops = range_ops(kBase, pages);
        ops_out = ops.size();
        return run("neoverse-v2", 4, [&](Core& c) {
            c.barrier(hw::Barrier::DsbIshst);
            for (std::uint64_t op : ops)
                c.tlbi(hw::arm64::tlbi(TlbiKind::RVAE1, op, true));
            c.barrier(hw::Barrier::DsbIsh);
        }, Category::Dsb).cycles_in[0];
    };
    std::size_t ops2 = 0, ops2m = 0;
    const Cycles two = cost(2, ops2), two_million = cost(2'000'000, ops2m);
    EXPECT_EQ(ops2, 1u);
    EXPECT_EQ(ops2m, 3u) << "2,000,000 = 1 x 2^21 ... pieces at three scales";
    const auto& arm = platform_config("neoverse-v2").costs.arm64;
    EXPECT_EQ(two_million - two, (ops2m - ops2) * (arm.dvm.service + 3 * arm.dvm.fanout - arm.tlbi_issue))
        << "each extra operation costs one pass through the DVM node, whatever pages it covers";
    // Against a loop of per-page TLBIs for the same two pages: two operations, one more service time.
    const Cycles loop = run("neoverse-v2", 4, [](Core& c) {
        c.barrier(hw::Barrier::DsbIshst);
        for (int k = 0; k < 2; ++k)
            c.tlbi(arm_va(TlbiKind::VAE1, kBase + Addr(k) * 4096, true));
        c.barrier(hw::Barrier::DsbIsh);
    }, Category::Dsb).cycles_in[0];
    EXPECT_GT(loop, two);
}

TEST(MaintenanceTiming, IpiToAFinishedCoreChargesItNothing)
{
    hw::Platform p(platform_config("skylake-sp", {"cores=2"}));
    Cycles core1_done_at = 0, waited = 0;
    bool handled = false;
    p.core(1).set_work([&](Core& c) { core1_done_at = c.now(); });
    p.core(0).set_work([&](Core& c) {
        c.sync();
        sc_core::wait(sc_core::sc_time(1, sc_core::SC_US)); // core 1 has finished by now
        const Cycles before = c.cycles(Category::IpiWait);
        hw::CpuMask mask;
        mask.set(1);
        c.ipi(mask, [&](Core& target) {
            handled = true;
            hw::TlbiOp op;
            op.kind = TlbiKind::Invlpg;
            op.operand = kBase;
            op.asid = 1;
            target.tlbi(op);
        });
        waited = c.cycles(Category::IpiWait) - before;
    });
    p.run();
    const auto& ipi = p.config().costs.ipi;
    EXPECT_TRUE(handled) << "an idle core still takes the interrupt: its TLBs must be flushed";
    EXPECT_EQ(p.core(1).now(), core1_done_at) << "but its time, which ended with its work, does not grow";
    EXPECT_EQ(waited, ipi.delivery + ipi.handler_entry + p.config().costs.x86.invlpg + ipi.ack)
        << "and the sender still waits for the handler";
}

TEST(MaintenanceTiming, SenderWorksWhileInterruptsAreInFlight)
{
    hw::Platform p(platform_config("skylake-sp", {"cores=2"}));
    Cycles waited = 0, local_work = 0;
    p.core(1).set_work([](Core& c) { c.idle(sc_core::sc_time(1, sc_core::SC_MS)); });
    p.core(0).set_work([&](Core& c) {
        hw::CpuMask mask;
        mask.set(1);
        const hw::IpiHandle sent = c.ipi_send(mask, [](Core&) {});
        local_work = 300;
        c.charge(local_work, Category::Software); // the local flush, overlapping the remote ones
        const Cycles before = c.cycles(Category::IpiWait);
        c.ipi_wait(sent);
        waited = c.cycles(Category::IpiWait) - before;
    });
    p.run();
    const auto& ipi = p.config().costs.ipi;
    EXPECT_EQ(waited + local_work, ipi.delivery + ipi.handler_entry + ipi.ack)
        << "the local work hides part of the round trip";
}
