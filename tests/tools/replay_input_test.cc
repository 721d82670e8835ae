// SPDX-License-Identifier: GPL-2.0-only
// Replays that once gave silent wrong answers: overlapping TLB entries whose hit depended on an unrelated
// access, addresses wider than the format aliasing lower ones, the last page of the address space, physical
// memory lost to alignment, accesses wrapping past 2^64.
#include "replay_test_util.hh"

#include <gtest/gtest.h>

#include <sstream>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string trace_error(const std::string& platform, const std::string& name, const std::string& text,
                        const std::string& format = "native", const std::vector<std::string>& sets = {})
{
    try {
        replay(platform, write_temp(name, text), format, sets);
    } catch (const traces::TraceError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST(ReplayInput, UnrelatedAccessDoesNotChangeWhichTlbEntryHits)
{
    // Skylake-SP with an L2 that holds only 4K and 2M folios (PMD-mapped THPs): the L1D gets a 4K piece from the
    // L2 and later the whole 2M entry from a walk. Only one of them may stay, so the last write hits the dirty
    // 2M entry whether or not 0xa02000 was read in between (this gave 6 walks against 5). The first write maps
    // the THP at 0x800000 (a read would map the huge zero folio, and the later write's copy on write would
    // flush the TLBs); the write to 0xc01000 evicts its 2M entry from the 2-set, direct-mapped 2M L1D array,
    // so the L1D next gets the 4K piece the L2 kept; 0xa02000 is fetched (the huge zero folio) and only read.
    const std::vector<std::string> sets{"kernel.folio_size=2M", "mmu.l2.arrays.0.page_sizes=[4K]",
                                        "mmu.l1d.arrays.0.entries=4", "mmu.l1d.arrays.0.ways=2",
                                        "mmu.l1d.arrays.1.entries=2", "mmu.l1d.arrays.1.ways=1"};
    const std::string head = "W 0x801000\nW 0xc01000\nX 0xa02000\nR 0x801000\nW 0x802000\n";
    const auto a = replay("skylake-sp", write_temp("ovl-a.trace", head + "W 0x801000\n"), "native", sets);
    const auto b = replay("skylake-sp", write_temp("ovl-b.trace", head + "R 0xa02000\nW 0x801000\n"), "native", sets);
    // 2 walks per first touch of each 2M region (fault, then retry) and one for the write to 0x802000.
    EXPECT_EQ(u(a["totals"]["walks"]), 7u);
    EXPECT_EQ(u(b["totals"]["walks"]), 7u);
    EXPECT_EQ(u(a["totals"]["tlb"]["l1d"]["replaced"]), 1u) << "the 2M fill replaced the 4K piece of it";
    EXPECT_EQ(u(a["mm"]["thp_fault_alloc"]), 2u);
    EXPECT_EQ(u(a["mm"]["huge_zero_page_faults"]), 1u);
}

TEST(ReplayInput, AddressWiderThanTheFormatIsAnErrorNotAnAlias)
{
    const std::string m = trace_error("neoverse-n1", "wide.trace", "R 0x1000\nR 0x1000000001000\n");
    EXPECT_NE(m.find("wide.trace:2: address 0x1000000001000 is outside the user address range 0..0xffffffffffff"),
              std::string::npos) << m;
    // x86-64 4-level: the upper canonical half is the kernel's.
    EXPECT_NE(trace_error("skylake-sp", "x86.trace", "R 0x800000000000\n").find("x86.trace:1: address"),
              std::string::npos);
    // An access that starts inside and ends outside.
    EXPECT_NE(trace_error("riscv-sv39", "end.trace", "R 0x3ffffffff8 16\n").find("end.trace:1: access of 16 bytes"),
              std::string::npos);
    // The last byte of the range is fine.
    EXPECT_EQ(u(replay("riscv-sv39", write_temp("top.trace", "R 0x3fffffffff\n"), "native")["totals"]["page_faults"]), 1u);
}

TEST(ReplayInput, LastPageOfTheAddressSpaceFailsAtOnce)
{
    EXPECT_NE(trace_error("neoverse-n1", "last.trace", "R 0xfffffffffffff000\n").find("last.trace:1: address"),
              std::string::npos);
    EXPECT_NE(trace_error("neoverse-n1", "last.lackey", "I  fffffffffffff000,1\n", "lackey").find("last.lackey:1:"),
              std::string::npos);
}

TEST(ReplayInput, AccessWrappingPast2To64NamesItsLine)
{
    EXPECT_NE(trace_error("neoverse-n1", "wrap.trace", "R 0x10\nR 0xfffffffffffffff0 32\n")
                  .find("wrap.trace:2: access of 32 bytes at 0xfffffffffffffff0 wraps past the top"),
              std::string::npos);
    EXPECT_NE(trace_error("neoverse-n1", "wrap.lackey", " M ffffffffffffffff,2\n", "lackey").find("wrap.lackey:1: access of 2 bytes"),
              std::string::npos);
}

TEST(ReplayInput, TopUserPageIsTranslatedOnce)
{
    // The page loop must stop at the last page of a record, even the top one of the range.
    const auto r = replay("neoverse-n1", write_temp("toppage.trace", "R 0xfffffffff000 4096\n"), "native");
    EXPECT_EQ(u(r["trace"]["translations"]), 1u);
}

TEST(ReplayInput, PhysicalMemoryIsUsedWhole)
{
    // 17 2M THPs, each in its own 1G region (so each needs new page-table pages): 34M + tables of 63M. They are
    // written: a read would map the one huge zero folio.
    std::ostringstream t;
    for (int i = 0; i < 17; ++i)
        t << "W 0x" << std::hex << (Addr(i + 1) << 30) << "\n";
    const auto r = replay("neoverse-n1", write_temp("spread.trace", t.str()), "native",
                          {"kernel.folio_size=2M", "memory.size=64M"});
    EXPECT_EQ(u(r["totals"]["page_faults"]), 17u);
    EXPECT_EQ(u(r["mm"]["thp_fault_alloc"]), 17u) << "none fell back to 4K pages";
}

TEST(ReplayInput, CoreBeyondThePlatformCapSaysSo)
{
    const std::string m = trace_error("neoverse-n1", "core.trace", "R 0x10 @300\n");
    EXPECT_NE(m.find("core.trace:1: record for core 300"), std::string::npos) << m;
    EXPECT_NE(m.find("at most 256"), std::string::npos) << m;
    EXPECT_EQ(m.find("raise"), std::string::npos) << m;
}

TEST(ReplayInput, ShippedNativeSampleRunsOnEveryShippedPlatform)
{
    for (const char* p : {"neoverse-n1", "neoverse-v2", "skylake-sp", "zen4", "riscv-sv39"}) {
        const auto r = replay(p, std::string(MMUSIM_SOURCE_DIR) + "/traces/samples/native_example.txt", "native", {"cores=2"});
        EXPECT_EQ(u(r["trace"]["records"]), 16u) << p;
    }
}
