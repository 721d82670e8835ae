// SPDX-License-Identifier: GPL-2.0-only
// The coherence directory at the shared level: for every line some core's private levels hold, which cores
// hold it. The MESI state of each copy lives in that core's private levels (hw/mem/mesi.hh); the directory
// only says whom to snoop, so a miss or an upgrade costs a lookup here instead of a scan of every core.
// Entries are exact: the memory system removes a core when the last of its private levels evicts the line.
#pragma once

#include "hw/common/types.hh"

#include <bitset>
#include <unordered_map>

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

    // Cores holding `line`, or nullptr if none does.
    const Sharers* find(std::uint64_t line) const
    {
        auto it = lines_.find(line);
        return it == lines_.end() ? nullptr : &it->second;
    }
    void add(std::uint64_t line, unsigned core) { lines_[line].set(core); }
    void make_sole(std::uint64_t line, unsigned core)
    {
        Sharers& s = lines_[line];
        s.reset();
        s.set(core);
    }
    void remove(std::uint64_t line, unsigned core);
    std::size_t lines() const { return lines_.size(); }

private:
    std::unordered_map<std::uint64_t, Sharers> lines_;
};

} // namespace mmusim::hw
