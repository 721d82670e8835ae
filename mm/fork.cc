// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/fork.hh"
#include "util/ftrace.hh"

#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/rmap.hh"

#include <cerrno>

namespace mmusim::mm {

// kernel/fork.c dup_mmap(): the maple tree copied (__mt_dup(), one store per VMA here), each VMA
// duplicated (vm_area_dup(), anon_vma_fork(): chained to the parent's anon_vmas plus one of its own), VM_DONTCOPY ones dropped,
// copy_page_range() unless VM_WIPEONFORK; then flush_tlb_mm(oldmm) before the parent's mmap_lock goes.
int dup_mmap(Ctx& c, mm_struct& mm, mm_struct& oldmm)
{
    const PhaseScope phase(c, "dup_mmap");
    const MmapWriteGuard old_lock(c, oldmm); // mmap_write_lock_killable(oldmm)
    const MmapWriteGuard new_lock(c, mm);    // mmap_write_lock_nested(mm)
    int retval = 0;
    std::vector<vm_area_struct*> old_vmas;
    for (auto& [start, vma] : oldmm.vmas)
        old_vmas.push_back(&vma);
    for (vm_area_struct* mpnt : old_vmas) {
        if (mpnt->vm_flags & VM_DONTCOPY)
            continue;
        vm_area_struct proto = *mpnt;
        proto.vm_mm = &mm;
        proto.vm_flags &= ~VM_LOCKED; // VM_LOCKED | VM_LOCKONFAULT are not inherited
        vm_area_struct& tmp = vma_insert_copy(c, mm, proto);
        if (anon_vma_fork(c, tmp, *mpnt)) {
            retval = -ENOMEM;
            break;
        }
        retval = copy_page_range(c, tmp, *mpnt);
        if (retval)
            break;
    }
    c.k.arch().flush_tlb_mm(c, oldmm);
    return retval ? -ENOMEM : 0;
}

// kernel/fork.c dup_mm()
mm_struct& dup_mm(Ctx& c, mm_struct& oldmm)
{
    mm_struct& mm = c.k.mm_alloc(c);
    if (dup_mmap(c, mm, oldmm))
        throw OutOfMemory("dup_mm: out of memory copying the page tables");
    return mm;
}

// kernel/fork.c copy_mm()
mm_struct& copy_mm(Ctx& c, mm_struct& oldmm)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "fork mm asid={}", oldmm.asid);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    c.k.charge_sw(c, c.k.config().software.fork_base);
    return dup_mm(c, oldmm);
}

} // namespace mmusim::mm
