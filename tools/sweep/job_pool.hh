// SPDX-License-Identifier: GPL-2.0-only
// Runs a sweep's jobs as child processes, at most N at a time: each job is one `mmusim` command (one SystemC
// kernel per process, which SystemC requires: a simulation cannot be restarted within a process), with its
// standard output discarded and its standard error kept in a log file.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace mmusim::tools {

struct Job {
    std::vector<std::string> args; // after the program name
    std::string log;               // the child's standard error goes here
};

// How a job ended: its exit status (0..255), or -N if signal N killed it, or -1000 if it could not be started.
using JobDone = std::function<void(std::size_t index, int status)>;

// Runs `jobs` with `program`, `parallel` at a time, in order of index; calls `done` in this process as each
// job ends (in the order they end). Returns when every job has ended.
void run_jobs(const std::string& program, const std::vector<Job>& jobs, unsigned parallel, const JobDone& done);

// This program's own executable (/proc/self/exe), so that jobs run the same build.
std::string self_executable();

// `args` as one POSIX shell command line, each word quoted where it needs to be.
std::string shell_quote(const std::vector<std::string>& args);

} // namespace mmusim::tools
