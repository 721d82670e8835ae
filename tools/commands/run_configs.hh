// SPDX-License-Identifier: GPL-2.0-only
// The two configurations a simulation runs with: the platform (hardware) and the kernel (what Linux does on
// it), each from its own file, with the command line's --set overrides routed by key: `kernel.*` to the
// kernel configuration, every other key to the platform.
#pragma once

#include "hw/platform/platform_config.hh"
#include "mm/kernel_config.hh"

#include <string>
#include <vector>

namespace mmusim::tools {

struct RunConfigs {
    hw::PlatformConfig platform;
    mm::KernelConfig kernel;
};

// `platform` and `kernel` are names or paths ("" = the default). Throws ConfigError.
RunConfigs load_run_configs(const std::string& platform, const std::string& kernel, const std::vector<std::string>& sets);

} // namespace mmusim::tools
