// SPDX-License-Identifier: GPL-2.0-only
// A one-line progress display on stderr for long runs, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace mmusim::tools {

class Progress {
public:
    // total_bytes: the input's size when known (0 = unknown: no percentage).
    Progress(bool enabled, std::uint64_t total_bytes);
    ~Progress();
    void update(std::uint64_t records, std::uint64_t bytes);
    void finish();

private:
    bool enabled_;
    bool shown_ = false;
    std::uint64_t total_;
    std::chrono::steady_clock::time_point start_;
};

bool stderr_is_terminal();

} // namespace mmusim::tools
