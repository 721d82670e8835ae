// SPDX-License-Identifier: GPL-2.0-only
// Walk cache (arm64 "intermediate table walk cache", x86 paging-structure caches): caches non-leaf
// descriptors so a walk can start below the root. One set-associative LRU structure holds every depth; an
// entry for depth d maps the VA span of one depth-d descriptor to the physical address of the next table.
#pragma once

#include "hw/common/types.hh"
#include "hw/invalidation/invalidation_scope.hh"

#include <vector>

namespace mmusim::hw {

struct WalkCacheGeometry {
    unsigned entries = 0; // 0: no walk cache
    unsigned ways = 1;
    Cycles hit_latency = 1;
};

struct WalkCacheStats {
    std::uint64_t lookups = 0;
    std::uint64_t hits = 0;
    std::uint64_t fills = 0;
    std::uint64_t invalidated = 0;
};

// One valid entry, as an inspector (the TLB oracle) sees it.
struct WalkCacheView {
    int depth = 0;        // the non-leaf depth whose descriptor is cached
    Addr va_base = 0;     // start of the VA span that descriptor covers
    unsigned span_shift = 0;
    Asid asid = 0;
    PAddr next_table = 0;
};

struct WalkCacheHit {
    int next_depth = 0;  // the walk resumes by reading a descriptor at this depth
    PAddr table_pa = 0;  // from this table
};

class WalkCache {
public:
    // span_shifts[d] = LevelInfo::shift of depth d (VA span of one descriptor there).
    WalkCache(WalkCacheGeometry g, std::vector<unsigned> span_shifts);

    bool enabled() const { return !entries_.empty(); }
    // Deepest cached non-leaf descriptor for va. Counts one lookup.
    bool lookup(Addr va, Asid asid, WalkCacheHit& hit);
    // Records that the descriptor at `depth` for va points to table `next_table`.
    void fill(Addr va, Asid asid, int depth, PAddr next_table);
    std::size_t invalidate(const InvalidationScope& scope);
    std::size_t valid_entries() const;
    template <typename F> void for_each(F&& f) const
    {
        for (const Entry& e : entries_)
            if (e.valid) {
                const unsigned s = span_shifts_[e.depth];
                f(WalkCacheView{e.depth, e.tag << s, s, e.asid, e.next_table});
            }
    }
    const WalkCacheStats& stats() const { return stats_; }
    const WalkCacheGeometry& geometry() const { return geom_; }

private:
    struct Entry {
        Addr tag = 0; // va >> span_shift(depth)
        PAddr next_table = 0;
        std::uint64_t lru = 0;
        Asid asid = 0;
        std::uint8_t depth = 0;
        bool valid = false;
    };
    Entry* set_for(Addr tag, int depth);

    WalkCacheGeometry geom_;
    std::vector<unsigned> span_shifts_;
    std::vector<Entry> entries_;
    std::uint64_t set_mask_ = 0;
    std::uint64_t clock_ = 0;
    WalkCacheStats stats_;
};

} // namespace mmusim::hw
