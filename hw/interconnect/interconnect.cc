// SPDX-License-Identifier: GPL-2.0-only
#include "hw/interconnect/interconnect.hh"

#include "util/ftrace.hh"

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

namespace {

// INVLPGB always broadcasts; an arm64 TLBI in its IS forms.
bool broadcasts(const TlbiOp& op) { return op.broadcast || op.kind == TlbiKind::Invlpgb; }

// One operation over several pages: an arm64 range TLBI (FEAT_TLBIRANGE), an INVLPGB with a page count
// (ECX[15:0] > 0). Each receiving core searches its TLBs once for it, at the range cost.
bool one_range_op(const TlbiOp& op) { return is_range(op.kind) || (op.kind == TlbiKind::Invlpgb && op.pages > 1); }

} // namespace

const BroadcastCosts& Interconnect::fabric(TlbiKind k) const
{
    return is_arm64(k) ? costs_.arm64.dvm : costs_.x86.invlpgb_fabric;
}

BroadcastChannel& Interconnect::channel(const BroadcastCosts& costs)
{
    // One architecture per platform (require() refuses the others' instructions), so one set of costs.
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
    MMUSIM_TRACE_EVENT(from.time(), from.id(), "tlbi {}", op.describe());
    from.charge(issue_cost(op), Category::Tlbi);
    const auto scope = scope_of(op, fmt_);
    CoreState& me = state_[from.id()];
    if (broadcasts(op)) {
        // TLBI ...IS as a DVM message, INVLPGB as AMD's broadcast: one mechanism, each with its parameters.
        ++stats_.broadcast_ops;
        const BroadcastChannel::Delivery d = channel(fabric(op.kind)).post(from.id(), from.time(), one_range_op(op));
        for (std::size_t r = 0; r < cores_.size(); ++r)
            if (d.receiver_busy[r] && !cores_[r]->done()) // an idle core's TLB search delays no work
                cores_[r]->charge(d.receiver_busy[r], Category::TlbiReceive);
        ++me.outstanding;
        if (scope)
            me.broadcast.push_back(*scope); // completes at the issuer's DSB ISH / TLBSYNC
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

Cycles Interconnect::sync_broadcasts(Core& from, const BroadcastCosts& costs)
{
    CoreState& me = state_[from.id()];
    if (!me.outstanding)
        return 0;
    me.outstanding = 0;
    const Cycles t = from.time();
    return channel(costs).sync(from.id(), t) - t;
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
    MMUSIM_TRACE_EVENT(from.time(), from.id(), "barrier {}", to_string(kind));
    switch (kind) {
    case Barrier::DsbIsh: {
        // Waits for every TLBI this core issued, broadcast or local: with broadcasts outstanding it sends a
        // DVM Sync and waits for its acknowledgements; never shorter than the barrier itself.
        from.charge(std::max(costs_.arm64.dsb_ish_base, sync_broadcasts(from, costs_.arm64.dvm)), Category::Dsb);
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
    case Barrier::Tlbsync:
        // Waits for this core's INVLPGBs as DSB ISH does for TLBIs: the completion message through the same
        // fabric, acknowledged by each core once it has served them. No cost of its own beyond that: with
        // nothing outstanding it is free (Linux executes it only with INVLPGBs outstanding,
        // cpu_tlbstate.need_tlbsync in arch/x86/mm/tlb.c).
        from.charge(sync_broadcasts(from, costs_.x86.invlpgb_fabric), Category::Dsb);
        complete_broadcasts(from);
        break;
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
        MMUSIM_TRACE_EVENT(from.time(), from.id(), "ipi to cpu{} arriving at {}", c->id(), sent + ipi.delivery);
        c->raise(Interrupt{sent + ipi.delivery, ipi.handler_entry, ipi.ack, request});
    }
    if (targets) {
        from.charge(ipi.send_base + ipi.send_per_target * targets, Category::IpiSend);
        from.counters().ipis_sent += targets;
    }
    return request;
}

} // namespace mmusim::hw
