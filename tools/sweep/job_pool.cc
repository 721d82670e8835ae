// SPDX-License-Identifier: GPL-2.0-only
#include "tools/sweep/job_pool.hh"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

extern char** environ;

namespace mmusim::tools {

namespace {

// Starts one job; returns its pid, or -1 if it could not be started.
pid_t spawn(const std::string& program, const Job& job)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, job.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> words{program};
    words.insert(words.end(), job.args.begin(), job.args.end());
    std::vector<char*> argv;
    for (std::string& w : words)
        argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int err = posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return err == 0 ? pid : -1;
}

} // namespace

void run_jobs(const std::string& program, const std::vector<Job>& jobs, unsigned parallel, const JobDone& done)
{
    if (parallel == 0)
        parallel = 1;
    std::map<pid_t, std::size_t> running;
    std::size_t next = 0;
    while (next < jobs.size() || !running.empty()) {
        while (next < jobs.size() && running.size() < parallel) {
            const pid_t pid = spawn(program, jobs[next]);
            if (pid < 0)
                done(next, -1000);
            else
                running[pid] = next;
            ++next;
        }
        if (running.empty())
            continue;
        int st = 0;
        const pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            throw std::runtime_error(std::string("waiting for sweep jobs: ") + std::strerror(errno));
        }
        const auto it = running.find(pid);
        if (it == running.end())
            continue; // not one of ours
        const std::size_t index = it->second;
        running.erase(it);
        done(index, WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1000);
    }
}

std::string self_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

std::string shell_quote(const std::vector<std::string>& args)
{
    std::string out;
    for (const std::string& a : args) {
        if (!out.empty())
            out += ' ';
        const bool plain = !a.empty() && a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_-+=./,:@%") == std::string::npos;
        if (plain) {
            out += a;
            continue;
        }
        out += '\'';
        for (const char c : a)
            out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += '\'';
    }
    return out;
}

} // namespace mmusim::tools
