// SPDX-License-Identifier: GPL-2.0-only
// The kernel's basic mm types as the port uses them (include/linux/mm_types.h, include/linux/pgtable.h,
// include/linux/mm.h). A pointer into a page table (`pte_t *ptep` upstream) is the simulated physical address
// of the descriptor: `ptep + i` upstream is `ptep + i * sizeof(pte_t)` here (pte_offset()).
#pragma once

#include "hw/common/types.hh"

#include <cstdint>

namespace mmusim::mm {

struct pte_t {
    std::uint64_t val = 0;
    bool operator==(const pte_t& o) const { return val == o.val; }
    bool operator!=(const pte_t& o) const { return val != o.val; }
};
inline std::uint64_t pte_val(pte_t p) { return p.val; }
inline pte_t __pte(std::uint64_t v) { return pte_t{v}; }

struct pgprot_t {
    std::uint64_t val = 0;
};

using pfn_t = std::uint64_t; // a page frame number, in base pages of the platform's granule
using PtePtr = PAddr;        // simulated address of a pte_t (upstream pte_t *)
constexpr unsigned kPteBytes = 8;
inline PtePtr pte_offset(PtePtr ptep, long i) { return ptep + static_cast<PAddr>(i * static_cast<long>(kPteBytes)); }

// include/linux/mm.h VM_* flags (the ones the ported paths test).
using vm_flags_t = std::uint64_t;
enum : vm_flags_t {
    VM_NONE = 0,
    VM_READ = 0x1,
    VM_WRITE = 0x2,
    VM_EXEC = 0x4,
    VM_SHARED = 0x8,
    VM_MAYREAD = 0x10,
    VM_MAYWRITE = 0x20,
    VM_MAYEXEC = 0x40,
    VM_MAYSHARE = 0x80,
    VM_GROWSDOWN = 0x100,
    VM_PFNMAP = 0x400,
    VM_LOCKED = 0x2000,
    VM_DONTCOPY = 0x20000,
    VM_ACCOUNT = 0x100000,
    VM_NOHUGEPAGE = 0x40000000,
    VM_HUGEPAGE = 0x20000000,
    VM_SOFTDIRTY = 0x8000000,
    VM_DROPPABLE = vm_flags_t{1} << 40, // 64-bit VM_DROPPABLE_BIT (MAP_DROPPABLE: lazyfree folios discarded even if dirty)
};
// include/linux/mm.h is_cow_mapping(): private and may be written.
inline bool is_cow_mapping(vm_flags_t f) { return (f & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE; }

// include/linux/mm_types_task.h
enum MmCounter : unsigned { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES, NR_MM_COUNTERS };

// include/linux/pgtable.h clear_young_dirty_ptes() flags
using cydp_t = unsigned;
enum : cydp_t { CYDP_CLEAR_YOUNG = 1, CYDP_CLEAR_DIRTY = 2 };

} // namespace mmusim::mm
