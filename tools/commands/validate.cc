// SPDX-License-Identifier: GPL-2.0-only
// mmusim validate [--kernel K] FILE.yaml...: checks platform configs, and the kernel configuration on each,
// without running anything.
#include "tools/commands/commands.hh"

#include "tools/commands/run_configs.hh"
#include "util/config_error.hh"
#include "util/config_node.hh"

#include <iostream>

namespace mmusim::tools {

CommandFn add_validate(CLI::App& app)
{
    struct Args {
        std::vector<std::string> files;
        std::string kernel;
        std::vector<std::string> sets;
    };
    auto args = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("validate", "Check platform configuration files (exit 2 on the first error)");
    cmd->add_option("files", args->files, "Platform YAML files or names")->required()->check(non_empty());
    cmd->add_option("--kernel,-k", args->kernel,
                    "Kernel configuration checked on each platform: a YAML file or a name from configs/kernels/ "
                    "(default: default)")
        ->check(non_empty());
    add_repeated_option(cmd, "--set,-s", args->sets, "Override a key: KEY=VALUE (kernel.* for the kernel configuration)")
        ->type_name("KEY=VALUE"); // one KEY=VALUE per --set, never the trace
    return [args]() {
        for (const std::string& f : args->files)
            if (looks_like_override(f))
                throw ConfigError("validate: unexpected argument '" + f + "': " + override_hint(f));
        for (const std::string& f : args->files) {
            const std::string path = resolve_platform(f);
            const RunConfigs c = load_run_configs(path, args->kernel, args->sets);
            const hw::PlatformConfig& p = c.platform;
            std::cout << path << ": ok (" << p.name << ", " << to_string(p.arch) << ", " << p.cores << " cores, "
                      << p.format << "; kernel " << c.kernel.name << ", folio " << format_size(c.kernel.folio_size)
                      << ")\n";
        }
        return 0;
    };
}

} // namespace mmusim::tools
