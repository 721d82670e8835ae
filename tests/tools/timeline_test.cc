// SPDX-License-Identifier: GPL-2.0-only
// --timeline (docs/REPORT.md, "Timelines"): the file is trace-event JSON that parses, every core's spans nest
// with time never going back, and it holds what ran: kernel functions, TLBIs, barriers, IPIs on both sides,
// page walks; a limit cuts the recording without breaking the nesting.
#include "cli_run.hh"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

using namespace mmusim::test;
using json = nlohmann::json;

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;

struct Seen {
    std::map<std::pair<int, int>, std::multiset<std::string>> spans;    // (pid, tid) -> span names
    std::map<std::pair<int, int>, std::multiset<std::string>> instants; // (pid, tid) -> instant names
    std::map<int, std::string> processes;
};

// Checks nesting and order per track; returns what each track holds.
Seen check_timeline(const std::string& path)
{
    Seen s;
    const json t = json::parse(slurp(path));
    std::map<std::pair<int, int>, std::vector<std::string>> open;
    std::map<std::pair<int, int>, double> last;
    for (const json& e : t.at("traceEvents")) {
        const std::string ph = e.at("ph");
        const int pid = e.at("pid");
        if (ph == "M") {
            if (e.at("name") == "process_name")
                s.processes[pid] = e.at("args").at("name");
            continue;
        }
        const std::pair<int, int> track{pid, e.at("tid").get<int>()};
        const double ts = e.at("ts");
        EXPECT_GE(ts, last[track]) << "time goes back on track " << track.first << "/" << track.second;
        last[track] = ts;
        if (ph == "B") {
            open[track].push_back(e.at("name"));
            s.spans[track].insert(e.at("name").get<std::string>());
        } else if (ph == "E") {
            EXPECT_FALSE(open[track].empty()) << "an end without a begin at " << ts;
            if (!open[track].empty())
                open[track].pop_back();
        } else {
            EXPECT_EQ(ph, "i");
            s.instants[track].insert(e.at("name").get<std::string>());
        }
    }
    for (const auto& [track, stack] : open)
        EXPECT_TRUE(stack.empty()) << stack.size() << " spans left open on track " << track.second;
    return s;
}

} // namespace

TEST(Timeline, PageoutOnArm64NestsAndShowsTheUnmapAndItsMaintenance)
{
    const std::string out = test_tmp_path("t.json");
    const CliResult r = run_cli("run " + kSource + "/configs/sweeps/experiments/pageout.yaml --set workload.0.size=1M -q "
                                "--no-progress --timeline " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    const Seen s = check_timeline(out);
    ASSERT_EQ(s.processes.size(), 2u); // one per variant
    EXPECT_EQ(s.processes.at(0), "series");
    const auto& core0 = s.spans.at({0, 0});
    EXPECT_EQ(core0.count("madvise p buf"), 1u); // the operation
    EXPECT_EQ(core0.count("try_to_unmap_one"), 16u); // 1 MiB of 64K folios
    EXPECT_GT(core0.count("dsb ish"), 0u);
    EXPECT_GT(s.instants.at({0, 0}).count("tlbi"), 0u);
    std::remove(out.c_str());
}

TEST(Timeline, X86ShootdownShowsTheIpiOnBothCores)
{
    const std::string out = test_tmp_path("t.json");
    const CliResult r = run_cli("run " + kSource + "/configs/sweeps/experiments/munmap.yaml --set experiment.platform=skylake-sp "
                                "--set workload.0.size=1M --variant batched -q --no-progress --timeline " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    const Seen s = check_timeline(out);
    EXPECT_GT(s.instants.at({0, 0}).count("ipi_send"), 0u);
    EXPECT_GT(s.spans.at({0, 0}).count("ipi_wait"), 0u);
    EXPECT_GT(s.spans.at({0, 1}).count("ipi_handler"), 0u); // the second thread's core takes the flush
    EXPECT_GT(s.spans.at({0, 0}).count("zap_pte_range"), 0u);
    std::remove(out.c_str());
}

TEST(Timeline, ReplayShowsWalksAndALimitKeepsTheNesting)
{
    const std::string out = test_tmp_path("t.json");
    CliResult r = run_cli("replay " + kSource + "/traces/samples/native_example.txt -q --timeline " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    Seen s = check_timeline(out);
    EXPECT_GT(s.instants.at({0, 0}).count("walk"), 0u);
    EXPECT_GT(s.spans.at({0, 0}).count("do_anonymous_page"), 0u);

    r = run_cli("replay " + kSource + "/traces/samples/native_example.txt -q --timeline-limit 50 --timeline " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    s = check_timeline(out);
    EXPECT_NE(s.processes.at(0).find("truncated at 50 events"), std::string::npos);
    const json t = json::parse(slurp(out));
    std::size_t events = 0;
    for (const json& e : t.at("traceEvents"))
        events += e.at("ph") != "M";
    EXPECT_LE(events, 50u + 20u); // the limit, plus the ends of the spans open when it was reached
    std::remove(out.c_str());
}
