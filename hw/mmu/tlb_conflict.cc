// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/tlb_conflict.hh"

#include "util/config_node.hh"
#include "util/hex.hh"

#include <cstdio>

namespace mmusim::hw {

std::string describe_entry(const TlbEntry& e)
{
    std::string s = "VA " + hex(e.va_base()) + " -> PA " + hex(e.pa) + " (" + format_size(std::uint64_t{1} << e.size_shift);
    if (e.trans_shift != e.size_shift)
        s += " piece of a " + format_size(std::uint64_t{1} << e.trans_shift) + " translation";
    s += e.coalesced ? ", coalesced" : e.contiguous ? ", contiguous" : "";
    s += std::string(", ") + (e.user ? "u" : "-") + "r" + (e.write ? "w" : e.write_clean ? "c" : "-") + (e.exec ? "x" : "-");
    s += e.global ? ", global)" : ", ASID " + std::to_string(e.asid) + ")";
    return s;
}

std::string TlbConflict::describe() const
{
    const std::string where = "VA " + hex(va) + " ASID " + std::to_string(asid);
    if (kind == ConflictKind::MisprogrammedRun)
        return "misprogrammed contiguous run at " + where + " (run descriptors from PA " + hex(run_desc_pa) + "): entry " +
               std::to_string(run.entry) + ": " + to_string(run.problem) + "; the walk used the page alone: " +
               describe_entry(filled);
    return "TLB conflict at " + where + " in " + level + ": it held " + describe_entry(held) + " and the page tables now give " +
           describe_entry(filled) + " (size changed without break-before-make)";
}

} // namespace mmusim::hw
