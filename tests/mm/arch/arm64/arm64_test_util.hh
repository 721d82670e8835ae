// SPDX-License-Identifier: GPL-2.0-only
// A simulated arm64 kernel for the tests of mm/arch/arm64 (tests/mm/arch/arch_test_util.hh).
#pragma once

#include "../arch_test_util.hh"

#include "mm/arch/arm64/pgtable.hh"

namespace mmusim::test {

using Arm64Env = ArchEnv<mm::Arm64>;

inline Arm64Env make_arm64_env(const std::string& platform, std::vector<std::string> platform_sets = {},
                               const std::vector<std::string>& kernel_sets = {})
{
    return make_arch_env<mm::Arm64>(platform, std::move(platform_sets), kernel_sets);
}

} // namespace mmusim::test
