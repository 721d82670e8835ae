// SPDX-License-Identifier: GPL-2.0-only
// mmusim replay [--platform P] [--kernel K] [--format native|lackey] TRACE [--set k=v ...] [--json OUT] [--csv OUT] [--check] [--no-premap]
#include "tools/commands/commands.hh"
#include "tools/commands/run_configs.hh"

#include "hw/platform/platform.hh"
#include "tools/progress.hh"
#include "tools/replay/replayer.hh"
#include "tools/report/output_file.hh"
#include "tools/report/report.hh"
#include "tools/report/timeline_json.hh"
#include "traces/prefetch_reader.hh"
#include "traces/trace_reader.hh"
#include "util/config_error.hh"

#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

namespace mmusim::tools {

namespace {

// An empty string is "not given": non_empty() rejects an empty argument.
struct ReplayArgs {
    std::string platform;
    std::string kernel;
    std::string format = "auto";
    std::vector<std::string> traces; // a list only to explain a stray argument; one trace is replayed
    std::vector<std::string> sets;
    std::string json_out;
    std::string csv_out;
    bool quiet = false;
    bool no_progress = false;
    bool check = false;
    bool no_premap = false;
    std::string timeline_out;
    std::size_t timeline_limit = kDefaultTimelineLimit;
};

std::string the_trace(const std::vector<std::string>& traces)
{
    if (traces.empty())
        return default_trace();
    for (const std::string& t : traces)
        if (looks_like_override(t))
            throw ConfigError("replay: unexpected argument '" + t + "': " + override_hint(t));
    if (traces.size() > 1) {
        std::string list;
        for (const std::string& t : traces)
            list += " '" + t + "'";
        throw ConfigError("replay takes one trace, got " + std::to_string(traces.size()) + ":" + list);
    }
    return traces.front();
}

std::uint64_t file_size(const std::string& path)
{
    struct stat st;
    if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return static_cast<std::uint64_t>(st.st_size);
}

int run_replay(const ReplayArgs& a)
{
    const std::string trace = the_trace(a.traces);
    RunConfigs cfg = load_run_configs(a.platform, a.kernel, a.sets);
    cfg.platform.check = cfg.platform.check || a.check;
    const std::string format = a.format == "auto" ? guess_trace_format(trace) : a.format;
    // Every output is checked, and its temporary created, before the simulation: a bad path fails now.
    OutputSet outputs;
    if (!a.json_out.empty())
        outputs.add("--json", a.json_out);
    if (!a.csv_out.empty())
        outputs.add("--csv", a.csv_out);
    if (!a.timeline_out.empty())
        outputs.add("--timeline", a.timeline_out);
    // Parsing and decompression run ahead on a second thread while the cores simulate.
    auto reader = std::make_unique<traces::PrefetchReader>(traces::ReaderRegistry::instance().open(format, trace));

    hw::Platform platform(std::move(cfg.platform));
    if (!a.timeline_out.empty())
        platform.enable_timeline(a.timeline_limit);
    Progress progress(!a.no_progress && stderr_is_terminal(), file_size(trace));
    Replayer replayer(platform, std::move(cfg.kernel), *reader, [&](std::uint64_t records, std::uint64_t bytes) { progress.update(records, bytes); },
                      ReplayOptions{!a.no_premap});
    const auto t0 = std::chrono::steady_clock::now();
    replayer.run();
    progress.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto report = replay_report(platform, replayer, {trace, format});
    // Written only once the whole run has succeeded, and all together: an error leaves none of them.
    if (outputs.has("--json"))
        outputs.set_text("--json", report.dump(2) + "\n");
    if (outputs.has("--csv")) {
        std::ostringstream csv;
        write_csv(report, csv);
        outputs.set_text("--csv", csv.str());
    }
    if (outputs.has("--timeline")) {
        std::ostringstream t;
        write_timeline_json({{"replay " + trace, platform.take_timeline(), platform.config().frequency_ghz, platform.cores()}}, t);
        outputs.set_text("--timeline", t.str());
    }
    outputs.write_all();
    if (!a.quiet) {
        print_table(report, std::cout);
        const auto records = report["trace"]["records"].get<std::uint64_t>();
        std::cerr << "simulated " << records << " records in " << secs << " s ("
                  << (secs > 0 ? double(records) / secs / 1e6 : 0.0) << "M records/s)\n";
    }
    return 0;
}

// The trace is taken as a list only to explain stray arguments (the_trace); the usage shows the one it takes.
class ReplayFormatter : public CLI::Formatter {
public:
    std::string make_option_usage(const CLI::Option* opt) const override
    {
        return "[" + make_option_name(opt, true) + "]";
    }
};

} // namespace

CommandFn add_replay(CLI::App& app)
{
    auto args = std::make_shared<ReplayArgs>();
    CLI::App* cmd = app.add_subcommand("replay", "Replay a memory trace on a platform and report TLB behaviour");
    cmd->add_option("--platform,-p", args->platform,
                    "Platform: a YAML file or a name from configs/platforms/ (default: neoverse-n1)")
        ->check(non_empty());
    cmd->add_option("--kernel,-k", args->kernel,
                    "Kernel configuration: a YAML file or a name from configs/kernels/ (default: default)")
        ->check(non_empty());
    cmd->add_option("--format,-f", args->format, "Trace format: native, lackey, or auto (by file name)")
        ->check(CLI::IsMember({"auto", "native", "lackey"}));
    cmd->formatter(std::make_shared<ReplayFormatter>());
    cmd->add_option("TRACE", args->traces,
                    "Trace file ('-' for standard input; .gz and .xz are decompressed; default: the built-in sample)")
        ->option_text("FILE")
        ->check(non_empty());
    add_repeated_option(cmd, "--set,-s", args->sets, "Override a key: KEY=VALUE, kernel.* for the kernel configuration, any other for the platform (e.g. mmu.l1d.entries=64, kernel.folio_size=64K)")
        ->type_name("KEY=VALUE"); // one KEY=VALUE per --set, never the trace
    cmd->add_option("--json", args->json_out, "Write the JSON report (schema mmusim-report/2) here")
        ->check(non_empty());
    cmd->add_option("--csv", args->csv_out, "Write a CSV summary (one row per core) here")->check(non_empty());
    add_timeline_options(cmd, args->timeline_out, args->timeline_limit, "kernel functions");
    cmd->add_flag("--quiet,-q", args->quiet, "No table on stdout");
    cmd->add_flag("--no-progress", args->no_progress, "No progress line on stderr");
    cmd->add_flag("--check", args->check,
                  "Checked mode: a TLB oracle compares every TLB with the page tables after each fault and at the end; "
                  "a disagreement or TLB conflict is an error (exit 1). Slower");
    cmd->add_flag("--no-premap", args->no_premap,
                  "Do not map the whole user address range before the trace: the process's memory is what the "
                  "trace's mmap records map (an access outside them is a segmentation fault)");
    return [args]() { return run_replay(*args); };
}

} // namespace mmusim::tools
