// SPDX-License-Identifier: GPL-2.0-only
// struct mmu_gather (mm/mmu_gather.c, include/asm-generic/tlb.h): the batches of pages and tables are host
// vectors (upstream: pages of encoded_page pointers); what they trigger is timed: the architecture's
// tlb_flush(), the folio reference drops (folios_put_refs()), the frees, the mm's tlb_flush_pending atomics.
#include "mm/phase.hh"
#include "mm/mmu_gather.hh"

#include "mm/kernel.hh"
#include "mm/rmap.hh"
#include "mm/swap_state.hh"

#include <algorithm>

namespace mmusim::mm {

using hw::Category;

namespace {

// include/asm-generic/tlb.h __tlb_adjust_range()
void __tlb_adjust_range(mmu_gather& tlb, Addr address, std::uint64_t range_size)
{
    tlb.start = std::min(tlb.start, address);
    tlb.end = std::max(tlb.end, address + range_size);
}

// include/asm-generic/tlb.h __tlb_reset_range(): the vma_* fields stay (no tlb_start_vma() after an
// intermediate flush)
void __tlb_reset_range(mmu_gather& tlb)
{
    tlb.start = ~Addr{0};
    tlb.end = 0;
    tlb.freed_tables = false;
    tlb.cleared_ptes = tlb.cleared_pmds = tlb.cleared_puds = tlb.cleared_p4ds = false;
}

// include/linux/mm_types.h inc_tlb_flush_pending() / dec_tlb_flush_pending() / mm_tlb_flush_nested()
void inc_tlb_flush_pending(Ctx& c, mm_struct& mm)
{
    c.cpu.fetch_add(mm.addr + MM_OFF_TLB_FLUSH_PENDING, 1, 4, Category::KernelMemory);
}
void dec_tlb_flush_pending(Ctx& c, mm_struct& mm)
{
    c.cpu.fetch_sub(mm.addr + MM_OFF_TLB_FLUSH_PENDING, 1, 4, Category::KernelMemory);
}
bool mm_tlb_flush_nested(Ctx& c, mm_struct& mm)
{
    return static_cast<std::int32_t>(c.cpu.load(mm.addr + MM_OFF_TLB_FLUSH_PENDING, 4, Category::KernelMemory)) > 1;
}

// mm/mmu_gather.c __tlb_gather_mmu()
void __tlb_gather_mmu(Ctx& c, mmu_gather& tlb, mm_struct& mm, bool fullmm)
{
    tlb = mmu_gather{};
    tlb.mm = &mm;
    tlb.fullmm = fullmm;
    __tlb_reset_range(tlb);
    inc_tlb_flush_pending(c, mm);
}

// mm/swap.c folios_put_refs() via mm/swap_state.c free_pages_and_swap_cache(): drop each folio's references;
// a folio whose count reaches zero leaves the LRU (__page_cache_release()) and goes back to the allocator.
void free_pages_and_swap_cache(Ctx& c, const std::vector<mmu_gather::Pages>& pages)
{
    const PhaseScope phase(c, "free_pages_and_swap_cache");
    for (const mmu_gather::Pages& p : pages) {
        const Folio folio = page_folio(c, p.page);
        free_swap_cache(c, folio); // an unmapped folio still in the swap cache leaves it (swap)
        if (!folio_ref_sub_and_test(c, folio, static_cast<int>(p.nr)))
            continue;
        __folio_put(c, folio);
    }
}

// mm/mmu_gather.c tlb_flush_mmu_free(): tlb_table_flush() then tlb_batch_pages_flush()
void tlb_flush_mmu_free(Ctx& c, mmu_gather& tlb)
{
    if (!tlb.tables.empty()) {
        // tlb_table_invalidate(): page-table caches must not reach a table being freed
        tlb_flush_mmu_tlbonly(c, tlb);
        for (const mmu_gather::Table& t : tlb.tables)
            c.k.page_alloc().pagetable_free(c, t.table, t.depth); // __tlb_remove_table()
        tlb.tables.clear();
    }
    free_pages_and_swap_cache(c, tlb.pages);
    tlb.pages.clear();
}

} // namespace

// include/asm-generic/tlb.h tlb_flush_pte_range()
void tlb_flush_pte_range(mmu_gather& tlb, Addr address, std::uint64_t size)
{
    __tlb_adjust_range(tlb, address, size);
    tlb.cleared_ptes = true;
}
// include/asm-generic/tlb.h tlb_flush_pmd_range()
void tlb_flush_pmd_range(mmu_gather& tlb, Addr address, std::uint64_t size)
{
    __tlb_adjust_range(tlb, address, size);
    tlb.cleared_pmds = true;
}
// include/asm-generic/tlb.h tlb_flush_pud_range()
void tlb_flush_pud_range(mmu_gather& tlb, Addr address, std::uint64_t size)
{
    __tlb_adjust_range(tlb, address, size);
    tlb.cleared_puds = true;
}
// include/asm-generic/tlb.h tlb_flush_p4d_range()
void tlb_flush_p4d_range(mmu_gather& tlb, Addr address, std::uint64_t size)
{
    __tlb_adjust_range(tlb, address, size);
    tlb.cleared_p4ds = true;
}

// mm/mmu_gather.c tlb_gather_mmu()
void tlb_gather_mmu(Ctx& c, mmu_gather& tlb, mm_struct& mm) { __tlb_gather_mmu(c, tlb, mm, false); }

// mm/mmu_gather.c tlb_gather_mmu_fullmm()
void tlb_gather_mmu_fullmm(Ctx& c, mmu_gather& tlb, mm_struct& mm) { __tlb_gather_mmu(c, tlb, mm, true); }

// include/asm-generic/tlb.h tlb_flush_mmu_tlbonly(): the architecture's tlb_flush(), then the range resets
void tlb_flush_mmu_tlbonly(Ctx& c, mmu_gather& tlb)
{
    const PhaseScope phase(c, "tlb_flush_mmu_tlbonly");
    // Anything calling __tlb_adjust_range() also sets at least one of these bits.
    if (!(tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_puds || tlb.cleared_p4ds))
        return;
    c.k.arch().tlb_flush(c, tlb);
    __tlb_reset_range(tlb);
}

// mm/mmu_gather.c tlb_flush_rmaps()
void tlb_flush_rmaps(Ctx& c, mmu_gather& tlb, vm_area_struct& vma)
{
    if (!tlb.delayed_rmap)
        return;
    for (mmu_gather::Pages& p : tlb.pages) {
        if (!p.delay_rmap)
            continue;
        folio_remove_rmap_ptes(c, page_folio(c, p.page), p.page, static_cast<int>(p.nr), vma);
        p.delay_rmap = false;
    }
    tlb.delayed_rmap = false;
}

// mm/mmu_gather.c tlb_flush_mmu()
void tlb_flush_mmu(Ctx& c, mmu_gather& tlb)
{
    tlb_flush_mmu_tlbonly(c, tlb);
    tlb_flush_mmu_free(c, tlb);
}

// mm/mmu_gather.c tlb_finish_mmu()
void tlb_finish_mmu(Ctx& c, mmu_gather& tlb)
{
    // Parallel threads batching PTE changes on the same range: flush everything.
    if (mm_tlb_flush_nested(c, *tlb.mm)) {
        tlb.fullmm = true;
        __tlb_reset_range(tlb);
        tlb.freed_tables = true;
    }
    tlb_flush_mmu(c, tlb);
    dec_tlb_flush_pending(c, *tlb.mm);
}

// include/asm-generic/tlb.h tlb_start_vma() -> tlb_update_vma_flags()
void tlb_start_vma(Ctx&, mmu_gather& tlb, vm_area_struct& vma)
{
    if (tlb.fullmm)
        return;
    tlb.vma_huge = false; // no hugetlb VMAs in the port
    tlb.vma_exec = vma.vm_flags & VM_EXEC;
    tlb.vma_pfn = tlb.vma_pfn || (vma.vm_flags & VM_PFNMAP);
}

// include/asm-generic/tlb.h tlb_end_vma(): flush and reset the range at VMA boundaries
void tlb_end_vma(Ctx& c, mmu_gather& tlb, vm_area_struct&)
{
    if (tlb.fullmm)
        return;
    tlb_flush_mmu_tlbonly(c, tlb);
}

// include/asm-generic/tlb.h tlb_remove_tlb_entries() (__tlb_remove_tlb_entry() is empty on arm64 and x86)
void tlb_remove_tlb_entries(Ctx& c, mmu_gather& tlb, PtePtr, unsigned nr, Addr address)
{
    tlb_flush_pte_range(tlb, address, c.k.page_size() * nr);
}

// mm/mmu_gather.c __tlb_remove_folio_pages() -> __tlb_remove_folio_pages_size(): a page takes one slot, a
// page range two (page + nr_pages); true when the batch is full and the caller must flush.
bool __tlb_remove_folio_pages(Ctx&, mmu_gather& tlb, pfn_t page, unsigned nr, bool delay_rmap)
{
    tlb.pages.push_back({page, nr, delay_rmap});
    if (delay_rmap)
        tlb.delayed_rmap = true;
    std::size_t slots = 0;
    for (const mmu_gather::Pages& p : tlb.pages)
        slots += p.nr == 1 ? 1 : 2;
    return slots >= mmu_gather::kMaxBatch - 1;
}

// arch/arm64/include/asm/tlb.h tlb_get_level()
int tlb_get_level(const mmu_gather& tlb)
{
    // The TTL field is only valid for the leaf entry.
    if (tlb.freed_tables)
        return TLBI_TTL_UNKNOWN;
    if (tlb.cleared_ptes && !(tlb.cleared_pmds || tlb.cleared_puds || tlb.cleared_p4ds))
        return 3;
    if (tlb.cleared_pmds && !(tlb.cleared_ptes || tlb.cleared_puds || tlb.cleared_p4ds))
        return 2;
    if (tlb.cleared_puds && !(tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_p4ds))
        return 1;
    if (tlb.cleared_p4ds && !(tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_puds))
        return 0;
    return TLBI_TTL_UNKNOWN;
}

// include/asm-generic/tlb.h pte_free_tlb() / pmd_free_tlb() / pud_free_tlb() / p4d_free_tlb() ->
// tlb_remove_table(): the range covers the cleared entry one level up, tables were freed.
void free_table_tlb(Ctx& c, mmu_gather& tlb, PAddr table, int depth, Addr address)
{
    const int leaf = c.k.format().levels() - 1;
    const std::uint64_t sz = c.k.page_size();
    if (depth == leaf)
        tlb_flush_pmd_range(tlb, address, sz);
    else if (depth == leaf - 1)
        tlb_flush_pud_range(tlb, address, sz);
    else if (depth == leaf - 2)
        tlb_flush_p4d_range(tlb, address, sz);
    else
        __tlb_adjust_range(tlb, address, sz);
    tlb.freed_tables = true;
    tlb.tables.push_back({table, depth});
}

// include/asm-generic/tlb.h tlb_get_unmap_shift()
unsigned tlb_get_unmap_shift(const Ctx& c, const mmu_gather& tlb)
{
    const hw::PageTableFormat& fmt = c.k.format();
    const int last = fmt.levels() - 1;
    const auto shift_at = [&](int up) { return fmt.level(std::max(last - up, 0)).shift; };
    if (tlb.cleared_ptes)
        return shift_at(0);
    if (tlb.cleared_pmds)
        return shift_at(1);
    if (tlb.cleared_puds)
        return shift_at(2);
    if (tlb.cleared_p4ds)
        return shift_at(3);
    return fmt.page_shift();
}

// include/asm-generic/tlb.h tlb_get_unmap_size()
std::uint64_t tlb_get_unmap_size(const Ctx& c, const mmu_gather& tlb) { return std::uint64_t{1} << tlb_get_unmap_shift(c, tlb); }

} // namespace mmusim::mm
