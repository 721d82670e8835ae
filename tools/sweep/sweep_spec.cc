// SPDX-License-Identifier: GPL-2.0-only
#include "tools/sweep/sweep_spec.hh"

#include "tools/commands/commands.hh"
#include "util/config_error.hh"
#include "util/config_node.hh"

#include <filesystem>
#include <set>

namespace mmusim::tools {

namespace {

constexpr std::size_t kMaxPoints = 100000; // a typo in a range should not fork a million processes

std::string absolute(const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); }

// The non-throwing overload: a path the OS rejects (too long, a component not a directory) is no such file,
// reported as a config error, not a std::filesystem::filesystem_error (found by the sweep fuzzer).
bool is_file(const std::string& p)
{
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
}

// A shipped name looked up by `lookup` (resolve_experiment, ...), its error reported at the key's line.
std::string resolved(const ConfigNode& n, const std::string& key, const std::string& name,
                     std::string (*lookup)(const std::string&))
{
    try {
        return lookup(name);
    } catch (const ConfigError& e) {
        n.fail(key, e.what());
    }
}

// `p` relative to the directory of `file` (unless absolute).
std::string beside(const std::string& file, const std::string& p)
{
    const std::filesystem::path q(p);
    return q.is_absolute() ? p : (std::filesystem::path(file).parent_path() / q).string();
}

// values: [..] or range: {from, to, step | times}
std::vector<std::string> axis_values(const ConfigNode& a)
{
    if (a.has("values") == a.has("range"))
        a.fail("values", "an axis needs exactly one of values and range");
    std::vector<std::string> out;
    if (a.has("values")) {
        out = a.str_list("values");
        if (out.empty())
            a.fail("values", "expected at least one value");
        std::set<std::string> seen;
        for (const std::string& v : out)
            if (!seen.insert(v).second)
                a.fail("values", "value '" + v + "' is listed twice");
        return out;
    }
    const ConfigNode r = a.child("range");
    const std::uint64_t from = r.u64("from");
    const std::uint64_t to = r.u64("to");
    if (to < from)
        r.fail("to", "must not be below from (" + std::to_string(from) + ")");
    if (r.has("step") == r.has("times"))
        r.fail("step", "a range needs exactly one of step (add) and times (multiply)");
    if (r.has("step")) {
        const std::uint64_t step = r.u64("step", 1, UINT64_MAX);
        for (std::uint64_t v = from;; v += step) {
            out.push_back(std::to_string(v));
            if (out.size() > kMaxPoints)
                r.fail("step", "more than " + std::to_string(kMaxPoints) + " values");
            if (to - v < step)
                break;
        }
    } else {
        const std::uint64_t times = r.u64("times", 2, UINT64_MAX);
        if (from == 0)
            r.fail("from", "must be at least 1 with times");
        for (std::uint64_t v = from;; v *= times) {
            out.push_back(std::to_string(v));
            if (v > to / times)
                break;
        }
    }
    r.finish();
    return out;
}

} // namespace

SweepSpec load_sweep(const std::string& path)
{
    ConfigNode root = ConfigNode::load_file(path);
    SweepSpec s;
    s.source = path;
    const ConfigNode x = root.child("sweep");
    s.name = x.str("name");
    if (s.name.empty() || s.name.find('/') != std::string::npos)
        x.fail("name", "must be a non-empty name without '/'");
    s.description = x.str("description", "");
    if (x.has("experiment") == x.has("replay"))
        x.fail("experiment", "a sweep needs exactly one base: experiment (for mmusim run) or replay (a trace)");
    if (x.has("experiment")) {
        const std::string e = x.str("experiment");
        if (e.empty())
            x.fail("experiment", "must not be empty");
        // A name is a shipped experiment; a path is relative to the sweep file.
        s.experiment = absolute(e.find('/') == std::string::npos ? resolved(x, "experiment", e, resolve_experiment)
                                                                 : beside(path, e));
        if (!is_file(s.experiment))
            x.fail("experiment", "no experiment '" + e + "' (" + s.experiment + ")");
        s.variants = x.has("variants") ? x.str_list("variants") : std::vector<std::string>{};
    } else {
        const ConfigNode r = x.child("replay");
        const std::string t = r.str("trace");
        s.trace = absolute(beside(path, t));
        if (!is_file(s.trace))
            r.fail("trace", "no such file '" + t + "'");
        s.format = r.choice("format", {"native", "lackey", "auto"}, "auto");
        s.platform = r.str("platform", "");
        s.kernel = r.str("kernel", "");
        if (!s.platform.empty())
            s.platform = resolved(r, "platform", s.platform, resolve_platform);
        if (!s.kernel.empty())
            s.kernel = resolved(r, "kernel", s.kernel, resolve_kernel);
        r.finish();
    }
    s.sets = x.has("set") ? x.str_list("set") : std::vector<std::string>{};
    s.zip = x.choice("combine", {"cross", "zip"}, "cross") == "zip";

    std::set<std::string> keys;
    for (const ConfigNode& a : root.list("axes")) {
        SweepAxis axis;
        if (a.has("cases")) {
            // Named cases, each a list of assignments made together (a hypothetical feature and the kernel
            // switch that needs it, say).
            axis.key = a.str("name");
            const ConfigNode c = a.child("cases");
            for (const std::string& name : c.keys()) {
                axis.values.push_back(name);
                axis.cases.push_back(c.has(name) ? c.str_list(name) : std::vector<std::string>{});
            }
            if (axis.values.empty())
                a.fail("cases", "expected at least one case");
        } else {
            axis.key = a.str("key");
            if (axis.key.find('=') != std::string::npos)
                a.fail("key", "must be a --set key (KEY, no '=')");
            axis.values = axis_values(a);
        }
        if (axis.key.empty())
            a.fail(a.has("cases") ? "name" : "key", "must not be empty");
        if (axis.key == "variant")
            a.fail(a.has("cases") ? "name" : "key", "'variant' is taken: list the experiment's variants under sweep.variants");
        if (!keys.insert(axis.key).second)
            a.fail(a.has("cases") ? "name" : "key", "axis '" + axis.key + "' is defined twice");
        s.axes.push_back(std::move(axis));
    }
    if (s.axes.empty())
        root.fail("axes", "expected at least one axis");
    if (s.zip) {
        for (std::size_t i = 1; i < s.axes.size(); ++i)
            if (s.axes[i].values.size() != s.axes[0].values.size())
                x.fail("combine", "zip needs axes of one length: '" + s.axes[0].key + "' has " +
                                      std::to_string(s.axes[0].values.size()) + " values, '" + s.axes[i].key + "' " +
                                      std::to_string(s.axes[i].values.size()));
    } else {
        std::size_t n = 1;
        for (const SweepAxis& a : s.axes) {
            n *= a.values.size();
            if (n > kMaxPoints)
                root.fail("axes", "more than " + std::to_string(kMaxPoints) + " points");
        }
    }

    s.metrics = root.has("metrics") ? root.str_list("metrics") : std::vector<std::string>{};
    if (root.has("plots")) {
        std::set<std::string> names;
        const auto is_dim = [&](const std::string& k) { return k == "variant" || keys.count(k); };
        for (const ConfigNode& p : root.list("plots")) {
            SweepPlot plot;
            plot.name = p.str("name");
            if (plot.name.empty() || plot.name.find('/') != std::string::npos || !names.insert(plot.name).second)
                p.fail("name", "must be a unique non-empty name without '/'");
            plot.x = p.str("x");
            if (!keys.count(plot.x))
                p.fail("x", "'" + plot.x + "' is not an axis of the sweep");
            try { // one figure, or a list of them
                plot.y = {p.str("y")};
            } catch (const ConfigError&) {
                plot.y = p.str_list("y");
            }
            if (plot.y.empty())
                p.fail("y", "expected at least one figure");
            plot.lines = p.str("lines", "");
            if (!plot.lines.empty() && !is_dim(plot.lines))
                p.fail("lines", "'" + plot.lines + "' is neither an axis of the sweep nor 'variant'");
            plot.panels = p.str("panels", "");
            if (!plot.panels.empty() && !is_dim(plot.panels))
                p.fail("panels", "'" + plot.panels + "' is neither an axis of the sweep nor 'variant'");
            plot.logx = p.boolean("logx", false);
            plot.logy = p.boolean("logy", false);
            s.plots.push_back(std::move(plot));
        }
    }
    root.finish();
    return s;
}

std::vector<SweepPoint> expand_points(const SweepSpec& s, const std::vector<std::string>& variants)
{
    // Each setting: the index of its value on every axis.
    std::vector<std::vector<std::size_t>> settings;
    if (s.zip) {
        for (std::size_t i = 0; i < s.axes.front().values.size(); ++i)
            settings.push_back(std::vector<std::size_t>(s.axes.size(), i));
    } else {
        settings.emplace_back();
        for (const SweepAxis& a : s.axes) {
            std::vector<std::vector<std::size_t>> next;
            for (const auto& prefix : settings)
                for (std::size_t i = 0; i < a.values.size(); ++i) {
                    auto one = prefix;
                    one.push_back(i);
                    next.push_back(std::move(one));
                }
            settings = std::move(next);
        }
    }
    std::vector<SweepPoint> out;
    for (const auto& setting : settings)
        for (const std::string& v : variants) {
            SweepPoint p;
            p.id = static_cast<unsigned>(out.size());
            for (std::size_t ai = 0; ai < s.axes.size(); ++ai) {
                const SweepAxis& a = s.axes[ai];
                const std::size_t i = setting[ai];
                p.axes.emplace_back(a.key, a.values[i]);
                if (a.cases.empty())
                    p.sets.push_back(a.key + "=" + a.values[i]);
                else
                    p.sets.insert(p.sets.end(), a.cases[i].begin(), a.cases[i].end());
            }
            p.variant = v;
            out.push_back(std::move(p));
        }
    return out;
}

std::vector<std::string> job_arguments(const SweepSpec& s, const SweepPoint& p, const std::string& json_out)
{
    std::vector<std::string> sets = s.sets;
    sets.insert(sets.end(), p.sets.begin(), p.sets.end());
    std::vector<std::string> args;
    if (!s.experiment.empty()) {
        args = {"run", s.experiment};
        if (!p.variant.empty())
            args.insert(args.end(), {"--variant", p.variant});
    } else {
        const ReplayFiles f = replay_files(s, sets);
        args = {"replay", s.trace, "--format", s.format};
        if (!f.platform.empty())
            args.insert(args.end(), {"--platform", f.platform});
        if (!f.kernel.empty())
            args.insert(args.end(), {"--kernel", f.kernel});
        sets = f.sets;
    }
    for (const std::string& set : sets)
        args.insert(args.end(), {"--set", set});
    args.insert(args.end(), {"--json", json_out, "--quiet", "--no-progress"});
    return args;
}

ReplayFiles replay_files(const SweepSpec& s, const std::vector<std::string>& sets)
{
    ReplayFiles f{s.platform, s.kernel, {}};
    for (const std::string& set : sets) {
        if (set.rfind("platform=", 0) == 0)
            f.platform = resolve_platform(set.substr(9));
        else if (set.rfind("kernel=", 0) == 0)
            f.kernel = resolve_kernel(set.substr(7));
        else
            f.sets.push_back(set);
    }
    return f;
}

} // namespace mmusim::tools
