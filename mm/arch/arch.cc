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

// The defaults of an architecture whose PMD leaves are not ported: making one is refused by name.
pte_t Arch::pfn_pmd_huge(pfn_t, pgprot_t) const
{
    throw std::logic_error(std::string("PMD leaves (transparent huge pages) are not ported for ") + name());
}

// With pfn_pmd_huge() refusing, no PMD leaf can exist: every present PMD entry links a PTE table.
bool Arch::pmd_trans_huge(pte_t) const { return false; }

} // namespace mmusim::mm
