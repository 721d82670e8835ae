// SPDX-License-Identifier: GPL-2.0-only
#include "hw/core/spinlock.hh"

namespace mmusim::hw {

namespace {
constexpr std::uint32_t kTicket = 1u << 16; // the next-ticket half
std::uint16_t owner(std::uint64_t v) { return static_cast<std::uint16_t>(v); }
std::uint16_t next(std::uint64_t v) { return static_cast<std::uint16_t>(v >> 16); }
} // namespace

// arch/arm64/include/asm/spinlock.h (v4.x): arch_spin_lock
void SpinLock::lock(Core& c, Category cat)
{
    c.sync_now();
    const std::uint64_t old = c.fetch_add(pa_, kTicket, 4, cat);
    ++acquisitions_;
    const std::uint16_t mine = next(old);
    if (owner(old) == mine)
        return;
    ++contended_;
    do {
        c.spin_pause(cat);
        ++spins_;
    } while (owner(c.load(pa_, 4, cat)) != mine); // ldaxrh + wfe: through the cache, so the release's
                                                   // invalidation makes the next re-read a transfer
}

// arch_spin_trylock: take a ticket only if the lock is free, with one cmpxchg.
bool SpinLock::try_lock(Core& c, Category cat)
{
    c.sync_now();
    const std::uint64_t v = c.load(pa_, 4, cat);
    if (owner(v) != next(v))
        return false;
    const std::uint64_t want = (v + kTicket) & 0xffffffffu;
    if (c.cmpxchg(pa_, v, want, 4, cat) != v)
        return false;
    ++acquisitions_;
    return true;
}

// arch_spin_unlock: owner + 1 with a store-release of the owner half.
void SpinLock::unlock(Core& c, Category cat)
{
    c.sync_now();
    const std::uint64_t v = c.load(pa_, 2, cat);
    c.store(pa_, (v + 1) & 0xffffu, 2, cat);
}

} // namespace mmusim::hw
