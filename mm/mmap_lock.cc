// SPDX-License-Identifier: GPL-2.0-only
#include "mm/mmap_lock.hh"

namespace mmusim::mm {

using hw::Category;

namespace {

// kernel/locking/rwsem.c count bits
constexpr std::uint64_t RWSEM_WRITER_LOCKED = 1ul << 0;
constexpr std::uint64_t RWSEM_READER_BIAS = 1ul << 8;

PAddr count_addr(const mm_struct& mm) { return mm.addr + MM_OFF_MMAP_LOCK; }

} // namespace

// kernel/locking/rwsem.c down_read() -> __down_read_trylock()/rwsem_read_trylock(): a writer present sends the
// reader to the slow path (here: take the bias back and spin until the writer is gone)
void mmap_read_lock(Ctx& c, mm_struct& mm)
{
    const PAddr count = count_addr(mm);
    c.cpu.sync_now(); // lock operations in their time order across cores
    for (;;) {
        const std::uint64_t old = c.cpu.fetch_add(count, RWSEM_READER_BIAS, 8, Category::Lock);
        if (!(old & RWSEM_WRITER_LOCKED))
            return;
        c.cpu.fetch_sub(count, RWSEM_READER_BIAS, 8, Category::Lock);
        do {
            c.cpu.spin_pause(Category::Lock);
        } while (c.cpu.load(count, 8, Category::Lock) & RWSEM_WRITER_LOCKED);
    }
}

// kernel/locking/rwsem.c up_read()
void mmap_read_unlock(Ctx& c, mm_struct& mm)
{
    c.cpu.sync_now();
    c.cpu.fetch_sub(count_addr(mm), RWSEM_READER_BIAS, 8, Category::Lock);
}

// kernel/locking/rwsem.c down_write() -> rwsem_write_trylock(): cmpxchg 0 -> RWSEM_WRITER_LOCKED
void mmap_write_lock(Ctx& c, mm_struct& mm)
{
    const PAddr count = count_addr(mm);
    c.cpu.sync_now();
    while (c.cpu.cmpxchg(count, 0, RWSEM_WRITER_LOCKED, 8, Category::Lock) != 0) {
        do {
            c.cpu.spin_pause(Category::Lock);
        } while (c.cpu.load(count, 8, Category::Lock) != 0);
    }
}

// kernel/locking/rwsem.c up_write()
void mmap_write_unlock(Ctx& c, mm_struct& mm)
{
    c.cpu.sync_now();
    c.cpu.fetch_sub(count_addr(mm), RWSEM_WRITER_LOCKED, 8, Category::Lock);
}

} // namespace mmusim::mm
