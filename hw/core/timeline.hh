// SPDX-License-Identifier: GPL-2.0-only
// What each core did, on the simulated time axis, for `--timeline` (docs/REPORT.md, "Timelines"): spans that
// nest on each core (kernel functions from the port's PhaseScope, DSBs, IPI waits and handlers) and instants
// (TLBI, IPI sends, page walks). tools/report/timeline_json.cc writes it as Chrome/Perfetto trace-event JSON.
//
// A core's events are kept in the order the core made them, with times made non-decreasing per core: a core
// that takes an interrupt while it ran ahead in its SystemC quantum has the handler drawn where its own time
// was, so that its spans still nest. Recording stops at a limit (spans open then are still closed), and the
// timeline says so.
#pragma once

#include "hw/common/types.hh"

#include <deque>
#include <string>
#include <vector>

namespace mmusim::hw {

struct TimelineEvent {
    Cycles at = 0;
    const char* name = ""; // static storage or interned by the Timeline
    char phase = 'i';      // 'B' begin, 'E' end, 'i' instant
    unsigned core = 0;
};

class Timeline {
public:
    explicit Timeline(std::size_t limit) : limit_(limit) {}

    // Returns the time recorded (`at`, or later to keep the core's events in order).
    Cycles begin(unsigned core, Cycles at, const char* name)
    {
        auto& st = state(core);
        if (full()) {
            ++st.dropped_depth;
            return st.last;
        }
        ++st.depth;
        return push(core, at, name, 'B');
    }
    Cycles end(unsigned core, Cycles at)
    {
        auto& st = state(core);
        if (st.dropped_depth) { // its begin was not recorded
            --st.dropped_depth;
            return st.last;
        }
        if (!st.depth)
            return st.last;
        --st.depth;
        return push(core, at, "", 'E');
    }
    void instant(unsigned core, Cycles at, const char* name)
    {
        if (!full())
            push(core, at, name, 'i');
    }
    // A name that is not a literal (an experiment's operation, say), kept for the timeline's life.
    const char* intern(std::string name) { return names_.emplace_back(std::move(name)).c_str(); }

    const std::vector<TimelineEvent>& events() const { return events_; }
    bool truncated() const { return truncated_; }
    std::size_t limit() const { return limit_; }

private:
    struct CoreState {
        Cycles last = 0;
        unsigned depth = 0;         // recorded spans open
        unsigned dropped_depth = 0; // spans begun after the limit, open
    };
    CoreState& state(unsigned core)
    {
        if (cores_.size() <= core)
            cores_.resize(core + 1);
        return cores_[core];
    }
    bool full()
    {
        if (events_.size() < limit_)
            return false;
        truncated_ = true;
        return true;
    }
    Cycles push(unsigned core, Cycles at, const char* name, char phase)
    {
        auto& st = state(core);
        st.last = at > st.last ? at : st.last;
        events_.push_back({st.last, name, phase, core});
        return st.last;
    }

    std::size_t limit_;
    bool truncated_ = false;
    std::vector<TimelineEvent> events_;
    std::vector<CoreState> cores_;
    std::deque<std::string> names_;
};

} // namespace mmusim::hw
