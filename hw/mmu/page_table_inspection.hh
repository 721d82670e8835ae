// SPDX-License-Identifier: GPL-2.0-only
// An untimed walk of the page tables as they are in memory: no cache, TLB or walk cache is touched and no
// cycle is charged. The TLB conflict check and the TLB oracle (hw/check) compare what the hardware holds with
// what it would find now.
#pragma once

#include "hw/pgtable/format.hh"

namespace mmusim::hw {

struct Inspection {
    int depth = 0;        // depth of the descriptor the walk stopped at
    PAddr desc_pa = 0;    // its physical address
    Descriptor d;         // decoded (Invalid if the walk found nothing)
    bool leaf() const { return d.type == Descriptor::Type::Leaf; }
};

// Walks `va` from `root` until a leaf, an invalid descriptor, or depth `stop_at` (-1: the last level),
// reading descriptors with `peek(pa)`.
template <typename Peek>
Inspection inspect_walk(const PageTableFormat& fmt, PAddr root, Addr va, Peek&& peek, int stop_at = -1)
{
    Inspection r;
    PAddr table = root;
    const int last = stop_at < 0 ? fmt.levels() - 1 : stop_at;
    for (int depth = 0; depth <= last; ++depth) {
        r.depth = depth;
        r.desc_pa = table + PAddr(fmt.index(va, depth)) * PageTableFormat::descriptor_bytes;
        r.d = fmt.decode(depth, peek(r.desc_pa));
        if (r.d.type != Descriptor::Type::Table || depth == last || depth + 1 == fmt.levels())
            break;
        table = r.d.oa;
    }
    return r;
}

} // namespace mmusim::hw
