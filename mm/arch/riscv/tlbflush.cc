// SPDX-License-Identifier: GPL-2.0-only
// RISC-V TLB flushing: arch/riscv/mm/tlbflush.c, the asm/tlbflush.h SFENCE.VMA wrappers and asm/tlb.h's
// tlb_flush().
//
// What the simulated harts execute: SFENCE.VMA rs1=VA, rs2=ASID per stride of a range up to
// tlb_flush_all_threshold (64) PTEs, SFENCE.VMA x0, ASID above it or for a whole mm; when mm_cpumask() holds
// another CPU, IPIs to every CPU of it (on_each_cpu_mask(): the local flush runs while the interrupts are in
// flight) and each target flushes locally from the initiator's struct flush_tlb_range_data. The ASID is the
// mm's hardware ASID (mm_struct::asid), read as mm->context.id.
//
// Not modelled: the SBI remote fence (riscv_use_sbi_for_rfence(): sbi_remote_sfence_vma_asid() asks the M-mode
// firmware to fence the other harts). The platform has no SBI firmware model, so remote flushes always take
// the IPI path, as upstream does when the harts have an IPI device of their own (ACLINT SSWI or IMSIC).
// Svinval (SINVAL.VMA between SFENCE.W.INVAL and SFENCE.INVAL.IR) and hugetlb strides are not modelled either;
// flush_tlb_kernel_range() is not ported.
//
// Kernel memory the path touches, each access timed: mm->context.id (get_mm_asid(); MM_OFF_CONTEXT_ID), the
// mm_cpumask() words (cpumask_empty(), cpumask_any_but()) and the initiator's struct flush_tlb_range_data,
// which it writes and every IPI target reads (per CPU, all allocated at the first flush; upstream it is on
// the initiator's stack). Values come from the host (mm_struct::asid, mm_struct::cpumask); the loads are made for
// their cost.
//
// Statistics (Kernel::stats().flush(kind, pages)), one call per event:
//   flush_tlb_mm, flush_tlb_range, flush_tlb_page, flush_tlb_mm_range, tlb_flush
//                            the entry points; pages: the range asked for in base pages (0 for a whole mm)
//   on_each_cpu_mask         a flush sent to other CPUs; pages: the CPUs interrupted (the initiator not counted)
//   local_flush_tlb_page     one CPU's flush of a single stride (size <= stride); pages: 1
//   local_flush_tlb_range    one CPU's per-stride loop (up to the threshold); pages: SFENCE.VMAs issued
//   local_flush_tlb_all_asid one CPU's whole-ASID flush (a whole mm, or above the threshold); pages: 0
//   update_mmu_cache_range   the fault path's local fences (pgtable.cc); pages: SFENCE.VMAs issued
//   sfence_vma               one record per local flush above; pages: SFENCE.VMA instructions issued
#include "mm/arch/riscv/pgtable.hh"

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

#include <algorithm>

namespace mmusim::mm {

using namespace riscv;
using hw::TlbiKind;

namespace {

// mm->context.id (riscv mm_context_t), in the mm_context_t slot that x86 uses for tlb_gen.
constexpr unsigned MM_OFF_CONTEXT_ID = MM_OFF_TLB_GEN;
// Simulated layout of struct flush_tlb_range_data.
constexpr unsigned FTD_ASID = 0, FTD_START = 8, FTD_SIZE = 16, FTD_STRIDE = 24, FTD_BYTES = 32;

unsigned nr_cpu_ids(const Ctx& c) { return c.k.platform().cores(); }

std::uint64_t div_round_up(std::uint64_t n, std::uint64_t d) { return (n + d - 1) / d; }

hw::TlbiOp sfence_vma(Addr va, bool all_va, std::uint64_t asid, bool all_asid)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::SfenceVma;
    op.operand = all_va ? 0 : va;
    op.all_va = all_va;
    op.asid = all_asid ? 0 : static_cast<Asid>(asid);
    op.all_asid = all_asid;
    return op;
}

} // namespace

// asm/tlbflush.h local_flush_tlb_all(): sfence.vma (every address, every ASID)
void Riscv::local_flush_tlb_all(Ctx& c) { c.cpu.tlbi(sfence_vma(0, true, 0, true)); }

// asm/tlbflush.h local_flush_tlb_all_asid(): sfence.vma x0, asid
void Riscv::local_flush_tlb_all_asid(Ctx& c, std::uint64_t asid)
{
    if (asid != FLUSH_TLB_NO_ASID)
        c.cpu.tlbi(sfence_vma(0, true, asid, false)); // ALT_SFENCE_VMA_ASID
    else
        local_flush_tlb_all(c);
}

// asm/tlbflush.h local_flush_tlb_page(): sfence.vma addr (every ASID)
void Riscv::local_flush_tlb_page(Ctx& c, Addr addr)
{
    c.cpu.tlbi(sfence_vma(addr, false, 0, true)); // ALT_SFENCE_VMA_ADDR
}

// asm/tlbflush.h local_flush_tlb_page_asid(): sfence.vma addr, asid
void Riscv::local_flush_tlb_page_asid(Ctx& c, Addr addr, std::uint64_t asid)
{
    if (asid != FLUSH_TLB_NO_ASID)
        c.cpu.tlbi(sfence_vma(addr, false, asid, false)); // ALT_SFENCE_VMA_ADDR_ASID
    else
        local_flush_tlb_page(c, addr);
}

// arch/riscv/mm/tlbflush.c local_flush_tlb_range_threshold_asid(): one SFENCE.VMA per stride, or the whole
// ASID past tlb_flush_all_threshold PTEs.
void Riscv::local_flush_tlb_range_threshold_asid(Ctx& c, Addr start, std::uint64_t size, std::uint64_t stride,
                                                 std::uint64_t asid)
{
    const std::uint64_t nr_ptes_in_range = div_round_up(size, stride);
    if (nr_ptes_in_range > tlb_flush_all_threshold) {
        local_flush_tlb_all_asid(c, asid);
        c.k.stats().flush("local_flush_tlb_all_asid", 0);
        c.k.stats().flush("sfence_vma", 1);
        return;
    }
    for (std::uint64_t i = 0; i < nr_ptes_in_range; ++i) {
        local_flush_tlb_page_asid(c, start, asid);
        start += stride;
    }
    c.k.stats().flush("local_flush_tlb_range", nr_ptes_in_range);
    c.k.stats().flush("sfence_vma", nr_ptes_in_range);
}

// arch/riscv/mm/tlbflush.c local_flush_tlb_range_asid()
void Riscv::local_flush_tlb_range_asid(Ctx& c, Addr start, std::uint64_t size, std::uint64_t stride,
                                       std::uint64_t asid)
{
    if (size <= stride) {
        local_flush_tlb_page_asid(c, start, asid);
        c.k.stats().flush("local_flush_tlb_page", 1);
        c.k.stats().flush("sfence_vma", 1);
    } else if (size == FLUSH_TLB_MAX_SIZE) {
        local_flush_tlb_all_asid(c, asid);
        c.k.stats().flush("local_flush_tlb_all_asid", 0);
        c.k.stats().flush("sfence_vma", 1);
    } else {
        local_flush_tlb_range_threshold_asid(c, start, size, stride, asid);
    }
}

// arch/riscv/mm/tlbflush.c __ipi_flush_tlb_range_asid(): the IPI handler, reading the initiator's request.
void Riscv::__ipi_flush_tlb_range_asid(Ctx& c, PAddr info, const flush_tlb_range_data& d)
{
    c.cpu.load(info + FTD_START, 8);
    c.cpu.load(info + FTD_SIZE, 8);
    c.cpu.load(info + FTD_STRIDE, 8);
    c.cpu.load(info + FTD_ASID, 8);
    local_flush_tlb_range_asid(c, d.start, d.size, d.stride, d.asid);
}

// arch/riscv/mm/tlbflush.c get_mm_asid(): cntx2asid(atomic_long_read(&mm->context.id))
std::uint64_t Riscv::get_mm_asid(Ctx& c, mm_struct* mm)
{
    if (!mm)
        return FLUSH_TLB_NO_ASID;
    c.cpu.load(mm->addr + MM_OFF_CONTEXT_ID, 8);
    return mm->asid;
}

// mm_cpumask(mm) as the flush reads it (cpumask_empty(), cpumask_any_but()): every word of the mask loaded,
// the value the host's, limited to the online CPUs.
hw::CpuMask Riscv::read_mm_cpumask(Ctx& c, mm_struct& mm)
{
    for (unsigned w = 0; w * 64 < nr_cpu_ids(c); ++w)
        c.cpu.load(mm.addr + MM_OFF_CPUMASK + 8 * w, 8);
    hw::CpuMask mask = mm.cpumask;
    for (unsigned cpu = nr_cpu_ids(c); cpu < kMaxCores; ++cpu)
        mask.reset(cpu);
    return mask;
}

// This CPU's flush_tlb_range_data. Upstream it is on the initiator's stack, which exists from boot: every
// CPU's is allocated at the first flush of any kind, so that none is allocated in the middle of a workload.
PAddr Riscv::ftd_area(Ctx& c)
{
    if (ftd_.empty())
        for (unsigned cpu = 0; cpu < nr_cpu_ids(c); ++cpu)
            ftd_.push_back(c.k.kmalloc(c, FTD_BYTES));
    return ftd_.at(c.cpu.id());
}

// arch/riscv/mm/tlbflush.c __flush_tlb_range() for mm_cpumask(mm): this CPU alone flushes locally; otherwise
// on_each_cpu_mask() (kernel/smp.c smp_call_function_many_cond(): the IPIs go out, the local call runs if
// this CPU is in the mask, then the wait). riscv_use_sbi_for_rfence() is false here (see the top).
void Riscv::__flush_tlb_range(Ctx& c, mm_struct* mm, const hw::CpuMask& cmask, Addr start, std::uint64_t size,
                              std::uint64_t stride)
{
    const std::uint64_t asid = get_mm_asid(c, mm);
    const PAddr info = ftd_area(c);
    if (cmask.none()) // cpumask_empty()
        return;
    const unsigned cpu = c.cpu.id(); // get_cpu()

    // Check if the TLB flush needs to be sent to other CPUs: cpumask_any_but(cmask, cpu) >= nr_cpu_ids.
    hw::CpuMask others = cmask;
    others.reset(cpu);
    if (others.none()) {
        local_flush_tlb_range_asid(c, start, size, stride, asid);
        return;
    }

    flush_tlb_range_data ftd;
    ftd.asid = asid;
    ftd.start = start;
    ftd.size = size;
    ftd.stride = stride;
    c.cpu.store(info + FTD_ASID, asid, 8);
    c.cpu.store(info + FTD_START, start, 8);
    c.cpu.store(info + FTD_SIZE, size, 8);
    c.cpu.store(info + FTD_STRIDE, stride, 8);

    // on_each_cpu_mask(cmask, __ipi_flush_tlb_range_asid, &ftd, 1)
    c.k.stats().flush("on_each_cpu_mask", others.count());
    Kernel& k = c.k;
    const hw::IpiHandle ipi = c.cpu.ipi_send(others, [this, &k, info, ftd](hw::Core& target) {
        Ctx tc{k, target};
        __ipi_flush_tlb_range_asid(tc, info, ftd);
    });
    if (cmask.test(cpu))
        __ipi_flush_tlb_range_asid(c, info, ftd);
    c.cpu.ipi_wait(ipi);
    // put_cpu(); mmu_notifier_arch_invalidate_secondary_tlbs(): no secondary TLBs
}

// arch/riscv/mm/tlbflush.c arch_tlbbatch_add_pending(): only the mm's CPUs join the batch (the address is
// not used)
void Riscv::arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch& batch, mm_struct& mm, Addr, Addr)
{
    batch.cpumask |= read_mm_cpumask(c, mm); // cpumask_or(&batch->cpumask, &batch->cpumask, mm_cpumask(mm))
}

// arch/riscv/mm/tlbflush.c arch_tlbbatch_flush(): every ASID on every CPU of the batch (sfence.vma x0, x0)
void Riscv::arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch& batch)
{
    c.k.stats().flush("arch_tlbbatch_flush", 0);
    __flush_tlb_range(c, nullptr, batch.cpumask, 0, FLUSH_TLB_MAX_SIZE, PAGE_SIZE);
    batch.cpumask.reset();
}

// arch/riscv/mm/tlbflush.c flush_tlb_mm()
void Riscv::flush_tlb_mm(Ctx& c, mm_struct& mm)
{
    c.k.stats().flush("flush_tlb_mm", 0);
    __flush_tlb_range(c, &mm, read_mm_cpumask(c, mm), 0, FLUSH_TLB_MAX_SIZE, PAGE_SIZE);
}

// arch/riscv/mm/tlbflush.c flush_tlb_mm_range()
void Riscv::flush_tlb_mm_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t page_size)
{
    c.k.stats().flush("flush_tlb_mm_range", (end - start) >> PAGE_SHIFT);
    __flush_tlb_range(c, &mm, read_mm_cpumask(c, mm), start, end - start, page_size);
}

// arch/riscv/mm/tlbflush.c flush_tlb_page()
void Riscv::flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr)
{
    c.k.stats().flush("flush_tlb_page", 1);
    __flush_tlb_range(c, vma.vm_mm, read_mm_cpumask(c, *vma.vm_mm), addr, PAGE_SIZE, PAGE_SIZE);
}

// arch/riscv/mm/tlbflush.c flush_tlb_range(): no hugetlb VMAs in the port, so the stride is PAGE_SIZE.
void Riscv::flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end)
{
    c.k.stats().flush("flush_tlb_range", (end - start) >> PAGE_SHIFT);
    __flush_tlb_range(c, vma.vm_mm, read_mm_cpumask(c, *vma.vm_mm), start, end - start, PAGE_SIZE);
}

// arch/riscv/mm/tlbflush.c flush_pmd_tlb_range(): the stride is PMD_SIZE
void Riscv::flush_pmd_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end)
{
    c.k.stats().flush("flush_pmd_tlb_range", (end - start) >> PAGE_SHIFT);
    __flush_tlb_range(c, vma.vm_mm, read_mm_cpumask(c, *vma.vm_mm), start, end - start, std::uint64_t{1} << PMD_SHIFT);
}

// arch/riscv/include/asm/tlb.h tlb_flush(): freed page tables need the whole ASID flushed, since an
// SFENCE.VMA with an address need only remove leaf entries, not the walk-cache entries of the freed tables.
void Riscv::tlb_flush(Ctx& c, mmu_gather& tlb)
{
    const bool whole = tlb.fullmm || tlb.need_flush_all || tlb.freed_tables;
    c.k.stats().flush("tlb_flush", whole || tlb.empty_range() ? 0 : (tlb.end - tlb.start) >> PAGE_SHIFT);
    if (whole)
        flush_tlb_mm(c, *tlb.mm);
    else
        flush_tlb_mm_range(c, *tlb.mm, tlb.start, tlb.end, tlb_get_unmap_size(c, tlb));
}

} // namespace mmusim::mm
