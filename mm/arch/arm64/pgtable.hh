// SPDX-License-Identifier: GPL-2.0-only
// The arm64 architecture of the port (upstream: arch/arm64/include/asm/pgtable*.h, arch/arm64/mm/contpte.c,
// arch/arm64/include/asm/tlbflush.h and tlb.h, arch/arm64/mm/{fault,mmu,mmap}.c), as of the 2026 mm tree
// (linux-mm: tlbf_t flags in __flush_tlb_range, contpte_ptep_set_access_flags checking every sub-PTE).
//
// Bits are those of the 64-bit descriptor format (!CONFIG_ARM64_D128) with a 48-bit PA (no LPA2, so the
// TLBI range operands carry a page number and no 64K-alignment prologue is needed), and the granule the
// platform's format uses (4K, 16K or 64K: CONT_PTES 16, 128, 32).
//
// CONFIG_ARM64_CONTPTE is the kernel switch `contpte`: when it is off, every public helper is its raw "__"
// version, as the #else branch of asm/pgtable.h defines them.
//
// Statistics recorded (MmStats): contpte_folds / contpte_unfolds / contpte_converts; flushes
//   "flush_tlb_range"        a broadcast __flush_tlb_range that issued per-VA or range TLBIs (pages = its pages)
//   "flush_tlb_range_local"  the same with TLBF_NOBROADCAST (local TLBIs, DSB NSH)
//   "flush_tlb_mm"           TLBI ASIDE1IS (flush_tlb_mm, or a range over the limit), pages 0
//   "tlbi_ops"               one record per flush above; its `pages` field counts the TLBI instructions issued.
#pragma once

#include "hw/invalidation/tlbi_op.hh"
#include "mm/pgtable_generic.hh"

#include <cstdint>

namespace mmusim::mm {

namespace arm64 {

// ---- arch/arm64/include/asm/pgtable-hwdef.h (level 3 descriptor, !CONFIG_ARM64_D128) ----
constexpr std::uint64_t PTE_VALID = std::uint64_t{1} << 0;
constexpr std::uint64_t PTE_TYPE_MASK = std::uint64_t{3} << 0;
constexpr std::uint64_t PTE_TYPE_PAGE = std::uint64_t{3} << 0;
constexpr std::uint64_t PTE_USER = std::uint64_t{1} << 6;   // AP[1]
constexpr std::uint64_t PTE_RDONLY = std::uint64_t{1} << 7; // AP[2]
constexpr std::uint64_t PTE_SHARED = std::uint64_t{3} << 8; // SH[1:0], inner shareable
constexpr std::uint64_t PTE_AF = std::uint64_t{1} << 10;    // Access Flag
constexpr std::uint64_t PTE_NG = std::uint64_t{1} << 11;    // nG
constexpr std::uint64_t PTE_GP = std::uint64_t{1} << 50;    // BTI guarded
constexpr std::uint64_t PTE_DBM = std::uint64_t{1} << 51;   // Dirty Bit Management
constexpr std::uint64_t PTE_CONT = std::uint64_t{1} << 52;  // Contiguous range
constexpr std::uint64_t PTE_PXN = std::uint64_t{1} << 53;   // Privileged XN
constexpr std::uint64_t PTE_UXN = std::uint64_t{1} << 54;   // User XN
constexpr std::uint64_t PTE_SWBITS_MASK = (std::uint64_t{1} << 63) | (std::uint64_t{0xf} << 55);
constexpr std::uint64_t PTE_ATTRINDX_MASK = std::uint64_t{7} << 2;
constexpr std::uint64_t PTE_PO_IDX_MASK = std::uint64_t{7} << 60;
constexpr std::uint64_t PTE_ATTRINDX(unsigned t) { return std::uint64_t{t} << 2; }
constexpr unsigned MT_NORMAL = 0; // MAIR index of Normal WB memory (arch/arm64/include/asm/memory.h)

// Table descriptors (PMD_TYPE_TABLE and friends; the PUD/P4D/PGD ones have the same bits).
constexpr std::uint64_t PMD_TYPE_TABLE = std::uint64_t{3} << 0;
constexpr std::uint64_t PMD_TABLE_AF = std::uint64_t{1} << 10; // ignored without FEAT_HAFT
constexpr std::uint64_t PMD_TABLE_PXN = std::uint64_t{1} << 59;
constexpr std::uint64_t PMD_TABLE_UXN = std::uint64_t{1} << 60;
constexpr std::uint64_t PMD_TABLE_BIT = std::uint64_t{1} << 1; // clear in a block (section) descriptor
constexpr std::uint64_t PMD_TYPE_MASK = std::uint64_t{3} << 0;
constexpr std::uint64_t PMD_TYPE_SECT = std::uint64_t{1} << 0;

// ---- arch/arm64/include/asm/pgtable-prot.h ----
constexpr std::uint64_t PTE_WRITE = PTE_DBM; // software write permission, the same bit as DBM
constexpr std::uint64_t PTE_DIRTY = std::uint64_t{1} << 55;
constexpr std::uint64_t PTE_SPECIAL = std::uint64_t{1} << 56;
constexpr std::uint64_t PTE_PRESENT_INVALID = PTE_NG; // only when !PTE_VALID (PROT_NONE)
constexpr std::uint64_t PTE_SWP_EXCLUSIVE = std::uint64_t{1} << 2; // only for swp ptes
constexpr std::uint64_t PTE_SWP_UFFD_WP = std::uint64_t{1} << 3;   // only for swp ptes

// ---- arch/arm64/include/asm/pgtable.h: swap entries ----
//   bits 0-1:   present (must be zero)
//   bit  2:     remember PG_anon_exclusive
//   bit  3:     remember uffd-wp state
//   bits 6-10:  swap type
//   bit  11:    PTE_PRESENT_INVALID (must be zero)
//   bits 12-61: swap offset
constexpr unsigned __SWP_TYPE_SHIFT = 6;
constexpr unsigned __SWP_TYPE_BITS = 5;
constexpr std::uint64_t __SWP_TYPE_MASK = (std::uint64_t{1} << __SWP_TYPE_BITS) - 1;
constexpr unsigned __SWP_OFFSET_SHIFT = 12;
constexpr unsigned __SWP_OFFSET_BITS = 50;
constexpr std::uint64_t __SWP_OFFSET_MASK = (std::uint64_t{1} << __SWP_OFFSET_BITS) - 1;

constexpr std::uint64_t _PROT_DEFAULT = PTE_TYPE_PAGE | PTE_AF | PTE_SHARED;
constexpr std::uint64_t _PAGE_DEFAULT = _PROT_DEFAULT | PTE_ATTRINDX(MT_NORMAL);
constexpr std::uint64_t _PAGE_SHARED = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN | PTE_WRITE;
constexpr std::uint64_t _PAGE_SHARED_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_WRITE;
constexpr std::uint64_t _PAGE_READONLY = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
constexpr std::uint64_t _PAGE_READONLY_EXEC = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG | PTE_PXN;
constexpr std::uint64_t _PAGE_EXECONLY = _PAGE_DEFAULT | PTE_RDONLY | PTE_NG | PTE_PXN;
constexpr std::uint64_t _PAGE_NONE =
    (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PRESENT_INVALID | PTE_RDONLY | PTE_NG | PTE_PXN | PTE_UXN;
constexpr pgprot_t PAGE_NONE{_PAGE_NONE};
constexpr pgprot_t PAGE_SHARED{_PAGE_SHARED};
constexpr pgprot_t PAGE_SHARED_EXEC{_PAGE_SHARED_EXEC};
constexpr pgprot_t PAGE_READONLY{_PAGE_READONLY};
constexpr pgprot_t PAGE_READONLY_EXEC{_PAGE_READONLY_EXEC};
constexpr pgprot_t PAGE_EXECONLY{_PAGE_EXECONLY};

// ---- arch/arm64/include/asm/tlbflush.h ----
using tlbf_t = unsigned;
constexpr tlbf_t TLBF_NONE = 0;
constexpr tlbf_t TLBF_NOWALKCACHE = 1u << 0; // leaf entries only (VALE1), walk cache kept
constexpr tlbf_t TLBF_NOSYNC = 1u << 1;      // no trailing DSB
constexpr tlbf_t TLBF_NONOTIFY = 1u << 2;    // no mmu notifier (none modelled)
constexpr tlbf_t TLBF_NOBROADCAST = 1u << 3; // this CPU only (VALE1, DSB NSH)
// __TLBI_RANGE_PAGES(num, scale) and MAX_TLBI_RANGE_PAGES
constexpr std::uint64_t __TLBI_RANGE_PAGES(int num, int scale) { return std::uint64_t(num + 1) << (5 * scale + 1); }
constexpr std::uint64_t MAX_TLBI_RANGE_PAGES = __TLBI_RANGE_PAGES(31, 3);
// __TLBI_RANGE_NUM(pages, scale): -1..31, -1 meaning "nothing at this scale"
constexpr int __TLBI_RANGE_NUM(std::uint64_t pages, int scale) { return int(pages >> (5 * scale + 1)) - 1; }

// CONFIG_ARM64_CONT_PTE_SHIFT for a granule (arch/arm64/Kconfig): 4K 4, 16K 7, 64K 5.
unsigned cont_pte_shift(unsigned page_shift);

} // namespace arm64

class Arm64 : public GenericPgtable {
public:
    using tlbf_t = arm64::tlbf_t;

    explicit Arm64(Kernel& k);
    const char* name() const override { return "arm64"; }

    // ---- geometry (asm/pgtable-hwdef.h) ----
    unsigned page_shift() const { return page_shift_; }
    std::uint64_t page_size() const { return std::uint64_t{1} << page_shift_; }
    unsigned cont_ptes() const { return cont_ptes_; }                       // CONT_PTES
    std::uint64_t cont_pte_size() const { return page_size() * cont_ptes_; } // CONT_PTE_SIZE
    std::uint64_t cont_pte_mask() const { return ~(cont_pte_size() - 1); }   // CONT_PTE_MASK
    unsigned ptrs_per_pte() const { return 1u << (page_shift_ - 3); }        // PTRS_PER_PTE
    std::uint64_t pte_addr_low() const; // PTE_ADDR_LOW: OA bits 49:PAGE_SHIFT
    // pte_cont_addr_end(): the end of addr's contpte block, or `end` if sooner.
    Addr pte_cont_addr_end(Addr addr, Addr end) const;

    // ---- PTE bits (asm/pgtable.h) ----
    bool pte_present(pte_t p) const override { return pte_valid(p) || pte_present_invalid(p); }
    bool pte_write(pte_t p) const override { return p.val & arm64::PTE_WRITE; }
    bool pte_dirty(pte_t p) const override { return pte_sw_dirty(p) || pte_hw_dirty(p); }
    bool pte_young(pte_t p) const override { return p.val & arm64::PTE_AF; }
    bool pte_special(pte_t p) const override { return p.val & arm64::PTE_SPECIAL; }
    bool pte_cont(pte_t p) const override { return p.val & arm64::PTE_CONT; }
    pte_t pte_mkwrite(pte_t p) const override; // pte_mkwrite_novma()
    pte_t pte_wrprotect(pte_t p) const override;
    pte_t pte_mkdirty(pte_t p) const override;
    pte_t pte_mkclean(pte_t p) const override;
    pte_t pte_mkyoung(pte_t p) const override { return pte_t{p.val | arm64::PTE_AF}; }
    pte_t pte_mkold(pte_t p) const override { return pte_t{p.val & ~arm64::PTE_AF}; }
    pfn_t pte_pfn(pte_t p) const override { return (p.val & pte_addr_low()) >> page_shift_; }
    pte_t pfn_pte(pfn_t pfn, pgprot_t prot) const override { return pte_t{(pfn << page_shift_) | prot.val}; }
    pte_t pte_modify(pte_t p, pgprot_t newprot) const override;
    pgprot_t vm_get_page_prot(vm_flags_t flags) const override; // arch/arm64/mm/mmap.c
    pte_t pte_advance_pfn(pte_t p, unsigned long nr) const override { return pfn_pte(pte_pfn(p) + nr, pte_pgprot(p)); }
    std::uint64_t table_entry(int depth, PAddr table) const override;
    bool pte_needs_flush(pte_t oldpte, pte_t newpte) const override; // asm/tlbflush.h
    // __swp_entry() + __swp_entry_to_pte() of the generic swp_entry_to_pte()
    pte_t swp_entry_to_pte(swp_entry_t entry) const override
    {
        return pte_t{((swp_type(entry) & arm64::__SWP_TYPE_MASK) << arm64::__SWP_TYPE_SHIFT) |
                     ((swp_offset(entry) & arm64::__SWP_OFFSET_MASK) << arm64::__SWP_OFFSET_SHIFT)};
    }
    // pte_swp_clear_flags() + __pte_to_swp_entry() + __swp_type()/__swp_offset() of pte_to_swp_entry()
    swp_entry_t pte_to_swp_entry(pte_t pte) const override
    {
        return swp_entry(static_cast<unsigned>((pte.val >> arm64::__SWP_TYPE_SHIFT) & arm64::__SWP_TYPE_MASK),
                         (pte.val >> arm64::__SWP_OFFSET_SHIFT) & arm64::__SWP_OFFSET_MASK);
    }
    bool pte_swp_exclusive(pte_t p) const override { return p.val & arm64::PTE_SWP_EXCLUSIVE; }
    pte_t pte_swp_mkexclusive(pte_t p) const override { return pte_t{p.val | arm64::PTE_SWP_EXCLUSIVE}; }
    pte_t pte_swp_clear_exclusive(pte_t p) const override { return pte_t{p.val & ~arm64::PTE_SWP_EXCLUSIVE}; }
    // ---- PMD leaves (asm/pgtable.h; pmd_pte()/pte_pmd() are the identity here) ----
    pte_t pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const override; // pmd_mkhuge(pfn_pmd())
    bool pmd_trans_huge(pte_t pmd) const override;
    // PMD_SIZE: the span of one entry at the level above the PTEs
    static std::uint64_t pmd_size(const Ctx& c);

    bool pte_valid(pte_t p) const { return p.val & arm64::PTE_VALID; }
    bool pte_present_invalid(pte_t p) const
    {
        return (p.val & (arm64::PTE_VALID | arm64::PTE_PRESENT_INVALID)) == arm64::PTE_PRESENT_INVALID;
    }
    bool pte_valid_cont(pte_t p) const { return pte_valid(p) && pte_cont(p); }
    bool pte_rdonly(pte_t p) const { return p.val & arm64::PTE_RDONLY; }
    bool pte_user(pte_t p) const { return p.val & arm64::PTE_USER; }
    bool pte_user_exec(pte_t p) const { return !(p.val & arm64::PTE_UXN); }
    bool pte_hw_dirty(pte_t p) const { return pte_write(p) && !pte_rdonly(p); }
    bool pte_sw_dirty(pte_t p) const { return p.val & arm64::PTE_DIRTY; }
    // Valid kernel mapping: the only kind __set_pte() adds barriers for.
    bool pte_valid_not_user(pte_t p) const
    {
        return (p.val & (arm64::PTE_VALID | arm64::PTE_USER | arm64::PTE_UXN)) == (arm64::PTE_VALID | arm64::PTE_UXN);
    }
    pte_t pte_mkcont(pte_t p) const { return pte_t{p.val | arm64::PTE_CONT}; }
    pte_t pte_mknoncont(pte_t p) const { return pte_t{p.val & ~arm64::PTE_CONT}; }
    pte_t pte_mkspecial(pte_t p) const { return pte_t{p.val | arm64::PTE_SPECIAL}; }
    pgprot_t pte_pgprot(pte_t p) const { return pgprot_t{p.val & ~pte_addr_low()}; } // all bits but the OA
    // pte_accessible(): could the TLB hold it (mm_tlb_flush_pending() is not modelled: valid only)
    bool pte_accessible(const mm_struct&, pte_t p) const { return pte_valid(p); }

    // ---- single-entry primitives (asm/pgtable.h) ----
    // __set_pte(): __set_pte_nosync() then __set_pte_complete().
    void __set_pte(Ctx& c, PtePtr ptep, pte_t pte) override;
    void __set_pte_complete(Ctx& c, pte_t pte);
    void __ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) override;
    void ___ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    bool __ptep_test_and_clear_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep);
    bool __ptep_clear_flush_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep);
    // arch/arm64/mm/fault.c __ptep_set_access_flags_anysz(), and its PAGE_SIZE case
    int __ptep_set_access_flags_anysz(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty,
                                      std::uint64_t pgsize);
    int __ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty);
    int pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty) override;
    // The raw batched helpers (asm/pgtable.h): no contpte handling.
    void __set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr);
    void __clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
    {
        GenericPgtable::clear_full_ptes(c, mm, addr, ptep, nr, full);
    }
    pte_t __get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
    {
        return GenericPgtable::get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
    }
    void __wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
    {
        GenericPgtable::wrprotect_ptes(c, mm, addr, ptep, nr);
    }
    void __clear_young_dirty_pte(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t pte, cydp_t flags);
    void __clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags);

    // ---- the public helpers (asm/pgtable.h, CONFIG_ARM64_CONTPTE section) ----
    pte_t ptep_get(Ctx& c, PtePtr ptep) override;
    pte_t ptep_get_lockless(Ctx& c, PtePtr ptep);
    void set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr) override;
    void pte_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep);
    pte_t ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) override;
    pte_t get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    void clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    void wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr) override;
    void clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags) override;
    unsigned pte_batch_hint(Ctx& c, PtePtr ptep, pte_t pte) override;
    int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty) override;
    bool test_and_clear_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr);
    bool ptep_test_and_clear_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep)
    {
        return test_and_clear_young_ptes(c, vma, addr, ptep, 1);
    }
    bool ptep_clear_flush_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep);
    bool clear_flush_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr);
    // arch/arm64/mm/mmu.c
    pte_t modify_prot_start_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr) override;
    void modify_prot_commit_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t old_pte, pte_t pte,
                                 unsigned nr) override;

    // ---- contpte (arch/arm64/mm/contpte.c and the inline parts of asm/pgtable.h) ----
    void contpte_try_fold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    void contpte_try_unfold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    void __contpte_try_fold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    void __contpte_try_unfold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    pte_t contpte_ptep_get(Ctx& c, PtePtr ptep, pte_t orig_pte);
    pte_t contpte_ptep_get_lockless(Ctx& c, PtePtr orig_ptep);
    void contpte_set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr);
    void contpte_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full);
    pte_t contpte_get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full);
    bool contpte_test_and_clear_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr);
    bool contpte_clear_flush_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr);
    void contpte_wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr);
    void contpte_clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags);
    int contpte_ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty);
    PtePtr contpte_align_down(PtePtr ptep) const { return ptep & ~(PtePtr{kPteBytes} * cont_ptes_ - 1); }

    // ---- TLB maintenance (asm/tlbflush.h, asm/tlb.h) ----
    void flush_tlb_mm(Ctx& c, mm_struct& mm) override;
    void flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) override;
    void flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr) override;
    void flush_pmd_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) override;
    void tlb_flush(Ctx& c, mmu_gather& tlb) override;
    // Upstream takes a vma and uses only vma->vm_mm (callers build one with TLB_FLUSH_VMA(mm, 0)).
    void __flush_tlb_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t stride, int tlb_level,
                           tlbf_t flags);
    void __flush_tlb_page(Ctx& c, mm_struct& mm, Addr uaddr, tlbf_t flags);
    bool __flush_tlb_range_limit_excess(const Ctx& c, std::uint64_t pages, std::uint64_t stride) const;
    // The current tree open-codes this in contpte_ptep_set_access_flags() as __flush_tlb_range(...,
    // TLBF_NOWALKCACHE | TLBF_NOBROADCAST); kept under its older name for callers.
    void local_flush_tlb_contpte(Ctx& c, vm_area_struct& vma, Addr addr);
    // Deferred unmap flush (try_to_unmap_one with TTU_BATCH_FLUSH): TLBIs now, the DSB at the end.
    bool arch_tlbbatch_should_defer(Ctx&, mm_struct&) override { return true; }
    void arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch& batch, mm_struct& mm, Addr start,
                                   Addr end) override;
    void arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch& batch) override;

private:
    // contpte.c internals
    void contpte_convert(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte);
    void contpte_try_unfold_partial(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr);
    PtePtr contpte_align_addr_ptep(Ctx& c, Addr& start, Addr& end, PtePtr ptep, unsigned nr);
    bool contpte_all_subptes_match_access_flags(Ctx& c, PtePtr ptep, pte_t entry);
    bool contpte_is_consistent(pte_t pte, pfn_t pfn, pgprot_t orig_prot) const;
    // tlbflush.h internals: returns the TLBIs issued.
    unsigned __do_flush_tlb_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t stride, int tlb_level,
                                  tlbf_t flags);
    unsigned __flush_tlb_range_op(Ctx& c, hw::TlbiKind lop, hw::TlbiKind rop, bool broadcast, Addr start,
                                  std::uint64_t pages, std::uint64_t stride, Asid asid, int level);
    void __tlbi_sync_s1ish(Ctx& c);

    bool contpte_on(const Ctx& c) const; // CONFIG_ARM64_CONTPTE (kernel switch `contpte`)

    unsigned page_shift_;
    unsigned cont_ptes_;
};

} // namespace mmusim::mm
