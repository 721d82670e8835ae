// SPDX-License-Identifier: GPL-2.0-only
// The swap device and its slot allocator (mm/swapfile.c, mm/swap.h, include/linux/swap.h), as the 2026 mm tree
// has them: swap slots come in clusters of SWAPFILE_CLUSTER (HPAGE_PMD_NR with CONFIG_THP_SWAP) slots; each
// CPU allocates from its own cluster per folio order (percpu_swap_cluster), a large folio gets a naturally
// aligned run of 2^order slots in a cluster of that order; clusters move between the free, nonfull, frag and
// full lists under si->lock, each under its own ci->lock. The swap count of a slot and the swap cache are the
// cluster's swap table (mm/swap_table.hh): there is no swap_map and no swap cache xarray in this tree.
//
// Simulated: struct swap_info_struct (flags, inuse_pages, its lock and cluster lists), the swap_cluster_info
// array (locks, counts, flags, orders, table pointers, list links), each cluster's table (a page from the page
// allocator), the extend tables of counts past SWP_TB_COUNT_MAX, the per-CPU percpu_swap_cluster and
// si->users counters, nr_swap_pages and swap_avail_lock: the allocator's work is the loads, stores, atomics
// and locks upstream's is.
//
// The device: one swap area of kernel.swap_size bytes, type 0, switched on at boot (sys_swapon() without the
// file: setup_swap_clusters_info() with the header slot bad), non-rotational and synchronous like zram
// (SWP_SOLIDSTATE | SWP_SYNCHRONOUS_IO | SWP_BLKDEV | SWP_WRITEOK; no discard). The data written to a slot is
// kept host-side (Swap::store) until the slot is freed; its I/O is mm/page_io.cc.
//
// Not modelled: more than one device (swap_avail_head with priorities, swap_alloc_slow() rotating devices),
// swapoff, hibernation slots, memcg swap accounting, zswap, discard, the workingset shadows (a swapped-out slot
// holds an empty shadow), the RCU grace period before a freed cluster table is reused (freed at once).
#pragma once

#include "mm/page.hh"
#include "mm/swapops.hh"
#include "mm/swap_slot_store.hh"

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace mmusim::mm {

class Kernel;
class PhysAllocator;

// include/linux/swap.h swap_info_struct flags
enum : std::uint64_t {
    SWP_USED = 1u << 0,
    SWP_WRITEOK = 1u << 1,
    SWP_DISCARDABLE = 1u << 2,
    SWP_DISCARDING = 1u << 3,
    SWP_SOLIDSTATE = 1u << 4,
    SWP_BLKDEV = 1u << 6,
    SWP_ACTIVATED = 1u << 7,
    SWP_FS_OPS = 1u << 8,
    SWP_AREA_DISCARD = 1u << 9,
    SWP_PAGE_DISCARD = 1u << 10,
    SWP_STABLE_WRITES = 1u << 11,
    SWP_SYNCHRONOUS_IO = 1u << 12,
};

// mm/swap.h struct swap_cluster_info in simulated memory (offsets from the cluster's address)
constexpr unsigned CI_OFF_LOCK = 0, CI_OFF_COUNT = 4 /* u16 */, CI_OFF_FLAGS = 6 /* u8 */, CI_OFF_ORDER = 7 /* u8 */,
                   CI_OFF_TABLE = 8, CI_OFF_EXTEND_TABLE = 16, CI_OFF_LIST = 24 /* list_head */,
                   SWAP_CLUSTER_INFO_BYTES = 40;

// mm/swap.h enum swap_cluster_flags
enum swap_cluster_flags : unsigned {
    CLUSTER_FLAG_NONE = 0, // for temporary off-list cluster
    CLUSTER_FLAG_FREE,
    CLUSTER_FLAG_NONFULL,
    CLUSTER_FLAG_FRAG,
    CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG, // clusters with flags above are allocatable
    CLUSTER_FLAG_FULL,
    CLUSTER_FLAG_DISCARD,
    CLUSTER_FLAG_MAX,
};

// include/linux/swap.h struct swap_info_struct: the host side of one swap device, and where its fields live
struct swap_info_struct {
    // Offsets from `addr` of the fields the ported paths touch
    static constexpr unsigned OFF_FLAGS = 0, OFF_INUSE_PAGES = 8, OFF_PAGES = 16, OFF_MAX = 20,
                              OFF_CLUSTER_INFO = 24, OFF_USERS = 32 /* percpu_ref: percpu_count_ptr */,
                              OFF_LOCK = 64, OFF_LISTS = 128 /* list_heads, see below */;

    PAddr addr = 0;         // simulated struct swap_info_struct
    unsigned type = 0;      // index in swap_info[]
    std::uint64_t flags = 0; // si->flags as swapon set them (what the simulated word holds)
    unsigned max = 0;       // slots including the header
    unsigned pages = 0;     // usable slots (max - 1)
    PAddr cluster_info = 0; // simulated array of nr_clusters struct swap_cluster_info
    unsigned nr_clusters = 0;
    unsigned nr_orders = 0; // SWAP_NR_ORDERS

    PAddr lock() const { return addr + OFF_LOCK; }
    PAddr inuse_pages() const { return addr + OFF_INUSE_PAGES; }
    // si->free_clusters, full_clusters, discard_clusters, nonfull_clusters[order], frag_clusters[order]
    PAddr free_clusters() const { return addr + OFF_LISTS; }
    PAddr full_clusters() const { return addr + OFF_LISTS + 16; }
    PAddr discard_clusters() const { return addr + OFF_LISTS + 32; }
    PAddr nonfull_clusters(unsigned order) const { return addr + OFF_LISTS + 48 + 16 * order; }
    PAddr frag_clusters(unsigned order) const { return addr + OFF_LISTS + 48 + 16 * (nr_orders + order); }
    std::uint64_t bytes() const { return OFF_LISTS + 48 + 32 * std::uint64_t{nr_orders}; }
};

// What mm/swapfile.c keeps in globals (swap_info[], nr_swap_pages, total_swap_pages, swap_avail_lock and the
// per-CPU percpu_swap_cluster), the device's backing store, and counters for reports. One per Kernel.
class Swap {
public:
    // sys_swapon() at boot: a swap area of `bytes` (rounded down to whole pages). Untimed, as boot is: its
    // structures are written straight into simulated memory.
    Swap(Kernel& k, PhysAllocator& phys, std::uint64_t bytes);

    swap_info_struct& si() { return si_; }
    const swap_info_struct& si() const { return si_; }
    // swap_type_to_info(): the device of a type, nullptr if there is none
    swap_info_struct* swap_type_to_info(unsigned type) { return type == si_.type ? &si_ : nullptr; }
    unsigned swapfile_cluster() const { return swapfile_cluster_; } // SWAPFILE_CLUSTER (HPAGE_PMD_NR)
    unsigned pmd_order() const { return pmd_order_; }               // PMD_ORDER (HPAGE_PMD_ORDER)

    // struct percpu_swap_cluster of `cpu`: si[order] at +0, offset[order] at +8 * nr_orders
    PAddr percpu_swap_cluster(unsigned cpu) const { return pcp_.at(cpu); }
    PAddr pcp_si(unsigned cpu, unsigned order) const { return pcp_.at(cpu) + 8 * order; }
    PAddr pcp_offset(unsigned cpu, unsigned order) const { return pcp_.at(cpu) + 8 * (si_.nr_orders + order); }
    // si->users' per-CPU count of `cpu` (percpu_ref in percpu mode)
    PAddr users_count(unsigned cpu) const { return pcp_.at(cpu) + 16 * si_.nr_orders; }
    PAddr nr_swap_pages() const { return globals_; }            // atomic_long_t nr_swap_pages
    PAddr total_swap_pages() const { return globals_ + 8; }     // long total_swap_pages
    PAddr swap_avail_lock() const { return globals_ + 64; }     // spinlock_t swap_avail_lock
    // swap_avail_head membership of the device (plist_node_empty(&si->avail_list) negated)
    bool on_avail_list = true;

    // The device's data: the bytes last written to each slot, dropped when the slot is freed.
    std::unique_ptr<SwapSlotStore> store;

    // count_vm_event()s of the swap paths (include/linux/vm_event_item.h)
    struct Events {
        std::uint64_t pswpin = 0, pswpout = 0;          // pages read from / written to the device
        std::uint64_t swpin_zero = 0, swpout_zero = 0;  // zero-filled pages kept as a table mark, no I/O
        std::uint64_t swap_ra = 0, swap_ra_hit = 0;     // (no readahead: a synchronous device skips it)
        std::uint64_t thp_swpout = 0;
        std::uint64_t pgmajfault = 0;                   // faults that read from the device
    } events;

private:
    swap_info_struct si_;
    unsigned swapfile_cluster_ = 0;
    unsigned pmd_order_ = 0;
    std::vector<PAddr> pcp_;
    PAddr globals_ = 0;
};

// ---- mm/swap.h helpers: a slot's cluster, the cluster lock ----
// swp_cluster_offset(): the slot's index in its cluster
unsigned swp_cluster_offset(const Ctx& c, swp_entry_t entry);
// __swap_entry_to_info(): the device of an entry the caller keeps valid
swap_info_struct& __swap_entry_to_info(Ctx& c, swp_entry_t entry);
// __swap_offset_to_cluster(): &si->cluster_info[offset / SWAPFILE_CLUSTER] (a simulated address)
PAddr __swap_offset_to_cluster(Ctx& c, const swap_info_struct& si, pgoff_t offset);
PAddr __swap_entry_to_cluster(Ctx& c, swp_entry_t entry);
// swap_cluster_lock() / swap_cluster_unlock(): spin_lock(&ci->lock)
PAddr swap_cluster_lock(Ctx& c, const swap_info_struct& si, pgoff_t offset);
void swap_cluster_unlock(Ctx& c, PAddr ci);
// swap_cluster_get_and_lock(): the cluster of a locked swap-cache folio's entries, locked
PAddr swap_cluster_get_and_lock(Ctx& c, Folio folio);

// ---- mm/swapfile.c ----
// folio_alloc_swap(): 2^order naturally aligned slots of one cluster for a locked, uptodate folio, which joins
// the swap cache (folio->swap, PG_swapcache, nr_pages references). The slots start with a swap count of 0,
// pinned by the swap cache. 0, -ENOMEM when no slots are left, -EINVAL for a folio larger than a cluster.
int folio_alloc_swap(Ctx& c, Folio folio);
// folio_dup_swap(): +1 on the swap count of `nr` slots of a locked swap-cache folio from `page` (the whole
// folio when page is nullopt), as its PTEs become swap PTEs. The batched form the batched anon unmap series
// makes of upstream's folio_dup_swap(folio, page). 0 or -errno (nothing changed then).
int folio_dup_swap(Ctx& c, Folio folio, std::optional<pfn_t> page, unsigned nr = 1);
// folio_put_swap(): -1 on the swap count of those slots (they stay pinned by the swap cache), batched likewise.
void folio_put_swap(Ctx& c, Folio folio, std::optional<pfn_t> page, unsigned nr = 1);
// swap_put_entries_direct(): -1 on the swap count of [entry, entry + nr), freeing slots that reach 0 and
// reclaiming their swap cache when it is unmapped or swap is full (the zap path; upstream's older
// free_swap_and_cache_nr() / swap_free_nr()).
void swap_put_entries_direct(Ctx& c, swp_entry_t entry, unsigned nr);
// swap_dup_entry_direct(): +1 on the swap count of one swapped-out slot (fork copying a swap PTE; upstream's
// older swap_duplicate()). 0, or -EINVAL / -ENOMEM.
int swap_dup_entry_direct(Ctx& c, swp_entry_t entry);
// folio_free_swap(): a locked swap-cache folio whose slots no swap PTE names leaves the swap cache (its slots
// are freed) and is marked dirty. Returns whether it did.
bool folio_free_swap(Ctx& c, Folio folio);
// get_swap_device() / put_swap_device(): si->users held across a swap operation (nullptr for a bad entry)
swap_info_struct* get_swap_device(Ctx& c, swp_entry_t entry);
void put_swap_device(Ctx& c, swap_info_struct& si);
// __swap_count(): the swap count of one slot (cluster locked or slot pinned)
int __swap_count(Ctx& c, swp_entry_t entry);
// swap_entry_swapped(): whether a slot has a swap count (under the cluster lock)
bool swap_entry_swapped(Ctx& c, swap_info_struct& si, swp_entry_t entry);
// swp_swapcount(): the exact swap count of a slot, extend table included
int swp_swapcount(Ctx& c, swp_entry_t entry);
// vm_swap_full(): more than half of swap in use
bool vm_swap_full(Ctx& c);
// __swap_cluster_free_entries(): frees slots whose count is 0 (or 1, the last reference being dropped), the
// cluster locked (mm/swap.h "for internal use": the swap cache calls it)
void __swap_cluster_free_entries(Ctx& c, swap_info_struct& si, PAddr ci, unsigned ci_start, unsigned nr_pages);

// ---- folio->swap (page[0].private) and PG_swapcache (include/linux/page-flags.h, include/linux/mm_types.h) ----
swp_entry_t folio_swap(Ctx& c, Folio folio);                  // READ folio->swap
void folio_set_swap(Ctx& c, Folio folio, swp_entry_t entry);  // folio->swap = entry
bool folio_test_swapcache(Ctx& c, Folio folio);               // swapbacked and PG_swapcache
// page_swap_entry(): the slot of one page of a swap-cache folio
swp_entry_t page_swap_entry(Ctx& c, Folio folio, pfn_t page);

// Number of slots in use on the device (si->inuse_pages without the off-list bit), for reports and tests.
long swap_usage_in_pages(Ctx& c, const swap_info_struct& si);

} // namespace mmusim::mm
