// SPDX-License-Identifier: GPL-2.0-only
// A simulated RISC-V kernel for the tests of mm/arch/riscv, on riscv-sv39 (tests/mm/arch/arch_test_util.hh).
#pragma once

#include "../arch_test_util.hh"

#include "mm/arch/riscv/pgtable.hh"

namespace mmusim::test {

using RiscvEnv = ArchEnv<mm::Riscv>;

// riscv-sv39 with `platform_sets` (cores=2 unless they say otherwise).
inline RiscvEnv make_riscv_env(std::vector<std::string> platform_sets = {})
{
    return make_arch_env<mm::Riscv>("riscv-sv39", std::move(platform_sets));
}

} // namespace mmusim::test
