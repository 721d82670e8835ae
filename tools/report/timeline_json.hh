// SPDX-License-Identifier: GPL-2.0-only
// `--timeline OUT.json` (docs/REPORT.md, "Timelines"): a recorded hw::Timeline as Chrome trace-event JSON
// (the format chrome://tracing and ui.perfetto.dev open): one process per simulation (a variant of an
// experiment, or the replay), one thread (track) per core, "B"/"E" spans and "i" instants, timestamps in
// microseconds of simulated time at the platform's clock.
#pragma once

#include "hw/core/timeline.hh"

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace mmusim::tools {

struct TimelineRun {
    std::string name;                    // e.g. the variant
    std::shared_ptr<const hw::Timeline> timeline;
    double frequency_ghz = 1;
    unsigned cores = 0;
};

void write_timeline_json(const std::vector<TimelineRun>& runs, std::ostream& out);

// --timeline-limit's default: events recorded per simulation before the recording stops.
constexpr std::size_t kDefaultTimelineLimit = 2'000'000;

} // namespace mmusim::tools
