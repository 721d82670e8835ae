// SPDX-License-Identifier: GPL-2.0-only
// The mmusim subcommands. Each registers its options on a CLI11 subcommand and returns an exit status:
// 0 success, 1 simulation failure, 2 bad input (config, trace, command line).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace mmusim::tools {

using CommandFn = std::function<int()>;

CommandFn add_replay(CLI::App& app);
CommandFn add_formats(CLI::App& app);
CommandFn add_validate(CLI::App& app);
CommandFn add_platforms(CLI::App& app);
CommandFn add_run(CLI::App& app);
CommandFn add_sweep(CLI::App& app);
CommandFn add_sweep_collect(CLI::App& app);

// "neoverse-n1" -> <source>/configs/platforms/neoverse-n1.yaml; a path is returned as is.
std::string resolve_platform(const std::string& name_or_path);
std::string default_platform();
std::string platforms_dir();
std::vector<std::string> shipped_platforms(); // names in configs/platforms/, sorted
// "default" -> <source>/configs/kernels/default.yaml; a path is returned as is.
std::string resolve_kernel(const std::string& name_or_path);
std::string default_kernel();
std::string kernels_dir();
std::string default_trace();
// "fork-arm64" -> <source>/configs/experiments/fork-arm64.yaml; a path is returned as is.
std::string resolve_experiment(const std::string& name_or_path);
std::string experiments_dir();
// "flush-ceiling" -> <source>/configs/sweeps/flush-ceiling.yaml; a path is returned as is.
std::string resolve_sweep(const std::string& name_or_path);
std::string sweeps_dir();

// Rejects an empty argument: `--json ""` or `replay ""` is a mistake (an unset variable, say), never a
// request for the default.
const CLI::Validator& non_empty();

// A repeatable option that takes exactly one non-empty value each time (`--set a=1 --set b=2`, never
// `--set a=1 b=2`, so a stray word is not swallowed as a value).
CLI::Option* add_repeated_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& into,
                                 const std::string& help);
// --timeline FILE and --timeline-limit N (docs/REPORT.md, "Timelines"); `what` says what the spans are.
void add_timeline_options(CLI::App* cmd, std::string& out, std::size_t& limit, const std::string& what);

// A command-line argument that looks like `KEY=VALUE` where a file was expected, and is no file: almost
// always a second override after one --set (`--set a=1 b=2`), since each --set takes exactly one.
bool looks_like_override(const std::string& arg);
std::string override_hint(const std::string& arg); // "each --set takes exactly one KEY=VALUE: write --set ARG"

} // namespace mmusim::tools
