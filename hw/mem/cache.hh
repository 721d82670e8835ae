// SPDX-License-Identifier: GPL-2.0-only
// Tag array of one data-cache level: set-associative, LRU, write-allocate. Presence and each line's MESI
// state are modelled (the data lives in PhysMemory); the level's load-to-use latency is charged when it hits. The sets are stored in
// chunks allocated when first touched, so a very large level (a 64G LLC, or many cores' private levels) costs
// host memory only for the sets the simulation uses; the result is the same as a full array's.
#pragma once

#include "hw/common/types.hh"
#include "hw/mem/mesi.hh"

#include <string>
#include <utility>
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
    std::uint64_t snoop_invalidations = 0; // lines removed because another core took them exclusive
};

// What one lookup-or-allocate did: the state the line had on a hit, and the line it displaced on a miss.
struct CacheAccess {
    bool hit = false;
    Mesi state = Mesi::I;           // on a hit
    bool evicted = false;           // a miss displaced a valid line
    std::uint64_t victim_line = 0;  // its line number (address >> line shift)
    Mesi victim_state = Mesi::I;
    // The accessed line's state in the array, so the memory system can settle it without a second lookup.
    // Valid until this cache's next allocation.
    Mesi* slot = nullptr;
};

class Cache {
public:
    explicit Cache(CacheGeometry g); // throws std::invalid_argument
    bool access(PAddr pa) { return access(pa, Mesi::E).hit; } // true on hit; a miss allocates (LRU victim)
    // Lookup that makes a hit most recent; a miss allocates the line in state `fill` over the LRU victim.
    CacheAccess access(PAddr pa, Mesi fill);
    bool invalidate_line(PAddr pa);  // coherence: another core took the line exclusive; true if it was here
    void set_state(PAddr pa, Mesi s); // no effect if the line is not present
    Mesi state(PAddr pa) const;       // Mesi::I if not present
    bool contains(PAddr pa) const { return state(pa) != Mesi::I; }
    unsigned line_shift() const { return line_shift_; }
    const CacheGeometry& geometry() const { return geom_; }
    const CacheStats& stats() const { return stats_; }
    // Host bytes a level of this geometry needs before any access (the chunk table), for validation.
    static std::uint64_t fixed_host_bytes(const CacheGeometry& g);

private:
    struct Line {
        std::uint64_t tag = 0;
        std::uint64_t lru = 0;
        Mesi state = Mesi::I;
        bool valid() const { return state != Mesi::I; }
    };
    Line* find_line(std::uint64_t line);
    static constexpr unsigned kChunkShift = 10; // sets per chunk: 1024
    Line* set_for(std::uint64_t line);                // allocates the set's chunk on first touch
    const Line* find_set(std::uint64_t line) const;   // nullptr if its chunk was never touched
    Line* find_set(std::uint64_t line) { return const_cast<Line*>(std::as_const(*this).find_set(line)); }

    CacheGeometry geom_;
    std::vector<std::vector<Line>> chunks_; // an empty chunk was never touched
    unsigned line_shift_ = 6;
    std::uint64_t set_mask_ = 0;
    std::uint64_t clock_ = 0;
    CacheStats stats_;
};

} // namespace mmusim::hw
