// SPDX-License-Identifier: GPL-2.0-only
#include "tools/report/timeline_json.hh"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace mmusim::tools {

void write_timeline_json(const std::vector<TimelineRun>& runs, std::ostream& out)
{
    // Written by hand, event by event: a timeline can hold millions of them.
    out << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"tool\":\"mmusim\",\"time\":\"simulated\"},\"traceEvents\":[\n";
    bool first = true;
    const auto sep = [&] {
        if (!first)
            out << ",\n";
        first = false;
    };
    for (std::size_t pid = 0; pid < runs.size(); ++pid) {
        const TimelineRun& r = runs[pid];
        sep();
        out << "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" << pid << ",\"args\":{\"name\":"
            << nlohmann::json(r.name + (r.timeline && r.timeline->truncated()
                                            ? " (truncated at " + std::to_string(r.timeline->limit()) + " events)"
                                            : ""))
                   .dump()
            << "}}";
        for (unsigned c = 0; c < r.cores; ++c) {
            sep();
            out << "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":" << pid << ",\"tid\":" << c
                << ",\"args\":{\"name\":\"core " << c << "\"}}";
        }
        if (!r.timeline)
            continue;
        const double us_per_cycle = 1e-3 / r.frequency_ghz;
        char ts[64];
        for (const hw::TimelineEvent& e : r.timeline->events()) {
            sep();
            std::snprintf(ts, sizeof ts, "%.6f", static_cast<double>(e.at) * us_per_cycle);
            out << "{\"ph\":\"" << e.phase << "\",\"pid\":" << pid << ",\"tid\":" << e.core << ",\"ts\":" << ts;
            if (e.phase != 'E')
                out << ",\"name\":" << nlohmann::json(e.name).dump();
            if (e.phase == 'i')
                out << ",\"s\":\"t\"";
            out << "}";
        }
    }
    out << "\n]}\n";
}

} // namespace mmusim::tools
