// SPDX-License-Identifier: GPL-2.0-only
#include "tools/commands/run_configs.hh"

#include "tools/commands/commands.hh"

namespace mmusim::tools {

RunConfigs load_run_configs(const std::string& platform, const std::string& kernel, const std::vector<std::string>& sets)
{
    std::vector<std::string> platform_sets, kernel_sets;
    for (const std::string& s : sets)
        (s.rfind("kernel.", 0) == 0 ? kernel_sets : platform_sets).push_back(s);
    RunConfigs c;
    c.platform = hw::load_platform_file(resolve_platform(platform.empty() ? default_platform() : platform), platform_sets);
    // The kernel is checked against the platform it runs on (folio vs page size, features its switches need).
    c.kernel = mm::load_kernel_file(resolve_kernel(kernel.empty() ? default_kernel() : kernel), kernel_sets, c.platform);
    return c;
}

} // namespace mmusim::tools
