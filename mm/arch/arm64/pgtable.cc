// SPDX-License-Identifier: GPL-2.0-only
// arm64 PTE bits, the single-entry primitives and the public page-table helpers of
// arch/arm64/include/asm/pgtable.h. The public helpers dispatch to contpte (contpte.cc) when the kernel switch
// `contpte` (CONFIG_ARM64_CONTPTE) is on, and are the raw "__" versions otherwise.
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"

#include <stdexcept>
#include <string>

namespace mmusim::mm {

using hw::Barrier;
using hw::Category;
using namespace arm64;

// arch/arm64/Kconfig ARM64_CONT_PTE_SHIFT
unsigned arm64::cont_pte_shift(unsigned page_shift)
{
    switch (page_shift) {
    case 12: return 4;
    case 14: return 7;
    case 16: return 5;
    }
    throw std::invalid_argument("arm64: no contiguous-PTE size for a " + std::to_string(page_shift) + "-bit granule");
}

Arm64::Arm64(Kernel& k) : page_shift_(k.page_shift()), cont_ptes_(1u << cont_pte_shift(k.page_shift())) {}

bool Arm64::contpte_on(const Ctx& c) const { return c.k.config().switches.contpte; }

// PTE_ADDR_LOW (!CONFIG_ARM64_PA_BITS_52): OA bits 49:PAGE_SHIFT.
std::uint64_t Arm64::pte_addr_low() const { return ((std::uint64_t{1} << (50 - page_shift_)) - 1) << page_shift_; }

// asm/pgtable.h pte_cont_addr_end()
Addr Arm64::pte_cont_addr_end(Addr addr, Addr end) const
{
    const Addr boundary = (addr + cont_pte_size()) & cont_pte_mask();
    return boundary - 1 < end - 1 ? boundary : end;
}

// asm/pgtable.h pte_mkwrite_novma()
pte_t Arm64::pte_mkwrite(pte_t p) const
{
    p.val |= PTE_WRITE;
    if (pte_sw_dirty(p))
        p.val &= ~PTE_RDONLY;
    return p;
}

// asm/pgtable.h pte_mkclean()
pte_t Arm64::pte_mkclean(pte_t p) const
{
    p.val &= ~PTE_DIRTY;
    p.val |= PTE_RDONLY;
    return p;
}

// asm/pgtable.h pte_mkdirty()
pte_t Arm64::pte_mkdirty(pte_t p) const
{
    p.val |= PTE_DIRTY;
    if (pte_write(p))
        p.val &= ~PTE_RDONLY;
    return p;
}

// asm/pgtable.h pte_wrprotect(): hardware dirtiness (DBM set, RDONLY clear) moves into the software PTE_DIRTY.
pte_t Arm64::pte_wrprotect(pte_t p) const
{
    if (pte_hw_dirty(p))
        p.val |= PTE_DIRTY;
    p.val &= ~PTE_WRITE;
    p.val |= PTE_RDONLY;
    return p;
}

// asm/pgtable.h pte_modify()
pte_t Arm64::pte_modify(pte_t p, pgprot_t newprot) const
{
    // Normal and Normal-Tagged are different MAIR indices, so the attribute index changes with the prot.
    constexpr std::uint64_t mask = PTE_USER | PTE_PXN | PTE_UXN | PTE_RDONLY | PTE_PRESENT_INVALID | PTE_VALID |
                                   PTE_WRITE | PTE_GP | PTE_ATTRINDX_MASK | PTE_PO_IDX_MASK;
    // preserve the hardware dirty information
    if (pte_hw_dirty(p))
        p.val |= PTE_DIRTY;
    p.val = (p.val & ~mask) | (newprot.val & mask);
    // a sw-dirty PTE whose hw dirtiness was just cleared gets it back
    if (pte_sw_dirty(p))
        p = pte_mkdirty(p);
    return p;
}

// asm/pgalloc.h pmd_populate() / pud_populate() / p4d_populate() for a user mm: a table descriptor with the
// table AF (FEAT_HAFT) and PXNTable set, since user tables never hold kernel code.
std::uint64_t Arm64::table_entry(int, PAddr table) const { return table | PMD_TYPE_TABLE | PMD_TABLE_AF | PMD_TABLE_PXN; }

// asm/tlbflush.h pte_needs_flush() / __pte_flags_need_flush()
bool Arm64::pte_needs_flush(pte_t oldpte, pte_t newpte) const
{
    std::uint64_t diff = oldpte.val ^ newpte.val;
    // invalid to valid transition requires no flush
    if (!(oldpte.val & PTE_VALID))
        return false;
    // a transition in the SW bits requires no flush
    diff &= ~PTE_SWBITS_MASK;
    return diff != 0;
}

// asm/pgtable.h pmd_mkhuge(pfn_pmd(pfn, prot)): a block descriptor (type 0b01 instead of 0b11; a present-invalid
// entry keeps its VALID bit clear)
pte_t Arm64::pfn_pmd_huge(pfn_t pfn, pgprot_t prot) const
{
    const std::uint64_t pmd = (pfn << page_shift_) | prot.val; // pfn_pmd()
    const std::uint64_t mask = PMD_TYPE_MASK & ~PTE_VALID;
    const std::uint64_t val = PMD_TYPE_SECT & ~PTE_VALID;
    return pte_t{(pmd & ~mask) | val};
}

// asm/pgtable.h pmd_trans_huge(): present and not a table
bool Arm64::pmd_trans_huge(pte_t pmd) const { return pmd.val && pte_present(pmd) && !(pmd.val & PMD_TABLE_BIT); }

std::uint64_t Arm64::pmd_size(const Ctx& c)
{
    const hw::PageTableFormat& fmt = c.k.format();
    return std::uint64_t{1} << fmt.level(fmt.levels() - 2).shift;
}

// ---- single-entry primitives ----

// asm/pgtable.h __set_pte(): __set_pte_nosync() (WRITE_ONCE) then __set_pte_complete().
void Arm64::__set_pte(Ctx& c, PtePtr ptep, pte_t pte)
{
    c.cpu.store(ptep, pte.val, kPteBytes, Category::PteStore);
    __set_pte_complete(c, pte);
}

// asm/pgtable.h __set_pte_complete(): barriers only for a valid kernel PTE (queue_pte_barriers() ->
// emit_pte_barriers(): DSB ISHST, ISB); for user PTEs the TLB maintenance that follows has the barriers. The
// 2025+ lazy MMU batching (TIF_LAZY_MMU_PENDING) only defers these kernel-PTE barriers; the port writes no
// kernel PTEs, so it is not modelled.
void Arm64::__set_pte_complete(Ctx& c, pte_t pte)
{
    if (pte_valid_not_user(pte)) {
        c.cpu.barrier(Barrier::DsbIshst);
        c.cpu.barrier(Barrier::Isb);
    }
}

// asm/pgtable.h __set_ptes() -> __set_ptes_anysz(PAGE_SIZE): the stores, then one __set_pte_complete(). The
// page_table_check hooks and __sync_cache_and_tags() (I-cache and MTE tag maintenance) are not modelled.
void Arm64::__set_ptes(Ctx& c, mm_struct&, Addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    for (;;) {
        c.cpu.store(ptep, pte.val, kPteBytes, Category::PteStore); // __set_pte_nosync()
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        pte = pte_advance_pfn(pte, 1);
    }
    __set_pte_complete(c, pte);
}

// asm/pgtable.h ___ptep_set_wrprotect(): cmpxchg loop from `pte`, the value the caller read.
void Arm64::___ptep_set_wrprotect(Ctx& c, mm_struct&, Addr, PtePtr ptep, pte_t pte)
{
    pte_t old_pte;
    do {
        old_pte = pte;
        pte = pte_wrprotect(pte);
        pte.val = c.cpu.cmpxchg(ptep, old_pte.val, pte.val, kPteBytes, Category::PteAtomic);
    } while (pte.val != old_pte.val);
}

// asm/pgtable.h __ptep_set_wrprotect(): read-only, a hardware-dirty state moved to PTE_DIRTY.
void Arm64::__ptep_set_wrprotect(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    ___ptep_set_wrprotect(c, mm, addr, ptep, __ptep_get(c, ptep));
}

// asm/pgtable.h __ptep_test_and_clear_young()
bool Arm64::__ptep_test_and_clear_young(Ctx& c, vm_area_struct&, Addr, PtePtr ptep)
{
    pte_t old_pte;
    pte_t pte = __ptep_get(c, ptep);
    do {
        old_pte = pte;
        pte = pte_mkold(pte);
        pte.val = c.cpu.cmpxchg(ptep, old_pte.val, pte.val, kPteBytes, Category::PteAtomic);
    } while (pte.val != old_pte.val);
    return pte_young(pte);
}

// asm/pgtable.h __ptep_clear_flush_young(): the TLBI without its trailing DSB (a CPU may keep using the young
// entry until its next context switch, which completes the invalidation).
bool Arm64::__ptep_clear_flush_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep)
{
    const bool young = __ptep_test_and_clear_young(c, vma, addr, ptep);
    if (young)
        __flush_tlb_page(c, *vma.vm_mm, addr, TLBF_NOSYNC);
    return young;
}

// asm/pgtable.h __clear_young_dirty_pte()
void Arm64::__clear_young_dirty_pte(Ctx& c, vm_area_struct&, Addr, PtePtr ptep, pte_t pte, cydp_t flags)
{
    pte_t old_pte;
    do {
        old_pte = pte;
        if (flags & CYDP_CLEAR_YOUNG)
            pte = pte_mkold(pte);
        if (flags & CYDP_CLEAR_DIRTY)
            pte = pte_mkclean(pte);
        pte.val = c.cpu.cmpxchg(ptep, old_pte.val, pte.val, kPteBytes, Category::PteAtomic);
    } while (pte.val != old_pte.val);
}

// asm/pgtable.h __clear_young_dirty_ptes(): clearing both is a plain store; one of them, a cmpxchg loop.
void Arm64::__clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags)
{
    for (;;) {
        const pte_t pte = __ptep_get(c, ptep);
        if (flags == (CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY))
            __set_pte(c, ptep, pte_mkclean(pte_mkold(pte)));
        else
            __clear_young_dirty_pte(c, vma, addr, ptep, pte, flags);
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        addr += page_size();
    }
}

// ---- the public API (asm/pgtable.h); without CONFIG_ARM64_CONTPTE each is its "__" version ----

// asm/pgtable.h ptep_get()
pte_t Arm64::ptep_get(Ctx& c, PtePtr ptep)
{
    const pte_t pte = __ptep_get(c, ptep);
    if (!contpte_on(c) || !pte_valid_cont(pte))
        return pte;
    return contpte_ptep_get(c, ptep, pte);
}

// asm/pgtable.h ptep_get_lockless()
pte_t Arm64::ptep_get_lockless(Ctx& c, PtePtr ptep)
{
    const pte_t pte = __ptep_get(c, ptep);
    if (!contpte_on(c) || !pte_valid_cont(pte))
        return pte;
    return contpte_ptep_get_lockless(c, ptep);
}

// asm/pgtable.h set_ptes(): a single PTE may complete (fold) or break (unfold) a contiguous block; a batch
// lands on none entries and is written contiguous wherever it covers a whole aligned block.
void Arm64::set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    if (!contpte_on(c)) {
        __set_ptes(c, mm, addr, ptep, pte, nr);
        return;
    }
    pte = pte_mknoncont(pte);
    if (nr == 1) {
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));
        __set_ptes(c, mm, addr, ptep, pte, 1);
        contpte_try_fold(c, mm, addr, ptep, pte);
    } else {
        contpte_set_ptes(c, mm, addr, ptep, pte, nr);
    }
}

// asm/pgtable.h pte_clear() (__pte_clear() without contpte)
void Arm64::pte_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    if (contpte_on(c))
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));
    __set_pte(c, ptep, pte_t{0});
}

// asm/pgtable.h ptep_get_and_clear()
pte_t Arm64::ptep_get_and_clear(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep)
{
    if (contpte_on(c))
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));
    return __ptep_get_and_clear(c, mm, addr, ptep);
}

// asm/pgtable.h clear_full_ptes()
void Arm64::clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    if (!contpte_on(c)) {
        __clear_full_ptes(c, mm, addr, ptep, nr, full);
    } else if (nr == 1) {
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));
        __clear_full_ptes(c, mm, addr, ptep, nr, full);
    } else {
        contpte_clear_full_ptes(c, mm, addr, ptep, nr, full);
    }
}

// asm/pgtable.h get_and_clear_full_ptes()
pte_t Arm64::get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    if (!contpte_on(c))
        return __get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
    if (nr == 1) {
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));
        return __get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
    }
    return contpte_get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
}

// asm/pgtable.h wrprotect_ptes(): for one PTE, the contig bit alone decides the unfold (the entry is present),
// and the value read is reused for the cmpxchg loop (fork of order-0 folios is sensitive to it).
void Arm64::wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    if (!contpte_on(c)) {
        __wrprotect_ptes(c, mm, addr, ptep, nr);
    } else if (nr == 1) {
        pte_t orig_pte = __ptep_get(c, ptep);
        if (pte_cont(orig_pte)) {
            __contpte_try_unfold(c, mm, addr, ptep, orig_pte);
            orig_pte = pte_mknoncont(orig_pte);
        }
        ___ptep_set_wrprotect(c, mm, addr, ptep, orig_pte);
    } else {
        contpte_wrprotect_ptes(c, mm, addr, ptep, nr);
    }
}

// asm/pgtable.h clear_young_dirty_ptes()
void Arm64::clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr, cydp_t flags)
{
    if (!contpte_on(c) || (nr == 1 && !pte_cont(__ptep_get(c, ptep))))
        __clear_young_dirty_ptes(c, vma, addr, ptep, nr, flags);
    else
        contpte_clear_young_dirty_ptes(c, vma, addr, ptep, nr, flags);
}

// asm/pgtable.h pte_batch_hint(): the entries left in a contiguous block (the generic version: 1).
unsigned Arm64::pte_batch_hint(Ctx& c, PtePtr ptep, pte_t pte)
{
    if (!contpte_on(c) || !pte_valid_cont(pte))
        return 1;
    return cont_ptes_ - static_cast<unsigned>((ptep >> 3) & (cont_ptes_ - 1));
}

// asm/pgtable.h ptep_set_access_flags()
int Arm64::ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty)
{
    if (!contpte_on(c))
        return __ptep_set_access_flags(c, vma, addr, ptep, entry, dirty);
    const pte_t orig_pte = __ptep_get(c, ptep);
    entry = pte_mknoncont(entry);
    if (!pte_valid_cont(orig_pte))
        return __ptep_set_access_flags(c, vma, addr, ptep, entry, dirty);
    return contpte_ptep_set_access_flags(c, vma, addr, ptep, entry, dirty);
}

// asm/pgtable.h test_and_clear_young_ptes() (include/linux/pgtable.h loop without contpte)
bool Arm64::test_and_clear_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    if (contpte_on(c)) {
        if (nr == 1 && !pte_cont(__ptep_get(c, ptep)))
            return __ptep_test_and_clear_young(c, vma, addr, ptep);
        return contpte_test_and_clear_young_ptes(c, vma, addr, ptep, nr);
    }
    bool young = false;
    for (; nr; --nr, ptep = pte_offset(ptep, 1), addr += page_size())
        young |= __ptep_test_and_clear_young(c, vma, addr, ptep);
    return young;
}

// asm/pgtable.h ptep_clear_flush_young()
bool Arm64::ptep_clear_flush_young(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep)
{
    if (!contpte_on(c) || !pte_valid_cont(__ptep_get(c, ptep)))
        return __ptep_clear_flush_young(c, vma, addr, ptep);
    return contpte_clear_flush_young_ptes(c, vma, addr, ptep, 1);
}

// asm/pgtable.h clear_flush_young_ptes() (include/linux/pgtable.h loop without contpte)
bool Arm64::clear_flush_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    if (contpte_on(c)) {
        if (nr == 1 && !pte_cont(__ptep_get(c, ptep)))
            return __ptep_clear_flush_young(c, vma, addr, ptep);
        return contpte_clear_flush_young_ptes(c, vma, addr, ptep, nr);
    }
    bool young = false;
    for (; nr; --nr, ptep = pte_offset(ptep, 1), addr += page_size())
        young |= __ptep_clear_flush_young(c, vma, addr, ptep);
    return young;
}

// mm/arch/arch.hh make_arm64_arch(): the arm64 operations, for an arm64 platform only.
std::unique_ptr<Arch> make_arm64_arch(Kernel& k)
{
    if (k.format().arch() != mmusim::Arch::Arm64)
        throw std::invalid_argument("arm64 mm operations on platform " + k.platform().config().name +
                                    ", whose page-table format is " + k.format().name());
    return std::make_unique<Arm64>(k);
}

} // namespace mmusim::mm
