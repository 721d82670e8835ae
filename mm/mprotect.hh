// SPDX-License-Identifier: GPL-2.0-only
// mprotect() (mm/mprotect.c): the VMA's flags and vm_page_prot change (split at the edges, merged again with
// neighbours that now match), then change_protection() rewrites the present PTEs in batches
// (mprotect_folio_pte_batch(), modify_prot_start_ptes() / pte_modify() / modify_prot_commit_ptes()),
// making private anon-exclusive pages writable at once where the write fault would (commit_anon_folio_batch()
// sub-batching by PageAnonExclusive), with the TLB flush gathered in an mmu_gather.
#pragma once

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

namespace mmusim::mm {

// mm/internal.h MM_CP_* (the ones the port uses)
enum : unsigned long { MM_CP_TRY_CHANGE_WRITABLE = 1ul << 0 };

// mm/mprotect.c can_change_pte_writable()
bool can_change_pte_writable(Ctx& c, vm_area_struct& vma, Addr addr, pte_t pte);
// mm/mprotect.c change_protection(): PTEs of [start, end) to vma->vm_page_prot; returns the pages changed
long change_protection(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end, unsigned long cp_flags);
// mm/mprotect.c mprotect_fixup(): [start, end) of vma gets newflags
int mprotect_fixup(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end, vm_flags_t newflags);
// mm/mprotect.c do_mprotect_pkey() (pkey -1), the system call: 0, -EINVAL, -ENOMEM or -EACCES
int do_mprotect_pkey(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, unsigned prot);

} // namespace mmusim::mm
