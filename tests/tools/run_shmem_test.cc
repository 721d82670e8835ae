// SPDX-License-Identifier: GPL-2.0-only
// `mmusim run` with a shared anonymous region (mmap `shared: true`): the fork's child faults the parent's
// pages in from the shmem page cache (no folio allocated, nothing copied), both processes count them in
// rss_shmem_pages, and a bad `shared` value exits 2 naming the file, line and key.
#include "cli_run.hh"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace mmusim;
using namespace mmusim::test;

TEST(RunShmem, ForkedChildMapsTheParentsSharedPages)
{
    const std::string exp = test_tmp_path("shmem.yaml"), json = test_tmp_path("shmem.json");
    std::ofstream(exp) << "experiment: {name: shmem, platform: neoverse-n1, set: [cores=2]}\n"
                       << "processes:\n  - {name: app, threads: [0, 1]}\n"
                       << "workload:\n"
                       << "  - {op: mmap, region: buf, size: 256K, folio: 64K, shared: true}\n" // 0
                       << "  - {op: touch, region: buf, access: write}\n"                      // 1
                       << "  - {op: fork, child: kid}\n"                                       // 2
                       << "  - {op: touch, process: kid, region: buf, access: read}\n"         // 3
                       << "  - {op: mmap, process: kid, region: priv, size: 64K, folio: 64K}\n" // 4
                       << "  - {op: touch, process: kid, region: priv, access: write}\n";     // 5
    const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(slurp(json));
    for (const auto& v : j["variants"]) {
        const std::string what = v["name"].get<std::string>();
        const auto& ops = v["operations"];
        ASSERT_EQ(ops.size(), 6u);
        EXPECT_EQ(ops[1]["kernel"]["folios_allocated"], 4) << what << ": four 64K shmem folios";
        EXPECT_EQ(ops[1]["kernel"]["faults"], 4) << what << ": each fault maps its whole folio";
        EXPECT_EQ(ops[1]["kernel"]["shmem_fault_alloc"]["64K"], 4) << what;
        EXPECT_TRUE(ops[1]["kernel"]["anon_fault_alloc"].empty()) << what;
        EXPECT_EQ(ops[2]["kernel"]["pages_copied"], 0) << what;
        EXPECT_EQ(ops[3]["kernel"]["folios_allocated"], 0) << what << ": found in the page cache";
        EXPECT_EQ(ops[3]["kernel"]["faults"], 4) << what << ": no PTEs copied at fork";
        for (const auto& p : v["processes"]) {
            EXPECT_EQ(p["rss_shmem_pages"], 64) << what << " " << p["name"];
            EXPECT_EQ(p["rss_anon_pages"], p["name"] == "kid" ? 16 : 0) << what << " " << p["name"];
        }
    }
    std::remove(json.c_str());

    std::ofstream(exp) << "experiment: {name: shmem, platform: neoverse-n1}\n"
                       << "processes:\n  - {name: app, threads: [0]}\n"
                       << "workload:\n"
                       << "  - {op: mmap, region: buf, size: 64K, shared: maybe}\n";
    const CliResult bad = run_cli("run -q " + exp);
    EXPECT_EQ(bad.status, 2) << bad.output;
    EXPECT_NE(bad.output.find("shared"), std::string::npos) << bad.output;
    EXPECT_NE(bad.output.find(exp + ":5"), std::string::npos) << bad.output;
    std::remove(exp.c_str());
}
