// SPDX-License-Identifier: GPL-2.0-only
// The TLB oracle on a running platform: page-table changes with and without the TLB maintenance they need,
// folds without break-before-make, and frames still mapped by a TLB.
#include "../mmu/mmu_test_util.hh"
#include "../platform/platform_test_util.hh"

#include "hw/invalidation/tlbi_op.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;
using hw::Core;
using hw::TlbiKind;

namespace {

constexpr Addr kVa = 0x7f0000000000ULL;
constexpr PAddr kFrames = 64 * MiB;
constexpr Asid kAsid = 1;

// A two-core arm64 platform with 16 pages mapped at kVa. Both cores touch `touch` pages, then core 0 runs
// `script` (after core 1 is done) and the test inspects the oracle.
struct Machine {
    explicit Machine(bool contiguous = false, const std::string& platform = "neoverse-n1",
                     std::vector<std::string> sets = {})
        : p(platform_config(platform, with_cores(std::move(sets)))), pt(p.format(), p.memory().memory())
    {
        pt.next = 512 * MiB; // tables away from the frames
        pt.map(kVa, kFrames, 16, p.format().levels() - 1, contiguous);
        for (unsigned i = 0; i < 2; ++i)
            p.core(i).mmu().set_context(kAsid, pt.root);
    }
    void run(int touch, const std::function<void(Core&)>& script)
    {
        for (unsigned i = 0; i < 2; ++i)
            p.core(i).set_work([=](Core& c) {
                for (int k = 0; k < touch; ++k)
                    ASSERT_EQ(c.translate(kVa + Addr(k) * 4096, AccessKind::Read).fault, hw::Fault::None);
                c.sync();
                if (c.id() == 0) {
                    sc_core::wait(sc_core::sc_time(1, sc_core::SC_US));
                    script(c);
                }
            });
        p.run();
    }
    PAddr pte(Addr va) { return pt.desc_pa(va, p.format().levels() - 1); }
    hw::Descriptor leaf(Addr va) { return p.format().decode(p.format().levels() - 1, pt.mem.read64(pte(va))); }
    // A kernel store of a new descriptor value (timed, through the core).
    void set(Core& c, Addr va, const hw::Descriptor& d) { c.store(pte(va), p.format().encode(p.format().levels() - 1, d), 8); }
    std::vector<hw::OracleFinding> check(Addr first, Addr last) { return p.oracle().check_range(first, last, kAsid, pt.root); }

    static std::vector<std::string> with_cores(std::vector<std::string> sets)
    {
        sets.push_back("cores=2");
        return sets;
    }
    hw::Platform p;
    PageTableBuilder pt;
};

void tlbi_page(Core& c, Addr va) { c.tlbi(hw::arm64::tlbi(TlbiKind::VALE1, hw::arm64::va_operand(va, kAsid, 12), true)); }

bool mentions(const std::vector<hw::OracleFinding>& fs, unsigned core, const std::string& structure)
{
    for (const auto& f : fs)
        if (f.core == core && f.structure == structure)
            return true;
    return false;
}

} // namespace

TEST(TlbOracle, CleanAfterNormalTranslation)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(16, [&](Core&) { found = m.check(0, m.p.format().user_va_last()); });
    EXPECT_TRUE(found.empty()) << found.front().message();
    EXPECT_EQ(m.p.oracle().violations(), 0u);
}

TEST(TlbOracle, PteChangeWithoutTlbiIsCaught)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(4, [&](Core& c) {
        hw::Descriptor d = m.leaf(kVa + 4096);
        d.oa = 200 * MiB; // remap page 1 to another frame, forgetting the TLBI
        m.set(c, kVa + 4096, d);
        found = m.check(kVa, kVa + 16 * 4096 - 1);
    });
    ASSERT_FALSE(found.empty());
    for (unsigned core : {0u, 1u}) {
        EXPECT_TRUE(mentions(found, core, "l1d")) << core;
        EXPECT_TRUE(mentions(found, core, "l2")) << core;
    }
    const std::string msg = found[0].message();
    EXPECT_NE(msg.find("VA 0x7f0000001000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ASID 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("PA 0xc800000"), std::string::npos) << msg; // what memory now says
    EXPECT_EQ(m.p.oracle().violations(), found.size());
}

TEST(TlbOracle, PteChangeWithTlbiAndDsbIsClean)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(4, [&](Core& c) {
        hw::Descriptor d = m.leaf(kVa + 4096);
        d.oa = 200 * MiB;
        m.set(c, kVa + 4096, d);
        c.barrier(hw::Barrier::DsbIshst);
        tlbi_page(c, kVa + 4096);
        c.barrier(hw::Barrier::DsbIsh);
        found = m.check(kVa, kVa + 16 * 4096 - 1);
    });
    EXPECT_TRUE(found.empty()) << found.front().message();
}

// A broadcast TLBI takes effect at the issuer's DSB ISH: before it, every core may still hold the old entry.
TEST(TlbOracle, PteChangeWithTlbiButWithoutDsbIsCaught)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(4, [&](Core& c) {
        hw::Descriptor d = m.leaf(kVa + 4096);
        d.oa = 200 * MiB;
        m.set(c, kVa + 4096, d);
        c.barrier(hw::Barrier::DsbIshst);
        tlbi_page(c, kVa + 4096);
        found = m.check(kVa, kVa + 16 * 4096 - 1); // the TLBI has not completed yet
        c.barrier(hw::Barrier::DsbIsh);
    });
    EXPECT_TRUE(mentions(found, 1, "l1d"));
}

TEST(TlbOracle, FoldWithoutBreakBeforeMakeIsCaught)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(16, [&](Core& c) {
        // contpte fold done wrong: the 16 PTEs get the contiguous bit in place while the TLBs hold 4K entries.
        for (int i = 0; i < 16; ++i) {
            hw::Descriptor d = m.leaf(kVa + i * 4096);
            d.contiguous = true;
            m.set(c, kVa + i * 4096, d);
        }
        found = m.check(kVa, kVa + 16 * 4096 - 1);
    });
    ASSERT_FALSE(found.empty());
    EXPECT_TRUE(mentions(found, 1, "l1d"));
    EXPECT_NE(found[0].what.find("64K translation"), std::string::npos) << found[0].message();
}

TEST(TlbOracle, UnfoldWithoutBreakBeforeMakeIsCaught)
{
    Machine m(/*contiguous=*/true);
    std::vector<hw::OracleFinding> found;
    m.run(1, [&](Core& c) {
        for (int i = 0; i < 16; ++i) { // unfold in place: the TLBs hold the 64K entry
            hw::Descriptor d = m.leaf(kVa + i * 4096);
            d.contiguous = false;
            m.set(c, kVa + i * 4096, d);
        }
        found = m.check(kVa, kVa + 16 * 4096 - 1);
    });
    ASSERT_FALSE(found.empty());
    EXPECT_TRUE(mentions(found, 0, "l1d"));
    EXPECT_TRUE(mentions(found, 1, "l2"));
    EXPECT_NE(found[0].what.find("a 4K translation"), std::string::npos) << found[0].message();
}

TEST(TlbOracle, FoldConflictEventsReachTheOracle)
{
    Machine m;
    std::vector<hw::OracleFinding> conflicts;
    m.run(1, [&](Core& c) {
        for (int i = 0; i < 16; ++i) {
            hw::Descriptor d = m.leaf(kVa + i * 4096);
            d.contiguous = true;
            m.set(c, kVa + i * 4096, d);
        }
        ASSERT_EQ(c.translate(kVa + 5 * 4096, AccessKind::Read).fault, hw::Fault::None); // walks the 64K run
        conflicts = m.p.oracle().new_conflicts();
    });
    ASSERT_EQ(conflicts.size(), 2u) << "the 64K fill met the 4K entry in L2 and L1D of core 0";
    EXPECT_EQ(conflicts[0].core, 0u);
    EXPECT_EQ(conflicts[0].structure, "l2");
    EXPECT_NE(conflicts[0].what.find("without break-before-make"), std::string::npos) << conflicts[0].message();
    EXPECT_TRUE(m.p.oracle().new_conflicts().empty()) << "each event is reported once";
}

TEST(TlbOracle, AFoldWithoutBreakBeforeMakeIsNoConflictOnBbml2NoabortHardware)
{
    // Linux skips contpte_convert()'s flush when the CPU has BBML2 without conflict aborts: the TLB then serves
    // one of the two sizes, which the model does (the newer), and there is no conflict event.
    Machine m(false, "neoverse-v2", {"features.bbml2_noabort=true"});
    std::vector<hw::OracleFinding> conflicts;
    m.run(1, [&](Core& c) {
        for (int i = 0; i < 16; ++i) {
            hw::Descriptor d = m.leaf(kVa + i * 4096);
            d.contiguous = true;
            m.set(c, kVa + i * 4096, d);
        }
        ASSERT_EQ(c.translate(kVa + 5 * 4096, AccessKind::Read).fault, hw::Fault::None);
        conflicts = m.p.oracle().new_conflicts();
    });
    EXPECT_TRUE(conflicts.empty());
    EXPECT_EQ(m.p.core(0).mmu().stats().bbml2_size_changes, 2u) << "the same two fills as without BBML2, counted";
    EXPECT_EQ(m.p.core(0).mmu().stats().size_conflicts, 0u);
}

TEST(TlbOracle, FrameStillMappedAfterItsPteWasClearedIsReported)
{
    Machine m;
    std::vector<hw::OracleFinding> before, after;
    const PAddr frame = kFrames + 2 * 4096;
    m.run(4, [&](Core& c) {
        m.set(c, kVa + 2 * 4096, hw::Descriptor{}); // pte_clear, TLB flush forgotten
        before = m.p.oracle().frame_mappings(frame, frame + 4095);
        c.barrier(hw::Barrier::DsbIshst);
        tlbi_page(c, kVa + 2 * 4096);
        c.barrier(hw::Barrier::DsbIsh);
        after = m.p.oracle().frame_mappings(frame, frame + 4095);
    });
    ASSERT_FALSE(before.empty());
    EXPECT_TRUE(mentions(before, 1, "l1d"));
    EXPECT_EQ(before[0].va, kVa + 2 * 4096);
    EXPECT_NE(before[0].what.find("maps PA 0x4002000"), std::string::npos) << before[0].message();
    EXPECT_TRUE(after.empty()) << after.front().message();
}

TEST(TlbOracle, WalkCacheStillPointingAtAnUnlinkedTableIsCaught)
{
    Machine m;
    std::vector<hw::OracleFinding> found;
    m.run(1, [&](Core& c) {
        // Free the last-level table (clear the descriptor above it) with a last-level-only TLBI: the walk
        // caches keep the stale table pointer (what free_pte_range must avoid with a non-leaf TLBI).
        c.store(m.pt.desc_pa(kVa, m.p.format().levels() - 2), 0, 8);
        c.tlbi(hw::arm64::tlbi(TlbiKind::VALE1, hw::arm64::va_operand(kVa, kAsid, 12), true));
        c.barrier(hw::Barrier::DsbIsh);
        found = m.check(kVa, kVa + 4095);
    });
    ASSERT_FALSE(found.empty());
    EXPECT_TRUE(mentions(found, 0, "walk cache"));
    EXPECT_TRUE(mentions(found, 1, "walk cache"));
}

TEST(TlbOracle, CheckedModeStopsTheRunWithAnErrorNamingCoreLevelVaAndAsid)
{
    Machine m;
    try {
        m.run(4, [&](Core& c) {
            hw::Descriptor d = m.leaf(kVa + 4096);
            d.write = false; // write-protect without a flush: the TLBs still allow writes
            m.set(c, kVa + 4096, d);
            m.p.oracle().require_clean(kVa, kVa + 16 * 4096 - 1, kAsid, m.pt.root);
        });
        FAIL() << "no error";
    } catch (const hw::TlbCheckError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("TLB check failed: 4 disagreements"), std::string::npos) << msg;
        EXPECT_NE(msg.find("core 1 l1d, VA 0x7f0000001000, ASID 1: holds VA 0x7f0000001000 -> PA 0x4001000"), std::string::npos) << msg;
        EXPECT_NE(msg.find("no write permission"), std::string::npos) << msg;
    }
}
