// SPDX-License-Identifier: GPL-2.0-only
// Pinning user pages (mm/gup.c): pin_user_pages_fast() walks the page tables without locks (GUP-fast: each
// PTE read, its folio grabbed with FOLL_PIN, the PTE read again), and what GUP-fast could not pin goes to
// the slow path under mmap_lock (__get_user_pages(): follow_page_pte() batched over the PTEs of one large
// folio, handle_mm_fault() for what is missing, write-protected or must be unshared). A pin is the refcount
// plus _pincount for a large folio, GUP_PIN_COUNTING_BIAS on the refcount for a small one; the mm gets
// MMF_HAS_PINNED, so that fork() copies pinned anonymous pages at once (copy_present_page()) instead of
// sharing them. unpin_user_pages() drops the pins folio by folio; the last reference frees the folio.
//
// The pages[] array is host-side (the callers' array stores are not timed). get_user_pages_remote() (FOLL_GET)
// serves make_device_exclusive(). Not ported: the other FOLL_GET users (get_user_pages*()), FOLL_LONGTERM
// (its migration of unpinnable folios: every folio here is pinnable), PMD/PUD-mapped THPs
// (gup_fast_pmd_leaf(), follow_huge_pmd()), file folios, the zone-device and P2PDMA checks, pte_protnone()
// (no NUMA hinting), local_irq_save() around GUP-fast (the simulated cores take no interrupts inside kernel
// code), arm64's flush_dcache_page() test of PG_dcache_clean in gup_fill_pages().
#pragma once

#include "mm/kernel.hh"

#include <vector>

namespace mmusim::mm {

// include/linux/mm_types.h FOLL_* (gup_flags) and, from mm/internal.h, the internal ones
enum : unsigned {
    FOLL_WRITE = 1u << 0,
    FOLL_GET = 1u << 1,
    FOLL_DUMP = 1u << 2,
    FOLL_FORCE = 1u << 3,
    FOLL_NOWAIT = 1u << 4,
    FOLL_NOFAULT = 1u << 5,
    FOLL_HWPOISON = 1u << 6,
    FOLL_ANON = 1u << 7,
    FOLL_LONGTERM = 1u << 8,
    FOLL_SPLIT_PMD = 1u << 9,
    FOLL_PCI_P2PDMA = 1u << 10,
    FOLL_INTERRUPTIBLE = 1u << 11,
    FOLL_HONOR_NUMA_FAULT = 1u << 12,
    // mm/internal.h (__NR_FOLL = 13)
    FOLL_TOUCH = 1u << 13,
    FOLL_TRIED = 1u << 14,
    FOLL_REMOTE = 1u << 15,
    FOLL_PIN = 1u << 16,
    FOLL_FAST_ONLY = 1u << 17,
    FOLL_UNLOCKABLE = 1u << 18,
    FOLL_MADV_POPULATE = 1u << 19,
};

// include/linux/mm.h
constexpr int GUP_PIN_COUNTING_BIAS = 1 << 10;

// mm/gup.c pin_user_pages_fast(): pins nr_pages pages of `mm` from `start` (upstream current->mm), appending
// them to `pages`. gup_flags may hold FOLL_WRITE (and FOLL_FORCE, FOLL_NOFAULT, FOLL_FAST_ONLY). Returns the
// pages pinned (possibly fewer), or -errno when none could be (-EFAULT: no VMA or one that forbids the
// access, -ENOMEM, -EINVAL). Takes mm->mmap_lock for reading only on the slow path.
long pin_user_pages_fast(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                         std::vector<pfn_t>& pages);
// mm/gup.c get_user_pages_remote(): FOLL_GET references (FOLL_TOUCH) on nr_pages pages of `mm` from `start`,
// faulting in what is missing, for a caller that holds mm->mmap_lock for reading. Returns the pages got (each
// a folio reference the caller drops with folio_put()), or -errno. gup_flags may hold FOLL_WRITE, FOLL_FORCE,
// FOLL_SPLIT_PMD (a PMD-mapped THP is refused by name: follow_huge_pmd() is not ported).
long get_user_pages_remote(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                           std::vector<pfn_t>& pages);
// mm/gup.c unpin_user_pages(): releases pages pinned by pin_user_pages*(), one gup_put_folio() per run of
// pages of the same folio
void unpin_user_pages(Ctx& c, const std::vector<pfn_t>& pages);
// mm/gup.c unpin_user_page()
void unpin_user_page(Ctx& c, pfn_t page);
// mm/gup.c try_grab_folio(): refs FOLL_PIN (or FOLL_GET) references on a folio the caller holds stable
// (under the PTL). 0, or -ENOMEM for a folio with no references.
int try_grab_folio(Ctx& c, Folio folio, int refs, unsigned flags);
// mm/gup.c gup_put_folio(): drops what try_grab_folio() took; the last reference frees the folio
void gup_put_folio(Ctx& c, Folio folio, int refs, unsigned flags);
// include/linux/mm.h folio_has_pincount(): large folios count pins in _pincount (64-bit)
bool folio_has_pincount(Ctx& c, Folio folio);

} // namespace mmusim::mm
