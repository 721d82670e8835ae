// SPDX-License-Identifier: GPL-2.0-only
#include "mm/pgtable_generic.hh"

#include "mm/kernel.hh"

namespace mmusim::mm {

using hw::Category;

pte_t GenericPgtable::__ptep_get(Ctx& c, PtePtr ptep)
{
    ++c.k.stats().ptep_get_raw;
    return pte_t{c.cpu.load(ptep, kPteBytes, Category::PteLoad)};
}

void GenericPgtable::__set_pte(Ctx& c, PtePtr ptep, pte_t pte) { c.cpu.store(ptep, pte.val, kPteBytes, Category::PteStore); }

pte_t GenericPgtable::__ptep_get_and_clear(Ctx& c, mm_struct&, Addr, PtePtr ptep)
{
    return pte_t{c.cpu.xchg(ptep, 0, kPteBytes, Category::PteAtomic)};
}

// include/linux/pgtable.h set_ptes(): every target entry is none when nr > 1; the pfn advances per entry.
void GenericPgtable::set_ptes(Ctx& c, mm_struct&, Addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    for (;;) {
        __set_pte(c, ptep, pte);
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        pte = pte_advance_pfn(pte, 1);
    }
}

// include/linux/pgtable.h ptep_get_and_clear()
pte_t GenericPgtable::ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    return __ptep_get_and_clear(c, mm, addr, ptep);
}

// include/linux/pgtable.h get_and_clear_full_ptes(): young and dirty of every entry gathered into the first.
pte_t GenericPgtable::get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int)
{
    pte_t pte = __ptep_get_and_clear(c, mm, addr, ptep);
    for (;;) {
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        addr += c.k.page_size();
        const pte_t tmp = __ptep_get_and_clear(c, mm, addr, ptep);
        if (pte_dirty(tmp))
            pte = pte_mkdirty(pte);
        if (pte_young(tmp))
            pte = pte_mkyoung(pte);
    }
    return pte;
}

// include/linux/pgtable.h clear_full_ptes()
void GenericPgtable::clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int)
{
    for (;;) {
        __ptep_get_and_clear(c, mm, addr, ptep); // ptep_clear_full() -> ptep_get_and_clear_full()
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        addr += c.k.page_size();
    }
}

// include/linux/pgtable.h wrprotect_ptes()
void GenericPgtable::wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    for (;;) {
        __ptep_set_wrprotect(c, mm, addr, ptep);
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        addr += c.k.page_size();
    }
}

// include/linux/pgtable.h clear_young_dirty_ptes()
void GenericPgtable::clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags)
{
    for (; nr; --nr, ptep = pte_offset(ptep, 1), addr += c.k.page_size()) {
        pte_t pte = __ptep_get_and_clear(c, *vma.vm_mm, addr, ptep);
        if (flags & CYDP_CLEAR_YOUNG)
            pte = pte_mkold(pte);
        if (flags & CYDP_CLEAR_DIRTY)
            pte = pte_mkclean(pte);
        __set_pte(c, ptep, pte);
    }
}

// include/linux/pgtable.h modify_prot_start_ptes(): ptep_modify_prot_start() per entry (get and clear), young
// and dirty gathered into the first.
pte_t GenericPgtable::modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    pte_t pte = __ptep_get_and_clear(c, *vma.vm_mm, addr, ptep);
    for (unsigned i = 1; i < nr; ++i) {
        ptep = pte_offset(ptep, 1);
        addr += c.k.page_size();
        const pte_t tmp = __ptep_get_and_clear(c, *vma.vm_mm, addr, ptep);
        if (pte_dirty(tmp))
            pte = pte_mkdirty(pte);
        if (pte_young(tmp))
            pte = pte_mkyoung(pte);
    }
    return pte;
}

// include/linux/pgtable.h modify_prot_commit_ptes(): ptep_modify_prot_commit() per entry, the pfn advancing.
void GenericPgtable::modify_prot_commit_ptes(Ctx& c, vm_area_struct&, Addr, PtePtr ptep, pte_t, pte_t pte, unsigned nr)
{
    for (unsigned i = 0; i < nr; ++i) {
        __set_pte(c, pte_offset(ptep, i), pte);
        pte = pte_advance_pfn(pte, 1);
    }
}

// mm/pgtable-generic.c ptep_set_access_flags(): writes the entry if it changed; the spurious-fault flush is
// the architecture's (none on x86).
int GenericPgtable::ptep_set_access_flags(Ctx& c, vm_area_struct&, Addr, PtePtr ptep, pte_t entry, int)
{
    const bool changed = __ptep_get(c, ptep) != entry;
    if (changed)
        __set_pte(c, ptep, entry);
    return changed;
}

// include/linux/pgtable.h set_pmd_at() as the architectures define it: the leaf written like a PTE
void GenericPgtable::set_pmd_at(Ctx& c, mm_struct&, Addr, PtePtr pmdp, pte_t pmd) { __set_pte(c, pmdp, pmd); }

// include/linux/pgtable.h pmdp_huge_get_and_clear()
pte_t GenericPgtable::pmdp_huge_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp)
{
    return __ptep_get_and_clear(c, mm, addr, pmdp);
}

// mm/pgtable-generic.c pmdp_set_access_flags(): written and flushed if it changed
int GenericPgtable::pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int)
{
    const bool changed = __ptep_get(c, pmdp) != entry;
    if (changed) {
        const hw::PageTableFormat& fmt = c.k.format();
        const std::uint64_t pmd_size = std::uint64_t{1} << fmt.level(fmt.levels() - 2).shift; // HPAGE_PMD_SIZE
        set_pmd_at(c, *vma.vm_mm, addr, pmdp, entry);
        flush_pmd_tlb_range(c, vma, addr, addr + pmd_size);
    }
    return changed;
}

} // namespace mmusim::mm
