// SPDX-License-Identifier: GPL-2.0-only
// mm/page_table_check.c in checked mode (see page_table_check.hh).
#include "mm/page_table_check.hh"

#include "mm/debug_vm.hh"
#include "mm/kernel.hh"
#include "mm/leafops.hh"

#include "util/hex.hh"

namespace mmusim::mm {

namespace {

bool page_anon_exclusive(Kernel& k, pfn_t page)
{
    return page_word(k, page, PAGE_OFF_FLAGS) & (std::uint64_t{1} << PG_anon_exclusive);
}

} // namespace

void PageTableCheck::fail(const mm_struct& mm, Addr addr, pfn_t pfn, const std::string& rule) const
{
    std::string msg = "page_table_check: " + rule + " (pfn " + hex(pfn) + ", mm " + std::to_string(mm.mm_id) +
                      ", VA " + hex(addr) + ")\n" + dump_folio(k_, pfn);
    throw CheckError(msg);
}

// mm/page_table_check.c page_table_check_clear(). A device-exclusive entry is an anon mapping (upstream makes
// them for anonymous folios only), also when its frame was freed first, as zap_nonpresent_ptes() does.
void PageTableCheck::clear(const mm_struct& mm, Addr addr, pfn_t pfn, unsigned long pgcnt, bool devx)
{
    // PageAnon() of the first page decides for all, as upstream
    const bool anon = devx || folio_anon_untimed(k_, pfn);
    for (unsigned long i = 0; i < pgcnt; ++i) {
        const pfn_t p = pfn + i;
        Counts& ptc = counts_[p];
        if (anon) {
            if (ptc.file)
                fail(mm, addr, p, "anon page cleared while file-mapped");
            if (--ptc.anon < 0)
                fail(mm, addr, p, "anon mapping count went negative");
            if (devx && --ptc.devx < 0)
                fail(mm, addr, p, "device-exclusive entry count went negative");
            auto it = anon_mms_.find(p);
            if (it != anon_mms_.end()) {
                auto m = it->second.find(&mm);
                if (m != it->second.end() && --m->second <= 0)
                    it->second.erase(m);
                if (it->second.empty())
                    anon_mms_.erase(it);
            }
        } else {
            if (ptc.anon)
                fail(mm, addr, p, "file page cleared while anon-mapped");
            if (--ptc.file < 0)
                fail(mm, addr, p, "file mapping count went negative");
        }
        if (!ptc.devx)
            freed_under_devx_.erase(p);
        if (!ptc.anon && !ptc.file)
            counts_.erase(p);
    }
}

// mm/page_table_check.c page_table_check_set()
void PageTableCheck::set(const mm_struct& mm, Addr addr, pfn_t pfn, unsigned long pgcnt, bool rw, bool devx)
{
    const bool anon = folio_anon_untimed(k_, pfn);
    for (unsigned long i = 0; i < pgcnt; ++i) {
        const pfn_t p = pfn + i;
        if (freed_under_devx_.count(p))
            fail(mm, addr, p, "frame mapped again while a device-exclusive entry of its previous use remains");
        Counts& ptc = counts_[p];
        if (devx && !anon)
            fail(mm, addr, p, "device-exclusive entry of a page that is not anonymous");
        if (anon) {
            if (ptc.file)
                fail(mm, addr, p, "anon page mapped while file-mapped");
            if (++ptc.anon > 1 && rw)
                fail(mm, addr, p, "anon page mapped writable while mapped elsewhere (shared after fork?)");
            if (devx)
                ++ptc.devx;
            auto& mms = anon_mms_[p];
            ++mms[&mm];
            // The port's addition: PG_anon_exclusive means one mm maps the page (mm/rmap.c's exclusivity)
            if (mms.size() > 1 && page_anon_exclusive(k_, p))
                fail(mm, addr, p, "PG_anon_exclusive page mapped by a second mm");
        } else {
            if (ptc.anon)
                fail(mm, addr, p, "file page mapped while anon-mapped");
            ++ptc.file;
        }
    }
}

// pte_user_accessible_page(): whether `pte` counts as a mapping of a page, its pfn, write permission and
// whether it is a device-exclusive entry. A present entry as upstream (PROT_NONE entries count: they are set
// and cleared through the same helpers); and, the port's addition, a device-exclusive entry, which the
// folio's mapcount counts as a mapping too (upstream does not count it here). It is never writable.
bool PageTableCheck::counted(pte_t pte, pfn_t& pfn, bool& rw, bool& devx) const
{
    Arch& a = k_.arch();
    rw = devx = false;
    if (a.pte_none(pte))
        return false;
    if (a.pte_present(pte)) {
        pfn = a.pte_pfn(pte);
        rw = a.pte_write(pte);
        return true;
    }
    devx = pte_device_exclusive_pfn(a, pte, pfn);
    return devx;
}

// __page_table_check_pte_clear() on a leaf of `pgcnt` pages
void PageTableCheck::leaf_clear(const mm_struct& mm, Addr addr, pte_t pte, unsigned long pgcnt)
{
    pfn_t pfn = 0;
    bool rw = false, devx = false;
    if (counted(pte, pfn, rw, devx))
        clear(mm, addr, pfn, pgcnt, devx);
}

// include/linux/page_table_check.h page_table_check_ptes_set() -> __page_table_check_ptes_set()
void PageTableCheck::ptes_set(const mm_struct& mm, Addr addr, PtePtr ptep, pte_t pte, unsigned nr)
{
    const hw::PhysInspector in = k_.platform().inspect();
    for (unsigned i = 0; i < nr; ++i)
        leaf_clear(mm, addr + i * k_.page_size(), pte_t{in.read64(pte_offset(ptep, i))}, 1);
    pfn_t pfn = 0;
    bool rw = false, devx = false;
    if (!counted(pte, pfn, rw, devx))
        return;
    // (a non-present entry is set one at a time: nr is 1)
    for (unsigned i = 0; i < nr; ++i)
        set(mm, addr + i * k_.page_size(), pfn + i, 1, rw, devx);
}

void PageTableCheck::ptes_clear(const mm_struct& mm, Addr addr, PtePtr ptep, unsigned nr)
{
    const hw::PhysInspector in = k_.platform().inspect();
    for (unsigned i = 0; i < nr; ++i)
        leaf_clear(mm, addr + i * k_.page_size(), pte_t{in.read64(pte_offset(ptep, i))}, 1);
}

// __page_table_check_pmd_set() / __page_table_check_pmd_clear(): PMD_SIZE >> PAGE_SHIFT pages
void PageTableCheck::pmd_set(const mm_struct& mm, Addr addr, PtePtr pmdp, pte_t pmd)
{
    const hw::PageTableFormat& f = k_.format();
    const unsigned long pgcnt = 1ul << (f.level(f.levels() - 2).shift - f.page_shift());
    pmd_clear(mm, addr, pmdp);
    Arch& a = k_.arch();
    if (a.pte_none(pmd) || !a.pte_present(pmd))
        return;
    set(mm, addr, a.pmd_pfn(pmd), pgcnt, a.pte_write(pmd));
}

void PageTableCheck::pmd_clear(const mm_struct& mm, Addr addr, PtePtr pmdp)
{
    const hw::PageTableFormat& f = k_.format();
    const unsigned long pgcnt = 1ul << (f.level(f.levels() - 2).shift - f.page_shift());
    const pte_t old{k_.platform().inspect().read64(pmdp)};
    // a PMD table entry is no leaf: only a trans-huge PMD counts
    if (!k_.arch().pmd_trans_huge(old))
        return;
    leaf_clear(mm, addr, old, pgcnt);
}

// mm/page_table_check.c __page_table_check_zero(). A frame whose only remaining mappings are device-exclusive
// entries is let go: zap_nonpresent_ptes() puts the folio before it clears the entry (under the PTL); the
// entry must be cleared before the frame is mapped again (set()), and check_mm_state() finds one left behind.
void PageTableCheck::zero(pfn_t pfn, std::uint64_t nr)
{
    for (std::uint64_t i = 0; i < nr; ++i) {
        auto it = counts_.find(pfn + i);
        if (it == counts_.end())
            continue;
        if (it->second.devx == it->second.anon && !it->second.file && !freed_under_devx_.count(pfn + i)) {
            freed_under_devx_.insert(pfn + i);
            continue;
        }
        throw CheckError("page_table_check: frame " + hex(pfn + i) + " freed while still mapped (" +
                         std::to_string(it->second.anon) + " anon (" + std::to_string(it->second.devx) +
                         " of them device-exclusive), " + std::to_string(it->second.file) + " file mappings)\n" +
                         dump_folio(k_, pfn + i));
    }
}

} // namespace mmusim::mm
