// SPDX-License-Identifier: GPL-2.0-only
// The coherence directory at the shared level: for every line some core's private levels hold, which cores
// hold it. The MESI state of each copy lives in that core's private levels (hw/mem/mesi.hh); the directory
// only says whom to snoop, so a miss or an upgrade costs a lookup here instead of a scan of every core.
// Entries are exact: the memory system removes a core when the last of its private levels evicts the line.
//
// Every private miss and eviction looks a line up here, so the table is an open-addressing hash table
// (linear probing, deletion by backward shift) rather than std::unordered_map: no allocation per line and one
// host cache line per probe. Its size is bounded by the lines the private levels hold.
#pragma once

#include "hw/common/types.hh"

#include <bitset>
#include <vector>

namespace mmusim::hw {

// Extra latencies of coherence, in cycles (caches.coherence in a platform file).
struct CoherenceCosts {
    Cycles upgrade = 0;      // a store or atomic hitting a line held Shared: ownership request, beyond the hit
    Cycles remote_clean = 0; // load-to-use of a private miss served by another core's clean (E/S) copy
    Cycles remote_dirty = 0; // load-to-use of a private miss served by another core's Modified copy (forward)
};

class CoherenceDirectory {
public:
    using Sharers = std::bitset<kMaxCores>;

    CoherenceDirectory();
    // Cores holding `line`, or nullptr if none does. Valid until the next add() or make_sole().
    const Sharers* find(std::uint64_t line) const;
    void add(std::uint64_t line, unsigned core) { slot_for_insert(line).set(core); }
    void make_sole(std::uint64_t line, unsigned core)
    {
        Sharers& s = slot_for_insert(line);
        s.reset();
        s.set(core);
    }
    void remove(std::uint64_t line, unsigned core);
    std::size_t lines() const { return used_; }

private:
    struct Entry {
        std::uint64_t key = 0; // line + 1; 0 marks an empty slot
        Sharers sharers;
    };
    std::size_t home(std::uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> shift_; }
    std::size_t next(std::size_t i) const { return (i + 1) & (table_.size() - 1); }
    Sharers& slot_for_insert(std::uint64_t line);
    void grow();

    std::vector<Entry> table_; // a power of two in size, at most half full
    unsigned shift_ = 0;       // 64 - log2(table size)
    std::size_t used_ = 0;
};

} // namespace mmusim::hw
