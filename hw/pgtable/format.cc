// SPDX-License-Identifier: GPL-2.0-only
// Out-of-line parts of the page-table format interface that every format shares.
#include "hw/pgtable/format.hh"

#include <stdexcept>
#include <string>

#include <algorithm>

namespace mmusim::hw {

bool Descriptor::operator==(const Descriptor& o) const
{
    // Every field, including ones a format does not use: round-trip tests rely on decode() leaving those at
    // their defaults, and a mismatch there is a bug worth seeing.
    return type == o.type && oa == o.oa && read == o.read && write == o.write && user == o.user &&
           exec == o.exec && priv_exec == o.priv_exec && accessed == o.accessed && dirty == o.dirty &&
           global == o.global && contiguous == o.contiguous && dbm == o.dbm && sw_dirty == o.sw_dirty &&
           sw_special == o.sw_special && attr == o.attr && sh == o.sh && pkey == o.pkey && sw == o.sw;
}

std::vector<unsigned> PageTableFormat::leaf_shifts() const
{
    std::vector<unsigned> shifts;
    for (const LevelInfo& l : levels_)
        if (l.leaf_allowed)
            shifts.push_back(l.shift);
    std::sort(shifts.begin(), shifts.end());
    shifts.erase(std::unique(shifts.begin(), shifts.end()), shifts.end());
    return shifts;
}

void PageTableFormat::check_depth(int depth) const
{
    if (depth < 0 || depth >= levels())
        throw std::out_of_range(name() + ": depth " + std::to_string(depth) + " outside 0.." + std::to_string(levels() - 1));
}

void PageTableFormat::fail(int depth, const std::string& what) const
{
    throw std::invalid_argument(name() + " (" + variant() + "), " + level(depth).name + ": cannot encode " + what);
}

void PageTableFormat::check_oa(int depth, PAddr oa, unsigned align_shift) const
{
    if (oa >> kPaBits)
        fail(depth, "an output address above 48 bits");
    if (oa & low_mask(align_shift))
        fail(depth, "an output address not aligned to 2^" + std::to_string(align_shift));
}

} // namespace mmusim::hw
