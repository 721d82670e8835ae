// SPDX-License-Identifier: GPL-2.0-only
// The pin, unpin and mremap operations of `mmusim run`, end to end: a pinned range is copied into the child
// at fork time, stays allocated after munmap until the unpin frees it; a moved region is found at its new
// address without a fault, its PTEs moved in batches where the architecture batches; and the operations'
// mistakes exit 2 naming the file and line.
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

std::string experiment(const std::string& platform)
{
    const std::string path = tmp(platform + ".yaml");
    std::ofstream(path) << "experiment: {name: ops, platform: " << platform << ", set: [cores=2]}\n"
                        << "processes:\n  - {name: app, threads: [0, 1]}\n"
                        << "workload:\n"
                        << "  - {op: mmap, region: buf, size: 1M, folio: 64K}\n"              // 0
                        << "  - {op: touch, region: buf, access: write}\n"                    // 1
                        << "  - {op: pin, region: buf, offset: 128K, length: 64K}\n"          // 2
                        << "  - {op: fork, child: kid}\n"                                     // 3
                        << "  - {op: munmap, process: app, region: buf}\n"                    // 4
                        << "  - {op: unpin, process: app, region: buf}\n"                     // 5
                        << "  - {op: mmap, process: kid, region: b2, size: 1M, folio: 64K}\n" // 6
                        << "  - {op: touch, process: kid, region: b2, access: write}\n"       // 7
                        << "  - {op: mremap, process: kid, region: b2}\n"                     // 8
                        << "  - {op: touch, process: kid, region: b2, access: write}\n"       // 9
                        << "  - {op: mremap, process: kid, region: b2, new_size: 512K, move: false}\n"; // 10
    return path;
}

} // namespace

TEST(RunOps, PinForkUnpinAndMremap)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        const bool arm64 = std::string(platform) == "neoverse-n1";
        const std::string exp = experiment(platform), json = tmp("out.json");
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << platform << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        ASSERT_EQ(j["variants"].size(), 2u);
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(platform) + " " + v["name"].get<std::string>();
            const auto& ops = v["operations"];
            ASSERT_EQ(ops.size(), 11u);
            const auto& pin = ops[2];
            EXPECT_EQ(pin["op"], "pin");
            EXPECT_EQ(pin["ptes"], 16) << what;
            EXPECT_EQ(pin["kernel"]["pins"], 16) << what;
            EXPECT_EQ(pin["kernel"]["faults"], 0) << what << ": mapped writable, GUP-fast pins it";
            const auto& fork = ops[3];
            EXPECT_EQ(fork["kernel"]["pages_copied"], 16) << what << ": the pinned folio copied into the child";
            EXPECT_GT(fork["kernel"]["folios_allocated"].get<int>(), 0) << what;
            EXPECT_EQ(ops[4]["kernel"]["folios_freed"], 0) << what << ": shared with the child, or pinned";
            const auto& unpin = ops[5];
            EXPECT_EQ(unpin["op"], "unpin");
            EXPECT_EQ(unpin["ptes"], 16) << what;
            EXPECT_EQ(unpin["kernel"]["unpins"], 16) << what;
            EXPECT_EQ(unpin["kernel"]["folios_freed"], 1) << what << ": the unpin frees the unmapped pinned folio";

            const auto& mremap = ops[8];
            EXPECT_EQ(mremap["op"], "mremap");
            EXPECT_EQ(mremap["ptes"], 256) << what;
            EXPECT_EQ(mremap["kernel"]["faults"], 0) << what;
            EXPECT_EQ(mremap["kernel"]["folios_allocated"], 0) << what;
            const auto& clears = mremap["kernel"]["batches"]["get_and_clear_full_ptes"];
            if (arm64 && v["name"] == "batched")
                EXPECT_EQ(clears["16"], 16) << what << ": one batch per 64K folio";
            else
                EXPECT_EQ(clears["1"], 256) << what;
            EXPECT_EQ(ops[9]["kernel"]["faults"], 0) << what << ": the moved region is mapped at its new address";
            EXPECT_EQ(ops[10]["kernel"]["folios_freed"], 8) << what << ": the shrink unmapped the tail";
            for (const auto& p : v["processes"])
                if (p["name"] == "kid") {
                    EXPECT_EQ(p["rss_anon_pages"], 256 + 128) << what;
                    EXPECT_EQ(p["vmas"], 2) << what;
                }
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

TEST(RunOps, MistakesExitTwoNamingWhere)
{
    const std::string bad = tmp("bad.yaml"), json = tmp("never.json");
    const std::string head = "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\nworkload:\n"
                             "  - {op: mmap, region: r, size: 64K, prot: r}\n";
    std::ofstream(bad) << head << "  - {op: unpin, region: r}\n";
    CliResult r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: workload.1.region: process 'a' has nothing pinned in region 'r'"), std::string::npos)
        << r.output;
    std::ofstream(bad) << head << "  - {op: pin, region: r}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: pin: error 14 (errno) pinning region 'r'"), std::string::npos) << r.output;
    std::ofstream(bad) << head << "  - {op: munmap, region: r, offset: 32K}\n  - {op: mremap, region: r, new_size: 128K, move: false}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":7: mremap: mremap() of region 'r' failed with error 14"), std::string::npos)
        << r.output;
    EXPECT_FALSE(std::ifstream(json).good()) << "no report after a failed run";
    std::remove(bad.c_str());
}
