// SPDX-License-Identifier: GPL-2.0-only
// Swap entries (include/linux/swapops.h, include/linux/mm_types.h swp_entry_t) and the swap-PTE batching
// helpers of mm/internal.h (pte_move_swp_offset(), pte_next_swp_offset(), swap_pte_batch()).
//
// A swp_entry_t is the architecture-independent encoding: the swap type in the top bits of an XA value, the
// slot offset below. Each architecture turns it into a PTE of its own layout and back (Arch::swp_entry_to_pte(),
// Arch::pte_to_swp_entry(), the __swp_entry()/__swp_entry_to_pte() of its asm/pgtable.h); the bits a swap PTE
// carries beside the entry (the exclusive marker, soft-dirty) are the Arch::pte_swp_* helpers.
//
// Besides genuine swap entries, the swap types from MAX_SWAPFILES up name other non-present entries (the
// softleaf_t kinds of include/linux/leafops.h, mm/leafops.hh). The port makes one of them: device-exclusive
// entries (make_device_exclusive(), mm/rmap.hh). Migration, device-private, hwpoison and PTE-marker entries
// are decoded by type but never made.
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
// include/linux/swap.h: the special swap types above the swap files, with CONFIG_MEMORY_FAILURE,
// CONFIG_MIGRATION and CONFIG_DEVICE_PRIVATE on (as arm64 and x86 defconfigs have them)
constexpr unsigned SWP_PTE_MARKER_NUM = 1, SWP_DEVICE_NUM = 3, SWP_MIGRATION_NUM = 3, SWP_HWPOISON_NUM = 1;
constexpr unsigned MAX_SWAPFILES =
    (1u << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM - SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM;
constexpr unsigned SWP_HWPOISON = MAX_SWAPFILES;
constexpr unsigned SWP_MIGRATION_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM;
constexpr unsigned SWP_MIGRATION_READ_EXCLUSIVE = MAX_SWAPFILES + SWP_HWPOISON_NUM + 1;
constexpr unsigned SWP_MIGRATION_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + 2;
constexpr unsigned SWP_DEVICE_WRITE = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM;
constexpr unsigned SWP_DEVICE_READ = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM + 1;
constexpr unsigned SWP_DEVICE_EXCLUSIVE = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM + 2;
constexpr unsigned SWP_PTE_MARKER = MAX_SWAPFILES + SWP_HWPOISON_NUM + SWP_MIGRATION_NUM + SWP_DEVICE_NUM;
static_assert(SWP_PTE_MARKER == (1u << MAX_SWAPFILES_SHIFT) - 1, "the special types fill the type field");
// include/linux/swapops.h SWP_PFN_MASK: a PFN swap entry keeps the pfn in its offset (MAX_PHYSMEM_BITS -
// PAGE_SHIFT bits upstream; every simulated pfn fits the offset)
constexpr std::uint64_t SWP_PFN_MASK = SWP_OFFSET_MASK;
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
// include/linux/swapops.h make_device_exclusive_entry(): the entry of a page a device maps exclusively, its
// pfn in the offset
inline swp_entry_t make_device_exclusive_entry(pgoff_t offset) { return swp_entry(SWP_DEVICE_EXCLUSIVE, offset); }

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
