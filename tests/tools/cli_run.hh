// SPDX-License-Identifier: GPL-2.0-only
// Runs the mmusim binary through the shell, as a user does, and collects its exit status and output.
#pragma once

#include <sys/wait.h>

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace mmusim::test {

struct CliResult {
    int status = -1;    // exit status, -1 if killed by a signal
    std::string output;
};

inline const std::string kMmusim = MMUSIM_BINARY;

// Runs shell text `cmd`; output is its stdout.
inline CliResult run_shell(const std::string& cmd)
{
    CliResult r;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f)
        return r;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
        r.output.append(buf, n);
    const int st = ::pclose(f);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

// `args` is shell text after the binary's name (redirections allowed); output is stdout and stderr.
inline CliResult run_cli(const std::string& args) { return run_shell(kMmusim + " " + args + " 2>&1"); }

// A file name in /tmp unique to this process and test: `what` is appended.
inline std::string test_tmp_path(const std::string& what)
{
    return "/tmp/mmusim_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + what;
}

// The whole of a file ("" if it cannot be read).
inline std::string slurp(const std::string& path)
{
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

} // namespace mmusim::test
