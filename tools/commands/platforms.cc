// SPDX-License-Identifier: GPL-2.0-only
// mmusim platforms: the platform files shipped in configs/platforms/.
#include "tools/commands/commands.hh"

#include "hw/platform/platform_config.hh"

#include <iostream>

namespace mmusim::tools {

CommandFn add_platforms(CLI::App& app)
{
    app.add_subcommand("platforms", "List the platforms shipped in configs/platforms/");
    return []() {
        for (const std::string& n : shipped_platforms()) {
            const hw::PlatformConfig p = hw::load_platform_file(platforms_dir() + "/" + n + ".yaml");
            std::cout << "  " << n << ": " << p.description << "\n";
        }
        return 0;
    };
}

} // namespace mmusim::tools
