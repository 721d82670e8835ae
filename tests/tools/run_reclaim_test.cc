// SPDX-License-Identifier: GPL-2.0-only
// The madvise advices free, cold and pageout and touch's data option of `mmusim run`, end to end: MADV_FREE of
// written 64K folios clears young and dirty in one batch per folio where the kernel batches; the shipped pageout
// experiments, made small (a tmp copy at 2M), swap every folio out with real I/O and report the reclaim's parts.
#include "cli_run.hh"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string tmp(const std::string& what) { return test_tmp_path(what); }

} // namespace

TEST(RunReclaim, FreeAndColdOfWrittenFolios)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        const std::string exp = tmp(std::string(platform) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << "experiment: {name: free, platform: " << platform << ", set: [cores=2]}\n"
                           << "processes:\n  - {name: app, threads: [0]}\n"
                           << "workload:\n"
                           << "  - {op: mmap, region: buf, size: 1M, folio: 64K}\n"
                           << "  - {op: touch, region: buf, access: write, data: true}\n"
                           << "  - {op: madvise, region: buf, advice: cold}\n"
                           << "  - {op: madvise, region: buf, advice: free}\n";
        const CliResult r = run_cli("run -q " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << platform << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(platform) + " " + v["name"].get<std::string>();
            const auto& ops = v["operations"];
            ASSERT_EQ(ops.size(), 4u);
            const auto& free = ops[3];
            EXPECT_EQ(free["ptes"], 256) << what;
            const auto& cydp = free["kernel"]["batches"]["clear_young_dirty_ptes"];
            if (v["name"] == "batched") {
                EXPECT_EQ(cydp["16"], 16) << what << ": one call per 64K folio";
            } else { // on arm64 the first call clears the whole contpte block, and the rest read clean
                EXPECT_EQ(cydp["1"], std::string(platform) == "neoverse-n1" ? 16 : 256) << what;
            }
            EXPECT_EQ(free["kernel"]["folios_freed"], 0) << what << ": lazyfree, not freed";
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

TEST(RunReclaim, DataNeedsAWrite)
{
    const std::string bad = tmp("bad.yaml"), json = tmp("never.json");
    std::ofstream(bad) << "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\n"
                          "workload:\n  - {op: mmap, region: r, size: 64K}\n  - {op: touch, region: r, access: read, data: true}\n";
    const CliResult r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("needs access: write"), std::string::npos) << r.output;
    std::remove(bad.c_str());
}

TEST(RunReclaim, ShippedPageoutExperimentsSmall)
{
    for (const char* name : {"pageout-64k", "pageout-64k-x86"}) {
        std::string text = slurp(std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments/" + name + ".yaml");
        const std::size_t at = text.find("size: 256M");
        ASSERT_NE(at, std::string::npos) << name;
        text.replace(at, 10, "size: 2M");
        const std::string exp = tmp(std::string(name) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << text;
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << name << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        ASSERT_EQ(j["variants"].size(), 2u);
        const bool arm64 = std::string(name) == "pageout-64k";
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(name) + " " + v["name"].get<std::string>();
            const auto& po = v["operations"][2];
            EXPECT_EQ(po["op"], "madvise") << what;
            EXPECT_EQ(po["ptes"], 512) << what;
            EXPECT_EQ(po["kernel"]["folios_freed"], 32) << what << ": every 64K folio paged out and freed";
            const auto& phases = po["kernel"]["phases"];
            for (const char* part : {"folio_isolate_lru", "folio_alloc_swap", "__swap_cache_add_folio", "try_to_unmap_one",
                                     "swap_writeout", "__remove_mapping", "free_folio"})
                EXPECT_GT(phases.value(part, 0), 0) << what << ": " << part;
            const auto& batches = po["kernel"]["batches"];
            if (v["name"] == "batched") {
                EXPECT_EQ(batches["get_and_clear_full_ptes"]["16"], 32) << what << ": one unmap batch per folio";
                EXPECT_EQ(phases.value("contpte_convert", 0), 0) << what;
            } else {
                EXPECT_EQ(batches["ptep_get_and_clear"]["1"], 512) << what;
                if (arm64) {
                    EXPECT_GT(phases.value("contpte_convert", 0), 0) << what << ": one unfold per block";
                }
            }
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}
