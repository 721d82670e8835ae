// SPDX-License-Identifier: GPL-2.0-only
// MESI coherence of the private cache levels with a directory at the shared level, driven through
// MemorySystem::access directly (no core threads): which copies survive each access and what it costs.
#include "../platform/platform_test_util.hh"

#include "util/config_error.hh"

#include <gtest/gtest.h>

#include <random>

using namespace mmusim;
using namespace mmusim::test;
using hw::LineOp;
using hw::Mesi;

namespace {

constexpr PAddr kLine = 0x100000;

struct Machine {
    explicit Machine(unsigned cores, const std::string& name = "neoverse-n1")
        : Machine(platform_config(name, {"cores=" + std::to_string(cores)}))
    {
    }
    explicit Machine(const hw::PlatformConfig& cfg) : p(cfg), m(p.memory()), c(p.config().memory.coherence) {}
    Cycles lat(std::size_t level) const { return p.config().memory.levels[level].latency; }
    hw::Platform p;
    hw::MemorySystem& m;
    hw::CoherenceCosts c;
};

TEST(Coherence, ReadsShareALineAndTheFirstIsExclusive)
{
    Machine x(2);
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Read), x.p.config().memory.dram_latency);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::E);
    // Core 1 misses on a line core 0 holds clean and exclusive: a snoop, then both hold it Shared.
    EXPECT_EQ(x.m.access(1, kLine, LineOp::Read), std::max(x.lat(2), x.c.remote_clean));
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::S);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::S);
    EXPECT_EQ(x.m.coherence_stats(1).remote_clean, 1u);
}

TEST(Coherence, StoreToASharedLineIsAnUpgradeNotAnL1Hit)
{
    Machine x(2);
    x.m.access(0, kLine, LineOp::Read);
    x.m.access(1, kLine, LineOp::Read);
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Write), x.lat(0) + x.c.upgrade);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::M);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::I); // invalidated in every private level
    EXPECT_FALSE(x.m.contains(1, 0, kLine));
    EXPECT_FALSE(x.m.contains(1, 1, kLine));
    EXPECT_EQ(x.m.coherence_stats(0).upgrades, 1u);
    EXPECT_EQ(x.m.coherence_stats(0).invalidations_sent, 1u);
    // Now the store hits its own Modified line.
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Write), x.lat(0));
}

TEST(Coherence, ReadOfALineDirtyElsewherePaysTheForward)
{
    Machine x(2);
    x.m.access(0, kLine, LineOp::Write);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::M);
    EXPECT_EQ(x.m.access(1, kLine, LineOp::Read), x.c.remote_dirty);
    EXPECT_EQ(x.m.coherence_stats(1).remote_dirty, 1u);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::S);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::S);
}

TEST(Coherence, StoreMissOnALineHeldElsewhereInvalidatesAndPaysTheTransfer)
{
    Machine x(3);
    x.m.access(0, kLine, LineOp::Write);
    EXPECT_EQ(x.m.access(1, kLine, LineOp::Write), x.c.remote_dirty);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::I);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::M);
    x.m.access(0, kLine, LineOp::Read);
    x.m.access(2, kLine, LineOp::Read); // now S in 0, 1 and 2
    EXPECT_EQ(x.m.access(2, kLine, LineOp::Write), x.lat(0) + x.c.upgrade);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::I);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::I);
    EXPECT_EQ(x.m.coherence_stats(2).invalidations_sent, 2u);
}

TEST(Coherence, ReadExclusiveTakesTheLineWithoutDirtyingIt)
{
    Machine x(2);
    x.m.access(0, kLine, LineOp::Read);
    x.m.access(1, kLine, LineOp::Read);
    x.m.access(1, kLine, LineOp::ReadExclusive); // a failed cmpxchg
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::E);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::I);
    // A clean exclusive copy elsewhere costs a snoop, not a dirty forward.
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Read), std::max(x.lat(2), x.c.remote_clean));
}

TEST(Coherence, FarAtomicLeavesNoPrivateCopy)
{
    Machine x(8); // enough cores for the directory
    x.m.access(0, kLine, LineOp::Write);
    x.m.access(1, kLine, LineOp::FarAtomic);
    EXPECT_EQ(x.m.line_state(0, kLine), Mesi::I);
    EXPECT_EQ(x.m.line_state(1, kLine), Mesi::I);
    EXPECT_EQ(x.m.coherence_stats(1).remote_dirty, 1u);
    EXPECT_EQ(x.m.directory().find(kLine >> 6), nullptr);
    // The next far atomic finds the line at the shared level.
    EXPECT_EQ(x.m.access(1, kLine, LineOp::FarAtomic), x.lat(2));
}

TEST(Coherence, DirectoryForgetsLinesNoPrivateLevelHolds)
{
    Machine x(8);
    ASSERT_GE(8u, x.p.config().memory.directory_from_cores);
    const auto& l2 = x.p.config().memory.levels[1];
    const std::uint64_t lines = 4 * l2.size / l2.line_size; // far more than both private levels hold
    for (std::uint64_t i = 0; i < lines; ++i)
        x.m.access(0, i * 64, LineOp::Read);
    const auto& l1 = x.p.config().memory.levels[0];
    EXPECT_LE(x.m.directory().lines(), (l1.size + l2.size) / 64);
    EXPECT_GE(x.m.directory().lines(), l2.size / 64);
    // And a line evicted from core 0 is a plain miss for core 1.
    EXPECT_EQ(x.m.line_state(0, 0), Mesi::I);
    EXPECT_EQ(x.m.access(1, 0, LineOp::Write), x.p.config().memory.dram_latency);
}

TEST(Coherence, OneCoreKeepsThePlainLatencies)
{
    Machine x(1);
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Read), x.p.config().memory.dram_latency);
    EXPECT_EQ(x.m.access(0, kLine, LineOp::Write), x.lat(0));
    EXPECT_EQ(x.m.directory().lines(), 0u);
}

TEST(Coherence, PrivateLevelAfterASharedOneIsAConfigError)
{
    EXPECT_THROW(platform_config("neoverse-n1", {"caches.levels.0.shared=true"}), ConfigError);
}

TEST(Coherence, TooManyWaysOrPrivateLevelsAreConfigErrors)
{
    try {
        platform_config("neoverse-n1", {"caches.levels.0.ways=256"});
        ADD_FAILURE() << "256 ways accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("ways"), std::string::npos) << e.what();
    }
    EXPECT_NO_THROW(platform_config("neoverse-n1", {"caches.levels.2.shared=false"})); // three private levels
    // Five private levels
    try {
        std::string levels = "caches.levels=[";
        for (int i = 1; i <= 5; ++i)
            levels += std::string(i > 1 ? ", " : "") + "{name: l" + std::to_string(i) + ", size: 64K, ways: 4, latency: " +
                      std::to_string(4 * i) + "}";
        platform_config("neoverse-n1", {levels + "]"});
        ADD_FAILURE() << "five private levels accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("at most 4 private cache levels"), std::string::npos) << e.what();
    }
}

} // namespace

// Below MemorySystemConfig::directory_from_cores the memory system searches the other cores' private levels
// instead of keeping a directory: a host-side choice that must not change a single latency or count.
TEST(Coherence, SearchingThePrivateLevelsGivesWhatTheDirectoryGives)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        hw::PlatformConfig with = platform_config(platform, {"cores=4"});
        hw::PlatformConfig without = with;
        with.memory.directory_from_cores = 1;
        without.memory.directory_from_cores = 64;
        Machine a(with), b(without);
        std::mt19937_64 rng(42);
        const LineOp ops[] = {LineOp::Read, LineOp::Write, LineOp::ReadExclusive, LineOp::FarAtomic};
        // A working set a little larger than the private levels, so lines are evicted and re-fetched.
        const std::uint64_t lines = 2 * (with.memory.levels[0].size + with.memory.levels[1].size) / 64;
        for (int i = 0; i < 200000; ++i) {
            const auto core = static_cast<unsigned>(rng() % 4);
            const PAddr pa = (rng() % lines) * 64;
            const LineOp op = ops[rng() % 10 < 6 ? 0 : 1 + rng() % 3];
            ASSERT_EQ(a.m.access(core, pa, op), b.m.access(core, pa, op)) << platform << " access " << i;
        }
        EXPECT_GT(a.m.directory().lines(), 0u);
        EXPECT_EQ(b.m.directory().lines(), 0u);
        for (unsigned core = 0; core < 4; ++core) {
            const hw::CoherenceStats& x = a.m.coherence_stats(core);
            const hw::CoherenceStats& y = b.m.coherence_stats(core);
            EXPECT_EQ(x.upgrades, y.upgrades);
            EXPECT_EQ(x.remote_clean, y.remote_clean);
            EXPECT_EQ(x.remote_dirty, y.remote_dirty);
            EXPECT_EQ(x.invalidations_sent, y.invalidations_sent);
            EXPECT_GT(x.invalidations_sent, 0u);
            EXPECT_GT(x.remote_dirty, 0u);
        }
        EXPECT_EQ(a.m.dram_accesses(), b.m.dram_accesses());
    }
}
