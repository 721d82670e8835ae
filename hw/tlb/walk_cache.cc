// SPDX-License-Identifier: GPL-2.0-only
#include "hw/tlb/walk_cache.hh"

#include <algorithm>
#include <stdexcept>

namespace mmusim::hw {

WalkCache::WalkCache(WalkCacheGeometry g, std::vector<unsigned> span_shifts)
    : geom_(g), span_shifts_(std::move(span_shifts))
{
    if (geom_.entries == 0)
        return;
    if (geom_.ways == 0 || geom_.entries % geom_.ways != 0 || !is_pow2(geom_.entries / geom_.ways))
        throw std::invalid_argument("walk cache: entries/ways must be a power of two");
    entries_.resize(geom_.entries);
    set_mask_ = geom_.entries / geom_.ways - 1;
}

WalkCache::Entry* WalkCache::set_for(Addr tag, int depth)
{
    // Mix the depth in so that the entries of one walk spread over sets.
    const std::uint64_t set = (tag ^ (static_cast<std::uint64_t>(depth) * 0x9e3779b97f4a7c15ULL >> 58)) & set_mask_;
    return &entries_[set * geom_.ways];
}

bool WalkCache::lookup(Addr va, Asid asid, WalkCacheHit& hit)
{
    if (entries_.empty())
        return false;
    ++stats_.lookups;
    // The last level's descriptors are leaves (they live in the TLB), so start one above it.
    for (int d = static_cast<int>(span_shifts_.size()) - 2; d >= 0; --d) {
        const Addr tag = va >> span_shifts_[static_cast<size_t>(d)];
        Entry* set = set_for(tag, d);
        for (unsigned w = 0; w < geom_.ways; ++w) {
            Entry& e = set[w];
            if (e.valid && e.depth == d && e.tag == tag && e.asid == asid) {
                e.lru = ++clock_;
                ++stats_.hits;
                hit.next_depth = d + 1;
                hit.table_pa = e.next_table;
                return true;
            }
        }
    }
    return false;
}

void WalkCache::fill(Addr va, Asid asid, int depth, PAddr next_table)
{
    if (entries_.empty())
        return;
    const Addr tag = va >> span_shifts_[static_cast<size_t>(depth)];
    Entry* set = set_for(tag, depth);
    Entry* victim = &set[0];
    for (unsigned w = 0; w < geom_.ways; ++w) {
        Entry& e = set[w];
        if (e.valid && e.depth == depth && e.tag == tag && e.asid == asid) {
            victim = &e;
            break;
        }
        if (!e.valid) {
            if (victim->valid)
                victim = &e;
        } else if (victim->valid && e.lru < victim->lru) {
            victim = &e;
        }
    }
    *victim = Entry{tag, next_table, ++clock_, asid, static_cast<std::uint8_t>(depth), true};
    ++stats_.fills;
}

std::size_t WalkCache::invalidate(const InvalidationScope& scope)
{
    std::size_t n = 0;
    for (Entry& e : entries_) {
        if (!e.valid)
            continue;
        const unsigned shift = span_shifts_[e.depth];
        if (scope.matches_walk(e.asid, e.tag << shift, Addr{1} << shift)) {
            e.valid = false;
            ++n;
        }
    }
    stats_.invalidated += n;
    return n;
}

std::size_t WalkCache::valid_entries() const
{
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.valid; }));
}

} // namespace mmusim::hw
