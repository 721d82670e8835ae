// SPDX-License-Identifier: GPL-2.0-only
#include "tools/sweep/sweep_results.hh"

#include "tools/report/output_file.hh"
#include "util/config_error.hh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

namespace mmusim::tools {

namespace {

using json = nlohmann::ordered_json;

// Numbers (and booleans as 0/1) under `j`, named by dotted path. An array of objects is summed element by
// element (per-core figures become the machine's), an array of numbers is indexed.
void flatten(const json& j, const std::string& path, std::map<std::string, double>& out, const std::set<std::string>& skip)
{
    const auto join = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
    if (j.is_object()) {
        for (const auto& [k, v] : j.items())
            if (!skip.count(k))
                flatten(v, join(k), out, skip);
    } else if (j.is_array()) {
        bool objects = !j.empty();
        for (const json& e : j)
            objects &= e.is_object();
        if (objects) {
            std::map<std::string, double> sum;
            for (const json& e : j) {
                std::map<std::string, double> one;
                flatten(e, path, one, skip);
                for (const auto& [k, v] : one)
                    sum[k] += v;
            }
            out.insert(sum.begin(), sum.end());
        } else {
            for (std::size_t i = 0; i < j.size(); ++i)
                flatten(j[i], join(std::to_string(i)), out, skip);
        }
    } else if (j.is_number()) {
        out[path] = j.get<double>();
    } else if (j.is_boolean()) {
        out[path] = j.get<bool>() ? 1 : 0;
    }
}

// What an operation is called in figure names: its kind, or kind@process where the kind repeats, or
// kind#index where that repeats too.
std::vector<std::string> op_names(const json& ops)
{
    std::map<std::string, int> kinds, kind_process;
    for (const json& op : ops) {
        ++kinds[op.value("op", "")];
        ++kind_process[op.value("op", "") + "@" + op.value("process", "")];
    }
    std::vector<std::string> names;
    for (const json& op : ops) {
        const std::string kind = op.value("op", "");
        const std::string kp = kind + "@" + op.value("process", "");
        names.push_back(kinds[kind] == 1         ? kind
                        : kind_process[kp] == 1 ? kp
                                                : kind + "#" + std::to_string(op.value("index", 0)));
    }
    return names;
}

std::string read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The last line of a job's log that says what went wrong.
std::string last_error(const std::string& log)
{
    std::istringstream in(read_text(log));
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty())
            last = line;
    return last;
}

std::string fmt(double v)
{
    if (std::isnan(v))
        return "";
    std::ostringstream s;
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        s << static_cast<long long>(v);
    else
        s << std::setprecision(6) << v;
    return s.str();
}

std::string csv_field(const std::string& v)
{
    if (v.find_first_of(",\"\n") == std::string::npos)
        return v;
    std::string out = "\"";
    for (const char c : v)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string md_cell(std::string v)
{
    for (char& c : v)
        if (c == '|' || c == '\n')
            c = ' ';
    return v;
}

std::string axes_text(const SweepPoint& p)
{
    std::string out;
    for (const auto& [k, v] : p.axes)
        out += (out.empty() ? "" : ", ") + k + "=" + v;
    return out;
}

std::vector<std::string> variants_of(const std::vector<PointResult>& results)
{
    std::vector<std::string> out;
    for (const PointResult& r : results)
        if (std::find(out.begin(), out.end(), r.point.variant) == out.end())
            out.push_back(r.point.variant);
    return out;
}

std::string markdown(const SweepSpec& s, const std::vector<PointResult>& results)
{
    const std::vector<std::string> metrics = report_metrics(s, results);
    const std::vector<std::string> variants = variants_of(results);
    const bool variant_column = variants.size() > 1 || !variants.front().empty(); // a replay has none
    std::size_t ok = 0;
    for (const PointResult& r : results)
        ok += r.ok;
    std::ostringstream o;
    o << "# Sweep " << s.name << "\n\n";
    if (!s.description.empty())
        o << s.description << "\n\n";
    o << results.size() << " points, " << ok << " ran, " << results.size() - ok << " failed. Base: "
      << (s.experiment.empty() ? "replay of " + s.trace : "experiment " + s.experiment) << ".\n";
    o << "Axes (" << (s.zip ? "zipped" : "crossed") << "):";
    for (const SweepAxis& a : s.axes) {
        o << " `" << a.key << "` =";
        for (const std::string& v : a.values)
            o << ' ' << v;
        o << ';';
    }
    o << "\nEvery figure below is in results.csv with the others; units as in docs/REPORT.md.\n\n";

    o << "## Points\n\n| point |";
    for (const SweepAxis& a : s.axes)
        o << " " << md_cell(a.key) << " |";
    if (variant_column)
        o << " variant |";
    for (const std::string& m : metrics)
        o << " " << md_cell(m) << " |";
    o << "\n|---|";
    for (std::size_t i = 0; i < s.axes.size() + metrics.size() + variant_column; ++i)
        o << "---|";
    o << "\n";
    for (const PointResult& r : results) {
        o << "| " << r.point.id << " |";
        for (const auto& [k, v] : r.point.axes)
            o << " " << md_cell(v) << " |";
        if (variant_column)
            o << " " << r.point.variant << " |";
        for (const std::string& m : metrics) {
            const auto it = r.figures.find(m);
            o << " " << (!r.ok ? "failed" : it == r.figures.end() ? "" : fmt(it->second)) << " |";
        }
        o << "\n";
    }

    o << "\n## Best and worst points\n\n| figure | lowest | at | highest | at |\n|---|---|---|---|---|\n";
    for (const std::string& m : metrics) {
        const PointResult* lo = nullptr;
        const PointResult* hi = nullptr;
        for (const PointResult& r : results) {
            const auto it = r.figures.find(m);
            if (!r.ok || it == r.figures.end())
                continue;
            if (!lo || it->second < lo->figures.at(m))
                lo = &r;
            if (!hi || it->second > hi->figures.at(m))
                hi = &r;
        }
        if (!lo)
            continue;
        const auto at = [](const PointResult& r) {
            return md_cell(axes_text(r.point) + (r.point.variant.empty() ? "" : ", " + r.point.variant));
        };
        o << "| " << md_cell(m) << " | " << fmt(lo->figures.at(m)) << " | " << at(*lo) << " | " << fmt(hi->figures.at(m))
          << " | " << at(*hi) << " |\n";
    }

    if (variants.size() > 1) {
        // Each variant against the first at the same axis setting: min, geometric mean and max of the ratio.
        o << "\n## Variants compared\n\nRatio of each variant's figure to " << variants.front()
          << "'s at the same axis values (below 1: smaller).\n\n| figure | variant | min | geomean | max | points |\n"
             "|---|---|---|---|---|---|\n";
        std::map<std::vector<std::pair<std::string, std::string>>, std::map<std::string, const PointResult*>> by_axes;
        for (const PointResult& r : results)
            if (r.ok)
                by_axes[r.point.axes][r.point.variant] = &r;
        for (const std::string& m : metrics)
            for (std::size_t vi = 1; vi < variants.size(); ++vi) {
                double lo = 0, hi = 0, logsum = 0;
                std::size_t n = 0;
                for (const auto& [axes, vs] : by_axes) {
                    const auto a = vs.find(variants.front());
                    const auto b = vs.find(variants[vi]);
                    if (a == vs.end() || b == vs.end())
                        continue;
                    const auto fa = a->second->figures.find(m);
                    const auto fb = b->second->figures.find(m);
                    if (fa == a->second->figures.end() || fb == b->second->figures.end() || fa->second <= 0 || fb->second <= 0)
                        continue;
                    const double ratio = fb->second / fa->second;
                    lo = n ? std::min(lo, ratio) : ratio;
                    hi = n ? std::max(hi, ratio) : ratio;
                    logsum += std::log(ratio);
                    ++n;
                }
                if (n)
                    o << "| " << md_cell(m) << " | " << variants[vi] << " | " << fmt(std::round(lo * 1000) / 1000) << " | "
                      << fmt(std::round(std::exp(logsum / double(n)) * 1000) / 1000) << " | "
                      << fmt(std::round(hi * 1000) / 1000) << " | " << n << " |\n";
            }
    }

    if (ok < results.size()) {
        o << "\n## Failed points\n\n| point | axes | variant | error |\n|---|---|---|---|\n";
        for (const PointResult& r : results)
            if (!r.ok)
                o << "| " << r.point.id << " | " << md_cell(axes_text(r.point)) << " | " << r.point.variant << " | "
                  << md_cell(r.error) << " |\n";
    }
    if (!s.plots.empty()) {
        o << "\n## Plots\n\n";
        for (const SweepPlot& p : s.plots)
            o << "- `plots/" << p.name << ".png` (and `.svg`): " << md_cell([&] {
                std::string y;
                for (const std::string& f : p.y)
                    y += (y.empty() ? "" : ", ") + f;
                return y;
            }()) << " against `" << p.x << "`\n";
    }
    return o.str();
}

} // namespace

std::map<std::string, double> flatten_report(const nlohmann::ordered_json& report)
{
    std::map<std::string, double> out;
    const std::set<std::string> skip{"index", "core", "line", "id", "schema", "tool"};
    if (report.contains("variants")) { // mmusim run
        for (const json& v : report["variants"]) {
            if (v.contains("operations")) {
                const std::vector<std::string> names = op_names(v["operations"]);
                for (std::size_t i = 0; i < names.size(); ++i) {
                    flatten(v["operations"][i], names[i], out, skip);
                    // TLB maintenance on every core (cycles per flushed page, in shootdown studies)
                    double m = 0;
                    for (const char* cat : {"tlbi", "dsb", "tlbi_receive", "barrier", "ipi_send", "ipi_wait", "ipi_handler"})
                        if (const auto it = out.find(names[i] + ".cycles_by_category." + cat); it != out.end())
                            m += it->second;
                    out[names[i] + ".maintenance_cycles"] = m;
                    if (const auto p = out.find(names[i] + ".ptes"); p != out.end() && p->second > 0)
                        out[names[i] + ".maintenance_cycles_per_pte"] = m / p->second;
                }
            }
            if (v.contains("processes"))
                for (const json& p : v["processes"])
                    flatten(p, "process." + p.value("name", "?"), out, skip);
            if (v.contains("memory_free_bytes"))
                flatten(v["memory_free_bytes"], "memory_free_bytes", out, skip);
        }
        return out;
    }
    // mmusim replay: what happened, not the configuration it echoes; per-core arrays are in the totals.
    for (const char* k : {"trace", "totals", "mm", "shared_caches", "memory"})
        if (report.contains(k))
            flatten(report[k], k, out, skip);
    // Misses per kilo-translation at each TLB level, the figure TLB-reach studies plot.
    const auto get = [&](const std::string& k) { const auto it = out.find(k); return it == out.end() ? 0.0 : it->second; };
    const double translations = get("totals.translations");
    if (translations > 0)
        for (const char* level : {"l1i", "l1d", "l2"})
            if (out.count(std::string("totals.tlb.") + level + ".misses"))
                out[std::string("totals.tlb.") + level + ".mpki"] = get(std::string("totals.tlb.") + level + ".misses") * 1000 / translations;
    return out;
}

nlohmann::ordered_json sweep_manifest(const SweepSpec& s, const std::vector<SweepPoint>& points,
                                      const std::vector<std::vector<std::string>>& commands)
{
    json m;
    m["schema"] = "mmusim-sweep/1";
    m["name"] = s.name;
    m["description"] = s.description;
    m["source"] = s.source;
    m["base"] = s.experiment.empty() ? json{{"replay", s.trace}} : json{{"experiment", s.experiment}};
    m["combine"] = s.zip ? "zip" : "cross";
    m["axes"] = json::array();
    for (const SweepAxis& a : s.axes)
        m["axes"].push_back({{"key", a.key}, {"values", a.values}});
    m["metrics"] = s.metrics;
    m["plots"] = json::array();
    for (const SweepPlot& p : s.plots)
        m["plots"].push_back({{"name", p.name}, {"x", p.x}, {"y", p.y}, {"lines", p.lines}, {"panels", p.panels},
                              {"logx", p.logx}, {"logy", p.logy}});
    m["points"] = json::array();
    for (std::size_t i = 0; i < points.size(); ++i) {
        json axes = json::object();
        for (const auto& [k, v] : points[i].axes)
            axes[k] = v;
        m["points"].push_back({{"id", points[i].id}, {"axes", axes}, {"variant", points[i].variant},
                               {"sets", points[i].sets}, {"command", commands[i]}});
    }
    return m;
}

void read_manifest(const std::string& path, SweepSpec& s, std::vector<SweepPoint>& points)
{
    const std::string text = read_text(path);
    if (text.empty())
        throw ConfigError(path + ": cannot read the sweep manifest (is this a sweep's output directory?)");
    try {
        const json m = json::parse(text);
        if (m.value("schema", "") != "mmusim-sweep/1")
            throw ConfigError(path + ": not a sweep manifest (schema mmusim-sweep/1)");
        s.name = m.at("name").get<std::string>();
        s.description = m.value("description", "");
        s.source = m.value("source", "");
        const json& base = m.at("base");
        if (base.contains("experiment"))
            s.experiment = base["experiment"].get<std::string>();
        else
            s.trace = base.at("replay").get<std::string>();
        s.zip = m.value("combine", "cross") == "zip";
        s.axes.clear();
        for (const json& a : m.at("axes"))
            s.axes.push_back({a.at("key").get<std::string>(), a.at("values").get<std::vector<std::string>>(), {}});
        s.metrics = m.at("metrics").get<std::vector<std::string>>();
        s.plots.clear();
        for (const json& p : m.at("plots"))
            s.plots.push_back({p.at("name").get<std::string>(), p.at("x").get<std::string>(),
                               p.at("y").get<std::vector<std::string>>(), p.at("lines").get<std::string>(),
                               p.at("panels").get<std::string>(), p.at("logx").get<bool>(), p.at("logy").get<bool>()});
        points.clear();
        for (const json& p : m.at("points")) {
            SweepPoint pt;
            pt.id = p.at("id").get<unsigned>();
            for (const auto& [k, v] : p.at("axes").items())
                pt.axes.emplace_back(k, v.get<std::string>());
            pt.variant = p.at("variant").get<std::string>();
            pt.sets = p.at("sets").get<std::vector<std::string>>();
            points.push_back(std::move(pt));
        }
    } catch (const json::exception& e) {
        throw ConfigError(path + ": bad sweep manifest: " + e.what());
    }
}

std::string point_json(const std::string& dir, unsigned id)
{
    char name[32];
    std::snprintf(name, sizeof name, "%05u.json", id);
    return dir + "/points/" + name;
}

std::string point_log(const std::string& dir, unsigned id)
{
    char name[32];
    std::snprintf(name, sizeof name, "%05u.log", id);
    return dir + "/points/" + name;
}

std::vector<PointResult> collect_points(const std::string& dir, const std::vector<SweepPoint>& points)
{
    std::vector<PointResult> out;
    for (const SweepPoint& p : points) {
        PointResult r;
        r.point = p;
        const std::string text = read_text(point_json(dir, p.id));
        if (!text.empty()) {
            try {
                r.figures = flatten_report(json::parse(text));
                r.ok = true;
            } catch (const json::exception& e) {
                r.error = point_json(dir, p.id) + ": unreadable report: " + e.what();
            }
        } else {
            r.error = last_error(point_log(dir, p.id));
            if (r.error.empty())
                r.error = "not run (no " + point_json(dir, p.id) + ")";
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<std::string> report_metrics(const SweepSpec& s, const std::vector<PointResult>& results)
{
    if (!s.metrics.empty())
        return s.metrics;
    std::set<std::string> have;
    for (const PointResult& r : results)
        for (const auto& [k, v] : r.figures)
            have.insert(k);
    std::vector<std::string> out;
    if (s.experiment.empty()) {
        for (const char* k : {"totals.tlb.l1d.mpki", "totals.tlb.l2.mpki", "totals.walk_cycles", "totals.fault_cycles", "totals.cycles"})
            if (have.count(k))
                out.push_back(k);
        return out;
    }
    // Every operation's cycles per PTE and elapsed time, in workload order (the order of first appearance).
    for (const PointResult& r : results) {
        if (!r.ok)
            continue;
        for (const auto& [k, v] : r.figures) {
            const auto dot = k.find('.');
            const std::string rest = dot == std::string::npos ? "" : k.substr(dot + 1);
            if ((rest == "cycles_per_pte" || rest == "elapsed_ms") && std::find(out.begin(), out.end(), k) == out.end())
                out.push_back(k);
        }
        break;
    }
    return out;
}

void write_results(const std::string& dir, const SweepSpec& s, const std::vector<PointResult>& results)
{
    std::set<std::string> columns;
    for (const PointResult& r : results)
        for (const auto& [k, v] : r.figures)
            columns.insert(k);

    std::ostringstream csv;
    csv << "point";
    for (const SweepAxis& a : s.axes)
        csv << ',' << csv_field(a.key);
    csv << ",variant,status,error";
    for (const std::string& c : columns)
        csv << ',' << csv_field(c);
    csv << '\n';
    json rows = json::array();
    for (const PointResult& r : results) {
        csv << r.point.id;
        json axes = json::object();
        for (const auto& [k, v] : r.point.axes) {
            csv << ',' << csv_field(v);
            axes[k] = v;
        }
        csv << ',' << csv_field(r.point.variant) << ',' << (r.ok ? "ok" : "failed") << ',' << csv_field(r.error);
        json figures = json::object();
        for (const std::string& c : columns) {
            const auto it = r.figures.find(c);
            csv << ',' << (it == r.figures.end() ? "" : fmt(it->second));
            if (it != r.figures.end())
                figures[c] = it->second;
        }
        csv << '\n';
        rows.push_back({{"point", r.point.id}, {"axes", axes}, {"variant", r.point.variant}, {"status", r.ok ? "ok" : "failed"},
                        {"error", r.error}, {"figures", figures}});
    }
    json out = sweep_manifest(s, {}, {});
    out["schema"] = "mmusim-sweep-results/1";
    out.erase("points");
    out["metrics"] = report_metrics(s, results);
    out["rows"] = rows;

    OutputSet files;
    files.add("results.csv", dir + "/results.csv");
    files.add("results.json", dir + "/results.json");
    files.add("report.md", dir + "/report.md");
    files.set_text("results.csv", csv.str());
    files.set_text("results.json", out.dump(1) + "\n");
    files.set_text("report.md", markdown(s, results));
    files.write_all();
}

} // namespace mmusim::tools
