// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/cache.hh"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace mmusim::hw {

Cache::Cache(CacheGeometry g) : geom_(std::move(g))
{
    if (!is_pow2(geom_.line_size) || geom_.ways == 0 || geom_.size % (std::uint64_t(geom_.line_size) * geom_.ways) != 0)
        throw std::invalid_argument(geom_.name + ": size must be a multiple of line_size * ways");
    if (geom_.ways > 255)
        throw std::invalid_argument(geom_.name + ": at most 255 ways");
    const std::uint64_t sets = geom_.size / geom_.line_size / geom_.ways;
    if (!is_pow2(sets))
        throw std::invalid_argument(geom_.name + ": size / (line_size * ways) must be a power of two");
    line_shift_ = log2_exact(geom_.line_size);
    set_mask_ = sets - 1;
    set_words_ = geom_.ways + (2 * geom_.ways + 7) / 8;
    chunks_.resize(((sets - 1) >> kChunkShift) + 1);
}

std::uint64_t Cache::fixed_host_bytes(const CacheGeometry& g)
{
    const std::uint64_t sets = g.line_size && g.ways ? g.size / g.line_size / g.ways : 0;
    return sizeof(Cache) + (((sets ? sets - 1 : 0) >> kChunkShift) + 1) * sizeof(std::vector<std::uint64_t>);
}

Cache::Set Cache::set_at(std::vector<std::uint64_t>& chunk, std::size_t set_in_chunk) const
{
    std::uint64_t* w = &chunk[set_in_chunk * set_words_];
    auto* order = reinterpret_cast<std::uint8_t*>(w + geom_.ways);
    return {w, order, reinterpret_cast<Mesi*>(order + geom_.ways)};
}

Cache::Set Cache::set_for(std::uint64_t line)
{
    const std::uint64_t set = line & set_mask_;
    std::vector<std::uint64_t>& chunk = chunks_[set >> kChunkShift];
    const std::size_t in_chunk = set & ((std::uint64_t{1} << kChunkShift) - 1);
    if (chunk.empty()) {
        const std::size_t sets = std::min<std::uint64_t>(set_mask_ + 1, std::uint64_t{1} << kChunkShift);
        chunk.assign(sets * set_words_, 0);
        for (std::size_t i = 0; i < sets; ++i) {
            const Set s = set_at(chunk, i);
            for (unsigned w = 0; w < geom_.ways; ++w) {
                s.tag[w] = kNoTag;
                s.order[w] = static_cast<std::uint8_t>(w);
                s.state[w] = Mesi::I;
            }
        }
    }
    return set_at(chunk, in_chunk);
}

std::optional<Cache::Set> Cache::find_set(std::uint64_t line) const
{
    const std::uint64_t set = line & set_mask_;
    auto& chunk = const_cast<std::vector<std::uint64_t>&>(chunks_[set >> kChunkShift]);
    if (chunk.empty())
        return std::nullopt;
    return set_at(chunk, set & ((std::uint64_t{1} << kChunkShift) - 1));
}

void Cache::touch(const Set& s, unsigned pos)
{
    const std::uint8_t way = s.order[pos];
    std::memmove(s.order + 1, s.order, pos);
    s.order[0] = way;
}

CacheAccess Cache::access(PAddr pa, Mesi fill)
{
    ++stats_.accesses;
    const std::uint64_t line = pa >> line_shift_;
    const Set s = set_for(line);
    for (unsigned w = 0; w < geom_.ways; ++w) {
        if (s.tag[w] == line) {
            unsigned pos = 0;
            while (s.order[pos] != w)
                ++pos;
            touch(s, pos);
            ++stats_.hits;
            return {true, s.state[w], false, 0, Mesi::I, &s.state[w]};
        }
    }
    ++stats_.misses;
    const unsigned last = geom_.ways - 1;
    const unsigned victim = s.order[last];
    CacheAccess r;
    if (s.tag[victim] != kNoTag) {
        r.evicted = true;
        r.victim_line = s.tag[victim];
        r.victim_state = s.state[victim];
    }
    s.tag[victim] = line;
    s.state[victim] = fill;
    touch(s, last);
    r.slot = &s.state[victim];
    return r;
}

Mesi Cache::state(PAddr pa) const
{
    const std::uint64_t line = pa >> line_shift_;
    if (const std::optional<Set> s = find_set(line))
        for (unsigned w = 0; w < geom_.ways; ++w)
            if (s->tag[w] == line)
                return s->state[w];
    return Mesi::I;
}

bool Cache::drop(std::uint64_t line)
{
    const std::optional<Set> s = find_set(line);
    if (!s)
        return false;
    for (unsigned w = 0; w < geom_.ways; ++w) {
        if (s->tag[w] != line)
            continue;
        s->tag[w] = kNoTag;
        s->state[w] = Mesi::I;
        // An invalid way goes to the end of the order, behind every valid one.
        unsigned pos = 0;
        while (s->order[pos] != w)
            ++pos;
        std::memmove(s->order + pos, s->order + pos + 1, geom_.ways - 1 - pos);
        s->order[geom_.ways - 1] = static_cast<std::uint8_t>(w);
        return true;
    }
    return false;
}

void Cache::set_state(PAddr pa, Mesi st)
{
    const std::uint64_t line = pa >> line_shift_;
    if (st == Mesi::I) {
        drop(line);
        return;
    }
    if (const std::optional<Set> s = find_set(line))
        for (unsigned w = 0; w < geom_.ways; ++w)
            if (s->tag[w] == line)
                s->state[w] = st;
}

bool Cache::invalidate_line(PAddr pa)
{
    if (!drop(pa >> line_shift_))
        return false;
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
