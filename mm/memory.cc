// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/memory.hh"
#include "util/ftrace.hh"

#include "hw/core/spinlock.hh"
#include "hw/pgtable/walk_down.hh"
#include "mm/huge_memory.hh"
#include "mm/internal.hh"
#include "mm/leafops.hh"
#include "mm/mmap_lock.hh"
#include "mm/mprotect.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"
#include "mm/page_io.hh"
#include "mm/shmem.hh"
#include "mm/swap_state.hh"
#include "mm/swapfile.hh"
#include "mm/swapops.hh"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace mmusim::mm {

using hw::Category;

namespace {

using rss_vec = std::array<long, NR_MM_COUNTERS>;

int leaf_depth(const Ctx& c) { return c.k.format().levels() - 1; }
std::uint64_t level_span(const Ctx& c, int d) { return std::uint64_t{1} << c.k.format().level(d).shift; }
std::uint64_t table_bytes(const Ctx& c, int d) { return c.k.format().table_bytes(d); }

// pgd_addr_end() / p4d_addr_end() / pud_addr_end() / pmd_addr_end() for an entry at depth d
Addr level_addr_end(const Ctx& c, int d, Addr addr, Addr end)
{
    const std::uint64_t span = level_span(c, d);
    const Addr boundary = (addr + span) & ~(span - 1);
    return boundary - 1 < end - 1 ? boundary : end;
}

// pgd_offset() / p4d_offset() / ... / pte_offset(): the entry for addr in the table at depth d
PtePtr entry_offset(const Ctx& c, PAddr table, Addr addr, int d) { return hw::descriptor_pa(c.k.format(), table, addr, d); }

// READ_ONCE() of an upper-level entry (pgdp_get() ... pmdp_get_lockless())
std::uint64_t entry_get(Ctx& c, PtePtr p) { return c.cpu.load(p, kPteBytes, Category::PteLoad); }
// WRITE_ONCE() of an upper-level entry (pmd_populate(), pmd_clear(), ...)
void entry_set(Ctx& c, PtePtr p, std::uint64_t v) { c.cpu.store(p, v, kPteBytes, Category::PteStore); }

// pmd_page_vaddr() / pud_pgtable() / ...: the table a present entry at depth d links
PAddr entry_table(const Ctx& c, int d, std::uint64_t v)
{
    const hw::Descriptor desc = c.k.format().decode(d, v);
    if (desc.type != hw::Descriptor::Type::Table)
        throw std::logic_error("page table entry at depth " + std::to_string(d) +
                               " is not a table (huge mappings are not ported)");
    return desc.oa;
}

void spin_lock(Ctx& c, PAddr lock) { hw::SpinLock(lock).lock(c.cpu); }
void spin_unlock(Ctx& c, PAddr lock) { hw::SpinLock(lock).unlock(c.cpu); }

// mm/memory.c __p4d_alloc() / __pud_alloc() / __pmd_alloc() / __pte_alloc(): a table of depth d+1 for the
// entry at depth d, installed under mm->page_table_lock (pud_lock() too) or, for a PTE table, the pmd lock
// (pmd_install()). A table another CPU installed meanwhile wins; ours is freed.
int alloc_level(Ctx& c, mm_struct& mm, PtePtr entry, int d)
{
    const PAddr table = c.k.page_alloc().pagetable_alloc(c, d + 1); // p4d_alloc_one() ... pte_alloc_one()
    const PAddr ptl = d + 1 == leaf_depth(c) ? pmd_lockptr(c, mm, entry) : mm.page_table_lock();
    bool installed = false;
    spin_lock(c, ptl);
    if (entry_get(c, entry) == 0) { // Has another populated it ?
        mm.pgtables_bytes += table_bytes(c, d + 1); // mm_inc_nr_ptes() / pmds / puds
        smp_wmb(c);                                 // the table's zeroing visible before the table is
        entry_set(c, entry, c.k.arch().table_entry(d, table)); // pmd_populate() / pud_populate() / ...
        installed = true;
    }
    spin_unlock(c, ptl);
    if (!installed)
        c.k.page_alloc().pagetable_free(c, table, d + 1);
    return 0;
}

// include/linux/mm.h add_mm_rss_vec()
void add_mm_rss_vec(Ctx& c, mm_struct& mm, const rss_vec& rss)
{
    for (unsigned i = 0; i < NR_MM_COUNTERS; ++i)
        if (rss[i])
            add_mm_counter(c, mm, static_cast<MmCounter>(i), rss[i]);
}

// include/linux/mm.h maybe_mkwrite()
pte_t maybe_mkwrite(const Ctx& c, pte_t pte, const vm_area_struct& vma)
{
    if (vma.vm_flags & VM_WRITE)
        pte = c.k.arch().pte_mkwrite(pte);
    return pte;
}

// mm/memory.c folio_prealloc(): an order-0 folio, zeroed when asked (vma_alloc_zeroed_movable_folio())
Folio folio_prealloc(Ctx& c, bool need_zero)
{
    const Folio folio = c.k.page_alloc().folio_alloc(c, 0);
    if (need_zero)
        c.cpu.clear_page(folio_pfn(folio) << c.k.page_shift(), c.k.page_size(), Category::ClearPage);
    return folio;
}

// include/linux/mm.h vma_soft_dirty_enabled() (CONFIG_MEM_SOFT_DIRTY): tracking is on while VM_SOFTDIRTY is
// clear; new VMAs start with it set.
bool vma_soft_dirty_enabled(const vm_area_struct& vma) { return !(vma.vm_flags & VM_SOFTDIRTY); }

// include/linux/mm.h pte_offset_map_lock()
PtePtr pte_offset_map_lock(Ctx& c, PtePtr pmd, Addr addr, PAddr* ptl)
{
    const PtePtr pte = pte_offset_map(c, pmd, addr);
    if (!pte)
        return 0;
    *ptl = pte_lockptr(c, pte);
    spin_lock(c, *ptl);
    return pte;
}

// mm/memory.c pte_range_none()
bool pte_range_none(Ctx& c, PtePtr pte, unsigned nr_pages)
{
    const Arch& a = c.k.arch();
    for (unsigned i = 0; i < nr_pages; ++i)
        if (!a.pte_none(ptep_get(c, pte_offset(pte, i)))) // ptep_get_lockless()
            return false;
    return true;
}

// mm/memory.c vmf_pte_changed()
bool vmf_pte_changed(Ctx& c, const vm_fault& vmf)
{
    if (vmf.flags & FAULT_FLAG_ORIG_PTE_VALID)
        return ptep_get(c, vmf.pte) != vmf.orig_pte;
    return !c.k.arch().pte_none(ptep_get(c, vmf.pte));
}

// Sets the nr PTEs of a new folio, in batches of the size the port's switches allow (set_ptes() as one
// batch in the current kernel).
void set_ptes_capped(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    const Arch& a = c.k.arch();
    while (nr) {
        const unsigned n = pte_batch_cap(c, nr);
        set_ptes(c, mm, addr, ptep, pte, n);
        addr += c.k.page_size() * n;
        ptep = pte_offset(ptep, n);
        pte = a.pte_advance_pfn(pte, n);
        nr -= n;
    }
}

// mm/memory.c alloc_anon_folio(): the VMA's mTHP order (vma.folio_order, the one size enabled in sysfs
// besides order 0) when the aligned range lies inside the VMA (thp_vma_suitable_orders()) and all its PTEs
// are none, else an order-0 folio. The folio is zeroed (folio_zero_user()). The PMD order is allowed too and is
// mapped by PTEs: upstream reaches PTE-mapped PMD-sized folios only by splitting a PMD mapping (or by fork or
// mremap of part of one), but their batched paths are the same, and experiments fault them in directly
// (docs/EXPERIMENTS.md). A VMA that maps PMD-sized THPs with a PMD (VM_HUGEPAGE, mm/huge_memory.cc) gets here
// only when that fell back.
Folio alloc_anon_folio(Ctx& c, vm_fault& vmf)
{
    vm_area_struct& vma = *vmf.vma;
    const unsigned order = vma.folio_order;
    const unsigned pmd_order = c.k.format().level(leaf_depth(c) - 1).shift - c.k.page_shift();
    if (order > 0 && order <= pmd_order) {
        const std::uint64_t size = c.k.page_size() << order;
        const Addr addr = vmf.address & ~(size - 1);
        if (addr >= vma.vm_start && addr + size <= vma.vm_end) {
            const PtePtr pte = pte_offset_map(c, vmf.pmd, addr);
            if (pte && pte_range_none(c, pte, 1u << order)) {
                try {
                    const Folio folio = c.k.page_alloc().folio_alloc(c, order); // vma_alloc_folio()
                    c.cpu.clear_page(folio_pfn(folio) << c.k.page_shift(), size, Category::ClearPage);
                    return folio;
                } catch (const OutOfMemory&) {
                    // count_mthp_stat(order, MTHP_STAT_ANON_FAULT_FALLBACK): next order, here order 0
                    ++c.k.stats().anon_fault_fallback[order];
                }
            }
        }
    }
    return folio_prealloc(c, true);
}

// mm/memory.c do_anonymous_page()
vm_fault_t do_anonymous_page(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_anonymous_page");
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    const Arch& a = c.k.arch();

    // File mapping without ->vm_ops ?
    if (vma.vm_flags & VM_SHARED)
        return VM_FAULT_SIGBUS;
    if (entry_get(c, vmf.pmd) == 0 && __pte_alloc(c, mm, vmf.pmd)) // pte_alloc()
        return VM_FAULT_OOM;

    // Use the zero-page for reads (mm_forbids_zeropage() is false on arm64, x86 and RISC-V).
    if (!(vmf.flags & FAULT_FLAG_WRITE)) {
        const pte_t entry = a.pte_mkspecial(a.pfn_pte(c.k.zero_pfn(), vma.vm_page_prot));
        vmf.pte = pte_offset_map_lock(c, vmf.pmd, vmf.address, &vmf.ptl);
        if (!vmf.pte)
            return 0;
        if (vmf_pte_changed(c, vmf)) {
            update_mmu_tlb(c, vma, vmf.address, vmf.pte);
        } else {
            set_pte_at(c, mm, vmf.address, vmf.pte, entry);
            // No need to invalidate - it was non-present before
            update_mmu_cache_range(c, vma, vmf.address, vmf.pte, 1);
            ++c.k.stats().zero_page_faults;
        }
        spin_unlock(c, vmf.ptl);
        return 0;
    }

    // Allocate our own private page.
    anon_vma_prepare(c, vma); // vmf_anon_prepare()
    const Folio folio = alloc_anon_folio(c, vmf);
    const unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
    const Addr addr = vmf.address & ~(c.k.page_size() * nr_pages - 1);

    __folio_mark_uptodate(c, folio);
    pte_t entry = a.pfn_pte(folio_pfn(folio), vma.vm_page_prot); // folio_mk_pte(); pte_sw_mkyoung() is a no-op
    if (vma.vm_flags & VM_WRITE)
        entry = a.pte_mkwrite(a.pte_mkdirty(entry));

    vmf.pte = pte_offset_map_lock(c, vmf.pmd, addr, &vmf.ptl);
    if (!vmf.pte) {
        folio_put(c, folio);
        return 0;
    }
    if ((nr_pages == 1 && vmf_pte_changed(c, vmf)) || (nr_pages > 1 && !pte_range_none(c, vmf.pte, nr_pages))) {
        update_mmu_tlb_range(c, vma, addr, vmf.pte, nr_pages);
        spin_unlock(c, vmf.ptl);
        folio_put(c, folio);
        return 0;
    }

    folio_ref_add(c, folio, static_cast<int>(nr_pages) - 1);
    add_mm_counter(c, mm, MM_ANONPAGES, nr_pages);
    ++c.k.stats().anon_fault_alloc[folio_order(c, folio)]; // count_mthp_stat(MTHP_STAT_ANON_FAULT_ALLOC)
    folio_add_new_anon_rmap(c, folio, vma, addr, RMAP_EXCLUSIVE);
    folio_add_lru_vma(c, folio, vma);
    set_ptes_capped(c, mm, addr, vmf.pte, entry, nr_pages);
    // No need to invalidate - it was non-present before
    update_mmu_cache_range(c, vma, addr, vmf.pte, nr_pages);
    spin_unlock(c, vmf.ptl);
    return 0;
}

// mm/memory.c wp_page_reuse(): the PTE made young, dirty and writable in place (ptl held, released)
void wp_page_reuse(Ctx& c, vm_fault& vmf)
{
    const Arch& a = c.k.arch();
    vm_area_struct& vma = *vmf.vma;
    pte_t entry = a.pte_mkyoung(vmf.orig_pte);
    entry = maybe_mkwrite(c, a.pte_mkdirty(entry), vma);
    if (ptep_set_access_flags(c, vma, vmf.address, vmf.pte, entry, 1))
        update_mmu_cache_range(c, vma, vmf.address, vmf.pte, 1);
    spin_unlock(c, vmf.ptl);
    ++c.k.stats().pages_reused; // count_vm_event(PGREUSE)
}

// mm/memory.c __wp_can_reuse_large_anon_folio(): all references are this MM's mappings
bool __wp_can_reuse_large_anon_folio(Ctx& c, Folio folio)
{
    // Let's just free up a large folio if only a single page is mapped.
    if (folio_large_mapcount(c, folio) <= 1)
        return false;
    if (folio_mm_ids_shared(c, folio))
        return false;
    if (folio_large_mapcount(c, folio) != folio_ref_count(c, folio))
        return false;
    // Stabilize the mapcount vs. refcount and recheck.
    folio_lock_large_mapcount(c, folio);
    const bool exclusive =
        !folio_mm_ids_shared(c, folio) && folio_large_mapcount(c, folio) == folio_ref_count(c, folio);
    folio_unlock_large_mapcount(c, folio);
    return exclusive;
}

// mm/memory.c wp_can_reuse_anon_folio()
bool wp_can_reuse_anon_folio(Ctx& c, Folio folio, vm_area_struct& vma)
{
    if (folio_test_large(c, folio))
        return __wp_can_reuse_large_anon_folio(c, folio);
    // KSM doesn't necessarily raise the folio refcount (no KSM here).
    if (folio_ref_count(c, folio) > 3)
        return false;
    // !folio_test_lru() would lru_add_drain(): the port has no per-CPU LRU batches.
    folio_test_flag(c, folio, PG_lru);
    const bool swapcache = folio_test_swapcache(c, folio);
    if (folio_ref_count(c, folio) > 1 + (swapcache ? 1 : 0))
        return false;
    // folio_trylock()
    if (c.cpu.test_and_set_bit(PG_locked, page_addr(c, folio.pfn) + PAGE_OFF_FLAGS, Category::StructPage))
        return false;
    if (swapcache && folio_test_swapcache(c, folio)) // swap: the cache's reference goes with its slot
        folio_free_swap(c, folio);
    const bool reuse = folio_ref_count(c, folio) == 1;
    if (reuse) // folio_move_anon_rmap(): WRITE_ONCE(folio->mapping, vma->anon_vma + FOLIO_MAPPING_ANON)
        c.cpu.store(page_addr(c, folio.pfn) + PAGE_OFF_MAPPING, vma.anon->addr | PAGE_MAPPING_ANON, 8,
                    Category::StructPage);
    folio_clear_flag(c, folio, PG_locked); // folio_unlock()
    return reuse;
}

// mm/memory.c wp_page_copy(): a private copy of the page (or a zeroed one for the zero page), mapped in place
// of the old PTE after a ptep_clear_flush(); called without the ptl, with a reference on the old folio.
vm_fault_t wp_page_copy(Ctx& c, vm_fault& vmf)
{
    const Arch& a = c.k.arch();
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    std::optional<Folio> old_folio;
    if (vmf.page)
        old_folio = page_folio(c, *vmf.page);
    anon_vma_prepare(c, vma); // vmf_anon_prepare()

    const bool pfn_is_zero = c.k.is_zero_pfn(a.pte_pfn(vmf.orig_pte));
    std::optional<Folio> new_folio = folio_prealloc(c, pfn_is_zero);
    bool page_copied = false;
    if (!pfn_is_zero) // __wp_page_copy_user() -> copy_mc_user_highpage()
        c.cpu.copy_page(folio_pfn(*new_folio) << c.k.page_shift(), *vmf.page << c.k.page_shift(), c.k.page_size(),
                        Category::ClearPage);
    __folio_mark_uptodate(c, *new_folio);

    // Re-check the pte - we dropped the lock
    vmf.pte = pte_offset_map_lock(c, vmf.pmd, vmf.address, &vmf.ptl);
    if (vmf.pte && ptep_get(c, vmf.pte) == vmf.orig_pte) {
        if (!old_folio)
            inc_mm_counter(c, mm, MM_ANONPAGES);
        pte_t entry = a.pfn_pte(folio_pfn(*new_folio), vma.vm_page_prot); // folio_mk_pte(), pte_sw_mkyoung()
        if (vmf.flags & FAULT_FLAG_UNSHARE) { // an unshare (GUP pin) leaves the new page read-only
            if (a.pte_soft_dirty(vmf.orig_pte))
                entry = a.pte_mksoft_dirty(entry);
        } else {
            entry = maybe_mkwrite(c, a.pte_mkdirty(entry), vma);
        }
        // Clear the pte entry and flush it first, before updating the pte with the new entry, to keep TLBs
        // on different CPUs in sync.
        ptep_clear_flush(c, vma, vmf.address, vmf.pte);
        folio_add_new_anon_rmap(c, *new_folio, vma, vmf.address, RMAP_EXCLUSIVE);
        folio_add_lru_vma(c, *new_folio, vma);
        set_pte_at(c, mm, vmf.address, vmf.pte, entry);
        update_mmu_cache_range(c, vma, vmf.address, vmf.pte, 1);
        // Only after switching the pte to the new page may we remove the mapcount here.
        if (old_folio)
            folio_remove_rmap_pte(c, *old_folio, *vmf.page, vma);
        // Free the old page..
        new_folio = old_folio;
        page_copied = true;
        ++c.k.stats().pages_copied;
    } else if (vmf.pte) {
        update_mmu_tlb(c, vma, vmf.address, vmf.pte);
    }
    if (vmf.pte)
        spin_unlock(c, vmf.ptl);
    if (new_folio)
        folio_put(c, *new_folio);
    if (old_folio) {
        if (page_copied) // swap: the old folio may be in the swap cache with no mapping left
            free_swap_cache(c, *old_folio);
        folio_put(c, *old_folio);
    }
    return 0;
}

// ---- shared anonymous memory (shmem): file faults ----

// include/linux/mm.h vma_is_anonymous(): no vm_ops; the port's only file VMAs are shmem's
bool vma_is_anonymous(const vm_area_struct& vma) { return !vma.vm_file; }

// mm/page-writeback.c noop_dirty_folio() (shmem_aops.dirty_folio) via folio_mark_dirty(): true when the
// folio became dirty
bool folio_mark_dirty(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_dirty))
        return false;
    return !c.cpu.test_and_set_bit(PG_dirty, page_addr(c, folio.pfn) + PAGE_OFF_FLAGS, Category::StructPage);
}

// mm/memory.c __do_fault(): vm_ops->fault (shmem_fault()), the folio returned locked (no PTE table is
// preallocated: finish_fault() allocates one under no folio lock ordering concern in the port)
vm_fault_t __do_fault(Ctx& c, vm_fault& vmf)
{
    vm_fault_t ret = shmem_fault(c, vmf);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
        return ret;
    if (!(ret & VM_FAULT_LOCKED))
        folio_lock(c, page_folio(c, *vmf.page));
    return ret;
}

// mm/memory.c set_pte_range(): nr PTEs of `folio` from `page`, its file rmap, set_ptes() (in the batches the
// port's switches allow, as the anonymous path). A write fault maps dirty and writable; a read fault of a
// writable mapping maps a dirty folio dirty. (A shared VMA only: the COW branch is do_cow_fault()'s, not
// ported.)
void set_pte_range(Ctx& c, vm_fault& vmf, Folio folio, pfn_t page, unsigned nr, Addr addr)
{
    const Arch& a = c.k.arch();
    vm_area_struct& vma = *vmf.vma;
    const bool write = vmf.flags & FAULT_FLAG_WRITE;
    // prefault && arch_wants_old_prefaulted_pte(): the faulting address is always inside the range here
    pte_t entry = a.pfn_pte(page, vma.vm_page_prot); // mk_pte(); pte_sw_mkyoung() is a no-op
    if (write)
        entry = maybe_mkwrite(c, a.pte_mkdirty(entry), vma);
    else if (a.pte_write(entry) && folio_test_flag(c, folio, PG_dirty))
        entry = a.pte_mkdirty(entry);
    folio_add_file_rmap_ptes(c, folio, page, static_cast<int>(nr), vma);
    set_ptes_capped(c, *vma.vm_mm, addr, vmf.pte, entry, nr);
    // no need to invalidate: a not-present page won't be cached
    update_mmu_cache_range(c, vma, addr, vmf.pte, nr);
}

// mm/memory.c finish_fault() for a shared VMA: the whole folio is mapped when it lies inside the VMA and the
// PMD's PTE table (vma_off / pte_off checks), else the one page; a range no longer all none falls back to the
// one page. A PMD-sized folio is PTE-mapped too (do_set_pmd() is not ported).
vm_fault_t finish_fault(Ctx& c, vm_fault& vmf)
{
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    const Folio folio = page_folio(c, *vmf.page);
    if (entry_get(c, vmf.pmd) == 0 && __pte_alloc(c, mm, vmf.pmd)) // pte_alloc()
        return VM_FAULT_OOM;
    bool needs_fallback = false;
    for (;;) { // fallback:
        Addr addr = vmf.address;
        pfn_t page = *vmf.page;
        unsigned nr_pages = static_cast<unsigned>(folio_nr_pages(c, folio));
        if (needs_fallback) {
            nr_pages = 1;
        } else if (nr_pages > 1) {
            const std::uint64_t idx = page - folio_pfn(folio);          // folio_page_idx()
            const std::uint64_t vma_off = vmf.pgoff - vma.vm_pgoff;     // the page offset within the VMA
            const std::uint64_t ptrs_per_pte = level_span(c, leaf_depth(c) - 1) >> c.k.page_shift();
            const std::uint64_t pte_off = (vmf.address >> c.k.page_shift()) & (ptrs_per_pte - 1); // pte_index()
            const std::uint64_t vma_pages = (vma.vm_end - vma.vm_start) >> c.k.page_shift();
            if (vma_off < idx || vma_off + (nr_pages - idx) > vma_pages || pte_off < idx ||
                pte_off + (nr_pages - idx) > ptrs_per_pte) {
                nr_pages = 1;
            } else { // Now we can set mappings for the whole large folio.
                addr = vmf.address - idx * c.k.page_size();
                page = folio_pfn(folio);
            }
        }
        vmf.pte = pte_offset_map_lock(c, vmf.pmd, addr, &vmf.ptl);
        if (!vmf.pte)
            return VM_FAULT_NOPAGE;
        // Re-check under ptl
        if (nr_pages == 1 && vmf_pte_changed(c, vmf)) {
            update_mmu_tlb(c, vma, addr, vmf.pte);
            spin_unlock(c, vmf.ptl);
            return VM_FAULT_NOPAGE;
        }
        if (nr_pages > 1 && !pte_range_none(c, vmf.pte, nr_pages)) {
            needs_fallback = true;
            spin_unlock(c, vmf.ptl);
            continue;
        }
        folio_ref_add(c, folio, static_cast<int>(nr_pages) - 1);
        set_pte_range(c, vmf, folio, page, nr_pages, addr);
        add_mm_counter(c, mm, mm_counter_file(c, folio), nr_pages);
        spin_unlock(c, vmf.ptl);
        return 0;
    }
}

// mm/memory.c fault_dirty_shared_page(): the folio marked dirty (noop_dirty_folio()) and unlocked. shmem has
// no page_mkwrite and no writeback accounting, so file_update_time() and balance_dirty_pages_ratelimited()
// have nothing the port models.
vm_fault_t fault_dirty_shared_page(Ctx& c, vm_fault& vmf)
{
    const Folio folio = page_folio(c, *vmf.page);
    folio_mark_dirty(c, folio);
    folio_unlock(c, folio);
    return 0;
}

// mm/memory.c do_read_fault(): fault-around (do_fault_around() -> filemap_map_pages()) is not ported, so
// each read fault takes ->fault; finish_fault() maps the whole folio where it fits
vm_fault_t do_read_fault(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_read_fault");
    vm_fault_t ret = __do_fault(c, vmf);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
        return ret;
    ret |= finish_fault(c, vmf);
    const Folio folio = page_folio(c, *vmf.page);
    folio_unlock(c, folio);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
        folio_put(c, folio);
    return ret & ~VM_FAULT_LOCKED;
}

// mm/memory.c do_shared_fault(): no page_mkwrite for shmem
vm_fault_t do_shared_fault(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_shared_fault");
    vm_fault_t ret = __do_fault(c, vmf);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_NOPAGE | VM_FAULT_RETRY))
        return ret;
    const Folio folio = page_folio(c, *vmf.page);
    ret |= finish_fault(c, vmf);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_NOPAGE | VM_FAULT_RETRY)) {
        folio_unlock(c, folio);
        folio_put(c, folio);
        return ret & ~VM_FAULT_LOCKED;
    }
    ret |= fault_dirty_shared_page(c, vmf);
    return ret & ~VM_FAULT_LOCKED;
}

// mm/memory.c do_fault(): shmem has ->fault; a private file mapping's do_cow_fault() is not ported (the
// port's only file VMAs are shared)
vm_fault_t do_fault(Ctx& c, vm_fault& vmf)
{
    vm_area_struct& vma = *vmf.vma;
    vmf.pgoff = linear_page_index(c, vma, vmf.address);
    if (!(vmf.flags & FAULT_FLAG_WRITE))
        return do_read_fault(c, vmf);
    if (!(vma.vm_flags & VM_SHARED))
        throw std::logic_error("do_fault: do_cow_fault() (private file mappings) is not ported");
    return do_shared_fault(c, vmf);
}

// mm/memory.c wp_page_shared(): no page_mkwrite for shmem, so the PTE is reused writable in place, then the
// folio dirtied (ptl held, released)
vm_fault_t wp_page_shared(Ctx& c, vm_fault& vmf, Folio folio)
{
    folio_get(c, folio);
    wp_page_reuse(c, vmf);
    folio_lock(c, folio);
    const vm_fault_t ret = fault_dirty_shared_page(c, vmf);
    folio_put(c, folio);
    return ret;
}

// mm/memory.c do_wp_page(): a write to a present, write-protected PTE, or an unshare (FAULT_FLAG_UNSHARE,
// from GUP pinning a shared anonymous page read-only) (ptl held)
vm_fault_t do_wp_page(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_wp_page");
    vm_area_struct& vma = *vmf.vma;
    vmf.page = vm_normal_page(c, vma, vmf.address, vmf.orig_pte);
    std::optional<Folio> folio;
    if (vmf.page)
        folio = page_folio(c, *vmf.page);

    // Shared mapping: wp_page_shared() / wp_pfn_shared() (no pfn_mkwrite: a special page is reused in place)
    if (vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) {
        if (!folio) {
            wp_page_reuse(c, vmf);
            return 0;
        }
        return wp_page_shared(c, vmf, *folio);
    }
    // Private mapping: create an exclusive anonymous page copy if reuse is impossible. If we encounter a
    // page that is marked exclusive, we must reuse the page without further checks.
    if (folio && folio_test_anon(c, *folio) &&
        (PageAnonExclusive(c, *vmf.page) || wp_can_reuse_anon_folio(c, *folio, vma))) {
        if (!PageAnonExclusive(c, *vmf.page))
            SetPageAnonExclusive(c, *vmf.page);
        if (vmf.flags & FAULT_FLAG_UNSHARE) { // exclusive now, which is all an unshare asks
            spin_unlock(c, vmf.ptl);
            return 0;
        }
        wp_page_reuse(c, vmf);
        return 0;
    }
    // Ok, we need to copy. Oh, well..
    if (folio)
        folio_get(c, *folio);
    spin_unlock(c, vmf.ptl);
    return wp_page_copy(c, vmf);
}

// ---- swap: swap-in (mm/memory.c do_swap_page() and its helpers) ----

// mm/memory.c should_try_to_free_swap(): free the swap cache (and the slot, if no swap PTE names it) after
// mapping the folio? (mem_cgroup_swap_full() is vm_swap_full() without memcg)
bool should_try_to_free_swap(Ctx& c, const swap_info_struct& si, Folio folio, const vm_area_struct& vma,
                             unsigned extra_refs, unsigned fault_flags)
{
    if (!folio_test_swapcache(c, folio))
        return false;
    // Always try to free swap cache for SWP_SYNCHRONOUS_IO devices.
    if (c.cpu.load(si.addr + swap_info_struct::OFF_FLAGS, 8) & SWP_SYNCHRONOUS_IO)
        return true;
    if (vm_swap_full(c) || (vma.vm_flags & VM_LOCKED) || folio_test_flag(c, folio, PG_mlocked))
        return true;
    // If we want to map a page that's in the swapcache writable, we have to detect via the refcount if
    // we're really the exclusive user.
    return (fault_flags & FAULT_FLAG_WRITE) &&
           folio_ref_count(c, folio) == static_cast<int>(extra_refs + folio_nr_pages(c, folio));
}

// mm/memory.c __alloc_swap_folio(): an order-0 folio (vma_alloc_folio(), not zeroed: the read fills it)
std::optional<Folio> __alloc_swap_folio(Ctx& c)
{
    try {
        return c.k.page_alloc().folio_alloc(c, 0);
    } catch (const OutOfMemory&) {
        return std::nullopt;
    }
}

// mm/memory.c can_swapin_thp(): the nr_pages PTEs from ptep are swap entries of consecutive slots with the
// same swap-PTE bits, all in or out of the zeromap, none in the swap cache
bool can_swapin_thp(Ctx& c, const vm_fault& vmf, PtePtr ptep, unsigned nr_pages)
{
    const Addr addr = vmf.address & ~(c.k.page_size() * nr_pages - 1);
    const long idx = static_cast<long>((vmf.address - addr) >> c.k.page_shift());
    const pte_t pte = ptep_get(c, ptep);
    if (pte != pte_move_swp_offset(c, vmf.orig_pte, -idx))
        return false;
    const swp_entry_t entry = c.k.arch().pte_to_swp_entry(pte);
    if (swap_pte_batch(c, ptep, nr_pages, pte) != nr_pages)
        return false;
    // swap_read_folio() can't handle the case a large folio is hybridly from different backends.
    if (swap_zeromap_batch(c, entry, nr_pages, nullptr) != nr_pages)
        return false;
    if (non_swapcache_batch(c, entry, nr_pages) != nr_pages)
        return false;
    return true;
}

// mm/memory.c alloc_swap_folio(): the VMA's mTHP order (the one enabled size, below the PMD order) when the
// aligned range lies in the VMA (thp_vma_suitable_orders()), its first slot is aligned as the folio was when
// swapped out (thp_swap_suitable_orders()) and can_swapin_thp() holds under the PTE lock; else order 0. No
// userfaultfd or zswap in the port to force order 0.
std::optional<Folio> alloc_swap_folio(Ctx& c, vm_fault& vmf)
{
    const vm_area_struct& vma = *vmf.vma;
    const unsigned order = vma.folio_order;
    const unsigned pmd_order = c.k.format().level(leaf_depth(c) - 1).shift - c.k.page_shift();
    if (order > 0 && order < pmd_order) {
        const unsigned nr = 1u << order;
        const std::uint64_t size = c.k.page_size() << order;
        const Addr addr = vmf.address & ~(size - 1);
        const swp_entry_t entry = c.k.arch().pte_to_swp_entry(vmf.orig_pte);
        if (addr >= vma.vm_start && addr + size <= vma.vm_end &&
            (vmf.address >> c.k.page_shift()) % nr == swp_offset(entry) % nr) {
            const Addr pmd_start = vmf.address & ~(level_span(c, leaf_depth(c) - 1) - 1);
            PAddr ptl = 0;
            const PtePtr pte = pte_offset_map_lock(c, vmf.pmd, pmd_start, &ptl);
            if (pte) {
                const bool ok =
                    can_swapin_thp(c, vmf, pte_offset(pte, static_cast<long>((addr - pmd_start) >> c.k.page_shift())), nr);
                spin_unlock(c, ptl);
                if (ok) {
                    try {
                        return c.k.page_alloc().folio_alloc(c, order); // vma_alloc_folio(vma_thp_gfp_mask())
                    } catch (const OutOfMemory&) {
                        // count_mthp_stat(order, MTHP_STAT_SWPIN_FALLBACK): order 0
                    }
                }
            }
        }
    }
    return __alloc_swap_folio(c);
}

vm_fault_t remove_device_exclusive_entry(Ctx& c, vm_fault& vmf);

// mm/memory.c do_swap_page(): a fault on a swap PTE. The folio comes from the swap cache, or is allocated
// (the whole large folio where alloc_swap_folio() allows), added to the swap cache and read from the
// synchronous device; then mapped (all its PTEs when they are still its swap entries), exclusive and
// writable when the swap PTE says the page was exclusive, its slots' swap counts dropped and the swap cache
// freed. A device-exclusive entry is restored instead (remove_device_exclusive_entry()). Migration,
// device-private, hwpoison and marker entries (refused by name), KSM and readahead (asynchronous devices) are
// not ported.
vm_fault_t do_swap_page(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "do_swap_page");
    vm_area_struct& vma = *vmf.vma;
    mm_struct& mm = *vma.vm_mm;
    const Arch& a = c.k.arch();
    rmap_t rmap_flags = RMAP_NONE;
    vm_fault_t ret = 0;

    vmf.pte = 0; // pte_unmap_same(): no re-check where a pte_t is one word
    swp_entry_t entry = softleaf_from_pte(a, vmf.orig_pte);
    if (!softleaf_is_swap(entry)) {
        if (softleaf_is_device_exclusive(entry)) {
            vmf.page = softleaf_to_page(entry);
            return remove_device_exclusive_entry(c, vmf);
        }
        // Migration, device-private, hwpoison and marker entries: the port makes none (print_bad_pte())
        throw std::logic_error("do_swap_page: a non-present PTE of a kind the port does not make (" +
                               std::to_string(vmf.orig_pte.val) + ")");
    }

    // Prevent swapoff from happening to us.
    swap_info_struct* si = get_swap_device(c, entry);
    if (!si)
        return 0;

    std::optional<Folio> folio = swap_cache_get_folio(c, entry); // (swap_update_readahead(): statistics)
    if (!folio) {
        if (!(c.cpu.load(si->addr + swap_info_struct::OFF_FLAGS, 8) & SWP_SYNCHRONOUS_IO))
            throw std::logic_error("do_swap_page: swapin_readahead() (asynchronous devices) is not ported");
        folio = alloc_swap_folio(c, vmf);
        if (folio) {
            // folio is charged, so swapin can only fail due to raced swapin and return NULL.
            const std::optional<Folio> cached = swapin_folio(c, entry, *folio);
            if (cached != folio)
                folio_put(c, *folio);
            folio = cached;
        }
        if (!folio) {
            // Back out if somebody else faulted in this pte while we released the pte lock.
            vmf.pte = pte_offset_map_lock(c, vmf.pmd, vmf.address, &vmf.ptl);
            if (vmf.pte && ptep_get(c, vmf.pte) == vmf.orig_pte)
                ret = VM_FAULT_OOM;
            if (vmf.pte)
                spin_unlock(c, vmf.ptl);
            put_swap_device(c, *si);
            return ret;
        }
        // Had to read the page from swap area: Major fault
        ret = VM_FAULT_MAJOR;
        ++c.k.swap().events.pgmajfault; // count_vm_event(PGMAJFAULT)
    }

    const Folio swapcache = *folio;
    folio_lock(c, swapcache); // folio_lock_or_retry()
    // folio_file_page()
    pfn_t page = folio_page(swapcache, swp_offset(entry) & (folio_nr_pages(c, swapcache) - 1));

    const auto out_page = [&]() {
        if (folio_test_swapcache(c, swapcache))
            folio_free_swap(c, swapcache);
        folio_unlock(c, swapcache);
        folio_put(c, swapcache); // out_release:
        put_swap_device(c, *si);
        return ret;
    };
    const auto out_nomap = [&]() {
        if (vmf.pte)
            spin_unlock(c, vmf.ptl);
        return out_page();
    };

    // Make sure folio_free_swap() or swapoff did not release the swapcache from under us.
    if (!folio_matches_swap_entry(c, swapcache, entry))
        return out_page();
    // (PageHWPoison(), ksm_might_need_to_copy(): no hwpoison or KSM; lru_add_drain(): no per-CPU LRU batches)

    // Back out if somebody else already faulted in this pte.
    vmf.pte = pte_offset_map_lock(c, vmf.pmd, vmf.address, &vmf.ptl);
    if (!vmf.pte || ptep_get(c, vmf.pte) != vmf.orig_pte)
        return out_nomap();
    if (!folio_test_flag(c, swapcache, PG_uptodate)) {
        ret = VM_FAULT_SIGBUS;
        return out_nomap();
    }

    unsigned nr_pages = 1;
    unsigned long page_idx = 0;
    Addr address = vmf.address;
    PtePtr ptep = vmf.pte;
    if (folio_test_large(c, swapcache) && folio_test_swapcache(c, swapcache)) {
        const unsigned nr = static_cast<unsigned>(folio_nr_pages(c, swapcache));
        const unsigned long idx = page - folio_pfn(swapcache); // folio_page_idx()
        const Addr folio_start = address - idx * c.k.page_size();
        const Addr folio_end = folio_start + nr * c.k.page_size();
        const Addr pmd_start = address & ~(level_span(c, leaf_depth(c) - 1) - 1);
        if (folio_start >= std::max(pmd_start, vma.vm_start) &&
            folio_end <= level_addr_end(c, leaf_depth(c) - 1, address, vma.vm_end)) {
            const PtePtr folio_ptep = pte_offset(vmf.pte, -static_cast<long>(idx));
            const pte_t folio_pte = ptep_get(c, folio_ptep);
            if (folio_pte == pte_move_swp_offset(c, vmf.orig_pte, -static_cast<long>(idx)) &&
                swap_pte_batch(c, folio_ptep, nr, folio_pte) == nr) {
                page_idx = idx;
                address = folio_start;
                ptep = folio_ptep;
                nr_pages = nr;
                entry = folio_swap(c, swapcache);
                page = folio_pfn(swapcache);
            }
        }
    }

    // check_folio: a swap pte must never point at an anonymous page in the swapcache that is
    // PG_anon_exclusive.
    if (folio_test_anon(c, swapcache) && PageAnonExclusive(c, page))
        throw std::logic_error("do_swap_page: a swap PTE names an anon-exclusive page");
    // A large folio that does not belong to an anon mapping yet must be mapped whole.
    if (!folio_test_anon(c, swapcache) && folio_test_large(c, swapcache) &&
        nr_pages != folio_nr_pages(c, swapcache)) {
        if (!folio_test_flag(c, swapcache, PG_dirty))
            swap_cache_del_folio(c, swapcache);
        return out_nomap();
    }

    // Check under PT lock (to protect against concurrent fork() sharing the swap entry concurrently) for
    // certainly exclusive pages. The can_swapin_thp check above ensures all PTE have same exclusiveness.
    bool exclusive = a.pte_swp_exclusive(vmf.orig_pte);
    // (check_swap_exclusive(): a VM_WARN of the swap counts, not ported)
    if (exclusive && folio_test_flag(c, swapcache, PG_writeback) && (si->flags & SWP_STABLE_WRITES))
        exclusive = false; // not all swap backends support concurrent page modifications under writeback
    // (arch_swap_restore(): MTE tags are not modelled)

    add_mm_counter(c, mm, MM_ANONPAGES, nr_pages);
    add_mm_counter(c, mm, MM_SWAPENTS, -static_cast<long>(nr_pages));
    pte_t pte = a.pfn_pte(page, vma.vm_page_prot); // mk_pte()
    if (a.pte_swp_soft_dirty(vmf.orig_pte))
        pte = a.pte_mksoft_dirty(pte);

    // Same logic as in do_wp_page(); however, optimize for pages that are certainly not shared either
    // because we just allocated them without exposing them to the swapcache or because the swap entry
    // indicates exclusivity.
    if (exclusive || folio_ref_count(c, swapcache) == 1) {
        // pte_needs_soft_dirty_wp(): soft-dirty tracking keeps a clean PTE write-protected
        if ((vma.vm_flags & VM_WRITE) && !(vma_soft_dirty_enabled(vma) && !a.pte_soft_dirty(pte))) {
            pte = a.pte_mkwrite(pte);
            if (vmf.flags & FAULT_FLAG_WRITE) {
                pte = a.pte_mkdirty(pte);
                vmf.flags &= ~FAULT_FLAG_WRITE;
            }
        }
        rmap_flags |= RMAP_EXCLUSIVE;
    }
    folio_ref_add(c, swapcache, static_cast<int>(nr_pages) - 1); // (flush_icache_pages(): no I-cache model)
    vmf.orig_pte = a.pte_advance_pfn(pte, page_idx);

    if (!folio_test_anon(c, swapcache)) {
        // We currently only expect !anon folios that are fully mappable.
        folio_add_new_anon_rmap(c, swapcache, vma, address, rmap_flags);
        folio_put_swap(c, swapcache, std::nullopt);
    } else {
        folio_add_anon_rmap_ptes(c, swapcache, page, static_cast<int>(nr_pages), vma, address, rmap_flags);
        folio_put_swap(c, swapcache, nr_pages == 1 ? std::optional<pfn_t>(page) : std::nullopt);
    }
    if (a.pte_write(pte) && !PageAnonExclusive(c, page))
        throw std::logic_error("do_swap_page: a writable PTE for a page not anon-exclusive");
    set_ptes_capped(c, mm, address, ptep, pte, nr_pages);
    // (arch_do_swap_page_nr(): sparc ADI only)

    // Remove the swap entry and conditionally try to free up the swapcache. Do it after mapping, so raced
    // page faults will likely see the folio in swap cache and wait on the folio lock.
    if (should_try_to_free_swap(c, *si, swapcache, vma, nr_pages, vmf.flags))
        folio_free_swap(c, swapcache);
    folio_unlock(c, swapcache);

    if (vmf.flags & FAULT_FLAG_WRITE) {
        ret |= do_wp_page(c, vmf); // releases the PTE lock
        if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) // VM_FAULT_ERROR
            ret &= VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;
        put_swap_device(c, *si);
        return ret;
    }
    // No need to invalidate - it was non-present before
    update_mmu_cache_range(c, vma, address, ptep, nr_pages);
    spin_unlock(c, vmf.ptl);
    put_swap_device(c, *si);
    return ret;
}

// mm/memory.c handle_pte_fault()
vm_fault_t handle_pte_fault(Ctx& c, vm_fault& vmf)
{
    const Arch& a = c.k.arch();
    const std::uint64_t pmdval = entry_get(c, vmf.pmd);
    if (pmdval != 0) {
        // pte_offset_map_rw_nolock() fails on a PMD leaf (a huge PMD raced in): the fault is retried
        if (a.pmd_trans_huge(pte_t{pmdval}))
            return 0;
        // ptep_get_lockless()
        vmf.pte = entry_offset(c, entry_table(c, leaf_depth(c) - 1, pmdval), vmf.address, leaf_depth(c));
        vmf.orig_pte = ptep_get(c, vmf.pte);
        vmf.flags |= FAULT_FLAG_ORIG_PTE_VALID;
        if (a.pte_none(vmf.orig_pte))
            vmf.pte = 0;
    }
    if (!vmf.pte) // do_pte_missing()
        return vma_is_anonymous(*vmf.vma) ? do_anonymous_page(c, vmf) : do_fault(c, vmf);
    if (!a.pte_present(vmf.orig_pte))
        return do_swap_page(c, vmf); // swap

    vmf.ptl = pte_lockptr(c, vmf.pte);
    spin_lock(c, vmf.ptl);
    pte_t entry = vmf.orig_pte;
    if (ptep_get(c, vmf.pte) != entry) {
        update_mmu_tlb(c, *vmf.vma, vmf.address, vmf.pte);
        spin_unlock(c, vmf.ptl);
        return 0;
    }
    if (vmf.flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) {
        if (!a.pte_write(entry))
            return do_wp_page(c, vmf);
        if (vmf.flags & FAULT_FLAG_WRITE)
            entry = a.pte_mkdirty(entry);
    }
    entry = a.pte_mkyoung(entry);
    // When nothing changed, flush_tlb_fix_spurious_fault() is empty on arm64 and x86; RISC-V without Svvptc
    // always reports a change, for update_mmu_cache_range() to fence.
    if (ptep_set_access_flags(c, *vmf.vma, vmf.address, vmf.pte, entry, (vmf.flags & FAULT_FLAG_WRITE) ? 1 : 0))
        update_mmu_cache_range(c, *vmf.vma, vmf.address, vmf.pte, 1);
    spin_unlock(c, vmf.ptl);
    return 0;
}

// mm/memory.c create_huge_pmd(): shmem has no ->huge_fault (its PMD mappings come from finish_fault()'s
// do_set_pmd(), not ported)
vm_fault_t create_huge_pmd(Ctx& c, vm_fault& vmf)
{
    if (vma_is_anonymous(*vmf.vma))
        return do_huge_pmd_anonymous_page(c, vmf);
    return VM_FAULT_FALLBACK;
}

// mm/memory.c wp_huge_pmd(): an anonymous VMA without userfaultfd
vm_fault_t wp_huge_pmd(Ctx& c, vm_fault& vmf) { return do_huge_pmd_wp_page(c, vmf); }

// mm/memory.c __handle_mm_fault(): the levels above the PTE table allocated (p4d_alloc() ... pmd_alloc()); a
// none PMD of a VMA that may map PMD-sized THPs gets one (create_huge_pmd()), a PMD leaf takes write and
// access-flag faults at PMD level; otherwise the PTE level. No anonymous PUD THPs (none upstream either).
vm_fault_t __handle_mm_fault(Ctx& c, vm_area_struct& vma, Addr address, unsigned flags)
{
    const Arch& a = c.k.arch();
    vm_fault vmf;
    vmf.vma = &vma;
    vmf.address = address & ~(c.k.page_size() - 1);
    vmf.real_address = address;
    vmf.flags = flags;
    vmf.pmd = walk_to_pmd(c, *vma.vm_mm, address);
    if (!vmf.pmd)
        return VM_FAULT_OOM;

    if (entry_get(c, vmf.pmd) == 0 && thp_vma_allowable_pmd(vma)) {
        const vm_fault_t ret = create_huge_pmd(c, vmf);
        if (!(ret & VM_FAULT_FALLBACK))
            return ret;
        return handle_pte_fault(c, vmf); // fallback
    }
    vmf.orig_pmd = pte_t{entry_get(c, vmf.pmd)}; // pmdp_get_lockless()
    if (vmf.orig_pmd.val != 0 && a.pmd_trans_huge(vmf.orig_pmd)) {
        if ((flags & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE)) && !a.pte_write(vmf.orig_pmd)) { // !pmd_write()
            const vm_fault_t ret = wp_huge_pmd(c, vmf);
            if (!(ret & VM_FAULT_FALLBACK))
                return ret;
        } else {
            vmf.ptl = pmd_lockptr(c, *vma.vm_mm, vmf.pmd); // pmd_lock()
            spin_lock(c, vmf.ptl);
            huge_pmd_set_accessed(c, vmf); // else fix_spurious_fault(): empty at PMD level on arm64, x86, RISC-V
            spin_unlock(c, vmf.ptl);
            return 0;
        }
    }
    return handle_pte_fault(c, vmf); // fallback:
}

// ---- fork ----

// mm/memory.c copy_present_page(): a pinned page's private copy for the child, from the preallocated folio
int copy_present_page(Ctx& c, vm_area_struct& dst_vma, PtePtr dst_pte, Addr addr, rss_vec& rss,
                      std::optional<Folio>& prealloc, pfn_t page)
{
    if (!prealloc)
        return -EAGAIN;
    const Arch& a = c.k.arch();
    const Folio new_folio = *prealloc;
    c.cpu.copy_page(folio_pfn(new_folio) << c.k.page_shift(), page << c.k.page_shift(), c.k.page_size(),
                    Category::ClearPage); // copy_mc_user_highpage()
    prealloc.reset();
    __folio_mark_uptodate(c, new_folio);
    folio_add_new_anon_rmap(c, new_folio, dst_vma, addr, RMAP_EXCLUSIVE);
    folio_add_lru_vma(c, new_folio, dst_vma);
    ++rss[MM_ANONPAGES];
    // All done, just insert the new page copy in the child
    pte_t pte = a.pfn_pte(folio_pfn(new_folio), dst_vma.vm_page_prot);
    pte = maybe_mkwrite(c, a.pte_mkdirty(pte), dst_vma);
    set_pte_at(c, *dst_vma.vm_mm, addr, dst_pte, pte);
    ++c.k.stats().pages_copied; // (no vm event upstream: counted here with the COW copies)
    return 0;
}

// mm/memory.c __copy_present_ptes(): parent write-protected for COW, child entries old (and clean if shared)
void __copy_present_ptes(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma, PtePtr dst_pte, PtePtr src_pte,
                         pte_t pte, Addr addr, unsigned nr)
{
    const Arch& a = c.k.arch();
    // If it's a COW mapping, write protect it both processes.
    if (is_cow_mapping(src_vma.vm_flags) && a.pte_write(pte)) {
        wrprotect_ptes(c, *src_vma.vm_mm, addr, src_pte, nr);
        pte = a.pte_wrprotect(pte);
    }
    // If it's a shared mapping, mark it clean in the child.
    if (src_vma.vm_flags & VM_SHARED)
        pte = a.pte_mkclean(pte);
    pte = a.pte_mkold(pte);
    set_ptes(c, *dst_vma.vm_mm, addr, dst_pte, pte, nr);
}

// mm/memory.c copy_present_ptes(): one present PTE, and the following ones mapping consecutive pages of the
// same large folio as a batch (folio_pte_batch_flags() with FPB_MERGE_WRITE, FPB_RESPECT_DIRTY for private
// VMAs). Returns the PTEs copied, or -EAGAIN when a pinned page needs the preallocated copy.
int copy_present_ptes(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma, PtePtr dst_pte, PtePtr src_pte,
                      pte_t pte, Addr addr, unsigned max_nr, rss_vec& rss, std::optional<Folio>& prealloc)
{
    const std::optional<pfn_t> page = vm_normal_page(c, src_vma, addr, pte);
    if (!page) {
        __copy_present_ptes(c, dst_vma, src_vma, dst_pte, src_pte, pte, addr, 1);
        return 1;
    }
    const Folio folio = page_folio(c, *page);

    // If we likely have to copy, just don't bother with batching.
    if (!prealloc && folio_test_large(c, folio) && max_nr != 1) {
        fpb_t flags = FPB_MERGE_WRITE;
        if (!(src_vma.vm_flags & VM_SHARED))
            flags |= FPB_RESPECT_DIRTY;
        if (vma_soft_dirty_enabled(src_vma))
            flags |= FPB_RESPECT_SOFT_DIRTY;
        const unsigned nr = folio_pte_batch_flags(c, folio, &src_vma, src_pte, &pte, max_nr, flags);
        folio_ref_add(c, folio, static_cast<int>(nr));
        if (!folio_test_anon(c, folio))
            throw std::logic_error("copy_present_ptes: file folios are not ported");
        if (folio_try_dup_anon_rmap_ptes(c, folio, *page, static_cast<int>(nr), dst_vma, src_vma)) {
            folio_ref_sub(c, folio, static_cast<int>(nr));
            return -EAGAIN;
        }
        rss[MM_ANONPAGES] += nr;
        __copy_present_ptes(c, dst_vma, src_vma, dst_pte, src_pte, pte, addr, nr);
        return static_cast<int>(nr);
    }

    folio_get(c, folio);
    if (!folio_test_anon(c, folio))
        throw std::logic_error("copy_present_ptes: file folios are not ported");
    // If this page may have been pinned by the parent process, copy the page immediately for the child.
    if (folio_try_dup_anon_rmap_pte(c, folio, *page, dst_vma, src_vma)) {
        folio_put(c, folio);
        const int err = copy_present_page(c, dst_vma, dst_pte, addr, rss, prealloc, *page);
        return err ? err : 1;
    }
    ++rss[MM_ANONPAGES];
    __copy_present_ptes(c, dst_vma, src_vma, dst_pte, src_pte, pte, addr, 1);
    return 1;
}

// ---- device-exclusive entries ----

// mm/memory.c restore_exclusive_pte(): the device-exclusive entry at ptep (orig_pte) back to an ordinary
// present PTE for `page`: old, soft-dirty if the entry was, writable (and dirty if the folio is) where the VMA
// allows and the page is exclusive (can_change_pte_writable()). The folio and the page table are locked.
void restore_exclusive_pte(Ctx& c, vm_area_struct& vma, Folio folio, pfn_t page, Addr address, PtePtr ptep,
                           pte_t orig_pte)
{
    const Arch& a = c.k.arch();
    pte_t pte = a.pte_mkold(a.pfn_pte(page, vma.vm_page_prot)); // mk_pte(page, READ_ONCE(vma->vm_page_prot))
    if (a.pte_swp_soft_dirty(orig_pte))
        pte = a.pte_mksoft_dirty(pte);
    // (pte_swp_uffd_wp(): no userfaultfd)
    if ((vma.vm_flags & VM_WRITE) && can_change_pte_writable(c, vma, address, pte)) {
        if (folio_test_flag(c, folio, PG_dirty))
            pte = a.pte_mkdirty(pte);
        pte = a.pte_mkwrite(pte);
    }
    set_pte_at(c, *vma.vm_mm, address, ptep, pte);
    // No need to invalidate - it was non-present before. However secondary CPUs may have mappings that need
    // invalidating.
    update_mmu_cache(c, vma, address, ptep);
}

// mm/memory.c try_restore_exclusive_pte(): restore_exclusive_pte() if the folio lock can be taken without
// sleeping; -EBUSY if not
int try_restore_exclusive_pte(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t orig_pte)
{
    const pfn_t page = softleaf_to_page(softleaf_from_pte(c.k.arch(), orig_pte));
    const Folio folio = page_folio(c, page);
    if (folio_trylock(c, folio)) {
        restore_exclusive_pte(c, vma, folio, page, addr, ptep, orig_pte);
        folio_unlock(c, folio);
        return 0;
    }
    return -EBUSY;
}

// mm/memory.c remove_device_exclusive_entry(): a CPU fault on a device-exclusive entry restores the PTE under
// the folio lock (no mmu notifiers in the port: the device's mapping is not told)
vm_fault_t remove_device_exclusive_entry(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "remove_device_exclusive_entry");
    const Folio folio = page_folio(c, *vmf.page);
    vm_area_struct& vma = *vmf.vma;
    // We need a reference to lock the folio because we don't hold the PTL so a racing thread can remove the
    // device-exclusive entry and unmap it. If the folio is free the entry must have been removed already.
    if (!folio_try_get(c, folio))
        return 0;
    folio_lock(c, folio); // folio_lock_or_retry(): the port's fault path never drops the mmap_lock
    vmf.pte = pte_offset_map_lock(c, vmf.pmd, vmf.address, &vmf.ptl);
    if (vmf.pte && ptep_get(c, vmf.pte) == vmf.orig_pte) // pte_same()
        restore_exclusive_pte(c, vma, folio, *vmf.page, vmf.address, vmf.pte, vmf.orig_pte);
    if (vmf.pte)
        spin_unlock(c, vmf.ptl);
    folio_unlock(c, folio);
    folio_put(c, folio);
    return 0;
}

// ---- fork of non-present PTEs ----

// mm/memory.c copy_nonpresent_pte(): a genuine swap entry gets one more swap count on its slot, the parent's
// entry marked shared (no longer exclusive), the same entry in the child (0, or -EIO when the count could not
// grow); a device-exclusive entry is made present again in the parent, to be copied as a present PTE (-ENOENT,
// or -EBUSY when the folio lock is taken). The port makes no other kind: one is refused by name.
int copy_nonpresent_pte(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma, PtePtr dst_pte, PtePtr src_pte,
                        Addr addr, rss_vec& rss)
{
    const Arch& a = c.k.arch();
    const pte_t orig_pte = ptep_get(c, src_pte);
    const softleaf_t entry = softleaf_from_pte(a, orig_pte);
    pte_t pte = orig_pte;
    if (softleaf_is_swap(entry)) {
        if (swap_dup_entry_direct(c, entry) < 0)
            return -EIO;
        // (make sure dst_mm is on swapoff's mmlist: no swapoff in the port)
        // Mark the swap entry as shared.
        if (a.pte_swp_exclusive(orig_pte)) {
            pte = a.pte_swp_clear_exclusive(orig_pte);
            set_pte_at(c, *src_vma.vm_mm, addr, src_pte, pte);
        }
        ++rss[MM_SWAPENTS];
    } else if (softleaf_is_device_exclusive(entry)) {
        // Make device exclusive entries present by restoring the original entry then copying as for a present
        // pte. Device exclusive entries currently only support private writable (ie. COW) mappings.
        if (!is_cow_mapping(src_vma.vm_flags)) // VM_BUG_ON()
            throw std::logic_error("copy_nonpresent_pte: a device-exclusive entry in a mapping that is not COW");
        if (try_restore_exclusive_pte(c, src_vma, addr, src_pte, orig_pte))
            return -EBUSY;
        return -ENOENT;
    } else {
        throw std::logic_error("copy_nonpresent_pte: a non-present PTE of a kind the port does not make (" +
                               std::to_string(orig_pte.val) + ")");
    }
    set_pte_at(c, *dst_vma.vm_mm, addr, dst_pte, pte);
    return 0;
}

// mm/memory.c copy_pte_range(): both PTE tables locked (the child's allocated if missing)
int copy_pte_range(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma, PtePtr dst_pmd, PtePtr src_pmd,
                   Addr addr, Addr end)
{
    mm_struct& dst_mm = *dst_vma.vm_mm;
    const Arch& a = c.k.arch();
    std::optional<Folio> prealloc;
    int ret = 0;
    do { // again:
        rss_vec rss{};
        if (entry_get(c, dst_pmd) == 0 && __pte_alloc(c, dst_mm, dst_pmd)) // pte_alloc_map_lock()
            return -ENOMEM;
        PAddr dst_ptl = 0, src_ptl = 0;
        PtePtr dst_pte = pte_offset_map_lock(c, dst_pmd, addr, &dst_ptl);
        PtePtr src_pte = pte_offset_map(c, src_pmd, addr); // pte_offset_map_rw_nolock()
        if (!src_pte) {
            spin_unlock(c, dst_ptl);
            break;
        }
        src_ptl = pte_lockptr(c, src_pte);
        spin_lock(c, src_ptl); // spin_lock_nested()
        ret = 0;
        unsigned nr;
        do {
            nr = 1;
            c.k.charge_sw(c, c.k.config().software.pte_loop);
            pte_t ptent = ptep_get(c, src_pte);
            if (a.pte_none(ptent))
                continue;
            if (!a.pte_present(ptent)) {
                ret = copy_nonpresent_pte(c, dst_vma, src_vma, dst_pte, src_pte, addr, rss);
                if (ret == -EIO)
                    throw std::logic_error("copy_pte_range: a swap count could not grow (swap_retry_table_alloc())");
                if (ret == -EBUSY)
                    break;
                if (!ret)
                    continue;
                // Device exclusive entry restored, continue by copying the now present pte.
                ptent = ptep_get(c, src_pte);
            }
            // copy_present_ptes() will clear `*prealloc' if consumed
            const unsigned max_nr = static_cast<unsigned>((end - addr) / c.k.page_size());
            ret = copy_present_ptes(c, dst_vma, src_vma, dst_pte, src_pte, ptent, addr, max_nr, rss, prealloc);
            // If we need a pre-allocated page for this pte, drop the locks, allocate, and try again.
            if (ret == -EAGAIN)
                break;
            if (prealloc) {
                folio_put(c, *prealloc);
                prealloc.reset();
            }
            nr = static_cast<unsigned>(ret);
        } while (dst_pte = pte_offset(dst_pte, nr), src_pte = pte_offset(src_pte, nr),
                 addr += c.k.page_size() * nr, addr != end);
        spin_unlock(c, src_ptl);
        add_mm_rss_vec(c, dst_mm, rss);
        spin_unlock(c, dst_ptl);
        if (ret == -EBUSY)
            break; // goto out: the fork fails (copy_pmd_range() returns -ENOMEM)
        if (ret == -EAGAIN)
            prealloc = folio_prealloc(c, false);
        // We've captured and resolved the error. Reset, try again.
        ret = 0;
    } while (addr != end);
    if (prealloc)
        folio_put(c, *prealloc);
    return ret;
}

// mm/memory.c copy_pmd_range() / copy_pud_range() / copy_p4d_range() and copy_page_range()'s pgd loop: the
// child's table at each level allocated where the parent has one (pmd_alloc() ...).
int copy_level_range(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma, int d, PAddr dst_table,
                     PAddr src_table, Addr addr, Addr end)
{
    do {
        const Addr next = level_addr_end(c, d, addr, end);
        const PtePtr src_entry = entry_offset(c, src_table, addr, d);
        const std::uint64_t v = entry_get(c, src_entry); // *_none_or_clear_bad()
        if (v != 0) {
            const PtePtr dst_entry = entry_offset(c, dst_table, addr, d);
            if (d == leaf_depth(c) - 1) {
                if (c.k.arch().pmd_trans_huge(pte_t{v})) // copy_pmd_range(): copy_huge_pmd()
                    throw std::logic_error("fork of a PMD-mapped transparent huge page: copy_huge_pmd() is not ported");
                if (copy_pte_range(c, dst_vma, src_vma, dst_entry, src_entry, addr, next))
                    return -ENOMEM;
            } else {
                std::uint64_t dv = entry_get(c, dst_entry);
                if (dv == 0) {
                    alloc_level(c, *dst_vma.vm_mm, dst_entry, d);
                    dv = entry_get(c, dst_entry);
                }
                if (copy_level_range(c, dst_vma, src_vma, d + 1, entry_table(c, d, dv), entry_table(c, d, v), addr,
                                     next))
                    return -ENOMEM;
            }
        }
        addr = next;
    } while (addr != end);
    return 0;
}

// ---- zap ----

// mm/memory.c zap_present_folio_ptes(): a file (shmem) folio's dirty bit moves to the folio and its rmap
// removal waits for the TLB flush (tlb_delay_rmap() is true without CONFIG_MMU_GATHER_NO_GATHER); the folio
// stays in the page cache
void zap_present_folio_ptes(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Folio folio, pfn_t page, PtePtr pte,
                            unsigned nr, Addr addr, rss_vec& rss, bool& force_flush, bool& force_break)
{
    mm_struct& mm = *tlb.mm;
    const Arch& a = c.k.arch();
    bool delay_rmap = false;
    if (!folio_test_anon(c, folio)) {
        const pte_t ptent = get_and_clear_full_ptes(c, mm, addr, pte, nr, tlb.fullmm);
        if (a.pte_dirty(ptent)) {
            folio_mark_dirty(c, folio);
            delay_rmap = true; // tlb_delay_rmap()
            force_flush = true;
        }
        // folio_mark_accessed() (vma_has_recency()): PG_referenced; the activation of an already referenced
        // folio is not modelled
        if (a.pte_young(ptent) && !folio_test_flag(c, folio, PG_referenced))
            folio_set_flag(c, folio, PG_referenced);
        rss[mm_counter_file(c, folio)] -= nr; // mm_counter()
    } else {
        // We don't need up-to-date accessed/dirty bits.
        clear_full_ptes(c, mm, addr, pte, nr, tlb.fullmm);
        rss[MM_ANONPAGES] -= nr;
    }
    tlb_remove_tlb_entries(c, tlb, pte, nr, addr);
    if (!delay_rmap)
        folio_remove_rmap_ptes(c, folio, page, static_cast<int>(nr), vma);
    if (__tlb_remove_folio_pages(c, tlb, page, nr, delay_rmap)) {
        force_flush = true;
        force_break = true;
    }
}

// mm/memory.c zap_present_ptes(): one present PTE, batched with the following PTEs of the same large folio
// (folio_pte_batch() without flags: everything is cleared). Returns the PTEs processed.
unsigned zap_present_ptes(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pte, pte_t ptent, unsigned max_nr,
                          Addr addr, rss_vec& rss, bool& force_flush, bool& force_break)
{
    const std::optional<pfn_t> page = vm_normal_page(c, vma, addr, ptent);
    if (!page) {
        // We don't need up-to-date accessed/dirty bits. (ptep_get_and_clear_full())
        get_and_clear_full_ptes(c, *tlb.mm, addr, pte, 1, tlb.fullmm);
        tlb_remove_tlb_entries(c, tlb, pte, 1, addr); // tlb_remove_tlb_entry()
        return 1;
    }
    const Folio folio = page_folio(c, *page);
    // Make sure that the common "small folio" case is as fast as possible by keeping the batching logic
    // separate.
    if (folio_test_large(c, folio) && max_nr != 1) {
        const unsigned nr = folio_pte_batch(c, folio, pte, ptent, max_nr);
        zap_present_folio_ptes(c, tlb, vma, folio, *page, pte, nr, addr, rss, force_flush, force_break);
        return nr;
    }
    zap_present_folio_ptes(c, tlb, vma, folio, *page, pte, 1, addr, rss, force_flush, force_break);
    return 1;
}

// ---- zap of non-present PTEs ----

// mm/memory.c zap_nonpresent_ptes() (no zap_details: everything is zapped): a device-exclusive entry is a
// mapping of its page (its rmap and folio reference dropped, rss[MM_ANONPAGES]--); a genuine swap entry is
// batched with the following swap PTEs of consecutive slots (swap_pte_batch()), their swap counts dropped,
// slots reaching 0 freed (swap_put_entries_direct()). The port makes no other kind: one is refused by name.
// Returns the PTEs processed.
unsigned zap_nonpresent_ptes(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pte, pte_t ptent, unsigned max_nr,
                             Addr addr, rss_vec& rss)
{
    unsigned nr = 1;
    const softleaf_t entry = softleaf_from_pte(c.k.arch(), ptent);
    if (softleaf_is_device_exclusive(entry)) {
        const pfn_t page = softleaf_to_page(entry);
        const Folio folio = page_folio(c, page);
        // Both device private/exclusive mappings should only work with anonymous page so far, so we don't need
        // to consider uffd-wp bit when zap.
        if (!vma_is_anonymous(vma)) // WARN_ON_ONCE()
            throw std::logic_error("zap_nonpresent_ptes: a device-exclusive entry in a VMA that is not anonymous");
        rss[folio_test_anon(c, folio) ? MM_ANONPAGES : mm_counter_file(c, folio)]--; // mm_counter()
        folio_remove_rmap_pte(c, folio, page, vma);
        folio_put(c, folio);
    } else if (softleaf_is_swap(entry)) {
        // Genuine swap entries, hence a private anon pages (no zap_details: should_zap_cows())
        nr = swap_pte_batch(c, pte, pte_batch_cap(c, max_nr), ptent);
        rss[MM_SWAPENTS] -= nr;
        swap_put_entries_direct(c, entry, nr);
    } else {
        // We should have covered all the swap entry types
        throw std::logic_error("zap_nonpresent_ptes: unrecognized swap entry " + std::to_string(entry.val));
    }
    clear_not_present_full_ptes(c, *tlb.mm, addr, pte, nr, tlb.fullmm);
    return nr;
}

// mm/memory.c do_zap_pte_range(): skips consecutive none PTEs, then zaps present ones
unsigned do_zap_pte_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pte, Addr addr, Addr end,
                          rss_vec& rss, bool& force_flush, bool& force_break)
{
    const Arch& a = c.k.arch();
    pte_t ptent = ptep_get(c, pte);
    unsigned max_nr = static_cast<unsigned>((end - addr) / c.k.page_size());
    unsigned nr = 0;
    // Skip all consecutive none ptes
    if (a.pte_none(ptent)) {
        for (nr = 1; nr < max_nr; nr++) {
            ptent = ptep_get(c, pte_offset(pte, nr));
            if (!a.pte_none(ptent))
                break;
        }
        max_nr -= nr;
        if (!max_nr)
            return nr;
        pte = pte_offset(pte, nr);
        addr += nr * c.k.page_size();
    }
    if (!a.pte_present(ptent))
        return nr + zap_nonpresent_ptes(c, tlb, vma, pte, ptent, max_nr, addr, rss);
    return nr + zap_present_ptes(c, tlb, vma, pte, ptent, max_nr, addr, rss, force_flush, force_break);
}

// mm/memory.c zap_pte_range(): the PTE table locked; a full page batch flushes the TLB before the lock goes
// and frees the batch, then the walk resumes
Addr zap_pte_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, PtePtr pmd, Addr addr, Addr end)
{
    const PhaseScope phase(c, "zap_pte_range");
    mm_struct& mm = *tlb.mm;
    do { // retry:
        bool force_flush = false, force_break = false;
        rss_vec rss{};
        PAddr ptl = 0;
        PtePtr pte = pte_offset_map_lock(c, pmd, addr, &ptl);
        if (!pte)
            return addr;
        flush_tlb_batched_pending(c, *tlb.mm);
        unsigned nr;
        do {
            c.k.charge_sw(c, c.k.config().software.pte_loop);
            nr = do_zap_pte_range(c, tlb, vma, pte, addr, end, rss, force_flush, force_break);
            if (force_break) {
                addr += nr * c.k.page_size();
                break;
            }
        } while (pte = pte_offset(pte, nr), addr += c.k.page_size() * nr, addr != end);
        add_mm_rss_vec(c, mm, rss);
        // Do the actual TLB flush before dropping ptl
        if (force_flush) {
            tlb_flush_mmu_tlbonly(c, tlb);
            tlb_flush_rmaps(c, tlb, vma);
        }
        spin_unlock(c, ptl);
        // If we forced a TLB flush, free the batched memory too.
        if (force_flush)
            tlb_flush_mmu(c, tlb);
    } while (addr != end);
    return addr;
}

// mm/memory.c zap_pmd_range() / zap_pud_range() / zap_p4d_range() and __zap_vma_range()'s pgd loop
void zap_level_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, int d, PAddr table, Addr addr, Addr end)
{
    do {
        const Addr next = level_addr_end(c, d, addr, end);
        const PtePtr entry = entry_offset(c, table, addr, d);
        const std::uint64_t v = entry_get(c, entry);
        if (v != 0) {
            if (d == leaf_depth(c) - 1) {
                // zap_pmd_range(): a PMD leaf goes whole or is split first (not ported)
                if (c.k.arch().pmd_trans_huge(pte_t{v})) {
                    if (next - addr != level_span(c, d))
                        __split_huge_pmd(c, vma, entry, addr);
                    if (zap_huge_pmd(c, tlb, vma, entry, addr)) {
                        addr = next;
                        continue;
                    }
                }
                zap_pte_range(c, tlb, vma, entry, addr, next);
            } else {
                zap_level_range(c, tlb, vma, d + 1, entry_table(c, d, v), addr, next);
            }
        }
        addr = next;
    } while (addr != end);
}

// ---- freeing page tables ----

// mm/memory.c free_pte_range(): the PTE table unlinked from its pmd, freed after the flush (pte_free_tlb())
void free_pte_range(Ctx& c, mmu_gather& tlb, PtePtr pmd, std::uint64_t pmdval, Addr addr)
{
    const int leaf = leaf_depth(c);
    const PAddr token = entry_table(c, leaf - 1, pmdval); // pmd_pgtable()
    entry_set(c, pmd, 0);                                 // pmd_clear()
    free_table_tlb(c, tlb, token, leaf, addr);            // pte_free_tlb()
    tlb.mm->pgtables_bytes -= table_bytes(c, leaf);       // mm_dec_nr_ptes()
}

// mm/memory.c free_pmd_range() / free_pud_range() / free_p4d_range(): the tables under the table at depth d,
// then that table itself when nothing outside [floor, ceiling) can use it.
void free_level_range(Ctx& c, mmu_gather& tlb, int d, PtePtr parent, PAddr table, Addr addr, Addr end, Addr floor,
                      Addr ceiling)
{
    const Addr start = addr;
    do {
        const Addr next = level_addr_end(c, d, addr, end);
        const PtePtr entry = entry_offset(c, table, addr, d);
        const std::uint64_t v = entry_get(c, entry); // *_none_or_clear_bad()
        if (v != 0) {
            if (d == leaf_depth(c) - 1)
                free_pte_range(c, tlb, entry, v, addr);
            else
                free_level_range(c, tlb, d + 1, entry, entry_table(c, d, v), addr, next, floor, ceiling);
        }
        addr = next;
    } while (addr != end);

    const Addr mask = ~(level_span(c, d - 1) - 1); // PUD_MASK for a PMD table, P4D_MASK for a PUD table, ...
    const Addr s = start & mask;
    if (s < floor)
        return;
    if (ceiling) {
        ceiling &= mask;
        if (!ceiling)
            return;
    }
    if (end - 1 > ceiling - 1)
        return;
    entry_set(c, parent, 0);                 // pud_clear() / p4d_clear() / pgd_clear()
    free_table_tlb(c, tlb, table, d, s);     // pmd_free_tlb() / pud_free_tlb() / p4d_free_tlb()
    tlb.mm->pgtables_bytes -= table_bytes(c, d); // mm_dec_nr_pmds() / puds
}

} // namespace

PAddr pmd_lockptr(const Ctx& c, mm_struct& mm, PtePtr pmd)
{
    if (table_bytes(c, leaf_depth(c) - 1) < c.k.page_size())
        return mm.page_table_lock();
    return c.k.page_alloc().ptlock(c, pmd);
}

void mm_inc_nr_ptes(const Ctx& c, mm_struct& mm) { mm.pgtables_bytes += table_bytes(c, leaf_depth(c)); }
void mm_dec_nr_ptes(const Ctx& c, mm_struct& mm) { mm.pgtables_bytes -= table_bytes(c, leaf_depth(c)); }

void __folio_mark_uptodate(Ctx& c, Folio folio)
{
    smp_wmb(c);
    __folio_set_flag(c, folio, PG_uptodate);
}

// include/linux/mm.h add_mm_counter(): percpu_counter_add() on mm->rss_stat[member], one atomic here
void add_mm_counter(Ctx& c, mm_struct& mm, MmCounter member, long value)
{
    c.cpu.fetch_add(mm.rss_addr(member), static_cast<std::uint64_t>(value), 8, Category::KernelMemory);
}

// include/linux/mm.h get_mm_counter(): percpu_counter_read_positive()
long get_mm_counter(Ctx& c, mm_struct& mm, MmCounter member)
{
    const long v = static_cast<long>(c.cpu.load(mm.rss_addr(member), 8, Category::KernelMemory));
    return v < 0 ? 0 : v;
}

// include/linux/mm.h pte_lockptr(): ptlock_ptr(page_ptdesc(pmd_page(*pmd))), the PTE table page's lock
PAddr pte_lockptr(const Ctx& c, PtePtr ptep) { return c.k.page_alloc().ptlock(c, ptep); }

// mm/memory.c vm_normal_page() -> __vm_normal_page() (CONFIG_ARCH_HAS_PTE_SPECIAL; the zero page also by its
// pfn, for an architecture that does not mark it special)
std::optional<pfn_t> vm_normal_page(Ctx& c, vm_area_struct&, Addr, pte_t pte)
{
    const Arch& a = c.k.arch();
    const pfn_t pfn = a.pte_pfn(pte);
    if (a.pte_special(pte) || c.k.is_zero_pfn(pfn))
        return std::nullopt;
    return pfn;
}

// mm/pgtable-generic.c ptep_clear_flush() (pte_accessible() taken as pte_present(): no NUMA hinting here)
pte_t ptep_clear_flush(Ctx& c, vm_area_struct& vma, Addr address, PtePtr ptep)
{
    const pte_t pte = ptep_get_and_clear(c, *vma.vm_mm, address, ptep);
    if (c.k.arch().pte_present(pte))
        c.k.arch().flush_tlb_page(c, vma, address);
    return pte;
}

// mm/memory.c walk_to_pmd()
PtePtr walk_to_pmd(Ctx& c, mm_struct& mm, Addr addr)
{
    const int leaf = leaf_depth(c);
    PAddr table = mm.pgd;
    for (int d = 0; d < leaf - 1; ++d) {
        const PtePtr entry = entry_offset(c, table, addr, d);
        std::uint64_t v = entry_get(c, entry);
        if (v == 0) {
            if (alloc_level(c, mm, entry, d))
                return 0;
            v = entry_get(c, entry);
        }
        table = entry_table(c, d, v);
    }
    return entry_offset(c, table, addr, leaf - 1);
}

PtePtr pmd_offset_lookup(Ctx& c, mm_struct& mm, Addr addr)
{
    const int leaf = leaf_depth(c);
    PAddr table = mm.pgd;
    for (int d = 0; d < leaf - 1; ++d) {
        const std::uint64_t v = entry_get(c, entry_offset(c, table, addr, d));
        if (v == 0)
            return 0;
        table = entry_table(c, d, v);
    }
    return entry_offset(c, table, addr, leaf - 1);
}

// mm/memory.c __pte_alloc()
int __pte_alloc(Ctx& c, mm_struct& mm, PtePtr pmd) { return alloc_level(c, mm, pmd, leaf_depth(c) - 1); }

// include/linux/mm.h pte_offset_map()
PtePtr pte_offset_map(Ctx& c, PtePtr pmd, Addr addr)
{
    const std::uint64_t v = entry_get(c, pmd); // pmdp_get_lockless()
    if (v == 0 || c.k.arch().pmd_trans_huge(pte_t{v})) // __pte_offset_map(): no PTE table under a leaf
        return 0;
    return entry_offset(c, entry_table(c, leaf_depth(c) - 1, v), addr, leaf_depth(c));
}

// mm/memory.c handle_mm_fault() (no hugetlb, no memcg OOM handling)
vm_fault_t handle_mm_fault(Ctx& c, vm_area_struct& vma, Addr address, unsigned flags)
{
    // sanitize_fault_flags(): write faults on read-only mappings are impossible
    if ((flags & FAULT_FLAG_WRITE) && !(vma.vm_flags & VM_MAYWRITE))
        return VM_FAULT_SIGSEGV;
    const vm_fault_t ret = __handle_mm_fault(c, vma, address, flags);
    ++c.k.stats().faults; // mm_account_fault(): count_vm_event(PGFAULT)
    return ret;
}

vm_fault_t do_page_fault(Ctx& c, mm_struct& mm, Addr address, AccessKind kind)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "page fault asid={} address={:#x} {}", mm.asid, address, kind == AccessKind::Write ? "write" : "read");
    c.cpu.charge(c.k.config().software.fault_entry, Category::FaultEntry);
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // lock_vma_under_rcu()
    const MmapReadGuard lock(c, mm);
    vm_area_struct* vma = mm.vma_at(address);
    if (!vma)
        return VM_FAULT_SIGSEGV;
    unsigned flags = FAULT_FLAG_USER;
    vm_flags_t need = VM_READ | VM_WRITE | VM_EXEC; // a read: any access right (x86 access_error())
    if (kind == AccessKind::Write) {
        flags |= FAULT_FLAG_WRITE;
        need = VM_WRITE;
    } else if (kind == AccessKind::Fetch) {
        flags |= FAULT_FLAG_INSTRUCTION;
        need = VM_EXEC;
    }
    if (!(vma->vm_flags & need))
        return VM_FAULT_SIGSEGV; // bad_area_access_error()
    return handle_mm_fault(c, *vma, address, flags);
}

// mm/memory.c copy_page_range(): vma_needs_copy() (an anon_vma means pages only the page tables know; a shared
// VMA never gets one, so the child of a shmem mapping faults its pages in from the page cache), then
// the level walk; the parent's PTEs of a COW mapping are write-protected on the way (the TLB flush is
// dup_mmap()'s flush_tlb_mm())
int copy_page_range(Ctx& c, vm_area_struct& dst_vma, vm_area_struct& src_vma)
{
    const PhaseScope phase(c, "copy_page_range");
    if (!src_vma.anon)
        return 0;
    mm_struct& src_mm = *src_vma.vm_mm;
    const bool is_cow = is_cow_mapping(src_vma.vm_flags);
    // raw_write_seqcount_begin(&src_mm->write_protect_seq): GUP-fast pinning (mm/gup.cc) backs off while
    // the parent's PTEs are being write-protected
    const PAddr seq = src_mm.addr + MM_OFF_WRITE_PROTECT_SEQ;
    if (is_cow) {
        c.cpu.store(seq, (c.cpu.load(seq, 4) + 1) & 0xffffffff, 4);
        smp_wmb(c);
    }
    const int ret = copy_level_range(c, dst_vma, src_vma, 0, dst_vma.vm_mm->pgd, src_mm.pgd, src_vma.vm_start,
                                     src_vma.vm_end);
    if (is_cow) { // raw_write_seqcount_end()
        smp_wmb(c);
        c.cpu.store(seq, (c.cpu.load(seq, 4) + 1) & 0xffffffff, 4);
    }
    return ret;
}

// mm/memory.c __zap_vma_range()
void __zap_vma_range(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr start, Addr end)
{
    if (start >= end)
        return;
    tlb_start_vma(c, tlb, vma);
    zap_level_range(c, tlb, vma, 0, vma.vm_mm->pgd, start, end);
    tlb_end_vma(c, tlb, vma);
}

// mm/memory.c unmap_vmas()
void unmap_vmas(Ctx& c, mmu_gather& tlb, const std::vector<vm_area_struct*>& vmas, Addr start, Addr end)
{
    for (vm_area_struct* vma : vmas)
        __zap_vma_range(c, tlb, *vma, std::max(vma->vm_start, start), std::min(vma->vm_end, end));
}

// mm/memory.c zap_vma_range_batched()
void zap_vma_range_batched(Ctx& c, mmu_gather& tlb, vm_area_struct& vma, Addr address, std::uint64_t size)
{
    if (!size)
        return;
    __zap_vma_range(c, tlb, vma, address, address + size);
}

// mm/memory.c zap_vma_range()
void zap_vma_range(Ctx& c, vm_area_struct& vma, Addr address, std::uint64_t size)
{
    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, *vma.vm_mm);
    zap_vma_range_batched(c, tlb, vma, address, size);
    tlb_finish_mmu(c, tlb);
}

// mm/memory.c free_pgd_range()
void free_pgd_range(Ctx& c, mmu_gather& tlb, Addr addr, Addr end, Addr floor, Addr ceiling)
{
    const int leaf = leaf_depth(c);
    const std::uint64_t pmd_size = level_span(c, leaf - 1);
    const Addr pmd_mask = ~(pmd_size - 1);
    addr &= pmd_mask;
    if (addr < floor) {
        addr += pmd_size;
        if (!addr)
            return;
    }
    if (ceiling) {
        ceiling &= pmd_mask;
        if (!ceiling)
            return;
    }
    if (end - 1 > ceiling - 1)
        end -= pmd_size;
    if (addr > end - 1)
        return;
    const PAddr pgd = tlb.mm->pgd;
    do {
        const Addr next = level_addr_end(c, 0, addr, end);
        const PtePtr entry = entry_offset(c, pgd, addr, 0);
        const std::uint64_t v = entry_get(c, entry);
        if (v != 0) {
            if (leaf == 1)
                free_pte_range(c, tlb, entry, v, addr);
            else
                free_level_range(c, tlb, 1, entry, entry_table(c, 0, v), addr, next, floor, ceiling);
        }
        addr = next;
    } while (addr != end);
}

// mm/memory.c free_pgtables(): nearby VMAs (within a PMD) gathered into one free_pgd_range()
void free_pgtables(Ctx& c, mmu_gather& tlb, const std::vector<vm_area_struct*>& vmas, Addr floor, Addr ceiling)
{
    const PhaseScope phase(c, "free_pgtables");
    const std::uint64_t pmd_size = level_span(c, leaf_depth(c) - 1);
    for (std::size_t i = 0; i < vmas.size();) {
        vm_area_struct* vma = vmas[i];
        const Addr addr = vma->vm_start;
        unlink_anon_vmas(c, *vma); // Hide vma from rmap before freeing pgtables
        std::size_t j = i + 1;
        while (j < vmas.size() && vmas[j]->vm_start <= vma->vm_end + pmd_size) {
            vma = vmas[j++];
            unlink_anon_vmas(c, *vma);
        }
        free_pgd_range(c, tlb, addr, vma->vm_end, floor, j < vmas.size() ? vmas[j]->vm_start : ceiling);
        i = j;
    }
}

} // namespace mmusim::mm
