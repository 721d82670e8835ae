// SPDX-License-Identifier: GPL-2.0-only
// What the ported kernel did, for reports: how often each batched helper ran at each batch size, contpte
// folds/unfolds/converts, PTE reads, TLB flushes by kind with the pages they covered, and folio and page-table
// allocation. Cycles are not here: they are the cores' categories (hw/core/cost_category.hh).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace mmusim::mm {

struct FlushCount {
    std::uint64_t calls = 0;
    std::uint64_t pages = 0;
};

struct MmStats {
    // helper name ("set_ptes", "clear_full_ptes", "folio_pte_batch", ...) -> nr -> calls
    std::map<std::string, std::map<unsigned, std::uint64_t>> batches;
    std::uint64_t contpte_folds = 0;    // contpte_try_fold that converted a block to contiguous
    std::uint64_t contpte_unfolds = 0;  // contpte_try_unfold that converted a block back
    std::uint64_t contpte_converts = 0; // contpte_convert calls (folds + unfolds)
    // flush kind ("flush_tlb_range", "flush_tlb_mm", "flush_tlb_multi", "invlpgb", ...) -> calls and pages
    std::map<std::string, FlushCount> flushes;
    std::uint64_t faults = 0;
    std::uint64_t folios_allocated = 0, folios_freed = 0;
    std::uint64_t pages_copied = 0;      // COW copies
    std::uint64_t pages_reused = 0;      // write faults that reused an exclusive page
    std::uint64_t pgtables_allocated = 0, pgtables_freed = 0;
    // What anonymous faults mapped (the mTHP and THP event counters of mm/huge_memory.c):
    std::map<unsigned, std::uint64_t> anon_fault_alloc;    // folio order -> new folios faults mapped
                                                           // (MTHP_STAT_ANON_FAULT_ALLOC; order 0 counted too)
    std::map<unsigned, std::uint64_t> anon_fault_fallback; // order -> allocations that fell back to order 0
                                                           // (MTHP_STAT_ANON_FAULT_FALLBACK)
    std::map<unsigned, std::uint64_t> shmem_fault_alloc;   // order -> shmem folios faults allocated into the
                                                           // page cache (MTHP_STAT_SHMEM_ALLOC; order 0 too)
    std::uint64_t thp_fault_alloc = 0;       // THP_FAULT_ALLOC: PMD-mapped THPs faults mapped
    std::uint64_t thp_fault_fallback = 0;    // THP_FAULT_FALLBACK: PMD faults that fell back to PTEs
    std::uint64_t zero_page_faults = 0;      // read faults that mapped the shared zero page (a PTE)
    std::uint64_t huge_zero_page_faults = 0; // read faults that mapped the huge zero folio (a PMD)
    // FOLL_PIN references taken and dropped, in pages (the vmstat counters nr_foll_pin_acquired and
    // nr_foll_pin_released); the shared zero page is never pinned and not counted
    std::uint64_t pins = 0, unpins = 0;
    // LRU reclaim (memory.reclaim, mm/vmscan.cc shrink_inactive_list()), in pages: scanned on the inactive
    // lists and reclaimed from them (the vmstat events pgscan and pgsteal; MADV_PAGEOUT's reclaim_pages()
    // counts neither, as upstream)
    std::uint64_t pgscan = 0, pgsteal = 0;
    // PTE reads by name: ptep_get() as generic mm code calls it (include/linux/pgtable.h, arm64's
    // asm/pgtable.h ptep_get()); of those, arm64's contpte_ptep_get() (a contiguous entry: every entry of the
    // block read for young and dirty); and __ptep_get(), each single-entry read (READ_ONCE(*ptep)) on any path,
    // inside ptep_get() and contpte_ptep_get() and the architectures' helpers included
    std::uint64_t ptep_get = 0, contpte_ptep_get = 0, ptep_get_raw = 0;
    // kernel function -> the running core's self cycles in it (mm/phase.hh)
    std::map<std::string, std::uint64_t> phases;

    void batch(const char* helper, unsigned nr) { ++batches[helper][nr]; }
    // What happened since `before` was taken (a copy of these statistics at an earlier moment).
    MmStats since(const MmStats& before) const;
    void flush(const char* kind, std::uint64_t pages)
    {
        FlushCount& f = flushes[kind];
        ++f.calls;
        f.pages += pages;
    }
};

inline MmStats MmStats::since(const MmStats& b) const
{
    MmStats d;
    const auto by_order = [](const std::map<unsigned, std::uint64_t>& now, const std::map<unsigned, std::uint64_t>& was,
                             std::map<unsigned, std::uint64_t>& out) {
        for (const auto& [order, n] : now) {
            const auto it = was.find(order);
            const std::uint64_t w = it == was.end() ? 0 : it->second;
            if (n > w)
                out[order] = n - w;
        }
    };
    by_order(anon_fault_alloc, b.anon_fault_alloc, d.anon_fault_alloc);
    by_order(anon_fault_fallback, b.anon_fault_fallback, d.anon_fault_fallback);
    by_order(shmem_fault_alloc, b.shmem_fault_alloc, d.shmem_fault_alloc);
    d.thp_fault_alloc = thp_fault_alloc - b.thp_fault_alloc;
    d.thp_fault_fallback = thp_fault_fallback - b.thp_fault_fallback;
    d.zero_page_faults = zero_page_faults - b.zero_page_faults;
    d.huge_zero_page_faults = huge_zero_page_faults - b.huge_zero_page_faults;
    for (const auto& [helper, hist] : batches)
        for (const auto& [nr, calls] : hist) {
            std::uint64_t was = 0;
            if (auto h = b.batches.find(helper); h != b.batches.end())
                if (auto n = h->second.find(nr); n != h->second.end())
                    was = n->second;
            if (calls > was)
                d.batches[helper][nr] = calls - was;
        }
    for (const auto& [kind, f] : flushes) {
        FlushCount was;
        if (auto it = b.flushes.find(kind); it != b.flushes.end())
            was = it->second;
        if (f.calls > was.calls)
            d.flushes[kind] = {f.calls - was.calls, f.pages - was.pages};
    }
    for (const auto& [name, cycles] : phases) {
        const auto it = b.phases.find(name);
        const std::uint64_t was = it == b.phases.end() ? 0 : it->second;
        if (cycles > was)
            d.phases[name] = cycles - was;
    }
    d.contpte_folds = contpte_folds - b.contpte_folds;
    d.contpte_unfolds = contpte_unfolds - b.contpte_unfolds;
    d.contpte_converts = contpte_converts - b.contpte_converts;
    d.faults = faults - b.faults;
    d.folios_allocated = folios_allocated - b.folios_allocated;
    d.folios_freed = folios_freed - b.folios_freed;
    d.pages_copied = pages_copied - b.pages_copied;
    d.pages_reused = pages_reused - b.pages_reused;
    d.pgtables_allocated = pgtables_allocated - b.pgtables_allocated;
    d.pgtables_freed = pgtables_freed - b.pgtables_freed;
    d.pins = pins - b.pins;
    d.unpins = unpins - b.unpins;
    d.pgscan = pgscan - b.pgscan;
    d.pgsteal = pgsteal - b.pgsteal;
    d.ptep_get = ptep_get - b.ptep_get;
    d.contpte_ptep_get = contpte_ptep_get - b.contpte_ptep_get;
    d.ptep_get_raw = ptep_get_raw - b.ptep_get_raw;
    return d;
}

} // namespace mmusim::mm
