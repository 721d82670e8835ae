// SPDX-License-Identifier: GPL-2.0-only
// The x86-64 architecture of the port: PTE bits (arch/x86/include/asm/pgtable.h, pgtable.c, pgprot.c), the
// single-entry primitives under the generic batched helpers (x86 overrides none of the batched helpers: it
// uses the include/linux/pgtable.h loops of mm/pgtable_generic.cc), and TLB maintenance (arch/x86/mm/tlb.c,
// arch/x86/include/asm/tlbflush.h, asm/tlb.h; in tlb.cc).
//
// Not modelled: shadow stacks (X86_FEATURE_USER_SHSTK: pte_write() is _PAGE_RW alone, no VM_SHADOW_STACK), page
// table isolation (no user PCID: INVLPG and CR3 writes act on the one PCID), protection keys, memory
// encryption, uffd-wp. The Dirty -> SavedDirty move of a write-protected PTE is modelled: upstream does it
// unconditionally on x86-64.
#pragma once

#include "mm/arch/x86/pgtable_types.hh"
#include "mm/pgtable_generic.hh"

#include "hw/core/core.hh"

#include <map>
#include <utility>
#include <vector>

namespace mmusim::mm {

class X86 : public GenericPgtable {
public:
    X86() = default;
    const char* name() const override { return "x86"; }

    // ---- PTE bits (arch/x86/include/asm/pgtable.h) ----
    bool pte_none(pte_t p) const override;
    bool pte_present(pte_t p) const override;
    bool pte_write(pte_t p) const override;
    bool pte_dirty(pte_t p) const override;
    bool pte_young(pte_t p) const override;
    bool pte_special(pte_t p) const override;
    bool pte_soft_dirty(pte_t p) const override;
    // pte_mkwrite(pte, vma) for a VMA without VM_SHADOW_STACK: pte_mkwrite_novma() and the SavedDirty bit back
    // to Dirty (arch/x86/mm/pgtable.c), which is what the generic code gets when it calls pte_mkwrite().
    pte_t pte_mkwrite(pte_t p) const override;
    pte_t pte_wrprotect(pte_t p) const override;
    pte_t pte_mkdirty(pte_t p) const override;
    pte_t pte_mkclean(pte_t p) const override;
    pte_t pte_mkyoung(pte_t p) const override;
    pte_t pte_mkold(pte_t p) const override;
    pte_t pte_clear_soft_dirty(pte_t p) const override;
    pte_t pte_mksoft_dirty(pte_t p) const override;
    pfn_t pte_pfn(pte_t p) const override;
    pte_t pfn_pte(pfn_t pfn, pgprot_t prot) const override;
    pte_t pte_modify(pte_t p, pgprot_t newprot) const override;
    pgprot_t vm_get_page_prot(vm_flags_t flags) const override; // pgprot.c
    pte_t pte_advance_pfn(pte_t p, unsigned long nr) const override;
    std::uint64_t table_entry(int depth, PAddr table) const override;
    bool pte_needs_flush(pte_t oldpte, pte_t newpte) const override; // asm/tlbflush.h
    pte_t swp_entry_to_pte(swp_entry_t entry) const override;
    swp_entry_t pte_to_swp_entry(pte_t pte) const override;
    bool pte_swp_exclusive(pte_t p) const override;
    pte_t pte_swp_mkexclusive(pte_t p) const override;
    pte_t pte_swp_clear_exclusive(pte_t p) const override;
    bool pte_swp_soft_dirty(pte_t p) const override;
    pte_t pte_swp_mksoft_dirty(pte_t p) const override;
    pte_t pte_swp_clear_soft_dirty(pte_t p) const override;
    // ---- PMD leaves (asm/pgtable.h) ----
    pte_t pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const override; // pmd_mkhuge(pfn_pmd())
    bool pmd_trans_huge(pte_t pmd) const override;
    pfn_t pmd_pfn(pte_t pmd) const override;

    // ---- page-table primitives and the helpers x86 defines itself ----
    void __ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep) override;
    // asm/pgtable.h ptep_get_and_clear_full(): with `full` (the whole mm goes) a plain read and clear,
    // otherwise the xchg of ptep_get_and_clear().
    pte_t ptep_get_and_clear_full(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, int full);
    // include/linux/pgtable.h's loops, over ptep_get_and_clear_full() as upstream (the generic class's loops
    // ignore `full`, which x86 does not).
    pte_t get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    void clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full) override;
    int ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty) override;
    int pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty) override;

    // ---- TLB maintenance (tlb.cc) ----
    void flush_tlb_mm(Ctx& c, mm_struct& mm) override;
    void flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end) override;
    void flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr) override;
    void tlb_flush(Ctx& c, mmu_gather& tlb) override;
    bool arch_tlbbatch_should_defer(Ctx& c, mm_struct& mm) override;
    void arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch& batch, mm_struct& mm, Addr start,
                                   Addr end) override;
    void arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch& batch) override;

    static constexpr Addr TLB_FLUSH_ALL = ~Addr{0};
    static constexpr std::uint64_t TLB_GENERATION_INVALID = 0;
    // arch/x86/mm/tlb.c flush_tlb_mm_range()
    void flush_tlb_mm_range(Ctx& c, mm_struct& mm, Addr start, Addr end, unsigned stride_shift, bool freed_tables);

    // asm/tlbflush.h struct flush_tlb_info (the host copy of what the initiator writes to its per-CPU one).
    struct flush_tlb_info {
        mm_struct* mm = nullptr;
        Addr start = 0, end = 0;
        std::uint64_t new_tlb_gen = 0;
        unsigned initiating_cpu = 0;
        unsigned stride_shift = 0;
        bool freed_tables = false;
        bool trim_cpumask = false;
        PAddr addr = 0; // the initiator's per-CPU struct in simulated memory, which every target reads
    };

private:
    // Per-CPU kernel data of the flush path, in simulated memory (allocated on first use). Layout as upstream's
    // struct tlb_state: loaded_mm at +0, loaded_mm_asid at +16, ctxs[TLB_NR_DYN_ASIDS] {ctx_id, tlb_gen} at +32.
    static constexpr unsigned TLB_NR_DYN_ASIDS = 6;
    struct CpuTlbState {
        PAddr tlbstate = 0;        // struct tlb_state cpu_tlbstate (128 bytes)
        PAddr tlbstate_shared = 0; // struct tlb_state_shared cpu_tlbstate_shared: is_lazy
        PAddr flush_info = 0;      // this CPU's struct flush_tlb_info, when it initiates a flush
        // Each mm's struct tlb_context {ctx_id, tlb_gen} on this CPU, by the mm's address and ASID (what
        // upstream's ctx_id tells apart): the first TLB_NR_DYN_ASIDS in ctxs[], any more allocated apart.
        std::map<std::pair<PAddr, Asid>, PAddr> ctx;
    };
    CpuTlbState& tlbstate(Ctx& c, unsigned cpu);
    PAddr ctx_tlb_gen(Ctx& c, mm_struct& mm);

    std::uint64_t inc_mm_tlb_gen(Ctx& c, mm_struct& mm);
    flush_tlb_info get_flush_tlb_info(Ctx& c, mm_struct* mm, Addr start, Addr end, unsigned stride_shift,
                                      bool freed_tables, std::uint64_t new_tlb_gen);
    void flush_tlb_func(Ctx& c, const flush_tlb_info& f);
    bool should_flush_tlb(Ctx& c, unsigned cpu, const flush_tlb_info& info);
    void native_flush_tlb_multi(Ctx& c, const hw::CpuMask& cpumask, const flush_tlb_info& info);
    bool mm_global_asid(Ctx& c, mm_struct& mm);
    void broadcast_tlb_flush(Ctx& c, const flush_tlb_info& info);
    void consider_global_asid(Ctx& c, mm_struct& mm);
    bool mm_active_cpus_exceeds(Ctx& c, mm_struct& mm, unsigned threshold);
    bool cpumask_any_but(Ctx& c, mm_struct& mm, unsigned cpu);
    void flush_tlb_one_user(Ctx& c, const mm_struct& mm, Addr addr);
    void flush_tlb_local(Ctx& c, const mm_struct& mm);

    std::vector<CpuTlbState> cpus_;
};

} // namespace mmusim::mm
