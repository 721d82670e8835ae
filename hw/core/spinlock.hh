// SPDX-License-Identifier: GPL-2.0-only
// A ticket spinlock in one simulated 32-bit word, as arm64's arch_spinlock_t before qspinlock (owner in the
// low half, next ticket in the high half) and as arm64/x86 queued spinlocks behave uncontended: one atomic
// fetch_add to take a ticket, a store to the owner half to release. For the page-table lock and the other
// kernel locks the mm port takes.
//
// A waiter spins in simulated time: it pauses (the platform's spin_pause), yields so the other cores run, and
// re-reads the word through its cache; the holder's release invalidates that copy, so the next re-read pays
// the transfer. Lock operations synchronise with simulated time first, so acquisitions and releases of
// different cores happen in their time order, not within one core's quantum.
#pragma once

#include "hw/core/core.hh"

namespace mmusim::hw {

class SpinLock {
public:
    explicit SpinLock(PAddr pa) : pa_(pa) {} // pa: 4-byte aligned, initially zero (unlocked)

    void lock(Core& c, Category cat = Category::Lock);   // spin_lock()
    bool try_lock(Core& c, Category cat = Category::Lock); // spin_trylock()
    void unlock(Core& c, Category cat = Category::Lock); // spin_unlock()
    PAddr addr() const { return pa_; }

    std::uint64_t acquisitions() const { return acquisitions_; }
    std::uint64_t contended() const { return contended_; } // acquisitions that had to wait
    std::uint64_t spins() const { return spins_; }         // re-reads while waiting

private:
    PAddr pa_;
    std::uint64_t acquisitions_ = 0, contended_ = 0, spins_ = 0;
};

} // namespace mmusim::hw
