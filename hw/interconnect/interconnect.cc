// SPDX-License-Identifier: GPL-2.0-only
#include "hw/interconnect/interconnect.hh"

#include <algorithm>

namespace mmusim::hw {

Interconnect::Interconnect(const MaintenanceCosts& costs, const PageTableFormat& fmt, Features features)
    : costs_(costs), fmt_(fmt), features_(std::move(features))
{
}

Interconnect::~Interconnect() = default;

void Interconnect::attach(Core& c)
{
    cores_.push_back(&c);
    state_.emplace_back();
}

std::size_t Interconnect::pending_invalidations(std::size_t core) const
{
    return state_[core].broadcast.size() + state_[core].local.size();
}

void Interconnect::apply(Core& to, const InvalidationScope& scope)
{
    ++to.counters().tlbi_received;
    to.counters().tlb_entries_invalidated += to.mmu().invalidate(scope);
}

BroadcastChannel& Interconnect::channel(const BroadcastCosts& costs)
{
    if (!channel_)
        channel_ = std::make_unique<BroadcastChannel>(costs, cores_.size());
    return *channel_;
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
    CoreState& me = state_[from.id()];
    if (op.kind == TlbiKind::Invlpgb) {
        ++stats_.broadcast_ops;
        if (scope)
            me.broadcast.push_back(*scope);
        ++me.outstanding;
        return;
    }
    if (op.broadcast) {
        ++stats_.broadcast_ops;
        const BroadcastChannel::Delivery d = channel(costs_.arm64.dvm).post(from.id(), from.time(), is_range(op.kind));
        for (std::size_t r = 0; r < cores_.size(); ++r)
            if (d.receiver_busy[r] && !cores_[r]->done()) // an idle core's TLB search delays no work
                cores_[r]->charge(d.receiver_busy[r], Category::TlbiReceive);
        ++me.outstanding;
        if (scope)
            me.broadcast.push_back(*scope);
        return;
    }
    ++stats_.local_ops;
    if (!scope)
        return;
    if (is_arm64(op.kind))
        me.local.push_back(*scope); // completes at the next DSB
    else
        apply(from, *scope);        // INVLPG, MOV CR3, INVPCID, SFENCE.VMA are synchronous
}

void Interconnect::complete_broadcasts(Core& from)
{
    CoreState& me = state_[from.id()];
    for (const InvalidationScope& s : me.broadcast)
        for (Core* c : cores_)
            apply(*c, s);
    me.broadcast.clear();
}

void Interconnect::complete_local(Core& from)
{
    CoreState& me = state_[from.id()];
    for (const InvalidationScope& s : me.local)
        apply(from, s);
    me.local.clear();
}

void Interconnect::barrier(Core& from, Barrier kind)
{
    require(features_, kind);
    CoreState& me = state_[from.id()];
    switch (kind) {
    case Barrier::DsbIsh: {
        // Waits for every TLBI this core issued, broadcast or local: with broadcasts outstanding it sends a
        // DVM Sync and waits for its acknowledgements; never shorter than the barrier itself.
        const Cycles t = from.time();
        Cycles wait = 0;
        if (me.outstanding) {
            wait = channel(costs_.arm64.dvm).sync(from.id(), t) - t;
            me.outstanding = 0;
        }
        from.charge(std::max(costs_.arm64.dsb_ish_base, wait), Category::Dsb);
        complete_broadcasts(from);
        complete_local(from);
        break;
    }
    case Barrier::DsbNsh:
        from.charge(costs_.arm64.dsb_nsh, Category::Dsb);
        complete_local(from);
        break;
    case Barrier::DsbIshst: from.charge(costs_.arm64.dsb_ishst, Category::Dsb); break;
    case Barrier::DmbIsh: from.charge(costs_.arm64.dmb, Category::Barrier); break;
    case Barrier::Isb: from.charge(costs_.arm64.isb, Category::Barrier); break;
    case Barrier::Mfence: from.charge(costs_.x86.mfence, Category::Barrier); break;
    case Barrier::Fence: from.charge(costs_.riscv.fence, Category::Barrier); break;
    case Barrier::Tlbsync: {
        const auto& x = costs_.x86;
        const Cycles remote = cores_.empty() ? 0 : cores_.size() - 1;
        if (me.outstanding)
            from.charge(x.tlbsync_base + x.tlbsync_per_remote_core * remote, Category::Dsb);
        me.outstanding = 0;
        complete_broadcasts(from);
        break;
    }
    }
}

IpiHandle Interconnect::ipi_send(Core& from, const CpuMask& mask, const std::function<void(Core&)>& handler)
{
    const auto& ipi = costs_.ipi;
    auto request = std::make_shared<IpiRequest>(handler);
    Cycles sent = from.time() + ipi.send_base;
    std::size_t targets = 0;
    for (Core* c : cores_) {
        if (c == &from || !mask.test(c->id()))
            continue;
        ++targets;
        ++stats_.ipis;
        ++c->counters().ipis_received;
        // The interrupt controller sends to one target after another. Each target takes the interrupt in its
        // own thread, one at a time, and acknowledges when its handler is done (Core::serve_interrupt).
        sent += ipi.send_per_target;
        ++request->pending;
        c->raise(Interrupt{sent + ipi.delivery, ipi.handler_entry, ipi.ack, request});
    }
    if (targets) {
        from.charge(ipi.send_base + ipi.send_per_target * targets, Category::IpiSend);
        from.counters().ipis_sent += targets;
    }
    return request;
}

} // namespace mmusim::hw
