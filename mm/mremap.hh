// SPDX-License-Identifier: GPL-2.0-only
// mremap() of private anonymous memory (mm/mremap.c): a shrink unmaps the tail; a growth extends the VMA in
// place when the space after it is free; a move (MREMAP_MAYMOVE, and MREMAP_FIXED to a given address) copies
// the VMA to the new range (copy_vma()), moves the PTEs (move_page_tables() -> move_ptes(), batched over the
// PTEs of one large folio: mremap_folio_pte_batch(), get_and_clear_ptes(), set_ptes()), flushes the old
// range's TLB entries before the PTE locks go, and unmaps the old range. The folios stay where they are,
// with the same refcounts, mapcounts and pins; only their PTEs move.
//
// Not ported: PMD- and PUD-level moves (move_normal_pmd(), move_normal_pud(), move_huge_pmd(): upstream moves
// whole PTE tables when source and destination are mutually PMD-aligned and an extent covers a PMD; the port
// moves the PTEs one batch at a time there too) and try_realign_addr() that serves them; MREMAP_DONTUNMAP;
// merging the moved VMA with a neighbour at the destination (copy_vma() always makes a new VMA); memory
// accounting (VM_ACCOUNT, may_expand_vm(), the map count); mlock'ed VMAs; userfaultfd; the recovery after a
// failed page-table move (allocations here do not fail, they throw).
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// include/uapi/linux/mman.h
enum : unsigned { MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4 };

// mm/internal.h struct pagetable_move_control: what move_page_tables() moves
struct pagetable_move_control {
    vm_area_struct* old = nullptr; // source VMA
    vm_area_struct* new_vma = nullptr; // destination VMA (upstream `new`)
    Addr old_addr = 0, old_end = 0, new_addr = 0;
    std::uint64_t len_in = 0;      // bytes asked for
    bool need_rmap_locks = false;
};

// mm/mremap.c move_page_tables(): the PTEs of [old_addr, old_end) moved to new_addr; returns the bytes moved
std::uint64_t move_page_tables(Ctx& c, pagetable_move_control& pmc);

// mm/mremap.c SYSCALL_DEFINE5(mremap) -> do_mremap(): the system call (software.syscall_entry,
// mm->mmap_lock for writing). Returns the mapping's address afterwards, or -errno (-EINVAL, -EFAULT,
// -ENOMEM).
long do_mremap(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t old_len, std::uint64_t new_len, unsigned flags,
               Addr new_addr = 0);

} // namespace mmusim::mm
