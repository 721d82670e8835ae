// SPDX-License-Identifier: GPL-2.0-only
// A sweep (docs/EXPERIMENTS.md, "Sweeps"): a base run -- an experiment for `mmusim run`, or a trace for
// `mmusim replay` -- and axes of KEY=VALUE overrides, crossed or zipped into points. Every point (times every
// selected variant of an experiment) is one job: a self-contained `mmusim` command line that writes one JSON
// report. Loaded from YAML with every key checked; errors name file, line and key.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mmusim::tools {

struct SweepAxis {
    std::string key;                 // any --set key: kernel.*, platform keys, experiment.*, workload.N.*, ...;
                                     // for an axis of cases, its name
    std::vector<std::string> values; // as --set takes them; for cases, their names
    std::vector<std::vector<std::string>> cases; // empty, or per value the KEY=VALUE assignments it stands for
};

struct SweepPlot {
    std::string name;   // file stem: DIR/plots/NAME.png and .svg
    std::string x;      // an axis key
    std::vector<std::string> y; // figures (result columns); one panel row each
    std::string lines;  // an axis key or "variant" (one line per value); empty: one line
    std::string panels; // an axis key or "variant" (one panel per value); empty: one panel
    bool logx = false;
    bool logy = false;
};

struct SweepSpec {
    std::string name;
    std::string description;
    std::string source; // the sweep file
    // The base: exactly one of experiment and trace is set.
    std::string experiment;            // path as resolved (absolute)
    std::vector<std::string> variants; // experiment variants to run; empty: all of the experiment's
    std::string trace;                 // replay: path (absolute)
    std::string format = "auto";       // replay: trace format
    std::string platform;              // replay: platform name or path
    std::string kernel;                // replay: kernel name or path
    std::vector<std::string> sets;     // overrides of every point
    bool zip = false;                  // false: every combination of the axes; true: the i-th value of each
    std::vector<SweepAxis> axes;
    std::vector<std::string> metrics;  // figures report.md shows (default: chosen by the results)
    std::vector<SweepPlot> plots;
};

struct SweepPoint {
    unsigned id = 0;                                       // 0-based, stable for a given sweep file
    std::vector<std::pair<std::string, std::string>> axes; // (key, value), in axis order
    std::string variant;                                   // experiment variant ("" for a replay)
    std::vector<std::string> sets;                         // KEY=VALUE assignments of the axes' values
};

// Loads and validates a sweep file. Throws ConfigError naming file, line and key.
SweepSpec load_sweep(const std::string& path);

// The sweep's points, variants innermost (points of one axis setting are neighbours). `variants` are the
// variant names to run (for a replay: one empty name).
std::vector<SweepPoint> expand_points(const SweepSpec& s, const std::vector<std::string>& variants);

// A replay's platform and kernel files: the sweep's, or a point's `platform=NAME` / `kernel=NAME` (which a replay
// takes as --platform / --kernel), and the other assignments. Throws ConfigError for an unknown name.
struct ReplayFiles {
    std::string platform, kernel;
    std::vector<std::string> sets;
};
ReplayFiles replay_files(const SweepSpec& s, const std::vector<std::string>& sets);

// The arguments after the program name of the job that runs `p` and writes its JSON report to `json_out`.
std::vector<std::string> job_arguments(const SweepSpec& s, const SweepPoint& p, const std::string& json_out);

} // namespace mmusim::tools
