// SPDX-License-Identifier: GPL-2.0-only
// A one-line progress display on stderr for long runs, shown only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mmusim::tools {

class Progress {
public:
    // total_bytes: the input's size when known (0 = unknown: no percentage).
    Progress(bool enabled, std::uint64_t total_bytes);
    ~Progress();
    void update(std::uint64_t records, std::uint64_t bytes);
    // A status line of its own (e.g. "batched: operation 3/12 (touch p64k)"), with the elapsed time.
    void status(const std::string& text);
    void finish();

private:
    bool enabled_;
    bool shown_ = false;
    std::uint64_t total_;
    std::chrono::steady_clock::time_point start_;
};

bool stderr_is_terminal();

} // namespace mmusim::tools
