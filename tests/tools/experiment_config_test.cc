// SPDX-License-Identifier: GPL-2.0-only
// Loading experiments: the shipped ones load; every mistake is an error naming file, line and key.
#include "tools/commands/commands.hh"
#include "tools/experiment/experiment.hh"
#include "util/config_error.hh"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <unistd.h>

using namespace mmusim;
using namespace mmusim::tools;

namespace {

// Writes `text` to a file unique to this test and loads it; returns the error message, or "" on success.
std::string load_error(const std::string& text, Experiment* out = nullptr)
{
    const std::string path = "/tmp/mmusim_exp_" + std::to_string(::getpid()) + "_" +
                             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml";
    std::ofstream(path) << text;
    std::string err;
    try {
        Experiment e = load_experiment(path);
        if (out)
            *out = e;
    } catch (const ConfigError& e) {
        err = e.what();
    }
    std::remove(path.c_str());
    return err;
}

const std::string kHead = "experiment: {name: t, platform: neoverse-n1}\n"
                          "processes:\n"
                          "  - {name: a, threads: [0]}\n";

} // namespace

TEST(ExperimentConfig, ShippedExperimentsLoad)
{
    for (const char* op : {"fault-in", "fork", "munmap", "mprotect", "mremap"})
        for (const char* arch : {"arm64", "x86"}) {
            const Experiment e = load_experiment(resolve_experiment(std::string(op) + "-" + arch));
            EXPECT_EQ(e.name, std::string(op) + "-" + arch);
            EXPECT_EQ(e.variants.size(), 2u) << "batched and unbatched by default";
            EXPECT_EQ(e.workload.front().kind, OpKind::Mmap);
        }
}

// tools/fuzz.sh seeds the experiment harness with fuzz/seeds/experiment/every-op.yaml so that the fuzzer starts
// from every op's valid form: it must load, and hold every op but trace (which needs a trace file).
TEST(ExperimentConfig, TheEveryOpFuzzSeedLoadsAndHasEveryOp)
{
    const Experiment e = load_experiment(MMUSIM_SOURCE_DIR "/fuzz/seeds/experiment/every-op.yaml");
    std::set<OpKind> kinds;
    for (const OpSpec& op : e.workload)
        kinds.insert(op.kind);
    for (int k = 0; k <= static_cast<int>(OpKind::Trace); ++k)
        if (static_cast<OpKind>(k) != OpKind::Trace) {
            EXPECT_TRUE(kinds.count(static_cast<OpKind>(k))) << to_string(static_cast<OpKind>(k));
        }
}

TEST(ExperimentConfig, DefaultsAndOperations)
{
    Experiment e;
    ASSERT_EQ(load_error(kHead + "workload:\n"
                                 "  - {op: mmap, region: r, size: 1M, folio: 64K}\n"
                                 "  - {op: touch, region: r, access: write, stride: 8K}\n"
                                 "  - {op: fork, child: b, threads: [1]}\n"
                                 "  - {op: touch, process: b, region: r, access: read}\n"
                                 "  - {op: mprotect, process: a, region: r, prot: r, offset: 64K, length: 128K}\n"
                                 "  - {op: munmap, process: a, region: r}\n",
                         &e),
              "");
    ASSERT_EQ(e.workload.size(), 6u);
    EXPECT_EQ(e.workload[0].size, 1 * MiB);
    EXPECT_EQ(e.workload[0].folio, 64 * KiB);
    EXPECT_EQ(e.workload[0].prot, "rw");
    EXPECT_TRUE(e.workload[1].write);
    EXPECT_EQ(e.workload[1].stride, 8 * KiB);
    EXPECT_EQ(e.workload[2].child, "b");
    EXPECT_EQ(e.processes.size(), 2u) << "the child is a process";
    EXPECT_EQ(e.processes[1].threads, std::vector<unsigned>{1});
    EXPECT_EQ(e.workload[3].core, 1u) << "an operation runs on its process's first thread";
    EXPECT_EQ(e.workload[4].offset, 64 * KiB);
    EXPECT_EQ(e.workload[4].length, 128 * KiB);
    EXPECT_EQ(e.workload[5].line, 10);
    EXPECT_EQ(e.kernel, "default");
}

TEST(ExperimentConfig, PinUnpinAndMremap)
{
    Experiment e;
    ASSERT_EQ(load_error(kHead + "workload:\n"
                                 "  - {op: mmap, region: r, size: 1M}\n"
                                 "  - {op: pin, region: r, offset: 64K, length: 8K}\n"
                                 "  - {op: pin, region: r, access: read}\n"
                                 "  - {op: munmap, region: r}\n"
                                 "  - {op: unpin, region: r}\n"
                                 "  - {op: mmap, region: s, size: 1M}\n"
                                 "  - {op: mremap, region: s}\n"
                                 "  - {op: mremap, region: s, new_size: 512K, move: false}\n",
                         &e),
              "");
    ASSERT_EQ(e.workload.size(), 8u);
    EXPECT_EQ(e.workload[1].kind, OpKind::Pin);
    EXPECT_TRUE(e.workload[1].write) << "a pin is for writing unless it says read";
    EXPECT_EQ(e.workload[1].offset, 64 * KiB);
    EXPECT_EQ(e.workload[1].length, 8 * KiB);
    EXPECT_FALSE(e.workload[2].write);
    EXPECT_EQ(e.workload[4].kind, OpKind::Unpin) << "an unmapped region can still be unpinned";
    EXPECT_EQ(e.workload[6].kind, OpKind::Mremap);
    EXPECT_EQ(e.workload[6].new_size, 0u) << "the same size";
    EXPECT_TRUE(e.workload[6].move);
    EXPECT_EQ(e.workload[7].new_size, 512 * KiB);
    EXPECT_FALSE(e.workload[7].move);
    EXPECT_STREQ(to_string(OpKind::Mremap), "mremap");

    const auto has = [](const std::string& err, const std::string& what) {
        return err.find(what) != std::string::npos;
    };
    const std::string mmap = kHead + "workload:\n  - {op: mmap, region: r, size: 1M}\n";
    std::string err = load_error(mmap + "  - {op: unpin, region: r}\n");
    EXPECT_TRUE(has(err, ":6: workload.1.region: process 'a' has nothing pinned in region 'r'")) << err;
    err = load_error(mmap + "  - {op: pin, region: r}\n  - {op: unpin, region: r}\n  - {op: unpin, region: r}\n");
    EXPECT_TRUE(has(err, ":8: workload.3.region: process 'a' has nothing pinned")) << err << " (unpinned already)";
    err = load_error(mmap + "  - {op: pin, region: q}\n");
    EXPECT_TRUE(has(err, "workload.1.region: process 'a' has no region 'q'")) << err;
    err = load_error(mmap + "  - {op: pin, region: r, access: poke}\n");
    EXPECT_TRUE(has(err, ":6: workload.1.access")) << err;
    err = load_error(mmap + "  - {op: mremap, region: r, new_size: 2T}\n");
    EXPECT_TRUE(has(err, "workload.1.new_size: must be at most 1T")) << err;
    err = load_error(mmap + "  - {op: mremap, region: r, offset: 4K}\n");
    EXPECT_TRUE(has(err, "workload.1.offset")) << err << " (mremap takes the whole region)";
    err = load_error(mmap + "  - {op: mremap, region: r, move: maybe}\n");
    EXPECT_TRUE(has(err, "workload.1.move")) << err;
    err = load_error(mmap + "  - {op: fork, child: b}\n  - {op: pin, process: a, region: r}\n  - {op: unpin, process: b, region: r}\n");
    EXPECT_TRUE(has(err, "workload.3.region: process 'b' has nothing pinned")) << err << " (pins are not inherited)";
}

TEST(ExperimentConfig, Reclaim)
{
    Experiment e;
    ASSERT_EQ(load_error(kHead + "workload:\n"
                                 "  - {op: reclaim, bytes: 64M}\n"
                                 "  - {op: reclaim, bytes: 4K, swappiness: 0, core: 1}\n"
                                 "  - {op: reclaim, bytes: 1G, swappiness: max}\n",
                         &e),
              "");
    ASSERT_EQ(e.workload.size(), 3u);
    EXPECT_EQ(e.workload[0].kind, OpKind::Reclaim);
    EXPECT_EQ(e.workload[0].bytes, 64 * MiB);
    EXPECT_EQ(e.workload[0].swappiness, -1) << "none given: the memcg's";
    EXPECT_EQ(e.workload[1].swappiness, 0);
    EXPECT_EQ(e.workload[1].core, 1u);
    EXPECT_EQ(e.workload[2].swappiness, 201) << "max: SWAPPINESS_ANON_ONLY";
    EXPECT_STREQ(to_string(OpKind::Reclaim), "reclaim");
    const std::string err = load_error(kHead + "workload:\n  - {op: reclaim, bytes: 1M, swappiness: 61.5}\n");
    EXPECT_NE(err.find(":5: workload.0.swappiness"), std::string::npos) << err;
}

TEST(ExperimentConfig, MistakesNameFileLineAndKey)
{
    const auto has = [](const std::string& err, const std::string& what) {
        return err.find(what) != std::string::npos;
    };
    std::string err = load_error(kHead + "workload:\n  - {op: touch, region: r, access: write}\n");
    EXPECT_TRUE(has(err, ":5: workload.0.region: process 'a' has no region 'r'")) << err;
    err = load_error(kHead + "workload:\n  - {op: mmap, region: r, size: 1M, colour: red}\n");
    EXPECT_TRUE(has(err, "workload.0.colour")) << err;
    err = load_error(kHead + "workload:\n  - {op: mmap, region: r, size: 1M, folio: 48K}\n");
    EXPECT_TRUE(has(err, "workload.0.folio: must be a power of two")) << err;
    err = load_error(kHead + "workload:\n  - {op: mmap, region: r, size: 1M}\n  - {op: touch, region: r, access: poke}\n");
    EXPECT_TRUE(has(err, ":6: workload.1.access")) << err;
    err = load_error(kHead + "workload:\n  - {op: splice, region: r}\n");
    EXPECT_TRUE(has(err, "workload.0.op")) << err;
    err = load_error("experiment: {name: t, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0, 0]}\nworkload: []\n");
    EXPECT_TRUE(has(err, "processes.0.threads: core 0 is listed twice")) << err;
    err = load_error(kHead + "  - {name: b, threads: [1]}\nworkload:\n  - {op: mmap, region: r, size: 1M}\n");
    EXPECT_TRUE(has(err, "workload.0.process: required: the experiment has several processes")) << err;
    err = load_error(kHead + "workload:\n  - {op: mmap, region: r, size: 1M}\n  - {op: munmap, region: r}\n"
                             "  - {op: touch, region: r, access: read}\n");
    EXPECT_TRUE(has(err, "workload.2.region: process 'a' has no region 'r'")) << err << " (unmapped before)";
    err = load_error(kHead + "workload:\n  - {op: fork, child: a}\n");
    EXPECT_TRUE(has(err, "workload.0.child")) << err;
}

TEST(ExperimentConfig, CoresAreCheckedAgainstThePlatform)
{
    Experiment e;
    ASSERT_EQ(load_error(kHead + "workload:\n  - {op: mmap, region: r, size: 1M, core: 3}\n", &e), "");
    EXPECT_NO_THROW(check_cores(e, 4));
    try {
        check_cores(e, 2);
        FAIL() << "core 3 on a 2-core platform";
    } catch (const ConfigError& x) {
        EXPECT_NE(std::string(x.what()).find("core 3 does not exist: the platform has 2 cores"), std::string::npos) << x.what();
    }
}
