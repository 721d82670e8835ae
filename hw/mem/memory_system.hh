// SPDX-License-Identifier: GPL-2.0-only
// The memory hierarchy as one loosely-timed TLM-2.0 target: per-core private cache levels, shared levels,
// then DRAM, in front of PhysMemory. b_transport adds the latency of the level that hits (load-to-use, as
// published) to the annotated delay. A write invalidates the line in other cores' private levels, which is
// what makes a page-table update on one core cost a miss on the walker of another.
#pragma once

#include "hw/mem/cache.hh"
#include "hw/mem/phys_memory.hh"

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include <vector>

namespace mmusim::hw {

struct MemorySystemConfig {
    std::uint64_t size = 4 * GiB;
    Cycles dram_latency = 200;
    std::vector<CacheGeometry> levels; // nearest first
};

class MemorySystem : public sc_core::sc_module {
public:
    // One binding per core, in core order: binding i is core i.
    tlm_utils::multi_passthrough_target_socket<MemorySystem> socket;

    MemorySystem(sc_core::sc_module_name name, const MemorySystemConfig& cfg, unsigned cores, sc_core::sc_time cycle);

    PhysMemory& memory() { return mem_; }
    const PhysMemory& memory() const { return mem_; }
    // Latency in cycles of one access by `core`, updating cache state (also used without TLM by tests).
    Cycles access(unsigned core, PAddr pa, bool write);
    // Per-core view of each level's statistics (shared levels report the shared instance).
    const CacheStats& level_stats(unsigned core, std::size_t level) const;
    const std::vector<CacheGeometry>& levels() const { return cfg_.levels; }
    std::uint64_t dram_accesses() const { return dram_accesses_; }

private:
    void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
    unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
    Cache& level(unsigned core, std::size_t l);

    MemorySystemConfig cfg_;
    unsigned cores_;
    sc_core::sc_time cycle_;
    PhysMemory mem_;
    // caches_[l] holds one Cache per core for private levels, a single Cache for shared ones.
    std::vector<std::vector<Cache>> caches_;
    std::uint64_t dram_accesses_ = 0;
};

} // namespace mmusim::hw
