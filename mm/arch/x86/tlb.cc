// SPDX-License-Identifier: GPL-2.0-only
// x86 TLB flushing: arch/x86/mm/tlb.c's flush path (flush_tlb_mm_range, flush_tlb_multi, flush_tlb_func, the
// INVLPGB broadcast), with the asm/tlbflush.h and asm/tlb.h wrappers the generic code calls.
//
// What the simulated CPUs execute: INVLPG per page of a partial flush, a CR3 write of the mm's PCID for a full
// one (native_flush_tlb_local()), IPIs to the other CPUs of mm_cpumask() (the local flush runs while they
// are in flight), or, for an mm on a global ASID with kernel.use_invlpgb, INVLPGBs and one TLBSYNC. The mm's
// hardware ASID (mm_struct::asid) is its PCID on every CPU; without features.pcid it is 0.
//
// Kernel memory the path touches, each access timed: mm->context.tlb_gen (mm_struct::addr + MM_OFF_TLB_GEN,
// the atomic increment and the reads), mm->context.global_asid beside it, mm_cpumask() (MM_OFF_CPUMASK), and
// per-CPU data allocated on first use: struct tlb_state (loaded_mm, loaded_mm_asid, ctxs[].tlb_gen),
// struct tlb_state_shared (is_lazy) and the initiator's struct flush_tlb_info, which every target of an IPI
// reads. The port has no context switch, so which mm a CPU runs is host-side: a CPU in mm.cpumask runs the
// mm (cpu_tlbstate.loaded_mm == mm), lazily if it is also in mm.lazy (cpu_tlbstate_shared.is_lazy). The loads
// of those fields are made for their cost; their values come from the host. tlb_gen values live only in
// simulated memory.
//
// Deviations from upstream, all because the port does not switch mms on a CPU:
//  - each mm keeps its own ctxs[] context on each CPU (no recycling of TLB_NR_DYN_ASIDS slots; past six mms
//    on one CPU the contexts are separate allocations);
//  - a lazy CPU that must flush (freed_tables) cannot switch to init_mm: it writes CR3 for the mm's PCID
//    instead (the same instruction), leaving its tlb_gen behind as upstream does;
//  - consider_global_asid() runs on every multi-CPU flush, not one call in 32 (upstream samples by
//    pid & 0x1f == jiffies & 0x1f); the global ASID is the mm's own PCID, so the transition to it
//    (finish_asid_transition's IPIs to CPUs still on a dynamic ASID) is immediate;
//  - should_trim_cpumask() (once a second, by jiffies) never trims.
//  - invlpgb_count_max (CPUID Fn8000_0008_EDX[15:0] + 1) is not a platform parameter: the count is limited
//    only by the instruction's 16-bit field.
//
// Statistics (Kernel::stats().flush(kind, pages)), one call per event:
//   flush_tlb_mm, flush_tlb_range, flush_tlb_page, tlb_flush  the entry points; pages: the range asked for
//                                                            (0 for a whole mm)
//   flush_tlb_mm_range   every flush; pages: the range after the ceiling (0 when it became a full flush)
//   flush_tlb_multi      an IPI round; pages: the CPUs interrupted (the local CPU is not counted)
//   flush_tlb_multi_lazy_skipped  an IPI round that left CPUs out; pages: the lazy CPUs left out
//   invlpg               a partial flush on one CPU (flush_tlb_func); pages: INVLPGs it issued
//   full_flush           a full flush on one CPU (CR3 write); pages: 0
//   invlpgb              a broadcast flush (broadcast_tlb_flush); pages: INVLPGB instructions
//   global_asid          an mm given a global ASID (consider_global_asid); pages: 0
#include "mm/arch/x86/pgtable.hh"

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

#include <algorithm>

namespace mmusim::mm {

using namespace x86;
using hw::Category;
using hw::TlbiKind;

namespace {

// Simulated layout of the per-CPU structures (asm/tlbflush.h).
constexpr unsigned TLBSTATE_LOADED_MM = 0, TLBSTATE_LOADED_MM_ASID = 16, TLBSTATE_CTXS = 32, TLB_CONTEXT_BYTES = 16,
                   TLBSTATE_BYTES = 128;
constexpr unsigned INFO_MM = 0, INFO_START = 8, INFO_END = 16, INFO_NEW_TLB_GEN = 24, INFO_FLAGS = 32,
                   INFO_BYTES = 64;
// mm->context.global_asid, in mm_context_t beside tlb_gen.
constexpr unsigned MM_OFF_GLOBAL_ASID = MM_OFF_TLB_GEN + 8;
// The instruction's count field (ECX[15:0] + 1 pages), as upstream's u16 nr can hold it.
constexpr std::uint64_t kInvlpgbCountMax = 0xffff;

// arch/x86/mm/tlb.c kern_pcid(): the PCID the CPUs use for the mm (0 without PCIDs).
Asid kern_pcid(const Ctx& c, const mm_struct& mm)
{
    return c.k.platform().config().features.x86.pcid ? mm.asid : 0;
}

unsigned nr_cpus(const Ctx& c) { return c.k.platform().cores(); }

} // namespace

X86::CpuTlbState& X86::tlbstate(Ctx& c, unsigned cpu)
{
    if (cpus_.size() < nr_cpus(c))
        cpus_.resize(nr_cpus(c));
    CpuTlbState& s = cpus_.at(cpu);
    if (!s.tlbstate) {
        s.tlbstate = c.k.kmalloc(c, TLBSTATE_BYTES);
        s.tlbstate_shared = c.k.kmalloc(c, 64);
        s.flush_info = c.k.kmalloc(c, INFO_BYTES);
    }
    return s;
}

// cpu_tlbstate.ctxs[loaded_mm_asid].tlb_gen of the running CPU for `mm`: zero when the CPU first meets the mm,
// i.e. it has been in every flush of the mm since the mm began (it is in mm_cpumask() whenever it may
// hold the mm's translations).
PAddr X86::ctx_tlb_gen(Ctx& c, mm_struct& mm)
{
    CpuTlbState& s = tlbstate(c, c.cpu.id());
    const auto key = std::make_pair(mm.addr, mm.asid);
    auto it = s.ctx.find(key);
    if (it == s.ctx.end()) {
        const PAddr ctx = s.ctx.size() < TLB_NR_DYN_ASIDS
                              ? s.tlbstate + TLBSTATE_CTXS + TLB_CONTEXT_BYTES * static_cast<unsigned>(s.ctx.size())
                              : c.k.kmalloc(c, TLB_CONTEXT_BYTES);
        c.cpu.store(ctx, mm.asid, 8);    // ctx_id
        c.cpu.store(ctx + 8, 0, 8);      // tlb_gen
        it = s.ctx.emplace(key, ctx).first;
    }
    return it->second + 8;
}

// asm/tlbflush.h inc_mm_tlb_gen(): atomic64_inc_return, also the full barrier against switch_mm().
std::uint64_t X86::inc_mm_tlb_gen(Ctx& c, mm_struct& mm)
{
    return c.cpu.fetch_add(mm.addr + MM_OFF_TLB_GEN, 1, 8) + 1;
}

// arch/x86/mm/tlb.c get_flush_tlb_info(): fills this CPU's flush_tlb_info; above the ceiling the flush
// becomes a full one.
X86::flush_tlb_info X86::get_flush_tlb_info(Ctx& c, mm_struct* mm, Addr start, Addr end, unsigned stride_shift,
                                            bool freed_tables, std::uint64_t new_tlb_gen)
{
    if ((end - start) >> stride_shift > c.k.config().switches.tlb_single_page_flush_ceiling) {
        start = 0;
        end = TLB_FLUSH_ALL;
    }
    flush_tlb_info info;
    info.start = start;
    info.end = end;
    info.mm = mm;
    info.stride_shift = stride_shift;
    info.freed_tables = freed_tables;
    info.new_tlb_gen = new_tlb_gen;
    info.initiating_cpu = c.cpu.id();
    info.trim_cpumask = false;
    info.addr = tlbstate(c, c.cpu.id()).flush_info;
    c.cpu.store(info.addr + INFO_START, start, 8);
    c.cpu.store(info.addr + INFO_END, end, 8);
    c.cpu.store(info.addr + INFO_MM, mm ? mm->addr : 0, 8);
    c.cpu.store(info.addr + INFO_NEW_TLB_GEN, new_tlb_gen, 8);
    c.cpu.store(info.addr + INFO_FLAGS, info.initiating_cpu | std::uint64_t{stride_shift} << 32 |
                                            std::uint64_t{freed_tables} << 40, 8);
    return info;
}

// arch/x86/mm/tlb.c native_flush_tlb_one_user(): INVLPG flushes the address for the current PCID (no PTI, so
// no user PCID to flush as well).
void X86::flush_tlb_one_user(Ctx& c, const mm_struct& mm, Addr addr)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::Invlpg;
    op.operand = addr;
    op.asid = kern_pcid(c, mm);
    c.cpu.tlbi(op);
}

// arch/x86/mm/tlb.c native_flush_tlb_local(): write CR3 back without the no-flush bit, which flushes the
// current PCID's non-global entries.
void X86::flush_tlb_local(Ctx& c, const mm_struct& mm)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::MovCr3;
    op.asid = kern_pcid(c, mm);
    op.noflush = false;
    c.cpu.tlbi(op);
}

// arch/x86/mm/tlb.c flush_tlb_func(): brings this CPU's TLB up to the mm's tlb_gen, by a partial flush when
// this request is the only one it missed, else by a full one.
void X86::flush_tlb_func(Ctx& c, const flush_tlb_info& f)
{
    const unsigned cpu = c.cpu.id();
    CpuTlbState& s = tlbstate(c, cpu);
    c.cpu.load(s.tlbstate + TLBSTATE_LOADED_MM, 8);
    c.cpu.load(s.tlbstate + TLBSTATE_LOADED_MM_ASID, 2);
    c.cpu.load(f.addr + INFO_MM, 8);
    mm_struct& mm = *f.mm;

    // The CPU was left in the mm_cpumask of the target mm. Clear it.
    if (!mm.cpumask.test(cpu)) {
        c.cpu.fetch_andnot(mm.addr + MM_OFF_CPUMASK + 8 * (cpu / 64), std::uint64_t{1} << (cpu % 64), 8);
        mm.cpumask.reset(cpu);
        return;
    }
    // Broadcast ASIDs are always kept up to date with INVLPGB (a CPU of an mm on a global ASID is on it at
    // once here: it is the mm's own PCID).
    if (c.k.config().switches.use_invlpgb && mm.global_asid)
        return;

    c.cpu.load(s.tlbstate_shared, 1);
    if (mm.lazy.test(cpu)) {
        // Upstream switches to init_mm, which leaves the mm's entries unused until it comes back (and flushes
        // then, its tlb_gen being behind). The port cannot switch the core's MMU: it flushes the PCID instead.
        flush_tlb_local(c, mm);
        c.k.stats().flush("full_flush", 0);
        return;
    }

    const PAddr local_gen_pa = ctx_tlb_gen(c, mm);
    const std::uint64_t local_tlb_gen = c.cpu.load(local_gen_pa, 8);
    c.cpu.load(f.addr + INFO_NEW_TLB_GEN, 8);
    if (f.new_tlb_gen != TLB_GENERATION_INVALID && f.new_tlb_gen <= local_tlb_gen)
        return; // already up to date with respect to this request

    // Read as late as possible: the line is contended.
    const std::uint64_t mm_tlb_gen = c.cpu.load(mm.addr + MM_OFF_TLB_GEN, 8);
    if (local_tlb_gen == mm_tlb_gen)
        return; // a concurrent flush caught this CPU up

    c.cpu.load(f.addr + INFO_END, 8);
    if (f.end != TLB_FLUSH_ALL && f.new_tlb_gen == local_tlb_gen + 1 && f.new_tlb_gen == mm_tlb_gen) {
        // Partial flush: this request is the only change since local_tlb_gen.
        c.cpu.load(f.addr + INFO_START, 8);
        c.cpu.load(f.addr + INFO_FLAGS, 8);
        const std::uint64_t nr_invalidate = (f.end - f.start) >> f.stride_shift;
        for (Addr addr = f.start; addr < f.end; addr += Addr{1} << f.stride_shift)
            flush_tlb_one_user(c, mm, addr);
        c.k.stats().flush("invlpg", nr_invalidate);
    } else {
        flush_tlb_local(c, mm);
        c.k.stats().flush("full_flush", 0);
    }
    c.cpu.store(local_gen_pa, mm_tlb_gen, 8);
}

// arch/x86/mm/tlb.c should_flush_tlb(): a lazy CPU flushes at its next switch instead.
bool X86::should_flush_tlb(Ctx& c, unsigned cpu, const flush_tlb_info& info)
{
    const CpuTlbState& s = tlbstate(c, cpu);
    c.cpu.load(s.tlbstate + TLBSTATE_LOADED_MM, 8);
    c.cpu.load(s.tlbstate_shared, 1);
    if (info.mm->lazy.test(cpu))
        return false;
    if (info.mm->cpumask.test(cpu)) // the target mm is loaded and the CPU is not lazy
        return true;
    return info.trim_cpumask;
}

// arch/x86/mm/tlb.c native_flush_tlb_multi() with on_each_cpu_mask() / on_each_cpu_cond_mask()
// (kernel/smp.c smp_call_function_many_cond(): the IPIs go out, the local call runs, then the wait).
void X86::native_flush_tlb_multi(Ctx& c, const hw::CpuMask& cpumask, const flush_tlb_info& info)
{
    const unsigned self = c.cpu.id();
    hw::CpuMask targets;
    bool run_local = false;
    unsigned skipped = 0;
    for (unsigned cpu = 0; cpu < nr_cpus(c); ++cpu) {
        if (!cpumask.test(cpu))
            continue;
        // Page tables freed: every CPU, lazy ones too, so that none walks into a freed table speculatively.
        if (!info.freed_tables && !should_flush_tlb(c, cpu, info)) {
            ++skipped;
            continue;
        }
        if (cpu == self)
            run_local = true;
        else
            targets.set(cpu);
    }
    c.k.stats().flush("flush_tlb_multi", targets.count());
    if (skipped)
        c.k.stats().flush("flush_tlb_multi_lazy_skipped", skipped);
    if (targets.none()) {
        if (run_local)
            flush_tlb_func(c, info);
        return;
    }
    Kernel& k = c.k;
    const hw::IpiHandle ipi = c.cpu.ipi_send(targets, [this, &k, info](hw::Core& target) {
        Ctx tc{k, target};
        flush_tlb_func(tc, info);
    });
    if (run_local)
        flush_tlb_func(c, info);
    c.cpu.ipi_wait(ipi);
}

// asm/tlbflush.h mm_global_asid(): only with broadcast flushing in use (X86_FEATURE_INVLPGB and
// CONFIG_BROADCAST_TLB_FLUSH: kernel.use_invlpgb).
bool X86::mm_global_asid(Ctx& c, mm_struct& mm)
{
    if (!c.k.config().switches.use_invlpgb)
        return false;
    c.cpu.load(mm.addr + MM_OFF_GLOBAL_ASID, 2); // smp_load_acquire(&mm->context.global_asid)
    return mm.global_asid;
}

// arch/x86/mm/tlb.c broadcast_tlb_flush(): INVLPGBs reach every CPU in hardware; TLBSYNC waits for them.
void X86::broadcast_tlb_flush(Ctx& c, const flush_tlb_info& info)
{
    const bool pmd = info.stride_shift == PMD_SHIFT;
    hw::TlbiOp op;
    op.kind = TlbiKind::Invlpgb;
    op.broadcast = true;
    op.asid = kern_pcid(c, *info.mm);
    std::uint64_t issued = 0;
    if (info.end == TLB_FLUSH_ALL) {
        op.va_valid = false; // invlpgb_flush_single_pcid_nosync()
        c.cpu.tlbi(op);
        ++issued;
    } else {
        Addr addr = info.start;
        do {
            std::uint64_t nr = 1;
            if (info.stride_shift <= PMD_SHIFT) {
                nr = (info.end - addr) >> info.stride_shift;
                nr = std::clamp<std::uint64_t>(nr, 1, kInvlpgbCountMax);
            }
            // invlpgb_flush_user_nr_nosync(): by PCID and address
            op.operand = addr;
            op.pages = static_cast<std::uint32_t>(nr);
            op.pmd_stride = pmd;
            c.cpu.tlbi(op);
            ++issued;
            addr += nr << info.stride_shift;
        } while (addr < info.end);
    }
    // finish_asid_transition(): nothing to finish, every CPU already uses the mm's PCID.
    c.cpu.barrier(hw::Barrier::Tlbsync); // __tlbsync()
    c.k.stats().flush("invlpgb", issued);
}

// arch/x86/mm/tlb.c mm_active_cpus_exceeds(): CPUs that really run the mm (loaded, not lazy).
bool X86::mm_active_cpus_exceeds(Ctx& c, mm_struct& mm, unsigned threshold)
{
    for (unsigned w = 0; w * 64 < nr_cpus(c); ++w) // cpumask_weight()
        c.cpu.load(mm.addr + MM_OFF_CPUMASK + 8 * w, 8);
    hw::CpuMask mask = mm.cpumask;
    for (unsigned cpu = nr_cpus(c); cpu < kMaxCores; ++cpu)
        mask.reset(cpu);
    if (mask.count() <= threshold)
        return false;
    unsigned count = 0;
    for (unsigned cpu = 0; cpu < nr_cpus(c); ++cpu) {
        if (!mask.test(cpu))
            continue;
        const CpuTlbState& s = tlbstate(c, cpu);
        c.cpu.load(s.tlbstate + TLBSTATE_LOADED_MM, 8);
        c.cpu.load(s.tlbstate_shared, 1);
        if (mm.lazy.test(cpu))
            continue;
        if (++count > threshold)
            return true;
    }
    return false;
}

// arch/x86/mm/tlb.c consider_global_asid(): an mm active on more than 3 CPUs gets a global ASID, and its
// flushes become INVLPGB broadcasts. Checked on every call here (upstream: one call in 32).
void X86::consider_global_asid(Ctx& c, mm_struct& mm)
{
    if (!c.k.config().switches.use_invlpgb)
        return;
    if (!mm_active_cpus_exceeds(c, mm, 3))
        return;
    // use_global_asid() -> mm_assign_global_asid(): the allocation under global_asid_lock is host-side.
    if (mm.global_asid)
        return;
    mm.global_asid = true;
    c.cpu.store(mm.addr + MM_OFF_GLOBAL_ASID, mm.asid, 2); // smp_store_release(&mm->context.global_asid, asid)
    c.k.stats().flush("global_asid", 0);
}

// include/linux/cpumask.h cpumask_any_but(mm_cpumask(mm), cpu) < nr_cpu_ids
bool X86::cpumask_any_but(Ctx& c, mm_struct& mm, unsigned cpu)
{
    for (unsigned w = 0; w * 64 < nr_cpus(c); ++w) {
        c.cpu.load(mm.addr + MM_OFF_CPUMASK + 8 * w, 8);
        for (unsigned b = w * 64; b < std::min(nr_cpus(c), (w + 1) * 64); ++b)
            if (b != cpu && mm.cpumask.test(b))
                return true;
    }
    return false;
}

// arch/x86/mm/tlb.c flush_tlb_mm_range()
void X86::flush_tlb_mm_range(Ctx& c, mm_struct& mm, Addr start, Addr end, unsigned stride_shift, bool freed_tables)
{
    const unsigned cpu = c.cpu.id();
    ++mm.tlb_flushes;
    const std::uint64_t new_tlb_gen = inc_mm_tlb_gen(c, mm); // also the barrier against switch_mm()
    const flush_tlb_info info = get_flush_tlb_info(c, &mm, start, end, stride_shift, freed_tables, new_tlb_gen);
    c.k.stats().flush("flush_tlb_mm_range", info.end == TLB_FLUSH_ALL ? 0 : (info.end - info.start) >> PAGE_SHIFT);

    if (mm_global_asid(c, mm)) {
        broadcast_tlb_flush(c, info);
    } else if (cpumask_any_but(c, mm, cpu)) {
        native_flush_tlb_multi(c, mm.cpumask, info); // flush_tlb_multi()
        consider_global_asid(c, mm);
    } else if (mm.cpumask.test(cpu)) { // mm == this_cpu_read(cpu_tlbstate.loaded_mm)
        c.cpu.load(tlbstate(c, cpu).tlbstate + TLBSTATE_LOADED_MM, 8);
        flush_tlb_func(c, info);
    }
}

// asm/tlbflush.h flush_tlb_mm()
void X86::flush_tlb_mm(Ctx& c, mm_struct& mm)
{
    c.k.stats().flush("flush_tlb_mm", 0);
    flush_tlb_mm_range(c, mm, 0, TLB_FLUSH_ALL, 0, true);
}

// asm/tlbflush.h flush_tlb_range(): conservatively as if page tables were freed (lazy CPUs get the IPI too);
// no hugetlb VMAs in the port, so the stride is PAGE_SHIFT.
void X86::flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end)
{
    c.k.stats().flush("flush_tlb_range", (end - start) >> PAGE_SHIFT);
    flush_tlb_mm_range(c, *vma.vm_mm, start, end, PAGE_SHIFT, true);
}

// asm/tlbflush.h flush_tlb_page()
void X86::flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr)
{
    c.k.stats().flush("flush_tlb_page", 1);
    flush_tlb_mm_range(c, *vma.vm_mm, addr, addr + PAGE_SIZE, PAGE_SHIFT, false);
}

// asm/tlbflush.h arch_tlbbatch_should_defer(): only if remote CPUs need to be flushed
bool X86::arch_tlbbatch_should_defer(Ctx& c, mm_struct& mm) { return cpumask_any_but(c, mm, c.cpu.id()); }

// asm/tlbflush.h arch_tlbbatch_add_pending(): the range is ignored; the mm's generation moves on and its CPUs
// join the batch (no secondary TLBs in the port: the mmu_notifier call is empty).
void X86::arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch& batch, mm_struct& mm, Addr, Addr)
{
    inc_mm_tlb_gen(c, mm);
    c.cpu.load(mm.addr + MM_OFF_CPUMASK, 8); // cpumask_or(&batch->cpumask, ..., mm_cpumask(mm))
    batch.cpumask |= mm.cpumask;
    batch.unmapped_pages = true;
    if (std::find(batch.mms.begin(), batch.mms.end(), &mm) == batch.mms.end())
        batch.mms.push_back(&mm);
}

// arch/x86/mm/tlb.c arch_tlbbatch_flush(): one full flush of the batch's CPUs (one IPI round), or with
// INVLPGB one broadcast flush. Upstream's info has mm = NULL and each CPU flushes its loaded mm; the port's
// cores have no loaded mm to switch, so each target runs flush_tlb_func() for every mm of the batch (whose
// tlb_gen add_pending advanced: a full flush of that PCID) inside the same IPI.
void X86::arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch& batch)
{
    const unsigned cpu = c.cpu.id();
    if (batch.mms.empty()) {
        batch.cpumask.reset();
        return;
    }
    std::vector<flush_tlb_info> infos;
    for (mm_struct* mm : batch.mms)
        infos.push_back(get_flush_tlb_info(c, mm, 0, TLB_FLUSH_ALL, 0, false, TLB_GENERATION_INVALID));
    hw::CpuMask others = batch.cpumask;
    others.reset(cpu);
    c.k.stats().flush("arch_tlbbatch_flush", 0);
    if (c.k.config().switches.use_invlpgb && batch.unmapped_pages) {
        // invlpgb_flush_all_nonglobals(): one INVLPGB of every non-global translation, then TLBSYNC
        hw::TlbiOp op;
        op.kind = TlbiKind::Invlpgb;
        op.broadcast = true;
        op.va_valid = false;
        for (mm_struct* mm : batch.mms) {
            op.asid = kern_pcid(c, *mm);
            c.cpu.tlbi(op);
        }
        c.cpu.barrier(hw::Barrier::Tlbsync);
        c.k.stats().flush("invlpgb", batch.mms.size());
        batch.unmapped_pages = false;
    } else if (others.any()) {
        // flush_tlb_multi(&batch->cpumask, info): one IPI round
        c.k.stats().flush("flush_tlb_multi", others.count());
        Kernel& k = c.k;
        const hw::IpiHandle ipi = c.cpu.ipi_send(others, [this, &k, infos](hw::Core& target) {
            Ctx tc{k, target};
            for (const flush_tlb_info& info : infos)
                flush_tlb_func(tc, info);
        });
        if (batch.cpumask.test(cpu))
            for (const flush_tlb_info& info : infos)
                flush_tlb_func(c, info);
        c.cpu.ipi_wait(ipi);
    } else if (batch.cpumask.test(cpu)) {
        for (const flush_tlb_info& info : infos)
            flush_tlb_func(c, info);
    }
    batch.cpumask.reset();
    batch.mms.clear();
}

// arch/x86/include/asm/tlb.h tlb_flush() (no page-table unsharing in the port: freed_tables alone).
void X86::tlb_flush(Ctx& c, mmu_gather& tlb)
{
    Addr start = 0, end = TLB_FLUSH_ALL;
    const unsigned stride_shift = tlb_get_unmap_shift(c, tlb);
    if (!tlb.fullmm && !tlb.need_flush_all) {
        start = tlb.start;
        end = tlb.end;
    }
    c.k.stats().flush("tlb_flush", end == TLB_FLUSH_ALL ? 0 : (end - start) >> PAGE_SHIFT);
    flush_tlb_mm_range(c, *tlb.mm, start, end, stride_shift, tlb.freed_tables);
}

} // namespace mmusim::mm
