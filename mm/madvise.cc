// SPDX-License-Identifier: GPL-2.0-only
#include "mm/madvise.hh"
#include "util/ftrace.hh"

#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/mmu_gather.hh"

#include <algorithm>
#include <cerrno>
#include <vector>

namespace mmusim::mm {

namespace {

// mm/madvise.c madvise_dontneed_single_vma(): zap_vma_range_batched() into the caller's mmu_gather (the
// details' reclaim_pt, CONFIG_PT_RECLAIM's freeing of emptied PTE tables, is not ported)
void madvise_dontneed_single_vma(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end)
{
    zap_vma_range_batched(c, tlb, vma, start, end - start);
}

// mm/madvise.c madvise_vma_behavior() for MADV_HUGEPAGE / MADV_NOHUGEPAGE under mmap_lock for writing:
// hugepage_madvise() (mm/khugepaged.c; no khugepaged to register with) computes the flags and
// madvise_update_vma() gives [start, end) a VMA of its own with them (vma_modify_flags()), merged with its
// neighbours where they now agree.
int madvise_hugepage(Ctx& c, mm_struct& mm, Addr start, Addr end, int behavior)
{
    const MmapWriteGuard lock(c, mm);
    int unmapped_error = 0;
    Addr addr = start;
    while (addr < end) {
        c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_prev() / vma_next()
        const std::vector<vm_area_struct*> vmas = vmas_in_range(mm, addr, end);
        if (vmas.empty()) {
            unmapped_error = -ENOMEM;
            break;
        }
        vm_area_struct& vma = *vmas.front();
        if (vma.vm_start > addr)
            unmapped_error = -ENOMEM; // a hole
        const Addr s = std::max(addr, vma.vm_start), e = std::min(end, vma.vm_end);
        vm_flags_t newflags = vma.vm_flags;
        if (behavior == MADV_HUGEPAGE) {
            newflags &= ~VM_NOHUGEPAGE;
            newflags |= VM_HUGEPAGE;
        } else {
            newflags &= ~VM_HUGEPAGE;
            newflags |= VM_NOHUGEPAGE;
        }
        if (newflags != vma.vm_flags) {
            vm_area_struct& v = vma_split_to(c, mm, vma, s, e);
            v.vm_flags = newflags;
            c.cpu.store(v.addr + 32, v.vm_flags, 8, hw::Category::KernelMemory); // vm_flags_reset()
            vma_merge_neighbours(c, mm, v);
        }
        addr = e;
    }
    return unmapped_error;
}

} // namespace

// mm/madvise.c do_madvise() -> madvise_do_behavior() -> madvise_walk_vmas(); MADV_DONTNEED batches the TLB
// flush over the whole range (madvise_batch_tlb_flush())
int do_madvise(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, int behavior)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "madvise asid={} start={:#x} len={:#x} behavior={}", mm.asid, start, len, behavior);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    if (start % c.k.page_size())
        return -EINVAL;
    if (behavior == MADV_NORMAL)
        return 0;
    if (behavior != MADV_DONTNEED && behavior != MADV_HUGEPAGE && behavior != MADV_NOHUGEPAGE)
        return -EINVAL;
    len = (len + c.k.page_size() - 1) & ~(c.k.page_size() - 1);
    if (!len)
        return 0;
    const Addr end = start + len;
    if (behavior != MADV_DONTNEED)
        return madvise_hugepage(c, mm, start, end, behavior);

    const MmapReadGuard lock(c, mm); // madvise_lock(): MADV_DONTNEED needs it for reading only
    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, mm);
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_prev()
    int unmapped_error = 0;
    Addr covered = start;
    for (vm_area_struct* vma : vmas_in_range(mm, start, end)) {
        if (vma->vm_start > covered)
            unmapped_error = -ENOMEM; // Here start < vma->vm_start: a hole
        const Addr s = std::max(start, vma->vm_start), e = std::min(end, vma->vm_end);
        madvise_dontneed_single_vma(c, tlb, *vma, s, e);
        covered = e;
    }
    if (covered < end)
        unmapped_error = -ENOMEM;
    tlb_finish_mmu(c, tlb);
    return unmapped_error;
}

} // namespace mmusim::mm
