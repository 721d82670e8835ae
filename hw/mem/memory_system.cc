// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/memory_system.hh"

#include <algorithm>
#include <array>
#include <string>
#include <stdexcept>

namespace mmusim::hw {

MemorySystem::MemorySystem(sc_core::sc_module_name name, const MemorySystemConfig& cfg, unsigned cores, sc_core::sc_time cycle)
    : sc_module(name), socket("socket"), cfg_(cfg), cores_(cores), cycle_(cycle), mem_(cfg.size),
      use_directory_(cores >= cfg.directory_from_cores), coh_stats_(cores)
{
    socket.register_b_transport(this, &MemorySystem::b_transport);
    socket.register_transport_dbg(this, &MemorySystem::transport_dbg);
    for (const CacheGeometry& g : cfg_.levels) {
        if (!g.shared && private_levels_ != caches_.size())
            throw std::invalid_argument(g.name + ": a private cache level cannot follow a shared one");
        caches_.emplace_back(g.shared ? 1u : cores_, Cache(g));
        if (!g.shared)
            ++private_levels_;
    }
    if (private_levels_ > kMaxPrivateLevels)
        throw std::invalid_argument("at most " + std::to_string(kMaxPrivateLevels) + " private cache levels");
    if (!caches_.empty())
        line_shift_ = caches_[0][0].line_shift();
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

Mesi MemorySystem::line_state(unsigned core, PAddr pa) const
{
    for (std::size_t l = 0; l < private_levels_; ++l)
        if (const Mesi s = caches_[l][core].state(pa); s != Mesi::I)
            return s;
    return Mesi::I;
}

Cycles MemorySystem::shared_path(PAddr pa, bool& hit)
{
    for (std::size_t l = private_levels_; l < caches_.size(); ++l)
        if (caches_[l][0].access(pa)) { // a miss allocates, so every level above the hit is filled
            hit = true;
            return cfg_.levels[l].latency;
        }
    hit = false;
    return cfg_.dram_latency;
}

// One core: no other copy to keep coherent, so no directory and no states to maintain.
Cycles MemorySystem::access_single(unsigned core, PAddr pa, LineOp op)
{
    if (op == LineOp::FarAtomic)
        return far_atomic(core, pa);
    for (std::size_t l = 0; l < caches_.size(); ++l)
        if (level(core, l).access(pa))
            return cfg_.levels[l].latency;
    ++dram_accesses_;
    return cfg_.dram_latency;
}

void MemorySystem::set_private_state(unsigned core, PAddr pa, Mesi s)
{
    for (std::size_t l = 0; l < private_levels_; ++l)
        caches_[l][core].set_state(pa, s);
}

void MemorySystem::evicted(unsigned core, std::size_t from, std::uint64_t line)
{
    if (!use_directory_)
        return;
    // The core still holds the line while any other of its private levels does (levels are not inclusive).
    const PAddr pa = line << line_shift_;
    for (std::size_t l = 0; l < private_levels_; ++l)
        if (l != from && caches_[l][core].contains(pa))
            return;
    dir_.remove(line, core);
}

MemorySystem::Sharers MemorySystem::holders(std::uint64_t line, PAddr pa, unsigned except) const
{
    Sharers h;
    if (use_directory_) {
        if (const Sharers* sh = dir_.find(line))
            h = *sh;
        if (except < cores_)
            h.reset(except);
        return h;
    }
    for (unsigned c = 0; c < cores_; ++c)
        if (c != except && line_state(c, pa) != Mesi::I)
            h.set(c);
    return h;
}

void MemorySystem::invalidate_others(unsigned core, std::uint64_t line, PAddr pa)
{
    const Sharers sh = holders(line, pa, core);
    for (unsigned c = 0; c < cores_; ++c) {
        if (!sh.test(c))
            continue;
        for (std::size_t l = 0; l < private_levels_; ++l)
            caches_[l][c].invalidate_line(pa);
        ++coh_stats_[core].invalidations_sent;
    }
    if (use_directory_)
        dir_.make_sole(line, core);
}

Cycles MemorySystem::far_atomic(unsigned core, PAddr pa)
{
    // The operation travels to the shared level; every private copy is written back and dropped first.
    ++coh_stats_[core].far_atomics;
    const std::uint64_t line = pa >> line_shift_;
    Sharers held;
    if (cores_ == 1)
        held.set(core);
    else
        held = holders(line, pa);
    bool dirty = false;
    for (unsigned c = 0; c < cores_; ++c) {
        if (!held.test(c))
            continue;
        dirty |= c != core && line_state(c, pa) == Mesi::M;
        for (std::size_t l = 0; l < private_levels_; ++l)
            caches_[l][c].invalidate_line(pa);
        if (c != core)
            ++coh_stats_[core].invalidations_sent;
        if (use_directory_)
            dir_.remove(line, c);
    }
    bool hit = false;
    Cycles lat = shared_path(pa, hit);
    if (dirty) {
        ++coh_stats_[core].remote_dirty;
        lat = std::max(lat, cfg_.coherence.remote_dirty);
    } else if (!hit) {
        ++dram_accesses_;
    }
    return lat;
}

Cycles MemorySystem::access(unsigned core, PAddr pa, LineOp op)
{
    if (cores_ == 1 || private_levels_ == 0)
        return access_single(core, pa, op);
    if (op == LineOp::FarAtomic)
        return far_atomic(core, pa);

    const std::uint64_t line = pa >> line_shift_;
    const bool exclusive = op != LineOp::Read;
    // Private levels, nearest first; a miss allocates (state fixed below), so every level above a hit is filled.
    std::size_t hit_level = private_levels_;
    Mesi state = Mesi::I;
    // The line's state in each private level this access looked up (filled or hit); the deeper ones are not
    // looked up and may hold a copy too.
    std::array<Mesi*, kMaxPrivateLevels> slots{};
    for (std::size_t l = 0; l < private_levels_; ++l) {
        const CacheAccess r = caches_[l][core].access(pa, Mesi::S);
        slots[l] = r.slot;
        if (r.evicted)
            evicted(core, l, r.victim_line);
        if (r.hit) {
            hit_level = l;
            state = r.state;
            break;
        }
    }

    Cycles lat;
    Mesi next;
    CoherenceStats& st = coh_stats_[core];
    if (hit_level < private_levels_) {
        lat = cfg_.levels[hit_level].latency;
        if (!exclusive || owns(state)) {
            next = op == LineOp::Write ? Mesi::M : state;
            if (hit_level == 0 && next == state)
                return lat; // the common case: nothing changes state
        } else {
            // Store to a Shared copy: ask the directory for ownership and invalidate the other copies.
            lat += cfg_.coherence.upgrade;
            ++st.upgrades;
            invalidate_others(core, line, pa);
            next = op == LineOp::Write ? Mesi::M : Mesi::E;
        }
    } else {
        // Private miss: the directory says whether another core holds the line, and in which state.
        unsigned others = 0;
        Mesi owner = Mesi::I;
        unsigned owner_core = 0;
        auto other = [&](unsigned c, Mesi s) {
            ++others;
            if (owns(s)) {
                owner = s;
                owner_core = c;
            }
        };
        if (use_directory_) {
            if (const Sharers* sh = dir_.find(line))
                for (unsigned c = 0; c < cores_; ++c)
                    if (c != core && sh->test(c))
                        other(c, line_state(c, pa));
        } else {
            for (unsigned c = 0; c < cores_; ++c)
                if (c != core)
                    if (const Mesi s = line_state(c, pa); s != Mesi::I)
                        other(c, s);
        }
        bool shared_hit = false;
        const Cycles shared_lat = shared_path(pa, shared_hit);
        if (owner == Mesi::M) {
            lat = cfg_.coherence.remote_dirty;
            ++st.remote_dirty;
        } else if (owner == Mesi::E || (others && (exclusive || !shared_hit))) {
            // Another core's clean copy must be snooped (E), invalidated (a store) or is the nearest source.
            lat = std::max(shared_hit ? shared_lat : Cycles{0}, cfg_.coherence.remote_clean);
            ++st.remote_clean;
        } else {
            lat = shared_lat;
            if (!shared_hit)
                ++dram_accesses_;
        }
        if (exclusive) {
            invalidate_others(core, line, pa);
            next = op == LineOp::Write || owner == Mesi::M ? Mesi::M : Mesi::E;
        } else {
            if (owns(owner))
                set_private_state(owner_core, pa, Mesi::S); // a Modified copy is written back as it is shared
            if (use_directory_)
                dir_.add(line, core);
            next = others ? Mesi::S : Mesi::E;
        }
    }
    const std::size_t looked_up = std::min(hit_level + 1, private_levels_);
    for (std::size_t l = 0; l < looked_up; ++l)
        *slots[l] = next;
    for (std::size_t l = looked_up; l < private_levels_; ++l)
        caches_[l][core].set_state(pa, next);
    return lat;
}

void MemorySystem::b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay)
{
    const PAddr pa = trans.get_address();
    const unsigned len = trans.get_data_length();
    const bool write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
    if (pa + len < pa || pa + len > mem_.size()) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const auto* ext = trans.get_extension<MemOpExtension>();
    const MemOp op = ext ? ext->op : MemOp::Plain;
    const auto core = static_cast<unsigned>(id);
    if (op == MemOp::Stream) {
        // Every line of the range, as the full-line stores or line reads of a page clear/copy. No latency:
        // the core charges the stream's bandwidth. A write without data zeroes the range.
        if (write && !trans.get_data_ptr())
            mem_.zero(pa, len);
        else if (write)
            mem_.write(pa, trans.get_data_ptr(), len);
        else
            mem_.read(pa, trans.get_data_ptr(), len);
        const PAddr line = PAddr{1} << line_shift_;
        for (PAddr a = pa & ~(line - 1); a < pa + len; a += line)
            access(core, a, write ? LineOp::Write : LineOp::Read);
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (write)
        mem_.write(pa, trans.get_data_ptr(), len);
    else
        mem_.read(pa, trans.get_data_ptr(), len);
    LineOp lop = write ? LineOp::Write : LineOp::Read;
    if (op == MemOp::ReadExclusive)
        lop = LineOp::ReadExclusive;
    else if (op == MemOp::FarAtomic)
        lop = LineOp::FarAtomic;
    delay += cycle_ * static_cast<double>(access(core, pa, lop));
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned MemorySystem::transport_dbg(int, tlm::tlm_generic_payload& trans)
{
    const PAddr pa = trans.get_address();
    const unsigned len = trans.get_data_length();
    if (pa + len < pa || pa + len > mem_.size())
        return 0;
    if (trans.get_command() == tlm::TLM_WRITE_COMMAND)
        mem_.write(pa, trans.get_data_ptr(), len);
    else
        mem_.read(pa, trans.get_data_ptr(), len);
    return len;
}

} // namespace mmusim::hw
