// SPDX-License-Identifier: GPL-2.0-only
// Runs a replay in-process on a shipped platform and returns its JSON report.
#pragma once

#include "hw/platform/platform.hh"
#include "tools/commands/run_configs.hh"
#include "tools/replay/replayer.hh"
#include "tools/report/report.hh"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mmusim::test {

inline std::string write_temp(const std::string& name, const std::string& text)
{
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// `sets` as on the command line: kernel.* keys go to the default kernel configuration, the rest to the platform.
inline nlohmann::ordered_json replay(const std::string& platform, const std::string& trace_path, const std::string& format,
                                     const std::vector<std::string>& sets = {})
{
    tools::RunConfigs c = tools::load_run_configs(platform, "", sets);
    hw::Platform p(std::move(c.platform));
    auto reader = traces::ReaderRegistry::instance().open(format, trace_path);
    tools::Replayer r(p, std::move(c.kernel), *reader);
    r.run();
    return tools::replay_report(p, r, {trace_path, format});
}

// `passes` passes over `pages` pages of `page` bytes from `base`, one read each.
inline std::string cyclic_trace(Addr base, std::uint64_t pages, std::uint64_t page, int passes, char op = 'R')
{
    std::ostringstream s;
    for (int p = 0; p < passes; ++p)
        for (std::uint64_t i = 0; i < pages; ++i)
            s << op << " 0x" << std::hex << base + i * page << std::dec << " 8\n";
    return s.str();
}

inline std::uint64_t u(const nlohmann::ordered_json& j) { return j.get<std::uint64_t>(); }

} // namespace mmusim::test
