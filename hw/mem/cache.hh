// SPDX-License-Identifier: GPL-2.0-only
// Tag array of one data-cache level: set-associative, LRU, write-allocate. Presence and each line's MESI
// state are modelled (the data lives in PhysMemory); the level's load-to-use latency is charged when it hits. The sets are stored in
// chunks allocated when first touched, so a very large level (a 64G LLC, or many cores' private levels) costs
// host memory only for the sets the simulation uses; the result is the same as a full array's.
#pragma once

#include "hw/common/types.hh"
#include "hw/mem/mesi.hh"

#include <string>
#include <optional>
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
    // A set is one block of 64-bit words: the ways' tags, then the ways' indices from most to least recently
    // used (one byte each), then their MESI states (one byte each). A lookup reads the tags, one host cache
    // line for 8 ways, and the order next to them; the LRU victim is the last in the order, with no search.
    // An invalid way has kNoTag and sits at the end of the order, so a miss fills an invalid way while there
    // is one (which invalid way is not observable).
    static constexpr std::uint64_t kNoTag = ~std::uint64_t{0};
    static constexpr unsigned kChunkShift = 10; // sets per chunk: 1024
    struct Set {
        std::uint64_t* tag;
        std::uint8_t* order;
        Mesi* state;
    };
    Set set_at(std::vector<std::uint64_t>& chunk, std::size_t set_in_chunk) const;
    Set set_for(std::uint64_t line);                  // allocates the set's chunk on first touch
    std::optional<Set> find_set(std::uint64_t line) const; // nothing if its chunk was never touched
    static void touch(const Set& s, unsigned pos);    // moves the way at order position `pos` to the front
    bool drop(std::uint64_t line);                    // invalidates the line; false if it is not here

    CacheGeometry geom_;
    std::vector<std::vector<std::uint64_t>> chunks_; // an empty chunk was never touched
    unsigned line_shift_ = 6;
    std::uint64_t set_mask_ = 0;
    std::size_t set_words_ = 0; // words per set
    CacheStats stats_;
};

} // namespace mmusim::hw
