// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/contiguous_run.hh"

namespace mmusim::hw {

const char* to_string(RunProblem p)
{
    switch (p) {
    case RunProblem::None: return "none";
    case RunProblem::NotALeaf: return "an entry of the run is not a valid leaf with the contiguous bit";
    case RunProblem::OutputNotInRun: return "output addresses are not one aligned contiguous region";
    case RunProblem::AttributesDiffer: return "entries of the run have different attributes or permissions";
    }
    return "?";
}

PAddr leaf_output(const PageTableFormat& fmt, int depth, const Descriptor& d, Addr va)
{
    const LevelInfo& lvl = fmt.level(depth);
    if (fmt.arch() == Arch::RiscV && d.contiguous) {
        const PAddr run_bytes = PAddr(lvl.contig_entries) << lvl.shift;
        return d.oa + (va & (run_bytes - 1) & ~((PAddr{1} << lvl.shift) - 1));
    }
    return d.oa;
}

RunProblem run_entry_problem(const PageTableFormat& fmt, int depth, const Descriptor& first, PAddr base,
                             const Descriptor& o, unsigned i)
{
    if (o.type != Descriptor::Type::Leaf || !o.contiguous)
        return RunProblem::NotALeaf;
    const unsigned shift = fmt.level(depth).shift;
    // arm64 entries hold their own page's address; a Svnapot entry holds the run's base (with PPN[3] set,
    // which decode() folds away), so the entry for page i names `base` too.
    const PAddr expect = fmt.arch() == Arch::RiscV ? base : base + (PAddr(i) << shift);
    if (o.oa != expect)
        return RunProblem::OutputNotInRun;
    // A/AF, D and, under DBM, AP[2] are per-entry hardware state; software bits are ignored by the hardware.
    const bool write_differs = o.write != first.write && !(o.dbm && first.dbm);
    if (write_differs || o.read != first.read || o.user != first.user || o.exec != first.exec ||
        o.priv_exec != first.priv_exec || o.global != first.global || o.attr != first.attr || o.sh != first.sh ||
        o.dbm != first.dbm)
        return RunProblem::AttributesDiffer;
    return RunProblem::None;
}

} // namespace mmusim::hw
