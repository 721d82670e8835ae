// SPDX-License-Identifier: GPL-2.0-only
// An untimed walk of the page tables as they are in memory: no cache, TLB or walk cache is touched and no
// cycle is charged. The TLB conflict check and the TLB oracle (hw/check) compare what the hardware holds with
// what it would find now.
#pragma once

#include "hw/pgtable/walk_down.hh"

namespace mmusim::hw {

// Where the walk stopped: depth, descriptor address and decoded descriptor (Invalid if it found nothing).
using Inspection = WalkStep;

// Walks `va` from `root` until a leaf, an invalid descriptor, or depth `stop_at` (-1: the last level),
// reading descriptors with `peek(pa)`.
template <typename Peek>
Inspection inspect_walk(const PageTableFormat& fmt, PAddr root, Addr va, Peek&& peek, int stop_at = -1)
{
    return walk_down(fmt, root, va, peek, stop_at);
}

} // namespace mmusim::hw
