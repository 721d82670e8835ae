// SPDX-License-Identifier: GPL-2.0-only
// The generic versions of the batched page-table helpers (include/linux/pgtable.h): loops over the
// single-entry primitives, which an architecture supplies (__set_pte, __ptep_get_and_clear,
// __ptep_set_wrprotect, ...; arm64's raw "__" versions, x86's native_* ones). x86 uses these as they are; arm64
// (mm/arch/arm64/contpte.cc) overrides the batched helpers and calls these loops as its __set_ptes,
// __clear_full_ptes, ... for the parts that need no contpte handling.
#pragma once

#include "mm/arch/arch.hh"

namespace mmusim::mm {

class GenericPgtable : public Arch {
public:
    // ---- single-entry primitives (timed) ----
    // READ_ONCE(*ptep)
    virtual pte_t __ptep_get(Ctx& c, PtePtr ptep);
    // WRITE_ONCE(*ptep, pte)
    virtual void __set_pte(Ctx& c, PtePtr ptep, pte_t pte);
    // xchg(ptep, 0): arm64 __ptep_get_and_clear(), x86 native_ptep_get_and_clear() on SMP
    virtual pte_t __ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep);
    // Clears the write permission atomically (arm64 cmpxchg loop, x86 clear_bit(_PAGE_BIT_RW)).
    virtual void __ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) = 0;

    // ---- the batched helpers as loops (include/linux/pgtable.h) ----
    pte_t ptep_get(Ctx& c, PtePtr ptep) override { return __ptep_get(c, ptep); }
    void set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr) override;
    pte_t ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) override;
    pte_t get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    void clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    void wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr) override;
    void clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags) override;
    unsigned pte_batch_hint(Ctx&, PtePtr, pte_t) override { return 1; }
    pte_t modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr) override;
    void modify_prot_commit_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t old_pte, pte_t pte,
                                 unsigned nr) override;
    int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty) override;

    // ---- PMD leaves (transparent huge pages) ----
    // set_pmd_at(): one store of the leaf (arm64 __set_ptes_anysz(PMD_SIZE), x86 native_set_pmd())
    void set_pmd_at(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp, pte_t pmd) override;
    // pmdp_huge_get_and_clear(): xchg with 0 (arm64 __ptep_get_and_clear_anysz(), x86 native_pmdp_get_and_clear())
    pte_t pmdp_huge_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp) override;
    int pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty) override;
};

} // namespace mmusim::mm
