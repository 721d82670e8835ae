// SPDX-License-Identifier: GPL-2.0-only
// Tag array of one data-cache level: set-associative, LRU, write-allocate. Only presence is modelled (the
// data lives in PhysMemory); the level's load-to-use latency is charged when it hits.
#pragma once

#include "hw/common/types.hh"

#include <string>
#include <vector>

namespace mmusim::hw {

struct CacheGeometry {
    std::string name = "cache";
    std::uint64_t size = 32 * KiB;
    unsigned ways = 8;
    unsigned line_size = 64;
    Cycles latency = 4;
    bool shared = false; // one instance for all cores (LLC) instead of one per core
};

struct CacheStats {
    std::uint64_t accesses = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t snoop_invalidations = 0;
};

class Cache {
public:
    explicit Cache(CacheGeometry g); // throws std::invalid_argument
    bool access(PAddr pa);           // true on hit; a miss allocates the line (LRU victim)
    void invalidate_line(PAddr pa);  // coherence: another core wrote the line
    bool contains(PAddr pa) const;
    const CacheGeometry& geometry() const { return geom_; }
    const CacheStats& stats() const { return stats_; }

private:
    struct Line {
        std::uint64_t tag = 0;
        std::uint64_t lru = 0;
        bool valid = false;
    };
    CacheGeometry geom_;
    std::vector<Line> lines_;
    unsigned line_shift_ = 6;
    std::uint64_t set_mask_ = 0;
    std::uint64_t clock_ = 0;
    CacheStats stats_;
};

} // namespace mmusim::hw
