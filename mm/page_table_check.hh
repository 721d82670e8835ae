// SPDX-License-Identifier: GPL-2.0-only
// CONFIG_PAGE_TABLE_CHECK (mm/page_table_check.c, include/linux/page_table_check.h) in checked mode: per
// physical frame, host-side counts of the anon and file mappings user page tables hold, updated as leaf
// entries are set and cleared (the hooks are in mm/pgtable.hh and the PMD-leaf call sites of
// mm/huge_memory.cc) and checked when a frame is freed. Its rules: a frame is never mapped both as anon and
// as file; an anon frame is mapped writable only once (a writable mapping of an anon page shared after fork is
// a bug); counts never go negative and are zero at free. The port adds one rule: a page with
// PG_anon_exclusive is mapped from one mm only; and it counts a device-exclusive entry (never writable) as an
// anon mapping of its page, as the folio's mapcount does (upstream counts present entries only). Since zap
// puts the folio before it clears such an entry, a frame freed with only device-exclusive entries left is
// tolerated until those are cleared; mapping it again first is a violation.
//
// Host-side and untimed (PhysInspector reads): the kernel's page_ext counters cost time upstream, but this
// is a checker, not the modelled kernel. Kernel::page_table_check() is null outside checked mode, so the
// unchecked path pays one null test per page-table helper.
#pragma once

#include "mm/types.hh"

#include <string>
#include <unordered_map>
#include <unordered_set>

namespace mmusim::mm {

class Kernel;
struct mm_struct;

class PageTableCheck {
public:
    explicit PageTableCheck(Kernel& k) : k_(k) {}

    // include/linux/page_table_check.h page_table_check_ptes_set(): the `nr` entries at ptep become pte,
    // pte+1, ... (what was there is cleared first, as __page_table_check_ptes_set() does)
    void ptes_set(const mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr);
    // page_table_check_pte_clear() of the `nr` entries at ptep, as they are now (called before the clear)
    void ptes_clear(const mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr);
    // page_table_check_pmd_set() / page_table_check_pmd_clear(): a PMD leaf (the entry at pmdp as it is now
    // for the clear)
    void pmd_set(const mm_struct& mm, Addr addr, PtePtr pmdp, pte_t pmd);
    void pmd_clear(const mm_struct& mm, Addr addr, PtePtr pmdp);
    // __page_table_check_zero(): the frames [pfn, pfn + nr) go back to the allocator: no mapping may remain
    void zero(pfn_t pfn, std::uint64_t nr);

    // Frames with a non-zero count (tests)
    std::size_t tracked() const { return counts_.size(); }

private:
    struct Counts {
        long anon = 0;
        long file = 0;
        long devx = 0; // how many of the anon mappings are device-exclusive entries
    };
    void set(const mm_struct& mm, Addr addr, pfn_t pfn, unsigned long pgcnt, bool rw, bool devx = false);
    void clear(const mm_struct& mm, Addr addr, pfn_t pfn, unsigned long pgcnt, bool devx = false);
    void leaf_clear(const mm_struct& mm, Addr addr, pte_t pte, unsigned long pgcnt);
    bool counted(pte_t pte, pfn_t& pfn, bool& rw, bool& devx) const;
    [[noreturn]] void fail(const mm_struct& mm, Addr addr, pfn_t pfn, const std::string& rule) const;

    Kernel& k_;
    std::unordered_map<pfn_t, Counts> counts_;
    // per anon frame mapped: the mms mapping it and how often (the anon-exclusive rule)
    std::unordered_map<pfn_t, std::unordered_map<const mm_struct*, long>> anon_mms_;
    // frames freed while device-exclusive entries still named them (zap's order): those entries' clears
    // are still to come
    std::unordered_set<pfn_t> freed_under_devx_;
};

} // namespace mmusim::mm
