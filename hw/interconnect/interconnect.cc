// SPDX-License-Identifier: GPL-2.0-only
#include "hw/interconnect/interconnect.hh"

#include <algorithm>

namespace mmusim::hw {

void Interconnect::attach(Core& c)
{
    cores_.push_back(&c);
    pending_broadcast_.push_back(0);
}

void Interconnect::apply(Core& to, const InvalidationScope& scope)
{
    ++to.counters().tlbi_received;
    to.counters().tlb_entries_invalidated += to.mmu().invalidate(scope);
}

Cycles Interconnect::issue_cost(const TlbiOp& op) const
{
    if (is_arm64(op.kind))
        return op.broadcast ? costs_.arm64.tlbi_issue : costs_.arm64.tlbi_local;
    switch (op.kind) {
    case TlbiKind::Invlpg: return costs_.x86.invlpg;
    case TlbiKind::MovCr3: return op.noflush ? costs_.x86.cr3_write_noflush : costs_.x86.cr3_write;
    case TlbiKind::Invpcid: return costs_.x86.invpcid;
    case TlbiKind::Invlpgb: return costs_.x86.invlpgb;
    case TlbiKind::SfenceVma: return costs_.riscv.sfence_vma;
    default: return 0;
    }
}

void Interconnect::tlbi(Core& from, const TlbiOp& op)
{
    require(features_, op);
    from.charge(issue_cost(op), Category::Tlbi);
    const auto scope = scope_of(op, fmt_);
    const bool broadcast = op.broadcast || op.kind == TlbiKind::Invlpgb;
    if (broadcast) {
        ++stats_.broadcast_ops;
        ++pending_broadcast_[from.id()];
        if (scope)
            for (Core* c : cores_)
                apply(*c, *scope);
    } else {
        ++stats_.local_ops;
        if (scope)
            apply(from, *scope);
    }
}

void Interconnect::barrier(Core& from, Barrier kind)
{
    require(features_, kind);
    const std::size_t me = from.id();
    const Cycles remote = cores_.empty() ? 0 : cores_.size() - 1;
    switch (kind) {
    case Barrier::DsbIsh: {
        const auto& a = costs_.arm64;
        const Cycles n = pending_broadcast_[me];
        from.charge(a.dsb_ish_base + n * (a.dsb_per_pending_tlbi + a.dsb_per_remote_core * remote), Category::Dsb);
        pending_broadcast_[me] = 0;
        break;
    }
    case Barrier::DsbNsh: from.charge(costs_.arm64.dsb_nsh, Category::Dsb); break;
    case Barrier::DsbIshst: from.charge(costs_.arm64.dsb_ishst, Category::Dsb); break;
    case Barrier::DmbIsh: from.charge(costs_.arm64.dmb, Category::Barrier); break;
    case Barrier::Isb: from.charge(costs_.arm64.isb, Category::Barrier); break;
    case Barrier::Mfence: from.charge(costs_.x86.mfence, Category::Barrier); break;
    case Barrier::Fence: from.charge(costs_.riscv.fence, Category::Barrier); break;
    case Barrier::Tlbsync: {
        const auto& x = costs_.x86;
        if (pending_broadcast_[me])
            from.charge(x.tlbsync_base + x.tlbsync_per_remote_core * remote, Category::Dsb);
        pending_broadcast_[me] = 0;
        break;
    }
    }
}

void Interconnect::ipi(Core& from, const CpuMask& mask, const std::function<void(Core&)>& handler)
{
    const auto& ipi = costs_.ipi;
    std::size_t targets = 0;
    for (Core* c : cores_)
        targets += (c != &from && mask.test(c->id()));
    if (targets) {
        from.charge(ipi.send_base + ipi.send_per_target * targets, Category::IpiSend);
        from.counters().ipis_sent += targets;
    }
    // The initiator runs its own part directly (as on_each_cpu_mask does), then waits for the slowest target.
    if (mask.test(from.id()))
        handler(from);
    Cycles slowest = 0;
    for (Core* c : cores_) {
        if (c == &from || !mask.test(c->id()))
            continue;
        ++stats_.ipis;
        ++c->counters().ipis_received;
        // The handler's own work (its TLBIs, loads, ...) lands in the target's categories; the interrupt
        // entry is charged as IpiHandler. The initiator waits for delivery plus all of it.
        const Cycles before = c->now();
        c->charge(ipi.handler_entry, Category::IpiHandler);
        handler(*c);
        slowest = std::max(slowest, ipi.delivery + (c->now() - before));
    }
    if (targets)
        from.charge(slowest + ipi.ack, Category::IpiWait);
}

} // namespace mmusim::hw
