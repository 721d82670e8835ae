// SPDX-License-Identifier: GPL-2.0-only
// The page-table helpers generic mm code calls (include/linux/pgtable.h), with the kernel's names. In checked mode
// the leaf set/clear helpers also update CONFIG_PAGE_TABLE_CHECK's counts (mm/page_table_check.hh). Each records
// its batch size in the kernel's statistics and runs the architecture's version (mm/arch/arch.hh): arm64's
// contpte versions or the generic loops of mm/pgtable_generic.cc.
#pragma once

#include "mm/kernel.hh"
#include "mm/page_table_check.hh"
#include "util/ftrace.hh"

namespace mmusim::mm {

inline pte_t ptep_get(Ctx& c, PtePtr ptep)
{
    ++c.k.stats().ptep_get;
    return c.k.arch().ptep_get(c, ptep);
}

inline void set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    MMUSIM_TRACE_EVENT(c.cpu.time(), c.cpu.id(), "set_ptes addr={:#x} nr={} pte={:#x}", addr, nr, pte.val);
    c.k.stats().batch("set_ptes", nr);
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_set(mm, addr, ptep, pte, nr);
    c.k.arch().set_ptes(c, mm, addr, ptep, pte, nr);
}
inline void set_pte_at(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte) { set_ptes(c, mm, addr, ptep, pte, 1); }

inline pte_t ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    c.k.stats().batch("ptep_get_and_clear", 1);
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_clear(mm, addr, ptep, 1);
    return c.k.arch().ptep_get_and_clear(c, mm, addr, ptep);
}

inline pte_t get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    MMUSIM_TRACE_EVENT(c.cpu.time(), c.cpu.id(), "get_and_clear_full_ptes addr={:#x} nr={}", addr, nr);
    c.k.stats().batch("get_and_clear_full_ptes", nr);
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_clear(mm, addr, ptep, nr);
    return c.k.arch().get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
}

// include/linux/pgtable.h get_and_clear_ptes(): get_and_clear_full_ptes() outside a full-mm teardown (its
// batches are recorded under that name)
inline pte_t get_and_clear_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    return get_and_clear_full_ptes(c, mm, addr, ptep, nr, 0);
}

inline void clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    MMUSIM_TRACE_EVENT(c.cpu.time(), c.cpu.id(), "clear_full_ptes addr={:#x} nr={}", addr, nr);
    c.k.stats().batch("clear_full_ptes", nr);
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_clear(mm, addr, ptep, nr);
    c.k.arch().clear_full_ptes(c, mm, addr, ptep, nr, full);
}

// include/linux/pgtable.h pte_clear(): a plain store of 0 on arm64, x86 and RISC-V, for entries that are not
// present (no TLB holds them: nothing to flush). Upstream's page_table_check does not hook it; the port's
// counts device-exclusive entries as mappings (page_table_check.hh), so checked mode sees the entry go.
inline void pte_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_clear(mm, addr, ptep, 1);
    c.cpu.store(ptep, 0, kPteBytes, hw::Category::PteStore);
}

// include/linux/pgtable.h clear_not_present_full_ptes(): pte_clear_not_present_full() -> pte_clear() per PTE
// (`full` makes no difference to a plain store)
inline void clear_not_present_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int /*full*/)
{
    c.k.stats().batch("clear_not_present_full_ptes", nr);
    for (unsigned i = 0; i < nr; ++i)
        pte_clear(c, mm, addr + i * c.k.page_size(), pte_offset(ptep, i));
}

inline void wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    MMUSIM_TRACE_EVENT(c.cpu.time(), c.cpu.id(), "wrprotect_ptes addr={:#x} nr={}", addr, nr);
    c.k.stats().batch("wrprotect_ptes", nr);
    c.k.arch().wrprotect_ptes(c, mm, addr, ptep, nr);
}
inline void ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) { wrprotect_ptes(c, mm, addr, ptep, 1); }

inline void clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags)
{
    c.k.stats().batch("clear_young_dirty_ptes", nr);
    c.k.arch().clear_young_dirty_ptes(c, vma, addr, ptep, nr, flags);
}

inline unsigned pte_batch_hint(Ctx& c, PtePtr ptep, pte_t pte) { return c.k.arch().pte_batch_hint(c, ptep, pte); }

inline pte_t modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    MMUSIM_TRACE_EVENT(c.cpu.time(), c.cpu.id(), "modify_prot_start_ptes addr={:#x} nr={}", addr, nr);
    c.k.stats().batch("modify_prot_start_ptes", nr);
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_clear(*vma.vm_mm, addr, ptep, nr);
    return c.k.arch().modify_prot_start_ptes(c, vma, addr, ptep, nr);
}

inline void modify_prot_commit_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t old_pte, pte_t pte,
                                    unsigned nr)
{
    c.k.stats().batch("modify_prot_commit_ptes", nr);
    // the entries are none (start cleared them): counted as set here, the old entries having been cleared
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->ptes_set(*vma.vm_mm, addr, ptep, pte, nr);
    c.k.arch().modify_prot_commit_ptes(c, vma, addr, ptep, old_pte, pte, nr);
}

// set_pmd_at() / pmdp_huge_get_and_clear(): the architecture's, with page_table_check_pmd_set() /
// page_table_check_pmd_clear() in checked mode
inline void set_pmd_at(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp, pte_t pmd)
{
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->pmd_set(mm, addr, pmdp, pmd);
    c.k.arch().set_pmd_at(c, mm, addr, pmdp, pmd);
}
inline pte_t pmdp_huge_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp)
{
    if (PageTableCheck* ptc = c.k.page_table_check())
        ptc->pmd_clear(mm, addr, pmdp);
    return c.k.arch().pmdp_huge_get_and_clear(c, mm, addr, pmdp);
}

inline int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty)
{
    return c.k.arch().ptep_set_access_flags(c, vma, addr, ptep, entry, dirty);
}

// asm/pgtable.h update_mmu_cache_range() / update_mmu_cache(): the architecture's work after the fault path
// installed or relaxed PTEs (a local SFENCE.VMA per page on RISC-V, nothing on arm64 and x86).
inline void update_mmu_cache_range(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    c.k.arch().update_mmu_cache_range(c, vma, addr, ptep, nr);
}
inline void update_mmu_cache(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep)
{
    update_mmu_cache_range(c, vma, addr, ptep, 1);
}

// include/linux/pgtable.h update_mmu_tlb_range() / update_mmu_tlb(): a fault found the PTEs changed under it.
inline void update_mmu_tlb_range(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    c.k.arch().update_mmu_tlb_range(c, vma, addr, ptep, nr);
}
inline void update_mmu_tlb(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep)
{
    update_mmu_tlb_range(c, vma, addr, ptep, 1);
}

} // namespace mmusim::mm
