// SPDX-License-Identifier: GPL-2.0-only
// Reports of `mmusim run` (docs/REPORT.md, "Experiment reports"): JSON (schema mmusim-report/3, command "run"),
// CSV (one row per variant, operation and core), and a table on stdout: per operation, cycles per PTE for every
// variant and where they went, category by category. Only simulated quantities: the same inputs give a
// byte-identical JSON.
#pragma once

#include "tools/experiment/runner.hh"

#include <nlohmann/json.hpp>

#include <ostream>
#include <vector>

namespace mmusim::tools {

inline constexpr const char* kExperimentReportSchema = "mmusim-report/3";

nlohmann::ordered_json experiment_report(const Experiment& e, const std::vector<VariantResult>& variants);
void write_experiment_csv(const nlohmann::ordered_json& report, std::ostream& out);
void print_experiment_table(const nlohmann::ordered_json& report, std::ostream& out);

} // namespace mmusim::tools
