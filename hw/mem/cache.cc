// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/cache.hh"

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
    lines_.resize(sets * geom_.ways);
}

bool Cache::access(PAddr pa)
{
    ++stats_.accesses;
    const std::uint64_t line = pa >> line_shift_;
    Line* set = &lines_[(line & set_mask_) * geom_.ways];
    Line* victim = set;
    for (unsigned w = 0; w < geom_.ways; ++w) {
        Line& l = set[w];
        if (l.valid && l.tag == line) {
            l.lru = ++clock_;
            ++stats_.hits;
            return true;
        }
        if (!l.valid) {
            if (victim->valid)
                victim = &l;
        } else if (victim->valid && l.lru < victim->lru) {
            victim = &l;
        }
    }
    ++stats_.misses;
    *victim = Line{line, ++clock_, true};
    return false;
}

bool Cache::contains(PAddr pa) const
{
    const std::uint64_t line = pa >> line_shift_;
    const Line* set = &lines_[(line & set_mask_) * geom_.ways];
    for (unsigned w = 0; w < geom_.ways; ++w)
        if (set[w].valid && set[w].tag == line)
            return true;
    return false;
}

void Cache::invalidate_line(PAddr pa)
{
    const std::uint64_t line = pa >> line_shift_;
    Line* set = &lines_[(line & set_mask_) * geom_.ways];
    for (unsigned w = 0; w < geom_.ways; ++w)
        if (set[w].valid && set[w].tag == line) {
            set[w].valid = false;
            ++stats_.snoop_invalidations;
        }
}

} // namespace mmusim::hw
