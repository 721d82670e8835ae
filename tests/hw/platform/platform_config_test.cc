// SPDX-License-Identifier: GPL-2.0-only
#include "platform_test_util.hh"

#include "util/config_node.hh"

#include <gtest/gtest.h>

#include <fstream>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string error_of(const std::string& path, const std::vector<std::string>& sets = {})
{
    try {
        hw::load_platform_file(path, sets);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "<no error>";
}

// A copy of a shipped platform with one line replaced, in a temporary file.
std::string patched(const std::string& name, const std::string& from, const std::string& to)
{
    std::ifstream in(platform_file(name));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    // One file per test: ctest runs tests in parallel processes, and several patch the same platform.
    const std::string path = ::testing::TempDir() + "/patched-" + name + "-" +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
    std::ofstream(path) << text;
    return path;
}

int line_of(const std::string& name, const std::string& needle)
{
    std::ifstream in(platform_file(name));
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        ++n;
        if (line.find(needle) != std::string::npos)
            return n;
    }
    return -1;
}

} // namespace

TEST(PlatformConfig, ShippedPlatformsValidate)
{
    for (const char* name : {"neoverse-n1", "neoverse-v2", "skylake-sp", "zen4", "riscv-sv39"}) {
        const hw::PlatformConfig p = platform_config(name);
        EXPECT_EQ(p.name, name);
        EXPECT_FALSE(p.mmu.l1d.empty());
        EXPECT_GT(p.memory.dram_latency, p.memory.levels.back().latency) << name;
    }
}

TEST(PlatformConfig, UnknownKeyNamesFileLineAndKey)
{
    const std::string path = patched("neoverse-n1", "  contiguous: true", "  contiguous: true\n  contigous: true");
    const int line = line_of("neoverse-n1", "  contiguous: true") + 1;
    EXPECT_EQ(error_of(path), path + ":" + std::to_string(line) + ": mmu.contigous: unknown key");
}

TEST(PlatformConfig, WrongTypeAndRangeNameTheKey)
{
    const std::string p1 = patched("neoverse-n1", "cores: 4", "cores: four");
    EXPECT_NE(error_of(p1).find("cores: expected a non-negative integer, got 'four'"), std::string::npos);
    const std::string p2 = patched("neoverse-n1", "cores: 4", "cores: 100000");
    EXPECT_NE(error_of(p2).find("cores: 100000 is out of range"), std::string::npos);
    const std::string p3 = patched("neoverse-n1", "granule: 4K", "granule: 8K");
    EXPECT_NE(error_of(p3).find("page_table.granule"), std::string::npos) << error_of(p3);
    const std::string p4 = patched("skylake-sp", "invlpg: 260", "invlpg: -3");
    EXPECT_NE(error_of(p4).find("tlb_maintenance.invlpg"), std::string::npos);
}

TEST(PlatformConfig, ArchSpecificKeysAreRejectedOnOtherArchs)
{
    // An arm64 cost on an x86 platform is an unknown key, not silently ignored.
    const std::string path = patched("skylake-sp", "  invlpg: 260", "  invlpg: 260\n  dsb_ish_base: 5");
    EXPECT_NE(error_of(path).find("tlb_maintenance.dsb_ish_base: unknown key"), std::string::npos);
}

TEST(PlatformConfig, OverridesApplyAndAreChecked)
{
    const auto p = platform_config("neoverse-n1", {"mmu.l1d.entries=64", "mmu.l1d.ways=4"});
    EXPECT_EQ(p.mmu.l1d[0].entries, 64u);
    EXPECT_EQ(error_of(platform_file("neoverse-n1"), {"mmu.l1d.entrys=64"}),
              "--set mmu.l1d.entrys=64: mmu.l1d.entrys: unknown key");
    EXPECT_NE(error_of(platform_file("neoverse-n1"), {"mmu.l1d.ways=5"}).find("entries / ways"), std::string::npos);
}

TEST(PlatformConfig, InvlpgbFabricIsOneMapOfBroadcastParameters)
{
    // Every field is read (and set through --set), and reported under the same names.
    const auto p = platform_config("zen4", {"tlb_maintenance.invlpgb_fabric.service=7", "tlb_maintenance.invlpgb_fabric.sync=9"});
    const hw::BroadcastCosts& f = p.costs.x86.invlpgb_fabric;
    EXPECT_EQ(f.service, 7u);
    EXPECT_EQ(f.sync, 9u);
    const auto j = hw::to_json(p)["tlb_maintenance"]["invlpgb_fabric"];
    EXPECT_EQ(j["hop"], f.hop);
    EXPECT_EQ(j["service"], 7u);
    EXPECT_EQ(j["fanout"], f.fanout);
    EXPECT_EQ(j["lookup"], f.lookup);
    EXPECT_EQ(j["range_lookup"], f.range_lookup);
    EXPECT_EQ(j["sync"], 9u);
    // Each field is required, and nothing else belongs there.
    const std::string no_sync = error_of(patched("zen4", "    sync: 150", ""));
    EXPECT_NE(no_sync.find("missing required key 'tlb_maintenance.invlpgb_fabric.sync'"), std::string::npos) << no_sync;
    EXPECT_EQ(error_of(platform_file("zen4"), {"tlb_maintenance.invlpgb_fabric.hops=1"}),
              "--set tlb_maintenance.invlpgb_fabric.hops=1: tlb_maintenance.invlpgb_fabric.hops: unknown key");
    // The flat TLBSYNC costs of before say where they went.
    const std::string old = error_of(platform_file("zen4"), {"tlb_maintenance.tlbsync_base=500"});
    EXPECT_NE(old.find("tlb_maintenance.tlbsync_base: no longer a platform key"), std::string::npos) << old;
    EXPECT_NE(old.find("tlb_maintenance.invlpgb_fabric"), std::string::npos) << old;
}

TEST(PlatformConfig, FormatMustMatchArch)
{
    EXPECT_NE(error_of(platform_file("neoverse-n1"), {"page_table.format=x86-64"}).find("is for x86-64"), std::string::npos);
}

TEST(PlatformConfig, TlbPageSizesMustBeOnesTheFormatProduces)
{
    const std::string n1 = platform_file("neoverse-n1");
    const std::string m = error_of(n1, {"mmu.l1d.page_sizes=[4K,8K]"});
    EXPECT_NE(m.find("--set mmu.l1d.page_sizes=[4K,8K]: mmu.l1d.page_sizes: page size 8K is never produced by the arm64"),
              std::string::npos) << m;
    EXPECT_NE(error_of(n1, {"mmu.l2.page_sizes=[4K,1T]"}).find("page size 1T is never produced"), std::string::npos);
    EXPECT_NE(error_of(n1, {"mmu.l2.page_sizes=[4K,4K]"}).find("listed twice"), std::string::npos);
    // Sizes of another granule of the same architecture are fine: the hardware holds them.
    EXPECT_EQ(error_of(n1, {"mmu.l1d.page_sizes=[4K,16K,64K,2M,32M,512M,1G,16G]"}), "<no error>");
    // x86-64 has no 64K pages; 16K only as a group of 4 coalesced 4K PTEs (mmu.coalesce_group).
    const std::string skx = platform_file("skylake-sp");
    EXPECT_NE(error_of(skx, {"mmu.l2.arrays.0.page_sizes=[4K,64K]"}).find("never produced by the x86-64"), std::string::npos);
    EXPECT_EQ(error_of(platform_file("zen4")), "<no error>") << "Zen 4 lists 16K: its 4 x 4K coalesced entries";
    EXPECT_EQ(error_of(platform_file("zen4"), {"mmu.coalescing=false"}), "<no error>") << "the TLB still holds 16K";
    EXPECT_NE(error_of(platform_file("zen4"), {"mmu.coalesce_group=8"}).find("page size 16K is never produced"),
              std::string::npos);
}

TEST(PlatformConfig, CacheLevelNamesAreUnique)
{
    const std::string m = error_of(platform_file("neoverse-n1"), {"caches.levels.1.name=l1d"});
    EXPECT_NE(m.find("caches.levels.1.name: cache level name 'l1d' is used twice"), std::string::npos) << m;
}

TEST(PlatformConfig, SizesThatCannotBeAllocatedAreRefusedInValidation)
{
    const std::string n1 = platform_file("neoverse-n1");
    const std::string m = error_of(n1, {"cores=256", "mmu.l2.entries=1048576", "mmu.l2.ways=4"});
    EXPECT_NE(m.find("of host memory"), std::string::npos) << m;
    EXPECT_NE(error_of(n1, {"caches.levels.2.size=2T"}).find("larger than the 1T"), std::string::npos);
    // A 64G last-level cache is sparse: nothing is allocated until a set is touched.
    const hw::PlatformConfig big = hw::load_platform_file(n1, {"caches.levels.2.size=64G", "cores=64"});
    hw::Platform p(big);
    EXPECT_EQ(p.cores(), 64u);
}
