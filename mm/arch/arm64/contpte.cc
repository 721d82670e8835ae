// SPDX-License-Identifier: GPL-2.0-only
// arch/arm64/mm/contpte.c and the inline contpte helpers of arch/arm64/include/asm/pgtable.h: the contiguous
// bit managed transparently behind the public PTE API. A block of CONT_PTES entries (64K with a 4K granule)
// that maps one folio, physically aligned, with identical attributes, is folded (every entry gets PTE_CONT)
// when its last entry is set one at a time, written contiguous directly by a batched set_ptes(), and
// unfolded before any change to part of it. Folding and unfolding repaint the whole block (contpte_convert()),
// with break-before-make unless the CPU has BBML2 without conflict aborts.
#include "mm/phase.hh"
#include "mm/arch/arm64/pgtable.hh"

#include "mm/kernel.hh"
#include "mm/page.hh"

#include <optional>

namespace mmusim::mm {

using namespace arm64;

namespace {

// contpte.c mm_is_user(): contig bits are never managed for init_mm or EFI mappings; every mm the port
// creates is a user process.
bool mm_is_user(const mm_struct&) { return true; }

} // namespace

// asm/pgtable.h contpte_try_fold(): tries only when both the VA and the pfn are the last of a block (core code
// mostly fills ranges from low to high), and never for special mappings, which have no folio.
void Arm64::contpte_try_fold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte)
{
    const std::uint64_t contmask = cont_ptes_ - 1;
    const bool valign = ((addr >> page_shift_) & contmask) == contmask;
    if (valign) {
        const bool palign = (pte_pfn(pte) & contmask) == contmask;
        if (palign && pte_valid(pte) && !pte_cont(pte) && !pte_special(pte))
            __contpte_try_fold(c, mm, addr, ptep, pte);
    }
}

// asm/pgtable.h contpte_try_unfold()
void Arm64::contpte_try_unfold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte)
{
    if (pte_valid_cont(pte))
        __contpte_try_unfold(c, mm, addr, ptep, pte);
}

// contpte.c contpte_align_addr_ptep(): widens [start, end) to whole blocks where its first or last PTE is
// contiguous (the nr PTEs map consecutive pages of one large folio).
PtePtr Arm64::contpte_align_addr_ptep(Ctx& c, Addr& start, Addr& end, PtePtr ptep, unsigned nr)
{
    if (pte_cont(__ptep_get(c, pte_offset(ptep, nr - 1))))
        end = (end + cont_pte_size() - 1) & cont_pte_mask(); // ALIGN(end, CONT_PTE_SIZE)
    if (pte_cont(__ptep_get(c, ptep))) {
        start &= cont_pte_mask();
        ptep = contpte_align_down(ptep);
    }
    return ptep;
}

// contpte.c contpte_try_unfold_partial(): unfolds a block the range covers only in part, at either end.
void Arm64::contpte_try_unfold_partial(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    if (ptep != contpte_align_down(ptep) || nr < cont_ptes_)
        contpte_try_unfold(c, mm, addr, ptep, __ptep_get(c, ptep));

    const PtePtr end_ptep = pte_offset(ptep, nr);
    if (end_ptep != contpte_align_down(end_ptep)) {
        const Addr last_addr = addr + page_size() * (nr - 1);
        const PtePtr last_ptep = pte_offset(ptep, nr - 1);
        contpte_try_unfold(c, mm, last_addr, last_ptep, __ptep_get(c, last_ptep));
    }
}

// contpte.c contpte_convert(): repaints the whole block with `pte` (contiguous or not). Break-before-make:
// every entry is cleared (gathering young and dirty into the new value), the block's TLB entries are
// invalidated, then the new entries are written. With BBML2_NOABORT the invalidation is skipped: the Arm ARM
// (RNGLXZ, RJQQTC) lets a TLB return one of the cached entries but never an amalgam, and the caller's final
// flush removes both the stale and the new ones; stale non-contiguous entries otherwise age out.
void Arm64::contpte_convert(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte)
{
    const PhaseScope phase(c, "contpte_convert");
    ++c.k.stats().contpte_converts;
    const PtePtr start_ptep = ptep = contpte_align_down(ptep);
    const Addr start_addr = addr = addr & cont_pte_mask();
    pte = pfn_pte(pte_pfn(pte) & ~pfn_t{cont_ptes_ - 1}, pte_pgprot(pte));

    for (unsigned i = 0; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1), addr += page_size()) {
        const pte_t ptent = __ptep_get_and_clear(c, mm, addr, ptep);
        if (pte_dirty(ptent))
            pte = pte_mkdirty(pte);
        if (pte_young(ptent))
            pte = pte_mkyoung(pte);
    }

    if (!c.k.config().switches.use_bbml2)
        __flush_tlb_range(c, mm, start_addr, addr, page_size(), 3, TLBF_NOWALKCACHE);

    __set_ptes(c, mm, start_addr, start_ptep, pte, cont_ptes_);
}

// contpte.c __contpte_try_fold(): the VA and PA are aligned (contpte_try_fold()); fold only if one folio covers
// the whole block and every entry maps the next pfn with the same attributes, young and dirty aside (the
// folded block has one of each: the OR of its entries').
void Arm64::__contpte_try_fold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte)
{
    if (!mm_is_user(mm))
        return;

    const pfn_t page = pte_pfn(pte); // pte_page()
    const Folio folio = page_folio(c, page);
    const Addr folio_start = addr - (page - folio_pfn(folio)) * page_size();
    const Addr folio_end = folio_start + folio_nr_pages(c, folio) * page_size();
    const Addr cont_start = addr & cont_pte_mask();
    const Addr cont_end = cont_start + cont_pte_size();
    if (folio_start > cont_start || folio_end < cont_end)
        return;

    const pfn_t pfn = pte_pfn(pte) & ~pfn_t{cont_ptes_ - 1};
    const pgprot_t prot = pte_pgprot(pte_mkold(pte_mkclean(pte)));
    pte_t expected_pte = pfn_pte(pfn, prot);
    const PtePtr orig_ptep = ptep;
    ptep = contpte_align_down(ptep);
    for (unsigned i = 0; i < cont_ptes_; ++i) {
        const pte_t subpte = pte_mkold(pte_mkclean(__ptep_get(c, ptep)));
        if (subpte != expected_pte)
            return;
        expected_pte = pte_advance_pfn(expected_pte, 1);
        ptep = pte_offset(ptep, 1);
    }

    ++c.k.stats().contpte_folds;
    contpte_convert(c, mm, addr, orig_ptep, pte_mkcont(pte));
}

// contpte.c __contpte_try_unfold(): the entries are contiguous (contpte_try_unfold() checked).
void Arm64::__contpte_try_unfold(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte)
{
    if (!mm_is_user(mm))
        return;
    ++c.k.stats().contpte_unfolds;
    contpte_convert(c, mm, addr, ptep, pte_mknoncont(pte));
}

// contpte.c contpte_ptep_get(): young and dirty may be set in any entry of the block (the hardware updates one
// entry); the walk stops as soon as both have been found. The PTL is held, so the block cannot change meanwhile.
pte_t Arm64::contpte_ptep_get(Ctx& c, PtePtr ptep, pte_t orig_pte)
{
    ++c.k.stats().contpte_ptep_get;
    ptep = contpte_align_down(ptep);
    for (unsigned i = 0; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1)) {
        pte_t pte = __ptep_get(c, ptep);
        if (pte_dirty(pte)) {
            orig_pte = pte_mkdirty(orig_pte);
            for (; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1)) {
                pte = __ptep_get(c, ptep);
                if (pte_young(pte)) {
                    orig_pte = pte_mkyoung(orig_pte);
                    break;
                }
            }
            break;
        }
        if (pte_young(pte)) {
            orig_pte = pte_mkyoung(orig_pte);
            ++i;
            ptep = pte_offset(ptep, 1);
            for (; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1)) {
                pte = __ptep_get(c, ptep);
                if (pte_dirty(pte)) {
                    orig_pte = pte_mkdirty(orig_pte);
                    break;
                }
            }
            break;
        }
    }
    return orig_pte;
}

// contpte.c contpte_is_consistent()
bool Arm64::contpte_is_consistent(pte_t pte, pfn_t pfn, pgprot_t orig_prot) const
{
    const pgprot_t prot = pte_pgprot(pte_mkold(pte_mkclean(pte)));
    return pte_valid_cont(pte) && pte_pfn(pte) == pfn && prot.val == orig_prot.val;
}

// contpte.c contpte_ptep_get_lockless(): without the PTL the block may be unfolded or refolded while it is
// read, so the read restarts until every entry is valid-contiguous, pfn-consecutive and of the same prot.
pte_t Arm64::contpte_ptep_get_lockless(Ctx& c, PtePtr orig_ptep)
{
    // One pass over the block; nullopt when an entry was inconsistent (upstream: goto retry).
    const auto gather = [&]() -> std::optional<pte_t> {
        pte_t orig_pte = __ptep_get(c, orig_ptep);
        if (!pte_valid_cont(orig_pte))
            return orig_pte;

        const pgprot_t orig_prot = pte_pgprot(pte_mkold(pte_mkclean(orig_pte)));
        PtePtr ptep = contpte_align_down(orig_ptep);
        pfn_t pfn = pte_pfn(orig_pte) - (orig_ptep - ptep) / kPteBytes;

        for (unsigned i = 0; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1), ++pfn) {
            pte_t pte = __ptep_get(c, ptep);
            if (!contpte_is_consistent(pte, pfn, orig_prot))
                return std::nullopt;
            if (pte_dirty(pte)) {
                orig_pte = pte_mkdirty(orig_pte);
                for (; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1), ++pfn) {
                    pte = __ptep_get(c, ptep);
                    if (!contpte_is_consistent(pte, pfn, orig_prot))
                        return std::nullopt;
                    if (pte_young(pte)) {
                        orig_pte = pte_mkyoung(orig_pte);
                        break;
                    }
                }
                break;
            }
            if (pte_young(pte)) {
                orig_pte = pte_mkyoung(orig_pte);
                ++i;
                ptep = pte_offset(ptep, 1);
                ++pfn;
                for (; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1), ++pfn) {
                    pte = __ptep_get(c, ptep);
                    if (!contpte_is_consistent(pte, pfn, orig_prot))
                        return std::nullopt;
                    if (pte_dirty(pte)) {
                        orig_pte = pte_mkdirty(orig_pte);
                        break;
                    }
                }
                break;
            }
        }
        return orig_pte;
    };
    for (;;)
        if (const std::optional<pte_t> pte = gather())
            return *pte;
}

// contpte.c contpte_set_ptes(): nr > 1 entries, all none before (the set_ptes() contract), so nothing is
// unfolded or invalidated; each block-bounded chunk is written contiguous iff it is a whole block whose VA and
// PA are both aligned.
void Arm64::contpte_set_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    if (!mm_is_user(mm)) {
        __set_ptes(c, mm, addr, ptep, pte, nr);
        return;
    }
    const Addr end = addr + (Addr{nr} << page_shift_);
    pfn_t pfn = pte_pfn(pte);
    const pgprot_t prot = pte_pgprot(pte);
    do {
        const Addr next = pte_cont_addr_end(addr, end);
        nr = static_cast<unsigned>((next - addr) >> page_shift_);
        pte = pfn_pte(pfn, prot);
        if (((addr | next | (pfn << page_shift_)) & ~cont_pte_mask()) == 0)
            pte = pte_mkcont(pte);
        else
            pte = pte_mknoncont(pte);
        __set_ptes(c, mm, addr, ptep, pte, nr);
        addr = next;
        ptep = pte_offset(ptep, nr);
        pfn += nr;
    } while (addr != end);
}

// contpte.c contpte_clear_full_ptes(): only partly covered blocks are unfolded; whole blocks are cleared in
// place (no convert, no TLBI here: the caller's mmu_gather flush covers them).
void Arm64::contpte_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    contpte_try_unfold_partial(c, mm, addr, ptep, nr);
    __clear_full_ptes(c, mm, addr, ptep, nr, full);
}

// contpte.c contpte_get_and_clear_full_ptes()
pte_t Arm64::contpte_get_and_clear_full_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr, int full)
{
    contpte_try_unfold_partial(c, mm, addr, ptep, nr);
    return __get_and_clear_full_ptes(c, mm, addr, ptep, nr, full);
}

// contpte.c contpte_test_and_clear_young_ptes(): core mm tracks access per folio and a block maps one folio,
// so young is cleared over whole blocks instead of unfolding.
bool Arm64::contpte_test_and_clear_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    Addr end = addr + nr * page_size();
    bool young = false;
    ptep = contpte_align_addr_ptep(c, addr, end, ptep, nr);
    for (; addr != end; ptep = pte_offset(ptep, 1), addr += page_size())
        young |= __ptep_test_and_clear_young(c, vma, addr, ptep);
    return young;
}

// contpte.c contpte_clear_flush_young_ptes(): the TLBIs without a trailing DSB, as __ptep_clear_flush_young().
bool Arm64::contpte_clear_flush_young_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr)
{
    const bool young = contpte_test_and_clear_young_ptes(c, vma, addr, ptep, nr);
    if (young) {
        Addr end = addr + nr * page_size();
        contpte_align_addr_ptep(c, addr, end, ptep, nr);
        __flush_tlb_range(c, *vma.vm_mm, addr, end, page_size(), 3, TLBF_NOWALKCACHE | TLBF_NOSYNC);
    }
    return young;
}

// contpte.c contpte_wrprotect_ptes(): a whole block is write-protected in place and made coherent by the later
// mmu_gather flush; a partly covered block must be unfolded first (a contiguous block with mixed permissions
// would stay unpredictable after the flush).
void Arm64::contpte_wrprotect_ptes(Ctx& c, mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    contpte_try_unfold_partial(c, mm, addr, ptep, nr);
    __wrprotect_ptes(c, mm, addr, ptep, nr);
}

// contpte.c contpte_clear_young_dirty_ptes(): widened to whole blocks, no unfold (access and dirty are tracked
// per folio).
void Arm64::contpte_clear_young_dirty_ptes(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, unsigned nr,
                                           cydp_t flags)
{
    Addr start = addr;
    Addr end = start + nr * page_size();
    ptep = contpte_align_addr_ptep(c, start, end, ptep, nr);
    __clear_young_dirty_ptes(c, vma, start, ptep, static_cast<unsigned>((end - start) / page_size()), flags);
}

// contpte.c contpte_all_subptes_match_access_flags(): compares each entry's own AF, dirty and write bits (not
// the gathered view), since a walker without HAFDBS evaluates every descriptor alone.
bool Arm64::contpte_all_subptes_match_access_flags(Ctx& c, PtePtr ptep, pte_t entry)
{
    const PtePtr cont_ptep = contpte_align_down(ptep);
    constexpr std::uint64_t cmp_mask = PTE_RDONLY | PTE_AF | PTE_WRITE | PTE_DIRTY;
    const std::uint64_t entry_cmp = entry.val & cmp_mask;
    for (unsigned i = 0; i < cont_ptes_; ++i)
        if ((__ptep_get(c, pte_offset(cont_ptep, i)).val & cmp_mask) != entry_cmp)
            return false;
    return true;
}

// contpte.c contpte_ptep_set_access_flags(): access and dirty are fixed up over the whole block without an
// unfold, with one local flush at the end; a change of the write bit needs the unfold.
int Arm64::contpte_ptep_set_access_flags(Ctx& c, vm_area_struct& vma, Addr addr, PtePtr ptep, pte_t entry, int dirty)
{
    if (contpte_all_subptes_match_access_flags(c, ptep, entry))
        return 0;

    // the raw target entry, not the gathered one, decides the unfold
    const pte_t orig_pte = pte_mknoncont(__ptep_get(c, ptep));
    if (pte_write(orig_pte) == pte_write(entry)) {
        ptep = contpte_align_down(ptep);
        const Addr start_addr = addr = addr & cont_pte_mask();
        // entry is not advanced: __ptep_set_access_flags() takes only its access bits
        for (unsigned i = 0; i < cont_ptes_; ++i, ptep = pte_offset(ptep, 1), addr += page_size())
            __ptep_set_access_flags(c, vma, addr, ptep, entry, 0);
        if (dirty)
            local_flush_tlb_contpte(c, vma, start_addr);
    } else {
        __contpte_try_unfold(c, *vma.vm_mm, addr, ptep, orig_pte);
        __ptep_set_access_flags(c, vma, addr, ptep, entry, dirty);
    }
    return 1;
}

} // namespace mmusim::mm
