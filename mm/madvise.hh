// SPDX-License-Identifier: GPL-2.0-only
// madvise() (mm/madvise.c): MADV_DONTNEED, which zaps the range's PTEs of every VMA it covers in one
// mmu_gather (madvise_dontneed_single_vma() -> zap_vma_range_batched()). The VMAs stay; a later access
// faults in zeroed memory. MADV_HUGEPAGE / MADV_NOHUGEPAGE set or clear VM_HUGEPAGE on the range's VMAs
// (hugepage_madvise()): with it, faults map PMD-sized THPs with a PMD (mm/huge_memory.hh).
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

// include/uapi/asm-generic/mman-common.h
enum : int { MADV_NORMAL = 0, MADV_DONTNEED = 4, MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15 };

// mm/madvise.c do_madvise(), the system call: 0, -EINVAL (unaligned start, an advice not ported) or
// -ENOMEM (a hole in the range; the VMAs around it are still advised, as upstream)
int do_madvise(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, int behavior);

} // namespace mmusim::mm
