// SPDX-License-Identifier: GPL-2.0-only
// mmusim sweep SWEEP [-j N] [-o DIR] [--resume] [--emit-jobs FILE] [--no-plots]
// mmusim sweep-collect DIR [--no-plots]
// A sweep runs its base experiment or replay once per point, each point a child process (tools/sweep/), and
// writes DIR/results.csv, results.json, report.md and plots/ (docs/EXPERIMENTS.md, "Sweeps").
#include "tools/commands/commands.hh"

#include "tools/commands/run_configs.hh"
#include "tools/experiment/experiment.hh"
#include "tools/experiment/runner.hh"
#include "tools/progress.hh"
#include "tools/report/output_file.hh"
#include "tools/sweep/job_pool.hh"
#include "tools/sweep/sweep_results.hh"
#include "tools/sweep/sweep_spec.hh"
#include "util/config_error.hh"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace mmusim::tools {

namespace {

struct SweepArgs {
    std::string sweep;
    std::string out;
    unsigned jobs = 0; // 0: the machine's hardware threads
    bool resume = false;
    std::string emit_jobs;
    bool no_plots = false;
    bool no_progress = false;
    std::vector<std::string> sets; // added to every point
    std::vector<std::string> axes; // KEY=V1,V2,...: replaces the values of an axis
};

// --axis KEY=V1,V2: the axis's values replaced (a smaller sweep for a quick look, or a test).
void override_axes(SweepSpec& s, const std::vector<std::string>& axes)
{
    for (const std::string& a : axes) {
        const auto eq = a.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == a.size())
            throw ConfigError("--axis " + a + ": expected KEY=VALUE[,VALUE...]");
        const std::string key = a.substr(0, eq);
        std::vector<std::string> values;
        std::string v;
        std::istringstream in(a.substr(eq + 1));
        while (std::getline(in, v, ','))
            values.push_back(v);
        auto it = std::find_if(s.axes.begin(), s.axes.end(), [&](const SweepAxis& x) { return x.key == key; });
        if (it == s.axes.end())
            throw ConfigError("--axis " + a + ": the sweep has no axis '" + key + "'");
        if (it->cases.empty()) {
            it->values = values;
            continue;
        }
        // An axis of cases keeps the named ones.
        SweepAxis kept{it->key, {}, {}};
        for (const std::string& name : values) {
            const auto c = std::find(it->values.begin(), it->values.end(), name);
            if (c == it->values.end())
                throw ConfigError("--axis " + a + ": axis '" + key + "' has no case '" + name + "'");
            kept.values.push_back(name);
            kept.cases.push_back(it->cases[static_cast<std::size_t>(c - it->values.begin())]);
        }
        *it = std::move(kept);
    }
    if (s.zip)
        for (const SweepAxis& x : s.axes)
            if (x.values.size() != s.axes.front().values.size())
                throw ConfigError("--axis: the sweep zips its axes, which then must keep one length");
}

std::string describe(const SweepPoint& p)
{
    std::string out;
    for (const auto& [k, v] : p.axes)
        out += (out.empty() ? "" : ", ") + k + "=" + v;
    if (!p.variant.empty())
        out += (out.empty() ? "" : ", ") + std::string("variant ") + p.variant;
    return out;
}

// The experiment's variant names to run: the sweep's selection, each checked, or all of them.
std::vector<std::string> variant_names(const SweepSpec& s)
{
    if (s.experiment.empty())
        return {""};
    std::vector<std::string> experiment_sets;
    for (const std::string& set : s.sets)
        if (is_experiment_override(set))
            experiment_sets.push_back(set);
    const Experiment e = load_experiment(s.experiment, experiment_sets);
    std::vector<std::string> all;
    for (const Variant& v : e.variants)
        all.push_back(v.name);
    if (s.variants.empty())
        return all;
    for (const std::string& v : s.variants)
        if (std::find(all.begin(), all.end(), v) == all.end()) {
            std::string names;
            for (const std::string& n : all)
                names += (names.empty() ? "" : ", ") + n;
            throw ConfigError(s.source + ": sweep.variants: experiment " + e.name + " has no variant '" + v + "' (" + names + ")");
        }
    return s.variants;
}

// Loads every point's configuration as its job will, so that a bad axis value is an error before anything
// runs (exit 2, nothing written), naming the sweep file and the point.
void check_point(const SweepSpec& s, const SweepPoint& p)
{
    std::vector<std::string> sets = s.sets;
    for (const std::string& set : p.sets)
        sets.push_back(set);
    try {
        if (s.experiment.empty()) {
            const ReplayFiles f = replay_files(s, sets);
            (void)load_run_configs(f.platform, f.kernel, f.sets);
            return;
        }
        std::vector<std::string> experiment_sets, config_sets;
        for (const std::string& set : sets)
            (is_experiment_override(set) ? experiment_sets : config_sets).push_back(set);
        const Experiment e = load_experiment(s.experiment, experiment_sets);
        for (const Variant& v : e.variants)
            if (v.name == p.variant)
                (void)variant_configs(e, v, config_sets);
    } catch (const ConfigError& e) {
        throw ConfigError(s.source + ": point " + std::to_string(p.id) + " (" + describe(p) + "): " + e.what());
    }
}

// The Python that has matplotlib: the one on PATH, or Debian's (python3-matplotlib installs into
// /usr/bin/python3's path, which a PATH-first python3 from pyenv or a venv does not see). Empty: none.
std::string python_with_matplotlib()
{
    for (const char* py : {"python3", "/usr/bin/python3"})
        if (std::system((std::string(py) + " -c 'import matplotlib' >/dev/null 2>&1").c_str()) == 0)
            return py;
    return "";
}

// Plots by tools/plot/sweep_plot.py when python3 with matplotlib is there; otherwise says how to get them.
void make_plots(const std::string& dir, const SweepSpec& s, bool no_plots)
{
    if (s.plots.empty() || no_plots)
        return;
    const std::string script = std::string(MMUSIM_SOURCE_DIR) + "/tools/plot/sweep_plot.py";
    const std::string py = python_with_matplotlib();
    if (py.empty()) {
        std::cerr << "mmusim: plots skipped: python3 with matplotlib is not installed (apt-get install "
                     "python3-matplotlib, or tools/install-deps.sh); the tables are written. Then: python3 "
                  << shell_quote({script, dir}) << "\n";
        return;
    }
    const std::string cmd = py + " " + shell_quote({script, dir});
    if (std::system(cmd.c_str()) != 0)
        std::cerr << "mmusim: plotting failed (" << cmd << "); the tables are written\n";
}

std::string format_duration(double secs)
{
    const long s = static_cast<long>(secs + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    return buf;
}

int run_sweep(const SweepArgs& a)
{
    SweepSpec s = load_sweep(resolve_sweep(a.sweep));
    s.sets.insert(s.sets.end(), a.sets.begin(), a.sets.end());
    override_axes(s, a.axes);
    const std::vector<SweepPoint> points = expand_points(s, variant_names(s));
    for (const SweepPoint& p : points)
        check_point(s, p);

    const std::string dir = fs::absolute(a.out.empty() ? "sweep-" + s.name : a.out).lexically_normal().string();
    const std::string manifest_path = dir + "/sweep.json";
    std::vector<std::vector<std::string>> commands;
    const std::string program = self_executable();
    for (const SweepPoint& p : points) {
        std::vector<std::string> cmd{program};
        const std::vector<std::string> args = job_arguments(s, p, point_json(dir, p.id));
        cmd.insert(cmd.end(), args.begin(), args.end());
        commands.push_back(std::move(cmd));
    }
    const auto manifest = sweep_manifest(s, points, commands);
    std::error_code ec; // the OS's objections to -o (too long, not a directory, no permission) are bad input
    if (fs::exists(manifest_path, ec)) {
        if (!a.resume)
            throw ConfigError("-o " + dir + ": holds a sweep already (sweep.json); --resume runs its missing points, "
                              "or choose another directory");
        std::ifstream in(manifest_path);
        nlohmann::ordered_json old;
        try {
            old = nlohmann::ordered_json::parse(in);
        } catch (const nlohmann::json::exception&) {
        }
        if (!old.is_object() || old.value("points", nlohmann::ordered_json()) != manifest["points"])
            throw ConfigError("--resume: " + manifest_path + " was written by a different sweep (other points or "
                              "commands); run it into another directory");
    } else if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
        throw ConfigError("-o " + dir + ": exists and is not a directory");
    }
    if (fs::create_directories(dir + "/points", ec); ec)
        throw ConfigError("-o " + dir + ": cannot create the directory: " + ec.message());
    if (!fs::exists(manifest_path, ec)) {
        std::ofstream(manifest_path + ".tmp") << manifest.dump(1) << "\n";
        fs::rename(manifest_path + ".tmp", manifest_path);
    }

    std::vector<Job> jobs;
    std::vector<const SweepPoint*> job_points;
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (a.resume && fs::exists(point_json(dir, points[i].id), ec))
            continue;
        jobs.push_back({std::vector<std::string>(commands[i].begin() + 1, commands[i].end()), point_log(dir, points[i].id)});
        job_points.push_back(&points[i]);
    }

    if (!a.emit_jobs.empty()) {
        std::ostringstream text;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            std::vector<std::string> cmd{program};
            cmd.insert(cmd.end(), jobs[i].args.begin(), jobs[i].args.end());
            text << shell_quote(cmd) << " 2> " << shell_quote({jobs[i].log}) << "\n";
        }
        OutputSet out;
        out.add("--emit-jobs", a.emit_jobs);
        out.set_text("--emit-jobs", text.str());
        out.write_all();
        std::cerr << "mmusim: wrote " << jobs.size() << " job(s) to " << a.emit_jobs << "; run them (e.g. parallel < "
                  << a.emit_jobs << "), then: mmusim sweep-collect " << dir << "\n";
        return 0;
    }

    const unsigned parallel = a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency());
    Progress progress(!a.no_progress && stderr_is_terminal(), 0);
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t done = 0, failed = 0;
    const auto show = [&] {
        const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::string line = "sweep " + s.name + ": " + std::to_string(done) + "/" + std::to_string(jobs.size()) + " points";
        if (failed)
            line += ", " + std::to_string(failed) + " failed";
        line += ", " + format_duration(el) + " elapsed";
        if (done && done < jobs.size())
            line += ", ~" + format_duration(el / double(done) * double(jobs.size() - done)) + " left";
        progress.status(line);
    };
    show();
    run_jobs(program, jobs, parallel, [&](std::size_t i, int status) {
        ++done;
        if (status != 0) {
            ++failed;
            std::error_code ec;
            fs::remove(point_json(dir, job_points[i]->id), ec); // never a stale report beside a failure
            std::cerr << "\nmmusim: point " << job_points[i]->id << " (" << describe(*job_points[i]) << ") failed"
                      << (status == -1000 ? ": could not start " + program
                          : status < 0    ? " (signal " + std::to_string(-status) + ")"
                                          : " (exit " + std::to_string(status) + ")")
                      << "; see " << jobs[i].log << "\n";
        }
        show();
    });
    progress.finish();

    const std::vector<PointResult> results = collect_points(dir, points);
    write_results(dir, s, results);
    make_plots(dir, s, a.no_plots);
    std::size_t bad = 0;
    for (const PointResult& r : results)
        bad += !r.ok;
    std::cerr << "mmusim: sweep " << s.name << ": " << results.size() - bad << " of " << results.size()
              << " points ran in " << format_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count())
              << "; " << dir << "/report.md\n";
    return bad ? 1 : 0;
}

int collect(const std::string& dir_arg, bool no_plots)
{
    const std::string dir = fs::absolute(dir_arg).lexically_normal().string();
    SweepSpec s;
    std::vector<SweepPoint> points;
    read_manifest(dir + "/sweep.json", s, points);
    const std::vector<PointResult> results = collect_points(dir, points);
    write_results(dir, s, results);
    make_plots(dir, s, no_plots);
    std::size_t bad = 0;
    for (const PointResult& r : results)
        bad += !r.ok;
    std::cerr << "mmusim: sweep " << s.name << ": " << results.size() - bad << " of " << results.size()
              << " points have results; " << dir << "/report.md\n";
    return bad ? 1 : 0;
}

} // namespace

CommandFn add_sweep(CLI::App& app)
{
    auto args = std::make_shared<SweepArgs>();
    CLI::App* cmd = app.add_subcommand("sweep", "Run an experiment or a replay over axes of parameters, in parallel "
                                                "processes; write results.csv, results.json, report.md and plots");
    cmd->add_option("SWEEP", args->sweep, "Sweep: a YAML file or a name from configs/sweeps/ (docs/EXPERIMENTS.md)")
        ->required()
        ->check(non_empty());
    cmd->add_option("-o,--out", args->out, "Output directory (default: sweep-NAME in the current directory)")->check(non_empty());
    cmd->add_option("-j,--jobs", args->jobs, "Points run at once (default: the machine's hardware threads)")
        ->check(CLI::Range(1u, 1024u));
    cmd->add_flag("--resume", args->resume, "Run only the points of an earlier run of this sweep into DIR that have no result");
    cmd->add_option("--emit-jobs", args->emit_jobs,
                    "Write one self-contained shell command per point to FILE instead of running them (GNU parallel, "
                    "Slurm); then `mmusim sweep-collect DIR`")
        ->check(non_empty());
    add_repeated_option(cmd, "--set,-s", args->sets, "Add KEY=VALUE to every point (as `mmusim run --set`)")
        ->type_name("KEY=VALUE");
    add_repeated_option(cmd, "--axis", args->axes,
                        "Replace an axis's values: KEY=V1,V2,... (for an axis of cases: the case names to keep)")
        ->type_name("KEY=VALUES");
    cmd->add_flag("--no-plots", args->no_plots, "Tables only");
    cmd->add_flag("--no-progress", args->no_progress, "No progress line on stderr");
    return [args]() { return run_sweep(*args); };
}

CommandFn add_sweep_collect(CLI::App& app)
{
    auto dir = std::make_shared<std::string>();
    auto no_plots = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("sweep-collect", "Merge the per-point reports of a sweep directory (after "
                                                        "--emit-jobs) into results.csv, results.json, report.md and plots");
    cmd->add_option("DIR", *dir, "The sweep's output directory")->required()->check(non_empty());
    cmd->add_flag("--no-plots", *no_plots, "Tables only");
    return [dir, no_plots]() { return collect(*dir, *no_plots); };
}

} // namespace mmusim::tools
