// SPDX-License-Identifier: GPL-2.0-only
// Event logging in the manner of ftrace, through spdlog (`mmusim --log-level debug|trace`): each line is the
// simulated time in cycles, the core, and the event. `debug` shows kernel operations and faults; `trace` adds
// every batch, TLB maintenance instruction, barrier and IPI. Off (the default level is warn) an event costs one
// level comparison: the arguments are not formatted.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>

#define MMUSIM_FTRACE_AT(level, time, cpu, ...)                                                                    \
    do {                                                                                                           \
        if (spdlog::should_log(level))                                                                             \
            spdlog::log(level, "{:>14} cpu{}: {}", static_cast<std::uint64_t>(time), static_cast<unsigned>(cpu),    \
                        fmt::format(__VA_ARGS__));                                                                 \
    } while (0)

// Kernel operations and faults.
#define MMUSIM_DEBUG_EVENT(time, cpu, ...) MMUSIM_FTRACE_AT(spdlog::level::debug, time, cpu, __VA_ARGS__)
// Batches, TLB maintenance, barriers, IPIs.
#define MMUSIM_TRACE_EVENT(time, cpu, ...) MMUSIM_FTRACE_AT(spdlog::level::trace, time, cpu, __VA_ARGS__)
