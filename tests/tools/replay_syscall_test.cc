// SPDX-License-Identifier: GPL-2.0-only
// System call records in replayed traces (mmap, munmap, mprotect, madvise): their effects on the process as
// later accesses see them, their barrier semantics across cores, --no-premap, the report's counters, and the
// `trace` item of experiment workloads.
#include "cli_run.hh"
#include "replay_test_util.hh"

#include <nlohmann/json.hpp>

#include <stdexcept>

using namespace mmusim;
using namespace mmusim::test;

namespace {

nlohmann::ordered_json replay_text(const std::string& name, const std::string& text, bool premap,
                                   const std::vector<std::string>& sets = {})
{
    const std::string path = write_temp(name, text);
    tools::RunConfigs c = tools::load_run_configs("neoverse-n1", "", sets);
    hw::Platform p(std::move(c.platform));
    auto reader = traces::ReaderRegistry::instance().open("native", path);
    tools::Replayer r(p, std::move(c.kernel), *reader, {}, tools::ReplayOptions{premap});
    r.run();
    return tools::replay_report(p, r, {path, "native"});
}

// The message of the runtime error replaying `text` throws, or "".
std::string replay_error(const std::string& name, const std::string& text, bool premap,
                         const std::vector<std::string>& sets = {})
{
    try {
        replay_text(name, text, premap, sets);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(ReplaySyscall, WriteAfterMprotectReadOnlyIsASegfault)
{
    const std::string before = "W 0x10000000 8\nR 0x10000000 8\n";
    EXPECT_EQ(replay_error("mp_ok.trace", before + "W 0x10000000 8\n", true), "");
    const std::string err = replay_error("mp.trace", before + "mprotect 0x10000000 4K r\nR 0x10000000 8\nW 0x10000000 8\n", true);
    EXPECT_NE(err.find("segmentation fault: write at 0x10000000"), std::string::npos) << err;
    // The rest of the premapped range keeps its protection.
    EXPECT_EQ(replay_error("mp_rest.trace", "mprotect 0x10000000 4K r\nW 0x10001000 8\n", true), "");
}

TEST(ReplaySyscall, NoPremapMapsOnlyWhatTheTraceMaps)
{
    const std::string mapped = "mmap 0x10000000 64K\nW 0x10000000 8\nR 0x1000f000 8\n";
    const auto r = replay_text("np.trace", mapped + "munmap 0x10000000 64K\n", false);
    EXPECT_EQ(u(r["cores"][0]["syscalls"]["mmap"]), 1u);
    EXPECT_EQ(u(r["cores"][0]["syscalls"]["munmap"]), 1u);
    EXPECT_EQ(u(r["trace"]["syscalls"]), 2u);
    EXPECT_EQ(u(r["trace"]["records"]), 2u);
    EXPECT_FALSE(r["trace"]["premap"].get<bool>());
    EXPECT_GT(u(r["cores"][0]["syscall_cycles"]), 0u);
    // Outside the mapping, and inside it after munmap: segmentation faults.
    std::string err = replay_error("np_out.trace", mapped + "R 0x10010000 8\n", false);
    EXPECT_NE(err.find("segmentation fault: read at 0x10010000"), std::string::npos) << err;
    err = replay_error("np_unmapped.trace", mapped + "munmap 0x10000000 64K\nR 0x10000000 8\n", false);
    EXPECT_NE(err.find("segmentation fault: read at 0x10000000"), std::string::npos) << err;
    // With the premapped range the same access outside the trace's mmap is fine.
    EXPECT_EQ(replay_error("p_out.trace", mapped + "R 0x10010000 8\n", true), "");
}

TEST(ReplaySyscall, MadviseDontneedMakesTheNextAccessFaultAgain)
{
    const std::string head = "W 0x10000000 8\nR 0x10000000 8\n";
    const auto kept = replay_text("dn0.trace", head + "R 0x10000000 8\n", true, {"kernel.folio_size=4K"});
    const auto zapped = replay_text("dn1.trace", head + "madvise 0x10000000 4K dontneed\nR 0x10000000 8\n", true,
                                    {"kernel.folio_size=4K"});
    EXPECT_EQ(u(zapped["cores"][0]["syscalls"]["madvise"]), 1u);
    EXPECT_EQ(u(zapped["totals"]["page_faults"]), u(kept["totals"]["page_faults"]) + 1);
}

TEST(ReplaySyscall, MmapFolioSetsTheFaultCount)
{
    std::string writes;
    for (int i = 0; i < 16; ++i)
        writes += "W " + std::to_string(0x10000000 + i * 4096) + " 8\n";
    const auto small = replay_text("f4.trace", "mmap 0x10000000 64K folio=4K\n" + writes, false);
    const auto big = replay_text("f64.trace", "mmap 0x10000000 64K folio=64K\n" + writes, false);
    EXPECT_EQ(u(small["totals"]["page_faults"]), 16u);
    EXPECT_EQ(u(big["totals"]["page_faults"]), 1u);
}

TEST(ReplaySyscall, ASyscallIsABarrierAcrossCores)
{
    // Core 1's write needs core 0's mmap done first, and its read after core 0's munmap must see the unmap.
    const std::string trace = "mmap 0x10000000 64K @0\nW 0x10000000 8 @1\nmunmap 0x10000000 64K @0\nR 0x10000000 8 @1\n";
    const std::string err = replay_error("bar.trace", trace, false, {"cores=2"});
    EXPECT_NE(err.find("segmentation fault: read at 0x10000000"), std::string::npos) << err;
    const auto r = replay_text("bar_ok.trace", "mmap 0x10000000 64K @0\nW 0x10000000 8 @1\nmunmap 0x10000000 64K @0\n",
                               false, {"cores=2"});
    EXPECT_EQ(u(r["cores"][0]["syscalls"]["munmap"]), 1u);
    EXPECT_EQ(u(r["cores"][1]["syscalls"]["munmap"]), 0u);
    EXPECT_EQ(u(r["cores"][1]["writes"]), 1u);
    EXPECT_EQ(u(r["cores"][1]["page_faults"]), 1u);
}

TEST(ReplaySyscall, FailingSyscallNamesTheRecord)
{
    const std::string err = replay_error("fail.trace", "mprotect 0x10000000 4K r @0\n", false);
    EXPECT_NE(err.find("system call 'mprotect 0x10000000 0x1000 r @0' of the trace failed"), std::string::npos) << err;
}

TEST(ReplaySyscall, CliNoPremap)
{
    const std::string t = write_temp("cli_np.trace", "mmap 0x10000000 64K\nW 0x10000000 8\nR 0x20000000 8\n");
    CliResult r = run_cli("replay -q --no-progress " + t);
    EXPECT_EQ(r.status, 0) << r.output;
    r = run_cli("replay -q --no-progress --no-premap " + t);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("segmentation fault: read at 0x20000000"), std::string::npos) << r.output;
}

namespace {

std::string trace_experiment(const std::string& trace, const std::string& threads)
{
    const std::string path = test_tmp_path("trace.yaml");
    std::ofstream(path) << "experiment: {name: tr, platform: neoverse-n1, set: [cores=3], variants: [{name: only}]}\n"
                        << "processes:\n  - {name: app, threads: " << threads << "}\n"
                        << "workload:\n"
                        << "  - {op: mmap, region: buf, size: 64K}\n"
                        << "  - {op: trace, file: " << trace << "}\n";
    return path;
}

} // namespace

TEST(RunTrace, RecordAtKRunsOnThreadK)
{
    std::string text = "mmap 0x10000000 128K folio=4K\n";
    for (int i = 0; i < 8; ++i)
        text += "W " + std::to_string(0x10000000 + i * 4096) + " 8 @1\n";
    const std::string trace = write_temp("run_k.trace", text);
    const std::string json = test_tmp_path("out.json");
    const CliResult r = run_cli("run -q --no-progress " + trace_experiment(trace, "[2, 0]") + " --json " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(slurp(json));
    const auto& op = j["variants"][0]["operations"][1];
    EXPECT_EQ(op["op"], "trace");
    EXPECT_EQ(op["trace_records"].get<std::uint64_t>(), 9u);
    EXPECT_EQ(op["trace_page_faults"].get<std::uint64_t>(), 8u);
    EXPECT_EQ(op["ptes"].get<std::uint64_t>(), 8u);
    // @1 is threads[1], core 0: its walks are there, none on core 2 (threads[0]) or core 1 (not a thread).
    EXPECT_GE(op["cores"][0]["walks"].get<std::uint64_t>(), 8u);
    EXPECT_EQ(op["cores"][1]["walks"].get<std::uint64_t>(), 0u);
    EXPECT_EQ(op["cores"][2]["walks"].get<std::uint64_t>(), 0u);
}

TEST(RunTrace, ThreadBeyondTheProcessIsAnError)
{
    const std::string trace = write_temp("run_bad.trace", "R 0x10000000 8\nR 0x10000000 8 @2\n");
    const std::string exp = trace_experiment(trace, "[0, 1]");
    const CliResult r = run_cli("run -q --no-progress " + exp);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(trace + ":2: record for thread @2 but process 'app' has 2 thread(s)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(exp + ":6: threads"), std::string::npos) << r.output;
}

TEST(RunTrace, MissingFileIsAnErrorAtLoad)
{
    const std::string exp = trace_experiment("/nonexistent/x.trace", "[0]");
    const CliResult r = run_cli("run -q --no-progress " + exp);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(exp + ":6"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("file"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("No such file"), std::string::npos) << r.output;
}

TEST(RunTrace, ShippedTraceExperimentRuns)
{
    const std::string json = test_tmp_path("shipped.json");
    // Its trace's path is relative to the current directory: the source tree's root.
    const CliResult r = run_shell("cd " MMUSIM_SOURCE_DIR " && " + kMmusim +
                                  " run -q --no-progress configs/experiments/trace-arm64.yaml --json " + json + " 2>&1");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(slurp(json));
    for (const auto& v : j["variants"]) {
        bool found = false;
        for (const auto& op : v["operations"])
            if (op["op"] == "trace") {
                found = true;
                EXPECT_GT(op["trace_records"].get<std::uint64_t>(), 0u);
                EXPECT_GT(op["trace_page_faults"].get<std::uint64_t>(), 0u);
            }
        EXPECT_TRUE(found);
    }
}
