// SPDX-License-Identifier: GPL-2.0-only
// struct mmu_gather (include/asm-generic/tlb.h, mm/mmu_gather.c): the range of PTEs cleared since the last
// flush, which page-table levels were cleared or freed, and the pages to free once the TLBs can no longer
// reach them. Flushing happens in tlb_flush_mmu_tlbonly() through the architecture's tlb_flush(); the pages
// are freed (refcount dropped, folios back to the allocator) only after it, in tlb_flush_mmu().
#pragma once

#include "mm/page.hh"
#include "mm/types.hh"

#include <vector>

namespace mmusim::mm {

struct Ctx;
struct mm_struct;
struct vm_area_struct;

struct mmu_gather {
    mm_struct* mm = nullptr;
    Addr start = ~Addr{0}, end = 0; // __tlb_adjust_range() bounds; start > end when empty
    bool fullmm = false;            // exit_mmap: the whole address space goes
    bool need_flush_all = false;
    bool freed_tables = false;
    bool cleared_ptes = false, cleared_pmds = false, cleared_puds = false, cleared_p4ds = false;
    bool vma_exec = false, vma_huge = false, vma_pfn = false;
    bool delayed_rmap = false;
    // encoded_pages: a page and how many consecutive pages of its folio follow (__tlb_remove_folio_pages)
    struct Pages {
        pfn_t page;
        unsigned nr;
        bool delay_rmap;
    };
    std::vector<Pages> pages;
    // Page-table pages unlinked by free_pgtables() (tlb_remove_table()), freed after the flush.
    struct Table {
        PAddr table;
        int depth;
    };
    std::vector<Table> tables;
    static constexpr std::size_t kMaxBatch = 10000; // MAX_GATHER_BATCH_COUNT * MAX_GATHER_BATCH, ~ upstream

    bool empty_range() const { return end <= start; }
};

// mm/mmu_gather.c / include/asm-generic/tlb.h
void tlb_gather_mmu(Ctx& c, mmu_gather& tlb, mm_struct& mm);
void tlb_gather_mmu_fullmm(Ctx& c, mmu_gather& tlb, mm_struct& mm);
void tlb_finish_mmu(Ctx& c, mmu_gather& tlb);
void tlb_flush_mmu(Ctx& c, mmu_gather& tlb);
void tlb_flush_mmu_tlbonly(Ctx& c, mmu_gather& tlb);
// mm/mmu_gather.c tlb_flush_rmaps(): the rmap removals delayed until after the TLB flush
void tlb_flush_rmaps(Ctx& c, mmu_gather& tlb, vm_area_struct& vma);
void tlb_start_vma(Ctx& c, mmu_gather& tlb, vm_area_struct& vma);
void tlb_end_vma(Ctx& c, mmu_gather& tlb, vm_area_struct& vma);
// tlb_remove_tlb_entries(): the range grows by nr pages at address; cleared_ptes is set.
void tlb_remove_tlb_entries(Ctx& c, mmu_gather& tlb, PtePtr ptep, unsigned nr, Addr address);
// __tlb_remove_folio_pages(): queues nr pages of one folio; true when the batch is full (caller flushes).
bool __tlb_remove_folio_pages(Ctx& c, mmu_gather& tlb, pfn_t page, unsigned nr, bool delay_rmap);
// The TTL level hint for the flush (tlb_get_level, arm64 asm/tlb.h): 3 if only PTEs were cleared, etc.;
// TLBI_TTL_UNKNOWN when tables were freed or levels are mixed.
constexpr int TLBI_TTL_UNKNOWN = 0x7fffffff; // INT_MAX, arch/arm64/include/asm/tlbflush.h
int tlb_get_level(const mmu_gather& tlb);
// include/asm-generic/tlb.h tlb_get_unmap_shift() / tlb_get_unmap_size(): the stride of the gathered range, by
// the lowest level whose entries were cleared (the format's level shifts: PAGE_SHIFT, PMD_SHIFT, ...).
unsigned tlb_get_unmap_shift(const Ctx& c, const mmu_gather& tlb);
std::uint64_t tlb_get_unmap_size(const Ctx& c, const mmu_gather& tlb);
// include/asm-generic/tlb.h tlb_flush_pte_range() / tlb_flush_pmd_range() / ...: widen the range and mark
// the level cleared.
void tlb_flush_pte_range(mmu_gather& tlb, Addr address, std::uint64_t size);
void tlb_flush_pmd_range(mmu_gather& tlb, Addr address, std::uint64_t size);
void tlb_flush_pud_range(mmu_gather& tlb, Addr address, std::uint64_t size);
void tlb_flush_p4d_range(mmu_gather& tlb, Addr address, std::uint64_t size);
// mm/mmu_gather.c tlb_remove_table() via pte_free_tlb()/pmd_free_tlb()/...: an unlinked table at `depth`
// whose entry mapped `address`, freed once the TLBs and walk caches cannot reach it.
void free_table_tlb(Ctx& c, mmu_gather& tlb, PAddr table, int depth, Addr address);

} // namespace mmusim::mm
