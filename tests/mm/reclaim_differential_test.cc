// SPDX-License-Identifier: GPL-2.0-only
// The differential property of the batched anon unmap series (issue 9): over generated workloads mixing
// faults, writes with data, fork, child exits, GUP pin and unpin, MADV_FREE, redirtying of lazyfree pages,
// MADV_PAGEOUT (the real reclaim: shrink_folio_list() -> try_to_unmap()), LRU reclaim (memory.reclaim: any
// folio on the LRU, shared, split across VMAs or partly unmapped ones included), mprotect() to read-only and
// back, device-exclusive entries (make_device_exclusive()), munmap, child exits and swap-in by touching
// swapped-out pages, kernel.anon_unmap_batch on and off end in the same page tables (swap PTEs included), swap counts,
// mm counters, folio state and page contents (mm_snapshot.hh); only the cycles differ. Every run is in
// checked mode: the TLB oracle stops it at a stale translation where the kernel relies on a completed flush
// (a frame freed, a swap slot reused).
//
// What must be equal, and what need not (docs/CHECKING.md, "Differential fuzzing of the port"):
// - the series against mainline at the same batch cap: always. The series changes only how a swap-backed
//   anon folio is unmapped (folio_unmap_pte_batch() returns 1 for it in mainline), and converting its PTEs to
//   swap entries gives the same result in any batch size; the lazyfree path is the same code in both.
// - different batch sizes (kernel.max_pte_batch, kernel.pte_batch=false): not when a lazyfree folio whose PTEs
//   are not all alike in dirty and young is reclaimed. Upstream's try_to_unmap_one() (mm/rmap.c) decides per
//   batch of folio_unmap_pte_batch(): a batch whose merged pteval is clean (get_and_clear_ptes()) is discarded
//   ("add_mm_counter(mm, MM_ANONPAGES, -nr_pages); goto discard;") and the walk goes on; the first batch after
//   which the folio is dirty is restored with the batch's merged dirty and young bits ("set_ptes(mm, address,
//   pvmw.pte, pteval, nr_pages); folio_set_swapbacked(folio); goto walk_abort;"), and so is the first batch
//   when an extra reference holds the folio. So the clean pages before a redirtied one are discarded in
//   smaller batches and kept in a whole-folio batch, and the restored PTEs' dirty and young bits follow the
//   batch (Reclaim.LazyfreeDiscardIsDecidedPerUnmapBatch shows it). Batch sizes are compared on workloads
//   without MADV_FREE (MADV_COLD in its place, Workload::AnyBatchSize): everything else must be equal there.
// - different batch sizes after mprotect(): not in young and dirty, nor in what follows from them. Upstream's
//   batched mprotect (mm/mprotect.c change_pte_range() -> modify_prot_start_ptes(), include/linux/pgtable.h)
//   gathers young and dirty over the batch and modify_prot_commit_ptes() writes them into every entry, so the
//   batch size decides which PTEs of a folio end young and dirty; memory.reclaim then ages and keeps folios by
//   their young PTEs (folio_referenced()). Workload::AnyBatchSize leaves mprotect() out too.
#include "mm_snapshot.hh"

#include "mm/debug_vm.hh"
#include "mm/fork.hh"
#include "mm/gup.hh"
#include "mm/leafops.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/mprotect.hh"
#include "mm/rmap.hh"
#include "mm/vmscan.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;
constexpr std::uint64_t kRegion = 2 * MiB; // one PTE table's worth with 4K pages
constexpr std::uint64_t kArm64Af = std::uint64_t{1} << 10;      // PTE_AF
constexpr std::uint64_t kArm64SwDirty = std::uint64_t{1} << 55; // PTE_DIRTY (software)

struct Outcome {
    std::string state;             // snapshot() and the swap count of every swap PTE
    bool balanced = false;         // every folio and page table allocated was freed at the end
    std::uint64_t cycles = 0;
    std::uint64_t unmap_batches = 0;    // get_and_clear_full_ptes() calls of more than one PTE
    std::uint64_t anon_shares = 0;      // folio_try_share_anon_rmap_pte(s)() calls
    std::uint64_t freed_by_reclaim = 0; // folios MADV_PAGEOUT freed
    std::uint64_t lazyfree_discarded = 0; // pages of lazyfree folios reclaim discarded
    std::uint64_t lru_reclaimed = 0;    // pages memory.reclaim reclaimed
    std::uint64_t swapped_in = 0;
    std::uint64_t whole_blocks = 0; // arm64 contpte: 16-entry blocks whose young/dirty OR is compared
    std::uint64_t device_exclusive = 0; // pages made device-exclusive
    std::uint64_t write_protects = 0;   // mprotect(PROT_READ) calls that succeeded
};

std::uint64_t calls_over(const MmStats& s, const char* helper, unsigned above)
{
    std::uint64_t n = 0;
    if (const auto it = s.batches.find(helper); it != s.batches.end())
        for (const auto& [nr, k] : it->second)
            if (nr > above)
                n += k;
    return n;
}

// A number from the environment (the fuzzer's seeds, or how many operations to generate), else `def`.
unsigned env_or(const char* name, unsigned def)
{
    const char* v = std::getenv(name);
    return v && *v ? static_cast<unsigned>(std::stoul(v)) : def;
}

// Workload::AnyBatchSize gives MADV_COLD where Full gives MADV_FREE (with the same redirtying and pageout), and
// no mprotect(): no folio is ever lazyfree and no batch spreads young and dirty, so different batch sizes
// must end the same too (see the top of the file).
enum class Workload { Full, AnyBatchSize };
// The operation mix. memory.reclaim joined it with LRU reclaim, mprotect() and device-exclusive entries
// (make_device_exclusive()) after that; a seed replays the mix it was found or chosen with, where the later
// operations' draws were touches: 1001, 200727 and 300920 before LRU reclaim, the Workloads/ seeds before
// mprotect. The fuzzer runs the latest.
enum class Mix { WithMprotectAndDeviceExclusive, WithLruReclaim, BeforeLruReclaim };

Outcome run_workload(const std::string& platform, std::vector<std::string> kernel_sets, unsigned seed,
                     Workload workload = Workload::Full, Mix mix = Mix::WithLruReclaim)
{
    if (platform == "neoverse-n1-nocontpte")
        kernel_sets.push_back("kernel.contpte=false");
    TestKernel t = make_kernel(platform == "neoverse-n1-nocontpte" ? "neoverse-n1" : platform,
                               {"cores=2", "simulation.check=true"}, kernel_sets);
    Outcome out;
    t.run([&](Ctx& c) {
        std::mt19937_64 rng(seed);
        const auto pick = [&](std::uint64_t n) { return static_cast<std::uint64_t>(rng() % n); };
        const std::uint64_t page = c.k.page_size();
        const mm::Arch& a = c.k.arch();
        std::vector<mm_struct*> mms{&c.k.mm_alloc(c)};
        std::vector<std::vector<pfn_t>> pins;
        const unsigned orders[] = {0, 2, 4, 4}; // mostly 64K folios: the series' case
        // A whole number of 64K blocks inside the region (MADV_FREE and MADV_PAGEOUT leave a large folio
        // only partly covered alone, so whole folios are what they act on)
        const auto range = [&](Addr& start, std::uint64_t& len) {
            start = kBase + pick(kRegion / (64 * KiB)) * 64 * KiB;
            len = std::min<std::uint64_t>((1 + pick(4)) * 64 * KiB, kBase + kRegion - start);
        };
        // The region starts mapped in 256K VMAs of random folio sizes, every page written.
        for (Addr s0 = kBase; s0 < kBase + kRegion; s0 += 256 * KiB) {
            do_mmap(c, *mms[0], s0, 256 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    static_cast<int>(orders[pick(4)]));
            for (Addr va = s0; va < s0 + 256 * KiB; va += page)
                c.cpu.store(user_access(c, *mms[0], va, AccessKind::Write), va, 8);
        }
        const int ops = static_cast<int>(env_or("MMUSIM_DIFF_OPS", 120)); // fewer: to find where runs diverge
        for (int op = 0; op < ops; ++op) {
            mm_struct& mm = *mms[pick(mms.size())];
            Addr start;
            std::uint64_t len;
            range(start, len);
            const std::uint64_t r = pick(100);
            if (std::getenv("MMUSIM_DIFF_TRACE")) // which operation is which, to bisect with MMUSIM_DIFF_OPS
                std::fprintf(stderr, "%s seed %u op %d: %s mm %zu [%#llx, %#llx)\n", platform.c_str(), seed, op,
                             r < 5 ? "mmap" : r < 30 || (r < 40 && mix != Mix::WithMprotectAndDeviceExclusive) ? "touch"
                             : r < 35 ? "mprotect" : r < 40 ? "device-exclusive" : r < 45 ? "memory.reclaim" : r < 52 ? "fork" : r < 60 ? "pin"
                             : r < 66 ? "unpin" : r < 76 ? "MADV_FREE (+ MADV_PAGEOUT)" : r < 94 ? "MADV_PAGEOUT"
                             : r < 97 ? "munmap" : "exit",
                             static_cast<std::size_t>(std::find(mms.begin(), mms.end(), &mm) - mms.begin()),
                             static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + len));
            if (r < 5) {
                do_mmap(c, mm, start, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        static_cast<int>(orders[pick(4)]));
            } else if (mix == Mix::WithMprotectAndDeviceExclusive && r >= 30 && r < 35) {
                // Read-only and back: a write protection over whole folios, parts of folios and contpte blocks,
                // VMAs split and merged again (touches and redirtying below write only where VM_WRITE is set).
                const unsigned prot = pick(2) ? PROT_READ : PROT_READ | PROT_WRITE;
                const Addr from = start + pick(16) * page;
                const std::uint64_t bytes = len - pick(16) * page;
                if (workload == Workload::Full && do_mprotect_pkey(c, mm, from, bytes, prot) == 0 && prot == PROT_READ)
                    ++out.write_protects;
            } else if (mix == Mix::WithMprotectAndDeviceExclusive && r >= 35 && r < 40) {
                // A device takes a few pages exclusively (lib/test_hmm.c's HMM_DMIRROR_EXCLUSIVE): their PTEs
                // become device-exclusive entries that reclaim, fork, mprotect, munmap and the next CPU access
                // (which restores them) must handle. Pages not mapped writable fail with -EFAULT, as upstream.
                const MmapReadGuard lock(c, mm);
                for (Addr va = start; va < start + len; va += page * (1 + pick(8))) {
                    pfn_t pg = 0;
                    Folio folio;
                    if (make_device_exclusive(c, mm, va, pg, folio) == 0) {
                        folio_unlock(c, folio);
                        folio_put(c, folio);
                        ++out.device_exclusive;
                    }
                }
            } else if (mix != Mix::BeforeLruReclaim && r >= 40 && r < 45) {
                // memory.reclaim of a few folios' worth from the tail of the inactive anon list, whichever mms
                // and VMAs map them (shared after fork, split across VMAs, partly unmapped). Anon only
                // (swappiness=max): reclaiming lazyfree folios from the file list discards clean pages up to
                // the first batch that holds a redirtied one and restores that batch with the young and dirty
                // bits of all its PTEs, so which pages go and which bits stay depend on the batch size, as
                // upstream (docs/CHECKING.md, "Findings").
                unsigned long reclaimed = 0;
                user_proactive_reclaim(c, (1 + pick(8)) * 64 * KiB, SWAPPINESS_ANON_ONLY, &reclaimed);
                out.lru_reclaimed += reclaimed;
            } else if (r < 45) {
                // faults, writes with data (so that reclaim writes them out and swap-in must bring them back),
                // redirtying of lazyfree pages, swap-in of swapped-out ones
                const bool write = pick(3) != 0;
                for (Addr va = start; va < start + len; va += page * (1 + pick(4))) {
                    const vm_area_struct* vma = mm.vma_at(va);
                    if (!vma || vma->vm_start > va)
                        continue;
                    const bool w = write && (vma->vm_flags & VM_WRITE);
                    const PAddr pa = user_access(c, mm, va, w ? AccessKind::Write : AccessKind::Read);
                    if (w)
                        c.cpu.store(pa, va ^ (static_cast<std::uint64_t>(op) << 40), 8);
                }
            } else if (r < 52) {
                if (mms.size() < 3)
                    mms.push_back(&copy_mm(c, mm));
            } else if (r < 60) {
                // GUP-fast only: the slow path marks folios accessed once per batch of its walk
                // (follow_page_pte_commit(), folio_mark_accessed()), so its LRU aging (PG_referenced, then
                // PG_active) depends on kernel.max_pte_batch; the fast path's folio_set_referenced() does not.
                std::vector<pfn_t> pinned;
                const long n = pin_user_pages_fast(c, mm, start + pick(16) * page, 1 + pick(4),
                                                   FOLL_FAST_ONLY | (pick(2) ? FOLL_WRITE : 0u), pinned);
                if (n > 0)
                    pins.push_back(std::move(pinned));
            } else if (r < 66) {
                if (!pins.empty()) {
                    const std::size_t i = pick(pins.size());
                    unpin_user_pages(c, pins[i]);
                    pins.erase(pins.begin() + static_cast<long>(i));
                }
            } else if (r < 76) {
                do_madvise(c, mm, start, len, workload == Workload::Full ? MADV_FREE : MADV_COLD);
                // Half the time reclaim comes at once, some pages redirtied first (kept, swap-backed again)
                if (pick(2)) {
                    if (pick(2)) {
                        const Addr va = start + pick(len / page) * page;
                        if (const vm_area_struct* vma = mm.vma_at(va); vma && vma->vm_start <= va && (vma->vm_flags & VM_WRITE))
                            c.cpu.store(user_access(c, mm, va, AccessKind::Write), 1, 8);
                    }
                    const long anon = get_mm_counter(c, mm, MM_ANONPAGES), swp = get_mm_counter(c, mm, MM_SWAPENTS);
                    do_madvise(c, mm, start, len, MADV_PAGEOUT);
                    out.lazyfree_discarded += static_cast<std::uint64_t>(std::max(
                        0L, (anon - get_mm_counter(c, mm, MM_ANONPAGES)) - (get_mm_counter(c, mm, MM_SWAPENTS) - swp)));
                }
            } else if (r < 94) {
                // Only folios mapped by this mm alone are reclaimed: the pages it lost that did not become
                // swap entries were discarded (lazyfree).
                const std::uint64_t freed = c.k.stats().folios_freed;
                const long anon = get_mm_counter(c, mm, MM_ANONPAGES), swp = get_mm_counter(c, mm, MM_SWAPENTS);
                do_madvise(c, mm, start, len, MADV_PAGEOUT);
                out.freed_by_reclaim += c.k.stats().folios_freed - freed;
                out.lazyfree_discarded += static_cast<std::uint64_t>(std::max(
                    0L, (anon - get_mm_counter(c, mm, MM_ANONPAGES)) - (get_mm_counter(c, mm, MM_SWAPENTS) - swp)));
            } else if (r < 97) {
                __vm_munmap(c, mm, start, len);
            } else if (mms.size() > 1) {
                const std::size_t i = 1 + pick(mms.size() - 1);
                exit_mmap(c, *mms[i]);
                c.k.mm_free(c, *mms[i]);
                mms.erase(mms.begin() + static_cast<long>(i));
            }
            // every checker at every operation boundary (page_table_check runs inside the operations)
            check_mm_state(c.k, "generated operation " + std::to_string(op));
        }
        // arm64 with contpte: a kernel that keeps a block folded where another unfolded it leaves the contiguous
        // bit, and young and dirty within a block, differently: in a folded block they are the OR over its
        // entries (contpte_ptep_get()), the hardware sets them in the one entry it walked or wrote, and an
        // unfold (contpte_convert()) copies the OR into every entry. So per entry the contiguous bit, AF and
        // the software dirty bit are masked there, and the OR of young and dirty is compared per 16-entry block
        // that one folio still maps whole (aligned, consecutive pages): the OR survives folding and unfolding.
        // Where part of a block has gone (reclaimed, unmapped, copied on write) the OR over what is left need
        // not agree: an unfold had spread the block's bits over every entry in one kernel and not in the other
        // (batch sizes decide where blocks unfold: a batch that covers part of a block unfolds it, e.g. fork's
        // wrprotect_ptes() -> contpte_try_unfold_partial()). Without contpte nothing is masked.
        const bool contpte = c.k.format().arch() == mmusim::Arch::Arm64 && c.k.config().switches.contpte;
        out.state = snapshot(t, mms, contpte, contpte ? kArm64Af | kArm64SwDirty : 0);
        if (contpte) {
            const unsigned n = static_cast<unsigned>(64 * KiB / page);
            std::ostringstream groups;
            for (std::size_t i = 0; i < mms.size(); ++i)
                for (const auto& [s0, vma] : mms[i]->vmas)
                    for (Addr g = (vma.vm_start + 64 * KiB - 1) & ~(64 * KiB - 1); g + 64 * KiB <= vma.vm_end; g += 64 * KiB) {
                        bool young = false, dirty = false, whole = true;
                        pfn_t first = 0;
                        for (unsigned e = 0; e < n && whole; ++e) {
                            const pte_t pte{leaf_raw(t, *mms[i], g + e * page)};
                            if (!pte.val || !a.pte_present(pte) || (e ? a.pte_pfn(pte) != first + e : a.pte_pfn(pte) % n != 0)) {
                                whole = false;
                                break;
                            }
                            if (!e)
                                first = a.pte_pfn(pte);
                            young |= a.pte_young(pte);
                            dirty |= a.pte_dirty(pte);
                        }
                        if (whole && folio_head_untimed(c.k, first) == folio_head_untimed(c.k, first + n - 1)) {
                            groups << "mm " << i << ' ' << std::hex << g << " young " << young << " dirty " << dirty << '\n';
                            ++out.whole_blocks;
                        }
                    }
            out.state += groups.str();
        }
        // The swap count of every swap PTE (timed reads, after the workload)
        std::ostringstream counts;
        for (mm_struct* m : mms)
            for (const auto& [s, vma] : m->vmas)
                for (Addr va = vma.vm_start; va < vma.vm_end; va += page) {
                    const pte_t pte = pte_at(c, *m, va);
                    if (a.is_swap_pte(pte) && softleaf_is_swap(softleaf_from_pte(a, pte))) // not device-exclusive
                        counts << std::hex << va << ':' << __swap_count(c, a.pte_to_swp_entry(pte)) << '\n';
                }
        out.state += counts.str();
        for (const auto& p : pins)
            unpin_user_pages(c, p);
        for (mm_struct* m : mms) {
            exit_mmap(c, *m);
            c.k.mm_free(c, *m);
        }
        out.cycles = c.cpu.now();
    });
    const MmStats& s = t.k->stats();
    out.balanced = s.folios_allocated == s.folios_freed && s.pgtables_allocated == s.pgtables_freed;
    out.unmap_batches = calls_over(s, "get_and_clear_full_ptes", 1);
    out.anon_shares = calls_over(s, "folio_try_share_anon_rmap_ptes", 0) + calls_over(s, "folio_try_share_anon_rmap_pte", 0);
    out.swapped_in = t.k->swap().events.pswpin + t.k->swap().events.swpin_zero;
    return out;
}

class ReclaimDifferential : public ::testing::TestWithParam<std::tuple<const char*, unsigned>> {};

// `what` for a failure message: the settings a run was given, and its workload
std::string describe(const std::vector<std::string>& sets, Workload w)
{
    std::string s;
    for (const std::string& x : sets)
        s += (s.empty() ? "" : " ") + x;
    return s + (w == Workload::Full ? "" : " (no MADV_FREE, no mprotect)");
}

TEST_P(ReclaimDifferential, AnonUnmapBatchChangesCyclesOnlyAndCapsToo)
{
    const auto [platform, seed] = GetParam();
    const Outcome series = run_workload(platform, {"kernel.anon_unmap_batch=true"}, seed);
    EXPECT_TRUE(series.balanced);
    EXPECT_GT(series.freed_by_reclaim, 0u) << "the workload must reclaim";
    EXPECT_GT(series.lazyfree_discarded, 0u) << "the workload must discard lazyfree folios";
    EXPECT_GT(series.unmap_batches, 0u) << "the workload must unmap in batches";
    EXPECT_GT(series.anon_shares, 0u) << "the workload must share exclusive pages";
    EXPECT_GT(series.swapped_in, 0u) << "the workload must swap in";
    EXPECT_GT(series.lru_reclaimed, 0u) << "the workload must reclaim through the LRU";
    EXPECT_NE(series.state.find(" swap "), std::string::npos) << "the workload must leave swap PTEs";
    if (std::string(platform) == "neoverse-n1") {
        EXPECT_GT(series.whole_blocks, 0u) << "the workload must leave whole contpte blocks to compare";
    }
    const auto expect_same = [&](const Outcome& a, const std::vector<std::string>& sets, Workload w) {
        const Outcome other = run_workload(platform, sets, seed, w);
        const std::string what = describe(sets, w);
        EXPECT_TRUE(other.balanced) << what;
        EXPECT_EQ(other.state, a.state) << what;
        EXPECT_EQ(other.freed_by_reclaim, a.freed_by_reclaim) << what;
        EXPECT_EQ(other.swapped_in, a.swapped_in) << what;
        EXPECT_EQ(other.lru_reclaimed, a.lru_reclaimed) << what;
        EXPECT_NE(other.cycles, a.cycles) << what << ": the batches must have made a difference";
    };
    // The series against mainline at the same cap, with lazyfree folios
    expect_same(series, {"kernel.anon_unmap_batch=false"}, Workload::Full);
    const Outcome capped = run_workload(platform, {"kernel.anon_unmap_batch=true", "kernel.max_pte_batch=2"}, seed);
    EXPECT_TRUE(capped.balanced);
    expect_same(capped, {"kernel.anon_unmap_batch=false", "kernel.max_pte_batch=2"}, Workload::Full);
    // Different caps, on the workload without lazyfree folios
    const Outcome plain = run_workload(platform, {"kernel.anon_unmap_batch=true"}, seed, Workload::AnyBatchSize);
    EXPECT_TRUE(plain.balanced);
    EXPECT_GT(plain.freed_by_reclaim, 0u) << "the workload without MADV_FREE must reclaim";
    EXPECT_GT(plain.swapped_in, 0u) << "the workload without MADV_FREE must swap in";
    expect_same(plain, {"kernel.anon_unmap_batch=true", "kernel.max_pte_batch=5"}, Workload::AnyBatchSize);
    expect_same(plain, {"kernel.anon_unmap_batch=false", "kernel.max_pte_batch=4"}, Workload::AnyBatchSize);
}

// What the differential fuzzer compares for one seed on one platform (docs/CHECKING.md): the series against
// mainline at a cap the seed picks (none, 3, 2 or 5) on the full workload, and the series without a cap
// against mainline with a cap of 3 on the workload without MADV_FREE. Different caps are not compared with
// lazyfree folios: upstream decides a lazyfree folio's fate per unmap batch (the top of this file).
void expect_same_end(const char* platform, unsigned seed, Mix mix = Mix::WithMprotectAndDeviceExclusive)
{
    const char* caps[] = {nullptr, "kernel.max_pte_batch=3", "kernel.max_pte_batch=2", "kernel.max_pte_batch=5"};
    std::vector<std::string> series{"kernel.anon_unmap_batch=true"}, mainline{"kernel.anon_unmap_batch=false"};
    if (const char* cap = caps[seed % 4]) {
        series.push_back(cap);
        mainline.push_back(cap);
    }
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> pairs{
        {series, mainline}, {{"kernel.anon_unmap_batch=true"}, {"kernel.anon_unmap_batch=false", "kernel.max_pte_batch=3"}}};
    for (const Workload w : {Workload::Full, Workload::AnyBatchSize}) {
        const auto& [a_sets, b_sets] = pairs[w == Workload::Full ? 0 : 1];
        const std::string what = std::string(platform) + " seed " + std::to_string(seed) + ": " + describe(a_sets, w) +
                                 " against " + describe(b_sets, w);
        // A checker's error (or the kernel's own) names the run it stopped, and the other seeds go on.
        Outcome a, b;
        try {
            a = run_workload(platform, a_sets, seed, w, mix);
            b = run_workload(platform, b_sets, seed, w, mix);
        } catch (const std::exception& e) {
            ADD_FAILURE() << what << ": " << e.what();
            continue;
        }
        EXPECT_TRUE(a.balanced) << what;
        EXPECT_TRUE(b.balanced) << what;
        EXPECT_EQ(b.state, a.state) << what;
        EXPECT_EQ(b.lru_reclaimed, a.lru_reclaimed) << what;
    }
}

// The port's differential fuzzer (docs/CHECKING.md): MMUSIM_DIFF_FUZZ_SEEDS generated workloads (default 2,
// so that the suite stays quick) from seed MMUSIM_DIFF_FUZZ_BASE (default 1002) on arm64 with contpte and on
// x86, every checker on at every operation boundary, expect_same_end() for each. tools/diff_fuzz.sh runs it
// for a given time over fresh seeds.
TEST(ReclaimDifferentialFuzz, TheFuzzersMixReachesMprotectAndDeviceExclusiveEntries)
{
    // The default seed's workload on arm64, as the fuzzer generates it: the operations added last happen.
    const Outcome o = run_workload("neoverse-n1", {"kernel.anon_unmap_batch=true"}, 1002, Workload::Full,
                                   Mix::WithMprotectAndDeviceExclusive);
    EXPECT_TRUE(o.balanced);
    EXPECT_GT(o.write_protects, 0u);
    EXPECT_GT(o.device_exclusive, 0u);
    EXPECT_GT(o.lru_reclaimed, 0u);
    EXPECT_GT(o.swapped_in, 0u);
}

TEST(ReclaimDifferentialFuzz, GeneratedWorkloadsEndTheSameWithEveryCheckerOn)
{
    const unsigned seeds = env_or("MMUSIM_DIFF_FUZZ_SEEDS", 2);
    const unsigned base = env_or("MMUSIM_DIFF_FUZZ_BASE", 1002);
    for (unsigned seed = base; seed < base + seeds; ++seed)
        for (const char* platform : {"neoverse-n1", "skylake-sp"})
            expect_same_end(platform, seed);
}

// The fuzzer's first finding (docs/CHECKING.md, "Findings"): seed 1001 on x86, where the series without a cap
// and mainline with a cap of 3 ended differently. At operation 13 (MADV_FREE of [0x40170000, 0x401b0000), a
// write to 0x401aa000, MADV_PAGEOUT) reclaim unmaps the 64K lazyfree folio at 0x401a0000 in one batch without
// the cap (dirty: all 16 pages kept) and in batches of 3 with it (pages 0x401a0000-0x401a8000 discarded,
// 0x401a9000-0x401ab000 restored dirty, the rest left as they were): upstream's own per-batch decision, not a
// port bug. The fuzzer now compares the series with mainline at the same cap (equal), and caps only without
// lazyfree folios; the last check guards that this seed still reaches the per-batch discard.
TEST(ReclaimDifferentialFuzz, X86Seed1001LazyfreeDiscardFollowsTheBatchSeriesAndMainlineAgree)
{
    expect_same_end("skylake-sp", 1001, Mix::BeforeLruReclaim);
    for (const char* cap : {"kernel.max_pte_batch=3", "kernel.max_pte_batch=1"}) {
        const Outcome series = run_workload("skylake-sp", {"kernel.anon_unmap_batch=true", cap}, 1001, Workload::Full, Mix::BeforeLruReclaim);
        const Outcome mainline = run_workload("skylake-sp", {"kernel.anon_unmap_batch=false", cap}, 1001, Workload::Full, Mix::BeforeLruReclaim);
        EXPECT_EQ(mainline.state, series.state) << cap;
    }
    const Outcome whole = run_workload("skylake-sp", {"kernel.anon_unmap_batch=true"}, 1001, Workload::Full, Mix::BeforeLruReclaim);
    const Outcome capped = run_workload("skylake-sp", {"kernel.anon_unmap_batch=true", "kernel.max_pte_batch=3"}, 1001,
                                        Workload::Full, Mix::BeforeLruReclaim);
    EXPECT_NE(capped.state, whole.state) << "seed 1001 no longer reclaims a partly redirtied lazyfree folio";
}

// The fuzzer's second finding (docs/CHECKING.md): seed 200727 stopped in every configuration at operation 75 on
// a swap table overwritten by user data. At operation 72 one MADV_PAGEOUT reclaimed 32 folios: the first 31
// were freed as a batch, the last needed a new swap cluster, whose table page was the first freed folio's frame,
// and the port's shrink_folio_list() then put every freed folio back on the LRU (folio_putback_lru()), whose
// folio_put() freed the table under the cluster. Fixed in mm/vmscan.cc; checked mode now also stops at a
// reference dropped below zero (folio_ref_sub_and_test()).
TEST(ReclaimDifferentialFuzz, Arm64Seed200727SwapTableNotFreedUnderItsCluster)
{
    expect_same_end("neoverse-n1", 200727, Mix::BeforeLruReclaim);
}

// The fuzzer's third finding (docs/CHECKING.md): seed 300920 on arm64 with contpte, the series without a cap
// against mainline with a cap of 3 (no MADV_FREE), ended with one 64K group young in one and old in the other.
// The cap's fork unfolds a block the series keeps folded (a batch of 3 covers part of it); the block's
// young bits spread over its entries when the series later unfolds it, then the group's young pages are
// reclaimed at operation 69 and the OR over the rest differs. Legitimate; young and dirty are now compared
// per block one folio maps whole.
TEST(ReclaimDifferentialFuzz, Arm64Seed300920BlockBitsComparedOnWholeBlocksOnly)
{
    expect_same_end("neoverse-n1", 300920, Mix::BeforeLruReclaim);
}

std::string name(const ::testing::TestParamInfo<std::tuple<const char*, unsigned>>& i)
{
    std::string s = std::get<0>(i.param);
    std::replace(s.begin(), s.end(), '-', '_');
    return s + "_seed" + std::to_string(std::get<1>(i.param));
}

INSTANTIATE_TEST_SUITE_P(Workloads, ReclaimDifferential,
                         ::testing::Values(std::make_tuple("neoverse-n1", 1u), std::make_tuple("neoverse-n1", 4u),
                                           std::make_tuple("neoverse-n1-nocontpte", 1u),
                                           std::make_tuple("skylake-sp", 1u), std::make_tuple("skylake-sp", 2u)),
                         name);

} // namespace
