// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/mprotect.hh"
#include "util/ftrace.hh"

#include "hw/core/spinlock.hh"
#include "mm/internal.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"

#include <cerrno>
#include <optional>
#include <stdexcept>

namespace mmusim::mm {

namespace {

constexpr vm_flags_t VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

// mm/mprotect.c maybe_change_pte_writable() (no NUMA hinting, no uffd-wp in the port)
bool maybe_change_pte_writable(Ctx& c, vm_area_struct& vma, pte_t pte)
{
    if (!(vma.vm_flags & VM_WRITE))
        return false;
    // Do we need write faults for softdirty tracking? (pte_needs_soft_dirty_wp())
    if (!(vma.vm_flags & VM_SOFTDIRTY) && !c.k.arch().pte_soft_dirty(pte))
        return false;
    return true;
}

// mm/mprotect.c mprotect_folio_pte_batch()
unsigned mprotect_folio_pte_batch(Ctx& c, std::optional<Folio> folio, PtePtr ptep, pte_t pte, unsigned max_nr_ptes,
                                  fpb_t flags)
{
    // No underlying folio, so cannot batch
    if (!folio)
        return 1;
    if (!folio_test_large(c, *folio))
        return 1;
    return folio_pte_batch_flags(c, *folio, nullptr, ptep, &pte, max_nr_ptes, flags);
}

// mm/mprotect.c prot_commit_flush_ptes(): nr_ptes PTEs from idx committed, the range queued for the flush
// when the change needs one
void prot_commit_flush_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t oldpte, pte_t ptent,
                            unsigned nr_ptes, unsigned idx, bool set_write, mmu_gather& tlb)
{
    const Arch& a = c.k.arch();
    // Advance the position in the batch by idx.
    addr += idx * c.k.page_size();
    ptep = pte_offset(ptep, idx);
    oldpte = a.pte_advance_pfn(oldpte, idx);
    ptent = a.pte_advance_pfn(ptent, idx);
    if (set_write)
        ptent = a.pte_mkwrite(ptent);
    modify_prot_commit_ptes(c, vma, addr, ptep, oldpte, ptent, nr_ptes);
    if (a.pte_needs_flush(oldpte, ptent))
        tlb_flush_pte_range(tlb, addr, nr_ptes * c.k.page_size());
}

// mm/mprotect.c commit_anon_folio_batch(): a batch of one anon large folio split into runs of equal
// PageAnonExclusive; only the exclusive runs become writable
void commit_anon_folio_batch(Ctx& c, vm_area_struct& vma, pfn_t first_page, Addr addr, PtePtr ptep, pte_t oldpte,
                             pte_t ptent, unsigned nr_ptes, mmu_gather& tlb)
{
    unsigned sub_batch_idx = 0;
    while (nr_ptes) {
        const bool expected_anon_exclusive = PageAnonExclusive(c, first_page + sub_batch_idx);
        const unsigned len = page_anon_exclusive_sub_batch(c, sub_batch_idx, nr_ptes, first_page, expected_anon_exclusive);
        prot_commit_flush_ptes(c, vma, addr, ptep, oldpte, ptent, len, sub_batch_idx, expected_anon_exclusive, tlb);
        sub_batch_idx += len;
        nr_ptes -= len;
    }
}

// mm/mprotect.c set_write_prot_commit_flush_ptes()
void set_write_prot_commit_flush_ptes(Ctx& c, vm_area_struct& vma, std::optional<Folio> folio,
                                      std::optional<pfn_t> page, Addr addr, PtePtr ptep, pte_t oldpte, pte_t ptent,
                                      unsigned nr_ptes, mmu_gather& tlb)
{
    if (vma.vm_flags & VM_SHARED) { // can_change_shared_pte_writable(): a dirty PTE may become writable
        const bool set_write = maybe_change_pte_writable(c, vma, ptent) && c.k.arch().pte_dirty(ptent);
        prot_commit_flush_ptes(c, vma, addr, ptep, oldpte, ptent, nr_ptes, 0, set_write, tlb);
        return;
    }
    const bool set_write = maybe_change_pte_writable(c, vma, ptent) && folio && folio_test_anon(c, *folio);
    if (!set_write) {
        prot_commit_flush_ptes(c, vma, addr, ptep, oldpte, ptent, nr_ptes, 0, false, tlb);
        return;
    }
    commit_anon_folio_batch(c, vma, *page, addr, ptep, oldpte, ptent, nr_ptes, tlb);
}

// mm/mprotect.c change_present_ptes()
void change_present_ptes(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr_ptes,
                         pgprot_t newprot, std::optional<Folio> folio, std::optional<pfn_t> page,
                         unsigned long cp_flags)
{
    const Arch& a = c.k.arch();
    const pte_t oldpte = modify_prot_start_ptes(c, vma, addr, ptep, nr_ptes);
    const pte_t ptent = a.pte_modify(oldpte, newprot);
    // In all writable, private mappings, we have to properly handle COW; we can sometimes still change PTEs
    // writable and avoid the write-fault handler.
    if ((cp_flags & MM_CP_TRY_CHANGE_WRITABLE) && !a.pte_write(ptent))
        set_write_prot_commit_flush_ptes(c, vma, folio, page, addr, ptep, oldpte, ptent, nr_ptes, tlb);
    else
        prot_commit_flush_ptes(c, vma, addr, ptep, oldpte, ptent, nr_ptes, 0, false, tlb);
}

// mm/mprotect.c change_pte_range()
long change_pte_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr, Addr end,
                      pgprot_t newprot, unsigned long cp_flags)
{
    const PhaseScope phase(c, "change_pte_range");
    const Arch& a = c.k.arch();
    PtePtr pte = pte_offset_map(c, pmd, addr);
    if (!pte)
        return 0;
    const PAddr ptl = pte_lockptr(c, pte);
    hw::SpinLock(ptl).lock(c.cpu);
    flush_tlb_batched_pending(c, *vma.vm_mm);
    long pages = 0;
    unsigned nr_ptes;
    do {
        nr_ptes = 1;
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        const pte_t oldpte = ptep_get(c, pte);
        if (a.pte_present(oldpte)) {
            const fpb_t flags = FPB_RESPECT_SOFT_DIRTY | FPB_RESPECT_WRITE;
            const unsigned max_nr_ptes = static_cast<unsigned>((end - addr) >> c.k.page_shift());
            const std::optional<pfn_t> page = vm_normal_page(c, vma, addr, oldpte);
            std::optional<Folio> folio;
            if (page)
                folio = page_folio(c, *page);
            nr_ptes = mprotect_folio_pte_batch(c, folio, pte, oldpte, max_nr_ptes, flags);
            change_present_ptes(c, tlb, vma, addr, pte, nr_ptes, newprot, folio, page, cp_flags);
            pages += nr_ptes;
        }
        // change_softleaf_pte(): a genuine swap entry and a device-exclusive entry (the port's non-present
        // entries) keep no protection bits: nothing to change without uffd-wp (upstream rewrites only
        // migration-write and device-private-write entries, which the port does not make). Nobody plays with
        // any none ptes besides userfaultfd when applying the protections.
    } while (pte = pte_offset(pte, nr_ptes), addr += nr_ptes * c.k.page_size(), addr != end);
    hw::SpinLock(ptl).unlock(c.cpu);
    return pages;
}

// mm/mprotect.c change_pmd_range() / change_pud_range() / change_p4d_range() and change_protection_range()'s
// pgd loop: present entries only (a PMD leaf is refused: change_huge_pmd() is not ported)
long change_level_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, int d, PAddr table, Addr addr, Addr end,
                        pgprot_t newprot, unsigned long cp_flags)
{
    const hw::PageTableFormat& fmt = c.k.format();
    const int leaf = fmt.levels() - 1;
    long pages = 0;
    do {
        const std::uint64_t span = std::uint64_t{1} << fmt.level(d).shift;
        const Addr boundary = (addr + span) & ~(span - 1);
        const Addr next = boundary - 1 < end - 1 ? boundary : end;
        const PtePtr entry = table + PtePtr(fmt.index(addr, d)) * kPteBytes;
        const std::uint64_t v = c.cpu.load(entry, kPteBytes, hw::Category::PteLoad);
        if (v != 0) {
            if (d == leaf - 1 && c.k.arch().pmd_trans_huge(pte_t{v})) // change_pmd_range(): change_huge_pmd()
                throw std::logic_error("mprotect of a PMD-mapped transparent huge page: change_huge_pmd() is not ported");
            if (d == leaf - 1)
                pages += change_pte_range(c, tlb, vma, entry, addr, next, newprot, cp_flags);
            else
                pages += change_level_range(c, tlb, vma, d + 1, fmt.decode(d, v).oa, addr, next, newprot, cp_flags);
        }
        addr = next;
    } while (addr != end);
    return pages;
}

} // namespace

// mm/mprotect.c can_change_pte_writable() -> can_change_shared_pte_writable() /
// can_change_private_pte_writable()
bool can_change_pte_writable(Ctx& c, vm_area_struct& vma, Addr addr, pte_t pte)
{
    if (vma.vm_flags & VM_SHARED) // Writable MAP_SHARED mapping: "dirty" means the FS was already notified
        return maybe_change_pte_writable(c, vma, pte) && c.k.arch().pte_dirty(pte);
    if (!maybe_change_pte_writable(c, vma, pte))
        return false;
    // Writable MAP_PRIVATE mapping: We can only special-case on exclusive anonymous pages.
    const std::optional<pfn_t> page = vm_normal_page(c, vma, addr, pte);
    return page && folio_test_anon(c, page_folio(c, *page)) && PageAnonExclusive(c, *page);
}

// mm/mprotect.c change_protection() -> change_protection_range()
long change_protection(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end, unsigned long cp_flags)
{
    if (start >= end)
        throw std::logic_error("change_protection: empty range");
    tlb_start_vma(c, tlb, vma);
    const long pages = change_level_range(c, tlb, vma, 0, vma.vm_mm->pgd, start, end, vma.vm_page_prot, cp_flags);
    tlb_end_vma(c, tlb, vma);
    return pages;
}

// mm/mprotect.c mprotect_fixup()
int mprotect_fixup(Ctx& c, mmu_gather& tlb, vm_area_struct& vma_in, Addr start, Addr end, vm_flags_t newflags)
{
    mm_struct& mm = *vma_in.vm_mm;
    const vm_flags_t oldflags = vma_in.vm_flags;
    if (newflags == oldflags)
        return 0;
    // If we make a private mapping writable we increase our commit (VM_ACCOUNT); an anonymous VMA without
    // an anon_vma stops being accounted when it loses write.
    if (newflags & VM_WRITE) {
        if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED)))
            newflags |= VM_ACCOUNT;
    } else if ((oldflags & VM_ACCOUNT) && !vma_in.anon) {
        newflags &= ~VM_ACCOUNT;
    }
    // vma_modify_flags(): the range becomes a VMA of its own (the merge with neighbours comes after the
    // PTEs are changed here; it changes no PTE)
    vm_area_struct& vma = vma_split_to(c, mm, vma_in, start, end);
    vma.vm_flags = newflags;
    unsigned long mm_cp_flags = 0;
    // vma_wants_manual_pte_write_upgrade(): a private writable VMA; a shared one only with writenotify
    // (vma_wants_writenotify()), which shmem never wants in the port (no page_mkwrite, no writeback
    // accounting, soft-dirty tracking never enabled): its vm_page_prot is writable and pte_modify() does it
    if ((newflags & VM_WRITE) && !(newflags & VM_SHARED))
        mm_cp_flags |= MM_CP_TRY_CHANGE_WRITABLE;
    vma.vm_page_prot = c.k.arch().vm_get_page_prot(newflags); // vma_set_page_prot()
    c.cpu.store(vma.addr + 32, vma.vm_flags, 8, hw::Category::KernelMemory); // vm_flags_reset_once()
    change_protection(c, tlb, vma, start, end, mm_cp_flags);
    vma_merge_neighbours(c, mm, vma);
    return 0;
}

// mm/mprotect.c do_mprotect_pkey()
int do_mprotect_pkey(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len, unsigned prot)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "mprotect asid={} start={:#x} len={:#x} prot={}", mm.asid, start, len, prot);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    if (start % c.k.page_size())
        return -EINVAL;
    if (!len)
        return 0;
    len = (len + c.k.page_size() - 1) & ~(c.k.page_size() - 1);
    const Addr end = start + len;
    if (end <= start)
        return -ENOMEM;

    const MmapWriteGuard lock(c, mm);
    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, mm);
    int error = 0;
    Addr nstart = start;
    while (nstart < end) {
        c.k.charge_sw(c, c.k.config().software.vma_lookup);
        vm_area_struct* vma = mm.vma_at(nstart);
        if (!vma) {
            error = -ENOMEM;
            break;
        }
        // Each mprotect() call explicitly passes r/w/x permissions.
        vm_flags_t newflags = calc_vm_prot_bits(prot) | (vma->vm_flags & ~VM_ACCESS_FLAGS);
        // newflags >> 4 shift VM_MAY% in place of VM_%
        if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
            error = -EACCES;
            break;
        }
        const Addr tmp = std::min(vma->vm_end, end);
        error = mprotect_fixup(c, tlb, *vma, nstart, tmp, newflags);
        if (error)
            break;
        nstart = tmp;
    }
    tlb_finish_mmu(c, tlb);
    return error;
}

} // namespace mmusim::mm
