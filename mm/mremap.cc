// SPDX-License-Identifier: GPL-2.0-only
#include "mm/mremap.hh"
#include "util/ftrace.hh"

#include "hw/core/spinlock.hh"
#include "hw/pgtable/walk_down.hh"
#include "mm/internal.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <vector>

namespace mmusim::mm {

using hw::Category;

namespace {

// mm/mremap.c enum mremap_type
enum class mremap_type { MREMAP_INVALID, MREMAP_NO_RESIZE, MREMAP_SHRINK, MREMAP_EXPAND };

// mm/mremap.c struct vma_remap_struct (no userfaultfd, no accounting)
struct vma_remap_struct {
    Addr addr = 0;
    std::uint64_t old_len = 0, new_len = 0;
    unsigned flags = 0;
    Addr new_addr = 0;
    vm_area_struct* vma = nullptr;
    std::uint64_t delta = 0;
    mremap_type remap_type = mremap_type::MREMAP_INVALID;
};

int leaf_depth(const Ctx& c) { return c.k.format().levels() - 1; }
std::uint64_t level_span(const Ctx& c, int d) { return std::uint64_t{1} << c.k.format().level(d).shift; }
std::uint64_t page_align(const Ctx& c, std::uint64_t len) { return (len + c.k.page_size() - 1) & ~(c.k.page_size() - 1); }
bool is_err_value(long v) { return v < 0; } // IS_ERR_VALUE()

// READ_ONCE() of an entry above the PTEs
std::uint64_t entry_get(Ctx& c, PtePtr p) { return c.cpu.load(p, kPteBytes, Category::PteLoad); }

// mm/mremap.c get_old_pud() / get_old_pmd(): the entry at depth `d` covering addr when every level above it
// is present (pgd_none_or_clear_bad() ...), else 0
PtePtr get_old_entry(Ctx& c, mm_struct& mm, Addr addr, int d)
{
    const hw::PageTableFormat& fmt = c.k.format();
    PAddr table = mm.pgd;
    for (int l = 0; l < d; ++l) {
        const std::uint64_t v = entry_get(c, hw::descriptor_pa(fmt, table, addr, l));
        if (v == 0)
            return 0;
        const hw::Descriptor desc = fmt.decode(l, v);
        if (desc.type != hw::Descriptor::Type::Table)
            throw std::logic_error("move_page_tables: huge mappings are not ported");
        table = desc.oa;
    }
    return hw::descriptor_pa(fmt, table, addr, d);
}

// mm/mremap.c move_soft_dirty_pte(): moved PTEs are soft-dirty, so that user space notices the move
// (pgtable_supports_soft_dirty(): x86 here); a swap PTE carries the bit in its swap form
pte_t move_soft_dirty_pte(const Ctx& c, pte_t pte)
{
    const Arch& a = c.k.arch();
    if (a.pte_none(pte))
        return pte;
    if (a.pte_present(pte))
        return a.pte_mksoft_dirty(pte);
    return a.pte_swp_mksoft_dirty(pte);
}

// mm/mremap.c mremap_folio_pte_batch(): how many PTEs from ptep map consecutive pages of one large folio
// with the same write bit. An architecture whose pte_batch_hint() is 1 (no contiguous bit: x86) is not even
// looked at.
unsigned mremap_folio_pte_batch(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t pte, unsigned max_nr)
{
    if (max_nr == 1)
        return 1;
    // Avoid expensive folio lookup if we stand no chance of benefit.
    if (pte_batch_hint(c, ptep, pte) == 1)
        return 1;
    const std::optional<pfn_t> page = vm_normal_page(c, vma, addr, pte); // vm_normal_folio()
    if (!page)
        return 1;
    const Folio folio = page_folio(c, *page);
    if (!folio_test_large(c, folio))
        return 1;
    return folio_pte_batch_flags(c, folio, nullptr, ptep, &pte, max_nr, FPB_RESPECT_WRITE);
}

// mm/mremap.c move_ptes(): both PTE tables locked, each present PTE (batch) cleared at the old address and
// set at the new one, then the old range flushed from the TLBs before the locks go (the old PTL for
// folio_mkclean(), the new one so that the page stays valid until the old TLB entries are gone)
int move_ptes(Ctx& c, pagetable_move_control& pmc, std::uint64_t extent, PtePtr old_pmd, PtePtr new_pmd)
{
    vm_area_struct& vma = *pmc.old;
    mm_struct& mm = *vma.vm_mm;
    const Arch& a = c.k.arch();
    Addr old_addr = pmc.old_addr, new_addr = pmc.new_addr;
    const Addr old_end = old_addr + extent;
    const std::uint64_t len = old_end - old_addr;
    bool force_flush = false;
    // need_rmap_locks (take_rmap_locks()): copy_vma() never merges here, so the new VMA comes after the old
    // one in rmap order and no rmap lock is needed.

    // We don't have to worry about the ordering of src and dst pte locks because exclusive mmap_lock
    // prevents deadlock.
    PtePtr old_ptep = pte_offset_map(c, old_pmd, old_addr); // pte_offset_map_lock()
    if (!old_ptep)
        return -EAGAIN;
    const PAddr old_ptl = pte_lockptr(c, old_ptep);
    hw::SpinLock(old_ptl).lock(c.cpu);
    PtePtr new_ptep = pte_offset_map(c, new_pmd, new_addr); // pte_offset_map_rw_nolock()
    if (!new_ptep) {
        hw::SpinLock(old_ptl).unlock(c.cpu);
        return -EAGAIN;
    }
    const PAddr new_ptl = pte_lockptr(c, new_ptep);
    if (new_ptl != old_ptl)
        hw::SpinLock(new_ptl).lock(c.cpu); // spin_lock_nested()
    flush_tlb_batched_pending(c, mm);

    unsigned nr_ptes = 1;
    for (; old_addr < old_end; old_ptep = pte_offset(old_ptep, nr_ptes), old_addr += nr_ptes * c.k.page_size(),
                               new_ptep = pte_offset(new_ptep, nr_ptes), new_addr += nr_ptes * c.k.page_size()) {
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        nr_ptes = 1;
        const unsigned max_nr_ptes = static_cast<unsigned>((old_end - old_addr) >> c.k.page_shift());
        const pte_t old_pte = ptep_get(c, old_ptep);
        if (a.pte_none(old_pte))
            continue;
        // If we are remapping a valid PTE, make sure to flush TLB before we drop the PTL for the PTE. A
        // non-present one (a swap entry) moves alone and needs no flush.
        if (a.pte_present(old_pte)) {
            nr_ptes = mremap_folio_pte_batch(c, vma, old_addr, old_ptep, old_pte, max_nr_ptes);
            force_flush = true;
        }
        pte_t pte = get_and_clear_ptes(c, mm, old_addr, old_ptep, nr_ptes);
        // move_pte() is the identity on arm64 and x86.
        pte = move_soft_dirty_pte(c, pte);
        set_ptes(c, mm, new_addr, new_ptep, pte, nr_ptes);
    }
    if (force_flush)
        c.k.arch().flush_tlb_range(c, vma, old_end - len, old_end);
    if (new_ptl != old_ptl)
        hw::SpinLock(new_ptl).unlock(c.cpu);
    hw::SpinLock(old_ptl).unlock(c.cpu);
    return 0;
}

// mm/mremap.c get_extent(): from old_addr, up to the next boundary of `size` on both sides and old_end
std::uint64_t get_extent(const pagetable_move_control& pmc, std::uint64_t size)
{
    const Addr mask = ~(size - 1);
    Addr next = (pmc.old_addr + size) & mask;
    // even if next overflowed, extent below will be ok
    std::uint64_t extent = next - pmc.old_addr;
    if (extent > pmc.old_end - pmc.old_addr)
        extent = pmc.old_end - pmc.old_addr;
    next = (pmc.new_addr + size) & mask;
    if (extent > next - pmc.new_addr)
        extent = next - pmc.new_addr;
    return extent;
}

// mm/vma.c copy_vma(): the VMA duplicated over [addr, addr + len) with the moved pages' vm_pgoff, so that
// the rmap finds the moved PTEs through the same anon_vmas (vm_area_dup(), anon_vma_clone(), vma_link()).
// The merge with a neighbour at the destination (vma_merge_copied_range()) is not ported.
vm_area_struct& copy_vma(Ctx& c, vm_area_struct& vma, Addr addr, std::uint64_t len, std::uint64_t pgoff,
                         bool& need_rmap_locks)
{
    vm_area_struct proto = vma;
    proto.vm_start = addr;
    proto.vm_end = addr + len;
    proto.vm_pgoff = pgoff;
    vm_area_struct& new_vma = vma_insert_copy(c, *vma.vm_mm, proto);
    anon_vma_clone(c, new_vma, vma, vma_operation::VMA_OP_REMAP);
    need_rmap_locks = false;
    return new_vma;
}

// mm/mremap.c vrm_remap_type()
mremap_type vrm_remap_type(const vma_remap_struct& vrm)
{
    if (vrm.delta == 0)
        return mremap_type::MREMAP_NO_RESIZE;
    if (vrm.old_len > vrm.new_len)
        return mremap_type::MREMAP_SHRINK;
    return mremap_type::MREMAP_EXPAND;
}

// mm/mremap.c vrm_overlaps()
bool vrm_overlaps(const vma_remap_struct& vrm)
{
    const Addr end_old = vrm.addr + vrm.old_len, end_new = vrm.new_addr + vrm.new_len;
    return end_old > vrm.new_addr && end_new > vrm.addr;
}

// mm/mremap.c vrm_implies_new_addr()
bool vrm_implies_new_addr(const vma_remap_struct& vrm) { return vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP); }

// mm/mremap.c vrm_will_map_new()
bool vrm_will_map_new(const vma_remap_struct& vrm)
{
    return vrm.remap_type == mremap_type::MREMAP_EXPAND || vrm_implies_new_addr(vrm);
}

// mm/mremap.c vrm_set_new_addr(): MREMAP_FIXED keeps the address asked for (get_unmapped_area() with
// MAP_FIXED returns it), otherwise a free range
long vrm_set_new_addr(Ctx& c, vma_remap_struct& vrm)
{
    if (vrm.flags & MREMAP_FIXED)
        return 0;
    try {
        vrm.new_addr = get_unmapped_area(c, *vrm.vma->vm_mm, vrm.new_len);
    } catch (const std::invalid_argument&) {
        return -ENOMEM;
    }
    return 0;
}

// mm/mremap.c check_mremap_params()
long check_mremap_params(const Ctx& c, const vma_remap_struct& vrm)
{
    const Addr task_size = c.k.format().user_va_last() + 1;
    // Ensure no unexpected flag values (MREMAP_DONTUNMAP is not ported).
    if (vrm.flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE))
        return -EINVAL;
    // Start address must be page-aligned.
    if (vrm.addr % c.k.page_size())
        return -EINVAL;
    // A zero new-len is nonsensical.
    if (!vrm.new_len)
        return -EINVAL;
    if (vrm.new_len > task_size)
        return -EINVAL;
    // Remainder of checks are for cases with specific new_addr.
    if (!vrm_implies_new_addr(vrm))
        return 0;
    if (vrm.new_addr > task_size - vrm.new_len)
        return -EINVAL;
    if (vrm.new_addr % c.k.page_size())
        return -EINVAL;
    // A fixed address implies a move.
    if (!(vrm.flags & MREMAP_MAYMOVE))
        return -EINVAL;
    // Target VMA must not overlap source VMA.
    if (vrm_overlaps(vrm))
        return -EINVAL;
    return 0;
}

// mm/mremap.c check_prep_vma() (no mseal, hugetlb, mlock or rlimits here)
long check_prep_vma(vma_remap_struct& vrm)
{
    vm_area_struct* vma = vrm.vma;
    if (!vma)
        return -EFAULT;
    vrm.delta = vrm.old_len > vrm.new_len ? vrm.old_len - vrm.new_len : vrm.new_len - vrm.old_len; // vrm_set_delta()
    vrm.remap_type = vrm_remap_type(vrm);
    // For convenience, we set new_addr even if VMA won't move.
    if (!vrm_implies_new_addr(vrm))
        vrm.new_addr = vrm.addr;
    // Below only meaningful if we expand or move a VMA.
    if (!vrm_will_map_new(vrm))
        return 0;
    std::uint64_t old_len = vrm.old_len;
    const std::uint64_t new_len = vrm.new_len;
    // A zero old_len 'duplicates' a mapping: meaningless for private mappings.
    if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
        return -EINVAL;
    // We permit crossing of boundaries for the range being unmapped due to a shrink.
    if (vrm.remap_type == mremap_type::MREMAP_SHRINK)
        old_len = new_len;
    // We can't remap across the end of VMAs, as another VMA may be adjacent.
    if (old_len > vma->vm_end - vrm.addr)
        return -EFAULT;
    if (new_len == old_len)
        return 0;
    if (vma->vm_flags & VM_PFNMAP) // (VM_DONTEXPAND)
        return -EFAULT;
    return 0;
}

// mm/mremap.c unmap_source_vma(): the old range goes (do_vmi_munmap()); its PTEs are none by now, so this
// frees the page tables only it used and the VMA
void unmap_source_vma(Ctx& c, vma_remap_struct& vrm)
{
    do_munmap(c, *vrm.vma->vm_mm, vrm.addr, vrm.old_len);
    vrm.vma = nullptr; // Invalidated.
}

// mm/mremap.c copy_vma_and_data()
vm_area_struct& copy_vma_and_data(Ctx& c, vma_remap_struct& vrm)
{
    pagetable_move_control pmc; // PAGETABLE_MOVE()
    // move_vma(): new_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT)
    const std::uint64_t new_pgoff = vrm.vma->vm_pgoff + ((vrm.addr - vrm.vma->vm_start) >> c.k.page_shift());
    vm_area_struct& new_vma = copy_vma(c, *vrm.vma, vrm.new_addr, vrm.new_len, new_pgoff, pmc.need_rmap_locks);
    pmc.old = vrm.vma;
    pmc.new_vma = &new_vma;
    pmc.old_addr = vrm.addr;
    pmc.old_end = vrm.addr + vrm.old_len;
    pmc.new_addr = vrm.new_addr;
    pmc.len_in = vrm.old_len;
    const std::uint64_t moved_len = move_page_tables(c, pmc);
    if (moved_len < vrm.old_len)
        throw std::logic_error("copy_vma_and_data: page tables only partly moved"); // (no recovery ported)
    return new_vma;
}

// mm/mremap.c move_vma(): copy, then unmap the source
long move_vma(Ctx& c, vma_remap_struct& vrm)
{
    // prep_move_vma() (map count, KSM) and vrm_calc_charge() (accounting) have nothing to do here;
    // vma_start_write(): the per-VMA lock is not modelled (mmap_lock is held for writing).
    copy_vma_and_data(c, vrm);
    unmap_source_vma(c, vrm);
    return static_cast<long>(vrm.new_addr);
}

// mm/mremap.c shrink_vma(): the tail beyond new_len unmapped
long shrink_vma(Ctx& c, mm_struct& mm, vma_remap_struct& vrm)
{
    const int res = do_munmap(c, mm, vrm.addr + vrm.new_len, vrm.delta);
    vrm.vma = nullptr; // Invalidated.
    if (res)
        return res;
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_lookup()
    vrm.vma = mm.vma_at(vrm.addr);
    return vrm.vma ? 0 : -EFAULT;
}

// mm/mremap.c mremap_to(): MREMAP_FIXED unmaps the destination first; a shrink happens before the move
long mremap_to(Ctx& c, mm_struct& mm, vma_remap_struct& vrm)
{
    if (vrm.flags & MREMAP_FIXED) {
        const int err = do_munmap(c, mm, vrm.new_addr, vrm.new_len);
        vrm.vma = nullptr;
        if (err)
            return err;
        c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_lookup()
        vrm.vma = mm.vma_at(vrm.addr);
        if (!vrm.vma)
            return -EFAULT;
    }
    if (vrm.remap_type == mremap_type::MREMAP_SHRINK) {
        if (const long err = shrink_vma(c, mm, vrm))
            return err;
        // Set up for the move now shrink has been executed.
        vrm.old_len = vrm.new_len;
    }
    if (const long err = vrm_set_new_addr(c, vrm))
        return err;
    return move_vma(c, vrm);
}

// mm/mremap.c vma_expandable(): nothing mapped in [vm_end, vm_end + delta) and still user space
bool vma_expandable(Ctx& c, vm_area_struct& vma, std::uint64_t delta)
{
    const Addr end = vma.vm_end + delta;
    if (end < vma.vm_end) // overflow
        return false;
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // find_vma_intersection()
    if (!vmas_in_range(*vma.vm_mm, vma.vm_end, end).empty())
        return false;
    return end - 1 <= c.k.format().user_va_last(); // get_unmapped_area(MAP_FIXED)
}

// mm/mremap.c vrm_can_expand_in_place()
bool vrm_can_expand_in_place(Ctx& c, const vma_remap_struct& vrm)
{
    // If end of range aligns to end of VMA, we can just expand in-place.
    if (vrm.vma->vm_end - vrm.addr != vrm.old_len)
        return false;
    return vma_expandable(c, *vrm.vma, vrm.delta);
}

// mm/mremap.c expand_vma(): in place when the space after the VMA is free, else (MREMAP_MAYMOVE) moved to a
// free range
long expand_vma(Ctx& c, mm_struct& mm, vma_remap_struct& vrm)
{
    if (vrm_can_expand_in_place(c, vrm)) {
        vrm.vma = &vma_merge_extend(c, mm, *vrm.vma, vrm.delta); // expand_vma_in_place()
        return static_cast<long>(vrm.addr);
    }
    // We're not allowed to move the VMA, so error out.
    if (!(vrm.flags & MREMAP_MAYMOVE))
        return -ENOMEM;
    if (const long err = vrm_set_new_addr(c, vrm))
        return err;
    return move_vma(c, vrm);
}

// mm/mremap.c mremap_at(): resize in place, or move to the first free range for a growth that does not fit
long mremap_at(Ctx& c, mm_struct& mm, vma_remap_struct& vrm)
{
    switch (vrm.remap_type) {
    case mremap_type::MREMAP_INVALID:
        break;
    case mremap_type::MREMAP_NO_RESIZE: // NO-OP CASE - resizing to the same size.
        return static_cast<long>(vrm.addr);
    case mremap_type::MREMAP_SHRINK: {
        // Can always be done in-place: simply unmap the shrunken portion of the VMA.
        if (const long res = shrink_vma(c, mm, vrm))
            return res;
        return static_cast<long>(vrm.addr);
    }
    case mremap_type::MREMAP_EXPAND:
        return expand_vma(c, mm, vrm);
    }
    return -EINVAL;
}

// mm/mremap.c remap_move(): MREMAP_FIXED without a size change moves every VMA of [addr, addr + old_len),
// keeping the gaps between them
long remap_move(Ctx& c, mm_struct& mm, vma_remap_struct& vrm)
{
    const Addr start = vrm.addr, end = vrm.addr + vrm.old_len;
    Addr target_addr = vrm.new_addr, last_end = 0, cursor = start;
    long res = -EFAULT;
    bool seen_vma = false;
    for (;;) { // for_each_vma_range(): the next VMA from where the last one ended
        c.k.charge_sw(c, c.k.config().software.vma_lookup);
        const std::vector<vm_area_struct*> in = vmas_in_range(mm, cursor, end);
        if (in.empty())
            break;
        vm_area_struct* vma = in.front();
        // Account for start, end not aligned with VMA start, end.
        const Addr addr = std::max(vma->vm_start, start);
        const std::uint64_t len = std::min(end, vma->vm_end) - addr;
        // No gap permitted at the start of the range.
        if (!seen_vma && start < vma->vm_start)
            return -EFAULT;
        // Keep the gaps between source VMAs in the destination.
        const std::uint64_t offset = seen_vma ? vma->vm_start - last_end : 0;
        last_end = vma->vm_end;
        cursor = std::min(end, vma->vm_end);
        vrm.vma = vma;
        vrm.addr = addr;
        vrm.new_addr = target_addr + offset;
        vrm.old_len = vrm.new_len = len;
        // vma_multi_allowed(): anonymous VMAs always are
        long res_vma = check_prep_vma(vrm);
        if (!res_vma)
            res_vma = mremap_to(c, mm, vrm);
        if (is_err_value(res_vma))
            return res_vma;
        if (!seen_vma)
            res = res_vma;
        seen_vma = true;
        target_addr = static_cast<Addr>(res_vma) + vrm.new_len;
        if (cursor >= end)
            break;
    }
    return res;
}

} // namespace

// mm/mremap.c move_page_tables(): PMD extent by PMD extent, the destination's tables allocated and the PTEs
// moved. PUD/PMD entry moves are not ported (move_pgt_entry()), nor try_realign_addr() that prepares them.
std::uint64_t move_page_tables(Ctx& c, pagetable_move_control& pmc)
{
    if (!pmc.len_in)
        return 0;
    mm_struct& mm = *pmc.old->vm_mm;
    const int leaf = leaf_depth(c);
    const Addr orig_old_addr = pmc.old_end - pmc.len_in;
    // flush_cache_range() is empty on arm64 and x86; no MMU notifiers.
    for (std::uint64_t extent = 0; pmc.old_addr < pmc.old_end; pmc.old_addr += extent, pmc.new_addr += extent) {
        if (leaf >= 2) { // extent = get_extent(NORMAL_PUD); get_old_pud() (the PUD entry move is not ported)
            extent = get_extent(pmc, level_span(c, leaf - 2));
            if (!get_old_entry(c, mm, pmc.old_addr, leaf - 1))
                continue;
        }
        extent = get_extent(pmc, level_span(c, leaf - 1)); // NORMAL_PMD
        const PtePtr old_pmd = get_old_entry(c, mm, pmc.old_addr, leaf - 1);
        if (!old_pmd)
            continue;
        const std::uint64_t old_pmdval = entry_get(c, old_pmd);
        if (old_pmdval == 0) // pmd_none()
            continue;
        if (c.k.format().decode(leaf - 1, old_pmdval).type != hw::Descriptor::Type::Table)
            throw std::logic_error("move_page_tables: PMD-mapped huge pages are not ported");
        const PtePtr new_pmd = walk_to_pmd(c, *pmc.new_vma->vm_mm, pmc.new_addr); // alloc_new_pmd()
        if (!new_pmd)
            break;
        if (entry_get(c, new_pmd) == 0 && __pte_alloc(c, *pmc.new_vma->vm_mm, new_pmd)) // pte_alloc()
            break;
        if (move_ptes(c, pmc, extent, old_pmd, new_pmd) < 0)
            throw std::logic_error("move_page_tables: the old PTE table went away under mmap_lock");
    }
    // pmc_progress()
    return pmc.old_addr < orig_old_addr ? 0 : pmc.old_addr - orig_old_addr;
}

// mm/mremap.c do_mremap()
long do_mremap(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t old_len, std::uint64_t new_len, unsigned flags,
               Addr new_addr)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "mremap asid={} addr={:#x} old_len={:#x} new_len={:#x} flags={} new_addr={:#x}",
                       mm.asid, addr, old_len, new_len, flags, new_addr);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    vma_remap_struct vrm;
    vrm.addr = addr;
    vrm.old_len = page_align(c, old_len);
    vrm.new_len = page_align(c, new_len);
    vrm.flags = flags;
    vrm.new_addr = new_addr;
    if (const long res = check_mremap_params(c, vrm))
        return res;
    const MmapWriteGuard lock(c, mm);
    // vrm_move_only(): MREMAP_FIXED without a size change
    if ((vrm.flags & MREMAP_FIXED) && vrm.old_len == vrm.new_len)
        return remap_move(c, mm, vrm);
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_lookup()
    vrm.vma = mm.vma_at(vrm.addr);
    if (const long res = check_prep_vma(vrm))
        return res;
    // Actually execute mremap.
    return vrm_implies_new_addr(vrm) ? mremap_to(c, mm, vrm) : mremap_at(c, mm, vrm);
}

} // namespace mmusim::mm
