// SPDX-License-Identifier: GPL-2.0-only
// Anonymous private mappings (mm/mmap.c, mm/vma.c): mmap with VMA merging, munmap with VMA splitting, the
// page-table teardown of unmap_region() and exit_mmap(). The VMA tree is mm_struct::vmas (host side; each
// maple-tree walk is charged software.vma_lookup, each store software.vma_modify); every vm_area_struct has
// a simulated kmalloc'ed object.
//
// The system calls (vm_mmap_pgoff(), __vm_munmap()) and exit_mmap() take mm->mmap_lock for writing
// (mm/mmap_lock.hh); do_mmap() and do_munmap() expect it held. MAP_SHARED | MAP_ANONYMOUS gets a shmem object
// (mm/shmem.hh) in vm_area_struct::vm_file, one reference per VMA (taken by vma_insert_copy(), dropped by
// remove_vma()); such VMAs merge only with VMAs of the same object at contiguous offsets.
#pragma once

#include "mm/kernel.hh"

#include <vector>

namespace mmusim::mm {

// include/uapi/asm-generic/mman-common.h
enum : unsigned { PROT_NONE = 0x0, PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4 };
enum : unsigned { MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20 };

constexpr unsigned VMA_BYTES = 192; // sizeof(struct vm_area_struct), rounded to lines
// Where bottom-up searches for free address space start (TASK_UNMAPPED_BASE-like; upstream searches
// top-down from mmap_base).
constexpr Addr MMAP_SEARCH_BASE = Addr{1} << 30;

// include/linux/mman.h calc_vm_prot_bits()
vm_flags_t calc_vm_prot_bits(unsigned prot);

// mm/mmap.c do_mmap() for MAP_PRIVATE | MAP_ANONYMOUS or MAP_SHARED | MAP_ANONYMOUS (MAP_FIXED honoured, an
// existing mapping there replaced).
// folio_order: the mTHP order the VMA faults in; -1 takes the kernel's folio_size. Throws
// std::invalid_argument for what is not ported or not valid.
Addr do_mmap(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t len, unsigned prot, unsigned flags, int folio_order = -1);
// mm/mmap.c get_unmapped_area() for anonymous memory: unmapped_area() bottom-up from MMAP_SEARCH_BASE,
// PMD-aligned for lengths of a PMD or more (thp_get_unmapped_area()), to min_align when larger
// (shmem_get_unmapped_area()); throws std::invalid_argument when no range is free
Addr get_unmapped_area(Ctx& c, mm_struct& mm, std::uint64_t len, std::uint64_t min_align = 0);
// mm/util.c vm_mmap_pgoff(): the system call (software.syscall_entry) around do_mmap()
Addr vm_mmap_pgoff(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t len, unsigned prot, unsigned flags,
                   int folio_order = -1);
// mm/vma.c do_vmi_munmap(): unmaps [start, start+len), splitting VMAs at the edges. 0 or -EINVAL.
int do_munmap(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len);
// mm/mmap.c __vm_munmap(): the system call around do_munmap()
int __vm_munmap(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len);
// mm/mmap.c exit_mmap(): every mapping gone (tlb_gather_mmu_fullmm()), page tables freed; the mm's ASID is
// retired (never reused, so its TLB entries can go stale harmlessly).
void exit_mmap(Ctx& c, mm_struct& mm);

// ---- VMA tree operations (mm/vma.c) shared with mprotect and fork ----
// mm/vma.c __split_vma(): vma becomes [vm_start, addr) or [addr, vm_end) and a new VMA the other part;
// returns the new one
vm_area_struct& __split_vma(Ctx& c, mm_struct& mm, vm_area_struct& vma, Addr addr, bool new_below);
// mm/vma.c vma_modify() without the merge: vma trimmed to exactly [start, end) by splitting; returns it
vm_area_struct& vma_split_to(Ctx& c, mm_struct& mm, vm_area_struct& vma, Addr start, Addr end);
// mm/vma.c vma_merge_existing_range() as far as the port needs it: vma merged with its neighbours when
// their flags, mTHP order and anon_vma allow; returns the VMA that now covers vma's range
vm_area_struct& vma_merge_neighbours(Ctx& c, mm_struct& mm, vm_area_struct& vma);
// mm/vma.c vma_merge_extend(): vma grows by delta at its end (the caller checked the space is free), merged
// with the next VMA when it becomes adjacent and compatible; returns the VMA that now covers the range
vm_area_struct& vma_merge_extend(Ctx& c, mm_struct& mm, vm_area_struct& vma, std::uint64_t delta);
// A vm_area_struct copy with its own simulated object (vm_area_dup()), inserted into mm (vma_iter_store())
vm_area_struct& vma_insert_copy(Ctx& c, mm_struct& mm, const vm_area_struct& proto);
// mm/vma.c remove_vma(): the object freed and the VMA out of the tree
void remove_vma(Ctx& c, mm_struct& mm, vm_area_struct& vma);
// The VMAs overlapping [start, end), in address order (for_each_vma_range())
std::vector<vm_area_struct*> vmas_in_range(mm_struct& mm, Addr start, Addr end);

} // namespace mmusim::mm
