// SPDX-License-Identifier: GPL-2.0-only
// TLB maintenance through the interconnect on a running SystemC platform: which cores' TLBs each operation
// reaches, and that its cycles show up in the issuing core's time.
#include "platform_test_util.hh"

#include "../mmu/mmu_test_util.hh"

#include "hw/invalidation/tlbi_op.hh"
#include "mm/anon_fault.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;
using hw::Category;
using hw::Core;
using hw::TlbiKind;

namespace {

constexpr Addr kBase = 0x400000000ULL;
constexpr int kPages = 8;

// Every core maps (by faulting in) and touches kPages pages, then the core-0 script runs, then every core
// reports how many valid L1D entries it holds.
struct Run {
    std::vector<std::size_t> l1d_after;
    std::vector<std::size_t> l2_after;
    std::vector<Cycles> cycles_in;    // per core, cycles of the category under test during the script
    Cycles script_cycles = 0;         // core 0's time spent in the script
};

Run run(const std::string& platform, unsigned cores, const std::function<void(Core&, const mm::AddressSpace&)>& script,
        Category cat, std::vector<std::string> sets = {})
{
    sets.push_back("cores=" + std::to_string(cores));
    hw::Platform p(platform_config(platform, sets));
    mm::PhysAllocator alloc(p.config().memory.size);
    mm::AddressSpace as(p.format(), alloc, 1);
    mm::AnonFaultHandler fh(as, p.format().page_size(), 0);
    Run out;
    out.l1d_after.resize(cores);
    out.l2_after.resize(cores);
    out.cycles_in.resize(cores);
    std::vector<bool> touched(cores, false);
    for (unsigned i = 0; i < cores; ++i) {
        p.core(i).mmu().set_context(as.asid(), as.pgd());
        p.core(i).set_work([&, i](Core& c) {
            // Core 0 maps the pages; every core then touches them.
            if (i == 0)
                for (int k = 0; k < kPages; ++k)
                    fh.handle_fault(c, kBase + Addr(k) * p.format().page_size(), AccessKind::Write);
            c.sync();
            sc_core::wait(sc_core::sc_time(1, sc_core::SC_US)); // let core 0 map first
            for (int k = 0; k < kPages; ++k)
                EXPECT_EQ(c.translate(kBase + Addr(k) * p.format().page_size(), AccessKind::Read).fault, hw::Fault::None);
            touched[i] = true;
            c.sync();
            sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
            if (i == 0) {
                std::vector<Cycles> before(cores);
                for (unsigned j = 0; j < cores; ++j)
                    before[j] = p.core(j).cycles(cat);
                const Cycles t0 = c.now();
                script(c, as);
                out.script_cycles = c.now() - t0;
                for (unsigned j = 0; j < cores; ++j)
                    out.cycles_in[j] = p.core(j).cycles(cat) - before[j];
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
    return hw::arm64::tlbi(k, hw::arm64::va_operand(va, 1, 12), is);
}

} // namespace

TEST(Maintenance, BroadcastTlbiReachesEveryCoreLocalOnlyTheIssuer)
{
    const auto bcast = run("neoverse-n1", 4, [](Core& c, const mm::AddressSpace&) { c.tlbi(arm_va(TlbiKind::VAE1, kBase, true)); },
                           Category::Tlbi);
    for (unsigned i = 0; i < 4; ++i) {
        EXPECT_EQ(bcast.l1d_after[i], kPages - 1) << "core " << i;
        EXPECT_EQ(bcast.l2_after[i], kPages - 1) << "core " << i;
    }
    const auto local = run("neoverse-n1", 4, [](Core& c, const mm::AddressSpace&) { c.tlbi(arm_va(TlbiKind::VAE1, kBase, false)); },
                           Category::Tlbi);
    EXPECT_EQ(local.l1d_after[0], kPages - 1);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(local.l1d_after[i], kPages) << "core " << i;
}

TEST(Maintenance, AsidAndVmallRemoveWholeContexts)
{
    const auto other_asid = run("neoverse-n1", 2, [](Core& c, const mm::AddressSpace&) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::ASIDE1, std::uint64_t{2} << 48, true));
    }, Category::Tlbi);
    EXPECT_EQ(other_asid.l1d_after[1], kPages) << "ASID 2 names nothing of ASID 1";
    const auto own_asid = run("neoverse-n1", 2, [](Core& c, const mm::AddressSpace&) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::ASIDE1, std::uint64_t{1} << 48, true));
    }, Category::Tlbi);
    EXPECT_EQ(own_asid.l1d_after[0], 0u);
    EXPECT_EQ(own_asid.l1d_after[1], 0u);
    const auto all = run("neoverse-n1", 2, [](Core& c, const mm::AddressSpace&) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::VMALLE1, 0, false));
    }, Category::Tlbi);
    EXPECT_EQ(all.l1d_after[0], 0u);
    EXPECT_EQ(all.l1d_after[1], kPages);
}

TEST(Maintenance, RangeTlbiRemovesExactlyItsRange)
{
    // RVALE1IS over pages 2..5 (SCALE 0, NUM 1 -> 4 pages).
    const auto r = run("neoverse-n1", 2, [](Core& c, const mm::AddressSpace&) {
        c.tlbi(hw::arm64::tlbi(TlbiKind::RVALE1, hw::arm64::range_operand(kBase + 2 * 4096, 1, 12, 0, 1, 3), true));
    }, Category::Tlbi);
    EXPECT_EQ(r.l1d_after[0], kPages - 4u);
    EXPECT_EQ(r.l1d_after[1], kPages - 4u);
}

TEST(Maintenance, TlbiAndDsbCyclesAppearInCoreTime)
{
    const auto& costs = platform_config("neoverse-n1").costs.arm64;
    auto script = [](Core& c, const mm::AddressSpace&) {
        c.barrier(hw::Barrier::DsbIshst);
        for (int k = 0; k < 3; ++k)
            c.tlbi(arm_va(TlbiKind::VALE1, kBase + Addr(k) * 4096, true));
        c.barrier(hw::Barrier::DsbIsh);
    };
    const auto tlbi = run("neoverse-n1", 4, script, Category::Tlbi);
    EXPECT_EQ(tlbi.cycles_in[0], 3 * costs.tlbi_issue);
    for (unsigned i = 1; i < 4; ++i)
        EXPECT_EQ(tlbi.cycles_in[i], 0u) << "receiving cores are not charged for DVM";
    const auto dsb4 = run("neoverse-n1", 4, script, Category::Dsb);
    EXPECT_EQ(dsb4.cycles_in[0],
              costs.dsb_ishst + costs.dsb_ish_base + 3 * (costs.dsb_per_pending_tlbi + 3 * costs.dsb_per_remote_core));
    EXPECT_EQ(dsb4.script_cycles, tlbi.cycles_in[0] + dsb4.cycles_in[0]);
    // More cores to acknowledge: a longer DSB.
    const auto dsb8 = run("neoverse-n1", 8, script, Category::Dsb);
    EXPECT_GT(dsb8.cycles_in[0], dsb4.cycles_in[0]);
}

TEST(Maintenance, X86Cr3WriteIsLocal)
{
    auto script = [](Core& c, const mm::AddressSpace& as) {
        hw::TlbiOp cr3;
        cr3.kind = TlbiKind::MovCr3;
        cr3.asid = as.asid();
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
    auto script = [&](Core& c, const mm::AddressSpace& as) {
        hw::CpuMask mask;
        mask.set(1);
        mask.set(3);
        c.ipi(mask, [&](Core& target) {
            ++ran[target.id()];
            hw::TlbiOp op;
            op.kind = TlbiKind::Invlpg;
            op.operand = kBase;
            op.asid = as.asid();
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

TEST(Maintenance, InvlpgbBroadcastsAndTlbsyncWaits)
{
    const auto& x86 = platform_config("zen4").costs.x86;
    auto script = [](Core& c, const mm::AddressSpace& as) {
        hw::TlbiOp op;
        op.kind = TlbiKind::Invlpgb;
        op.operand = kBase;
        op.pages = 2;
        op.asid = as.asid();
        c.tlbi(op);
        c.barrier(hw::Barrier::Tlbsync);
    };
    // Coalescing off: the pages are allocated back to back and would otherwise share 16K entries.
    const auto r = run("zen4", 4, script, Category::Dsb, {"mmu.coalescing=false"});
    for (unsigned i = 0; i < 4; ++i)
        EXPECT_EQ(r.l1d_after[i], kPages - 2u) << "core " << i;
    EXPECT_EQ(r.cycles_in[0], x86.tlbsync_base + 3 * x86.tlbsync_per_remote_core);
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
    const auto bcast = run("neoverse-n1", 3, [&](Core& c, const mm::AddressSpace&) { c.tlbi(hw::arm64::tlbi(kind, operand, true)); },
                           Category::Tlbi);
    const auto local = run("neoverse-n1", 3, [&](Core& c, const mm::AddressSpace&) { c.tlbi(hw::arm64::tlbi(kind, operand, false)); },
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
