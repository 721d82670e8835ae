// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swapops.hh"

#include "mm/kernel.hh"
#include "mm/pgtable.hh"

namespace mmusim::mm {

// mm/internal.h pte_move_swp_offset()
pte_t pte_move_swp_offset(Ctx& c, pte_t pte, long delta)
{
    const Arch& a = c.k.arch();
    const swp_entry_t entry = a.pte_to_swp_entry(pte);
    pte_t n = a.swp_entry_to_pte(swp_entry(swp_type(entry), swp_offset(entry) + static_cast<pgoff_t>(delta)));
    if (a.pte_swp_soft_dirty(pte))
        n = a.pte_swp_mksoft_dirty(n);
    if (a.pte_swp_exclusive(pte))
        n = a.pte_swp_mkexclusive(n);
    return n; // (pte_swp_uffd_wp(): no userfaultfd in the port)
}

// mm/internal.h swap_pte_batch() (no memcg: the lookup_swap_cgroup_id() comparison always matches)
unsigned swap_pte_batch(Ctx& c, PtePtr start_ptep, unsigned max_nr, pte_t pte)
{
    pte_t expected_pte = pte_next_swp_offset(c, pte);
    unsigned nr = 1;
    while (nr < max_nr) {
        pte = ptep_get(c, pte_offset(start_ptep, nr));
        if (pte != expected_pte)
            break;
        expected_pte = pte_next_swp_offset(c, expected_pte);
        ++nr;
    }
    c.k.stats().batch("swap_pte_batch", nr);
    return nr;
}

} // namespace mmusim::mm
