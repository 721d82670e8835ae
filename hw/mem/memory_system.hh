// SPDX-License-Identifier: GPL-2.0-only
// The memory hierarchy as one loosely-timed TLM-2.0 target: per-core private cache levels, shared levels,
// then DRAM, in front of PhysMemory. b_transport adds the latency of the level that hits (load-to-use, as
// published) to the annotated delay.
//
// With more than one core the private levels are kept coherent with MESI and a directory at the shared level
// (coherence_directory.hh): a store or atomic takes the line exclusive, invalidating other cores' copies; a
// store to a line held Shared pays an upgrade; a miss on a line another core holds pays that core's transfer
// (remote_clean) or forward of its Modified copy (remote_dirty) instead of the shared level's latency. This is
// what makes a page-table update on one core cost a miss on the walker of another, and a lock line bounce.
#pragma once

#include "hw/mem/cache.hh"
#include "hw/mem/coherence_directory.hh"
#include "hw/mem/mem_op.hh"
#include "hw/mem/phys_memory.hh"

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include <vector>

namespace mmusim::hw {

struct MemorySystemConfig {
    std::uint64_t size = 4 * GiB;
    Cycles dram_latency = 200;
    std::vector<CacheGeometry> levels; // nearest first; private levels before shared ones
    CoherenceCosts coherence;
    // Host-side only (the simulated result is the same either way): from this many cores on, whom to snoop is
    // looked up in the directory; below, the few other cores' private levels are searched, which costs less
    // than keeping the directory up to date on every miss and eviction.
    unsigned directory_from_cores = 5;
};

// What one line access asks for.
enum class LineOp : std::uint8_t {
    Read,
    Write,         // store: line Modified, other copies invalidated
    ReadExclusive, // read for ownership: line at least Exclusive, other copies invalidated
    FarAtomic,     // executed at the shared level: every private copy invalidated
};

// Coherence events caused by one core's accesses.
struct CoherenceStats {
    std::uint64_t upgrades = 0;           // stores/atomics to a line this core held Shared
    std::uint64_t remote_clean = 0;       // misses served by another core's clean copy
    std::uint64_t remote_dirty = 0;       // misses served by another core's Modified copy
    std::uint64_t invalidations_sent = 0; // other cores' copies this core's stores/atomics removed
    std::uint64_t far_atomics = 0;
};

class MemorySystem : public sc_core::sc_module {
public:
    static constexpr std::size_t kMaxPrivateLevels = 4;
    // One binding per core, in core order: binding i is core i.
    tlm_utils::multi_passthrough_target_socket<MemorySystem> socket;

    MemorySystem(sc_core::sc_module_name name, const MemorySystemConfig& cfg, unsigned cores, sc_core::sc_time cycle);

    PhysMemory& memory() { return mem_; }
    const PhysMemory& memory() const { return mem_; }
    // Latency in cycles of one access by `core`, updating cache and coherence state (also used without TLM
    // by tests).
    Cycles access(unsigned core, PAddr pa, LineOp op);
    Cycles access(unsigned core, PAddr pa, bool write) { return access(core, pa, write ? LineOp::Write : LineOp::Read); }
    // Per-core view of each level's statistics (shared levels report the shared instance).
    const CacheStats& level_stats(unsigned core, std::size_t level) const;
    const std::vector<CacheGeometry>& levels() const { return cfg_.levels; }
    std::uint64_t dram_accesses() const { return dram_accesses_; }
    const CoherenceStats& coherence_stats(unsigned core) const { return coh_stats_.at(core); }
    // The state of `pa`'s line in `core`'s nearest private level holding it (Mesi::I if none), for tests.
    Mesi line_state(unsigned core, PAddr pa) const;
    bool contains(unsigned core, std::size_t level, PAddr pa) const
    {
        const auto& v = caches_.at(level);
        return (v.size() == 1 ? v[0] : v.at(core)).contains(pa);
    }
    // Empty unless the platform has at least MemorySystemConfig::directory_from_cores cores.
    const CoherenceDirectory& directory() const { return dir_; }
    unsigned line_size() const { return cfg_.levels.empty() ? 64 : cfg_.levels[0].line_size; }

private:
    void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
    Cache& level(unsigned core, std::size_t l);
    Cycles access_single(unsigned core, PAddr pa, LineOp op);
    Cycles far_atomic(unsigned core, PAddr pa);
    // Walks the shared levels (allocating on a miss); returns the latency of the one that hit, or DRAM's.
    Cycles shared_path(PAddr pa, bool& hit);
    using Sharers = CoherenceDirectory::Sharers;
    // The cores whose private levels hold `line`, `except` left out.
    Sharers holders(std::uint64_t line, PAddr pa, unsigned except = kMaxCores) const;
    void invalidate_others(unsigned core, std::uint64_t line, PAddr pa);
    void set_private_state(unsigned core, PAddr pa, Mesi s);
    void evicted(unsigned core, std::size_t from_level, std::uint64_t line);

    MemorySystemConfig cfg_;
    unsigned cores_;
    sc_core::sc_time cycle_;
    PhysMemory mem_;
    // caches_[l] holds one Cache per core for private levels, a single Cache for shared ones.
    std::vector<std::vector<Cache>> caches_;
    std::size_t private_levels_ = 0;
    unsigned line_shift_ = 6;
    bool use_directory_;
    CoherenceDirectory dir_;
    std::vector<CoherenceStats> coh_stats_;
    std::uint64_t dram_accesses_ = 0;
};

} // namespace mmusim::hw
