// SPDX-License-Identifier: GPL-2.0-only
// The one descent through a radix page table: for each depth, index the table at the VA, read the 8-byte
// descriptor, decode it and follow a Table descriptor's output address. The timed walker, the untimed
// inspection walk, the fault handler and the tests all descend through here; what differs between them (how a
// descriptor is read and what happens at each level) is passed in, so the loop itself is written once. It is a
// template so that the walker's reads and per-level actions inline: it is on every TLB miss.
#pragma once

#include "hw/pgtable/format.hh"

namespace mmusim::hw {

// The physical address of the descriptor for `va` in the depth-`depth` table at `table`.
inline PAddr descriptor_pa(const PageTableFormat& fmt, PAddr table, Addr va, int depth)
{
    return table + PAddr(fmt.index(va, depth)) * PageTableFormat::descriptor_bytes;
}

// One descriptor the descent read.
struct WalkStep {
    int depth = 0;         // its depth
    PAddr desc_pa = 0;     // its physical address
    std::uint64_t raw = 0; // the value read
    Descriptor d;          // decoded (a visitor may replace it, e.g. with a table it just installed)
    bool leaf() const { return d.type == Descriptor::Type::Leaf; }
    bool table() const { return d.type == Descriptor::Type::Table; }
};

// Descends towards `va` from the depth-`depth` table at `table` (the root and 0, or a walk-cache hit), reading
// each descriptor with `read(pa)` and handing it to `visit(step)`. The descent follows a Table descriptor, as
// `visit` left it, unless `visit` returns false or the step is at `last` (default: the last level; a Table
// there cannot be followed and is returned as it is); it stops at a leaf or an invalid descriptor. Returns the
// last step. An untimed walk passes a peek of memory; a timed one a read that charges its cycles.
template <typename Read, typename Visit>
WalkStep walk_down(const PageTableFormat& fmt, PAddr table, int depth, Addr va, Read&& read, Visit&& visit, int last = -1)
{
    if (last < 0 || last >= fmt.levels())
        last = fmt.levels() - 1;
    WalkStep s;
    for (;; ++depth) {
        s.depth = depth;
        s.desc_pa = descriptor_pa(fmt, table, va, depth);
        s.raw = read(s.desc_pa);
        s.d = fmt.decode(depth, s.raw);
        if (!visit(s) || !s.table() || depth >= last)
            return s;
        table = s.d.oa;
    }
}

// The same from the root with nothing to do at each level.
template <typename Read>
WalkStep walk_down(const PageTableFormat& fmt, PAddr root, Addr va, Read&& read, int last = -1)
{
    return walk_down(fmt, root, 0, va, read, [](const WalkStep&) { return true; }, last);
}

} // namespace mmusim::hw
