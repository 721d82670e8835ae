// SPDX-License-Identifier: GPL-2.0-only
#include "mm/internal.hh"

#include "mm/debug_vm.hh"
#include "mm/pgtable.hh"

#include <algorithm>

namespace mmusim::mm {

// mm/internal.h __pte_batch_clear_ignored()
pte_t __pte_batch_clear_ignored(const Arch& a, pte_t pte, fpb_t flags)
{
    if (!(flags & FPB_RESPECT_DIRTY))
        pte = a.pte_mkclean(pte);
    if (!(flags & FPB_RESPECT_SOFT_DIRTY))
        pte = a.pte_clear_soft_dirty(pte);
    if (!(flags & FPB_RESPECT_WRITE))
        pte = a.pte_wrprotect(pte);
    return a.pte_mkold(pte);
}

// mm/internal.h folio_pte_batch_flags()
unsigned folio_pte_batch_flags(Ctx& c, Folio folio, vm_area_struct*, PtePtr ptep, pte_t* ptentp, unsigned max_nr,
                               fpb_t flags)
{
    // Checked mode (the port's check of what upstream leaves to its callers: "we may only batch within a
    // single VMA and a single page table", pmd_addr_end()): the batch may not look past ptep's PTE table.
    if (vm_checked(c.k)) {
        const std::uint64_t table = c.k.format().table_bytes(c.k.format().levels() - 1);
        const std::uint64_t left = (table - (ptep & (table - 1))) / kPteBytes;
        MMUSIM_VM_BUG_ON_FOLIO(c, max_nr > left, "folio_pte_batch (max_nr beyond the PTE table)", folio);
    }
    const KernelSwitches& sw = c.k.config().switches;
    if (!sw.pte_batch)
        return 1; // the unbatched kernel looks at one PTE at a time and never scans ahead
    if (sw.max_pte_batch)
        max_nr = std::min(max_nr, sw.max_pte_batch);
    const Arch& a = c.k.arch();
    bool any_writable = false, any_young = false, any_dirty = false;
    pte_t pte = *ptentp;

    // Limit max_nr to the actual remaining PFNs in the folio we could batch.
    max_nr = static_cast<unsigned>(
        std::min<unsigned long>(max_nr, folio_pfn(folio) + folio_nr_pages(c, folio) - a.pte_pfn(pte)));

    unsigned nr = pte_batch_hint(c, ptep, pte);
    pte_t expected_pte = __pte_batch_clear_ignored(a, a.pte_advance_pfn(pte, nr), flags);
    ptep = pte_offset(ptep, nr);

    while (nr < max_nr) {
        pte = ptep_get(c, ptep);
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        if (__pte_batch_clear_ignored(a, pte, flags) != expected_pte)
            break;
        if (flags & FPB_MERGE_WRITE)
            any_writable |= a.pte_write(pte);
        if (flags & FPB_MERGE_YOUNG_DIRTY) {
            any_young |= a.pte_young(pte);
            any_dirty |= a.pte_dirty(pte);
        }
        const unsigned cur_nr = pte_batch_hint(c, ptep, pte);
        expected_pte = a.pte_advance_pfn(expected_pte, cur_nr);
        ptep = pte_offset(ptep, cur_nr);
        nr += cur_nr;
    }

    if (any_writable)
        *ptentp = a.pte_mkwrite(*ptentp);
    if (any_young)
        *ptentp = a.pte_mkyoung(*ptentp);
    if (any_dirty)
        *ptentp = a.pte_mkdirty(*ptentp);

    nr = std::min(nr, max_nr);
    c.k.stats().batch("folio_pte_batch", nr);
    return nr;
}

// mm/util.c folio_pte_batch()
unsigned folio_pte_batch(Ctx& c, Folio folio, PtePtr ptep, pte_t pte, unsigned max_nr)
{
    return folio_pte_batch_flags(c, folio, nullptr, ptep, &pte, max_nr, 0);
}

unsigned pte_batch_cap(const Ctx& c, unsigned nr)
{
    const KernelSwitches& sw = c.k.config().switches;
    if (!sw.pte_batch)
        return 1;
    return sw.max_pte_batch ? std::min(nr, sw.max_pte_batch) : nr;
}

// mm/internal.h page_anon_exclusive_sub_batch()
unsigned page_anon_exclusive_sub_batch(Ctx& c, unsigned start, unsigned max_len, pfn_t first_page, bool expected)
{
    unsigned idx;
    for (idx = start + 1; idx < start + max_len; ++idx)
        if (expected != PageAnonExclusive(c, first_page + idx))
            break;
    return idx - start;
}

void smp_mb(Ctx& c)
{
    switch (c.k.platform().config().arch) {
    case mmusim::Arch::Arm64:
        c.cpu.barrier(hw::Barrier::DmbIsh);
        break;
    case mmusim::Arch::X86_64:
        c.cpu.barrier(hw::Barrier::Mfence);
        break;
    case mmusim::Arch::RiscV:
        c.cpu.barrier(hw::Barrier::Fence);
        break;
    }
}

void smp_mb__after_atomic(Ctx& c)
{
    if (c.k.platform().config().arch != mmusim::Arch::X86_64)
        smp_mb(c);
}

void smp_wmb(Ctx& c)
{
    if (c.k.platform().config().arch != mmusim::Arch::X86_64)
        smp_mb(c);
}

void smp_rmb(Ctx& c)
{
    if (c.k.platform().config().arch != mmusim::Arch::X86_64)
        smp_mb(c);
}

} // namespace mmusim::mm
