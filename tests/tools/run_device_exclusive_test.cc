// SPDX-License-Identifier: GPL-2.0-only
// The device_exclusive operation of `mmusim run` (HMM_DMIRROR_EXCLUSIVE: make_device_exclusive() per page),
// end to end in checked mode: the pages' PTEs become device-exclusive entries without a fault (GUP finds them
// mapped writable), the next CPU access to each faults once and restores it, a munmap frees everything; and
// its mistakes (a key it does not take, a region that is not private anonymous memory, one that forbids
// writing) exit 2 naming the file, the line and the key or the operation.
#include "cli_run.hh"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string tmp(const std::string& what) { return test_tmp_path(what); }

} // namespace

TEST(RunDeviceExclusive, EntriesMadeThenRestoredByTheCpu)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        const std::string exp = tmp(std::string(platform) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << "experiment: {name: devx, platform: " << platform << ", set: [cores=2]}\n"
                           << "processes:\n  - {name: app, threads: [0]}\n"
                           << "workload:\n"
                           << "  - {op: mmap, region: buf, size: 1M, folio: 64K}\n"                  // 0
                           << "  - {op: touch, region: buf, access: write, data: true}\n"            // 1
                           << "  - {op: device_exclusive, region: buf, offset: 60K, length: 72K}\n"  // 2
                           << "  - {op: touch, region: buf, access: read}\n"                         // 3
                           << "  - {op: device_exclusive, region: buf}\n"                            // 4
                           << "  - {op: munmap, region: buf}\n";                                     // 5
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << platform << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(platform) + " " + v["name"].get<std::string>();
            const auto& ops = v["operations"];
            ASSERT_EQ(ops.size(), 6u);
            EXPECT_EQ(ops[2]["op"], "device_exclusive");
            EXPECT_EQ(ops[2]["ptes"], 18) << what;
            EXPECT_EQ(ops[2]["kernel"]["faults"], 0) << what << ": mapped writable, GUP follows without a fault";
            EXPECT_EQ(ops[3]["kernel"]["faults"], 18) << what << ": one fault restores each entry";
            EXPECT_EQ(ops[4]["ptes"], 256) << what;
            EXPECT_EQ(ops[5]["kernel"]["folios_freed"], 16) << what << ": zap drops the entries' folios";
            for (const auto& p : v["processes"])
                EXPECT_EQ(p["rss_anon_pages"], 0) << what;
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

TEST(RunDeviceExclusive, MistakesExitTwoNamingWhere)
{
    const std::string bad = tmp("bad.yaml"), json = tmp("never.json");
    const std::string head = "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\nworkload:\n";
    std::ofstream(bad) << head << "  - {op: mmap, region: r, size: 64K}\n  - {op: device_exclusive, region: r, access: write}\n";
    CliResult r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: workload.1.access"), std::string::npos) << r.output;
    std::ofstream(bad) << head << "  - {op: mmap, region: r, size: 64K}\n  - {op: device_exclusive, region: q}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: workload.1.region: process 'a' has no region 'q'"), std::string::npos) << r.output;
    std::ofstream(bad) << head << "  - {op: mmap, region: r, size: 64K, shared: true}\n  - {op: device_exclusive, region: r}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: device_exclusive: error 95 (errno) at offset 0 of region 'r'"), std::string::npos)
        << r.output;
    std::ofstream(bad) << head << "  - {op: mmap, region: r, size: 64K, prot: r}\n  - {op: device_exclusive, region: r, offset: 8K}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: device_exclusive: error 14 (errno) at offset 8192 of region 'r'"), std::string::npos)
        << r.output;
    EXPECT_FALSE(std::ifstream(json).good()) << "no report after a failed run";
    std::remove(bad.c_str());
}
