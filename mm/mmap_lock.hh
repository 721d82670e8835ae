// SPDX-License-Identifier: GPL-2.0-only
// mm->mmap_lock (include/linux/mmap_lock.h) as the rw_semaphore fast paths of kernel/locking/rwsem.c: a reader
// adds RWSEM_READER_BIAS to the count, a writer swaps 0 for RWSEM_WRITER_LOCKED, each an atomic on the mm's
// simulated count. A contended taker spins in simulated time (Category::Lock) instead of sleeping, so the
// other cores' work goes on. Page faults take it for reading (upstream first tries the per-VMA lock, which
// is the same kind of read-side atomic); mmap, munmap, mprotect and fork take it for writing, MADV_DONTNEED
// for reading. It keeps one core's VMA changes from pulling a VMA from under another core's fault.
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

void mmap_read_lock(Ctx& c, mm_struct& mm);   // down_read()
void mmap_read_unlock(Ctx& c, mm_struct& mm); // up_read()
void mmap_write_lock(Ctx& c, mm_struct& mm);  // down_write()
void mmap_write_unlock(Ctx& c, mm_struct& mm); // up_write()

// RAII holders for the ported system calls and the fault path.
class MmapReadGuard {
public:
    MmapReadGuard(Ctx& c, mm_struct& mm) : c_(c), mm_(mm) { mmap_read_lock(c_, mm_); }
    ~MmapReadGuard() { mmap_read_unlock(c_, mm_); }
    MmapReadGuard(const MmapReadGuard&) = delete;
    MmapReadGuard& operator=(const MmapReadGuard&) = delete;

private:
    Ctx& c_;
    mm_struct& mm_;
};

class MmapWriteGuard {
public:
    MmapWriteGuard(Ctx& c, mm_struct& mm) : c_(c), mm_(mm) { mmap_write_lock(c_, mm_); }
    ~MmapWriteGuard() { mmap_write_unlock(c_, mm_); }
    MmapWriteGuard(const MmapWriteGuard&) = delete;
    MmapWriteGuard& operator=(const MmapWriteGuard&) = delete;

private:
    Ctx& c_;
    mm_struct& mm_;
};

} // namespace mmusim::mm
