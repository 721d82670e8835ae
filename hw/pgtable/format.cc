// SPDX-License-Identifier: GPL-2.0-only
// Out-of-line parts of the page-table format interface that every format shares.
#include "hw/pgtable/format.hh"

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

} // namespace mmusim::hw
