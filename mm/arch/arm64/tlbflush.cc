// SPDX-License-Identifier: GPL-2.0-only
// arm64 TLB maintenance: arch/arm64/include/asm/tlbflush.h (2026 mm tree, tlbf_t flags) and asm/tlb.h's
// tlb_flush(). Every invalidation is
//     DSB ISHST     page-table stores complete before the TLBI
//     TLBI ...IS    broadcast to every core by the interconnect (DVM); no IPIs
//     DSB ISH       waits until every core has done it
// (the ISB for kernel mappings never applies: the port flushes user mappings only). FEAT_TTL hints are always
// put in the operands (ARM64_HAS_ARMv8_4_TTL); KPTI's second, user-ASID TLBI (__tlbi_user) is not issued,
// since neither Neoverse core needs KPTI; the repeat-TLBI and SME DVMSync errata workarounds do not apply.
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"
#include "mm/mmu_gather.hh"

#include <algorithm>
#include <stdexcept>

namespace mmusim::mm {

using hw::Barrier;
using hw::TlbiKind;
using namespace arm64;

namespace {

Addr round_down(Addr a, std::uint64_t align) { return a - a % align; }
Addr round_up(Addr a, std::uint64_t align) { return round_down(a + align - 1, align); }

} // namespace

// __tlbi_sync_s1ish(): completes this core's broadcast maintenance.
void Arm64::__tlbi_sync_s1ish(Ctx& c) { c.cpu.barrier(Barrier::DsbIsh); }

// asm/tlbflush.h flush_tlb_mm(): every entry of the mm's ASID, on every core.
void Arm64::flush_tlb_mm(Ctx& c, mm_struct& mm)
{
    c.cpu.barrier(Barrier::DsbIshst);
    const std::uint64_t asid = hw::arm64::va_operand(0, mm.asid, page_shift_); // __TLBI_VADDR(0, ASID(mm))
    c.cpu.tlbi(hw::arm64::tlbi(TlbiKind::ASIDE1, asid, true));
    __tlbi_sync_s1ish(c);
    c.k.stats().flush("flush_tlb_mm", 0);
    c.k.stats().flush("tlbi_ops", 1);
}

// asm/tlbflush.h __flush_tlb_range_limit_excess(): above this, one ASID-wide TLBI replaces the range (a soft
// lockup guard more than an optimisation). With range operations at most ~20 DVM ops cover any range up to
// MAX_TLBI_RANGE_PAGES; without, MAX_DVM_OPS (= PTRS_PER_PTE) per-stride TLBIs.
bool Arm64::__flush_tlb_range_limit_excess(const Ctx& c, std::uint64_t pages, std::uint64_t stride) const
{
    if (c.k.config().switches.use_tlbi_range)
        return pages > MAX_TLBI_RANGE_PAGES;
    const std::uint64_t max_dvm_ops = ptrs_per_pte(); // MAX_DVM_OPS
    return pages >= (max_dvm_ops * stride) >> page_shift_;
}

// asm/tlbflush.h __flush_tlb_range_op(): without FEAT_TLBIRANGE (system_supports_tlb_range(), the kernel switch
// use_tlbi_range) one TLBI per stride. With it, from SCALE 3 down, one range op for the largest
// (NUM+1) << (5*SCALE+1) pages that fit, then a single-page op for a last odd page. LPA2 is off, so no
// per-page prologue up to 64K alignment. Returns the TLBIs issued.
unsigned Arm64::__flush_tlb_range_op(Ctx& c, TlbiKind lop, TlbiKind rop, bool broadcast, Addr start,
                                     std::uint64_t pages, std::uint64_t stride, Asid asid, int level)
{
    const bool tlb_range = c.k.config().switches.use_tlbi_range;
    const Addr end = start + (pages << page_shift_);
    // __tlbi_level_asid() hints levels 0..3; the operand helper encodes 1..3 (no leaf lives at level 0).
    const int ttl = level >= 1 && level <= 3 ? level : -1;
    Addr addr = start;
    int scale = 3;
    unsigned ops = 0;
    while (addr != end) {
        pages = (end - addr) >> page_shift_;
        if (tlb_range && pages != 1) {
            const int num = __TLBI_RANGE_NUM(pages, scale);
            if (num >= 0) {
                c.cpu.tlbi(hw::arm64::tlbi(rop,
                                           hw::arm64::range_operand(addr, asid, page_shift_, static_cast<unsigned>(scale),
                                                                    static_cast<unsigned>(num), ttl),
                                           broadcast));
                ++ops;
                addr += __TLBI_RANGE_PAGES(num, scale) << page_shift_;
            }
            --scale;
            continue;
        }
        // invalidate_one:
        c.cpu.tlbi(hw::arm64::tlbi(lop, hw::arm64::va_operand(addr, asid, page_shift_, ttl), broadcast));
        ++ops;
        addr += stride;
    }
    return ops;
}

// asm/tlbflush.h __do_flush_tlb_range(). flags: TLBF_NOWALKCACHE (leaf-only VALE1 instead of VAE1),
// TLBF_NOSYNC (no trailing DSB: a later DSB completes it), TLBF_NOBROADCAST (this core only: VALE1 and DSB NSH;
// valid only with NOWALKCACHE). Returns the TLBIs issued.
unsigned Arm64::__do_flush_tlb_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t stride, int tlb_level,
                                     tlbf_t flags)
{
    const std::uint64_t pages = (end - start) >> page_shift_;
    if (__flush_tlb_range_limit_excess(c, pages, stride)) {
        flush_tlb_mm(c, mm);
        return 1;
    }

    const bool broadcast = !(flags & TLBF_NOBROADCAST);
    // dsb(ishst), or dsb(nshst) for a local flush: the hardware model has no NSHST form, and DSB NSH (which
    // also orders the stores, on this core) stands in for it.
    c.cpu.barrier(broadcast ? Barrier::DsbIshst : Barrier::DsbNsh);

    unsigned ops = 0;
    switch (flags & (TLBF_NOWALKCACHE | TLBF_NOBROADCAST)) {
    case TLBF_NONE:
        ops = __flush_tlb_range_op(c, TlbiKind::VAE1, TlbiKind::RVAE1, true, start, pages, stride, mm.asid, tlb_level);
        break;
    case TLBF_NOWALKCACHE:
        ops = __flush_tlb_range_op(c, TlbiKind::VALE1, TlbiKind::RVALE1, true, start, pages, stride, mm.asid, tlb_level);
        break;
    case TLBF_NOBROADCAST:
        throw std::logic_error("__flush_tlb_range: TLBF_NOBROADCAST without TLBF_NOWALKCACHE (BUG() upstream)");
    case TLBF_NOWALKCACHE | TLBF_NOBROADCAST:
        ops = __flush_tlb_range_op(c, TlbiKind::VALE1, TlbiKind::RVALE1, false, start, pages, stride, mm.asid, tlb_level);
        break;
    }

    if (!(flags & TLBF_NOSYNC)) {
        if (broadcast)
            __tlbi_sync_s1ish(c);
        else
            c.cpu.barrier(Barrier::DsbNsh);
    }
    c.k.stats().flush(broadcast ? "flush_tlb_range" : "flush_tlb_range_local", pages);
    c.k.stats().flush("tlbi_ops", ops);
    return ops;
}

// asm/tlbflush.h __flush_tlb_range(): [start, end) rounded out to the stride.
void Arm64::__flush_tlb_range(Ctx& c, mm_struct& mm, Addr start, Addr end, std::uint64_t stride, int tlb_level,
                              tlbf_t flags)
{
    start = round_down(start, stride);
    end = round_up(end, stride);
    __do_flush_tlb_range(c, mm, start, end, stride, tlb_level, flags);
}

// asm/tlbflush.h flush_tlb_range(): not leaf-only and no level hint, since callers may be invalidating table
// entries (collapsing huge pages, moving page tables).
void Arm64::flush_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end)
{
    __flush_tlb_range(c, *vma.vm_mm, start, end, page_size(), TLBI_TTL_UNKNOWN, TLBF_NONE);
}

// asm/tlbflush.h flush_pmd_tlb_range(): stride PMD_SIZE, level 2 hint, walk caches included (not last level)
void Arm64::flush_pmd_tlb_range(Ctx& c, vm_area_struct& vma, Addr start, Addr end)
{
    __flush_tlb_range(c, *vma.vm_mm, start, end, pmd_size(c), 2, TLBF_NONE);
}

// asm/tlbflush.h __flush_tlb_page(): one level-3 entry, walk caches untouched.
void Arm64::__flush_tlb_page(Ctx& c, mm_struct& mm, Addr uaddr, tlbf_t flags)
{
    const Addr start = round_down(uaddr, page_size());
    __do_flush_tlb_range(c, mm, start, start + page_size(), page_size(), 3, TLBF_NOWALKCACHE | flags);
}

// asm/tlbflush.h flush_tlb_page()
void Arm64::flush_tlb_page(Ctx& c, vm_area_struct& vma, Addr addr) { __flush_tlb_page(c, *vma.vm_mm, addr, TLBF_NONE); }

// The contpte block around addr on this core only (older trees' local_flush_tlb_contpte(); the current one
// open-codes this __flush_tlb_range() in contpte_ptep_set_access_flags()).
void Arm64::local_flush_tlb_contpte(Ctx& c, vm_area_struct& vma, Addr addr)
{
    addr &= cont_pte_mask();
    __flush_tlb_range(c, *vma.vm_mm, addr, addr + cont_pte_size(), page_size(), 3, TLBF_NOWALKCACHE | TLBF_NOBROADCAST);
}

// asm/tlbflush.h arch_tlbbatch_add_pending(): the TLBIs go out now, without the DSB; arch_tlbbatch_flush()
// waits for all of them at once.
void Arm64::arch_tlbbatch_add_pending(Ctx& c, arch_tlbflush_unmap_batch&, mm_struct& mm, Addr start, Addr end)
{
    __flush_tlb_range(c, mm, start, end, page_size(), 3, TLBF_NOWALKCACHE | TLBF_NOSYNC);
}

// asm/tlbflush.h arch_tlbbatch_flush()
void Arm64::arch_tlbbatch_flush(Ctx& c, arch_tlbflush_unmap_batch&)
{
    c.k.stats().flush("arch_tlbbatch_flush", 0);
    __tlbi_sync_s1ish(c);
}

// asm/tlb.h tlb_flush(): leaf-only unless page tables were freed (hugetlb PMD unsharing, the other reason
// upstream, is not modelled). Tearing down the whole mm needs only the walk-cache entries gone, since the ASID
// allocator never reuses an ASID without invalidating it: flush_tlb_mm() only if tables were freed.
void Arm64::tlb_flush(Ctx& c, mmu_gather& tlb)
{
    const tlbf_t flags = tlb.freed_tables ? TLBF_NONE : TLBF_NOWALKCACHE;
    const std::uint64_t stride = tlb_get_unmap_size(c, tlb);
    const int tlb_level = tlb_get_level(tlb);

    if (tlb.fullmm) {
        if (flags == TLBF_NONE)
            flush_tlb_mm(c, *tlb.mm);
        return;
    }
    __flush_tlb_range(c, *tlb.mm, tlb.start, tlb.end, stride, tlb_level, flags);
}

} // namespace mmusim::mm
