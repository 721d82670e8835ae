// SPDX-License-Identifier: GPL-2.0-only
// make_arch(): the architecture's mm operations for the kernel's platform, chosen at boot (upstream at build
// time): arm64, x86-64 or RISC-V.
#include "mm/arch/arch.hh"

#include "mm/kernel.hh"

#include <stdexcept>
#include <string>

namespace mmusim::mm {

std::unique_ptr<Arch> make_arch(Kernel& k)
{
    const hw::PlatformConfig& p = k.platform().config();
    switch (p.arch) {
    case ::mmusim::Arch::Arm64: return make_arm64_arch(k);
    case ::mmusim::Arch::X86_64: return make_x86_arch(k);
    case ::mmusim::Arch::RiscV: return make_riscv_arch(k);
    }
    throw std::invalid_argument("the kernel port runs on arm64, x86-64 and RISC-V; platform " + p.name + " is " +
                                to_string(p.arch));
}

} // namespace mmusim::mm
