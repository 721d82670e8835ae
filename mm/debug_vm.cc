// SPDX-License-Identifier: GPL-2.0-only
// Checked mode's VM_BUG_ON-style assertions, dump_page() and the folio-against-page-table check (see
// debug_vm.hh). Untimed: every read is a PhysInspector peek.
#include "mm/debug_vm.hh"

#include "hw/check/tlb_oracle.hh"
#include "hw/pgtable/walk_down.hh"
#include "hw/platform/platform.hh"
#include "mm/kernel.hh"
#include "mm/leafops.hh"
#include "mm/rmap.hh"
#include "mm/swap.hh"
#include "mm/swap_table.hh"
#include "mm/swapfile.hh"
#include "util/hex.hh"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

namespace mmusim::mm {

std::uint64_t page_word(Kernel& k, pfn_t page, unsigned off)
{
    return k.platform().inspect().read64(k.vmemmap() + page * kStructPageBytes + off);
}

pfn_t folio_head_untimed(Kernel& k, pfn_t page)
{
    const std::uint64_t head = page_word(k, page, PAGE_OFF_COMPOUND_HEAD);
    return head & 1 ? (head - 1 - k.vmemmap()) / kStructPageBytes : page;
}

bool folio_anon_untimed(Kernel& k, pfn_t page)
{
    return page_word(k, folio_head_untimed(k, page), PAGE_OFF_MAPPING) & PAGE_MAPPING_ANON;
}

bool vm_checked(const Kernel& k) { return const_cast<Kernel&>(k).platform().checked(); }

namespace {

std::int32_t word32(Kernel& k, pfn_t page, unsigned off)
{
    const PAddr pa = k.vmemmap() + page * kStructPageBytes + off;
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(k.platform().inspect().read(pa, 4)));
}

bool is_large(Kernel& k, pfn_t head) { return page_word(k, head, PAGE_OFF_FLAGS) & (std::uint64_t{1} << PG_head); }
unsigned folio_nr(Kernel& k, pfn_t head) { return is_large(k, head) ? 1u << (page_word(k, head, FOLIO_OFF_FLAGS_1) & 0xff) : 1u; }

} // namespace

long folio_mapcount_untimed(Kernel& k, Folio folio)
{
    return (is_large(k, folio.pfn) ? word32(k, folio.pfn, FOLIO_OFF_LARGE_MAPCOUNT) : word32(k, folio.pfn, PAGE_OFF_MAPCOUNT)) + 1;
}

// mm/debug.c __dump_folio()
std::string dump_folio(Kernel& k, pfn_t page)
{
    const pfn_t head = folio_head_untimed(k, page);
    std::ostringstream o;
    o << "page " << hex(page) << " of folio " << hex(head) << " nr_pages " << folio_nr(k, head)
      << ": flags " << hex(page_word(k, head, PAGE_OFF_FLAGS)) << " page flags " << hex(page_word(k, page, PAGE_OFF_FLAGS))
      << " refcount " << word32(k, head, PAGE_OFF_REFCOUNT) << " mapcount " << word32(k, page, PAGE_OFF_MAPCOUNT) + 1
      << " mapping " << hex(page_word(k, head, PAGE_OFF_MAPPING)) << " index " << hex(page_word(k, head, PAGE_OFF_INDEX))
      << " private " << hex(page_word(k, head, PAGE_OFF_PRIVATE));
    if (is_large(k, head))
        o << " large_mapcount " << word32(k, head, FOLIO_OFF_LARGE_MAPCOUNT) + 1 << " entire_mapcount "
          << word32(k, head, FOLIO_OFF_ENTIRE_MAPCOUNT) + 1 << " pincount " << word32(k, head, FOLIO_OFF_PINCOUNT)
          << " mm_id_mapcount " << word32(k, head, FOLIO_OFF_MM_ID_MAPCOUNT) + 1 << ' '
          << word32(k, head, FOLIO_OFF_MM_ID_MAPCOUNT + 4) + 1 << " mm_ids " << hex(page_word(k, head, FOLIO_OFF_MM_IDS));
    return o.str();
}

std::string dump_ptes(Kernel& k, const mm_struct& mm, Addr addr, unsigned before, unsigned after)
{
    std::ostringstream o;
    const hw::PhysInspector in = k.platform().inspect();
    const Addr base = addr & ~(k.page_size() - 1);
    for (unsigned i = 0; i < before + after; ++i) {
        const Addr va = base + (static_cast<Addr>(i) - before) * k.page_size();
        if (va + before * k.page_size() < base)
            continue; // below 0
        const hw::WalkStep s = hw::walk_down(k.format(), mm.pgd, va, [&](PAddr pa) { return in.read64(pa); });
        o << "  " << hex(va) << (va == base ? " -> " : "    ") << "depth " << s.depth << ' ' << hex(s.raw) << '\n';
    }
    return o.str();
}

void vm_bug_folio(Kernel& k, const char* cond, const char* op, Folio folio, const mm_struct* mm, Addr addr)
{
    std::string msg = std::string("VM_BUG_ON_FOLIO(") + cond + ") in " + op + "\n" + dump_folio(k, folio.pfn);
    if (mm)
        msg += "\nPTEs of mm " + std::to_string(mm->mm_id) + " around " + hex(addr) + ":\n" + dump_ptes(k, *mm, addr);
    throw CheckError(msg);
}

namespace {

struct FolioSeen {
    long pte_maps = 0;                    // PTE leaves mapping any of its pages
    long pmd_maps = 0;                    // PMD leaves mapping it
    std::map<pfn_t, long> page_maps;      // per page: PTE leaves (+ PMD leaves) mapping it
    std::map<unsigned, long> mm_maps;     // per mm_id: leaves mapping it (a PMD counts once)
};

class StateCheck {
public:
    StateCheck(Kernel& k, const std::string& when) : k_(k), a_(k.arch()), f_(k.format()), in_(k.platform().inspect()), when_(when) {}

    void run()
    {
        for (const auto& mm : k_.mms())
            walk_mm(*mm);
        for (const auto& [head, seen] : folios_)
            check_folio(head, seen);
        if (k_.has_swap())
            check_swap();
        if (!errors_.empty()) {
            std::string msg = "mm state check at " + when_ + ": " + std::to_string(errors_.size()) + " violation(s)";
            for (std::size_t i = 0; i < errors_.size() && i < 8; ++i)
                msg += "\n  " + errors_[i];
            throw CheckError(msg);
        }
    }

private:
    void error(std::string s) { errors_.push_back(std::move(s)); }

    void walk_mm(const mm_struct& mm)
    {
        long rss[NR_MM_COUNTERS] = {};
        for (const auto& [start, vma] : mm.vmas) {
            (void)start;
            for (Addr va = vma.vm_start; va < vma.vm_end;) {
                const hw::WalkStep s = hw::walk_down(f_, mm.pgd, va, [&](PAddr pa) { return in_.read64(pa); });
                const Addr span = Addr{1} << f_.level(s.depth).shift;
                const pte_t pte{s.raw};
                const bool last = s.depth == f_.levels() - 1;
                if (s.table()) { // a table at the last level cannot be; skip defensively
                    va += k_.page_size();
                    continue;
                }
                if (a_.pte_none(pte)) {
                    va = (va & ~(span - 1)) + span;
                    continue;
                }
                if (!a_.pte_present(pte)) {
                    pfn_t devx = 0;
                    // A device-exclusive entry maps its page: the folio's mapcount and MM_ANONPAGES count it.
                    if (last && pte_device_exclusive_pfn(a_, pte, devx)) {
                        mapped(mm, devx, 1, rss);
                    } else if (last && a_.is_swap_pte(pte)) {
                        ++rss[MM_SWAPENTS];
                        SwapSeen& seen = swap_ptes_[a_.pte_to_swp_entry(pte).val];
                        if (!seen.ptes++)
                            seen.first = "mm " + std::to_string(mm.mm_id) + " VA " + hex(va);
                    }
                    va += last ? k_.page_size() : span - (va & (span - 1));
                    continue;
                }
                const pfn_t pfn = a_.pte_pfn(pte);
                if (last)
                    leaf(mm, va, s.desc_pa, pte, pfn, 1, rss);
                else
                    leaf(mm, va & ~(span - 1), s.desc_pa, pte, pfn, static_cast<unsigned long>(span >> k_.page_shift()), rss);
                va = (va & ~(span - 1)) + span;
            }
        }
        static const char* const names[] = {"MM_FILEPAGES", "MM_ANONPAGES", "MM_SWAPENTS", "MM_SHMEMPAGES"};
        for (unsigned m = 0; m < NR_MM_COUNTERS; ++m) {
            const long have = static_cast<long>(in_.read64(mm.rss_addr(static_cast<MmCounter>(m))));
            if (have != rss[m])
                error("mm " + std::to_string(mm.mm_id) + " " + names[m] + " is " + std::to_string(have) +
                      ", its page tables hold " + std::to_string(rss[m]));
        }
    }

    void leaf(const mm_struct& mm, Addr va, PtePtr ptep, pte_t pte, pfn_t pfn, unsigned long nr, long* rss)
    {
        if (nr == 1 && a_.pte_cont(pte))
            check_cont(mm, va, ptep);
        if (k_.is_zero_pfn(pfn) || k_.is_huge_zero_pfn(pfn) || a_.pte_special(pte))
            return;
        mapped(mm, pfn, nr, rss);
    }

    // A leaf (PTE, PMD, or a device-exclusive entry) mapping pages [pfn, pfn + nr) of a folio in mm
    void mapped(const mm_struct& mm, pfn_t pfn, unsigned long nr, long* rss)
    {
        const pfn_t head = folio_head_untimed(k_, pfn);
        const std::uint64_t flags = page_word(k_, head, PAGE_OFF_FLAGS);
        const bool anon = page_word(k_, head, PAGE_OFF_MAPPING) & PAGE_MAPPING_ANON;
        const MmCounter counter = anon ? MM_ANONPAGES
                                       : (flags & (std::uint64_t{1} << PG_swapbacked)) ? MM_SHMEMPAGES : MM_FILEPAGES;
        rss[counter] += static_cast<long>(nr);
        FolioSeen& s = folios_[head];
        if (nr == 1)
            ++s.pte_maps;
        else
            ++s.pmd_maps;
        ++s.mm_maps[mm.mm_id];
        for (unsigned long i = 0; i < nr; ++i) {
            ++s.page_maps[pfn + i];
            if (anon)
                page_mms_[pfn + i].insert(mm.mm_id);
        }
    }

    // arm64 contpte: an aligned block of contig_entries PTEs, all with the bit, contiguous aligned output,
    // the same attributes (access and dirty state aside: the hardware updates them per entry)
    void check_cont(const mm_struct& mm, Addr va, PtePtr ptep)
    {
        const unsigned n = f_.level(f_.levels() - 1).contig_entries;
        if (n <= 1) {
            error("mm " + std::to_string(mm.mm_id) + " VA " + hex(va) + ": contiguous bit on a format without blocks");
            return;
        }
        const Addr block = va & ~(Addr{n} * k_.page_size() - 1);
        if (!cont_done_.insert({mm.mm_id, block}).second)
            return;
        const PtePtr first = ptep - (va - block) / k_.page_size() * kPteBytes;
        const pte_t p0{in_.read64(first)};
        const pfn_t pfn0 = a_.pte_pfn(p0);
        // the attributes, access and dirty state aside (the hardware updates them per entry), output removed
        auto attrs = [&](pte_t p) { return a_.pte_mkold(a_.pte_mkclean(p)).val ^ a_.pfn_pte(a_.pte_pfn(p), pgprot_t{}).val; };
        if (pfn0 % n != 0 || !a_.pte_present(p0))
            error("mm " + std::to_string(mm.mm_id) + " contpte block " + hex(block) + ": first entry " + hex(p0.val) +
                  " not an aligned present mapping");
        for (unsigned i = 0; i < n; ++i) {
            const pte_t p{in_.read64(pte_offset(first, i))};
            if (!a_.pte_present(p) || !a_.pte_cont(p) || a_.pte_pfn(p) != pfn0 + i ||
                attrs(p) != attrs(p0)) {
                error("mm " + std::to_string(mm.mm_id) + " contpte block " + hex(block) + " entry " + std::to_string(i) +
                      " is " + hex(p.val) + ", first " + hex(p0.val));
                return;
            }
        }
    }

    // The swap device's slots against the swap PTEs of every live mm (mm/swap_table.h: each slot's entry in
    // its cluster's swap table holds the swap count, and the swap cache as the folio's PFN; there is no
    // swap_map and no SWAP_HAS_CACHE in this tree):
    //  - a slot's swap count (the table's COUNT, continued in the cluster's extend_table from SWP_TB_COUNT_MAX:
    //    swp_swapcount()) equals the swap PTEs naming it: nothing else holds a count in the port (no shmem
    //    swap-out, no swap PMDs), and the swap cache holds none (folio_alloc_swap() starts a slot at 0);
    //  - no swap PTE names a free slot (NULL, or a cluster without a table), a bad one or one past the device;
    //  - a slot swapped out and not cached (a shadow) has a count: one that dropped to 0 was freed
    //    (swap_put_entries_cluster(), __swap_cache_del_folio());
    //  - a cached slot (PFN) names a folio in the swap cache whose folio->swap range holds the slot, and a mapped
    //    swap-cache folio's slots all name it back;
    //  - si->inuse_pages counts the slots in use (neither free nor bad).
    void check_swap()
    {
        Swap& sw = k_.swap();
        const swap_info_struct& si = sw.si();
        const unsigned per = sw.swapfile_cluster();
        std::map<std::uint64_t, SwapSeen> left = swap_ptes_; // the PTEs' slots not yet found in a table
        long in_use = 0;
        for (unsigned ci_idx = 0; ci_idx < si.nr_clusters; ++ci_idx) {
            const PAddr ci = si.cluster_info + PAddr{ci_idx} * SWAP_CLUSTER_INFO_BYTES;
            const PAddr table = in_.read64(ci + CI_OFF_TABLE);
            if (!table)
                continue; // a free cluster: every slot NULL (its PTEs are reported below)
            const PAddr extend = in_.read64(ci + CI_OFF_EXTEND_TABLE);
            for (unsigned off = 0; off < per; ++off) {
                const pgoff_t offset = pgoff_t{ci_idx} * per + off;
                const swp_entry_t entry = swp_entry(si.type, offset);
                const std::uint64_t tb = in_.read64(table + 8 * off);
                const auto it = swap_ptes_.find(entry.val);
                const long ptes = it == swap_ptes_.end() ? 0 : it->second.ptes;
                left.erase(entry.val);
                const std::string slot = "swap slot " + std::to_string(si.type) + ":" + hex(offset) + " (table " + hex(tb) + ")";
                if (swp_tb_is_null(tb) || swp_tb_is_bad(tb)) {
                    if (ptes)
                        error(slot + (swp_tb_is_null(tb) ? " is free" : " is bad") + " but " + std::to_string(ptes) +
                              " swap PTE(s) name it, first " + it->second.first);
                    continue;
                }
                if (!swp_tb_is_countable(tb)) {
                    error(slot + ": not a swap table entry");
                    continue;
                }
                ++in_use;
                long count = __swp_tb_get_count(tb);
                if (count == SWP_TB_COUNT_MAX) {
                    if (!extend) {
                        error(slot + ": count " + std::to_string(count) + " continued in an extend table the cluster lacks");
                        continue;
                    }
                    count = static_cast<long>(in_.read(extend + 4 * off, 4));
                }
                if (count != ptes)
                    error(slot + ": swap count " + std::to_string(count) + ", named by " + std::to_string(ptes) + " swap PTE(s)" +
                          (ptes ? ", first " + it->second.first : std::string()));
                if (swp_tb_is_shadow(tb) && count == 0)
                    error(slot + ": swapped out with no swap count and not cached (leaked: it should have been freed)");
                if (swp_tb_is_folio(tb))
                    check_swap_cache_slot(slot, swp_tb_to_pfn(tb), entry);
            }
        }
        for (const auto& [val, seen] : left) {
            const swp_entry_t entry{val};
            if (swp_type(entry) != si.type)
                continue; // not a slot of the device (a non-swap entry's type)
            error("swap PTE " + seen.first + " names slot " + hex(swp_offset(entry)) +
                  (swp_offset(entry) < si.max ? " of a free cluster" : ", past the device's " + std::to_string(si.max) + " slots"));
        }
        // swap_usage_in_pages(): the counter without SWAP_USAGE_OFFLIST_BIT (mm/swapfile.c)
        const long inuse = static_cast<long>(in_.read64(si.inuse_pages()) & ~(std::uint64_t{1} << (32 - 2)));
        if (inuse != in_use)
            error("swap device: si->inuse_pages " + std::to_string(inuse) + ", " + std::to_string(in_use) + " slots in use in its tables");
        // A mapped folio in the swap cache: its slots name it
        for (const auto& [head, seen] : folios_) {
            (void)seen;
            const std::uint64_t flags = page_word(k_, head, PAGE_OFF_FLAGS);
            if (!(flags & (std::uint64_t{1} << PG_swapcache)) || !(flags & (std::uint64_t{1} << PG_swapbacked)))
                continue;
            const swp_entry_t first{page_word(k_, head, PAGE_OFF_PRIVATE)};
            for (unsigned i = 0; i < folio_nr(k_, head); ++i) {
                const pgoff_t offset = swp_offset(first) + i;
                const PAddr ci = si.cluster_info + PAddr{offset / per} * SWAP_CLUSTER_INFO_BYTES;
                const PAddr table = offset < si.max && swp_type(first) == si.type ? in_.read64(ci + CI_OFF_TABLE) : 0;
                const std::uint64_t tb = table ? in_.read64(table + 8 * (offset % per)) : 0;
                if (!swp_tb_is_folio(tb) || swp_tb_to_pfn(tb) != head) {
                    error("folio " + hex(head) + " in the swap cache at " + hex(first.val) + ": slot " + hex(offset) +
                          " holds " + hex(tb) + ", not the folio");
                    break;
                }
            }
        }
    }

    // A cached slot: the folio at `pfn` is a swap-cache folio whose folio->swap range holds the slot
    void check_swap_cache_slot(const std::string& slot, pfn_t pfn, swp_entry_t entry)
    {
        const std::uint64_t flags = page_word(k_, pfn, PAGE_OFF_FLAGS);
        if (folio_head_untimed(k_, pfn) != pfn || !(flags & (std::uint64_t{1} << PG_swapcache)) ||
            !(flags & (std::uint64_t{1} << PG_swapbacked))) {
            error(slot + ": caches pfn " + hex(pfn) + ", not a folio in the swap cache\n" + dump_folio(k_, pfn));
            return;
        }
        const swp_entry_t first{page_word(k_, pfn, PAGE_OFF_PRIVATE)};
        if (swp_type(first) != swp_type(entry) || swp_offset(entry) < swp_offset(first) ||
            swp_offset(entry) >= swp_offset(first) + folio_nr(k_, pfn))
            error(slot + ": caches folio " + hex(pfn) + " whose folio->swap is " + hex(first.val));
    }

    void check_folio(pfn_t head, const FolioSeen& s)
    {
        const std::int32_t ref = word32(k_, head, PAGE_OFF_REFCOUNT);
        auto where = [&](pfn_t p) { return "folio " + hex(head) + " page " + hex(p) + ": "; };
        const long total = s.pte_maps + s.pmd_maps;
        if (!is_large(k_, head)) {
            const long mc = word32(k_, head, PAGE_OFF_MAPCOUNT) + 1;
            if (mc != total)
                error(where(head) + "mapcount " + std::to_string(mc) + ", mapped by " + std::to_string(total) + " PTEs\n" +
                      dump_folio(k_, head));
            if (ref < mc)
                error(where(head) + "refcount " + std::to_string(ref) + " below mapcount " + std::to_string(mc));
        } else {
            const long lmc = word32(k_, head, FOLIO_OFF_LARGE_MAPCOUNT) + 1;
            const long emc = word32(k_, head, FOLIO_OFF_ENTIRE_MAPCOUNT) + 1;
            const long pins = word32(k_, head, FOLIO_OFF_PINCOUNT);
            if (lmc != total)
                error(where(head) + "large mapcount " + std::to_string(lmc) + ", mapped by " + std::to_string(s.pte_maps) +
                      " PTEs and " + std::to_string(s.pmd_maps) + " PMDs\n" + dump_folio(k_, head));
            if (emc != s.pmd_maps)
                error(where(head) + "entire mapcount " + std::to_string(emc) + ", mapped by " + std::to_string(s.pmd_maps) + " PMDs");
            if (ref < lmc + pins)
                error(where(head) + "refcount " + std::to_string(ref) + " below mapcount " + std::to_string(lmc) + " + pins " +
                      std::to_string(pins));
            // CONFIG_MM_ID: the per-mm mapcounts of the (at most two) mms the folio tracks
            const std::uint64_t ids = page_word(k_, head, FOLIO_OFF_MM_IDS);
            for (int idx = 0; idx < 2; ++idx) {
                const unsigned id = static_cast<unsigned>((ids >> (32 * idx)) & MM_ID_MASK);
                if (!id)
                    continue;
                const long have = word32(k_, head, FOLIO_OFF_MM_ID_MAPCOUNT + 4 * idx) + 1;
                const auto it = s.mm_maps.find(id);
                const long want = it == s.mm_maps.end() ? 0 : it->second;
                if (have != want)
                    error(where(head) + "mm_id_mapcount[" + std::to_string(idx) + "] of mm " + std::to_string(id) + " is " +
                          std::to_string(have) + ", mapped " + std::to_string(want) + " times by it");
            }
        }
        for (const auto& [p, n] : s.page_maps) {
            (void)n;
            if (!(page_word(k_, p, PAGE_OFF_FLAGS) & (std::uint64_t{1} << PG_anon_exclusive)))
                continue;
            const auto it = page_mms_.find(p);
            if (it != page_mms_.end() && it->second.size() > 1)
                error(where(p) + "PG_anon_exclusive but mapped by " + std::to_string(it->second.size()) + " mms");
        }
    }

    Kernel& k_;
    Arch& a_;
    const hw::PageTableFormat& f_;
    const hw::PhysInspector in_;
    std::string when_;
    std::map<pfn_t, FolioSeen> folios_;
    std::unordered_map<pfn_t, std::set<unsigned>> page_mms_;
    std::set<std::pair<unsigned, Addr>> cont_done_;
    struct SwapSeen {
        long ptes = 0;     // swap PTEs naming the slot
        std::string first; // where the first of them is
    };
    std::map<std::uint64_t, SwapSeen> swap_ptes_; // by swp_entry_t.val
    std::vector<std::string> errors_;
};

} // namespace

void check_mm_state(Kernel& k, const std::string& when)
{
    if (!k.platform().checked())
        return;
    StateCheck(k, when).run();
    check_lru_lists(k, when); // mm/swap.cc
}


void check_unreachable(Ctx& c, PAddr pa, std::uint64_t bytes, const char* what, bool writable_only)
{
    if (!c.k.platform().checked())
        return;
    std::vector<hw::OracleFinding> found = c.k.platform().oracle().frame_mappings(pa, pa + bytes - 1, writable_only);
    found.erase(std::remove_if(found.begin(), found.end(),
                               [&](const hw::OracleFinding& f) { return c.k.asid_retired(f.asid); }),
                found.end());
    if (found.empty())
        return;
    std::string msg = std::string(what) + " at " + hex(pa) + (writable_only ? " while still writable through a TLB:" : " while still reachable:");
    for (std::size_t i = 0; i < found.size() && i < 8; ++i)
        msg += "\n  " + found[i].message();
    throw hw::TlbCheckError(msg);
}

} // namespace mmusim::mm
