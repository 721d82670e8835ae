// SPDX-License-Identifier: GPL-2.0-only
// The kernel configuration beside the platform: loaded by default, --set kernel.* routed to it, the old
// platform keys pointing to it, checked against the platform, and carried by the report.
#include "cli_run.hh"
#include "replay_test_util.hh"

#include "tools/commands/run_configs.hh"
#include "util/config_error.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string error_of(const std::string& platform, const std::vector<std::string>& sets, const std::string& kernel = "")
{
    try {
        tools::load_run_configs(platform, kernel, sets);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "<no error>";
}

} // namespace

TEST(KernelConfig, DefaultIsLoaded)
{
    const auto c = tools::load_run_configs("neoverse-n1", "", {});
    EXPECT_EQ(c.kernel.name, "default");
    EXPECT_EQ(c.kernel.folio_size, 4 * KiB);
    EXPECT_EQ(c.kernel.software.fault_entry, 700u);
    EXPECT_EQ(c.kernel.source, std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml");
    EXPECT_EQ(tools::load_run_configs("zen4", "default", {}).kernel.name, "default") << "by name";
    EXPECT_NE(error_of("zen4", {}, "nosuch").find("unknown kernel 'nosuch'"), std::string::npos);
}

TEST(KernelConfig, SetKernelKeysGoToTheKernel)
{
    const auto c = tools::load_run_configs("neoverse-n1", "", {"kernel.folio_size=2M", "cores=2",
                                                               "kernel.software.fault_entry=5"});
    EXPECT_EQ(c.kernel.folio_size, 2 * MiB);
    EXPECT_EQ(c.kernel.software.fault_entry, 5u);
    EXPECT_EQ(c.platform.cores, 2u);
    EXPECT_EQ(error_of("neoverse-n1", {"kernel.pte_bach=true"}), "--set kernel.pte_bach=true: kernel.pte_bach: unknown key");
    EXPECT_FALSE(tools::load_run_configs("neoverse-n1", "", {"kernel.pte_batch=false"}).kernel.switches.pte_batch);
    EXPECT_EQ(error_of("neoverse-n1", {"kernel.use_tlbi_range=true"}),
              "--set kernel.use_tlbi_range=true: kernel.use_tlbi_range: use_tlbi_range: platform neoverse-n1 has no FEAT_TLBIRANGE");
    EXPECT_FALSE(tools::load_run_configs("neoverse-n1", "", {}).kernel.switches.use_tlbi_range) << "defaults to the platform's";
    EXPECT_TRUE(tools::load_run_configs("neoverse-v2", "", {}).kernel.switches.use_tlbi_range);
    EXPECT_NE(error_of("skylake-sp", {"kernel.contpte=true"}).find("contpte: arm64 only"), std::string::npos);
    EXPECT_NE(error_of("neoverse-n1", {"kernel.folio_size=3K"}).find("kernel.folio_size: must be a power of two"),
              std::string::npos);
}

TEST(KernelConfig, SwapDevice)
{
    const auto c = tools::load_run_configs("neoverse-n1", "", {});
    EXPECT_EQ(c.kernel.swap_size, 1 * GiB) << "default.yaml switches on a 1G device";
    EXPECT_GT(c.kernel.software.swap_submit, 0u);
    EXPECT_GT(c.kernel.software.swap_read, 0u);
    EXPECT_EQ(tools::load_run_configs("neoverse-n1", "", {"kernel.swap_size=0"}).kernel.swap_size, 0u) << "no swap";
    EXPECT_EQ(tools::load_run_configs("skylake-sp", "", {"kernel.swap_size=64M"}).kernel.swap_size, 64 * MiB);
    EXPECT_NE(error_of("neoverse-n1", {"page_table.granule=64K", "kernel.swap_size=64K"}).find("less than two pages"),
              std::string::npos)
        << "the header and one slot";
    EXPECT_NE(error_of("neoverse-n1", {"kernel.swap_size=2T"}).find("at most 1T"), std::string::npos);
}

TEST(KernelConfig, KernelIsCheckedAgainstThePlatform)
{
    const std::string m = error_of("neoverse-n1", {"page_table.granule=64K", "kernel.folio_size=16K"});
    EXPECT_NE(m.find("--set kernel.folio_size=16K: kernel.folio_size: folio_size 16K is smaller than the page size 64K "
                     "of platform neoverse-n1"),
              std::string::npos) << m;
}

TEST(KernelConfig, FolioLargerThanAPmdIsAnError)
{
    // No anonymous PUD-sized THP in Linux: 1G folios on a 4K granule (PMD 2M) are refused, naming the PMD size.
    const std::string m = error_of("skylake-sp", {"kernel.folio_size=1G"});
    EXPECT_NE(m.find("--set kernel.folio_size=1G: kernel.folio_size: folio_size 1G is larger than the PMD size 2M of "
                     "platform skylake-sp"),
              std::string::npos) << m;
    EXPECT_NE(m.find("no anonymous PUD-sized THP"), std::string::npos) << m;
    EXPECT_NE(error_of("neoverse-n1", {"kernel.folio_size=4M"}).find("larger than the PMD size 2M"), std::string::npos);
    // The PMD follows the granule: 32M with 16K pages, 512M with 64K pages.
    EXPECT_EQ(tools::load_run_configs("neoverse-n1", "", {"page_table.granule=16K", "kernel.folio_size=32M"}).kernel.folio_size,
              32 * MiB);
    EXPECT_NE(error_of("neoverse-n1", {"page_table.granule=16K", "kernel.folio_size=64M"}).find("PMD size 32M"),
              std::string::npos);
    EXPECT_EQ(tools::load_run_configs("neoverse-n1", "", {"page_table.granule=64K", "kernel.folio_size=512M"}).kernel.folio_size,
              512 * MiB);
}

TEST(KernelConfig, OldPlatformKeysPointToTheKernel)
{
    const std::string folio = error_of("neoverse-n1", {"memory.folio_size=2M"});
    EXPECT_NE(folio.find("--set memory.folio_size=2M: memory.folio_size: no longer a platform key: the folio size is "
                         "kernel configuration: kernel.folio_size"),
              std::string::npos) << folio;
    const std::string sw = error_of("skylake-sp", {"software.fault_entry=9"});
    EXPECT_NE(sw.find("kernel.software.fault_entry"), std::string::npos) << sw;
}

TEST(KernelConfig, ReportCarriesTheKernelBesideThePlatform)
{
    const auto r = replay("neoverse-n1", write_temp("kernel.trace", cyclic_trace(0x10000000, 4, 4096, 1, 'W')), "native",
                          {"kernel.folio_size=64K"});
    ASSERT_TRUE(r.contains("kernel"));
    EXPECT_EQ(r["kernel"]["name"], "default");
    EXPECT_EQ(r["kernel"]["folio_size"], "64K");
    EXPECT_EQ(r["kernel"]["software"]["fault_entry"], 700);
    EXPECT_FALSE(r["platform"]["memory"].contains("folio_size"));
    EXPECT_FALSE(r["platform"].contains("software"));
    EXPECT_EQ(r["platform"]["features"]["tlbi_range"], false);
    EXPECT_EQ(u(r["totals"]["page_faults"]), 1u) << "one 64K folio covers the 4 pages";
}

TEST(KernelConfig, RiscvMapsMthpFoliosWithBasePtesWithOrWithoutSvnapot)
{
    // Upstream RISC-V uses Svnapot for hugetlb only (pte_mknapot(), arch/riscv/mm/hugetlbpage.c): the kernel
    // maps an mTHP folio with base PTEs, so features.svnapot changes nothing (the replay's old simplified fault
    // handler wrote a NAPOT run).
    const std::string trace = write_temp("napot.trace", cyclic_trace(0x10000000, 16, 4096, 1, 'W'));
    const auto on = replay("riscv-sv39", trace, "native", {"kernel.folio_size=64K"});
    const auto off = replay("riscv-sv39", trace, "native", {"kernel.folio_size=64K", "features.svnapot=false"});
    for (const auto* r : {&on, &off}) {
        EXPECT_EQ(u((*r)["totals"]["page_faults"]), 1u);
        EXPECT_EQ(u((*r)["mm"]["batches"]["set_ptes"]["16"]), 1u);
        EXPECT_EQ(u((*r)["totals"]["walks"]), 17u) << "the fault and its retry, then one walk per base page";
    }
}

TEST(KernelConfig, CommandLine)
{
    const auto bad = run_cli("replay -q --set memory.folio_size=64K");
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_NE(bad.output.find("kernel.folio_size"), std::string::npos) << bad.output;
    const auto ok = run_cli("validate neoverse-n1 --kernel default --set kernel.folio_size=64K");
    EXPECT_EQ(ok.status, 0) << ok.output;
    EXPECT_NE(ok.output.find("kernel default, folio 64K"), std::string::npos) << ok.output;
    const auto missing = run_cli("replay -q --kernel nosuch");
    EXPECT_EQ(missing.status, 2) << missing.output;
}
