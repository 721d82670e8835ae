// SPDX-License-Identifier: GPL-2.0-only
// When may hardware treat a contiguous run (arm64 Contiguous bit, RISC-V Svnapot) as one translation?
//
// Arm ARM (DDI 0487), "The Contiguous bit" and "Misprogramming of the Contiguous bit": every entry of the
// aligned set must have the bit set, map the matching part of one output region aligned to the run, and have
// the same attributes and permissions; otherwise the set is misprogrammed and the hardware may use any one
// entry, a mix, or take a TLB conflict abort. The access flag and the DBM-managed dirty state (AP[2] when DBM
// is set) may differ: FEAT_HAFDBS updates one entry of a set at a time, which is why Linux's
// contpte_ptep_get() (arch/arm64/mm/contpte.c) gathers young/dirty over the run. Software bits are ignored by
// the hardware and may differ too. RISC-V Svnapot: all entries of the NAPOT range hold the same encoding
// (A/D again per entry: Svadu may update any of them).
//
// check_contiguous_run() tells a well-programmed run from a misprogrammed one; the walker then builds one
// entry for the run or, for a misprogrammed one, reports a TLB conflict event and uses the accessed page's
// own descriptor.
#pragma once

#include "hw/pgtable/format.hh"

namespace mmusim::hw {

enum class RunProblem : std::uint8_t {
    None,
    NotALeaf,         // an entry of the set is invalid, a table, or lacks the contiguous bit
    OutputNotInRun,   // an entry's output address is not its part of one aligned output region
    AttributesDiffer, // permissions, memory type, shareability, nG or DBM differ
};
const char* to_string(RunProblem p);

struct RunCheck {
    RunProblem problem = RunProblem::None;
    unsigned entry = 0; // index in the run of the first entry that disagrees
    bool ok() const { return problem == RunProblem::None; }
};

// Output address of the leaf that maps `va` (a Svnapot entry holds the run's base, not its page's).
PAddr leaf_output(const PageTableFormat& fmt, int depth, const Descriptor& d, Addr va);

// Does entry `o` (index i of the run) agree with `d`, the entry the walk used, as the rules above ask?
RunProblem run_entry_problem(const PageTableFormat& fmt, int depth, const Descriptor& d, PAddr base,
                             const Descriptor& o, unsigned i);

// Checks the whole run that contains the leaf at `desc_pa`, reading every entry with `peek(pa)` (untimed:
// the set shares the cache lines the walk brought in).
template <typename Peek>
RunCheck check_contiguous_run(const PageTableFormat& fmt, int depth, PAddr desc_pa, Addr va, const Descriptor& d,
                              Peek&& peek)
{
    const LevelInfo& lvl = fmt.level(depth);
    const unsigned n = lvl.contig_entries;
    const PAddr first_desc = desc_pa & ~(PAddr(n) * PageTableFormat::descriptor_bytes - 1);
    const PAddr run_bytes = PAddr(n) << lvl.shift;
    const PAddr base = leaf_output(fmt, depth, d, va) - (va & (run_bytes - 1) & ~((PAddr{1} << lvl.shift) - 1));
    if (base & (run_bytes - 1))
        return {RunProblem::OutputNotInRun, static_cast<unsigned>((desc_pa - first_desc) / PageTableFormat::descriptor_bytes)};
    for (unsigned i = 0; i < n; ++i) {
        const Descriptor o = fmt.decode(depth, peek(first_desc + PAddr(i) * PageTableFormat::descriptor_bytes));
        const RunProblem p = run_entry_problem(fmt, depth, d, base, o, i);
        if (p != RunProblem::None)
            return {p, i};
    }
    return {};
}

} // namespace mmusim::hw
