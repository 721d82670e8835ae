// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V (RV64) architecture of the port: PTE bits (arch/riscv/include/asm/pgtable-bits.h, pgtable-64.h,
// pgtable.h), the page-table helpers RISC-V defines itself (asm/pgtable.h, arch/riscv/mm/pgtable.c), the
// protection map (arch/riscv/mm/init.c; in init.cc) and TLB maintenance (arch/riscv/mm/tlbflush.c,
// asm/tlbflush.h, asm/tlb.h; in tlbflush.cc), as of the 2025-26 tree.
//
// RISC-V overrides none of the batched helpers: the generic loops of mm/pgtable_generic.cc are its set_ptes()
// (riscv's own set_ptes() is the same loop), clear_full_ptes(), wrprotect_ptes(), ... Svnapot is used
// upstream only for hugetlb (pte_mknapot() in arch/riscv/mm/hugetlbpage.c): there is no contpte-like folding
// for mTHP on RISC-V, so an mTHP folio is mapped with base PTEs, as upstream does.
//
// Hardware A/D: without Svadu (Svade, features.svadu: false) a clear A bit or a write to a clear D bit faults.
// The kernel copes as upstream: every user protection carries _PAGE_ACCESSED (_PAGE_BASE), a write fault
// maps dirty, and the A/D faults go through handle_pte_fault() -> ptep_set_access_flags() ->
// update_mmu_cache_range(), whose local SFENCE.VMA drops the stale entry the hart may have cached.
//
// Not modelled: Svvptc (ptep_set_access_flags() takes the !Svvptc path: it always reports a change and
// update_mmu_cache_range() fences), Svinval (SINVAL.VMA: the platform has no such feature), the soft-dirty
// bit (_PAGE_SOFT_DIRTY needs Svrsw60t59b, bit 59, which the format treats as reserved: 0 here), Zicfiss
// shadow stacks (VM_SHADOW_STACK, PAGE_SHADOWSTACK), the T-Head memory types, flush_icache_pte() of
// executable mappings (no instruction cache model), and the SBI remote fences (see tlbflush.cc).
#pragma once

#include "mm/pgtable_generic.hh"

#include "hw/core/core.hh"

#include <cstdint>
#include <vector>

namespace mmusim::mm {

namespace riscv {

using pteval_t = std::uint64_t;

constexpr unsigned PAGE_SHIFT = 12;
constexpr std::uint64_t PAGE_SIZE = std::uint64_t{1} << PAGE_SHIFT;

// ---- arch/riscv/include/asm/pgtable-bits.h ----
constexpr unsigned _PAGE_ACCESSED_OFFSET = 6;
constexpr pteval_t _PAGE_PRESENT = pteval_t{1} << 0;
constexpr pteval_t _PAGE_READ = pteval_t{1} << 1;  // Readable
constexpr pteval_t _PAGE_WRITE = pteval_t{1} << 2; // Writable
constexpr pteval_t _PAGE_EXEC = pteval_t{1} << 3;  // Executable
constexpr pteval_t _PAGE_USER = pteval_t{1} << 4;  // User
constexpr pteval_t _PAGE_GLOBAL = pteval_t{1} << 5; // Global
constexpr pteval_t _PAGE_ACCESSED = pteval_t{1} << 6; // Set by hardware on any access (with Svadu)
constexpr pteval_t _PAGE_DIRTY = pteval_t{1} << 7;    // Set by hardware on any write (with Svadu)
constexpr pteval_t _PAGE_SOFT = pteval_t{3} << 8;     // Reserved for software (RSW)
constexpr pteval_t _PAGE_SPECIAL = pteval_t{1} << 8;  // RSW: 0x1
constexpr pteval_t _PAGE_SOFT_DIRTY = 0;              // needs Svrsw60t59b (bit 59): not on the platform
constexpr pteval_t _PAGE_TABLE = _PAGE_PRESENT;
// Set on not-present (PROT_NONE) pages, ignored by the hardware, to tell them from swap entries.
constexpr pteval_t _PAGE_PROT_NONE = _PAGE_GLOBAL;
constexpr pteval_t _PAGE_SWP_EXCLUSIVE = _PAGE_ACCESSED; // used for swap PTEs only
constexpr unsigned _PAGE_PFN_SHIFT = 10;
// All of R/W/X zero: a pointer to the next level; otherwise a leaf.
constexpr pteval_t _PAGE_LEAF = _PAGE_READ | _PAGE_WRITE | _PAGE_EXEC;

// ---- arch/riscv/include/asm/pgtable-64.h ----
constexpr pteval_t _PAGE_PFN_MASK = ((pteval_t{1} << 54) - 1) & ~((pteval_t{1} << 10) - 1); // GENMASK(53, 10)
constexpr unsigned _PAGE_NAPOT_SHIFT = 63;
constexpr pteval_t _PAGE_NAPOT = pteval_t{1} << _PAGE_NAPOT_SHIFT;
constexpr unsigned NAPOT_CONT64KB_ORDER = 4; // the only NAPOT size Linux uses
// Svpbmt memory types (bits 62:61). ALT_SVPBMT picks them on a hart with Svpbmt, which the riscv format
// implements; user memory is PMA (0).
constexpr pteval_t _PAGE_NOCACHE_SVPBMT = pteval_t{1} << 61;
constexpr pteval_t _PAGE_IO_SVPBMT = pteval_t{1} << 62;
constexpr pteval_t _PAGE_MTMASK = _PAGE_NOCACHE_SVPBMT | _PAGE_IO_SVPBMT;
// Set of bits to preserve across pte_modify()
constexpr pteval_t _PAGE_CHG_MASK =
    ~(_PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_EXEC | _PAGE_USER | _PAGE_GLOBAL | _PAGE_MTMASK);
// asm/pgtable-64.h PMD_SHIFT, PUD_SHIFT and (4- and 5-level) P4D_SHIFT
constexpr unsigned PMD_SHIFT = 21;
constexpr unsigned PUD_SHIFT = 30;

// ---- arch/riscv/include/asm/pgtable.h: swap entries ----
//   bit        0:  _PAGE_PRESENT (zero)
//   bit   1 to 2:  (zero)
//   bit        3:  _PAGE_SWP_SOFT_DIRTY (needs Svrsw60t59b for the present bit: not on the platform, unused)
//   bit        4:  _PAGE_SWP_UFFD_WP (no userfaultfd in the port)
//   bit        5:  _PAGE_PROT_NONE (zero)
//   bit        6:  exclusive marker
//   bits  7 to 11: swap type
//   bits 12 to 63: swap offset
constexpr unsigned __SWP_TYPE_SHIFT = 7;
constexpr unsigned __SWP_TYPE_BITS = 5;
constexpr pteval_t __SWP_TYPE_MASK = (pteval_t{1} << __SWP_TYPE_BITS) - 1;
constexpr unsigned __SWP_OFFSET_SHIFT = __SWP_TYPE_BITS + __SWP_TYPE_SHIFT;

// ---- arch/riscv/include/asm/pgtable.h page protections ----
constexpr pteval_t _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_USER;
constexpr pgprot_t PAGE_NONE{_PAGE_PROT_NONE | _PAGE_READ};
constexpr pgprot_t PAGE_READ{_PAGE_BASE | _PAGE_READ};
constexpr pgprot_t PAGE_WRITE{_PAGE_BASE | _PAGE_READ | _PAGE_WRITE};
constexpr pgprot_t PAGE_EXEC{_PAGE_BASE | _PAGE_EXEC};
constexpr pgprot_t PAGE_READ_EXEC{_PAGE_BASE | _PAGE_READ | _PAGE_EXEC};
constexpr pgprot_t PAGE_WRITE_EXEC{_PAGE_BASE | _PAGE_READ | _PAGE_EXEC | _PAGE_WRITE};
constexpr pgprot_t PAGE_COPY = PAGE_READ;
constexpr pgprot_t PAGE_COPY_EXEC = PAGE_READ_EXEC;
constexpr pgprot_t PAGE_SHARED = PAGE_WRITE;
constexpr pgprot_t PAGE_SHARED_EXEC = PAGE_WRITE_EXEC;
constexpr pteval_t _PAGE_KERNEL =
    _PAGE_READ | _PAGE_WRITE | _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL;
constexpr pgprot_t PAGE_KERNEL{_PAGE_KERNEL};
constexpr pgprot_t PAGE_TABLE{_PAGE_TABLE};

// ---- arch/riscv/include/asm/tlbflush.h ----
constexpr std::uint64_t FLUSH_TLB_MAX_SIZE = ~std::uint64_t{0};
constexpr std::uint64_t FLUSH_TLB_NO_ASID = ~std::uint64_t{0};
// arch/riscv/mm/tlbflush.c tlb_flush_all_threshold: a range of more PTEs than this is flushed as the whole
// ASID (upstream a __read_mostly variable that only vendor errata change).
constexpr std::uint64_t tlb_flush_all_threshold = 64;

} // namespace riscv

class Riscv : public GenericPgtable {
public:
    explicit Riscv(Kernel& k);
    const char* name() const override { return "riscv"; }

    // cpufeature.h riscv_has_extension_*(): the platform's features.
    bool has_svnapot() const { return svnapot_; }
    // asm/pgtable.h arch_has_hw_pte_young(): Svadu.
    bool arch_has_hw_pte_young() const { return svadu_; }

    // ---- PTE bits (asm/pgtable.h) ----
    bool pte_present(pte_t p) const override { return p.val & (riscv::_PAGE_PRESENT | riscv::_PAGE_PROT_NONE); }
    bool pte_write(pte_t p) const override { return p.val & riscv::_PAGE_WRITE; }
    bool pte_dirty(pte_t p) const override { return p.val & riscv::_PAGE_DIRTY; }
    bool pte_young(pte_t p) const override { return p.val & riscv::_PAGE_ACCESSED; }
    bool pte_special(pte_t p) const override { return p.val & riscv::_PAGE_SPECIAL; }
    bool pte_exec(pte_t p) const { return p.val & riscv::_PAGE_EXEC; }
    bool pte_user(pte_t p) const { return p.val & riscv::_PAGE_USER; }
    bool pte_napot(pte_t p) const { return has_svnapot() && (p.val & riscv::_PAGE_NAPOT); }
    // pte_protnone(): a PROT_NONE entry, present to the kernel only.
    bool pte_protnone(pte_t p) const
    {
        return (p.val & (riscv::_PAGE_PRESENT | riscv::_PAGE_PROT_NONE)) == riscv::_PAGE_PROT_NONE;
    }
    // pte_accessible(): could a TLB hold it (a PROT_NONE entry too while a flush is pending).
    bool pte_accessible(Ctx& c, mm_struct& mm, pte_t p) const;
    pte_t pte_mkwrite(pte_t p) const override; // pte_mkwrite_novma()
    pte_t pte_wrprotect(pte_t p) const override;
    pte_t pte_mkdirty(pte_t p) const override;
    pte_t pte_mkclean(pte_t p) const override;
    pte_t pte_mkyoung(pte_t p) const override;
    pte_t pte_mkold(pte_t p) const override;
    pte_t pte_mkspecial(pte_t p) const override;
    pte_t pte_mknapot(pte_t p, unsigned order) const;
    pfn_t pte_pfn(pte_t p) const override;
    pte_t pfn_pte(pfn_t pfn, pgprot_t prot) const override;
    pgprot_t pte_pgprot(pte_t p) const;
    pte_t pte_modify(pte_t p, pgprot_t newprot) const override;
    pgprot_t vm_get_page_prot(vm_flags_t flags) const override; // arch/riscv/mm/init.c (init.cc)
    pte_t pte_advance_pfn(pte_t p, unsigned long nr) const override;
    std::uint64_t table_entry(int depth, PAddr table) const override;
    // No pte_needs_flush() upstream: include/asm-generic/tlb.h's, which always flushes.
    bool pte_needs_flush(pte_t, pte_t) const override { return true; }
    // __swp_entry() + __swp_entry_to_pte() of the generic swp_entry_to_pte()
    pte_t swp_entry_to_pte(swp_entry_t entry) const override
    {
        return pte_t{((swp_type(entry) & riscv::__SWP_TYPE_MASK) << riscv::__SWP_TYPE_SHIFT) |
                     (swp_offset(entry) << riscv::__SWP_OFFSET_SHIFT)};
    }
    // pte_swp_clear_flags() + __pte_to_swp_entry() + __swp_type()/__swp_offset() of pte_to_swp_entry()
    swp_entry_t pte_to_swp_entry(pte_t pte) const override
    {
        return swp_entry(static_cast<unsigned>((pte.val >> riscv::__SWP_TYPE_SHIFT) & riscv::__SWP_TYPE_MASK),
                         pte.val >> riscv::__SWP_OFFSET_SHIFT);
    }
    bool pte_swp_exclusive(pte_t p) const override { return p.val & riscv::_PAGE_SWP_EXCLUSIVE; }
    pte_t pte_swp_mkexclusive(pte_t p) const override { return pte_t{p.val | riscv::_PAGE_SWP_EXCLUSIVE}; }
    pte_t pte_swp_clear_exclusive(pte_t p) const override { return pte_t{p.val & ~riscv::_PAGE_SWP_EXCLUSIVE}; }
    // ---- PMD leaves (asm/pgtable.h; pmd_pte()/pte_pmd() are the identity) ----
    pte_t pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const override; // pmd_mkhuge(pfn_pmd()): pmd_mkhuge() is the identity
    bool pmd_trans_huge(pte_t pmd) const override;
    pfn_t pmd_pfn(pte_t pmd) const override;

    // ---- the page-table helpers RISC-V defines (asm/pgtable.h, arch/riscv/mm/pgtable.c) ----
    // ptep_set_wrprotect(): atomic_long_and(~_PAGE_WRITE).
    void __ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) override;
    int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty) override;
    // asm/pgtable.h pmdp_set_access_flags(): ptep_set_access_flags() of the PMD leaf
    int pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty) override
    {
        return ptep_set_access_flags(c, vma, addr, pmdp, entry, dirty);
    }
    bool ptep_test_and_clear_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep);
    void update_mmu_cache_range(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr) override;
    void update_mmu_tlb_range(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr) override
    {
        update_mmu_cache_range(c, vma, addr, ptep, nr);
    }
    // asm/pgtable.h update_mmu_cache_pmd(): update_mmu_cache() of the leaf (a local SFENCE.VMA of the address)
    void update_mmu_cache_pmd(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp) override
    {
        update_mmu_cache_range(c, vma, addr, pmdp, 1);
    }

    // ---- TLB maintenance (tlbflush.cc) ----
    void flush_tlb_mm(Ctx& c, mm_struct& mm) override;
    void flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) override;
    void flush_pmd_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) override;
    void flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr) override;
    void tlb_flush(Ctx& c, mmu_gather& tlb) override;
    // CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH (arch/riscv/mm/tlbflush.c)
    bool arch_tlbbatch_should_defer(Ctx&, mm_struct&) override { return true; }
    void arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch& batch, mm_struct& mm, Addr start,
                                   Addr end) override;
    void arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch& batch) override;
    void flush_tlb_mm_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t page_size);

    // asm/tlbflush.h: SFENCE.VMA on this hart.
    void local_flush_tlb_all(Ctx& c);
    void local_flush_tlb_all_asid(Ctx& c, std::uint64_t asid);
    void local_flush_tlb_page(Ctx& c, Addr addr);
    void local_flush_tlb_page_asid(Ctx& c, Addr addr, std::uint64_t asid);

private:
    // tlbflush.c struct flush_tlb_range_data (the host copy of what the initiator writes for the targets).
    struct flush_tlb_range_data {
        std::uint64_t asid = 0;
        Addr start = 0;
        std::uint64_t size = 0;
        std::uint64_t stride = 0;
    };
    void local_flush_tlb_range_threshold_asid(Ctx& c, Addr start, std::uint64_t size, std::uint64_t stride,
                                              std::uint64_t asid);
    void local_flush_tlb_range_asid(Ctx& c, Addr start, std::uint64_t size, std::uint64_t stride, std::uint64_t asid);
    void __ipi_flush_tlb_range_asid(Ctx& c, PAddr info, const flush_tlb_range_data& d);
    std::uint64_t get_mm_asid(Ctx& c, mm_struct* mm);
    void __flush_tlb_range(Ctx& c, mm_struct* mm, const hw::CpuMask& cmask, Addr start, std::uint64_t size,
                           std::uint64_t stride);
    hw::CpuMask read_mm_cpumask(Ctx& c, mm_struct& mm);
    PAddr ftd_area(Ctx& c); // this CPU's flush_tlb_range_data, in simulated memory

    bool svnapot_;
    bool svadu_;
    std::vector<PAddr> ftd_; // per CPU, allocated at the first flush
};

} // namespace mmusim::mm
