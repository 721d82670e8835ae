// SPDX-License-Identifier: GPL-2.0-only
// mmusim validate FILE.yaml...: checks platform configs without running anything.
#include "tools/commands/commands.hh"

#include "hw/platform/platform_config.hh"
#include "util/config_error.hh"

#include <iostream>

namespace mmusim::tools {

CommandFn add_validate(CLI::App& app)
{
    struct Args {
        std::vector<std::string> files;
        std::vector<std::string> sets;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("validate", "Check platform configuration files (exit 2 on the first error)");
    cmd->add_option("files", args->files, "Platform YAML files or names")->required()->check(non_empty());
    cmd->add_option("--set,-s", args->sets, "Override a key: KEY=VALUE")->type_name("KEY=VALUE")
        ->check(non_empty())
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); // one KEY=VALUE per --set, never the trace
    return [args]() {
        for (const std::string& f : args->files)
            if (looks_like_override(f))
                throw ConfigError("validate: unexpected argument '" + f + "': " + override_hint(f));
        for (const std::string& f : args->files) {
            const std::string path = resolve_platform(f);
            const hw::PlatformConfig p = hw::load_platform_file(path, args->sets);
            std::cout << path << ": ok (" << p.name << ", " << to_string(p.arch) << ", " << p.cores << " cores, "
                      << p.format << ")\n";
        }
        return 0;
    };
}

} // namespace mmusim::tools
