// SPDX-License-Identifier: GPL-2.0-only
// Runs one piece of work per core on a platform built from a shipped platform file, all cores concurrently
// in simulated time (as tests/hw/platform/maintenance_test.cc does).
#pragma once

#include "../platform/platform_test_util.hh"

#include <functional>
#include <memory>

namespace mmusim::test {

inline std::unique_ptr<hw::Platform> make_platform(const std::string& name, unsigned cores, std::vector<std::string> sets = {})
{
    sets.push_back("cores=" + std::to_string(cores));
    return std::make_unique<hw::Platform>(platform_config(name, sets));
}

// work[i] runs on core i; cores without work do nothing. Rethrows a core's exception.
inline void run_cores(hw::Platform& p, const std::vector<std::function<void(hw::Core&)>>& work)
{
    for (unsigned i = 0; i < work.size(); ++i)
        if (work[i])
            p.core(i).set_work(work[i]);
    p.run();
}

} // namespace mmusim::test
