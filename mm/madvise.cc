// SPDX-License-Identifier: GPL-2.0-only
#include "mm/madvise.hh"
#include "util/ftrace.hh"

#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/mmu_gather.hh"
#include "mm/internal.hh"
#include "mm/leafops.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"
#include "mm/phase.hh"
#include "mm/swap.hh"
#include "mm/swapfile.hh"
#include "mm/swapops.hh"
#include "mm/vmscan.hh"
#include "hw/core/spinlock.hh"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

namespace mmusim::mm {

namespace {

// mm/madvise.c madvise_dontneed_single_vma(): zap_vma_range_batched() into the caller's mmu_gather (the
// details' reclaim_pt, CONFIG_PT_RECLAIM's freeing of emptied PTE tables, is not ported)
void madvise_dontneed_single_vma(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end)
{
    zap_vma_range_batched(c, tlb, vma, start, end - start);
}

// mm/madvise.c madvise_vma_behavior() for MADV_HUGEPAGE / MADV_NOHUGEPAGE under mmap_lock for writing:
// hugepage_madvise() (mm/khugepaged.c; no khugepaged to register with) computes the flags and
// madvise_update_vma() gives [start, end) a VMA of its own with them (vma_modify_flags()), merged with its
// neighbours where they now agree.
int madvise_hugepage(Ctx& c, mm_struct& mm, Addr start, Addr end, int behavior)
{
    const MmapWriteGuard lock(c, mm);
    int unmapped_error = 0;
    Addr addr = start;
    while (addr < end) {
        c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_prev() / vma_next()
        const std::vector<vm_area_struct*> vmas = vmas_in_range(mm, addr, end);
        if (vmas.empty()) {
            unmapped_error = -ENOMEM;
            break;
        }
        vm_area_struct& vma = *vmas.front();
        if (vma.vm_start > addr)
            unmapped_error = -ENOMEM; // a hole
        const Addr s = std::max(addr, vma.vm_start), e = std::min(end, vma.vm_end);
        vm_flags_t newflags = vma.vm_flags;
        if (behavior == MADV_HUGEPAGE) {
            newflags &= ~VM_NOHUGEPAGE;
            newflags |= VM_HUGEPAGE;
        } else {
            newflags &= ~VM_HUGEPAGE;
            newflags |= VM_NOHUGEPAGE;
        }
        if (newflags != vma.vm_flags) {
            vm_area_struct& v = vma_split_to(c, mm, vma, s, e);
            v.vm_flags = newflags;
            c.cpu.store(v.addr + 32, v.vm_flags, 8, hw::Category::KernelMemory); // vm_flags_reset()
            vma_merge_neighbours(c, mm, v);
        }
        addr = e;
    }
    return unmapped_error;
}

// ---- MADV_FREE, MADV_COLD, MADV_PAGEOUT ----

// mm/madvise.c can_madv_lru_vma()
bool can_madv_lru_vma(const vm_area_struct& vma) { return !(vma.vm_flags & (VM_LOCKED | VM_PFNMAP)); }

// mm/memory.c vm_normal_folio()
std::optional<Folio> vm_normal_folio(Ctx& c, vm_area_struct& vma, Addr addr, pte_t pte)
{
    const std::optional<pfn_t> page = vm_normal_page(c, vma, addr, pte);
    if (!page)
        return std::nullopt;
    return page_folio(c, *page);
}

// mm/madvise.c madvise_folio_pte_batch()
unsigned madvise_folio_pte_batch(Ctx& c, Addr addr, Addr end, Folio folio, PtePtr ptep, pte_t* ptentp)
{
    const unsigned max_nr = pte_batch_cap(c, static_cast<unsigned>((end - addr) >> c.k.page_shift()));
    return folio_pte_batch_flags(c, folio, nullptr, ptep, ptentp, max_nr, FPB_MERGE_YOUNG_DIRTY);
}

// Whether every page of the large folio whose page `ptent` maps at addr is mapped, in order, by a PTE of this
// table inside [start, end). With batching off (kernel.pte_batch=false, or a kernel.max_pte_batch cap)
// madvise_folio_pte_batch() stops short of the folio, and the decision upstream takes from it (split a partly
// covered folio, else treat it whole) must not change with the switch: the kernel before the batching split
// every large folio and handled its pages one by one; without split_folio() the port checks the folio's PTEs
// one at a time instead, once per folio (`checked` remembers it).
bool folio_fully_mapped_in(Ctx& c, Folio folio, PtePtr pte, pte_t ptent, Addr addr, Addr start, Addr end,
                           std::optional<Folio>& checked)
{
    if (checked == folio)
        return true;
    const Arch& a = c.k.arch();
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    const unsigned long idx = a.pte_pfn(ptent) - folio_pfn(folio);
    const Addr first = addr - idx * c.k.page_size();
    if (first < start || first + nr_pages * c.k.page_size() > end)
        return false;
    const PtePtr first_pte = pte - idx * kPteBytes;
    for (unsigned long j = 0; j < nr_pages; ++j) {
        const pte_t p = ptep_get(c, pte_offset(first_pte, j));
        if (!a.pte_present(p) || a.pte_pfn(p) != folio_pfn(folio) + j)
            return false;
    }
    checked = folio;
    return true;
}

// mm/madvise.c madvise_free_pte_range(), the PTE table at *pmd (a PMD leaf is skipped: madvise_free_huge_pmd()
// is not ported).
void madvise_free_pte_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr, Addr end)
{
    const PhaseScope phase(c, "madvise_free_pte_range");
    const Arch& a = c.k.arch();
    mm_struct& mm = *tlb.mm;
    const cydp_t cydp_flags = CYDP_CLEAR_YOUNG | CYDP_CLEAR_DIRTY;
    PtePtr pte = pte_offset_map(c, pmd, addr);
    if (!pte)
        return;
    const PAddr ptl = pte_lockptr(c, pte);
    hw::SpinLock(ptl).lock(c.cpu);
    flush_tlb_batched_pending(c, mm);
    long nr_swap = 0;
    const Addr start = addr;
    std::optional<Folio> checked;
    for (unsigned nr; addr != end; pte = pte_offset(pte, nr), addr += c.k.page_size() * nr) {
        nr = 1;
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        pte_t ptent = ptep_get(c, pte);
        if (a.pte_none(ptent))
            continue;
        // If the pte has swp_entry, just clear page table to prevent swap-in which is more expensive rather
        // than (page allocation + zeroing).
        if (!a.pte_present(ptent)) {
            const softleaf_t entry = softleaf_from_pte(a, ptent);
            if (softleaf_is_swap(entry)) { // (a device-exclusive entry is left alone)
                const unsigned max_nr = static_cast<unsigned>((end - addr) >> c.k.page_shift());
                nr = swap_pte_batch(c, pte, pte_batch_cap(c, max_nr), ptent);
                nr_swap -= nr;
                swap_put_entries_direct(c, entry, nr);
                c.k.stats().batch("clear_not_present_full_ptes", nr); // clear_nonpresent_ptes(): pte_clear() each
                for (unsigned i = 0; i < nr; ++i)
                    c.cpu.store(pte_offset(pte, i), 0, kPteBytes, hw::Category::PteStore);
            }
            continue;
        }
        const std::optional<Folio> folio = vm_normal_folio(c, vma, addr, ptent);
        if (!folio)
            continue;
        // If we encounter a large folio, only split it if it is not fully mapped within the range we are
        // operating on. Otherwise leave it as is so that it can be marked as lazyfree. The port cannot split a
        // PTE-mapped folio: it is left in place, as upstream does when the split fails.
        if (folio_test_large(c, *folio)) {
            nr = madvise_folio_pte_batch(c, addr, end, *folio, pte, &ptent);
            if (nr < folio_nr_pages(c, *folio) &&
                !folio_fully_mapped_in(c, *folio, pte, ptent, addr, start, end, checked))
                continue;
        }
        if (folio_test_swapcache(c, *folio) || folio_test_flag(c, *folio, PG_dirty)) {
            if (!folio_trylock(c, *folio))
                continue;
            // If we have a large folio at this point, we know it is fully mapped so if its mapcount is the
            // same as its number of pages, it must be exclusive.
            if (static_cast<unsigned long>(folio_mapcount(c, *folio)) != folio_nr_pages(c, *folio)) {
                folio_unlock(c, *folio);
                continue;
            }
            if (folio_test_swapcache(c, *folio) && !folio_free_swap(c, *folio)) {
                folio_unlock(c, *folio);
                continue;
            }
            folio_clear_flag(c, *folio, PG_dirty); // folio_clear_dirty()
            folio_unlock(c, *folio);
        }
        if (a.pte_young(ptent) || a.pte_dirty(ptent)) {
            clear_young_dirty_ptes(c, vma, addr, pte, nr, cydp_flags);
            tlb_remove_tlb_entries(c, tlb, pte, nr, addr);
        }
        folio_mark_lazyfree(c, *folio);
    }
    if (nr_swap)
        add_mm_counter(c, mm, MM_SWAPENTS, nr_swap);
    hw::SpinLock(ptl).unlock(c.cpu);
}

// mm/madvise.c madvise_cold_or_pageout_pte_range() for a PTE table (the PMD-leaf branch is not ported: a PMD
// leaf is skipped). MADV_PAGEOUT reclaims the folios it isolated once the table's lock is dropped.
void madvise_cold_or_pageout_pte_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr,
                                       Addr end, bool pageout)
{
    const Arch& a = c.k.arch();
    std::vector<Folio> folio_list;
    {
        const PhaseScope phase(c, "madvise_cold_or_pageout_pte_range");
        PtePtr pte = pte_offset_map(c, pmd, addr);
        if (!pte)
            return;
        const PAddr ptl = pte_lockptr(c, pte);
        hw::SpinLock(ptl).lock(c.cpu);
        flush_tlb_batched_pending(c, *vma.vm_mm);
        const Addr start = addr;
        std::optional<Folio> checked;
        for (unsigned nr; addr < end; pte = pte_offset(pte, nr), addr += nr * c.k.page_size()) {
            nr = 1;
            c.k.charge_sw(c, c.k.config().software.pte_loop);
            pte_t ptent = ptep_get(c, pte);
            if (a.pte_none(ptent) || !a.pte_present(ptent))
                continue;
            const std::optional<Folio> folio = vm_normal_folio(c, vma, addr, ptent);
            if (!folio)
                continue;
            // If we encounter a large folio, only split it if it is not fully mapped within the range we are
            // operating on (not ported: the folio is left in place, as when the split fails).
            if (folio_test_large(c, *folio)) {
                nr = madvise_folio_pte_batch(c, addr, end, *folio, pte, &ptent);
                if (nr < folio_nr_pages(c, *folio) &&
                    !folio_fully_mapped_in(c, *folio, pte, ptent, addr, start, end, checked))
                    continue;
            }
            // Do not interfere with other mappings of this folio and non-LRU folio. If we have a large folio at
            // this point, we know it is fully mapped so if its mapcount is the same as its number of pages, it
            // must be exclusive.
            if (!folio_test_flag(c, *folio, PG_lru) ||
                static_cast<unsigned long>(folio_mapcount(c, *folio)) != folio_nr_pages(c, *folio))
                continue;
            if (!pageout && a.pte_young(ptent)) {
                clear_young_dirty_ptes(c, vma, addr, pte, nr, CYDP_CLEAR_YOUNG);
                tlb_remove_tlb_entries(c, tlb, pte, nr, addr);
            }
            // We are deactivating a folio for accelerating reclaiming. VM couldn't reclaim the folio unless we
            // clear PG_young (no idle-page tracking here: PG_young is not modelled).
            folio_clear_flag(c, *folio, PG_referenced); // folio_clear_referenced()
            if (folio_test_flag(c, *folio, PG_active))
                folio_set_flag(c, *folio, PG_workingset);
            if (pageout) {
                if (folio_isolate_lru(c, *folio)) {
                    if (folio_test_flag(c, *folio, PG_unevictable))
                        folio_putback_lru(c, *folio);
                    else
                        folio_list.push_back(*folio);
                }
            } else {
                folio_deactivate(c, *folio);
            }
        }
        hw::SpinLock(ptl).unlock(c.cpu);
    }
    if (pageout)
        reclaim_pages(c, folio_list);
}

// The pmd_entry walk of walk_page_range_vma() over [start, end) of one VMA: each PTE table the range covers
template <typename PteRange>
void walk_pmd_entries(Ctx& c, vm_area_struct& vma, Addr start, Addr end, PteRange pte_range)
{
    const hw::PageTableFormat& fmt = c.k.format();
    const std::uint64_t span = std::uint64_t{1} << fmt.level(fmt.levels() - 2).shift; // PMD_SIZE
    for (Addr addr = start; addr < end;) {
        const Addr boundary = (addr + span) & ~(span - 1);
        const Addr next = boundary - 1 < end - 1 ? boundary : end; // pmd_addr_end()
        const PtePtr pmd = pmd_offset_lookup(c, *vma.vm_mm, addr);
        if (pmd) {
            const pte_t pmdval{c.cpu.load(pmd, kPteBytes, hw::Category::PteLoad)};
            if (pmdval.val && !c.k.arch().pmd_trans_huge(pmdval))
                pte_range(pmd, addr, next);
        }
        addr = next;
    }
}

// mm/madvise.c madvise_free_single_vma(): MADV_FREE works for only anon vma at the moment
int madvise_free_single_vma(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end)
{
    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) // madvise_dontneed_free_valid_vma()
        return -EINVAL;
    if (vma.vm_file) // !vma_is_anonymous(vma)
        return -EINVAL;
    walk_pmd_entries(c, vma, start, end,
                     [&](PtePtr pmd, Addr s, Addr e) { madvise_free_pte_range(c, tlb, vma, pmd, s, e); });
    return 0;
}

// mm/madvise.c madvise_cold() / madvise_pageout(): their own mmu_gather per VMA
int madvise_cold_or_pageout(Ctx& c, vm_area_struct& vma, Addr start, Addr end, bool pageout)
{
    if (!can_madv_lru_vma(vma))
        return -EINVAL;
    // Shared anonymous (shmem) folios are not reclaimable in the port (no shmem swap-out): refused
    // (upstream deactivates / pages them out through shmem_writeout())
    if (vma.vm_file)
        return -EINVAL;
    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, *vma.vm_mm);
    walk_pmd_entries(c, vma, start, end, [&](PtePtr pmd, Addr s, Addr e) {
        madvise_cold_or_pageout_pte_range(c, tlb, vma, pmd, s, e, pageout);
    });
    tlb_finish_mmu(c, tlb);
    return 0;
}

} // namespace

// mm/madvise.c do_madvise() -> madvise_do_behavior() -> madvise_walk_vmas(); MADV_DONTNEED batches the TLB
// flush over the whole range (madvise_batch_tlb_flush()), as does MADV_FREE
int do_madvise(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, int behavior)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "madvise asid={} start={:#x} len={:#x} behavior={}", mm.asid, start, len, behavior);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    if (start % c.k.page_size())
        return -EINVAL;
    if (behavior == MADV_NORMAL)
        return 0;
    if (behavior != MADV_DONTNEED && behavior != MADV_HUGEPAGE && behavior != MADV_NOHUGEPAGE &&
        behavior != MADV_FREE && behavior != MADV_COLD && behavior != MADV_PAGEOUT)
        return -EINVAL;
    len = (len + c.k.page_size() - 1) & ~(c.k.page_size() - 1);
    if (!len)
        return 0;
    const Addr end = start + len;
    if (behavior == MADV_HUGEPAGE || behavior == MADV_NOHUGEPAGE)
        return madvise_hugepage(c, mm, start, end, behavior);
    if (behavior == MADV_COLD || behavior == MADV_PAGEOUT) {
        // madvise_lock(): for reading; madvise_walk_vmas() -> madvise_cold() / madvise_pageout()
        const MmapReadGuard lock(c, mm);
        c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_prev()
        int err = 0;
        Addr covered = start;
        for (vm_area_struct* vma : vmas_in_range(mm, start, end)) {
            if (vma->vm_start > covered)
                err = -ENOMEM;
            const Addr s = std::max(start, vma->vm_start), e = std::min(end, vma->vm_end);
            const int r = madvise_cold_or_pageout(c, *vma, s, e, behavior == MADV_PAGEOUT);
            if (r)
                return r;
            covered = e;
        }
        return covered < end ? -ENOMEM : err;
    }

    const MmapReadGuard lock(c, mm); // madvise_lock(): MADV_DONTNEED and MADV_FREE need it for reading only
    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, mm);
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_prev()
    int unmapped_error = 0;
    Addr covered = start;
    for (vm_area_struct* vma : vmas_in_range(mm, start, end)) {
        if (vma->vm_start > covered)
            unmapped_error = -ENOMEM; // Here start < vma->vm_start: a hole
        const Addr s = std::max(start, vma->vm_start), e = std::min(end, vma->vm_end);
        if (behavior == MADV_FREE) {
            const int r = madvise_free_single_vma(c, tlb, *vma, s, e);
            if (r) {
                tlb_finish_mmu(c, tlb);
                return r;
            }
        } else {
            madvise_dontneed_single_vma(c, tlb, *vma, s, e);
        }
        covered = e;
    }
    if (covered < end)
        unmapped_error = -ENOMEM;
    tlb_finish_mmu(c, tlb);
    return unmapped_error;
}

} // namespace mmusim::mm
