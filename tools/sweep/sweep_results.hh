// SPDX-License-Identifier: GPL-2.0-only
// A sweep's results (docs/EXPERIMENTS.md, "Sweep results"): each point's JSON report flattened into named
// figures (an experiment's `OP.FIGURE`, e.g. `madvise.cycles_per_pte`; a replay's `totals.walk_cycles`), and
// the files a person reads: results.csv (one row per point: the axes, the variant, the status, every figure),
// results.json (the same with the sweep's description and plots), report.md (tables, best and worst points,
// ratios between variants).
#pragma once

#include "tools/sweep/sweep_spec.hh"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace mmusim::tools {

struct PointResult {
    SweepPoint point;
    bool ok = false;
    std::string error;                     // why the point failed (its last error line)
    std::map<std::string, double> figures; // flattened report
};

// The figures of one `mmusim run` (one variant) or `mmusim replay` JSON report. Identity fields (indices,
// core and line numbers) and configuration echoes are left out; per-core arrays are summed.
std::map<std::string, double> flatten_report(const nlohmann::ordered_json& report);

// The manifest a sweep writes before running anything (DIR/sweep.json): the spec and every point's job, so
// that `sweep-collect` and `--resume` know the points without the sweep file.
nlohmann::ordered_json sweep_manifest(const SweepSpec& s, const std::vector<SweepPoint>& points,
                                      const std::vector<std::vector<std::string>>& commands);
// Reads a manifest back: the spec's name, description, axes, metrics and plots, and the points. Throws
// ConfigError naming the file.
void read_manifest(const std::string& path, SweepSpec& s, std::vector<SweepPoint>& points);

// Point i's files in DIR/points/.
std::string point_json(const std::string& dir, unsigned id);
std::string point_log(const std::string& dir, unsigned id);

// Reads each point's JSON (or its log's last error line when it has none).
std::vector<PointResult> collect_points(const std::string& dir, const std::vector<SweepPoint>& points);

// The figures report.md shows: the sweep's metrics, or by default every operation's cycles_per_pte and
// elapsed_ms (experiments) or the translation and walk figures (replays) that the results have.
std::vector<std::string> report_metrics(const SweepSpec& s, const std::vector<PointResult>& results);

// Writes DIR/results.csv, DIR/results.json and DIR/report.md (all or none, as far as the system allows).
void write_results(const std::string& dir, const SweepSpec& s, const std::vector<PointResult>& results);

} // namespace mmusim::tools
