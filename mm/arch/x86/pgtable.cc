// SPDX-License-Identifier: GPL-2.0-only
// x86-64 PTE bits (arch/x86/include/asm/pgtable.h) and the page-table helpers x86 defines itself
// (asm/pgtable.h, arch/x86/mm/pgtable.c).
#include "mm/arch/x86/pgtable.hh"

#include "mm/kernel.hh"

namespace mmusim::mm {

using namespace x86;
using hw::Category;

namespace {

pte_t pte_set_flags(pte_t pte, pteval_t set) { return pte_t{pte.val | set}; }     // asm/pgtable.h pte_set_flags()
pte_t pte_clear_flags(pte_t pte, pteval_t clear) { return pte_t{pte.val & ~clear}; } // asm/pgtable.h pte_clear_flags()

// asm/pgtable.h mksaveddirty_shift(): a Write=0 entry keeps its dirtiness in SavedDirty, not Dirty (Write=0,
// Dirty=1 would mean a shadow-stack page).
pteval_t mksaveddirty_shift(pteval_t v)
{
    const pteval_t cond = (~v >> _PAGE_BIT_RW) & 1;
    v |= ((v >> _PAGE_BIT_DIRTY) & cond) << _PAGE_BIT_SAVED_DIRTY;
    v &= ~(cond << _PAGE_BIT_DIRTY);
    return v;
}

// asm/pgtable.h clear_saveddirty_shift()
pteval_t clear_saveddirty_shift(pteval_t v)
{
    const pteval_t cond = (v >> _PAGE_BIT_RW) & 1;
    v |= ((v >> _PAGE_BIT_SAVED_DIRTY) & cond) << _PAGE_BIT_DIRTY;
    v &= ~(cond << _PAGE_BIT_SAVED_DIRTY);
    return v;
}

pte_t pte_mksaveddirty(pte_t pte) { return pte_t{mksaveddirty_shift(pte.val)}; }         // asm/pgtable.h
pte_t pte_clear_saveddirty(pte_t pte) { return pte_t{clear_saveddirty_shift(pte.val)}; } // asm/pgtable.h

// asm/tlbflush.h pte_flags_need_flush()
bool pte_flags_need_flush(pteval_t oldflags, pteval_t newflags, bool ignore_access)
{
    // Flags that need a flush when cleared but not when set: the hardware sets them without a fault.
    const pteval_t flush_on_clear = _PAGE_DIRTY | _PAGE_PRESENT | _PAGE_ACCESSED;
    const pteval_t software_flags = _PAGE_SOFTW1 | _PAGE_SOFTW2 | _PAGE_SOFTW3 | _PAGE_SOFTW4 | _PAGE_SAVED_DIRTY;
    const pteval_t flush_on_change = _PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL |
                                     _PAGE_PAT | _PAGE_PAT_LARGE | _PAGE_PKEY_BIT0 | _PAGE_PKEY_BIT1 |
                                     _PAGE_PKEY_BIT2 | _PAGE_PKEY_BIT3 | _PAGE_NX;
    pteval_t diff = oldflags ^ newflags;
    diff &= ~software_flags;
    if (ignore_access)
        diff &= ~_PAGE_ACCESSED;
    if (diff & oldflags & flush_on_clear)
        return true;
    return (diff & flush_on_change) != 0;
}

} // namespace

// asm/pgtable.h pte_none(): the A and D bits alone do not make an entry (Knights Landing erratum).
bool X86::pte_none(pte_t p) const { return !(p.val & ~_PAGE_KNL_ERRATUM_MASK); }
// asm/pgtable.h pte_present(): a PROT_NONE entry is present to the kernel, not to the hardware.
bool X86::pte_present(pte_t p) const { return pte_flags(p) & (_PAGE_PRESENT | _PAGE_PROTNONE); }
bool X86::pte_write(pte_t p) const { return pte_flags(p) & _PAGE_RW; }            // asm/pgtable.h, no shadow stacks
bool X86::pte_dirty(pte_t p) const { return pte_flags(p) & _PAGE_DIRTY_BITS; }    // asm/pgtable.h pte_dirty()
bool X86::pte_young(pte_t p) const { return pte_flags(p) & _PAGE_ACCESSED; }      // asm/pgtable.h pte_young()
bool X86::pte_special(pte_t p) const { return pte_flags(p) & _PAGE_SPECIAL; }     // asm/pgtable.h pte_special()
bool X86::pte_soft_dirty(pte_t p) const { return pte_flags(p) & _PAGE_SOFT_DIRTY; } // asm/pgtable.h

// arch/x86/mm/pgtable.c pte_mkwrite()
pte_t X86::pte_mkwrite(pte_t p) const { return pte_clear_saveddirty(pte_set_flags(p, _PAGE_RW)); }

// asm/pgtable.h pte_wrprotect()
pte_t X86::pte_wrprotect(pte_t p) const { return pte_mksaveddirty(pte_clear_flags(p, _PAGE_RW)); }

// asm/pgtable.h pte_mkdirty()
pte_t X86::pte_mkdirty(pte_t p) const { return pte_mksaveddirty(pte_set_flags(p, _PAGE_DIRTY | _PAGE_SOFT_DIRTY)); }

pte_t X86::pte_mkclean(pte_t p) const { return pte_clear_flags(p, _PAGE_DIRTY_BITS); }   // asm/pgtable.h pte_mkclean()
pte_t X86::pte_mkyoung(pte_t p) const { return pte_set_flags(p, _PAGE_ACCESSED); }     // asm/pgtable.h pte_mkyoung()
pte_t X86::pte_mkold(pte_t p) const { return pte_clear_flags(p, _PAGE_ACCESSED); }     // asm/pgtable.h pte_mkold()
pte_t X86::pte_clear_soft_dirty(pte_t p) const { return pte_clear_flags(p, _PAGE_SOFT_DIRTY); } // asm/pgtable.h
pte_t X86::pte_mksoft_dirty(pte_t p) const { return pte_set_flags(p, _PAGE_SOFT_DIRTY); }       // asm/pgtable.h

// asm/pgtable_64.h __swp_entry() and __swp_entry_to_pte(): the offset shifted up "too far" by the type bits,
// inverted, then down again; the type in the top bits
pte_t X86::swp_entry_to_pte(swp_entry_t entry) const
{
    return pte_t{(~pteval_t{swp_offset(entry)} << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) |
                 (pteval_t{swp_type(entry)} << (64 - SWP_TYPE_BITS))};
}

// include/linux/swapops.h pte_to_swp_entry(): pte_swp_clear_flags(), then asm/pgtable_64.h __swp_type() and
// __swp_offset() (shift up to get rid of the type, invert, down to the value)
swp_entry_t X86::pte_to_swp_entry(pte_t pte) const
{
    const pteval_t v = pte.val & ~(_PAGE_SWP_EXCLUSIVE | _PAGE_SWP_SOFT_DIRTY | _PAGE_SWP_UFFD_WP);
    return swp_entry(static_cast<unsigned>(v >> (64 - SWP_TYPE_BITS)), ~v << SWP_TYPE_BITS >> SWP_OFFSET_SHIFT);
}

// asm/pgtable.h pte_swp_exclusive() & co, pte_swp_soft_dirty() & co
bool X86::pte_swp_exclusive(pte_t p) const { return p.val & _PAGE_SWP_EXCLUSIVE; }
pte_t X86::pte_swp_mkexclusive(pte_t p) const { return pte_set_flags(p, _PAGE_SWP_EXCLUSIVE); }
pte_t X86::pte_swp_clear_exclusive(pte_t p) const { return pte_clear_flags(p, _PAGE_SWP_EXCLUSIVE); }
bool X86::pte_swp_soft_dirty(pte_t p) const { return p.val & _PAGE_SWP_SOFT_DIRTY; }
pte_t X86::pte_swp_mksoft_dirty(pte_t p) const { return pte_set_flags(p, _PAGE_SWP_SOFT_DIRTY); }
pte_t X86::pte_swp_clear_soft_dirty(pte_t p) const { return pte_clear_flags(p, _PAGE_SWP_SOFT_DIRTY); }

// asm/pgtable.h pte_pfn()
pfn_t X86::pte_pfn(pte_t p) const
{
    std::uint64_t pfn = p.val;
    pfn ^= protnone_mask(pfn);
    return (pfn & PTE_PFN_MASK) >> PAGE_SHIFT;
}

// asm/pgtable.h pfn_pte()
pte_t X86::pfn_pte(pfn_t page_nr, pgprot_t pgprot) const
{
    std::uint64_t pfn = page_nr << PAGE_SHIFT;
    pfn ^= protnone_mask(pgprot.val);
    pfn &= PTE_PFN_MASK;
    return pte_t{pfn | pgprot.val};
}

// asm/pgtable.h pte_modify()
pte_t X86::pte_modify(pte_t pte, pgprot_t newprot) const
{
    const pteval_t oldval = pte.val;
    pteval_t val = oldval;
    val &= _PAGE_CHG_MASK;
    val |= newprot.val & ~_PAGE_CHG_MASK;
    val = flip_protnone_guard(oldval, val, PTE_PFN_MASK);
    // Write=0 with Dirty=1 is a shadow-stack page: move Dirty aside when the write permission goes, but only
    // for an entry that had it (a Write=0 entry is already clean of Dirty).
    if (oldval & _PAGE_RW)
        return pte_mksaveddirty(pte_t{val});
    return pte_clear_saveddirty(pte_t{val});
}

// asm/pgtable.h pte_advance_pfn(): an inverted (non-present) pfn counts down.
pte_t X86::pte_advance_pfn(pte_t p, unsigned long nr) const
{
    if (__pte_needs_invert(p.val))
        return pte_t{p.val - (std::uint64_t{nr} << PAGE_SHIFT)};
    return pte_t{p.val + (std::uint64_t{nr} << PAGE_SHIFT)};
}

// asm/pgalloc.h pmd_populate() and its upper-level twins: every level links its next table with _PAGE_TABLE.
std::uint64_t X86::table_entry(int, PAddr table) const { return _PAGE_TABLE | table; }

// asm/tlbflush.h pte_needs_flush(): only for user PTEs; the accessed bit is ignored (see ptep_clear_flush_young).
bool X86::pte_needs_flush(pte_t oldpte, pte_t newpte) const
{
    if (!(pte_flags(oldpte) & _PAGE_PRESENT))
        return false;
    if (pte_pfn(oldpte) != pte_pfn(newpte))
        return true;
    return pte_flags_need_flush(pte_flags(oldpte), pte_flags(newpte), true);
}

// asm/pgtable.h ptep_set_wrprotect(): a cmpxchg loop, not clear_bit(_PAGE_BIT_RW) as before shadow stacks,
// because Dirty moves to SavedDirty in the same update and must not race with the hardware setting Dirty.
void X86::__ptep_set_wrprotect(Ctx& c, mm_struct&, Addr, PtePtr ptep)
{
    pte_t old_pte = __ptep_get(c, ptep);
    for (;;) {
        const pte_t new_pte = pte_wrprotect(old_pte);
        const std::uint64_t seen = c.cpu.cmpxchg(ptep, old_pte.val, new_pte.val, kPteBytes, Category::PteAtomic);
        if (seen == old_pte.val)
            return;
        old_pte = pte_t{seen}; // try_cmpxchg() hands back what it found
    }
}

// asm/pgtable.h ptep_get_and_clear_full()
pte_t X86::ptep_get_and_clear_full(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, int full)
{
    if (full) {
        // native_local_ptep_get_and_clear(): the whole mm is going, nothing else updates it (the hardware
        // cannot: no CPU runs the mm any more).
        const pte_t res = __ptep_get(c, ptep);
        __set_pte(c, ptep, pte_t{0}); // native_pte_clear()
        return res;
    }
    return __ptep_get_and_clear(c, mm, addr, ptep); // native_ptep_get_and_clear(): xchg
}

// include/linux/pgtable.h get_and_clear_full_ptes()
pte_t X86::get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    pte_t pte = ptep_get_and_clear_full(c, mm, addr, ptep, full);
    while (--nr) {
        ptep = pte_offset(ptep, 1);
        addr += PAGE_SIZE;
        const pte_t tmp_pte = ptep_get_and_clear_full(c, mm, addr, ptep, full);
        if (pte_dirty(tmp_pte))
            pte = pte_mkdirty(pte);
        if (pte_young(tmp_pte))
            pte = pte_mkyoung(pte);
    }
    return pte;
}

// include/linux/pgtable.h clear_full_ptes()
void X86::clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    for (;;) {
        ptep_get_and_clear_full(c, mm, addr, ptep, full);
        if (--nr == 0)
            break;
        ptep = pte_offset(ptep, 1);
        addr += PAGE_SIZE;
    }
}

// arch/x86/mm/pgtable.c ptep_set_access_flags(): the hardware keeps A and D itself, so the entry is written
// only when the caller makes it dirty (do_wp_page making it writable); no TLB flush, the #PF already dropped
// the old translation.
int X86::ptep_set_access_flags(Ctx& c, vm_area_struct&, Addr, PtePtr ptep, pte_t entry, int dirty)
{
    const bool changed = __ptep_get(c, ptep) != entry;
    if (changed && dirty)
        __set_pte(c, ptep, entry);
    return changed;
}

// arch/x86/mm/pgtable.c pmdp_set_access_flags(): as ptep_set_access_flags(), no flush (the #PF dropped the
// translation)
int X86::pmdp_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr pmdp, pte_t entry, int dirty)
{
    return ptep_set_access_flags(c, vma, addr, pmdp, entry, dirty);
}

// asm/pgtable.h pmd_mkhuge(pfn_pmd(page_nr, pgprot)): _PAGE_PSE set, the pfn masked to a 2M frame
pte_t X86::pfn_pmd_huge(pfn_t page_nr, pgprot_t pgprot) const
{
    std::uint64_t pfn = page_nr << PAGE_SHIFT;
    pfn ^= protnone_mask(pgprot.val);
    pfn &= PHYSICAL_PMD_PAGE_MASK;
    return pte_t{pfn | pgprot.val | _PAGE_PSE};
}

// asm/pgtable.h pmd_trans_huge()
bool X86::pmd_trans_huge(pte_t pmd) const { return (pmd.val & _PAGE_PSE) == _PAGE_PSE; }

// asm/pgtable.h pmd_pfn(): pmd_pfn_mask() of a leaf is PHYSICAL_PMD_PAGE_MASK
pfn_t X86::pmd_pfn(pte_t pmd) const
{
    std::uint64_t pfn = pmd.val;
    pfn ^= protnone_mask(pfn);
    return (pfn & PHYSICAL_PMD_PAGE_MASK) >> PAGE_SHIFT;
}

// The x86-64 operations, for make_arch() (mm/arch/arch.cc).
std::unique_ptr<Arch> make_x86_arch(Kernel&) { return std::make_unique<X86>(); }

} // namespace mmusim::mm
