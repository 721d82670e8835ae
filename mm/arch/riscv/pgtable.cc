// SPDX-License-Identifier: GPL-2.0-only
// RISC-V PTE bits (arch/riscv/include/asm/pgtable.h, pgtable-64.h) and the page-table helpers RISC-V defines
// itself (asm/pgtable.h, arch/riscv/mm/pgtable.c).
#include "mm/arch/riscv/pgtable.hh"

#include "mm/kernel.hh"

namespace mmusim::mm {

using namespace riscv;
using hw::Category;

namespace {

// asm/pgtable.h __page_val_to_pfn()
pfn_t __page_val_to_pfn(pteval_t val) { return (val & _PAGE_PFN_MASK) >> _PAGE_PFN_SHIFT; }

} // namespace

Riscv::Riscv(Kernel& k)
    : svnapot_(k.platform().config().features.riscv.svnapot), svadu_(k.platform().config().features.riscv.svadu)
{
}

// asm/pgtable.h pte_accessible(): a PROT_NONE entry may still be in a TLB while a flush is pending.
bool Riscv::pte_accessible(Ctx& c, mm_struct& mm, pte_t a) const
{
    if (a.val & _PAGE_PRESENT)
        return true;
    // atomic_read(&mm->tlb_flush_pending)
    return (a.val & _PAGE_PROT_NONE) && c.cpu.load(mm.addr + MM_OFF_TLB_FLUSH_PENDING, 4, Category::KernelMemory) != 0;
}

pte_t Riscv::pte_wrprotect(pte_t p) const { return pte_t{p.val & ~_PAGE_WRITE}; }   // asm/pgtable.h
pte_t Riscv::pte_mkwrite(pte_t p) const { return pte_t{p.val | _PAGE_WRITE}; }     // asm/pgtable.h pte_mkwrite_novma()
pte_t Riscv::pte_mkdirty(pte_t p) const { return pte_t{p.val | _PAGE_DIRTY | _PAGE_SOFT_DIRTY}; } // asm/pgtable.h
pte_t Riscv::pte_mkclean(pte_t p) const { return pte_t{p.val & ~_PAGE_DIRTY}; }    // asm/pgtable.h pte_mkclean()
pte_t Riscv::pte_mkyoung(pte_t p) const { return pte_t{p.val | _PAGE_ACCESSED}; }  // asm/pgtable.h pte_mkyoung()
pte_t Riscv::pte_mkold(pte_t p) const { return pte_t{p.val & ~_PAGE_ACCESSED}; }   // asm/pgtable.h pte_mkold()
pte_t Riscv::pte_mkspecial(pte_t p) const { return pte_t{p.val | _PAGE_SPECIAL}; } // asm/pgtable.h

// asm/pgtable.h pte_mknapot(): PPN[order-1:0] = 0b10..0, N set (hugetlb only upstream).
pte_t Riscv::pte_mknapot(pte_t p, unsigned order) const
{
    const unsigned pos = order - 1 + _PAGE_PFN_SHIFT;
    const pteval_t napot_bit = pteval_t{1} << pos;
    const pteval_t napot_mask = ~(((pteval_t{1} << (pos + 1)) - 1) & ~((pteval_t{1} << _PAGE_PFN_SHIFT) - 1));
    return pte_t{(p.val & napot_mask) | napot_bit | _PAGE_NAPOT};
}

// asm/pgtable.h pte_pfn(): a NAPOT entry's PPN carries the run size in its low bits; the pfn is the run base.
pfn_t Riscv::pte_pfn(pte_t p) const
{
    pfn_t res = __page_val_to_pfn(p.val);
    if (has_svnapot() && pte_napot(p))
        res = res & (res - 1);
    return res;
}

// asm/pgtable.h pfn_pte() (ALT_THEAD_PMA does nothing on a non-T-Head hart)
pte_t Riscv::pfn_pte(pfn_t pfn, pgprot_t prot) const { return pte_t{(pfn << _PAGE_PFN_SHIFT) | prot.val}; }

// asm/pgtable.h pte_pgprot(): every bit but the pfn's.
pgprot_t Riscv::pte_pgprot(pte_t p) const { return pgprot_t{pfn_pte(pte_pfn(p), pgprot_t{0}).val ^ p.val}; }

// asm/pgtable.h pte_modify()
pte_t Riscv::pte_modify(pte_t pte, pgprot_t newprot) const
{
    return pte_t{(pte.val & _PAGE_CHG_MASK) | newprot.val};
}

// include/linux/pgtable.h pte_advance_pfn() with PFN_PTE_SHIFT = _PAGE_PFN_SHIFT
pte_t Riscv::pte_advance_pfn(pte_t p, unsigned long nr) const
{
    return pte_t{p.val + (std::uint64_t{nr} << _PAGE_PFN_SHIFT)};
}

// asm/pgalloc.h pmd_populate() and its upper-level twins: the table's pfn with _PAGE_TABLE (V alone: R=W=X=0
// makes it a pointer to the next level). The same at every depth.
std::uint64_t Riscv::table_entry(int, PAddr table) const
{
    return ((table >> PAGE_SHIFT) << _PAGE_PFN_SHIFT) | _PAGE_TABLE;
}

// asm/pgtable.h ptep_set_wrprotect(): atomic_long_and(~_PAGE_WRITE, ptep), an AMOAND.
void Riscv::__ptep_set_wrprotect(Ctx& c, mm_struct&, Addr, PtePtr ptep)
{
    c.cpu.fetch_and(ptep, ~_PAGE_WRITE, kPteBytes, Category::PteAtomic);
}

// arch/riscv/mm/pgtable.c ptep_set_access_flags() without Svvptc: the entry is written if it changed, and
// the answer is always "changed", so that the caller's update_mmu_cache_range() fences the faulting address
// whether this fault changed the PTE or another CPU already had (a spurious fault on a stale TLB entry).
int Riscv::ptep_set_access_flags(Ctx& c, vm_area_struct&, Addr, PtePtr ptep, pte_t entry, int)
{
    if (__ptep_get(c, ptep) != entry)
        __set_pte(c, ptep, entry); // __set_pte_at(): flush_icache_pte() of exec entries not modelled
    return 1;
}

// arch/riscv/mm/pgtable.c ptep_test_and_clear_young(): read first, then test_and_clear_bit (an AMOAND) only
// for a young entry.
bool Riscv::ptep_test_and_clear_young(Ctx& c, vm_area_struct&, Addr, PtePtr ptep)
{
    if (!pte_young(__ptep_get(c, ptep)))
        return false;
    return c.cpu.test_and_clear_bit(_PAGE_ACCESSED_OFFSET, ptep, Category::PteAtomic);
}

// asm/pgtable.h update_mmu_cache_range() without Svvptc: "in RISC-V, SFENCE.VMA specifies an ordering
// constraint, not a cache flush; it is necessary even after writing invalid entries", so every page the
// fault installed or relaxed is fenced on this hart, last page first as upstream's while (nr--).
void Riscv::update_mmu_cache_range(Ctx& c, vm_area_struct&, Addr address, PtePtr, unsigned nr)
{
    const unsigned pages = nr;
    while (nr--)
        local_flush_tlb_page(c, address + nr * PAGE_SIZE);
    c.k.stats().flush("update_mmu_cache_range", pages);
    c.k.stats().flush("sfence_vma", pages);
}

// asm/pgtable.h pmd_mkhuge(pfn_pmd(pfn, prot)): a PMD leaf is a PTE with R/W/X at the PMD level
pte_t Riscv::pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const { return pte_t{(pfn << _PAGE_PFN_SHIFT) | prot.val}; }

// asm/pgtable.h pmd_trans_huge() -> pmd_leaf(): present, with any of R/W/X
bool Riscv::pmd_trans_huge(pte_t pmd) const
{
    return (pmd.val & (_PAGE_PRESENT | _PAGE_PROT_NONE | _PAGE_LEAF)) && (pmd.val & _PAGE_LEAF);
}

// asm/pgtable.h pmd_pfn(): the frame of the PMD-sized block
pfn_t Riscv::pmd_pfn(pte_t pmd) const
{
    const std::uint64_t phys = ((pmd.val & _PAGE_PFN_MASK) >> _PAGE_PFN_SHIFT) << PAGE_SHIFT; // __pmd_to_phys()
    return (phys & ~((std::uint64_t{1} << PMD_SHIFT) - 1)) >> PAGE_SHIFT;
}

// The RISC-V operations, for make_arch() (mm/arch/arch.cc).
std::unique_ptr<Arch> make_riscv_arch(Kernel& k) { return std::make_unique<Riscv>(k); }

} // namespace mmusim::mm
