// SPDX-License-Identifier: GPL-2.0-only
// mmusim: cycle-level MMU emulator. With no arguments it replays the built-in sample trace on the default
// platform (`mmusim replay`); see `mmusim --help`.
#include "tools/commands/commands.hh"

#include "mm/phys_alloc.hh"
#include "traces/trace_reader.hh"
#include "util/config_error.hh"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <new>

int main(int argc, char** argv)
{
    using namespace mmusim;
    CLI::App app{"mmusim: cycle-level MMU emulator (SystemC/TLM-2.0) with Linux page-table batching"};
    app.set_version_flag("--version", std::string("mmusim ") + MMUSIM_VERSION);
    app.require_subcommand(0, 1);
    app.fallthrough(); // --log-level may follow the subcommand
    std::map<std::string, tools::CommandFn> commands;
    commands["replay"] = tools::add_replay(app);
    commands["formats"] = tools::add_formats(app);
    commands["validate"] = tools::add_validate(app);
    commands["platforms"] = tools::add_platforms(app);
    commands["run"] = tools::add_run(app);
    commands["sweep"] = tools::add_sweep(app);
    commands["sweep-collect"] = tools::add_sweep_collect(app);
    std::string log_level = "warn";
    app.add_option("--log-level", log_level,
                   "Log events on stderr as ftrace would show them, with simulated time and core: debug = kernel "
                   "operations and faults, trace = also every batch, TLBI, barrier and IPI (default: warn)")
        ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version are "errors" with status 0: printed as CLI11 formats them, on stdout.
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
            return app.exit(e);
        // Every other parse error reads like mmusim's own errors, with a pointer to the help that applies.
        std::string help = "mmusim";
        for (const CLI::App* sub : app.get_subcommands())
            help += " " + sub->get_name();
        std::cerr << "mmusim: error: " << e.what() << "\nRun '" << help << " --help' for more information.\n";
        return 2;
    }
    spdlog::set_default_logger(spdlog::stderr_color_st("mmusim")); // stdout is for tables and reports
    spdlog::set_level(spdlog::level::from_str(log_level));
    spdlog::set_pattern("%v"); // the event lines carry their own simulated time
    try {
        for (CLI::App* sub : app.get_subcommands())
            return commands.at(sub->get_name())();
        // No subcommand: the main job on its built-in default.
        CLI::App defaults;
        auto run = tools::add_replay(defaults);
        return run();
    } catch (const ConfigError& e) {
        std::cerr << "mmusim: error: " << e.what() << "\n";
        return 2;
    } catch (const traces::TraceError& e) {
        std::cerr << "mmusim: error: " << e.what() << "\n";
        return 2;
    } catch (const mm::OutOfMemory& e) {
        std::cerr << "mmusim: error: " << e.what() << "\n";
        return 2;
    } catch (const std::bad_alloc&) {
        // Sizes are bounded when the config is validated; this is the last resort for what still does not fit.
        std::cerr << "mmusim: error: out of host memory while building or running the simulation; reduce "
                     "cache/TLB sizes or cores\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "mmusim: failed: " << e.what() << "\n";
        return 1;
    }
}
