// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/mmu.hh"

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
    : fmt_(fmt), l1i_("l1i", cfg.l1i), l1d_("l1d", cfg.l1d), l2_("l2", cfg.l2), wc_(cfg.walk_cache, span_shifts(fmt)),
      walker_(fmt, wc_, port, cfg.walker)
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
            l1.fill(copy, va);
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
        ++(w.fault == Fault::Permission ? stats_.permission_faults : stats_.faults);
        return {0, cycles, w.fault, w.depth};
    }
    l2_.fill(w.entry, va);
    l1.fill(w.entry, va);
    return {w.entry.pa + (va & ((Addr{1} << w.entry.size_shift) - 1)), cycles, Fault::None, 0};
}

Translation Mmu::tlb_permission_fault(Addr va, const TlbEntry& e, Cycles cycles, Cycles l1_latency)
{
    ++stats_.permission_faults;
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
