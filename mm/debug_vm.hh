// SPDX-License-Identifier: GPL-2.0-only
// Checked mode's kernel-side assertions (include/linux/mmdebug.h VM_BUG_ON(), VM_BUG_ON_FOLIO(),
// VM_WARN_ON_FOLIO(); mm/debug.c dump_page()) and the folio-against-page-table check at operation
// boundaries. All of it runs only when the platform is checked (simulation.check, --check), reads simulated
// memory untimed (the PhysInspector) and charges no simulated cycle: a checker, not the modelled kernel.
// A violation throws CheckError, which the CLI reports with exit status 1 (as hw::TlbCheckError).
#pragma once

#include "mm/page.hh"
#include "mm/types.hh"

#include <stdexcept>
#include <string>

namespace mmusim::mm {

class Kernel;
struct Ctx;
struct mm_struct;

// A broken kernel invariant found in checked mode: the run stops (exit status 1) with this message.
struct CheckError : std::runtime_error {
    explicit CheckError(const std::string& what) : std::runtime_error(what) {}
};

// Untimed reads of struct page (checkers only): a word at `off` of page's struct page; the head pfn of its
// folio (page_folio()); PageAnon() of its folio.
std::uint64_t page_word(Kernel& k, pfn_t page, unsigned off);
pfn_t folio_head_untimed(Kernel& k, pfn_t page);
bool folio_anon_untimed(Kernel& k, pfn_t page);
// folio_mapcount(): _mapcount + 1 of a small folio, _large_mapcount + 1 of a large one
long folio_mapcount_untimed(Kernel& k, Folio folio);

// mm/debug.c dump_page(): the folio of `page` as struct page holds it (flags, refcount, mapcounts, mapping,
// index), read untimed.
std::string dump_folio(Kernel& k, pfn_t page);
// The `nr` leaf entries around `addr` in mm (untimed), one per line.
std::string dump_ptes(Kernel& k, const mm_struct& mm, Addr addr, unsigned before = 2, unsigned after = 17);

// include/linux/mmdebug.h VM_BUG_ON_FOLIO(): in checked mode, `cond` true throws CheckError naming the
// condition, the operation in progress and the folio (and the PTEs around addr in mm when given).
[[noreturn]] void vm_bug_folio(Kernel& k, const char* cond, const char* op, Folio folio, const mm_struct* mm = nullptr,
                               Addr addr = 0);
bool vm_checked(const Kernel& k);

// Checked mode: where the kernel relies on a completed TLB flush, no TLB entry may translate to
// [pa, pa + bytes) and no walk cache entry point into it (a frame going back to the allocator: a stale
// translation would reach memory the kernel reuses); with `writable_only`, no TLB entry may translate to it
// with write permission (a folio's contents going to swap: try_to_unmap_flush_dirty() flushes only when a
// writable PTE was cleared, since a read-only stale entry cannot change what is written). `what` names the
// moment. Throws hw::TlbCheckError.
void check_unreachable(Ctx& c, PAddr pa, std::uint64_t bytes, const char* what, bool writable_only = false);
#define MMUSIM_VM_BUG_ON_FOLIO(c, cond, op, folio, ...)                                                            \
    do {                                                                                                           \
        if (::mmusim::mm::vm_checked((c).k) && (cond))                                                             \
            ::mmusim::mm::vm_bug_folio((c).k, #cond, op, folio, ##__VA_ARGS__);                                    \
    } while (0)

// The folio state against the page tables of every live mm, at an operation boundary (`when` names it):
//  - each folio's mapcounts (small: _mapcount; large: _large_mapcount, _entire_mapcount, the per-mm
//    _mm_id_mapcount) equal the PTE and PMD leaves mapping it (a device-exclusive entry counts as a PTE
//    mapping its page, and in MM_ANONPAGES, as upstream's mapcount and rss do); refcount >= mapcount (+ pins);
//  - PG_anon_exclusive pages are mapped from one mm only;
//  - MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES and MM_SWAPENTS equal what each mm's tables hold;
//  - the swap device: each slot's swap count (its swap table entry, extend table included) equals the swap
//    PTEs naming it, no swap PTE names a free or bad slot, a swapped-out slot not in the swap cache has a
//    count, a cached slot names a swap-cache folio holding it (and a mapped swap-cache folio's slots name it),
//    si->inuse_pages counts the slots in use;
//  - arm64: every PTE with the contiguous bit is in an aligned block of CONT_PTES entries that all have it,
//    map contiguous, aligned output and carry the same attributes.
//  - the LRU lists are well formed and agree with the folios' flags and the list sizes (check_lru_lists(),
//    mm/swap.hh).
// A no-op unless the platform is checked. Throws CheckError naming the first violations.
void check_mm_state(Kernel& k, const std::string& when);

} // namespace mmusim::mm
