// SPDX-License-Identifier: GPL-2.0-only
// Replay reports: JSON with a versioned schema (docs/REPORT.md, "mmusim-report/3"), CSV (one row per core
// plus a total row), and a human table. Reports hold only simulated quantities, so the same inputs give a
// byte-identical report. Strings that are not valid UTF-8 (a file name, say) have each bad byte written as
// the text \xNN, so the JSON always dumps. Written to files through OutputSet (output_file.hh).
#pragma once

#include "tools/replay/replayer.hh"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace mmusim::tools {

inline constexpr const char* kReportSchema = "mmusim-report/3";

struct ReplayInfo {
    std::string trace_path;
    std::string trace_format;
};

// Every string of a report (keys too) made valid UTF-8, which JSON requires: a byte that is not part of a
// valid sequence (a Latin-1 file name, say) becomes the text \xNN.
void escape_invalid_utf8(nlohmann::ordered_json& j);

nlohmann::ordered_json replay_report(const hw::Platform& p, const Replayer& r, const ReplayInfo& info);
void write_csv(const nlohmann::ordered_json& report, std::ostream& out);
void print_table(const nlohmann::ordered_json& report, std::ostream& out);

} // namespace mmusim::tools
