// SPDX-License-Identifier: GPL-2.0-only
// arch/arm64/mm/mmu.c: the batched protection-change transaction mprotect uses.
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"

namespace mmusim::mm {

// arch/arm64/mm/mmu.c modify_prot_start_ptes(): get_and_clear_ptes() of the batch (contpte-aware). The
// Cortex-A510 erratum 2645198 break-before-make flush is not applied: neither Neoverse core has it.
pte_t Arm64::modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    return get_and_clear_full_ptes(c, *vma.vm_mm, addr, ptep, nr, /* full = */ 0);
}

// arch/arm64/mm/mmu.c modify_prot_commit_ptes(): set_ptes() of the new value over the cleared entries.
void Arm64::modify_prot_commit_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t, pte_t pte, unsigned nr)
{
    set_ptes(c, *vma.vm_mm, addr, ptep, pte, nr);
}

} // namespace mmusim::mm
