// SPDX-License-Identifier: GPL-2.0-only
// `mmusim sweep` and `sweep-collect` (docs/EXPERIMENTS.md, "Sweeps"): the sweep file's checks, the points it
// expands to, results that come from the points' own reports, a failed point that does not stop the others,
// --resume, --emit-jobs with sweep-collect, plots, and every shipped sweep at small size.
#include "cli_run.hh"

#include "tools/experiment/experiment.hh"
#include "tools/sweep/sweep_results.hh"
#include "tools/sweep/sweep_spec.hh"
#include "util/config_error.hh"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace mmusim;
using namespace mmusim::test;
using namespace mmusim::tools;
namespace fs = std::filesystem;

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;

std::string write_file(const std::string& path, const std::string& text)
{
    std::ofstream(path) << text;
    return path;
}

// A sweep of the shipped munmap base experiment at 4 MiB (a few ms a point).
std::string small_sweep(const std::string& dir_name, const std::string& axes, const std::string& extra = "")
{
    return write_file(test_tmp_path(dir_name + ".yaml"),
                      "sweep:\n  name: t\n  experiment: " + kSource + "/configs/sweeps/experiments/munmap.yaml\n"
                      "  set: [workload.0.size=4M]\n" + extra + "axes:\n" + axes);
}

std::size_t lines_of(const std::string& text)
{
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The value of column `col` in CSV row `row` (1-based after the header); fields here hold no commas.
std::string csv_cell(const std::string& csv, std::size_t row, const std::string& col)
{
    std::istringstream in(csv);
    std::string header, line;
    std::getline(in, header);
    for (std::size_t i = 0; i < row; ++i)
        std::getline(in, line);
    std::vector<std::string> names, cells;
    std::string f;
    for (std::istringstream h(header); std::getline(h, f, ',');)
        names.push_back(f);
    for (std::istringstream l(line); std::getline(l, f, ',');)
        cells.push_back(f);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == col)
            return i < cells.size() ? cells[i] : "";
    return "<no column " + col + ">";
}

} // namespace

TEST(SweepSpec, CrossAndZipExpandToTheirPointsWithVariantsInnermost)
{
    const std::string cross = small_sweep("cross", "  - {key: kernel.max_pte_batch, values: [1, 4, 16]}\n"
                                                   "  - {key: workload.0.folio, range: {from: 4096, to: 65536, times: 4}}\n");
    SweepSpec s = load_sweep(cross);
    ASSERT_EQ(s.axes.size(), 2u);
    EXPECT_EQ(s.axes[1].values, (std::vector<std::string>{"4096", "16384", "65536"}));
    const auto points = expand_points(s, {"batched", "unbatched"});
    ASSERT_EQ(points.size(), 3u * 3u * 2u);
    EXPECT_EQ(points[1].variant, "unbatched");
    EXPECT_EQ(points[1].sets, points[0].sets);
    EXPECT_EQ(points[2].sets, (std::vector<std::string>{"kernel.max_pte_batch=1", "workload.0.folio=16384"}));
    EXPECT_EQ(points.back().id, 17u);
    const auto args = job_arguments(s, points[3], "/x/p.json");
    EXPECT_EQ(std::count(args.begin(), args.end(), std::string("--set")), 3); // the sweep's set and two axes
    EXPECT_NE(std::find(args.begin(), args.end(), "unbatched"), args.end());

    const std::string zip = small_sweep("zip", "  - {key: kernel.max_pte_batch, values: [1, 4]}\n"
                                               "  - {key: workload.0.folio, values: [4K, 64K]}\n",
                                        "  combine: zip\n");
    EXPECT_EQ(expand_points(load_sweep(zip), {"v"}).size(), 2u);

    const std::string cases = small_sweep("cases", "  - name: machine\n    cases:\n      a: [kernel.contpte=true]\n"
                                                   "      b: [experiment.platform=zen4, cores=2]\n");
    const auto cp = expand_points(load_sweep(cases), {"v"});
    ASSERT_EQ(cp.size(), 2u);
    EXPECT_EQ(cp[1].axes.front(), (std::pair<std::string, std::string>{"machine", "b"}));
    EXPECT_EQ(cp[1].sets, (std::vector<std::string>{"experiment.platform=zen4", "cores=2"}));
}

TEST(SweepSpec, BadFilesNameFileLineAndKey)
{
    const auto error_of = [](const std::string& path) {
        try {
            load_sweep(path);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string axis = "  - {key: kernel.max_pte_batch, values: [1, 2]}\n";
    EXPECT_NE(error_of(small_sweep("noaxes", "  []\n")).find("axes: expected at least one axis"), std::string::npos);
    EXPECT_NE(error_of(small_sweep("twice", axis + axis)).find(":7: axes.1.key: axis 'kernel.max_pte_batch' is defined twice"),
              std::string::npos);
    EXPECT_NE(error_of(small_sweep("zipbad", axis + "  - {key: cores, values: [1, 2, 3]}\n", "  combine: zip\n"))
                  .find("zip needs axes of one length"),
              std::string::npos);
    EXPECT_NE(error_of(small_sweep("both", "  - {key: cores, values: [1], range: {from: 1, to: 2, step: 1}}\n"))
                  .find("exactly one of values and range"),
              std::string::npos);
    EXPECT_NE(error_of(small_sweep("typo", "  - {key: cores, valeus: [1]}\n")).find("exactly one of values and range"),
              std::string::npos);
    EXPECT_NE(error_of(small_sweep("unknown", axis, "  colour: blue\n")).find("sweep.colour: unknown key"), std::string::npos);
    EXPECT_NE(error_of(small_sweep("plotx", axis + "plots:\n  - {name: p, x: cores, y: munmap.cycles_per_pte}\n"))
                  .find("plots.0.x: 'cores' is not an axis of the sweep"),
              std::string::npos);
    EXPECT_NE(error_of(write_file(test_tmp_path("nobase.yaml"), "sweep:\n  name: t\naxes:\n" + axis)).find("exactly one base"),
              std::string::npos);
}

// Paths the OS rejects (ENAMETOOLONG, ENOTDIR) are bad input, not a std::filesystem::filesystem_error: the
// sweep fuzzer found the loader's is_regular_file() throwing on an experiment path whose first component is
// longer than NAME_MAX (255 bytes).
TEST(SweepSpec, APathTheOsRejectsIsABadInputError)
{
    const std::string longname(5000, 'x');
    const std::string axis = "axes:\n  - {key: kernel.max_pte_batch, values: [1, 2]}\n";
    for (const std::string& e : {"dir/" + longname, longname}) { // a path, and a name looked up among the shipped
        const std::string path = write_file(test_tmp_path("longexp.yaml"), "sweep:\n  name: t\n  experiment: " + e + "\n" + axis);
        try {
            load_sweep(path);
            ADD_FAILURE() << "no error";
        } catch (const ConfigError& err) {
            EXPECT_NE(std::string(err.what()).find("longexp.yaml:3: sweep.experiment: "), std::string::npos)
                << std::string(err.what()).substr(0, 300);
        }
    }
    const std::string trace = write_file(test_tmp_path("longtrace.yaml"),
                                         "sweep:\n  name: t\n  replay: {trace: " + longname + "/t.txt}\n" + axis);
    EXPECT_THROW(load_sweep(trace), ConfigError);
    const std::string sample = kSource + "/traces/samples/native_example.txt";
    const std::string platform = write_file(test_tmp_path("badplatform.yaml"),
                                            "sweep:\n  name: t\n  replay:\n    trace: " + sample + "\n    platform: nosuch\n" + axis);
    try {
        load_sweep(platform);
        ADD_FAILURE() << "no error";
    } catch (const ConfigError& err) {
        EXPECT_NE(std::string(err.what()).find("badplatform.yaml:5: sweep.replay.platform: unknown platform 'nosuch'"),
                  std::string::npos) << err.what();
    }
}

TEST(Sweep, APathTheOsRejectsOnTheCommandLineExitsTwo)
{
    const CliResult name = run_cli("sweep " + std::string(5000, 'x'));
    EXPECT_EQ(name.status, 2) << name.output.substr(0, 300);
    EXPECT_NE(name.output.find("unknown sweep"), std::string::npos) << name.output.substr(0, 300);

    // -o below a regular file: the directory cannot be made.
    const std::string file = write_file(test_tmp_path("plainfile"), "x\n");
    const std::string sweep = small_sweep("badout", "  - {key: kernel.max_pte_batch, values: [1]}\n");
    const CliResult out = run_cli("sweep " + sweep + " -o " + file + "/sub --no-progress --no-plots");
    EXPECT_EQ(out.status, 2) << out.output;
    EXPECT_NE(out.output.find("cannot create the directory"), std::string::npos) << out.output;
    const CliResult too_long = run_cli("sweep " + sweep + " -o " + test_tmp_path(std::string(5000, 'o')) + " --no-progress");
    EXPECT_EQ(too_long.status, 2) << too_long.output.substr(0, 300);
}

TEST(SweepResults, FlattenNamesOperationsAndSumsCores)
{
    const auto report = nlohmann::ordered_json::parse(R"({"schema": "mmusim-report/3", "variants": [{"name": "v",
        "operations": [
          {"index": 0, "op": "touch", "process": "p", "ptes": 8, "cores": [{"core": 0, "walks": 3}, {"core": 1, "walks": 4}]},
          {"index": 1, "op": "touch", "process": "q", "ptes": 2, "kernel": {"contpte": {"folds": 5}}},
          {"index": 2, "op": "munmap", "process": "p", "cycles_per_pte": 12.5, "line": 40}],
        "processes": [{"name": "p", "rss_anon": 7}], "memory_free_bytes": 4096}]})");
    const auto f = flatten_report(report);
    EXPECT_EQ(f.at("touch@p.ptes"), 8);
    EXPECT_EQ(f.at("touch@p.cores.walks"), 7);
    EXPECT_EQ(f.at("touch@q.kernel.contpte.folds"), 5);
    EXPECT_EQ(f.at("munmap.cycles_per_pte"), 12.5);
    EXPECT_EQ(f.at("process.p.rss_anon"), 7);
    EXPECT_EQ(f.count("munmap.line"), 0u); // identity, not a figure
    EXPECT_EQ(f.count("touch@p.cores.core"), 0u);
}

TEST(Sweep, RunsEveryPointAndReportsTheirOwnFigures)
{
    const std::string dir = test_tmp_path("out");
    fs::remove_all(dir);
    const std::string sweep =
        small_sweep("run", "  - {key: kernel.max_pte_batch, values: [1, 16]}\n",
                    "metrics: [munmap.cycles_per_pte, munmap.kernel.batches.clear_full_ptes.16]\n"
                    "plots:\n  - {name: cpp, x: kernel.max_pte_batch, y: munmap.cycles_per_pte, lines: variant}\n");
    const CliResult r = run_cli("sweep " + sweep + " -j 2 -o " + dir + " --no-progress");
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string csv = slurp(dir + "/results.csv");
    ASSERT_EQ(lines_of(csv), 1u + 4u) << csv; // header, 2 batch caps x 2 variants
    // Each row's figures are its own point's report.
    for (std::size_t row = 1; row <= 4; ++row) {
        const auto point = nlohmann::json::parse(slurp(point_json(dir, static_cast<unsigned>(row - 1))));
        const double cpp = point["variants"][0]["operations"][3]["cycles_per_pte"].get<double>();
        EXPECT_DOUBLE_EQ(std::stod(csv_cell(csv, row, "munmap.cycles_per_pte")), cpp);
        EXPECT_EQ(csv_cell(csv, row, "status"), "ok");
    }
    // Capped at one PTE, the batched kernel clears no 16-PTE batch; at 16 it clears 64K folios 16 at a time.
    EXPECT_EQ(csv_cell(csv, 1, "munmap.kernel.batches.clear_full_ptes.16"), "");
    EXPECT_NE(csv_cell(csv, 3, "munmap.kernel.batches.clear_full_ptes.16"), "");
    EXPECT_GT(std::stod(csv_cell(csv, 1, "munmap.cycles_per_pte")), std::stod(csv_cell(csv, 3, "munmap.cycles_per_pte")));
    const std::string md = slurp(dir + "/report.md");
    EXPECT_NE(md.find("## Best and worst points"), std::string::npos);
    EXPECT_NE(md.find("## Variants compared"), std::string::npos);
    const auto results = nlohmann::json::parse(slurp(dir + "/results.json"));
    EXPECT_EQ(results["rows"].size(), 4u);
    if (r.output.find("plots skipped") == std::string::npos) {
        EXPECT_TRUE(fs::file_size(dir + "/plots/cpp.png") > 1000) << r.output;
        EXPECT_NE(slurp(dir + "/plots/cpp.svg").find("<svg"), std::string::npos);
    } else {
        EXPECT_FALSE(fs::exists(dir + "/plots/cpp.png"));
    }

    // A second run into the same directory is refused; --resume reruns only the point whose report is gone.
    const CliResult again = run_cli("sweep " + sweep + " -o " + dir + " --no-progress --no-plots");
    EXPECT_EQ(again.status, 2);
    EXPECT_NE(again.output.find("--resume"), std::string::npos);
    fs::remove(point_json(dir, 2));
    const auto untouched = fs::last_write_time(point_json(dir, 1));
    const CliResult resumed = run_cli("sweep " + sweep + " -o " + dir + " --resume --no-plots --no-progress");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_TRUE(fs::exists(point_json(dir, 2)));
    EXPECT_EQ(fs::last_write_time(point_json(dir, 1)), untouched);
    fs::remove_all(dir);
}

TEST(Sweep, AFailedPointIsReportedAndTheOthersRun)
{
    const std::string dir = test_tmp_path("out");
    fs::remove_all(dir);
    // 64 MiB of simulated memory: the 4M point fits, the 256M one runs out (a run-time failure, exit 2).
    const std::string sweep = small_sweep("fail", "  - {key: workload.0.size, values: [4M, 256M]}\n",
                                          "  variants: [batched]\n");
    const CliResult r = run_cli("sweep " + sweep + " -o " + dir + " --set memory.size=64M --no-progress");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find("point 1 (workload.0.size=256M, variant batched) failed"), std::string::npos) << r.output;
    const std::string csv = slurp(dir + "/results.csv");
    EXPECT_EQ(csv_cell(csv, 1, "status"), "ok");
    EXPECT_EQ(csv_cell(csv, 2, "status"), "failed");
    EXPECT_NE(csv_cell(csv, 2, "error").find("out of simulated physical memory"), std::string::npos) << csv;
    EXPECT_NE(slurp(dir + "/report.md").find("## Failed points"), std::string::npos);
    fs::remove_all(dir);
}

TEST(Sweep, BadPointValuesFailBeforeAnythingRuns)
{
    const std::string dir = test_tmp_path("out");
    fs::remove_all(dir);
    const std::string sweep = small_sweep("badvalue", "  - {key: kernel.max_pte_batch, values: [1, lots]}\n");
    const CliResult r = run_cli("sweep " + sweep + " -o " + dir);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("point 2 (kernel.max_pte_batch=lots, variant batched)"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_EQ(run_cli("sweep " + sweep + " --axis nosuch=1").status, 2);
}

TEST(Sweep, EmittedJobsRunAnywhereAndCollectMergesThem)
{
    const std::string dir = test_tmp_path("out");
    const std::string jobs = test_tmp_path("jobs.txt");
    fs::remove_all(dir);
    const std::string sweep = small_sweep("emit", "  - {key: kernel.max_pte_batch, values: [2, 8]}\n", "  variants: [batched]\n");
    const CliResult r = run_cli("sweep " + sweep + " -o " + dir + " --emit-jobs " + jobs);
    ASSERT_EQ(r.status, 0) << r.output;
    const std::string text = slurp(jobs);
    ASSERT_EQ(lines_of(text), 2u) << text;
    EXPECT_FALSE(fs::exists(point_json(dir, 0)));
    // Each line is self-contained: run from another directory, as a cluster node would.
    ASSERT_EQ(run_shell("cd / && bash " + jobs + " 2>&1").status, 0);
    const CliResult c = run_cli("sweep-collect " + dir + " --no-plots");
    ASSERT_EQ(c.status, 0) << c.output;
    EXPECT_EQ(lines_of(slurp(dir + "/results.csv")), 3u);
    EXPECT_EQ(run_cli("sweep-collect " + test_tmp_path("nothing")).status, 2);
    fs::remove_all(dir);
}

TEST(Sweep, ShippedSweepsRunAtSmallSize)
{
    for (const auto& e : fs::directory_iterator(kSource + "/configs/sweeps")) {
        if (e.path().extension() != ".yaml")
            continue;
        SCOPED_TRACE(e.path().string());
        const SweepSpec s = load_sweep(e.path().string());
        // The first value of every axis; an experiment that maps a region first, at 2 MiB.
        std::string axes;
        for (const SweepAxis& a : s.axes)
            axes += " --axis " + a.key + "=" + a.values.front();
        if (!s.experiment.empty() && load_experiment(s.experiment).workload.front().kind == OpKind::Mmap)
            axes += " --set workload.0.size=2M";
        const std::string dir = test_tmp_path(e.path().stem().string());
        fs::remove_all(dir);
        const CliResult r = run_cli("sweep " + e.path().string() + axes + " -o " + dir + " --no-progress --no-plots");
        EXPECT_EQ(r.status, 0) << r.output;
        const std::string csv = slurp(dir + "/results.csv");
        for (const std::string& m : s.metrics)
            EXPECT_NE(csv.find(m), std::string::npos) << m;
        fs::remove_all(dir);
    }
}
