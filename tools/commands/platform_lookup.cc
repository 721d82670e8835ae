// SPDX-License-Identifier: GPL-2.0-only
#include "tools/commands/commands.hh"

#include "util/config_error.hh"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

namespace mmusim::tools {

namespace {
bool exists(const std::string& p)
{
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}

std::vector<std::string> yaml_names(const std::string& dir)
{
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            const std::string n = e->d_name;
            if (n.size() > 5 && n.compare(n.size() - 5, 5, ".yaml") == 0)
                names.push_back(n.substr(0, n.size() - 5));
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

// A path is taken as is; a bare name is looked up as DIR/NAME.yaml. `what` names the kind in the error.
std::string resolve_in(const std::string& dir, const std::string& what, const std::string& name_or_path)
{
    if (name_or_path.find('/') != std::string::npos || exists(name_or_path))
        return name_or_path;
    std::string base = name_or_path;
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".yaml") == 0)
        base.resize(base.size() - 5);
    const std::string candidate = dir + "/" + base + ".yaml";
    if (exists(candidate))
        return candidate;
    std::string known;
    for (const std::string& n : yaml_names(dir))
        known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("unknown " + what + " '" + name_or_path + "': not a file, and not one of the shipped " + what +
                      "s (" + known + ")");
}

} // namespace

std::string platforms_dir() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms"; }
std::string kernels_dir() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels"; }
std::vector<std::string> shipped_platforms() { return yaml_names(platforms_dir()); }
std::string resolve_platform(const std::string& name_or_path) { return resolve_in(platforms_dir(), "platform", name_or_path); }
std::string resolve_kernel(const std::string& name_or_path) { return resolve_in(kernels_dir(), "kernel", name_or_path); }
std::string experiments_dir() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments"; }
std::string resolve_experiment(const std::string& name_or_path)
{
    return resolve_in(experiments_dir(), "experiment", name_or_path);
}
std::string sweeps_dir() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/sweeps"; }
std::string resolve_sweep(const std::string& name_or_path) { return resolve_in(sweeps_dir(), "sweep", name_or_path); }

const CLI::Validator& non_empty()
{
    static const CLI::Validator v(
        [](const std::string& s) { return s.empty() ? "an empty value is not allowed" : ""; }, "", "NONEMPTY");
    return v;
}

CLI::Option* add_repeated_option(CLI::App* cmd, const std::string& name, std::vector<std::string>& into,
                                 const std::string& help)
{
    return cmd->add_option(name, into, help)
        ->check(non_empty())
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_timeline_options(CLI::App* cmd, std::string& out, std::size_t& limit, const std::string& what)
{
    cmd->add_option("--timeline", out,
                    "Write a Chrome/Perfetto trace-event JSON of the simulated time here: a track per core, spans for " +
                        what + ", DSBs, IPI waits and handlers, instants for TLBIs, IPIs and walks")
        ->check(non_empty());
    cmd->add_option("--timeline-limit", limit, "Events recorded per simulation before the timeline stops")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32));
}

bool looks_like_override(const std::string& arg)
{
    // A key is a dotted path: never empty, never holding a '/' (which a file's path before an '=' may).
    const auto eq = arg.find('=');
    return eq != std::string::npos && eq > 0 && arg.find('/') > eq && !exists(arg);
}

std::string override_hint(const std::string& arg)
{
    return "each --set takes exactly one KEY=VALUE: write --set " + arg;
}

std::string default_platform() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/neoverse-n1.yaml"; }
std::string default_kernel() { return kernels_dir() + "/default.yaml"; }
std::string default_trace() { return std::string(MMUSIM_SOURCE_DIR) + "/traces/samples/lackey_true.txt.xz"; }

} // namespace mmusim::tools
