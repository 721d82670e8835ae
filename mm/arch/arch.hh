// SPDX-License-Identifier: GPL-2.0-only
// What an architecture provides to the generic mm code, chosen at boot by the platform's architecture
// (upstream: at compile time). Three groups, as upstream splits them:
//  - PTE bits (arch/*/include/asm/pgtable.h): pure functions on pte_t values, no simulated time;
//  - the page-table helpers include/linux/pgtable.h lets an architecture override (set_ptes, the batched
//    clear/wrprotect helpers, ptep_get, pte_batch_hint, modify_prot_*). Their generic versions are in
//    mm/pgtable_generic.cc (class GenericPgtable); arm64 overrides them with contpte (mm/arch/arm64/contpte.cc);
//  - TLB maintenance (arch/arm64/include/asm/tlbflush.h, arch/x86/mm/tlb.c) and asm/tlb.h's tlb_flush().
// Every helper that touches a page table does so through the running core (Ctx): loads as PteLoad, stores as
// PteStore, exchanges as PteAtomic.
#pragma once

#include "hw/core/core.hh"
#include "mm/swapops.hh"
#include "mm/types.hh"

#include <memory>
#include <vector>

namespace mmusim::mm {

struct Ctx;
struct mm_struct;
struct vm_area_struct;
struct mmu_gather;
class Kernel;

// arch/*/include/asm/tlbbatch.h struct arch_tlbflush_unmap_batch: arm64's is empty (the TLBIs are issued as
// PTEs are cleared); x86's is the CPUs to flush and whether user pages were unmapped (INVLPGB).
struct arch_tlbflush_unmap_batch {
    hw::CpuMask cpumask;
    bool unmapped_pages = false;
    std::vector<mm_struct*> mms; // host-side: the mms flushed at arch_tlbbatch_flush() (see mm/arch/x86/tlb.cc)
};

class Arch {
public:
    virtual ~Arch() = default;
    virtual const char* name() const = 0; // "arm64", "x86", "riscv"

    // ---- PTE bits ----
    virtual bool pte_none(pte_t p) const { return p.val == 0; }
    virtual bool pte_present(pte_t p) const = 0;
    virtual bool pte_write(pte_t p) const = 0;
    virtual bool pte_dirty(pte_t p) const = 0;
    virtual bool pte_young(pte_t p) const = 0;
    virtual bool pte_special(pte_t p) const = 0;
    virtual bool pte_soft_dirty(pte_t) const { return false; }
    virtual bool pte_cont(pte_t) const { return false; } // arm64 PTE_CONT
    virtual pte_t pte_mkwrite(pte_t p) const = 0;        // pte_mkwrite_novma()
    virtual pte_t pte_wrprotect(pte_t p) const = 0;
    virtual pte_t pte_mkdirty(pte_t p) const = 0;
    virtual pte_t pte_mkclean(pte_t p) const = 0;
    virtual pte_t pte_mkyoung(pte_t p) const = 0;
    virtual pte_t pte_mkold(pte_t p) const = 0;
    virtual pte_t pte_clear_soft_dirty(pte_t p) const { return p; }
    // pte_mksoft_dirty(): only architectures with CONFIG_MEM_SOFT_DIRTY have the bit (x86 here)
    virtual pte_t pte_mksoft_dirty(pte_t p) const { return p; }
    // pte_mkspecial(): the special bit (PTE_SPECIAL, _PAGE_SPECIAL) of mappings without a refcounted page,
    // such as the shared zero page. An architecture that does not set one leaves the PTE as it is, as upstream
    // without CONFIG_ARCH_HAS_PTE_SPECIAL; vm_normal_page() then recognises the zero page by its pfn.
    virtual pte_t pte_mkspecial(pte_t p) const { return p; }
    virtual pfn_t pte_pfn(pte_t p) const = 0;
    virtual pte_t pfn_pte(pfn_t pfn, pgprot_t prot) const = 0;
    virtual pte_t pte_modify(pte_t p, pgprot_t newprot) const = 0;
    virtual pgprot_t vm_get_page_prot(vm_flags_t flags) const = 0; // mm/mmap.c vm_get_page_prot()
    // include/linux/pgtable.h pte_advance_pfn() / pte_next_pfn()
    virtual pte_t pte_advance_pfn(pte_t p, unsigned long nr) const = 0;
    // The descriptor that links a next-level table (pmd_populate() and friends), for `depth`.
    virtual std::uint64_t table_entry(int depth, PAddr table) const = 0;
    // arch/x86 pte_needs_flush(), arm64 pte_needs_flush(): does changing old -> new need a TLB flush?
    virtual bool pte_needs_flush(pte_t oldpte, pte_t newpte) const = 0;

    // ---- swap PTEs (asm/pgtable.h __swp_entry(), __swp_entry_to_pte(), __pte_to_swp_entry(), pte_swp_*();
    // include/linux/swapops.h swp_entry_to_pte(), pte_to_swp_entry()) ----
    // A swap PTE is invalid to the hardware and neither none nor present to the kernel.
    // swp_entry_to_pte(): the architecture's PTE for an entry (no swap-PTE bits set)
    virtual pte_t swp_entry_to_pte(swp_entry_t entry) const = 0;
    // pte_to_swp_entry(): the entry of a swap PTE, its swap-PTE bits (pte_swp_clear_flags()) ignored
    virtual swp_entry_t pte_to_swp_entry(pte_t pte) const = 0;
    // include/linux/swapops.h is_swap_pte()
    bool is_swap_pte(pte_t p) const { return !pte_none(p) && !pte_present(p); }
    // pte_swp_exclusive() & co (__HAVE_ARCH_PTE_SWP_EXCLUSIVE): the page was PG_anon_exclusive when unmapped
    virtual bool pte_swp_exclusive(pte_t p) const = 0;
    virtual pte_t pte_swp_mkexclusive(pte_t p) const = 0;
    virtual pte_t pte_swp_clear_exclusive(pte_t p) const = 0;
    // pte_swp_soft_dirty() & co (CONFIG_HAVE_ARCH_SOFT_DIRTY: x86 here)
    virtual bool pte_swp_soft_dirty(pte_t) const { return false; }
    virtual pte_t pte_swp_mksoft_dirty(pte_t p) const { return p; }
    virtual pte_t pte_swp_clear_soft_dirty(pte_t p) const { return p; }
    // ---- PMD leaves: transparent huge pages (asm/pgtable.h pmd_* helpers) ----
    // A PMD leaf is held in a pte_t: the PTE bit helpers above apply to it, as arm64's pmd_pte()/pte_pmd()
    // make them and as x86's pmd_* helpers use the same bits as its pte_* ones. An architecture without PMD
    // leaves in the port keeps these defaults, which refuse by name.
    // pmd_mkhuge(pfn_pmd(pfn, prot)): the leaf descriptor mapping the PMD-sized block at pfn (folio_mk_pmd())
    virtual pte_t pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const;
    // pmd_trans_huge(): a present entry at PMD level that is a leaf, not a table
    virtual bool pmd_trans_huge(pte_t pmd) const;
    // pmd_pfn()
    virtual pfn_t pmd_pfn(pte_t pmd) const { return pte_pfn(pmd); }

    // ---- page-table helpers (include/linux/pgtable.h) ----
    virtual pte_t ptep_get(Ctx& c, PtePtr ptep) = 0;
    virtual void set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr) = 0;
    virtual pte_t ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) = 0;
    virtual pte_t get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) = 0;
    virtual void clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) = 0;
    virtual void wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr) = 0;
    virtual void clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags) = 0;
    virtual unsigned pte_batch_hint(Ctx& c, PtePtr ptep, pte_t pte) = 0;
    virtual pte_t modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr) = 0;
    virtual void modify_prot_commit_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t old_pte,
                                         pte_t pte, unsigned nr) = 0;
    // Returns whether the entry changed (include/linux/pgtable.h ptep_set_access_flags()).
    virtual int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty) = 0;
    // set_pmd_at(): a PMD leaf written where there was none (or a huge PMD replaced)
    virtual void set_pmd_at(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp, pte_t pmd) = 0;
    // pmdp_huge_get_and_clear(): the PMD leaf read and cleared atomically
    virtual pte_t pmdp_huge_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr pmdp) = 0;
    // pmdp_set_access_flags(): as ptep_set_access_flags() for a PMD leaf; returns whether it changed
    virtual int pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty) = 0;
    // asm/pgtable.h update_mmu_cache_range(): after the fault path installed or relaxed `nr` PTEs from
    // `addr`. Empty on arm64 and x86; RISC-V issues a local SFENCE.VMA per page.
    virtual void update_mmu_cache_range(Ctx&, vm_area_struct&, Addr, PtePtr, unsigned) {}
    // asm/pgtable.h update_mmu_tlb_range(): after a fault found the PTEs changed under it. Empty unless the
    // architecture defines it (RISC-V: update_mmu_cache_range()).
    virtual void update_mmu_tlb_range(Ctx&, vm_area_struct&, Addr, PtePtr, unsigned) {}
    // include/linux/pgtable.h update_mmu_cache_pmd(): after a PMD leaf was installed or relaxed. Empty on arm64
    // and x86; RISC-V's is update_mmu_cache() of the entry.
    virtual void update_mmu_cache_pmd(Ctx&, vm_area_struct&, Addr, PtePtr) {}

    // ---- TLB maintenance ----
    virtual void flush_tlb_mm(Ctx& c, mm_struct& mm) = 0;
    // flush_tlb_range(vma, start, end) as the architecture's tlbflush.h defines it.
    virtual void flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) = 0;
    virtual void flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr) = 0;
    // flush_pmd_tlb_range(): the TLB entries of PMD leaves in [start, end) (include/linux/pgtable.h: the
    // architecture's flush_tlb_range() unless it defines __HAVE_ARCH_FLUSH_PMD_TLB_RANGE, as arm64 does)
    virtual void flush_pmd_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) { flush_tlb_range(c, vma, start, end); }
    // asm/tlb.h tlb_flush(): the flush at the end of an mmu_gather.
    virtual void tlb_flush(Ctx& c, mmu_gather& tlb) = 0;

    // ---- deferred unmap flush (CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH, mm/rmap.c try_to_unmap_one()) ----
    // asm/tlbflush.h arch_tlbbatch_should_defer(); an architecture without the batch never defers.
    virtual bool arch_tlbbatch_should_defer(Ctx&, mm_struct&) { return false; }
    // asm/tlbflush.h arch_tlbbatch_add_pending(): [start, end) of mm was unmapped without a flush
    virtual void arch_tlbbatch_add_pending(Ctx&, arch_tlbflush_unmap_batch&, mm_struct&, Addr, Addr) {}
    // asm/tlbflush.h arch_tlbbatch_flush(): everything added since the last flush
    virtual void arch_tlbbatch_flush(Ctx&, arch_tlbflush_unmap_batch&) {}
};

// The architecture's operations for the kernel's platform (mm/arch/arch.cc): arm64, x86-64 or RISC-V.
std::unique_ptr<Arch> make_arch(Kernel& k);
// The architectures' own factories, which make_arch() picks from (mm/arch/arm64/, mm/arch/x86/, mm/arch/riscv/).
std::unique_ptr<Arch> make_arm64_arch(Kernel& k);
std::unique_ptr<Arch> make_x86_arch(Kernel& k);
std::unique_ptr<Arch> make_riscv_arch(Kernel& k);

} // namespace mmusim::mm
