// SPDX-License-Identifier: GPL-2.0-only
// Where an operation's time goes by kernel function: a PhaseScope at the top of a ported function attributes the
// running core's cycles from its construction to its destruction to that function, less the cycles of phases
// nested inside it (self time, as a profiler reports it). Reports show each part's share of an operation
// (MmStats::phases): the batched PTE work beside the VMA work, page-table allocation and freeing, rmap, the TLB
// flush and freeing folios. Cycles other cores spend on the operation's behalf (IPI handlers, TLB searches) are
// theirs, not in any phase.
#pragma once

#include "mm/kernel.hh"

namespace mmusim::mm {

class PhaseScope {
public:
    PhaseScope(Ctx& c, const char* name) : c_(c) { c.k.phase_enter(c, name); }
    ~PhaseScope() { c_.k.phase_exit(c_); }
    PhaseScope(const PhaseScope&) = delete;
    PhaseScope& operator=(const PhaseScope&) = delete;

private:
    Ctx& c_;
};

} // namespace mmusim::mm
