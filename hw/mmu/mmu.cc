// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/mmu.hh"

#include "hw/mmu/page_table_inspection.hh"

#include <algorithm>

namespace mmusim::hw {

namespace {
std::vector<unsigned> span_shifts(const PageTableFormat& fmt)
{
    std::vector<unsigned> s;
    for (int d = 0; d < fmt.levels(); ++d)
        s.push_back(fmt.level(d).shift);
    return s;
}
} // namespace

Mmu::Mmu(const MmuConfig& cfg, const PageTableFormat& fmt, PhysPort& port)
    : fmt_(fmt), port_(port), l1i_("l1i", cfg.l1i), l1d_("l1d", cfg.l1d), l2_("l2", cfg.l2), wc_(cfg.walk_cache, span_shifts(fmt)),
      walker_(fmt, wc_, port, cfg.walker), size_change_without_bbm_(cfg.walker.size_change_without_bbm)
{
}

Translation Mmu::translate_slow(Addr va, AccessKind kind, TlbLevel& l1, const TlbEntry* l1_hit)
{
    Cycles cycles = l1.hit_latency();
    // An L1 entry that forbids the write decides alone; the L2 copy would say the same.
    const TlbEntry* e = l1_hit;
    if (!e) {
        cycles += l2_.hit_latency();
        e = l2_.lookup(va, asid_);
        // The L2 is unified: a data walk's entry may lack execute permission (the L1 ITLB only ever holds
        // entries that passed this check, so its hits need none).
        if (e && (kind != AccessKind::Write || e->write) && (kind != AccessKind::Fetch || e->exec)) {
            const TlbEntry copy = *e;
            fill(l1, copy, va);
            stats_.stall_cycles += cycles - l1.hit_latency();
            return {copy.pa + (va & ((Addr{1} << copy.size_shift) - 1)), cycles, Fault::None, 0};
        }
    }
    if (e && kind == AccessKind::Write && !e->write && !e->write_clean)
        return tlb_permission_fault(va, *e, cycles, l1.hit_latency());
    ++stats_.walks;
    WalkResult w = walker_.walk(va, asid_, root_, kind);
    cycles += w.cycles;
    stats_.walk_cycles += w.cycles;
    stats_.walk_loads += w.loads;
    stats_.walk_stores += w.stores;
    stats_.walk_cache_hits += w.walk_cache_hit;
    stats_.stall_cycles += cycles - l1.hit_latency();
    if (w.fault != Fault::None) {
        if (w.fault == Fault::NotPresent)
            ++stats_.faults;
        return {0, cycles, w.fault, w.depth};
    }
    if (!w.run.ok()) {
        ++stats_.misprogrammed_runs;
        TlbConflict c;
        c.kind = ConflictKind::MisprogrammedRun;
        c.va = va;
        c.asid = asid_;
        c.level = "walk";
        c.filled = w.entry;
        c.run = w.run;
        c.run_desc_pa = w.run_desc_pa;
        record(std::move(c));
    }
    fill(l2_, w.entry, va);
    fill(l1, w.entry, va);
    return {w.entry.pa + (va & ((Addr{1} << w.entry.size_shift) - 1)), cycles, Fault::None, 0};
}

Translation Mmu::tlb_permission_fault(Addr va, const TlbEntry& e, Cycles cycles, Cycles l1_latency)
{
    ++stats_.tlb_permission_faults;
    stats_.stall_cycles += cycles - l1_latency;
    const int depth = e.depth;
    if (fmt_.arch() == Arch::X86_64) {
        // SDM 4.10.4.1: the #PF removes every TLB entry for the page (splinters of its translation included)
        // and the paging-structure-cache entries that would be used for the address, for the current PCID.
        InvalidationScope s;
        s.any_asid = false;
        s.asid = asid_;
        s.by_va = true;
        s.va_start = va & ~(fmt_.page_size() - 1);
        s.va_last = s.va_start + (fmt_.page_size() - 1);
        invalidate(s);
    }
    return {0, cycles, Fault::Permission, depth};
}

void Mmu::fill(TlbLevel& level, const TlbEntry& e, Addr va)
{
    level.fill(e, va, &resized_);
    if (resized_.empty())
        return;
    for (const TlbEntry& held : resized_) {
        // A coalesced group is the hardware's own choice (AMD), not a size the page tables set.
        if (held.coalesced || e.coalesced)
            continue;
        // Overlapping aligned ranges nest, so the larger base lies in both.
        const Addr where = std::max(held.va_base(), e.va_base());
        if (!still_live(held, where))
            continue; // the held entry is merely stale; the oracle reports stale entries
        if (size_change_without_bbm_) {
            ++stats_.bbml2_size_changes; // allowed: the TLB keeps one of the two (the newer)
            continue;
        }
        ++stats_.size_conflicts;
        TlbConflict c;
        c.kind = ConflictKind::MultipleSizes;
        c.va = where;
        c.asid = asid_;
        c.level = level.name();
        c.held = held;
        c.filled = e;
        record(std::move(c));
    }
    resized_.clear();
}

bool Mmu::still_live(const TlbEntry& held, Addr va)
{
    // The descriptor the held entry was built from for `va` must still be the leaf that maps `va`: the page
    // tables changed the translation's size in place (fold/unfold, split/collapse) instead of breaking it.
    const unsigned leaf_shift = fmt_.level(held.depth).shift;
    const PAddr own_desc = held.desc_pa + (held.contiguous ? ((va - held.trans_base()) >> leaf_shift) * PageTableFormat::descriptor_bytes : 0);
    const Inspection now = inspect_walk(fmt_, root_, va, [this](PAddr p) { return port_.peek64(p); });
    return now.leaf() && now.desc_pa == own_desc;
}

void Mmu::record(TlbConflict c)
{
    if (conflicts_.size() < kConflictLog)
        conflicts_.push_back(std::move(c));
}

MmuStats Mmu::stats() const
{
    // Every translation pays its L1 lookup; only the slow path's extra cycles are counted as they happen.
    MmuStats s = stats_;
    const std::uint64_t i = l1i_.stats().accesses, d = l1d_.stats().accesses;
    s.translations = i + d;
    s.translation_cycles = i * l1i_.hit_latency() + d * l1d_.hit_latency() + s.stall_cycles;
    return s;
}

std::size_t Mmu::invalidate(const InvalidationScope& scope)
{
    wc_.invalidate(scope);
    return l1i_.invalidate(scope) + l1d_.invalidate(scope) + l2_.invalidate(scope);
}

} // namespace mmusim::hw
