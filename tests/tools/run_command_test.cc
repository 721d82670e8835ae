// SPDX-License-Identifier: GPL-2.0-only
// `mmusim run` as a user runs it: a small experiment end to end, byte-identical JSON for the same inputs,
// the figures in the JSON agreeing with the table, and bad input (experiment, --set, --variant) exiting 2
// with the file, line and key named and no report written.
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

// A small experiment: 2 MiB of 64K folios faulted in, forked, unmapped; the second thread reads it first.
std::string small_experiment(const std::string& platform)
{
    const std::string path = tmp(platform + ".yaml");
    std::ofstream(path) << "experiment: {name: small, platform: " << platform << ", set: [cores=2]}\n"
                        << "processes:\n  - {name: app, threads: [0, 1]}\n"
                        << "workload:\n"
                        << "  - {op: mmap, region: buf, size: 2M, folio: 64K}\n"
                        << "  - {op: touch, region: buf, access: write}\n"
                        << "  - {op: touch, region: buf, access: read, core: 1}\n"
                        << "  - {op: fork, child: kid}\n"
                        << "  - {op: munmap, process: app, region: buf}\n";
    return path;
}

} // namespace

TEST(RunCommand, SameInputsGiveByteIdenticalJsonAndBothVariants)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        const std::string exp = small_experiment(platform), a = tmp("a.json"), b = tmp("b.json");
        ASSERT_EQ(run_cli("run -q " + exp + " --json " + a).status, 0);
        ASSERT_EQ(run_cli("run -q " + exp + " --json " + b).status, 0);
        const std::string ja = slurp(a);
        EXPECT_EQ(ja, slurp(b)) << platform;
        const auto j = nlohmann::json::parse(ja);
        EXPECT_EQ(j["schema"], "mmusim-report/3");
        EXPECT_EQ(j["command"], "run");
        ASSERT_EQ(j["variants"].size(), 2u);
        EXPECT_EQ(j["variants"][0]["kernel"]["switches"]["pte_batch"], true);
        EXPECT_EQ(j["variants"][1]["kernel"]["switches"]["pte_batch"], false);
        const auto& touch = j["variants"][0]["operations"][1];
        EXPECT_EQ(touch["op"], "touch");
        EXPECT_EQ(touch["ptes"], 512);
        EXPECT_EQ(touch["kernel"]["batches"]["set_ptes"]["16"], 32) << "one set_ptes(16) per 64K folio";
        EXPECT_EQ(j["variants"][1]["operations"][1]["kernel"]["batches"]["set_ptes"]["1"], 512);
        // Cycles per PTE is the operation's cycles over its PTEs, and the categories add up to the cycles.
        std::uint64_t sum = 0;
        for (const auto& [k, v] : touch["cycles_by_category"].items())
            sum += v.get<std::uint64_t>();
        EXPECT_EQ(sum, touch["cycles"].get<std::uint64_t>());
        EXPECT_NEAR(touch["cycles_per_pte"].get<double>(), touch["cycles"].get<double>() / 512, 0.01);
        // Elapsed simulated time on the core that ran it, no more than every core's cycles together.
        const auto elapsed = touch["elapsed_cycles"].get<std::uint64_t>();
        EXPECT_GT(elapsed, 0u);
        EXPECT_LE(elapsed, touch["cycles"].get<std::uint64_t>() + 1);
        const double ghz = j["variants"][0]["platform"]["frequency_ghz"].get<double>();
        EXPECT_NEAR(touch["elapsed_ms"].get<double>(), double(elapsed) / (ghz * 1e6), 0.001);
        const auto& munmap = j["variants"][0]["operations"][4];
        EXPECT_EQ(munmap["kernel"]["folios_freed"], 0) << "the child still maps every folio";
        EXPECT_GT(munmap["cores"][1]["cycles"].get<std::uint64_t>(), 0u) << platform << ": the flush reaches core 1";
        for (const std::string& f : {exp, a, b})
            std::remove(f.c_str());
    }
}

TEST(RunCommand, TableAndCsv)
{
    const std::string exp = small_experiment("neoverse-n1"), csv = tmp("out.csv");
    const CliResult r = run_cli("run " + exp + " --no-progress --csv " + csv + " --variant batched");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("batched cyc/PTE"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("unbatched"), std::string::npos) << "only the variant asked for";
    EXPECT_NE(r.output.find("set_ptes{nr=16:32}"), std::string::npos) << r.output;
    const std::string text = slurp(csv);
    EXPECT_EQ(text.rfind("variant,index,op,process,core,ptes,cycles,translation,", 0), 0u) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 5 * 2) << "a row per operation and core";
    std::remove(exp.c_str());
    std::remove(csv.c_str());
}

TEST(RunCommand, BadInputExitsTwoNamingWhereAndWritesNothing)
{
    const std::string exp = small_experiment("neoverse-n1"), json = tmp("never.json");
    CliResult r = run_cli("run " + exp + " --variant fast --json " + json);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("--variant fast: experiment small has no such variant (batched, unbatched)"), std::string::npos) << r.output;
    r = run_cli("run " + exp + " --set cores=1 --json " + json);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("core 1 does not exist: the platform has 1 core"), std::string::npos) << r.output;
    r = run_cli("run " + exp + " --set kernel.pte_bach=1 --json " + json);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("kernel.pte_bach: unknown key"), std::string::npos) << r.output;
    r = run_cli("run no-such-experiment");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown experiment 'no-such-experiment'"), std::string::npos) << r.output;
    const std::string bad = tmp("bad.yaml");
    std::ofstream(bad) << "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\n"
                       << "workload:\n  - {op: mmap, region: r, size: 64K, prot: r}\n  - {op: touch, region: r, access: write}\n";
    r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(bad + ":6: touch: write at offset 0 of region 'r' is a segmentation fault"), std::string::npos) << r.output;
    EXPECT_FALSE(std::ifstream(json).good()) << "no report after a failed run";
    for (const std::string& f : {exp, bad})
        std::remove(f.c_str());
}
