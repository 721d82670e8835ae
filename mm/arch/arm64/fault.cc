// SPDX-License-Identifier: GPL-2.0-only
// arch/arm64/mm/fault.c: the access-flag update of the fault path.
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"

namespace mmusim::mm {

using hw::Category;
using namespace arm64;

// arch/arm64/mm/fault.c __ptep_set_access_flags_anysz() for PAGE_SIZE: sets AF, dirty and write permission,
// only ever to a more permissive value, atomically against the hardware's own AF/DBM updates. Returns whether
// the PTE changed.
int Arm64::__ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty)
{
    const pte_t pte = __ptep_get(c, ptep);
    if (pte == entry)
        return 0;

    // only preserve the access flags and write permission
    entry.val &= PTE_RDONLY | PTE_AF | PTE_WRITE | PTE_DIRTY;

    // PTE_RDONLY must end at the most permissive (lowest) of *ptep and entry: a & b == ~(~a | ~b).
    entry.val ^= PTE_RDONLY;
    std::uint64_t pteval = pte.val;
    std::uint64_t old_pteval = 0;
    do {
        old_pteval = pteval;
        pteval ^= PTE_RDONLY;
        pteval |= entry.val;
        pteval ^= PTE_RDONLY;
        pteval = c.cpu.cmpxchg(ptep, old_pteval, pteval, kPteBytes, Category::PteAtomic);
    } while (pteval != old_pteval);

    // Invalidate the local stale read-only entry; remote stale entries may still fault and are then fixed by
    // flush_tlb_fix_spurious_fault().
    if (dirty)
        __flush_tlb_range(c, *vma.vm_mm, addr, addr + page_size(), page_size(), 3, TLBF_NOWALKCACHE | TLBF_NOBROADCAST);
    return 1;
}

} // namespace mmusim::mm
