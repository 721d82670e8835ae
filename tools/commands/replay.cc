// SPDX-License-Identifier: GPL-2.0-only
// mmusim replay --platform P [--format native|lackey] TRACE [--set k=v ...] [--json OUT] [--csv OUT]
#include "tools/commands/commands.hh"

#include "hw/platform/platform.hh"
#include "tools/progress.hh"
#include "tools/replay/replayer.hh"
#include "tools/report/report.hh"
#include "traces/prefetch_reader.hh"
#include "traces/trace_reader.hh"

#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

namespace mmusim::tools {

namespace {

struct ReplayArgs {
    std::string platform;
    std::string format = "auto";
    std::string trace;
    std::vector<std::string> sets;
    std::string json_out;
    std::string csv_out;
    bool quiet = false;
    bool no_progress = false;
};

std::string guess_format(const std::string& path)
{
    return path.find("lackey") != std::string::npos ? "lackey" : "native";
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
    const std::string platform_file = resolve_platform(a.platform.empty() ? default_platform() : a.platform);
    hw::PlatformConfig cfg = hw::load_platform_file(platform_file, a.sets);
    const std::string trace = a.trace.empty() ? default_trace() : a.trace;
    const std::string format = a.format == "auto" ? guess_format(trace) : a.format;
    // Parsing and decompression run ahead on a second thread while the cores simulate.
    auto reader = std::make_unique<traces::PrefetchReader>(traces::ReaderRegistry::instance().open(format, trace));

    hw::Platform platform(std::move(cfg));
    Progress progress(!a.no_progress && stderr_is_terminal(), file_size(trace));
    Replayer replayer(platform, *reader, [&](std::uint64_t records, std::uint64_t bytes) { progress.update(records, bytes); });
    const auto t0 = std::chrono::steady_clock::now();
    replayer.run();
    progress.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const auto report = replay_report(platform, replayer, {trace, format});
    // Write every output only once the whole run has succeeded: an error leaves nothing half-written.
    if (!a.json_out.empty())
        write_file_atomically(a.json_out, report.dump(2) + "\n");
    if (!a.csv_out.empty()) {
        std::ostringstream csv;
        write_csv(report, csv);
        write_file_atomically(a.csv_out, csv.str());
    }
    if (!a.quiet) {
        print_table(report, std::cout);
        const auto records = report["trace"]["records"].get<std::uint64_t>();
        std::cerr << "simulated " << records << " records in " << secs << " s ("
                  << (secs > 0 ? double(records) / secs / 1e6 : 0.0) << "M records/s)\n";
    }
    return 0;
}

} // namespace

CommandFn add_replay(CLI::App& app)
{
    auto args = std::make_shared<ReplayArgs>();
    CLI::App* cmd = app.add_subcommand("replay", "Replay a memory trace on a platform and report TLB behaviour");
    cmd->add_option("--platform,-p", args->platform,
                    "Platform: a YAML file or a name from configs/platforms/ (default: neoverse-n1)");
    cmd->add_option("--format,-f", args->format, "Trace format: native, lackey, or auto (by file name)")
        ->check(CLI::IsMember({"auto", "native", "lackey"}));
    cmd->add_option("trace", args->trace, "Trace file ('-' for standard input; .gz and .xz are decompressed)");
    cmd->add_option("--set,-s", args->sets, "Override a platform key: KEY=VALUE (e.g. mmu.l1d.entries=64)")
        ->type_name("KEY=VALUE")
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); // one KEY=VALUE per --set, never the trace
    cmd->add_option("--json", args->json_out, "Write the JSON report (schema mmusim-report/1) here");
    cmd->add_option("--csv", args->csv_out, "Write a CSV summary (one row per core) here");
    cmd->add_flag("--quiet,-q", args->quiet, "No table on stdout");
    cmd->add_flag("--no-progress", args->no_progress, "No progress line on stderr");
    return [args]() { return run_replay(*args); };
}

} // namespace mmusim::tools
