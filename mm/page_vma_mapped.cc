// SPDX-License-Identifier: GPL-2.0-only
#include "mm/page_vma_mapped.hh"

#include "hw/core/spinlock.hh"
#include "mm/huge_memory.hh"
#include "mm/leafops.hh"
#include "mm/memory.hh"
#include "mm/pgtable.hh"

#include <algorithm>

namespace mmusim::mm {

namespace {

// mm/page_vma_mapped.c check_pte() (pte_nr 1, no PVMW_MIGRATION): a present PTE, or a device-exclusive
// entry (un-addressable by the CPU, but a mapping the mapcount counts), whose pfn is in
// [pvmw->pfn, pvmw->pfn + nr_pages)
bool check_pte(Ctx& c, const struct page_vma_mapped_walk& pvmw, pte_t ptent)
{
    const Arch& a = c.k.arch();
    pfn_t pfn;
    if (a.pte_present(ptent)) {
        pfn = a.pte_pfn(ptent);
    } else {
        const softleaf_t entry = softleaf_from_pte(a, ptent);
        // Handle un-addressable ZONE_DEVICE memory (device-private entries are never made in the port)
        if (!softleaf_is_device_private(entry) && !softleaf_is_device_exclusive(entry))
            return false;
        pfn = softleaf_to_pfn(entry);
    }
    return pfn >= pvmw.pfn && pfn - pvmw.pfn < pvmw.nr_pages;
}

void unlock_ptl(Ctx& c, struct page_vma_mapped_walk& pvmw)
{
    if (pvmw.ptl) {
        hw::SpinLock(pvmw.ptl).unlock(c.cpu);
        pvmw.ptl = 0;
    }
}

} // namespace

// include/linux/rmap.h page_vma_mapped_walk_done()
void page_vma_mapped_walk_done(Ctx& c, struct page_vma_mapped_walk& pvmw)
{
    unlock_ptl(c, pvmw);
    pvmw.pte = 0;
}

// mm/page_vma_mapped.c page_vma_mapped_walk(): from the folio's first address in the VMA (vma_address())
// to its end (vma_address_end()), a PTE table at a time; none and foreign PTEs are stepped over.
bool page_vma_mapped_walk(Ctx& c, struct page_vma_mapped_walk& pvmw)
{
    vm_area_struct& vma = *pvmw.vma;
    const Arch& a = c.k.arch();
    const std::uint64_t psize = c.k.page_size();
    const std::uint64_t pmd_size = hpage_pmd_size(c);
    if (!pvmw.started) {
        pvmw.started = true;
        pvmw.flags &= ~PVMW_PGTABLE_CROSSED;
        // mm/internal.h vma_address_end(): the folio's last page + 1 (from its pgoff), clamped to the VMA;
        // vma_address() clamps the start
        if (pvmw.nr_pages == 1) {
            pvmw.end = pvmw.address + psize;
        } else {
            const Addr address = vma.vm_start + ((pvmw.pgoff + pvmw.nr_pages - vma.vm_pgoff) << c.k.page_shift());
            // Check for address beyond vma (or wrapped through 0?)
            pvmw.end = address < vma.vm_start || address > vma.vm_end ? vma.vm_end : address;
        }
        pvmw.address = std::max<Addr>(pvmw.address, vma.vm_start);
    } else {
        pvmw.address += psize; // step past the PTE returned last time
    }
    for (; pvmw.address < pvmw.end; pvmw.address += psize) {
        // Crossing a PMD boundary (or the first PTE): look the table up again.
        if (!pvmw.pte || (pvmw.address & (pmd_size - 1)) == 0) {
            if (pvmw.pte)
                pvmw.flags |= PVMW_PGTABLE_CROSSED;
            unlock_ptl(c, pvmw);
            pvmw.pte = 0;
            pvmw.pmd = pmd_offset_lookup(c, *vma.vm_mm, pvmw.address);
            if (!pvmw.pmd) {
                pvmw.address = (pvmw.address & ~(pmd_size - 1)) + pmd_size - psize;
                continue;
            }
            const pte_t pmde{c.cpu.load(pvmw.pmd, 8, hw::Category::PteLoad)}; // pmdp_get_lockless()
            if (a.pmd_trans_huge(pmde)) {
                if (a.pte_pfn(pmde) == pvmw.pfn) // a PMD mapping of this folio: the caller sees pte == 0
                    return true;
                pvmw.address = (pvmw.address & ~(pmd_size - 1)) + pmd_size - psize;
                continue;
            }
            pvmw.pte = pte_offset_map(c, pvmw.pmd, pvmw.address);
            if (!pvmw.pte) {
                pvmw.address = (pvmw.address & ~(pmd_size - 1)) + pmd_size - psize;
                continue;
            }
            pvmw.ptl = pte_lockptr(c, pvmw.pte); // map_pte(): pte_offset_map_lock()
            hw::SpinLock(pvmw.ptl).lock(c.cpu);
        } else {
            pvmw.pte = pte_offset(pvmw.pte, 1);
        }
        if (check_pte(c, pvmw, ptep_get(c, pvmw.pte)))
            return true;
    }
    page_vma_mapped_walk_done(c, pvmw);
    return false;
}

} // namespace mmusim::mm
