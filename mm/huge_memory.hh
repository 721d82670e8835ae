// SPDX-License-Identifier: GPL-2.0-only
// Anonymous transparent huge pages mapped by a PMD leaf (mm/huge_memory.c, include/linux/huge_mm.h): the fault
// that maps one (do_huge_pmd_anonymous_page(): a new PMD-sized folio, or the huge zero folio for a read), the
// write fault on a PMD leaf (do_huge_pmd_wp_page(): a THP in place of the huge zero folio, reuse of an exclusive
// THP), the access-flag fault (huge_pmd_set_accessed()) and the unmap (zap_huge_pmd()). As upstream, the PTE
// table a split would need is allocated at fault time and deposited with the PMD leaf
// (pgtable_trans_huge_deposit(), mm/pgtable-generic.c); zap withdraws and frees it.
//
// THP policy: the PMD order is enabled in "madvise" mode. A VMA maps PMD THPs when it has VM_HUGEPAGE
// (madvise(MADV_HUGEPAGE)); the replay sets it on its VMA when kernel.folio_size is the PMD size, while
// experiments PTE-map PMD-sized folios (mm/memory.cc alloc_anon_folio()). Read faults map the huge zero folio
// (transparent_hugepage/use_zero_page = 1, the default); it is allocated on first use and never freed, as
// upstream when its shrinker does not run.
//
// Not ported, each a std::logic_error naming it: splitting a PMD mapping (__split_huge_pmd(): a partial
// munmap, MADV_DONTNEED or mprotect of a THP, a write to a THP that is not exclusive), fork of a PMD leaf
// (copy_huge_pmd()), mprotect of one (change_huge_pmd()). Also not modelled: khugepaged, the deferred split
// queue, the NR_ANON_THPS statistics, PUD-sized THPs (upstream has no anonymous ones).
#pragma once

#include "mm/memory.hh"

namespace mmusim::mm {

// include/linux/huge_mm.h HPAGE_PMD_ORDER / HPAGE_PMD_SIZE / HPAGE_PMD_NR for the kernel's page-table format
unsigned hpage_pmd_order(const Ctx& c);
std::uint64_t hpage_pmd_size(const Ctx& c);
unsigned long hpage_pmd_nr(const Ctx& c);

// include/linux/huge_mm.h thp_vma_suitable_order(): the aligned block of `order` at haddr lies in the VMA
bool thp_vma_suitable_order(const Ctx& c, const vm_area_struct& vma, Addr haddr, unsigned order);
// include/linux/huge_mm.h thp_vma_allowable_order(vma, vm_flags, TVA_PAGEFAULT, PMD_ORDER) under the port's
// policy: an anonymous VMA with VM_HUGEPAGE and without VM_NOHUGEPAGE
bool thp_vma_allowable_pmd(const vm_area_struct& vma);
// include/linux/huge_mm.h is_huge_zero_pmd()
bool is_huge_zero_pmd(const Ctx& c, pte_t pmd);

// mm/huge_memory.c do_huge_pmd_anonymous_page(): VM_FAULT_FALLBACK when the fault must be handled at PTE level
vm_fault_t do_huge_pmd_anonymous_page(Ctx& c, vm_fault& vmf);
// mm/huge_memory.c do_huge_pmd_wp_page(): a write to a read-only PMD leaf (vmf.orig_pmd)
vm_fault_t do_huge_pmd_wp_page(Ctx& c, vm_fault& vmf);
// mm/huge_memory.c huge_pmd_set_accessed(): young (and dirty on a write) with the PMD lock held; returns
// whether the leaf changed
bool huge_pmd_set_accessed(Ctx& c, vm_fault& vmf);
// mm/huge_memory.c zap_huge_pmd(): the PMD leaf cleared into tlb, its folio's mapping removed and the folio
// queued for freeing after the flush, the deposited table freed. False if *pmd is no longer a leaf.
bool zap_huge_pmd(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr);
// mm/huge_memory.c __split_huge_pmd(): not ported
[[noreturn]] void __split_huge_pmd(Ctx& c, vm_area_struct& vma, PtePtr pmd, Addr address);

// mm/pgtable-generic.c pgtable_trans_huge_deposit() / pgtable_trans_huge_withdraw(): the FIFO of PTE tables
// deposited under a PMD table (ptdesc->pmd_huge_pte, or mm->pmd_huge_pte for a PMD table smaller than a page),
// linked through the tables' struct page lru; called with the PMD lock held. Tables by physical address.
void pgtable_trans_huge_deposit(Ctx& c, mm_struct& mm, PtePtr pmdp, PAddr pgtable);
PAddr pgtable_trans_huge_withdraw(Ctx& c, mm_struct& mm, PtePtr pmdp);
// mm/pgtable-generic.c pmdp_huge_clear_flush()
pte_t pmdp_huge_clear_flush(Ctx& c, vm_area_struct& vma, Addr address, PtePtr pmdp);

} // namespace mmusim::mm
