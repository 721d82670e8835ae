// SPDX-License-Identifier: GPL-2.0-only
// mmusim run EXPERIMENT [--set k=v ...] [--variant NAME ...] [--json OUT] [--csv OUT] [--check]
#include "tools/commands/commands.hh"

#include "tools/experiment/experiment.hh"
#include "tools/experiment/runner.hh"
#include "tools/progress.hh"
#include "tools/report/experiment_report.hh"
#include "tools/report/output_file.hh"
#include "tools/report/timeline_json.hh"
#include "util/config_error.hh"

#include <chrono>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

namespace mmusim::tools {

namespace {

struct RunArgs {
    std::string experiment;
    std::vector<std::string> sets;
    std::vector<std::string> variants; // empty: all
    std::string json_out;
    std::string csv_out;
    bool quiet = false;
    bool no_progress = false;
    bool check = false;
    bool host_times = false;
    std::string timeline_out;
    std::size_t timeline_limit = kDefaultTimelineLimit;
};

int run_experiment(const RunArgs& a)
{
    if (looks_like_override(a.experiment))
        throw ConfigError("run: unexpected argument '" + a.experiment + "': " + override_hint(a.experiment));
    // --set experiment.* / processes.* / workload.* change the experiment file's tree; the rest go to the
    // platform and the kernel configuration of every variant.
    std::vector<std::string> experiment_sets, config_sets;
    for (const std::string& s : a.sets)
        (is_experiment_override(s) ? experiment_sets : config_sets).push_back(s);
    const Experiment e = load_experiment(resolve_experiment(a.experiment), experiment_sets);
    std::vector<Variant> selected;
    std::set<std::string> wanted(a.variants.begin(), a.variants.end());
    for (const Variant& v : e.variants)
        if (wanted.empty() || wanted.count(v.name))
            selected.push_back(v);
    for (const std::string& w : wanted) {
        bool found = false;
        for (const Variant& v : e.variants)
            found |= v.name == w;
        if (!found) {
            std::string names;
            for (const Variant& v : e.variants)
                names += (names.empty() ? "" : ", ") + v.name;
            throw ConfigError("--variant " + w + ": experiment " + e.name + " has no such variant (" + names + ")");
        }
    }
    OutputSet outputs;
    if (!a.json_out.empty())
        outputs.add("--json", a.json_out);
    if (!a.csv_out.empty())
        outputs.add("--csv", a.csv_out);
    if (!a.timeline_out.empty())
        outputs.add("--timeline", a.timeline_out);

    Progress progress(!a.no_progress && stderr_is_terminal(), 0);
    std::vector<VariantResult> results;
    // Host time per operation (--host-times), kept out of the reports: they hold simulated quantities only.
    std::vector<std::vector<double>> host(selected.size());
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t vi = 0; vi < selected.size(); ++vi) {
        const Variant& v = selected[vi];
        auto last = std::chrono::steady_clock::now();
        results.push_back(run_variant(e, v, config_sets, a.check, [&](std::size_t done, std::size_t total) {
            const auto now = std::chrono::steady_clock::now();
            host[vi].push_back(std::chrono::duration<double>(now - last).count());
            last = now;
            progress.status(v.name + ": operation " + std::to_string(done) + "/" + std::to_string(total));
        }, a.timeline_out.empty() ? 0 : a.timeline_limit));
    }
    progress.finish();
    if (a.host_times) {
        std::cerr << "host time per operation (variant index op process ptes seconds ns/pte):\n";
        for (std::size_t vi = 0; vi < results.size(); ++vi)
            for (std::size_t i = 0; i < results[vi].ops.size() && i < host[vi].size(); ++i) {
                const OpResult& op = results[vi].ops[i];
                std::cerr << "host " << results[vi].name << " " << i << " " << to_string(op.spec.kind) << " "
                          << op.spec.process << " " << op.ptes << " " << host[vi][i] << " "
                          << (op.ptes ? host[vi][i] * 1e9 / double(op.ptes) : 0.0) << "\n";
            }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto report = experiment_report(e, results);
    if (outputs.has("--json"))
        outputs.set_text("--json", report.dump(2) + "\n");
    if (outputs.has("--csv")) {
        std::ostringstream csv;
        write_experiment_csv(report, csv);
        outputs.set_text("--csv", csv.str());
    }
    if (outputs.has("--timeline")) {
        std::vector<TimelineRun> runs;
        for (const VariantResult& r : results)
            runs.push_back({r.name, r.timeline, r.configs.platform.frequency_ghz, r.configs.platform.cores});
        std::ostringstream t;
        write_timeline_json(runs, t);
        outputs.set_text("--timeline", t.str());
    }
    outputs.write_all();
    if (!a.quiet) {
        print_experiment_table(report, std::cout);
        std::cerr << "ran " << results.size() << " variant(s) of " << e.workload.size() << " operations in " << secs << " s\n";
    }
    return 0;
}

} // namespace

CommandFn add_run(CLI::App& app)
{
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand("run", "Run a YAML experiment: the ported kernel's operations on a platform, per kernel variant");
    cmd->add_option("EXPERIMENT", args->experiment,
                    "Experiment: a YAML file or a name from configs/experiments/ (docs/EXPERIMENTS.md)")
        ->required()
        ->check(non_empty());
    add_repeated_option(cmd, "--set,-s", args->sets,
                        "Override a key for every variant: KEY=VALUE; experiment.*, processes.N.* and workload.N.* for "
                        "the experiment file (e.g. workload.0.folio=64K), kernel.* for the kernel configuration, any "
                        "other for the platform (e.g. cores=4, kernel.max_pte_batch=4)")
        ->type_name("KEY=VALUE");
    add_repeated_option(cmd, "--variant", args->variants, "Run only this variant (repeatable; default: all of the experiment's)");
    cmd->add_option("--json", args->json_out, "Write the JSON report (schema mmusim-report/3) here")->check(non_empty());
    cmd->add_option("--csv", args->csv_out, "Write a CSV (one row per variant, operation and core) here")->check(non_empty());
    add_timeline_options(cmd, args->timeline_out, args->timeline_limit, "operations and kernel functions");
    cmd->add_flag("--quiet,-q", args->quiet, "No table on stdout");
    cmd->add_flag("--no-progress", args->no_progress, "No progress line on stderr");
    cmd->add_flag("--host-times", args->host_times,
                  "Print the host (wall-clock) time of every operation on stderr, with ns per PTE (not in the reports, "
                  "which hold simulated quantities only)");
    cmd->add_flag("--check", args->check,
                  "Checked mode: the TLB oracle is asked wherever the kernel relies on a flush having completed "
                  "(before a frame is freed, when a flush returns); a stale translation is an error (exit 1). Slower");
    return [args]() { return run_experiment(*args); };
}

} // namespace mmusim::tools
