// SPDX-License-Identifier: GPL-2.0-only
#include "hw/tlb/tlb.hh"

#include <algorithm>
#include <stdexcept>

namespace mmusim::hw {

Tlb::Tlb(TlbGeometry g) : geom_(std::move(g))
{
    if (geom_.entries == 0 || geom_.ways == 0 || geom_.entries % geom_.ways != 0)
        throw std::invalid_argument(geom_.name + ": entries must be a positive multiple of ways");
    const unsigned sets = geom_.entries / geom_.ways;
    if (!is_pow2(sets))
        throw std::invalid_argument(geom_.name + ": entries/ways must be a power of two");
    if (geom_.size_shifts.empty())
        throw std::invalid_argument(geom_.name + ": must hold at least one page size");
    std::sort(geom_.size_shifts.begin(), geom_.size_shifts.end());
    geom_.size_shifts.erase(std::unique(geom_.size_shifts.begin(), geom_.size_shifts.end()), geom_.size_shifts.end());
    ways_ = geom_.ways;
    set_mask_ = sets - 1;
    entries_.resize(geom_.entries);
}

const TlbEntry* Tlb::lookup_slow(Addr va, Asid asid)
{
    for (unsigned shift : geom_.size_shifts) {
        TlbEntry* set = set_base(va, shift);
        for (unsigned w = 0; w < ways_; ++w) {
            TlbEntry& e = set[w];
            if (e.size_shift == shift && e.matches(va, asid)) {
                e.lru = ++clock_;
                ++stats_.hits;
                last_ = &e;
                return &e;
            }
        }
    }
    ++stats_.misses;
    return nullptr;
}

const TlbEntry* Tlb::probe(Addr va, Asid asid) const
{
    for (unsigned shift : geom_.size_shifts) {
        const TlbEntry* set = &entries_[((va >> shift) & set_mask_) * ways_];
        for (unsigned w = 0; w < ways_; ++w)
            if (set[w].size_shift == shift && set[w].matches(va, asid))
                return &set[w];
    }
    return nullptr;
}

bool Tlb::holds(unsigned shift) const
{
    return std::find(geom_.size_shifts.begin(), geom_.size_shifts.end(), shift) != geom_.size_shifts.end();
}

bool Tlb::fill(const TlbEntry& in, Addr va)
{
    TlbEntry e = in;
    e.trans_shift = std::max(in.trans_shift, in.size_shift);
    if (!holds(e.size_shift)) {
        // Largest held size not larger than the translation.
        unsigned fit = 0;
        for (unsigned s : geom_.size_shifts)
            if (s <= in.size_shift)
                fit = s;
        if (fit == 0)
            return false;
        const Addr offset = (va & ((Addr{1} << in.size_shift) - 1)) & ~((Addr{1} << fit) - 1);
        e.pa = in.pa + offset;
        e.size_shift = static_cast<std::uint8_t>(fit);
        e.desc_pa = in.desc_pa;
        ++stats_.splintered;
    }
    e.vpn = va >> e.size_shift;
    e.valid = true;
    e.lru = ++clock_;

    TlbEntry* set = set_base(va, e.size_shift);
    TlbEntry* victim = nullptr;
    bool same = false;
    for (unsigned w = 0; w < ways_; ++w) {
        TlbEntry& c = set[w];
        // Same translation already present (e.g. a refill after a permission upgrade): replace it.
        if (c.valid && c.size_shift == e.size_shift && c.vpn == e.vpn && c.global == e.global &&
            (e.global || c.asid == e.asid)) {
            victim = &c;
            same = true;
            break;
        }
        if (!c.valid) {
            if (!victim || victim->valid)
                victim = &c;
        } else if (!victim || (victim->valid && c.lru < victim->lru)) {
            victim = &c;
        }
    }
    if (victim->valid && !same)
        ++stats_.evictions;
    *victim = e;
    ++stats_.fills;
    last_ = victim;
    return true;
}

std::size_t Tlb::invalidate(const InvalidationScope& scope)
{
    std::size_t n = 0;
    for (TlbEntry& e : entries_) {
        if (scope.matches(e)) {
            e.valid = false;
            ++n;
        }
    }
    stats_.invalidated += n;
    last_ = nullptr;
    return n;
}

std::size_t Tlb::valid_entries() const
{
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const TlbEntry& e) { return e.valid; }));
}

} // namespace mmusim::hw
