// SPDX-License-Identifier: GPL-2.0-only
#include "mm/huge_memory.hh"

#include "hw/core/spinlock.hh"
#include "mm/phase.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"

#include <optional>
#include <stdexcept>
#include <string>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr unsigned MMF_HUGE_ZERO_FOLIO = 23; // include/linux/mm_types.h, a bit of mm->flags

int leaf_depth(const Ctx& c) { return c.k.format().levels() - 1; }

void spin_lock(Ctx& c, PAddr lock) { hw::SpinLock(lock).lock(c.cpu); }
void spin_unlock(Ctx& c, PAddr lock) { hw::SpinLock(lock).unlock(c.cpu); }

// pmd_lock(): pmd_lockptr() taken
PAddr pmd_lock(Ctx& c, mm_struct& mm, PtePtr pmd)
{
    const PAddr ptl = pmd_lockptr(c, mm, pmd);
    spin_lock(c, ptl);
    return ptl;
}

// READ_ONCE(*pmd) / pmdp_get()
pte_t pmdp_get(Ctx& c, PtePtr pmd) { return pte_t{c.cpu.load(pmd, kPteBytes, Category::PteLoad)}; }

// include/linux/mm.h pmd_is_huge(): a leaf (the port has no non-present huge PMDs: no THP migration)
bool pmd_is_huge(const Ctx& c, pte_t pmd) { return pmd.val && c.k.arch().pmd_trans_huge(pmd); }

// include/linux/mm.h pte_alloc_one() / pte_free(): a PTE table not (yet) linked anywhere
PAddr pte_alloc_one(Ctx& c) { return c.k.page_alloc().pagetable_alloc(c, leaf_depth(c)); }
void pte_free(Ctx& c, PAddr pgtable) { c.k.page_alloc().pagetable_free(c, pgtable, leaf_depth(c)); }

// include/linux/mm.h folio_mk_pmd(): pmd_mkhuge(pfn_pmd(folio_pfn(folio), pgprot))
pte_t folio_mk_pmd(const Ctx& c, Folio folio, pgprot_t prot) { return c.k.arch().pfn_pmd_huge(folio_pfn(folio), prot); }

// mm/huge_memory.c maybe_pmd_mkwrite()
pte_t maybe_pmd_mkwrite(const Ctx& c, pte_t pmd, const vm_area_struct& vma)
{
    if (vma.vm_flags & VM_WRITE)
        pmd = c.k.arch().pte_mkwrite(pmd); // pmd_mkwrite()
    return pmd;
}

// mm/memory.c vm_normal_folio_pmd(): none for the huge zero folio (and any special mapping)
std::optional<Folio> vm_normal_folio_pmd(Ctx& c, pte_t pmd)
{
    const Arch& a = c.k.arch();
    const pfn_t pfn = a.pmd_pfn(pmd);
    if (a.pte_special(pmd) || c.k.is_huge_zero_pfn(pfn)) // pmd_special()
        return std::nullopt;
    return page_folio(c, pfn);
}

// The word that heads the deposited tables of the PMD table holding pmdp (pmd_huge_pte(mm, pmdp)).
PAddr pmd_huge_pte(const Ctx& c, mm_struct& mm, PtePtr pmdp)
{
    if (c.k.format().table_bytes(leaf_depth(c) - 1) < c.k.page_size())
        return mm.addr + MM_OFF_PMD_HUGE_PTE;
    return page_addr(c, pmdp >> c.k.page_shift()) + PTDESC_OFF_PMD_HUGE_PTE;
}

// ---- the huge zero folio ----

// mm/huge_memory.c alloc_huge_zero_folio(): a zeroed PMD-order folio, explicitly not rmappable
std::optional<Folio> alloc_huge_zero_folio(Ctx& c)
{
    try {
        const Folio zero_folio = c.k.page_alloc().folio_alloc(c, hpage_pmd_order(c));
        c.cpu.clear_page(folio_pfn(zero_folio) << c.k.page_shift(), hpage_pmd_size(c), Category::ClearPage); // __GFP_ZERO
        folio_clear_flag(c, zero_folio, PG_large_rmappable); // folio_clear_large_rmappable()
        return zero_folio;
    } catch (const OutOfMemory&) {
        return std::nullopt; // count_vm_event(THP_ZERO_PAGE_ALLOC_FAILED)
    }
}

// mm/huge_memory.c get_huge_zero_folio() (!CONFIG_PERSISTENT_HUGE_ZERO_FOLIO): a reference on the huge zero
// folio, allocating it on first use. The refcount and huge_zero_lock are host-side (once per mm).
bool get_huge_zero_folio(Ctx& c)
{
    Kernel::HugeZero& hz = c.k.huge_zero();
    if (hz.refcount) { // atomic_inc_not_zero(&huge_zero_refcount)
        ++hz.refcount;
        return true;
    }
    const std::optional<Folio> zero_folio = alloc_huge_zero_folio(c);
    if (!zero_folio)
        return false;
    if (hz.folio) { // Somebody else already installed it.
        ++hz.refcount;
        folio_put(c, *zero_folio);
        return true;
    }
    hz.folio = zero_folio;
    hz.refcount = 2; // +1 for the shrinker's pin
    return true;
}

// mm/huge_memory.c mm_get_huge_zero_folio(): one reference per mm, recorded in MMF_HUGE_ZERO_FOLIO
std::optional<Folio> mm_get_huge_zero_folio(Ctx& c, mm_struct& mm)
{
    const PAddr flags = mm.addr + MM_OFF_FLAGS;
    if (c.cpu.load(flags, 8, Category::KernelMemory) & (std::uint64_t{1} << MMF_HUGE_ZERO_FOLIO)) // mm_flags_test()
        return c.k.huge_zero().folio;
    if (!get_huge_zero_folio(c))
        return std::nullopt;
    if (c.cpu.test_and_set_bit(MMF_HUGE_ZERO_FOLIO, flags, Category::KernelMemory)) // mm_flags_test_and_set()
        --c.k.huge_zero().refcount;                                                // put_huge_zero_folio()
    return c.k.huge_zero().folio;
}

// mm/huge_memory.c set_huge_zero_folio(): the read-only huge zero PMD, its table deposited (PMD lock held)
void set_huge_zero_folio(Ctx& c, PAddr pgtable, mm_struct& mm, vm_area_struct& vma, Addr haddr, PtePtr pmd,
                         Folio zero_folio)
{
    const pte_t entry = c.k.arch().pte_mkspecial(folio_mk_pmd(c, zero_folio, vma.vm_page_prot)); // pmd_mkspecial()
    pgtable_trans_huge_deposit(c, mm, pmd, pgtable);
    set_pmd_at(c, mm, haddr, pmd, entry);
    mm_inc_nr_ptes(c, mm);
}

// ---- a new THP ----

// mm/huge_memory.c vma_alloc_anon_folio_pmd(): a zeroed, up-to-date PMD-sized folio, or none (fallback).
// folio_zero_user() clears the subpage at the faulting address last, for its cache lines; one stream here.
std::optional<Folio> vma_alloc_anon_folio_pmd(Ctx& c)
{
    const unsigned order = hpage_pmd_order(c);
    Folio folio;
    try {
        folio = c.k.page_alloc().folio_alloc(c, order); // vma_alloc_folio(gfp, order, vma, addr & HPAGE_PMD_MASK)
    } catch (const OutOfMemory&) {
        ++c.k.stats().thp_fault_fallback;          // count_vm_event(THP_FAULT_FALLBACK)
        ++c.k.stats().anon_fault_fallback[order];  // count_mthp_stat(order, MTHP_STAT_ANON_FAULT_FALLBACK)
        return std::nullopt;
    }
    c.cpu.clear_page(folio_pfn(folio) << c.k.page_shift(), hpage_pmd_size(c), Category::ClearPage);
    // The memory barrier inside __folio_mark_uptodate makes sure that folio_zero_user writes become visible
    // before the set_pmd_at() write.
    __folio_mark_uptodate(c, folio);
    return folio;
}

// mm/huge_memory.c map_anon_folio_pmd_nopf(): young (the VMA's protection has AF / _PAGE_ACCESSED), dirty
// and, in a writable VMA, writable; deferred_split_folio() is not modelled
void map_anon_folio_pmd_nopf(Ctx& c, Folio folio, PtePtr pmd, vm_area_struct& vma, Addr haddr)
{
    const Arch& a = c.k.arch();
    pte_t entry = folio_mk_pmd(c, folio, vma.vm_page_prot);
    entry = maybe_pmd_mkwrite(c, a.pte_mkdirty(entry), vma); // pmd_mkdirty()
    folio_add_new_anon_rmap(c, folio, vma, haddr, RMAP_EXCLUSIVE, pgtable_level::PMD);
    folio_add_lru_vma(c, folio, vma);
    set_pmd_at(c, *vma.vm_mm, haddr, pmd, entry);
    c.k.arch().update_mmu_cache_pmd(c, vma, haddr, pmd);
}

// mm/huge_memory.c map_anon_folio_pmd_pf(): and the fault's accounting
void map_anon_folio_pmd_pf(Ctx& c, Folio folio, PtePtr pmd, vm_area_struct& vma, Addr haddr)
{
    map_anon_folio_pmd_nopf(c, folio, pmd, vma, haddr);
    add_mm_counter(c, *vma.vm_mm, MM_ANONPAGES, static_cast<long>(hpage_pmd_nr(c)));
    ++c.k.stats().thp_fault_alloc;                          // count_vm_event(THP_FAULT_ALLOC)
    ++c.k.stats().anon_fault_alloc[hpage_pmd_order(c)];     // count_mthp_stat(MTHP_STAT_ANON_FAULT_ALLOC)
}

// mm/huge_memory.c __do_huge_pmd_anonymous_page()
vm_fault_t __do_huge_pmd_anonymous_page(Ctx& c, vm_fault& vmf)
{
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    const Addr haddr = vmf.address & ~(hpage_pmd_size(c) - 1);
    const std::optional<Folio> folio = vma_alloc_anon_folio_pmd(c);
    if (!folio)
        return VM_FAULT_FALLBACK;
    const PAddr pgtable = pte_alloc_one(c);
    vmf.ptl = pmd_lock(c, mm, vmf.pmd);
    if (pmdp_get(c, vmf.pmd).val != 0) { // !pmd_none(*vmf->pmd): another thread mapped it
        spin_unlock(c, vmf.ptl);
        pte_free(c, pgtable);
        folio_put(c, *folio);
        return 0;
    }
    // check_stable_address_space() and userfaultfd_missing(): no OOM reaping, no userfaultfd in the port
    pgtable_trans_huge_deposit(c, mm, vmf.pmd, pgtable);
    map_anon_folio_pmd_pf(c, *folio, vmf.pmd, vma, haddr);
    mm_inc_nr_ptes(c, mm);
    spin_unlock(c, vmf.ptl);
    return 0;
}

// mm/huge_memory.c do_huge_zero_wp_pmd(): a new THP replaces the huge zero PMD (the deposited table stays)
vm_fault_t do_huge_zero_wp_pmd(Ctx& c, vm_fault& vmf)
{
    vm_area_struct& vma = *vmf.vma;
    const Addr haddr = vmf.address & ~(hpage_pmd_size(c) - 1);
    const std::optional<Folio> folio = vma_alloc_anon_folio_pmd(c);
    if (!folio)
        return VM_FAULT_FALLBACK;
    vmf.ptl = pmd_lock(c, *vma.vm_mm, vmf.pmd);
    if (pmdp_get(c, vmf.pmd) != vmf.orig_pmd) { // !pmd_same()
        folio_put(c, *folio);
    } else {
        pmdp_huge_clear_flush(c, vma, haddr, vmf.pmd);
        map_anon_folio_pmd_pf(c, *folio, vmf.pmd, vma, haddr);
    }
    spin_unlock(c, vmf.ptl);
    return 0;
}

// mm/huge_memory.c touch_pmd()
bool touch_pmd(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmd, bool write)
{
    const Arch& a = c.k.arch();
    pte_t entry = a.pte_mkyoung(pmdp_get(c, pmd)); // pmd_mkyoung(*pmd)
    if (write)
        entry = a.pte_mkdirty(entry);
    if (!c.k.arch().pmdp_set_access_flags(c, vma, addr & ~(hpage_pmd_size(c) - 1), pmd, entry, write))
        return false;
    c.k.arch().update_mmu_cache_pmd(c, vma, addr, pmd);
    return true;
}

// mm/huge_memory.c zap_deposited_table(): pte_free_defer() frees after an RCU grace period for lockless
// walkers; the table was never linked into the page tables, so no walker or TLB can reach it and the port
// frees it at once.
void zap_deposited_table(Ctx& c, mm_struct& mm, PtePtr pmd)
{
    const PAddr pgtable = pgtable_trans_huge_withdraw(c, mm, pmd);
    pte_free(c, pgtable);
    mm_dec_nr_ptes(c, mm);
}

// mm/huge_memory.c zap_huge_pmd_folio(): anonymous, present folios only
void zap_huge_pmd_folio(Ctx& c, mm_struct& mm, vm_area_struct& vma, Folio folio)
{
    folio_remove_rmap_pmd(c, folio, folio.pfn, vma);
    if (!folio_test_anon(c, folio))
        throw std::logic_error("zap_huge_pmd: file THPs are not ported");
    add_mm_counter(c, mm, MM_ANONPAGES, -static_cast<long>(hpage_pmd_nr(c)));
}

} // namespace

unsigned hpage_pmd_order(const Ctx& c)
{
    const hw::PageTableFormat& fmt = c.k.format();
    return fmt.level(fmt.levels() - 2).shift - fmt.page_shift();
}

std::uint64_t hpage_pmd_size(const Ctx& c) { return c.k.page_size() << hpage_pmd_order(c); }

unsigned long hpage_pmd_nr(const Ctx& c) { return 1ul << hpage_pmd_order(c); }

bool thp_vma_suitable_order(const Ctx& c, const vm_area_struct& vma, Addr haddr, unsigned order)
{
    const std::uint64_t hpage_size = c.k.page_size() << order;
    haddr &= ~(hpage_size - 1); // Don't have to check pgoff for anonymous vma
    return haddr >= vma.vm_start && haddr + hpage_size <= vma.vm_end;
}

bool thp_vma_allowable_pmd(const vm_area_struct& vma)
{
    // __thp_vma_allowable_orders(): vma_thp_disabled() (VM_NOHUGEPAGE), then hugepage_global_enabled() in
    // "madvise" mode: VM_HUGEPAGE. Every VMA here is anonymous; the temporary-stack check does not apply.
    if (vma.vm_flags & VM_NOHUGEPAGE)
        return false;
    return vma.vm_flags & VM_HUGEPAGE;
}

bool is_huge_zero_pmd(const Ctx& c, pte_t pmd)
{
    const Arch& a = c.k.arch();
    return a.pte_present(pmd) && c.k.is_huge_zero_pfn(a.pmd_pfn(pmd)); // pmd_present() && READ_ONCE(huge_zero_pfn) == pmd_pfn()
}

// mm/huge_memory.c do_huge_pmd_anonymous_page()
vm_fault_t do_huge_pmd_anonymous_page(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_huge_pmd_anonymous_page");
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    const Addr haddr = vmf.address & ~(hpage_pmd_size(c) - 1);
    if (!thp_vma_suitable_order(c, vma, haddr, hpage_pmd_order(c)))
        return VM_FAULT_FALLBACK;
    anon_vma_prepare(c, vma); // vmf_anon_prepare(); khugepaged_enter_vma(): no khugepaged
    // Read faults map the huge zero folio (mm_forbids_zeropage() is false, use_zero_page is 1).
    if (!(vmf.flags & FAULT_FLAG_WRITE)) {
        const PAddr pgtable = pte_alloc_one(c);
        const std::optional<Folio> zero_folio = mm_get_huge_zero_folio(c, mm);
        if (!zero_folio) {
            pte_free(c, pgtable);
            ++c.k.stats().thp_fault_fallback; // count_vm_event(THP_FAULT_FALLBACK)
            return VM_FAULT_FALLBACK;
        }
        vmf.ptl = pmd_lock(c, mm, vmf.pmd);
        if (pmdp_get(c, vmf.pmd).val == 0) { // pmd_none()
            set_huge_zero_folio(c, pgtable, mm, vma, haddr, vmf.pmd, *zero_folio);
            c.k.arch().update_mmu_cache_pmd(c, vma, vmf.address, vmf.pmd);
            ++c.k.stats().huge_zero_page_faults;
            spin_unlock(c, vmf.ptl);
        } else {
            spin_unlock(c, vmf.ptl);
            pte_free(c, pgtable);
        }
        return 0;
    }
    return __do_huge_pmd_anonymous_page(c, vmf);
}

// mm/huge_memory.c do_huge_pmd_wp_page()
vm_fault_t do_huge_pmd_wp_page(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_huge_pmd_wp_page");
    Arch& a = c.k.arch();
    const bool unshare = vmf.flags & FAULT_FLAG_UNSHARE;
    vm_area_struct& vma = *vmf.vma;
    const Addr haddr = vmf.address & ~(hpage_pmd_size(c) - 1);
    const pte_t orig_pmd = vmf.orig_pmd;
    vmf.ptl = pmd_lockptr(c, *vma.vm_mm, vmf.pmd);
    if (!vma.anon)
        throw std::logic_error("do_huge_pmd_wp_page: a PMD leaf in a VMA without anon_vma");

    if (is_huge_zero_pmd(c, orig_pmd)) {
        const vm_fault_t ret = do_huge_zero_wp_pmd(c, vmf);
        if (!(ret & VM_FAULT_FALLBACK))
            return ret;
        // Fallback to splitting PMD if THP cannot be allocated
        __split_huge_pmd(c, vma, vmf.pmd, vmf.address);
    }

    spin_lock(c, vmf.ptl);
    if (pmdp_get(c, vmf.pmd) != orig_pmd) {
        spin_unlock(c, vmf.ptl);
        return 0;
    }
    const pfn_t page = a.pmd_pfn(orig_pmd); // pmd_page()
    const Folio folio = page_folio(c, page);

    // Early check when only holding the PT lock.
    bool reuse = PageAnonExclusive(c, page);
    if (!reuse) {
        // folio_trylock(): the port's faults never hold a THP's lock for long; a contended lock falls back
        // (upstream sleeps in folio_lock() and rechecks)
        if (c.cpu.test_and_set_bit(PG_locked, page_addr(c, folio.pfn) + PAGE_OFF_FLAGS, Category::StructPage)) {
            spin_unlock(c, vmf.ptl);
            __split_huge_pmd(c, vma, vmf.pmd, vmf.address);
        }
        // See do_wp_page(): we can only reuse the folio exclusively if there are no additional references.
        // Note that we always drain the LRU cache immediately after adding a THP.
        if (folio_ref_count(c, folio) == 1) { // + folio_test_swapcache(): no swap cache
            // folio_move_anon_rmap(): WRITE_ONCE(folio->mapping, vma->anon_vma + FOLIO_MAPPING_ANON)
            c.cpu.store(page_addr(c, folio.pfn) + PAGE_OFF_MAPPING, vma.anon->addr | PAGE_MAPPING_ANON, 8,
                        Category::StructPage);
            SetPageAnonExclusive(c, page);
            reuse = true;
        }
        folio_clear_flag(c, folio, PG_locked); // folio_unlock()
        if (!reuse) {
            spin_unlock(c, vmf.ptl);
            __split_huge_pmd(c, vma, vmf.pmd, vmf.address); // unlock_fallback:
        }
    }
    // reuse:
    if (unshare) {
        spin_unlock(c, vmf.ptl);
        return 0;
    }
    pte_t entry = a.pte_mkyoung(orig_pmd);
    entry = maybe_pmd_mkwrite(c, a.pte_mkdirty(entry), vma);
    if (a.pmdp_set_access_flags(c, vma, haddr, vmf.pmd, entry, 1))
        a.update_mmu_cache_pmd(c, vma, vmf.address, vmf.pmd);
    spin_unlock(c, vmf.ptl);
    return 0;
}

// mm/huge_memory.c huge_pmd_set_accessed()
bool huge_pmd_set_accessed(Ctx& c, vm_fault& vmf)
{
    const bool write = vmf.flags & FAULT_FLAG_WRITE;
    if (pmdp_get(c, vmf.pmd) != vmf.orig_pmd) // !pmd_same()
        return false;
    return touch_pmd(c, *vmf.vma, vmf.address, vmf.pmd, write);
}

// mm/huge_memory.c zap_huge_pmd()
bool zap_huge_pmd(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr)
{
    const PhaseScope phase(c, "zap_huge_pmd");
    mm_struct& mm = *tlb.mm;
    // tlb_change_page_size(): only CONFIG_MMU_GATHER_PAGE_SIZE architectures (powerpc) track it
    const PAddr ptl = pmd_lock(c, mm, pmd); // __pmd_trans_huge_lock()
    if (!pmd_is_huge(c, pmdp_get(c, pmd))) {
        spin_unlock(c, ptl);
        return false;
    }
    // pmdp_huge_get_and_clear_full() is pmdp_huge_get_and_clear() on arm64, x86 and RISC-V
    const pte_t orig_pmd = pmdp_huge_get_and_clear(c, mm, addr, pmd);
    tlb_flush_pmd_range(tlb, addr, hpage_pmd_size(c)); // tlb_remove_pmd_tlb_entry()

    const bool is_present = c.k.arch().pte_present(orig_pmd);
    const std::optional<Folio> folio = vm_normal_folio_pmd(c, orig_pmd); // normal_or_softleaf_folio_pmd()
    // has_deposited_pgtable(): the huge zero PMD of an anonymous VMA, or an anonymous folio
    const bool has_deposit = is_huge_zero_pmd(c, orig_pmd) || (folio && folio_test_anon(c, *folio));
    if (folio)
        zap_huge_pmd_folio(c, mm, vma, *folio);
    if (has_deposit)
        zap_deposited_table(c, mm, pmd);
    spin_unlock(c, ptl);
    // tlb_remove_page_size(tlb, &folio->page, HPAGE_PMD_SIZE): one reference, dropped after the flush
    if (is_present && folio && __tlb_remove_folio_pages(c, tlb, folio->pfn, 1, false))
        tlb_flush_mmu(c, tlb);
    return true;
}

void __split_huge_pmd(Ctx&, vm_area_struct&, PtePtr, Addr address)
{
    throw std::logic_error("splitting the PMD-mapped transparent huge page at " + std::to_string(address) +
                           " (__split_huge_pmd()) is not ported: partial munmap/MADV_DONTNEED/mprotect of a THP, "
                           "or a write to a THP that is not exclusive");
}

// mm/pgtable-generic.c pgtable_trans_huge_deposit(): FIFO
void pgtable_trans_huge_deposit(Ctx& c, mm_struct& mm, PtePtr pmdp, PAddr pgtable)
{
    const PAddr head = pmd_huge_pte(c, mm, pmdp);
    const PAddr page = page_addr(c, pgtable >> c.k.page_shift()); // pgtable_t is the table's struct page
    const PAddr lru = page + PAGE_OFF_LRU;
    const std::uint64_t first = c.cpu.load(head, 8, Category::StructPage);
    if (!first) {
        // INIT_LIST_HEAD(&pgtable->lru)
        c.cpu.store(lru, lru, 8, Category::StructPage);
        c.cpu.store(lru + 8, lru, 8, Category::StructPage);
    } else {
        // list_add(&pgtable->lru, &pmd_huge_pte(mm, pmdp)->lru): after the head's node
        const PAddr head_lru = first + PAGE_OFF_LRU;
        const PAddr next = c.cpu.load(head_lru, 8, Category::StructPage);
        c.cpu.store(next + 8, lru, 8, Category::StructPage); // next->prev = new
        c.cpu.store(lru, next, 8, Category::StructPage);     // new->next = next
        c.cpu.store(lru + 8, head_lru, 8, Category::StructPage); // new->prev = head
        c.cpu.store(head_lru, lru, 8, Category::StructPage);     // head->next = new
    }
    c.cpu.store(head, page, 8, Category::StructPage);
}

// mm/pgtable-generic.c pgtable_trans_huge_withdraw(): FIFO
PAddr pgtable_trans_huge_withdraw(Ctx& c, mm_struct& mm, PtePtr pmdp)
{
    const PAddr head = pmd_huge_pte(c, mm, pmdp);
    const PAddr page = c.cpu.load(head, 8, Category::StructPage);
    if (!page)
        throw std::logic_error("pgtable_trans_huge_withdraw: no table deposited");
    const PAddr lru = page + PAGE_OFF_LRU;
    const PAddr next = c.cpu.load(lru, 8, Category::StructPage); // list_first_entry_or_null(&pgtable->lru)
    if (next == lru) {
        c.cpu.store(head, 0, 8, Category::StructPage);
    } else {
        c.cpu.store(head, next - PAGE_OFF_LRU, 8, Category::StructPage);
        // list_del(&pgtable->lru)
        const PAddr prev = c.cpu.load(lru + 8, 8, Category::StructPage);
        c.cpu.store(next + 8, prev, 8, Category::StructPage);
        c.cpu.store(prev, next, 8, Category::StructPage);
    }
    const pfn_t pfn = (page - c.k.vmemmap()) / kStructPageBytes;
    return pfn << c.k.page_shift();
}

// mm/pgtable-generic.c pmdp_huge_clear_flush()
pte_t pmdp_huge_clear_flush(Ctx& c, vm_area_struct& vma, Addr address, PtePtr pmdp)
{
    const pte_t pmd = pmdp_huge_get_and_clear(c, *vma.vm_mm, address, pmdp);
    c.k.arch().flush_pmd_tlb_range(c, vma, address, address + hpage_pmd_size(c));
    return pmd;
}

} // namespace mmusim::mm
