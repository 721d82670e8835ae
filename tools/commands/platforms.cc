// SPDX-License-Identifier: GPL-2.0-only
// mmusim platforms: the platform files shipped in configs/platforms/.
#include "tools/commands/commands.hh"

#include "hw/platform/platform_config.hh"

#include <dirent.h>

#include <algorithm>
#include <iostream>

namespace mmusim::tools {

CommandFn add_platforms(CLI::App& app)
{
    app.add_subcommand("platforms", "List the platforms shipped in configs/platforms/");
    return []() {
        const std::string dir = std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms";
        std::vector<std::string> names;
        if (DIR* d = ::opendir(dir.c_str())) {
            while (const dirent* e = ::readdir(d)) {
                const std::string n = e->d_name;
                if (n.size() > 5 && n.compare(n.size() - 5, 5, ".yaml") == 0)
                    names.push_back(n.substr(0, n.size() - 5));
            }
            ::closedir(d);
        }
        std::sort(names.begin(), names.end());
        for (const std::string& n : names) {
            const hw::PlatformConfig p = hw::load_platform_file(dir + "/" + n + ".yaml");
            std::cout << "  " << n << ": " << p.description << "\n";
        }
        return 0;
    };
}

} // namespace mmusim::tools
