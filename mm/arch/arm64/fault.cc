// SPDX-License-Identifier: GPL-2.0-only
// arch/arm64/mm/fault.c: the access-flag update of the fault path.
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

namespace mmusim::mm {

using hw::Category;
using namespace arm64;

// arch/arm64/mm/fault.c __ptep_set_access_flags_anysz(): sets AF, dirty and write permission, only ever to a
// more permissive value, atomically against the hardware's own AF/DBM updates, for an entry mapping pgsize
// (a page, or a PMD leaf). Returns whether the entry changed.
int Arm64::__ptep_set_access_flags_anysz(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty,
                                         std::uint64_t pgsize)
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
    // flush_tlb_fix_spurious_fault(). The TTL level is the one whose entries map pgsize (3 for a page, 2 for
    // a PMD leaf).
    if (dirty) {
        const hw::PageTableFormat& fmt = c.k.format();
        int level = TLBI_TTL_UNKNOWN;
        for (int d = 0; d < fmt.levels(); ++d)
            if ((std::uint64_t{1} << fmt.level(d).shift) == pgsize)
                level = fmt.level(d).arch_level;
        __flush_tlb_range(c, *vma.vm_mm, addr, addr + pgsize, pgsize, level, TLBF_NOWALKCACHE | TLBF_NOBROADCAST);
    }
    return 1;
}

// arch/arm64/mm/fault.c __ptep_set_access_flags(): the PAGE_SIZE case
int Arm64::__ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty)
{
    return __ptep_set_access_flags_anysz(c, vma, addr, ptep, entry, dirty, page_size());
}

// asm/pgtable.h pmdp_set_access_flags(): __ptep_set_access_flags_anysz() of the PMD leaf
int Arm64::pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty)
{
    return __ptep_set_access_flags_anysz(c, vma, addr, pmdp, entry, dirty, pmd_size(c));
}

} // namespace mmusim::mm
