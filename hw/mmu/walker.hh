// SPDX-License-Identifier: GPL-2.0-only
// Hardware table walker: resumes from the deepest walk-cache hit, reads one descriptor per level through the
// core's memory path (every read is a real access to the descriptor's physical address), updates the
// accessed/dirty state in hardware where the architecture does (arm64 FEAT_HAFDBS, x86 A/D, RISC-V Svadu) with
// an atomic on the raw descriptor that changes only the AF/A, AP[2] or D bits (PageTableFormat::hw_update_bits),
// and builds the TLB entry: one entry for a whole contiguous/NAPOT run when the platform honours the hint,
// or for an AMD-style coalesced group of adjacent PTEs when coalescing is on.
#pragma once

#include "hw/mmu/contiguous_run.hh"
#include "hw/mmu/phys_port.hh"
#include "hw/pgtable/format.hh"
#include "hw/tlb/tlb_entry.hh"
#include "hw/tlb/walk_cache.hh"

namespace mmusim::hw {

struct WalkerConfig {
    bool contiguous = true;      // honour arm64 contiguous bit / RISC-V Svnapot as one TLB entry
    bool coalescing = false;     // AMD-style: merge an aligned group of adjacent PTEs into one entry
    unsigned coalesce_group = 4; // PTEs per coalesced entry (4 x 4K = 16K)
    bool hw_access_flag = true;  // hardware sets AF/A on a walk that finds it clear
    bool hw_dirty = true;        // hardware dirty-state update on a write
    // arm64 FEAT_BBM level 2 without conflict aborts (BBML2_NOABORT): a translation's size may change without
    // break-before-make; overlapping TLB entries of two sizes then return one of them, never an abort or an
    // amalgam (Arm ARM RNGLXZ, RJQQTC), so such a fill is no TLB conflict event.
    bool size_change_without_bbm = false;
};

enum class Fault : std::uint8_t { None, NotPresent, Permission };
const char* to_string(Fault f);

struct WalkResult {
    Fault fault = Fault::None;
    int depth = 0;          // depth of the leaf, or of the descriptor that faulted
    Cycles cycles = 0;      // walk-cache lookup + descriptor loads + A/D updates
    unsigned loads = 0;
    unsigned stores = 0;
    bool walk_cache_hit = false;
    TlbEntry entry;         // valid when fault == None
    RunCheck run;           // a misprogrammed contiguous run the leaf belongs to (the entry maps the page alone)
    PAddr run_desc_pa = 0;  // its first descriptor
};

class Walker {
public:
    Walker(const PageTableFormat& fmt, WalkCache& wc, PhysPort& port, WalkerConfig cfg)
        : fmt_(fmt), wc_(wc), port_(port), cfg_(cfg)
    {
    }
    WalkResult walk(Addr va, Asid asid, PAddr root, AccessKind kind);
    const WalkerConfig& config() const { return cfg_; }

private:
    static constexpr int kMaxWalkRestarts = 8;
    // One walk from the root (or walk-cache hit). False: an A/D update lost a race, start again.
    bool walk_once(WalkResult& r, Addr va, Asid asid, PAddr root, AccessKind kind);
    void build_entry(WalkResult& r, Addr va, Asid asid, const Descriptor& d, PAddr desc_pa, int depth);
    unsigned coalesced_shift(const Descriptor& d, PAddr desc_pa, int depth);
    const PageTableFormat& fmt_;
    WalkCache& wc_;
    PhysPort& port_;
    WalkerConfig cfg_;
};

} // namespace mmusim::hw
