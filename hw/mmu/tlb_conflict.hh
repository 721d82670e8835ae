// SPDX-License-Identifier: GPL-2.0-only
// A TLB conflict event: the page tables asked the hardware to hold two translations of different sizes for
// one address (a contiguous run folded or unfolded, or a block split or collapsed, without break-before-make),
// or a contiguous run that is misprogrammed. Arm ARM (DDI 0487): "TLB conflict aborts" (D8.14.2 in the
// edition docs/ARCHITECTURE.md cites) and "Misprogramming of the Contiguous bit". The model never serves both
// translations: it records the event (counted in MmuStats, listed by Mmu::conflicts()), keeps the newer
// translation, and the TLB oracle (hw/check) turns every event into an error in checked mode.
#pragma once

#include "hw/mmu/contiguous_run.hh"
#include "hw/tlb/tlb_entry.hh"

#include <string>

namespace mmusim::hw {

enum class ConflictKind : std::uint8_t {
    MisprogrammedRun, // a walk found a contiguous run whose entries disagree
    MultipleSizes,    // a fill replaced a live entry of another translation size for the same address
};

struct TlbConflict {
    ConflictKind kind = ConflictKind::MultipleSizes;
    Addr va = 0;
    Asid asid = 0;
    std::string level; // the TLB level the fill went to ("walk" for a misprogrammed run)
    TlbEntry held;     // MultipleSizes: the entry the fill replaced
    TlbEntry filled;   // the entry installed (MisprogrammedRun: the page entry used instead of the run)
    RunCheck run;      // MisprogrammedRun: what is wrong, at which entry of the run
    PAddr run_desc_pa = 0; // MisprogrammedRun: first descriptor of the run

    std::string describe() const;
};

// "VA 0x... -> PA 0x... (64K, contiguous, rw-, ASID 1)", for messages.
std::string describe_entry(const TlbEntry& e);

} // namespace mmusim::hw
