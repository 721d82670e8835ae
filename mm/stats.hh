// SPDX-License-Identifier: GPL-2.0-only
// What the ported kernel did, for reports: how often each batched helper ran at each batch size, contpte
// folds/unfolds/converts, TLB flushes by kind with the pages they covered, and folio and page-table
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

    void batch(const char* helper, unsigned nr) { ++batches[helper][nr]; }
    void flush(const char* kind, std::uint64_t pages)
    {
        FlushCount& f = flushes[kind];
        ++f.calls;
        f.pages += pages;
    }
};

} // namespace mmusim::mm
