// SPDX-License-Identifier: GPL-2.0-only
// madvise() (mm/madvise.c): MADV_DONTNEED, which zaps the range's PTEs of every VMA it covers in one
// mmu_gather (madvise_dontneed_single_vma() -> zap_vma_range_batched()). The VMAs stay; a later access
// faults in zeroed memory. MADV_HUGEPAGE / MADV_NOHUGEPAGE set or clear VM_HUGEPAGE on the range's VMAs
// (hugepage_madvise()): with it, faults map PMD-sized THPs with a PMD (mm/huge_memory.hh).
// MADV_FREE marks the range's exclusive anon folios lazyfree (madvise_free_pte_range(): young and dirty
// cleared with batched clear_young_dirty_ptes(), folio_mark_lazyfree()); MADV_COLD deactivates them and
// MADV_PAGEOUT isolates them and reclaims them at once (madvise_cold_or_pageout_pte_range() ->
// reclaim_pages(), mm/vmscan.hh). A large folio only partly covered by the range is split upstream: the port
// has no split_folio() for PTE-mapped folios, so such a folio is skipped (as upstream does when the split
// fails). PMD-mapped THPs in the range are skipped likewise (madvise_free_huge_pmd() and the cold/pageout PMD
// branch are not ported).
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// include/uapi/asm-generic/mman-common.h
enum : int {
    MADV_NORMAL = 0,
    MADV_DONTNEED = 4,
    MADV_FREE = 8,
    MADV_HUGEPAGE = 14,
    MADV_NOHUGEPAGE = 15,
    MADV_COLD = 20,
    MADV_PAGEOUT = 21,
};

// mm/madvise.c do_madvise(), the system call: 0, -EINVAL (unaligned start, an advice not ported) or
// -ENOMEM (a hole in the range; the VMAs around it are still advised, as upstream)
int do_madvise(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, int behavior);

} // namespace mmusim::mm
