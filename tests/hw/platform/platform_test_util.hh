// SPDX-License-Identifier: GPL-2.0-only
// Builds small SystemC platforms for tests from the shipped platform files, with overrides.
#pragma once

#include "hw/platform/platform.hh"

#include <memory>
#include <string>
#include <vector>

namespace mmusim::test {

inline std::string platform_file(const std::string& name)
{
    return std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/" + name + ".yaml";
}

inline hw::PlatformConfig platform_config(const std::string& name, const std::vector<std::string>& sets = {})
{
    return hw::load_platform_file(platform_file(name), sets);
}

} // namespace mmusim::test
