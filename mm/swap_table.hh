// SPDX-License-Identifier: GPL-2.0-only
// The swap table (mm/swap_table.h): one 8-byte atomic entry per swap slot, a flat array per cluster, in a page
// of simulated memory the cluster allocates when it leaves the free list. It is both the swap count store (the
// swap_map of older kernels) and the swap cache (the xarray of older kernels): an entry is
//
//   NULL:    |---------------- 0 ---------------|     free slot
//   Shadow:  |COUNT|Z|----- SHADOW_VAL -----|1|     swapped out (the shadow value may be all zero)
//   PFN:     |COUNT|Z|--------- PFN ------|10|      cached: the folio holding the slot's data
//   Bad:     |------------- 1 -------------|1000|   never allocated (the header slot, the tail of the device)
//
// COUNT (the swap count: how many swap PTEs, or other references, name the slot) is 4 bits here, the Z bit
// marks a slot written as a zero-filled page (SWAP_TABLE_HAS_ZEROFLAG: 64-bit with fewer than 59 pfn bits).
// A count reaching SWP_TB_COUNT_MAX continues in the cluster's extend_table.
//
// Every accessor is the timed access upstream makes; the cluster (its lock, table pointer) is
// struct swap_cluster_info in simulated memory (mm/swapfile.hh).
#pragma once

#include "mm/types.hh"

namespace mmusim::mm {

struct Ctx;

// mm/swap_table.h entry encoding (64-bit, MAX_PHYSMEM_BITS - PAGE_SHIFT <= 52 pfn bits on every platform of
// the port, so SWP_TB_FLAGS_BITS = 5)
constexpr std::uint64_t SWP_TB_NULL = 0;
constexpr std::uint64_t SWP_TB_SHADOW_MARK = 0b1;
constexpr unsigned SWAP_CACHE_PFN_MARK_BITS = 2;
constexpr std::uint64_t SWP_TB_PFN_MARK = 0b10;
constexpr std::uint64_t SWP_TB_PFN_MARK_MASK = (std::uint64_t{1} << SWAP_CACHE_PFN_MARK_BITS) - 1;
constexpr unsigned SWP_TB_FLAGS_BITS = 5;
constexpr unsigned SWAP_TABLE_HAS_ZEROFLAG = 1;
constexpr unsigned SWP_TB_COUNT_BITS = SWP_TB_FLAGS_BITS - SWAP_TABLE_HAS_ZEROFLAG;
constexpr std::uint64_t SWP_TB_FLAGS_MASK = ~(~std::uint64_t{0} >> SWP_TB_FLAGS_BITS);
constexpr std::uint64_t SWP_TB_COUNT_MASK = ~(~std::uint64_t{0} >> SWP_TB_COUNT_BITS);
constexpr unsigned SWP_TB_FLAGS_SHIFT = 64 - SWP_TB_FLAGS_BITS;
constexpr unsigned SWP_TB_COUNT_SHIFT = 64 - SWP_TB_COUNT_BITS;
constexpr int SWP_TB_COUNT_MAX = (1 << SWP_TB_COUNT_BITS) - 1;
constexpr std::uint64_t SWP_TB_ZERO_FLAG = std::uint64_t{1} << (64 - SWP_TB_FLAGS_BITS);
constexpr std::uint64_t SWP_TB_BAD = ~std::uint64_t{0} << 3;

// ---- entries from values (mm/swap_table.h) ----
inline std::uint64_t null_to_swp_tb() { return SWP_TB_NULL; }
inline std::uint64_t __count_to_swp_tb(unsigned count) { return std::uint64_t{count} << SWP_TB_COUNT_SHIFT; }
inline std::uint64_t __flags_to_swp_tb(unsigned flags) { return std::uint64_t{flags} << SWP_TB_FLAGS_SHIFT; }
inline std::uint64_t pfn_to_swp_tb(pfn_t pfn, unsigned flags)
{
    return (pfn << SWAP_CACHE_PFN_MARK_BITS) | SWP_TB_PFN_MARK | __flags_to_swp_tb(flags);
}
// shadow_to_swp_tb(): a workingset shadow (an XA value; the port keeps none, so 0) marked as a shadow
inline std::uint64_t shadow_to_swp_tb(std::uint64_t shadow, unsigned flags)
{
    return shadow | SWP_TB_SHADOW_MARK | __flags_to_swp_tb(flags);
}

// ---- entry kinds ----
inline bool swp_tb_is_null(std::uint64_t tb) { return tb == SWP_TB_NULL; }
inline bool swp_tb_is_folio(std::uint64_t tb) { return (tb & SWP_TB_PFN_MARK_MASK) == SWP_TB_PFN_MARK; }
inline bool swp_tb_is_shadow(std::uint64_t tb) { return tb & 1; } // xa_is_value()
inline bool swp_tb_is_bad(std::uint64_t tb) { return tb == SWP_TB_BAD; }
inline bool swp_tb_is_countable(std::uint64_t tb)
{
    return swp_tb_is_shadow(tb) || swp_tb_is_folio(tb) || swp_tb_is_null(tb);
}

// ---- values from entries ----
inline pfn_t swp_tb_to_pfn(std::uint64_t tb) { return (tb & ~SWP_TB_FLAGS_MASK) >> SWAP_CACHE_PFN_MARK_BITS; }
inline unsigned __swp_tb_get_count(std::uint64_t tb)
{
    return static_cast<unsigned>((tb & SWP_TB_COUNT_MASK) >> SWP_TB_COUNT_SHIFT);
}
inline unsigned __swp_tb_get_flags(std::uint64_t tb)
{
    return static_cast<unsigned>((tb & SWP_TB_FLAGS_MASK) >> SWP_TB_FLAGS_SHIFT);
}
// swp_tb_get_count(): the count, -EINVAL for a bad slot
inline int swp_tb_get_count(std::uint64_t tb)
{
    return swp_tb_is_countable(tb) ? static_cast<int>(__swp_tb_get_count(tb)) : -22;
}
inline std::uint64_t __swp_tb_mk_count(std::uint64_t tb, int count)
{
    return (tb & ~SWP_TB_COUNT_MASK) | __count_to_swp_tb(static_cast<unsigned>(count));
}

// ---- timed accesses to a cluster's table (`ci`: the simulated struct swap_cluster_info) ----
// __swap_table_set(): atomic_long_set() under the cluster lock
void __swap_table_set(Ctx& c, PAddr ci, unsigned off, std::uint64_t swp_tb);
// __swap_table_xchg(): atomic_long_xchg_relaxed() under the cluster lock
std::uint64_t __swap_table_xchg(Ctx& c, PAddr ci, unsigned off, std::uint64_t swp_tb);
// __swap_table_get(): ci->table, then the entry
std::uint64_t __swap_table_get(Ctx& c, PAddr ci, unsigned off);
// swap_table_get(): the same under RCU, NULL when the cluster has no table
std::uint64_t swap_table_get(Ctx& c, PAddr ci, unsigned off);
// __swap_table_set_zero() / __swap_table_test_zero() / __swap_table_clear_zero(): the Z bit
void __swap_table_set_zero(Ctx& c, PAddr ci, unsigned off);
bool __swap_table_test_zero(Ctx& c, PAddr ci, unsigned off);
void __swap_table_clear_zero(Ctx& c, PAddr ci, unsigned off);

} // namespace mmusim::mm
