// SPDX-License-Identifier: GPL-2.0-only
// LRU reclaim (mm/vmscan.cc user_proactive_reclaim(): memory.reclaim of the root cgroup, from the tails of the
// LRU lists of mm/swap.cc) on arm64 (contpte), x86 and RISC-V, in checked mode (page_table_check, the mm state
// and LRU list checks at every step here, the TLB oracle where the kernel relies on a flush):
//  - folios go on the inactive list at fault, oldest at the tail, and reclaim takes the oldest first;
//  - a lazyfree folio is discarded from the file list without I/O;
//  - a 64K folio mapped across two VMAs (after fork and the child's exit its PTEs are read-only on both
//    sides, then mprotect() of its second half splits the VMA) and a 64K folio straddling a PMD boundary
//    (mremap() of its range to 32K below a 2M boundary) are unmapped by try_to_unmap() through the rmap walk
//    batch by batch, each batch ending at the VMA end or at the PMD end (two batches of 8, never one of 16),
//    and end as swap PTEs with the right swap counts, the folio freed, the data back on touch;
//  - when the second VMA is VM_LOCKED (mlock of that half: a large folio only partly in it is not mlocked,
//    so it stays on the evictable LRU), the first half is unmapped and the locked half keeps its PTEs: a
//    batch that ran on past the first VMA's end would unmap the locked pages too;
//  - every one of these ends in the same state with the batched anon unmap series and without it, with a
//    batch cap, and with no batching at all.
#include "mm_snapshot.hh"

#include "mm/debug_vm.hh"
#include "mm/fork.hh"
#include "mm/huge_memory.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"
#include "mm/mremap.hh"
#include "mm/swap.hh"
#include "mm/swap_table.hh"
#include "mm/vmscan.hh"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order and a PMD
constexpr unsigned kOrder64K = 4;  // 64K folios of 4K pages
constexpr std::uint64_t k64K = 64 * KiB;

std::uint64_t pattern(Addr va) { return 0x5a5a000000000000ull ^ va; } // never zero

// Maps n 64K folios at `at` (the region's own VMA) and writes each page's pattern.
void map_and_write(Ctx& c, mm_struct& mm, Addr at, unsigned n)
{
    do_mmap(c, mm, at, n * k64K, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, kOrder64K);
    for (Addr va = at; va < at + n * k64K; va += c.k.page_size())
        c.cpu.store(user_access(c, mm, va, AccessKind::Write), pattern(va), 8);
}

enum class Layout {
    AcrossVmas,        // one folio, its halves in two VMAs with identical PTE bits
    AcrossVmasLocked,  // the same, the second VMA VM_LOCKED
    AcrossPmd,         // one folio mapped across a PMD boundary
};

const char* name_of(Layout l)
{
    return l == Layout::AcrossVmas ? "across two VMAs" : l == Layout::AcrossVmasLocked ? "across two VMAs, one locked" : "across a PMD";
}

struct Outcome {
    std::string state;          // mm_snapshot.hh's snapshot and every swap PTE's swap count, after reclaim
    int ret = 0;                // user_proactive_reclaim()
    unsigned long reclaimed = 0;
    std::map<unsigned, std::uint64_t> unmap_batches; // get_and_clear_full_ptes() calls by nr during reclaim
    bool balanced = false;      // every folio allocated was freed at the end
};

// Builds `layout` in one mm on `platform` with `kernel_sets`, checks it, reclaims 64K through memory.reclaim,
// checks the result (end state, swap counts, data back on touch) and returns what the differential test
// compares.
Outcome run_layout(const char* platform, Layout layout, const std::vector<std::string>& kernel_sets)
{
    TestKernel t = make_kernel(platform, {"cores=2", "simulation.check=true"}, kernel_sets);
    Outcome out;
    const std::string what = std::string(platform) + ", " + name_of(layout);
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kBase, 1);
        Addr at = kBase; // where the folio is mapped in the end
        if (layout == Layout::AcrossVmas || layout == Layout::AcrossVmasLocked) {
            // fork() write-protects the folio's PTEs in both mms (the pages are no longer exclusive); the child
            // exits, the parent keeps them read-only. Then mprotect(PROT_READ) of the second half splits the
            // VMA: the two halves' PTEs stay identical, so a batch from the first half could run on.
            mm_struct& child = copy_mm(c, mm);
            exit_mmap(c, child);
            c.k.mm_free(c, child);
            ASSERT_EQ(do_mprotect_pkey(c, mm, kBase + k64K / 2, k64K / 2, PROT_READ), 0);
            ASSERT_EQ(mm.vmas.size(), 2u) << what;
            if (layout == Layout::AcrossVmasLocked)
                mm.vma_at(kBase + k64K / 2)->vm_flags |= VM_LOCKED; // mlock() of the half (not ported: the flag)
        } else {
            // mremap() to 32K below a 2M boundary: half the folio in each PTE table
            const Addr boundary = kBase + 16 * hpage_pmd_size(c);
            at = boundary - k64K / 2;
            ASSERT_EQ(do_mremap(c, mm, kBase, k64K, k64K, MREMAP_MAYMOVE | MREMAP_FIXED, at), static_cast<long>(at));
            ASSERT_NE(pmd_offset_lookup(c, mm, at), pmd_offset_lookup(c, mm, boundary)) << what;
        }
        const Folio f = folio_at(c, mm, at);
        ASSERT_EQ(folio_nr_pages(c, f), 16u) << what;
        for (unsigned i = 0; i < 16; ++i) {
            const pte_t pte = pte_at(c, mm, at + i * ps);
            ASSERT_TRUE(a.pte_present(pte)) << what << " page " << i;
            ASSERT_EQ(a.pte_pfn(pte), folio_pfn(f) + i) << what << " page " << i;
        }
        check_mm_state(c.k, what + ": before reclaim");
        // The folio is the only one on the LRU: on the inactive anon list since its fault
        ASSERT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON), 16u) << what;
        ASSERT_TRUE(folio_test_flag(c, f, PG_lru));

        const std::uint64_t freed_before = c.k.stats().folios_freed, steal_before = c.k.stats().pgsteal;
        const auto batches_before = c.k.stats().batches["get_and_clear_full_ptes"];
        out.ret = user_proactive_reclaim(c, k64K, std::nullopt, &out.reclaimed);
        for (const auto& [nr, calls] : c.k.stats().batches["get_and_clear_full_ptes"]) {
            const auto it = batches_before.find(nr);
            if (const std::uint64_t d = calls - (it == batches_before.end() ? 0 : it->second))
                out.unmap_batches[nr] = d;
        }
        check_mm_state(c.k, what + ": after reclaim");

        if (layout == Layout::AcrossVmasLocked) {
            // The first half is swapped out; the locked half stops the rmap walk and keeps its PTEs, so the
            // folio stays mapped (and in the swap cache), reclaim fails and activates it.
            EXPECT_EQ(out.ret, -EAGAIN) << what;
            EXPECT_EQ(out.reclaimed, 0u) << what;
            EXPECT_EQ(c.k.stats().folios_freed, freed_before) << what;
            for (unsigned i = 0; i < 8; ++i)
                EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, at + i * ps))) << what << " page " << i;
            for (unsigned i = 8; i < 16; ++i) {
                const pte_t pte = pte_at(c, mm, at + i * ps);
                ASSERT_TRUE(a.pte_present(pte)) << what << ": the locked half lost page " << i;
                EXPECT_EQ(a.pte_pfn(pte), folio_pfn(f) + i) << what;
            }
            EXPECT_EQ(folio_mapcount(c, f), 8) << what;
            EXPECT_TRUE(folio_test_swapcache(c, f)) << what;
            EXPECT_TRUE(folio_test_flag(c, f, PG_active)) << what << ": activated";
            EXPECT_EQ(lruvec_lru_size(c, LRU_ACTIVE_ANON), 16u) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 8) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 8) << what;
        } else {
            EXPECT_EQ(out.ret, 0) << what;
            EXPECT_EQ(out.reclaimed, 16u) << what;
            EXPECT_EQ(c.k.stats().pgsteal - steal_before, 16u) << what;
            EXPECT_EQ(c.k.stats().folios_freed - freed_before, 1u) << what << ": the folio is freed";
            EXPECT_EQ(t.read(c.k.vmemmap() + folio_pfn(f) * kStructPageBytes + PAGE_OFF_REFCOUNT, 4), 0u) << what;
            EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON) + lruvec_lru_size(c, LRU_ACTIVE_ANON), 0u) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 16) << what;
            EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0) << what;
            // Consecutive slots, one swap count each (one mapping: the child is gone); exclusive only where the
            // pages were (no fork in the PMD layout)
            const bool exclusive = layout == Layout::AcrossPmd;
            const pte_t first = pte_at(c, mm, at);
            ASSERT_TRUE(a.is_swap_pte(first)) << what;
            for (unsigned i = 0; i < 16; ++i) {
                const pte_t pte = pte_at(c, mm, at + i * ps);
                ASSERT_TRUE(a.is_swap_pte(pte)) << what << " page " << i;
                EXPECT_EQ(swp_offset(a.pte_to_swp_entry(pte)), swp_offset(a.pte_to_swp_entry(first)) + i) << what;
                EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 1) << what << " page " << i;
                EXPECT_EQ(a.pte_swp_exclusive(pte), exclusive) << what << " page " << i;
            }
        }
        // What the differential test compares: taken before anything touches the pages again
        out.state = snapshot(t, {&mm}, false);
        std::ostringstream counts;
        for (unsigned i = 0; i < 16; ++i)
            if (const pte_t pte = pte_at(c, mm, at + i * ps); a.is_swap_pte(pte))
                counts << i << ':' << __swap_count(c, a.pte_to_swp_entry(pte)) << '\n';
        out.state += counts.str();
        // Every page reads back its data (swap-in of the swapped-out pages)
        for (unsigned i = 0; i < 16; ++i) {
            const Addr va = at + i * ps;
            EXPECT_EQ(c.cpu.load(user_access(c, mm, va, AccessKind::Read), 8), pattern(kBase + i * ps)) << what << " page " << i;
        }
        check_mm_state(c.k, what + ": after swap-in");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0) << what;
    });
    const MmStats& s = t.k->stats();
    out.balanced = s.folios_allocated == s.folios_freed;
    return out;
}

class LruReclaim : public PlatformTest {};

// The batches try_to_unmap_one() unmaps with: the batched anon unmap series stops each batch at the VMA end
// and at the PMD end (two of 8), never one of 16; with a cap of 3, 3 + 3 + 2 on each side; mainline one PTE
// at a time.
TEST_P(LruReclaim, EachBatchEndsAtTheVmaEndOrThePmdEnd)
{
    for (const Layout layout : {Layout::AcrossVmas, Layout::AcrossPmd}) {
        const Outcome series = run_layout(GetParam(), layout, {"kernel.anon_unmap_batch=true"});
        EXPECT_EQ(series.unmap_batches, (std::map<unsigned, std::uint64_t>{{8, 2}})) << name_of(layout);
        const Outcome capped = run_layout(GetParam(), layout, {"kernel.anon_unmap_batch=true", "kernel.max_pte_batch=3"});
        EXPECT_EQ(capped.unmap_batches, (std::map<unsigned, std::uint64_t>{{2, 2}, {3, 4}})) << name_of(layout);
        const Outcome mainline = run_layout(GetParam(), layout, {"kernel.anon_unmap_batch=false"});
        EXPECT_EQ(mainline.unmap_batches.count(8) + mainline.unmap_batches.count(16), 0u) << name_of(layout);
        for (const Outcome* o : {&series, &capped, &mainline})
            EXPECT_TRUE(o->balanced) << name_of(layout);
    }
}

// Batched and unbatched kernels end every layout in the same page tables, swap entries and counts, counters,
// folio state and free memory.
TEST_P(LruReclaim, BatchedAndUnbatchedEndTheSame)
{
    for (const Layout layout : {Layout::AcrossVmas, Layout::AcrossVmasLocked, Layout::AcrossPmd}) {
        const Outcome series = run_layout(GetParam(), layout, {"kernel.anon_unmap_batch=true"});
        EXPECT_NE(series.state.find(" swap "), std::string::npos) << name_of(layout) << ": swap PTEs";
        for (const std::vector<std::string>& sets : std::vector<std::vector<std::string>>{
                 {"kernel.anon_unmap_batch=false"},
                 {"kernel.anon_unmap_batch=true", "kernel.max_pte_batch=3"},
                 {"kernel.anon_unmap_batch=true", "kernel.pte_batch=false"}}) {
            const Outcome other = run_layout(GetParam(), layout, sets);
            EXPECT_EQ(other.state, series.state) << name_of(layout) << " with " << sets.back();
            EXPECT_EQ(other.ret, series.ret) << name_of(layout) << " with " << sets.back();
            EXPECT_EQ(other.reclaimed, series.reclaimed) << name_of(layout) << " with " << sets.back();
        }
    }
}

// Folios join the inactive list at fault; reclaim takes the oldest (the tail) first, at least
// SWAP_CLUSTER_MAX (32) pages a call, as memory.reclaim does; a request larger than what is reclaimable gives
// up with -EAGAIN.
TEST_P(LruReclaim, OldestFoliosGoFirst)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        for (unsigned i = 0; i < 3; ++i) // faulted in this order: the first is the oldest
            map_and_write(c, mm, kBase + 4 * i * k64K, 1);
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON), 48u);
        EXPECT_TRUE(*lruvec_tail_folio(c, LRU_INACTIVE_ANON) == folio_at(c, mm, kBase));
        unsigned long reclaimed = 0;
        ASSERT_EQ(user_proactive_reclaim(c, k64K, std::nullopt, &reclaimed), 0);
        EXPECT_EQ(reclaimed, 32u) << "at least SWAP_CLUSTER_MAX pages";
        EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, kBase)));
        EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, kBase + 4 * k64K)));
        EXPECT_TRUE(a.pte_present(pte_at(c, mm, kBase + 8 * k64K))) << "the youngest folio stays";
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON), 16u);
        EXPECT_EQ(c.k.stats().pgsteal, 32u);
        EXPECT_GE(c.k.stats().pgscan, 32u);
        check_mm_state(c.k, "after the first reclaim");
        ASSERT_EQ(user_proactive_reclaim(c, k64K, std::nullopt, &reclaimed), 0);
        EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, kBase + 8 * k64K)));
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON), 0u);
        // Nothing left: memory.reclaim gives up after its retries
        EXPECT_EQ(user_proactive_reclaim(c, k64K, std::nullopt, &reclaimed), -EAGAIN);
        EXPECT_EQ(reclaimed, 0u);
        // swap-in puts the folio back on the LRU (swap cache folios join it)
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase, AccessKind::Read), 8), pattern(kBase));
        EXPECT_GT(lruvec_lru_size(c, LRU_INACTIVE_ANON), 0u);
        check_mm_state(c.k, "after swap-in");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON) + lruvec_lru_size(c, LRU_ACTIVE_ANON), 0u) << "freed folios leave the LRU";
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// MADV_FREE moves a folio to the inactive file list (lazyfree); memory.reclaim discards it from there without
// writing it, swappiness=max (anon only) does not touch it.
TEST_P(LruReclaim, LazyfreeFolioIsDiscardedFromTheFileList)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        map_and_write(c, mm, kBase, 2);
        ASSERT_EQ(do_madvise(c, mm, kBase, k64K, MADV_FREE), 0);
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_FILE), 16u);
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_ANON), 16u);
        unsigned long reclaimed = 0;
        // anon only: the swap-backed folio goes, the lazyfree one stays
        ASSERT_EQ(user_proactive_reclaim(c, k64K, SWAPPINESS_ANON_ONLY, &reclaimed), 0);
        EXPECT_TRUE(a.pte_present(pte_at(c, mm, kBase)));
        EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, kBase + k64K)));
        const std::uint64_t written = c.k.swap().events.pswpout;
        ASSERT_EQ(user_proactive_reclaim(c, k64K, std::nullopt, &reclaimed), 0);
        EXPECT_EQ(reclaimed, 16u);
        EXPECT_EQ(c.k.swap().events.pswpout, written) << "a lazyfree folio is not written";
        EXPECT_TRUE(a.pte_none(pte_at(c, mm, kBase))) << "discarded";
        EXPECT_EQ(lruvec_lru_size(c, LRU_INACTIVE_FILE), 0u);
        EXPECT_EQ(c.cpu.load(user_access(c, mm, kBase, AccessKind::Read), 8), 0u) << "reads back zero";
        check_mm_state(c.k, "the end");
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

INSTANTIATE_TEST_SUITE_P(Platforms, LruReclaim, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);

} // namespace
