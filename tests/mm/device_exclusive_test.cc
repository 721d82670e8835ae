// SPDX-License-Identifier: GPL-2.0-only
// Device-exclusive entries (make_device_exclusive(), mm/rmap.cc; HMM_DMIRROR_EXCLUSIVE of lib/test_hmm.c) on
// arm64 (contpte), x86 and RISC-V, in checked mode: the page's PTE becomes a non-present PFN swap entry while
// the folio stays mapped (mapcount, refcount, MM_ANONPAGES); a CPU access faults and do_swap_page() restores
// the PTE with the data in place; zap, fork and mprotect handle the entry as upstream does; reclaim unmaps it
// (try_to_unmap_one()'s non-present branch). The regression test of "mm/rmap: initialize nr_pages to 1 at
// loop start in try_to_unmap_one" (CVE): a 64K MAP_DROPPABLE folio, MADV_FREE, its last page
// device-exclusive, then reclaim: a batch of 15 PTEs, then the device-exclusive entry, which must be
// unmapped as one page (a batch size carried over unmaps, uncharges and puts 15).
#include "swap_test_util.hh"

#include "mm/debug_vm.hh"
#include "mm/fork.hh"
#include "mm/leafops.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/mprotect.hh"
#include "mm/page_table_check.hh"
#include "mm/swap.hh"

#include <gtest/gtest.h>

#include <map>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order
constexpr unsigned kOrder64K = 4;  // 64K folios of 4K pages
constexpr unsigned kNr = 16;

std::uint64_t pattern(Addr va) { return 0x3c3c000000000000ull ^ va; } // never zero

// `pages` pages at kBase in folios of 2^order pages, each page written with its pattern.
void map_and_write(Ctx& c, mm_struct& mm, unsigned pages, unsigned order = kOrder64K)
{
    do_mmap(c, mm, kBase, pages * c.k.page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            static_cast<int>(order));
    for (unsigned i = 0; i < pages; ++i) {
        const Addr va = kBase + i * c.k.page_size();
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), pattern(va), 8);
    }
}

// lib/test_hmm.c dmirror_exclusive() (the HMM_DMIRROR_EXCLUSIVE ioctl) without the device side: under the
// mmap_lock, each page of [start, end) made device-exclusive, then its folio unlocked and put (the driver has
// mapped it). 0, or the first error.
int dmirror_exclusive(Ctx& c, mm_struct& mm, Addr start, Addr end)
{
    const MmapReadGuard lock(c, mm);
    for (Addr addr = start; addr < end; addr += c.k.page_size()) {
        pfn_t page = 0;
        Folio folio{};
        if (const int ret = make_device_exclusive(c, mm, addr, page, folio))
            return ret;
        folio_unlock(c, folio);
        folio_put(c, folio);
    }
    return 0;
}

// The pfn of the device-exclusive entry at va, or nothing.
std::optional<pfn_t> devx_pfn(Ctx& c, mm_struct& mm, Addr va)
{
    pfn_t pfn = 0;
    if (pte_device_exclusive_pfn(c.k.arch(), pte_at(c, mm, va), pfn))
        return pfn;
    return std::nullopt;
}

std::map<unsigned, std::uint64_t> calls(Ctx& c, const MmStats& before, const char* helper)
{
    const MmStats d = c.k.stats().since(before);
    const auto it = d.batches.find(helper);
    return it == d.batches.end() ? std::map<unsigned, std::uint64_t>{} : it->second;
}

class DeviceExclusive : public PlatformTest {};

// make_device_exclusive(): the PTE of the page is the entry with its pfn, the folio still mapped by it
// (mapcount, refcount, MM_ANONPAGES, page_table_check's count all unchanged); the CPU's next access faults and
// the fault (do_swap_page() -> remove_device_exclusive_entry()) restores a writable PTE to the same page, data
// in place.
TEST_P(DeviceExclusive, CpuFaultRestoresTheEntry)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kNr);
        const Folio f = folio_at(c, mm, kBase);
        const Addr va = kBase + 3 * ps;
        const std::size_t tracked = c.k.page_table_check()->tracked();
        ASSERT_EQ(dmirror_exclusive(c, mm, va, va + ps), 0);
        ASSERT_EQ(devx_pfn(c, mm, va), std::optional<pfn_t>(folio_page(f, 3)));
        EXPECT_FALSE(a.pte_present(pte_at(c, mm, va)));
        EXPECT_EQ(folio_mapcount(c, f), static_cast<int>(kNr)) << "the entry is a mapping";
        EXPECT_EQ(folio_ref_count(c, f), static_cast<int>(kNr)) << "make_device_exclusive()'s reference went back";
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), static_cast<long>(kNr));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        EXPECT_TRUE(PageAnonExclusive(c, folio_page(f, 3)));
        EXPECT_EQ(c.k.page_table_check()->tracked(), tracked) << "page_table_check counts the entry";
        check_mm_state(c.k, "after make_device_exclusive()");

        // The CPU's access faults, and the fault restores the PTE.
        use_mm(c, mm);
        EXPECT_NE(c.cpu.translate(va, AccessKind::Read).fault, hw::Fault::None) << "invalid to the hardware";
        const MmStats before = c.k.stats();
        EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(va));
        EXPECT_EQ(c.k.stats().since(before).phases.count("remove_device_exclusive_entry"), 1u);
        const pte_t pte = pte_at(c, mm, va);
        ASSERT_TRUE(a.pte_present(pte));
        EXPECT_EQ(a.pte_pfn(pte), folio_page(f, 3));
        EXPECT_TRUE(a.pte_write(pte)) << "an exclusive page in a writable VMA";
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), 7, 8);
        EXPECT_EQ(folio_at(c, mm, va).pfn, f.pfn) << "no COW: the page is the process's alone";
        EXPECT_EQ(folio_mapcount(c, f), static_cast<int>(kNr));
        EXPECT_EQ(folio_ref_count(c, f), static_cast<int>(kNr));
        check_mm_state(c.k, "after the restore");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// Zap (munmap, MADV_DONTNEED) of a device-exclusive entry drops its rmap and reference like a present PTE
// (zap_nonpresent_ptes()): the folio is freed, the counters are zero, page_table_check saw the entry go.
TEST_P(DeviceExclusive, ZapDropsTheMappingAndFreesTheFolio)
{
    for (const unsigned order : {0u, kOrder64K}) {
        TestKernel t = make({"cores=2", "simulation.check=true"});
        t.run([&](Ctx& c) {
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_write(c, mm, kNr, order);
            // every page of the first half device-exclusive, the second half's last page too
            ASSERT_EQ(dmirror_exclusive(c, mm, kBase, kBase + 8 * ps), 0);
            ASSERT_EQ(dmirror_exclusive(c, mm, kBase + 15 * ps, kBase + 16 * ps), 0);
            for (unsigned i = 0; i < kNr; ++i)
                EXPECT_EQ(devx_pfn(c, mm, kBase + i * ps).has_value(), i < 8 || i == 15) << i;
            check_mm_state(c.k, "after make_device_exclusive()");
            ASSERT_EQ(do_madvise(c, mm, kBase, 4 * ps, MADV_DONTNEED), 0);
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), static_cast<long>(kNr - 4)) << "order " << order;
            check_mm_state(c.k, "after MADV_DONTNEED");
            ASSERT_EQ(__vm_munmap(c, mm, kBase, kNr * ps), 0);
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0) << "order " << order;
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0) << "order " << order;
            check_mm_state(c.k, "after munmap");
            EXPECT_EQ(c.k.page_table_check()->tracked(), 0u) << "order " << order;
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << "order " << order;
    }
}

// fork() makes a device-exclusive entry present again in the parent (try_restore_exclusive_pte()) and copies
// it as a present PTE: both processes map the page read-only, shared; a write in either copies or reuses.
TEST_P(DeviceExclusive, ForkRestoresTheEntryThenSharesThePage)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kNr);
        const Folio f = folio_at(c, mm, kBase);
        const Addr va = kBase + 5 * ps;
        ASSERT_EQ(dmirror_exclusive(c, mm, va, va + ps), 0);
        mm_struct& child = copy_mm(c, mm);
        for (mm_struct* m : {&mm, &child}) {
            const pte_t pte = pte_at(c, *m, va);
            ASSERT_TRUE(a.pte_present(pte)) << "restored before the copy";
            EXPECT_EQ(a.pte_pfn(pte), folio_page(f, 5));
            EXPECT_FALSE(a.pte_write(pte)) << "COW: read-only in both";
        }
        EXPECT_FALSE(PageAnonExclusive(c, folio_page(f, 5))) << "shared now";
        EXPECT_EQ(folio_mapcount(c, f), static_cast<int>(2 * kNr));
        EXPECT_EQ(get_mm_counter(c, child, MM_ANONPAGES), static_cast<long>(kNr));
        check_mm_state(c.k, "after fork");
        EXPECT_EQ(c.cpu.load(user_access(c, child, va, AccessKind::Read), 8), pattern(va));
        c.cpu.store(user_access(c, child, va, AccessKind::Write), 1, 8);
        EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(va)) << "the child copied";
        check_mm_state(c.k, "after the child's write");
        exit_mmap(c, child);
        c.k.mm_free(c, child);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// mprotect() leaves a device-exclusive entry as it is (change_softleaf_pte(): nothing to change); the fault
// that restores it then honours the VMA's new protection.
TEST_P(DeviceExclusive, MprotectKeepsTheEntryAndTheRestoreHonoursIt)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kNr);
        const Addr va = kBase + 9 * ps;
        ASSERT_EQ(dmirror_exclusive(c, mm, va, va + ps), 0);
        const pte_t entry = pte_at(c, mm, va);
        ASSERT_EQ(do_mprotect_pkey(c, mm, kBase, kNr * ps, PROT_READ), 0);
        EXPECT_EQ(pte_at(c, mm, va), entry);
        EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(va));
        const pte_t pte = pte_at(c, mm, va);
        ASSERT_TRUE(a.pte_present(pte));
        EXPECT_FALSE(a.pte_write(pte)) << "PROT_READ now";
        check_mm_state(c.k, "after mprotect and the restore");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

// What shrink_folio_list() does around try_to_unmap() for a folio it isolated (the isolation reference, the
// folio lock, swap slots and the swap cache for a swap-backed folio, TTU_BATCH_FLUSH | TTU_SYNC for a large
// one, the deferred flush). Returns whether the folio is unmapped; it stays locked with the reference.
bool reclaim_unmap(Ctx& c, Folio f)
{
    // shrink_folio_list() works on folios isolated from the LRU (the isolation holds a reference)
    if (!folio_isolate_lru(c, f))
        throw std::runtime_error("the folio is not on the LRU");
    folio_lock(c, f);
    if (folio_test_flag(c, f, PG_swapbacked) && !folio_test_swapcache(c, f) && folio_alloc_swap(c, f))
        throw std::runtime_error("no swap slots");
    try_to_unmap(c, f, TTU_BATCH_FLUSH | TTU_SYNC);
    try_to_unmap_flush(c);
    return !folio_mapped(c, f);
}

// The CVE reproducer: a 64K MAP_DROPPABLE folio, MADV_FREE, its last page made device-exclusive (GUP's write
// marks the folio dirty, which a droppable VMA ignores), then reclaim. try_to_unmap_one() clears the 15
// present PTEs as one batch, then meets the device-exclusive entry, which it must unmap as one page: the
// folio ends unmapped once (mapcount 0, only the isolation reference left), MM_ANONPAGES 0, every PTE none.
// With nr_pages carried over from the batch it would unmap, uncharge and put 15 pages for that entry (checked
// mode's VM_BUG_ON in folio_remove_rmap_ptes() stops it: the range leaves the folio). Mainline and the
// batched anon unmap series alike (a lazyfree folio is batched in both).
TEST_P(DeviceExclusive, DroppableLazyfreeFolioWithLastPageExclusiveIsUnmappedOnce)
{
    for (const bool series : {false, true}) {
        const std::string what = std::string(GetParam()) + (series ? " series" : " mainline");
        TestKernel t = make({"cores=2", "simulation.check=true"},
                            {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
        t.run([&](Ctx& c) {
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_write(c, mm, kNr);
            mm.vma_at(kBase)->vm_flags |= VM_DROPPABLE; // MAP_DROPPABLE (do_mmap() does not take the flag)
            const Folio f = folio_at(c, mm, kBase);
            ASSERT_EQ(do_madvise(c, mm, kBase, kNr * ps, MADV_FREE), 0);
            ASSERT_FALSE(folio_test_flag(c, f, PG_swapbacked)) << what << ": lazyfree";
            ASSERT_FALSE(folio_test_flag(c, f, PG_dirty)) << what;
            ASSERT_EQ(dmirror_exclusive(c, mm, kBase + 15 * ps, kBase + 16 * ps), 0);
            ASSERT_TRUE(devx_pfn(c, mm, kBase + 15 * ps)) << what;
            EXPECT_TRUE(folio_test_flag(c, f, PG_dirty)) << what << ": GUP's FOLL_WRITE (FOLL_TOUCH) dirtied it";
            EXPECT_FALSE(folio_test_flag(c, f, PG_swapbacked)) << what << ": still lazyfree";
            check_mm_state(c.k, "before reclaim");

            const MmStats before = c.k.stats();
            EXPECT_TRUE(reclaim_unmap(c, f)) << what;
            using Hist = std::map<unsigned, std::uint64_t>;
            EXPECT_EQ(calls(c, before, "get_and_clear_full_ptes"), (Hist{{15, 1}})) << what << ": one batch of 15";
            EXPECT_TRUE(calls(c, before, "ptep_get_and_clear").empty()) << what;
            EXPECT_EQ(folio_mapcount(c, f), 0) << what;
            EXPECT_EQ(folio_ref_count(c, f), 1) << what << ": the isolation reference only";
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0) << what;
            for (unsigned i = 0; i < kNr; ++i)
                EXPECT_EQ(pte_at(c, mm, kBase + i * ps).val, 0u) << what << ": discarded " << i;
            check_mm_state(c.k, "after reclaim");
            const std::uint64_t freed = c.k.stats().folios_freed;
            folio_unlock(c, f);
            folio_put(c, f); // the isolation reference: the folio goes (free_it)
            EXPECT_EQ(c.k.stats().folios_freed, freed + 1) << what;
            EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase + 15 * ps, AccessKind::Read), 8), 0u)
                << what << ": a discarded page reads back zero";
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << what;
    }
}

// Without MAP_DROPPABLE the same folio is kept: GUP dirtied it, so the first batch is restored and the folio
// goes back to swap-backed; the device-exclusive entry is untouched.
TEST_P(DeviceExclusive, DirtiedLazyfreeFolioIsKeptWithTheEntry)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kNr);
        const Folio f = folio_at(c, mm, kBase);
        ASSERT_EQ(do_madvise(c, mm, kBase, kNr * ps, MADV_FREE), 0);
        const pte_t first = pte_at(c, mm, kBase);
        ASSERT_EQ(dmirror_exclusive(c, mm, kBase + 15 * ps, kBase + 16 * ps), 0);
        const pte_t entry = pte_at(c, mm, kBase + 15 * ps);
        EXPECT_FALSE(reclaim_unmap(c, f));
        EXPECT_TRUE(folio_test_flag(c, f, PG_swapbacked)) << "redirtied: swap-backed again";
        EXPECT_EQ(folio_mapcount(c, f), static_cast<int>(kNr));
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), static_cast<long>(kNr));
        EXPECT_EQ(pte_at(c, mm, kBase + 15 * ps), entry);
        EXPECT_EQ(c.k.arch().pte_pfn(pte_at(c, mm, kBase)), c.k.arch().pte_pfn(first)) << "restored";
        check_mm_state(c.k, "after the failed reclaim");
        folio_unlock(c, f);
        folio_putback_lru(c, f); // back on the LRU, now the anon list: it is swap-backed again
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// A swap-backed folio with a device-exclusive page goes to swap like any other: the entry becomes a swap PTE
// (exclusive: the page was), MM_ANONPAGES moves to MM_SWAPENTS, and the page comes back from swap with its
// data.
TEST_P(DeviceExclusive, SwapBackedFolioWithAnEntryIsSwappedOut)
{
    for (const bool series : {false, true}) {
        const std::string what = std::string(GetParam()) + (series ? " series" : " mainline");
        TestKernel t = make({"cores=2", "simulation.check=true"},
                            {series ? "kernel.anon_unmap_batch=true" : "kernel.anon_unmap_batch=false"});
        t.run([&](Ctx& c) {
            const mm::Arch& a = c.k.arch();
            const std::uint64_t ps = c.k.page_size();
            mm_struct& mm = c.k.mm_alloc(c);
            map_and_write(c, mm, kNr);
            const Folio f = folio_at(c, mm, kBase);
            const Addr va = kBase + 6 * ps;
            ASSERT_EQ(dmirror_exclusive(c, mm, va, va + ps), 0);
            ASSERT_TRUE(reclaim_unmap(c, f)) << what;
            const pte_t pte = pte_at(c, mm, va);
            ASSERT_TRUE(softleaf_is_swap(softleaf_from_pte(a, pte))) << what;
            EXPECT_TRUE(a.pte_swp_exclusive(pte)) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), static_cast<long>(kNr)) << what;
            check_mm_state(c.k, "after swap-out");
            // pageout() and __remove_mapping(), as the reclaim test helpers do
            swap_writeout(c, f);
            folio_lock(c, f);
            const PAddr ci = swap_cluster_get_and_lock(c, f);
            __swap_cache_del_folio(c, ci, f, folio_swap(c, f));
            swap_cluster_unlock(c, ci);
            folio_ref_sub(c, f, static_cast<int>(kNr));
            folio_unlock(c, f);
            folio_put(c, f);
            EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(va)) << what;
            check_mm_state(c.k, "after swap-in");
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        });
        EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << what;
    }
}

// make_device_exclusive() refuses a page that is not anonymous (shmem) and one the VMA forbids writing.
TEST_P(DeviceExclusive, RefusesSharedAndReadOnlyMappings)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, kNr * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, 0);
        c.cpu.store(user_access(c, mm, kBase, AccessKind::Write), 1, 8);
        EXPECT_EQ(dmirror_exclusive(c, mm, kBase, kBase + ps), -EOPNOTSUPP);
        EXPECT_TRUE(c.k.arch().pte_present(pte_at(c, mm, kBase)));
        const Addr ro = kBase + 4 * kNr * ps;
        do_mmap(c, mm, ro, kNr * ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        EXPECT_EQ(dmirror_exclusive(c, mm, ro, ro + ps), -EFAULT);
        check_mm_state(c.k, "after the refusals");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

INSTANTIATE_TEST_SUITE_P(Platforms, DeviceExclusive, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"),
                         platform_name);

} // namespace
