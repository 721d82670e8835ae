// SPDX-License-Identifier: GPL-2.0-only
// mm/internal.h, the parts the ported paths share: PTE batch detection over a large folio
// (folio_pte_batch_flags() with the FPB_* flags), the anon-exclusive sub-batching mprotect uses, and the
// kernel's barrier macros for the running architecture. The port's switches act here: kernel.pte_batch off
// makes every batch one entry, kernel.max_pte_batch caps every batch.
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// mm/internal.h fpb_t
using fpb_t = unsigned;
enum : fpb_t {
    FPB_RESPECT_DIRTY = 1u << 0,      // compare PTEs respecting the dirty bit
    FPB_RESPECT_SOFT_DIRTY = 1u << 1, // ... the soft-dirty bit
    FPB_RESPECT_WRITE = 1u << 2,      // ... the writable bit
    FPB_MERGE_WRITE = 1u << 3,        // any writable PTE in the batch makes *ptentp writable
    FPB_MERGE_YOUNG_DIRTY = 1u << 4,  // any young/dirty PTE makes *ptentp young/dirty
};

// mm/internal.h __pte_batch_clear_ignored(): the bits a batch may differ in, normalised away
pte_t __pte_batch_clear_ignored(const Arch& a, pte_t pte, fpb_t flags);

// mm/internal.h folio_pte_batch_flags(): how many consecutive PTEs from ptep map consecutive pages of `folio`
// with the same bits (up to max_nr, which the caller bounds by the VMA and the page table). *ptentp is a copy
// of the first PTE, updated per the FPB_MERGE_* flags. Reads each PTE through ptep_get() (timed); records
// the batch size as "folio_pte_batch".
unsigned folio_pte_batch_flags(Ctx& c, Folio folio, vm_area_struct* vma, PtePtr ptep, pte_t* ptentp,
                               unsigned max_nr, fpb_t flags);
// mm/util.c folio_pte_batch(): the version without flags
unsigned folio_pte_batch(Ctx& c, Folio folio, PtePtr ptep, pte_t pte, unsigned max_nr);

// The port's switches on a batch the kernel would make of `nr` entries (no upstream counterpart): 1 when
// kernel.pte_batch is off, at most kernel.max_pte_batch when that is set. For the batches that do not come
// from folio_pte_batch() (a new folio's set_ptes() in the fault path).
unsigned pte_batch_cap(const Ctx& c, unsigned nr);

// mm/internal.h page_anon_exclusive_sub_batch() (moved there from mm/mprotect.c by the batched anon unmap
// series): from `start` in [0, max_len), how many consecutive pages of the batch share the anon-exclusive
// state `expected`.
unsigned page_anon_exclusive_sub_batch(Ctx& c, unsigned start, unsigned max_len, pfn_t first_page, bool expected);

// include/asm-generic/barrier.h smp_mb() for the platform's architecture (arm64 dmb ish, x86 a full barrier,
// RISC-V fence rw,rw).
void smp_mb(Ctx& c);
// smp_mb__after_atomic(): arm64's relaxed atomics need smp_mb(); x86's locked instructions are full barriers.
void smp_mb__after_atomic(Ctx& c);
// smp_rmb(): arm64 dmb ishld (modelled as the platform's dmb ish, as smp_wmb()); a compiler barrier on x86
// (loads are ordered); RISC-V fence r,r as a full fence.
void smp_rmb(Ctx& c);
// smp_wmb(): arm64 dmb ishst (modelled as the platform's dmb ish: the hardware model has no store-only DMB);
// nothing on x86 (stores are ordered); RISC-V fence w,w as a full fence.
void smp_wmb(Ctx& c);

} // namespace mmusim::mm
