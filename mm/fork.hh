// SPDX-License-Identifier: GPL-2.0-only
// fork()'s address-space copy (kernel/fork.c copy_mm() / dup_mm() / dup_mmap(); dup_mmap() lives in
// mm/mmap.c in the newest trees): every VMA duplicated, sharing its anon_vma, and copy_page_range() for the
// ones with anonymous pages; the parent's TLB flushed at the end (flush_tlb_mm(oldmm)) since its COW PTEs
// were write-protected on the way.
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// kernel/fork.c dup_mmap(): 0, or -ENOMEM
int dup_mmap(Ctx& c, mm_struct& mm, mm_struct& oldmm);
// kernel/fork.c dup_mm(): a new mm (mm_alloc()) filled by dup_mmap()
mm_struct& dup_mm(Ctx& c, mm_struct& oldmm);
// kernel/fork.c copy_mm() as fork() calls it: the system call and copy_process()'s other work
// (software.syscall_entry, software.fork_base), then dup_mm()
mm_struct& copy_mm(Ctx& c, mm_struct& oldmm);

} // namespace mmusim::mm
