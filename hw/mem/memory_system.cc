// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/memory_system.hh"

namespace mmusim::hw {

MemorySystem::MemorySystem(sc_core::sc_module_name name, const MemorySystemConfig& cfg, unsigned cores, sc_core::sc_time cycle)
    : sc_module(name), socket("socket"), cfg_(cfg), cores_(cores), cycle_(cycle), mem_(cfg.size)
{
    socket.register_b_transport(this, &MemorySystem::b_transport);
    socket.register_transport_dbg(this, &MemorySystem::transport_dbg);
    for (const CacheGeometry& g : cfg_.levels)
        caches_.emplace_back(g.shared ? 1u : cores_, Cache(g));
}

Cache& MemorySystem::level(unsigned core, std::size_t l)
{
    auto& v = caches_[l];
    return v.size() == 1 ? v[0] : v[core];
}

const CacheStats& MemorySystem::level_stats(unsigned core, std::size_t l) const
{
    const auto& v = caches_[l];
    return (v.size() == 1 ? v[0] : v[core]).stats();
}

Cycles MemorySystem::access(unsigned core, PAddr pa, bool write)
{
    Cycles latency = 0;
    bool hit = false;
    for (std::size_t l = 0; l < caches_.size(); ++l) {
        if (level(core, l).access(pa)) { // a miss allocates, so every level above the hit is filled
            latency = cfg_.levels[l].latency;
            hit = true;
            break;
        }
    }
    if (!hit) {
        latency = cfg_.dram_latency;
        ++dram_accesses_;
    }
    if (write && cores_ > 1) {
        for (std::size_t l = 0; l < caches_.size(); ++l) {
            if (cfg_.levels[l].shared)
                continue;
            for (unsigned c = 0; c < cores_; ++c)
                if (c != core)
                    caches_[l][c].invalidate_line(pa);
        }
    }
    return latency;
}

void MemorySystem::b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay)
{
    const PAddr pa = trans.get_address();
    const unsigned len = trans.get_data_length();
    const bool write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
    if (pa + len > mem_.size()) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (write)
        mem_.write(pa, trans.get_data_ptr(), len);
    else
        mem_.read(pa, trans.get_data_ptr(), len);
    delay += cycle_ * static_cast<double>(access(static_cast<unsigned>(id), pa, write));
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned MemorySystem::transport_dbg(int, tlm::tlm_generic_payload& trans)
{
    const PAddr pa = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (pa + len > mem_.size())
        return 0;
    if (trans.get_command() == tlm::TLM_WRITE_COMMAND)
        mem_.write(pa, trans.get_data_ptr(), len);
    else
        mem_.read(pa, trans.get_data_ptr(), len);
    return len;
}

} // namespace mmusim::hw
