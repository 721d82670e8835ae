// SPDX-License-Identifier: GPL-2.0-only
#include "tools/progress.hh"

#include <unistd.h>

namespace mmusim::tools {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

Progress::Progress(bool enabled, std::uint64_t total_bytes)
    : enabled_(enabled), total_(total_bytes), start_(std::chrono::steady_clock::now())
{
}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t records, std::uint64_t bytes)
{
    if (!enabled_)
        return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? double(records) / secs / 1e6 : 0;
    if (total_)
        std::fprintf(stderr, "\r[%5.1f%%] %.1fM records, %.1fM records/s ", 100.0 * double(bytes) / double(total_),
                     double(records) / 1e6, rate);
    else
        std::fprintf(stderr, "\r%.1fM records, %.1fM records/s ", double(records) / 1e6, rate);
    std::fflush(stderr);
    shown_ = true;
}

void Progress::status(const std::string& text)
{
    if (!enabled_)
        return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    // Padded so that a shorter line overwrites the whole of a longer one before it.
    std::fprintf(stderr, "\r%-60s %6.1f s ", text.c_str(), secs);
    std::fflush(stderr);
    shown_ = true;
}

void Progress::finish()
{
    if (shown_) {
        std::fputc('\n', stderr);
        shown_ = false;
    }
}

} // namespace mmusim::tools
