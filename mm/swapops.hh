// SPDX-License-Identifier: GPL-2.0-only
// Swap entries (include/linux/swapops.h, include/linux/mm_types.h swp_entry_t) and the swap-PTE batching
// helpers of mm/internal.h (pte_move_swp_offset(), pte_next_swp_offset(), swap_pte_batch()).
//
// A swp_entry_t is the architecture-independent encoding: the swap type in the top bits of an XA value, the
// slot offset below. Each architecture turns it into a PTE of its own layout and back (Arch::swp_entry_to_pte(),
// Arch::pte_to_swp_entry(), the __swp_entry()/__swp_entry_to_pte() of its asm/pgtable.h); the bits a swap PTE
// carries beside the entry (the exclusive marker, soft-dirty) are the Arch::pte_swp_* helpers.
//
// The port has one kind of non-present PTE: a genuine swap entry. Migration, device-private, hwpoison and
// PTE-marker entries (the softleaf_t kinds of include/linux/leafops.h) are not ported.
#pragma once

#include "mm/types.hh"

namespace mmusim::mm {

struct Ctx;

// include/linux/mm_types.h swp_entry_t
struct swp_entry_t {
    std::uint64_t val = 0;
    bool operator==(const swp_entry_t& o) const { return val == o.val; }
    bool operator!=(const swp_entry_t& o) const { return val != o.val; }
};

using pgoff_t = std::uint64_t;

// include/linux/swap.h MAX_SWAPFILES_SHIFT; include/linux/xarray.h BITS_PER_XA_VALUE (64-bit)
constexpr unsigned MAX_SWAPFILES_SHIFT = 5;
constexpr unsigned BITS_PER_XA_VALUE = 63;
// include/linux/swapops.h: the type in the top MAX_SWAPFILES_SHIFT bits of an XA value, the offset below
constexpr unsigned SWP_TYPE_SHIFT = BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT;
constexpr std::uint64_t SWP_OFFSET_MASK = (std::uint64_t{1} << SWP_TYPE_SHIFT) - 1;
// include/linux/swap.h SWAP_ENTRY_INVALID: offset 0 is the swap header, never a slot
constexpr pgoff_t SWAP_ENTRY_INVALID = 0;

// include/linux/swapops.h swp_entry()
inline swp_entry_t swp_entry(unsigned type, pgoff_t offset)
{
    return swp_entry_t{(std::uint64_t{type} << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)};
}
// include/linux/swapops.h swp_type()
inline unsigned swp_type(swp_entry_t entry) { return static_cast<unsigned>(entry.val >> SWP_TYPE_SHIFT); }
// include/linux/swapops.h swp_offset()
inline pgoff_t swp_offset(swp_entry_t entry) { return entry.val & SWP_OFFSET_MASK; }

// mm/internal.h pte_move_swp_offset(): the swap PTE `delta` slots on, with the same type and swap-PTE bits
// (exclusive, soft-dirty).
pte_t pte_move_swp_offset(Ctx& c, pte_t pte, long delta);
// mm/internal.h pte_next_swp_offset()
inline pte_t pte_next_swp_offset(Ctx& c, pte_t pte) { return pte_move_swp_offset(c, pte, 1); }
// mm/internal.h swap_pte_batch(): how many consecutive PTEs from start_ptep (whose value is `pte`, a swap PTE)
// hold swap entries of consecutive offsets with the same swap-PTE bits, up to max_nr (which the caller bounds
// by one page table). Reads each further PTE through ptep_get() (timed); records "swap_pte_batch".
unsigned swap_pte_batch(Ctx& c, PtePtr start_ptep, unsigned max_nr, pte_t pte);

} // namespace mmusim::mm
