// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/cache.hh"

#include <algorithm>
#include <stdexcept>

namespace mmusim::hw {

Cache::Cache(CacheGeometry g) : geom_(std::move(g))
{
    if (!is_pow2(geom_.line_size) || geom_.ways == 0 || geom_.size % (std::uint64_t(geom_.line_size) * geom_.ways) != 0)
        throw std::invalid_argument(geom_.name + ": size must be a multiple of line_size * ways");
    const std::uint64_t sets = geom_.size / geom_.line_size / geom_.ways;
    if (!is_pow2(sets))
        throw std::invalid_argument(geom_.name + ": size / (line_size * ways) must be a power of two");
    line_shift_ = log2_exact(geom_.line_size);
    set_mask_ = sets - 1;
    chunks_.resize(((sets - 1) >> kChunkShift) + 1);
}

std::uint64_t Cache::fixed_host_bytes(const CacheGeometry& g)
{
    const std::uint64_t sets = g.line_size && g.ways ? g.size / g.line_size / g.ways : 0;
    return sizeof(Cache) + (((sets ? sets - 1 : 0) >> kChunkShift) + 1) * sizeof(std::vector<Line>);
}

Cache::Line* Cache::set_for(std::uint64_t line)
{
    const std::uint64_t set = line & set_mask_;
    std::vector<Line>& chunk = chunks_[set >> kChunkShift];
    if (chunk.empty())
        chunk.resize(std::min<std::uint64_t>(set_mask_ + 1, std::uint64_t{1} << kChunkShift) * geom_.ways);
    return &chunk[(set & ((std::uint64_t{1} << kChunkShift) - 1)) * geom_.ways];
}

const Cache::Line* Cache::find_set(std::uint64_t line) const
{
    const std::uint64_t set = line & set_mask_;
    const std::vector<Line>& chunk = chunks_[set >> kChunkShift];
    return chunk.empty() ? nullptr : &chunk[(set & ((std::uint64_t{1} << kChunkShift) - 1)) * geom_.ways];
}

CacheAccess Cache::access(PAddr pa, Mesi fill)
{
    ++stats_.accesses;
    const std::uint64_t line = pa >> line_shift_;
    Line* set = set_for(line);
    Line* victim = set;
    for (unsigned w = 0; w < geom_.ways; ++w) {
        Line& l = set[w];
        if (l.valid() && l.tag == line) {
            l.lru = ++clock_;
            ++stats_.hits;
            return {true, l.state, false, 0, Mesi::I, &l.state};
        }
        if (!l.valid()) {
            if (victim->valid())
                victim = &l;
        } else if (victim->valid() && l.lru < victim->lru) {
            victim = &l;
        }
    }
    ++stats_.misses;
    CacheAccess r;
    if (victim->valid()) {
        r.evicted = true;
        r.victim_line = victim->tag;
        r.victim_state = victim->state;
    }
    *victim = Line{line, ++clock_, fill};
    r.slot = &victim->state;
    return r;
}

Cache::Line* Cache::find_line(std::uint64_t line)
{
    Line* set = find_set(line); // an untouched set holds nothing
    for (unsigned w = 0; set && w < geom_.ways; ++w)
        if (set[w].valid() && set[w].tag == line)
            return &set[w];
    return nullptr;
}

Mesi Cache::state(PAddr pa) const
{
    const std::uint64_t line = pa >> line_shift_;
    const Line* set = find_set(line);
    for (unsigned w = 0; set && w < geom_.ways; ++w)
        if (set[w].valid() && set[w].tag == line)
            return set[w].state;
    return Mesi::I;
}

void Cache::set_state(PAddr pa, Mesi s)
{
    if (Line* l = find_line(pa >> line_shift_))
        l->state = s;
}

bool Cache::invalidate_line(PAddr pa)
{
    Line* l = find_line(pa >> line_shift_);
    if (!l)
        return false;
    l->state = Mesi::I;
    ++stats_.snoop_invalidations;
    return true;
}

const char* to_string(Mesi s)
{
    switch (s) {
    case Mesi::I: return "I";
    case Mesi::S: return "S";
    case Mesi::E: return "E";
    case Mesi::M: return "M";
    }
    return "?";
}

} // namespace mmusim::hw
