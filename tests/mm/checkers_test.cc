// SPDX-License-Identifier: GPL-2.0-only
// Checked mode's invariant checkers (mm/page_table_check.hh, mm/debug_vm.hh) fire on broken state and stay
// quiet on the kernel's own: a second writable mapping of an anon page, a _mapcount that disagrees with the
// page tables, a device-exclusive entry left behind by a broken zap, a broken LRU list (a wrong link, a list
// size that disagrees, a folio whose flags name another list), a folio_pte_batch() asked to look past its PTE
// table, a swap count that disagrees with the swap PTEs.
#include "kernel_test_util.hh"
#include "swap_test_util.hh"

#include "mm/debug_vm.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/internal.hh"
#include "mm/mmap_lock.hh"
#include "mm/pgtable.hh"
#include "mm/rmap.hh"
#include "mm/swap.hh"
#include "mm/swap_table.hh"
#include "mm/swapfile.hh"

namespace mmusim::test {
namespace {

using namespace mm;

constexpr Addr kBase = 0x10000000;

class Checkers : public PlatformTest {};

// Two written anon pages of one mm; returns the mm.
mm_struct& two_pages(Ctx& c)
{
    mm_struct& mm = c.k.mm_alloc(c);
    do_mmap(c, mm, kBase, 2 * c.k.page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
    for (unsigned i = 0; i < 2; ++i)
        user_access(c, mm, kBase + i * c.k.page_size(), AccessKind::Write);
    return mm;
}

TEST_P(Checkers, AnonPageMappedWritableTwiceIsCaught)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    bool caught = false;
    t.run([&](Ctx& c) {
        mm_struct& mm = two_pages(c);
        check_mm_state(c.k, "after the faults"); // the kernel's own state passes
        const hw::WalkStep s0 = hw::walk_down(c.k.format(), mm.pgd, kBase, [&](PAddr pa) { return t.p->inspect().read64(pa); });
        const hw::WalkStep s1 = hw::walk_down(c.k.format(), mm.pgd, kBase + c.k.page_size(),
                                              [&](PAddr pa) { return t.p->inspect().read64(pa); });
        try {
            // the second page's PTE replaced by a writable mapping of the first page
            set_pte_at(c, mm, kBase + c.k.page_size(), s1.desc_pa, pte_t{s0.raw});
        } catch (const CheckError& e) {
            caught = std::string(e.what()).find("mapped writable while mapped elsewhere") != std::string::npos;
        }
    });
    EXPECT_TRUE(caught);
}

TEST_P(Checkers, MapcountDisagreeingWithThePageTablesIsCaught)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::string what;
    t.run([&](Ctx& c) {
        mm_struct& mm = two_pages(c);
        const pfn_t pfn = c.k.arch().pte_pfn(pte_t{leaf_raw(t, mm, kBase)});
        const Folio f{folio_head_untimed(c.k, pfn)};
        // one mapping more than the tables hold
        const PAddr mc = c.k.vmemmap() + f.pfn * kStructPageBytes +
                         (page_word(c.k, f.pfn, PAGE_OFF_FLAGS) & (std::uint64_t{1} << PG_head) ? FOLIO_OFF_LARGE_MAPCOUNT : PAGE_OFF_MAPCOUNT);
        c.cpu.store(mc, static_cast<std::uint32_t>(c.cpu.load(mc, 4) + 1), 4);
        try {
            check_mm_state(c.k, "the test");
        } catch (const CheckError& e) {
            what = e.what();
        }
    });
    EXPECT_NE(what.find("mapcount"), std::string::npos) << what;
}

// Both checkers count a device-exclusive entry as a mapping of its page (make_device_exclusive() leaves the
// state consistent); a broken zap that drops the entry's rmap and reference but leaves the entry behind is
// caught by check_mm_state(), and page_table_check refuses to map the freed frame again while the entry
// remains.
TEST_P(Checkers, DeviceExclusiveEntryLeftBehindIsCaught)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::string state, ptc;
    t.run([&](Ctx& c) {
        mm_struct& mm = two_pages(c);
        const PtePtr pmd = pmd_offset_lookup(c, mm, kBase);
        const PtePtr ptep = pte_offset_map(c, pmd, kBase);
        pfn_t page = 0;
        Folio f;
        {
            const MmapReadGuard lock(c, mm);
            ASSERT_EQ(make_device_exclusive(c, mm, kBase, page, f), 0);
            folio_unlock(c, f);
            folio_put(c, f);
        }
        ASSERT_FALSE(c.k.arch().pte_present(ptep_get(c, ptep)));
        check_mm_state(c.k, "after make_device_exclusive()"); // the kernel's own state passes
        // zap_nonpresent_ptes() without its clear_not_present_full_ptes()
        folio_remove_rmap_pte(c, f, page, *mm.vma_at(kBase));
        dec_mm_counter(c, mm, MM_ANONPAGES);
        folio_put(c, f); // the last reference: the frame is freed under the entry
        try {
            check_mm_state(c.k, "the test");
        } catch (const CheckError& e) {
            state = e.what();
        }
        try {
            // the freed frame mapped again (in place of the second page) while the entry still names it
            set_pte_at(c, mm, kBase + c.k.page_size(), pte_offset(ptep, 1), c.k.arch().pfn_pte(page, mm.vma_at(kBase)->vm_page_prot));
        } catch (const CheckError& e) {
            ptc = e.what();
        }
    });
    EXPECT_NE(state.find("mapcount 0, mapped by 1 PTEs"), std::string::npos) << state;
    EXPECT_NE(ptc.find("device-exclusive entry of its previous use remains"), std::string::npos) << ptc;
}

// What check_mm_state() says about the LRU lists after `corrupt` changed them (empty: nothing).
std::string lru_check_after(TestKernel& t, const std::function<void(Ctx&, mm_struct&)>& corrupt)
{
    std::string what;
    t.run([&](Ctx& c) {
        mm_struct& mm = two_pages(c);
        check_mm_state(c.k, "after the faults"); // the kernel's own lists pass
        corrupt(c, mm);
        try {
            check_mm_state(c.k, "the test");
        } catch (const CheckError& e) {
            what = e.what();
        }
    });
    return what;
}

TEST_P(Checkers, BrokenLruListIsCaught)
{
    // a folio's lru.prev no longer names the entry before it
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::string what = lru_check_after(t, [&](Ctx& c, mm_struct& mm) {
        const pfn_t pfn = c.k.arch().pte_pfn(pte_t{leaf_raw(t, mm, kBase)});
        const PAddr lru = c.k.vmemmap() + folio_head_untimed(c.k, pfn) * kStructPageBytes + PAGE_OFF_LRU;
        c.cpu.store(lru + 8, c.cpu.load(lru + 8, 8) + 64, 8);
    });
    EXPECT_NE(what.find("LRU lists broken"), std::string::npos) << what;
    EXPECT_NE(what.find("has prev"), std::string::npos) << what;
    // the inactive anon list's size disagrees with the folios on it
    TestKernel t2 = make({"cores=2", "simulation.check=true"});
    what = lru_check_after(t2, [](Ctx& c, mm_struct&) { update_lru_size(c, LRU_INACTIVE_ANON, 1); });
    EXPECT_NE(what.find("its size says"), std::string::npos) << what;
    // a folio on the inactive anon list whose flags say active
    TestKernel t3 = make({"cores=2", "simulation.check=true"});
    what = lru_check_after(t3, [&](Ctx& c, mm_struct& mm) {
        const pfn_t pfn = c.k.arch().pte_pfn(pte_t{leaf_raw(t3, mm, kBase)});
        folio_set_flag(c, Folio{folio_head_untimed(c.k, pfn)}, PG_active);
    });
    EXPECT_NE(what.find("whose flags name active_anon"), std::string::npos) << what;
}

TEST_P(Checkers, PteBatchBeyondItsTableIsCaught)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::string what;
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        // a 64K folio whose last 4 pages are the first entries of the next PTE table
        const std::uint64_t ps = c.k.page_size();
        const Addr pmd = Addr{1} << c.k.format().level(c.k.format().levels() - 2).shift;
        const Addr start = kBase + pmd - 12 * ps;
        do_mmap(c, mm, kBase, 2 * pmd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        user_access(c, mm, start, AccessKind::Write);
        const PtePtr ptep = pte_offset_map(c, pmd_offset_lookup(c, mm, start), start);
        const pte_t pte = ptep_get(c, ptep);
        const Folio f = page_folio(c, c.k.arch().pte_pfn(pte));
        EXPECT_EQ(folio_pte_batch(c, f, ptep, pte, 12), 1u); // within the table: fine (a small folio)
        try {
            folio_pte_batch(c, f, ptep, pte, 13); // one entry past the table's end
        } catch (const CheckError& e) {
            what = e.what();
        }
    });
    EXPECT_NE(what.find("max_nr beyond the PTE table"), std::string::npos) << what;
}

// The swap table entry of the slot a swap PTE names (mm/swap_table.hh), as an address in simulated memory
PAddr swap_table_entry(Ctx& c, swp_entry_t entry)
{
    const swap_info_struct& si = c.k.swap().si();
    const unsigned per = c.k.swap().swapfile_cluster();
    const PAddr ci = si.cluster_info + PAddr{swp_offset(entry) / per} * SWAP_CLUSTER_INFO_BYTES;
    return c.cpu.load(ci + CI_OFF_TABLE, 8) + 8 * (swp_offset(entry) % per);
}

// Swap counts against the swap PTEs: two pages paged out pass; a count one too high, one too low (a slot
// swapped out with no count), and a slot freed under its swap PTE are each caught.
TEST_P(Checkers, SwapCountDisagreeingWithTheSwapPtesIsCaught)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::vector<std::string> what;
    t.run([&](Ctx& c) {
        mm_struct& mm = two_pages(c);
        ASSERT_EQ(do_madvise(c, mm, kBase, 2 * c.k.page_size(), MADV_PAGEOUT), 0);
        const pte_t pte = pte_at(c, mm, kBase);
        ASSERT_TRUE(c.k.arch().is_swap_pte(pte)) << "paged out";
        check_mm_state(c.k, "after the pageout"); // the kernel's own state passes
        const PAddr slot = swap_table_entry(c, c.k.arch().pte_to_swp_entry(pte));
        const std::uint64_t tb = c.cpu.load(slot, 8);
        ASSERT_EQ(swp_tb_get_count(tb), 1);
        for (const std::uint64_t bad : {__swp_tb_mk_count(tb, 2), __swp_tb_mk_count(tb, 0), null_to_swp_tb()}) {
            c.cpu.store(slot, bad, 8);
            try {
                check_mm_state(c.k, "the test");
                what.push_back("");
            } catch (const CheckError& e) {
                what.push_back(e.what());
            }
            c.cpu.store(slot, tb, 8);
        }
        check_mm_state(c.k, "restored");
    });
    ASSERT_EQ(what.size(), 3u);
    EXPECT_NE(what[0].find("swap count 2, named by 1 swap PTE(s), first mm"), std::string::npos) << what[0];
    EXPECT_NE(what[1].find("swap count 0, named by 1 swap PTE(s)"), std::string::npos) << what[1];
    EXPECT_NE(what[1].find("swapped out with no swap count and not cached"), std::string::npos) << what[1];
    EXPECT_NE(what[2].find("is free but 1 swap PTE(s) name it"), std::string::npos) << what[2];
    EXPECT_NE(what[2].find("si->inuse_pages 2, 1 slots in use"), std::string::npos) << what[2];
}

TEST_P(Checkers, UncheckedKernelHasNoPageTableCheck)
{
    TestKernel t = make();
    EXPECT_EQ(t.k->page_table_check(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Platforms, Checkers, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);

} // namespace
} // namespace mmusim::test
