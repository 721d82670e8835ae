// SPDX-License-Identifier: GPL-2.0-only
// Anonymous swap on arm64, x86 and RISC-V: swap PTEs round-trip and are invalid to the hardware; the cluster
// allocator hands out naturally aligned runs and takes them back; the swap table counts and caches; a folio
// swapped out (by the test helper in swap_test_util.hh, until reclaim is ported) and touched again has its
// bytes back, comes back exclusive (no COW) or, shared with a forked child, not exclusive (a write copies);
// rss counters follow; munmap and exit free the slots; everything is given back.
#include "swap_test_util.hh"

#include "mm/fork.hh"
#include "mm/mmap.hh"
#include "mm/swap_table.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: aligned for any folio order

class Swap : public PlatformTest {};

// A word of test data for page `i` at word `w` (never zero).
std::uint64_t pattern(unsigned i, unsigned w) { return 0x5a5a000000000000ull ^ (std::uint64_t{i} << 20) ^ (w + 1); }
// The words of a page the tests write and check: first, one in the middle, last.
std::vector<unsigned> words(const Ctx& c)
{
    const unsigned n = static_cast<unsigned>(c.k.page_size() / 8);
    return {0, n / 2 + 3, n - 1};
}
void fill_page(Ctx& c, PAddr pa, unsigned i)
{
    for (unsigned w : words(c))
        c.cpu.store(pa + 8 * w, pattern(i, w), 8);
}
bool page_holds(Ctx& c, PAddr pa, unsigned i)
{
    for (unsigned w : words(c))
        if (c.cpu.load(pa + 8 * w, 8) != pattern(i, w))
            return false;
    return true;
}

// A folio of `order` as reclaim finds one: allocated, uptodate, swap-backed.
Folio new_folio(Ctx& c, unsigned order)
{
    const Folio f = c.k.page_alloc().folio_alloc(c, order);
    folio_set_flag(c, f, PG_uptodate);
    folio_set_flag(c, f, PG_swapbacked);
    return f;
}

TEST_P(Swap, SwapPtesRoundTripAndAreInvalidToTheHardware)
{
    TestKernel t = make();
    const mm::Arch& a = t.k->arch();
    const hw::PageTableFormat& fmt = t.k->format();
    const int leaf = fmt.levels() - 1;
    const std::uint64_t max = t.k->config().swap_size >> fmt.page_shift();
    for (const pgoff_t offset : {pgoff_t{1}, pgoff_t{2}, pgoff_t{0x1234}, max - 1, (pgoff_t{1} << 40) - 1}) {
        for (const unsigned type : {0u, 3u, 31u}) {
            const swp_entry_t entry = swp_entry(type, offset);
            ASSERT_EQ(swp_type(entry), type);
            ASSERT_EQ(swp_offset(entry), offset);
            const pte_t pte = a.swp_entry_to_pte(entry);
            EXPECT_FALSE(a.pte_none(pte)) << offset;
            EXPECT_FALSE(a.pte_present(pte)) << offset;
            EXPECT_TRUE(a.is_swap_pte(pte)) << offset;
            EXPECT_EQ(a.pte_to_swp_entry(pte), entry) << std::hex << pte.val;
            EXPECT_FALSE(a.pte_swp_exclusive(pte));
            EXPECT_EQ(fmt.decode(leaf, pte.val).type, hw::Descriptor::Type::Invalid) << std::hex << pte.val;

            const pte_t ex = a.pte_swp_mkexclusive(pte);
            EXPECT_NE(ex, pte) << "the exclusive marker is a bit of its own";
            EXPECT_TRUE(a.pte_swp_exclusive(ex));
            EXPECT_TRUE(a.is_swap_pte(ex));
            EXPECT_EQ(a.pte_to_swp_entry(ex), entry) << "the marker is not part of the entry";
            EXPECT_EQ(fmt.decode(leaf, ex.val).type, hw::Descriptor::Type::Invalid) << std::hex << ex.val;
            EXPECT_EQ(a.pte_swp_clear_exclusive(ex), pte);
            if (std::string(a.name()) == "x86") {
                const pte_t sd = a.pte_swp_mksoft_dirty(ex);
                EXPECT_TRUE(a.pte_swp_soft_dirty(sd));
                EXPECT_EQ(a.pte_to_swp_entry(sd), entry);
                EXPECT_EQ(fmt.decode(leaf, sd.val).type, hw::Descriptor::Type::Invalid);
            }
        }
    }
    // x86 stores the offset inverted (L1TF): a low slot's PTE has the high address bits set.
    if (std::string(a.name()) == "x86") {
        EXPECT_NE(a.swp_entry_to_pte(swp_entry(0, 1)).val & (std::uint64_t{1} << 51), 0u);
    }

    // pte_move_swp_offset() keeps the type and the exclusive marker; swap_pte_batch() counts consecutive slots.
    t.run([&](Ctx& c) {
        const pte_t p = a.pte_swp_mkexclusive(a.swp_entry_to_pte(swp_entry(0, 100)));
        const pte_t q = pte_move_swp_offset(c, p, 7);
        EXPECT_EQ(a.pte_to_swp_entry(q), swp_entry(0, 107));
        EXPECT_TRUE(a.pte_swp_exclusive(q));
        EXPECT_EQ(pte_move_swp_offset(c, q, -7), p);

        const PAddr table = c.k.kmalloc(c, 8 * 8);
        // Slots 100..104, a gap, 106 and 107, then 108 not exclusive.
        for (unsigned i = 0; i < 7; ++i)
            c.cpu.store(table + 8 * i, pte_move_swp_offset(c, p, i < 5 ? i : i + 1).val, 8, hw::Category::PteStore);
        const pte_t shared108 = a.pte_swp_clear_exclusive(pte_move_swp_offset(c, p, 8));
        c.cpu.store(table + 8 * 7, shared108.val, 8, hw::Category::PteStore);
        EXPECT_EQ(swap_pte_batch(c, table, 8, p), 5u) << "up to the gap";
        EXPECT_EQ(swap_pte_batch(c, table, 3, p), 3u) << "up to max_nr";
        EXPECT_EQ(swap_pte_batch(c, table + 8 * 5, 3, pte_move_swp_offset(c, p, 6)), 2u)
            << "exclusive 106, 107, then a non-exclusive 108: not one batch";
        c.k.kfree(c, table, 8 * 8);
    });
}

TEST_P(Swap, ClusterAllocatorHandsOutAlignedRunsAndTakesThemBack)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm::Swap& sw = c.k.swap();
        const swap_info_struct& si = sw.si();
        const unsigned cluster = sw.swapfile_cluster();
        EXPECT_EQ(cluster, 1u << (c.k.format().level(c.k.format().levels() - 2).shift - c.k.page_shift()))
            << "SWAPFILE_CLUSTER is HPAGE_PMD_NR";
        EXPECT_EQ(si.max, c.k.config().swap_size >> c.k.page_shift());
        EXPECT_EQ(si.pages, si.max - 1) << "slot 0 is the header";
        EXPECT_EQ(swap_usage_in_pages(c, si), 0);
        const std::uint64_t free_before = c.k.page_alloc().free_bytes();

        // Order 0: from the header's cluster (on the nonfull list), after the header.
        const Folio a0 = new_folio(c, 0), b0 = new_folio(c, 0);
        folio_lock(c, a0);
        folio_lock(c, b0);
        ASSERT_EQ(folio_alloc_swap(c, a0), 0);
        ASSERT_EQ(folio_alloc_swap(c, b0), 0);
        EXPECT_EQ(folio_swap(c, a0), swp_entry(0, 1));
        EXPECT_EQ(folio_swap(c, b0), swp_entry(0, 2)) << "the same CPU goes on in its cluster";
        EXPECT_TRUE(folio_test_swapcache(c, a0));
        EXPECT_EQ(folio_ref_count(c, a0), 2) << "one reference per page held by the swap cache";
        EXPECT_EQ(__swap_count(c, folio_swap(c, a0)), 0) << "the swap cache pins the slot; no swap count yet";

        // Order 4: a cluster of its own (clusters are per order), 16 aligned slots, the next 16 after them.
        const Folio a4 = new_folio(c, 4), b4 = new_folio(c, 4);
        folio_lock(c, a4);
        folio_lock(c, b4);
        ASSERT_EQ(folio_alloc_swap(c, a4), 0);
        ASSERT_EQ(folio_alloc_swap(c, b4), 0);
        const pgoff_t o4 = swp_offset(folio_swap(c, a4));
        EXPECT_EQ(o4 % 16, 0u) << "naturally aligned";
        EXPECT_NE(o4 / cluster, 0u) << "not in the order-0 cluster";
        EXPECT_EQ(o4 % cluster, 0u) << "the first run of a fresh cluster";
        EXPECT_EQ(swp_offset(folio_swap(c, b4)), o4 + 16);
        EXPECT_EQ(swap_usage_in_pages(c, si), 2 + 32);
        for (unsigned i = 0; i < 16; ++i)
            EXPECT_TRUE(swap_cache_has_folio(c, swp_entry(0, o4 + i))) << i;
        EXPECT_EQ(folio_ref_count(c, a4), 1 + 16);
        EXPECT_LT(c.k.page_alloc().free_bytes(), free_before) << "the new cluster's swap table is a page";

        // Swap counts: folio_dup_swap() per page or for the whole folio, past SWP_TB_COUNT_MAX (extend table).
        EXPECT_EQ(folio_dup_swap(c, a4, folio_page(a4, 3), 2), 0);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 3)), 1);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 4)), 1);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 5)), 0);
        EXPECT_EQ(folio_dup_swap(c, a4, std::nullopt), 0);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 3)), 2);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 0)), 1);
        for (int i = 0; i < 20; ++i)
            EXPECT_EQ(folio_dup_swap(c, a0, std::nullopt), 0);
        EXPECT_EQ(swp_swapcount(c, folio_swap(c, a0)), 20) << "counted on in the extend table";
        EXPECT_EQ(__swap_count(c, folio_swap(c, a0)), SWP_TB_COUNT_MAX);
        EXPECT_FALSE(folio_free_swap(c, a0)) << "swap PTEs still name the slot";
        for (int i = 0; i < 20; ++i)
            folio_put_swap(c, a0, std::nullopt);
        EXPECT_EQ(swp_swapcount(c, folio_swap(c, a0)), 0);
        folio_put_swap(c, a4, std::nullopt);
        folio_put_swap(c, a4, folio_page(a4, 3), 2);
        EXPECT_EQ(__swap_count(c, swp_entry(0, o4 + 3)), 0);
        EXPECT_EQ(swap_usage_in_pages(c, si), 34) << "count 0 but cached: the slots stay allocated";

        // Out of the swap cache: the slots go back; an emptied cluster frees its table.
        for (const Folio f : {a0, b0, a4, b4}) {
            EXPECT_TRUE(folio_free_swap(c, f));
            EXPECT_FALSE(folio_test_swapcache(c, f));
            EXPECT_EQ(folio_ref_count(c, f), 1);
            EXPECT_TRUE(folio_test_flag(c, f, PG_dirty)) << "the only copy of the data is the folio again";
            folio_unlock(c, f);
        }
        EXPECT_EQ(swap_usage_in_pages(c, si), 0);
        EXPECT_FALSE(swap_cache_has_folio(c, swp_entry(0, 1)));
        EXPECT_EQ(c.cpu.load(sw.nr_swap_pages(), 8), si.pages);
        for (const Folio f : {a0, b0, a4, b4})
            folio_put(c, f);
        EXPECT_EQ(c.k.page_alloc().free_bytes(), free_before) << "the order-4 cluster's table and extend table freed";

        // The freed slots are handed out again.
        const Folio again = new_folio(c, 0);
        folio_lock(c, again);
        ASSERT_EQ(folio_alloc_swap(c, again), 0);
        EXPECT_EQ(folio_swap(c, again), swp_entry(0, 3)) << "this CPU's order-0 cluster goes on where it was";
        EXPECT_TRUE(folio_free_swap(c, again));
        folio_unlock(c, again);
        folio_put(c, again);
    });
}

TEST_P(Swap, SwapCacheAddGetDelete)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const Folio f = new_folio(c, 2);
        folio_lock(c, f);
        ASSERT_EQ(folio_alloc_swap(c, f), 0);
        const swp_entry_t e = folio_swap(c, f);
        const std::optional<Folio> got = swap_cache_get_folio(c, swp_entry(0, swp_offset(e) + 2));
        ASSERT_TRUE(got);
        EXPECT_EQ(*got, f) << "every slot of the folio finds it";
        EXPECT_EQ(folio_ref_count(c, f), 1 + 4 + 1) << "the lookup takes a reference";
        folio_put(c, *got);
        EXPECT_TRUE(folio_matches_swap_entry(c, f, swp_entry(0, swp_offset(e) + 3)));
        EXPECT_FALSE(folio_matches_swap_entry(c, f, swp_entry(0, swp_offset(e) + 4)));
        EXPECT_EQ(non_swapcache_batch(c, e, 4), 0u);
        EXPECT_EQ(non_swapcache_batch(c, swp_entry(0, swp_offset(e) + 4), 4), 4u);

        // Swapped out (a count on two slots), then out of the cache: shadows with counts stay, others freed.
        EXPECT_EQ(folio_dup_swap(c, f, folio_page(f, 1), 2), 0);
        swap_cache_del_folio(c, f);
        EXPECT_FALSE(folio_test_swapcache(c, f));
        EXPECT_EQ(folio_swap(c, f).val, 0u);
        EXPECT_EQ(folio_ref_count(c, f), 1);
        EXPECT_FALSE(swap_cache_get_folio(c, e));
        const PAddr ci = __swap_entry_to_cluster(c, e);
        const unsigned off = swp_cluster_offset(c, e);
        EXPECT_TRUE(swp_tb_is_null(__swap_table_get(c, ci, off + 0))) << "no count, no cache: freed";
        EXPECT_TRUE(swp_tb_is_shadow(__swap_table_get(c, ci, off + 1)));
        EXPECT_EQ(__swp_tb_get_count(__swap_table_get(c, ci, off + 1)), 1u);
        EXPECT_TRUE(swp_tb_is_null(__swap_table_get(c, ci, off + 3)));
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 2);
        folio_unlock(c, f);
        folio_put(c, f);
        swap_put_entries_direct(c, swp_entry(0, swp_offset(e) + 1), 2); // what the zap of their PTEs does
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
    });
}

// Swap-out by the test helper, then a read and a write: the data comes back, an exclusive folio needs no copy.
void swap_out_and_in(TestKernel& t, unsigned order)
{
    const unsigned nr = 1u << order;
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 4 * nr * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                static_cast<int>(order));
        for (unsigned i = 0; i < 2 * nr; ++i) // two folios
            fill_page(c, user_access(c, mm, kBase + i * ps, AccessKind::Write), i);
        const Folio f = folio_at(c, mm, kBase);
        ASSERT_EQ(folio_nr_pages(c, f), nr);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 2 * nr);
        const std::uint64_t freed = c.k.stats().folios_freed;

        ASSERT_TRUE(test_swap_out_folio(c, f, {{&mm, kBase}}));
        EXPECT_EQ(c.k.stats().folios_freed, freed + 1) << "the folio went back to the allocator";
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), nr);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), nr);
        EXPECT_EQ(c.k.swap().events.pswpout, nr);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), nr);
        pgoff_t first = 0;
        for (unsigned i = 0; i < nr; ++i) {
            const pte_t pte = pte_at(c, mm, kBase + i * ps);
            ASSERT_TRUE(a.is_swap_pte(pte)) << i;
            EXPECT_TRUE(a.pte_swp_exclusive(pte)) << "the page was exclusive: the swap PTE remembers it";
            if (!i)
                first = swp_offset(a.pte_to_swp_entry(pte));
            EXPECT_EQ(swp_offset(a.pte_to_swp_entry(pte)), first + i) << "consecutive slots";
            EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pte)), 1);
        }
        EXPECT_EQ(first % nr, 0u);
        EXPECT_FALSE(swap_cache_has_folio(c, swp_entry(0, first))) << "reclaimed: no folio caches it";

        // A read of a middle page faults the folio back in.
        const std::uint64_t faults = c.k.stats().faults, copied = c.k.stats().pages_copied;
        const PAddr pa = user_access(c, mm, kBase + (nr - 1) * ps, AccessKind::Read);
        EXPECT_EQ(c.k.stats().faults, faults + 1);
        EXPECT_EQ(c.k.swap().events.pswpin, nr) << "the whole folio read back (large swap-in) or the one page";
        const Folio g = page_folio(c, pa >> c.k.page_shift());
        EXPECT_EQ(folio_nr_pages(c, g), nr) << "swapped in at the folio's order";
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 2 * nr);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        EXPECT_FALSE(folio_test_swapcache(c, g)) << "a synchronous device's swap cache is freed at once";
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0) << "every slot free again";
        EXPECT_EQ(folio_ref_count(c, g), static_cast<int>(nr));
        EXPECT_EQ(folio_mapcount(c, g), static_cast<int>(nr));
        for (unsigned i = 0; i < nr; ++i) {
            const pte_t pte = pte_at(c, mm, kBase + i * ps);
            ASSERT_TRUE(a.pte_present(pte)) << i;
            EXPECT_EQ(a.pte_pfn(pte), folio_pfn(g) + i);
            EXPECT_TRUE(a.pte_write(pte)) << "exclusive and VM_WRITE: mapped writable at once";
            EXPECT_TRUE(PageAnonExclusive(c, folio_pfn(g) + i));
            EXPECT_TRUE(page_holds(c, (folio_pfn(g) + i) * ps, i)) << "bytes read back equal bytes written " << i;
        }
        // The write needs no copy, nor do_wp_page() (at most a fault to set the dirty bit, where the hardware
        // does not: RISC-V without Svadu).
        const std::uint64_t reused = c.k.stats().pages_reused;
        EXPECT_EQ(user_access(c, mm, kBase, AccessKind::Write), folio_pfn(g) * ps);
        EXPECT_LE(c.k.stats().faults, faults + 2);
        EXPECT_EQ(c.k.stats().pages_copied, copied);
        EXPECT_EQ(c.k.stats().pages_reused, reused);
        // The second folio was never touched.
        EXPECT_TRUE(page_holds(c, user_access(c, mm, kBase + nr * ps, AccessKind::Read), nr));
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

TEST_P(Swap, SwappedOutPageComesBackWithItsBytesExclusive) { TestKernel t = make(); swap_out_and_in(t, 0); }

TEST_P(Swap, SwappedOutLargeFolioComesBackWholeWithItsBytesExclusive)
{
    TestKernel t = make();
    swap_out_and_in(t, 4);
    EXPECT_EQ(t.k->stats().batches.at("set_ptes").at(16), 2u + 1u) << "two faults in, one swap-in, 16 PTEs each";
}

TEST_P(Swap, AWriteFaultOnASwappedOutExclusivePageMapsItWritableWithoutCopy)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        fill_page(c, user_access(c, mm, kBase, AccessKind::Write), 7);
        ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, mm, kBase), {{&mm, kBase}}));
        const std::uint64_t copied = c.k.stats().pages_copied, reused = c.k.stats().pages_reused;
        const PAddr pa = user_access(c, mm, kBase, AccessKind::Write);
        EXPECT_TRUE(page_holds(c, pa, 7));
        EXPECT_EQ(c.k.stats().pages_copied, copied);
        EXPECT_EQ(c.k.stats().pages_reused, reused) << "no do_wp_page(): mapped writable and dirty at once";
        EXPECT_TRUE(c.k.arch().pte_dirty(pte_at(c, mm, kBase)));
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

TEST_P(Swap, PageSharedWithAForkedChildComesBackNotExclusive)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        fill_page(c, user_access(c, parent, kBase, AccessKind::Write), 1);
        mm_struct& child = copy_mm(c, parent);
        const Folio f = folio_at(c, parent, kBase);
        EXPECT_FALSE(PageAnonExclusive(c, f.pfn)) << "fork shares it";

        // Reclaim unmaps it from both.
        ASSERT_TRUE(test_swap_out_folio(c, f, {{&parent, kBase}, {&child, kBase}}));
        const pte_t pp = pte_at(c, parent, kBase), cp = pte_at(c, child, kBase);
        ASSERT_TRUE(a.is_swap_pte(pp));
        EXPECT_EQ(pp, cp);
        EXPECT_FALSE(a.pte_swp_exclusive(pp)) << "a shared page's swap PTE is not exclusive";
        EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pp)), 2);
        EXPECT_EQ(get_mm_counter(c, child, MM_SWAPENTS), 1);

        // The child reads it back: mapped read-only, the swap cache keeps it for the parent's entry.
        const PAddr cpa = user_access(c, child, kBase, AccessKind::Read);
        EXPECT_TRUE(page_holds(c, cpa, 1));
        const Folio g = page_folio(c, cpa / ps);
        EXPECT_FALSE(a.pte_write(pte_at(c, child, kBase)));
        EXPECT_FALSE(PageAnonExclusive(c, g.pfn));
        EXPECT_TRUE(folio_test_swapcache(c, g)) << "the parent's swap PTE still names the slot";
        EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pp)), 1);
        EXPECT_EQ(c.k.swap().events.pswpin, 1u);

        // The parent finds it in the swap cache (no second read), maps it too; the slot goes.
        EXPECT_EQ(user_access(c, parent, kBase, AccessKind::Read), cpa);
        EXPECT_EQ(c.k.swap().events.pswpin, 1u);
        EXPECT_FALSE(folio_test_swapcache(c, g));
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        EXPECT_EQ(folio_mapcount(c, g), 2);

        // A write in the parent copies; the child keeps the data.
        const std::uint64_t copied = c.k.stats().pages_copied;
        const PAddr ppa = user_access(c, parent, kBase, AccessKind::Write);
        EXPECT_NE(ppa, cpa);
        EXPECT_EQ(c.k.stats().pages_copied, copied + 1);
        c.cpu.store(ppa, 0xdead, 8);
        EXPECT_TRUE(page_holds(c, cpa, 1)) << "the child's data intact";
        EXPECT_EQ(get_mm_counter(c, parent, MM_ANONPAGES), 1);
        EXPECT_EQ(get_mm_counter(c, child, MM_ANONPAGES), 1);
        for (mm_struct* m : {&child, &parent}) {
            EXPECT_EQ(get_mm_counter(c, *m, MM_SWAPENTS), 0);
            exit_mmap(c, *m);
            c.k.mm_free(c, *m);
        }
    });
}

TEST_P(Swap, ForkOfASwappedOutPageSharesTheSlot)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& parent = c.k.mm_alloc(c);
        do_mmap(c, parent, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        fill_page(c, user_access(c, parent, kBase, AccessKind::Write), 5);
        ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, parent, kBase), {{&parent, kBase}}));
        ASSERT_TRUE(a.pte_swp_exclusive(pte_at(c, parent, kBase)));

        mm_struct& child = copy_mm(c, parent); // copy_nonpresent_pte()
        const pte_t pp = pte_at(c, parent, kBase);
        EXPECT_FALSE(a.pte_swp_exclusive(pp)) << "fork marks the parent's entry shared";
        EXPECT_EQ(pte_at(c, child, kBase), pp);
        EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pp)), 2);
        EXPECT_EQ(get_mm_counter(c, child, MM_SWAPENTS), 1);

        // The parent exits: the slot survives for the child, which gets its data, exclusive now.
        exit_mmap(c, parent);
        c.k.mm_free(c, parent);
        EXPECT_EQ(__swap_count(c, a.pte_to_swp_entry(pp)), 1);
        const std::uint64_t copied = c.k.stats().pages_copied;
        const PAddr pa = user_access(c, child, kBase, AccessKind::Write);
        EXPECT_TRUE(page_holds(c, pa, 5));
        EXPECT_EQ(c.k.stats().pages_copied, copied) << "refcount 1 after the swap cache is freed: reused";
        EXPECT_TRUE(PageAnonExclusive(c, pa / c.k.page_size()));
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        exit_mmap(c, child);
        c.k.mm_free(c, child);
    });
}

TEST_P(Swap, MunmapAndExitOfSwappedOutRangesFreeTheSlots)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    ASSERT_TRUE(t.p->checked());
    std::uint64_t before = 0, after = 0;
    t.run([&](Ctx& c) {
        const std::uint64_t ps = c.k.page_size();
        { // warm-up: per-CPU state an architecture allocates on its first flush stays for good
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
            user_access(c, mm, kBase, AccessKind::Write);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        }
        before = c.k.page_alloc().free_bytes();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 512 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        const unsigned pages = static_cast<unsigned>(512 * KiB / ps);
        for (unsigned i = 0; i < pages; ++i)
            fill_page(c, user_access(c, mm, kBase + i * ps, AccessKind::Write), i);
        for (Addr va = kBase; va < kBase + 512 * KiB; va += 16 * ps) // every folio out
            ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, mm, va), {{&mm, va}}));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), pages);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), pages);

        // munmap of part of it: zap_nonpresent_ptes() frees those slots in one batch (the two folios' slots
        // are consecutive: swap_pte_batch() follows slots, not folios).
        const unsigned nr = static_cast<unsigned>(128 * KiB / ps);
        const std::uint64_t batches = c.k.stats().batches["swap_pte_batch"][nr];
        EXPECT_EQ(__vm_munmap(c, mm, kBase + 64 * KiB, 128 * KiB), 0);
        EXPECT_EQ(c.k.stats().batches["swap_pte_batch"][nr], batches + 1);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), pages - 128 * KiB / ps);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), pages - 128 * KiB / ps);
        // One folio back in, then everything goes at exit.
        EXPECT_TRUE(page_holds(c, user_access(c, mm, kBase + 5 * ps, AccessKind::Read), 5));
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        EXPECT_TRUE(c.k.swap().store->empty()) << "the device forgot every slot";
        EXPECT_EQ(c.cpu.load(c.k.swap().nr_swap_pages(), 8), c.k.swap().si().pages);
        after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(after, before) << "folios, page tables, swap tables: all back";
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

TEST_P(Swap, ZeroFilledFolioIsOnlyMarkedAndReadsBackZero)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        user_access(c, mm, kBase, AccessKind::Write); // a zeroed folio, never written
        ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, mm, kBase), {{&mm, kBase}}));
        EXPECT_EQ(c.k.swap().events.swpout_zero, 16u);
        EXPECT_EQ(c.k.swap().events.pswpout, 0u) << "no I/O for zero-filled pages";
        EXPECT_TRUE(c.k.swap().store->empty());
        const PAddr pa = user_access(c, mm, kBase + 3 * c.k.page_size(), AccessKind::Read);
        EXPECT_EQ(c.k.swap().events.swpin_zero, 16u);
        EXPECT_EQ(c.k.swap().events.pswpin, 0u);
        EXPECT_EQ(folio_nr_pages(c, page_folio(c, pa / c.k.page_size())), 16u);
        for (unsigned w : words(c))
            EXPECT_EQ(c.cpu.load(pa + 8 * w, 8), 0u);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
    });
}

TEST_P(Swap, PartlyRefaultedFolioSwapsInPageByPage)
{
    // A large folio's PTEs no longer all swap entries (one page refaulted as zero by MADV_DONTNEED + a write):
    // can_swapin_thp() fails, the other pages come back one at a time.
    TestKernel t = make();
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        const std::uint64_t ps = c.k.page_size();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        for (unsigned i = 0; i < 16; ++i)
            fill_page(c, user_access(c, mm, kBase + i * ps, AccessKind::Write), i);
        ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, mm, kBase), {{&mm, kBase}}));
        // Drop the swap PTE of page 0 as a zap would, and map a fresh page there.
        vm_area_struct& vma = *mm.vma_at(kBase);
        zap_vma_range(c, vma, kBase, ps);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 15);
        fill_page(c, user_access(c, mm, kBase, AccessKind::Write), 100);
        const PAddr pa = user_access(c, mm, kBase + 9 * ps, AccessKind::Read);
        EXPECT_EQ(folio_nr_pages(c, page_folio(c, pa / ps)), 1u) << "order-0 swap-in";
        EXPECT_TRUE(page_holds(c, pa, 9));
        EXPECT_TRUE(a.is_swap_pte(pte_at(c, mm, kBase + 8 * ps)));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 14);
        for (unsigned i = 1; i < 16; ++i)
            EXPECT_TRUE(page_holds(c, user_access(c, mm, kBase + i * ps, AccessKind::Read), i)) << i;
        EXPECT_TRUE(page_holds(c, user_access(c, mm, kBase, AccessKind::Read), 100));
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

TEST_P(Swap, EachCpuAllocatesFromItsOwnClusterAndSwapInWorksOnAnother)
{
    TestKernel t = make();
    mm_struct* mm = nullptr;
    std::vector<pgoff_t> slots(2);
    const std::uint64_t ps = t.k->page_size();
    // Core 0 and core 1 each fault in and swap out a page: their order-0 clusters differ.
    for (unsigned core = 0; core < 2; ++core) {
        t.run(core, [&](Ctx& c) {
            if (!mm) {
                mm = &c.k.mm_alloc(c);
                do_mmap(c, *mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
            }
            const Addr va = kBase + core * ps;
            fill_page(c, user_access(c, *mm, va, AccessKind::Write), 40 + core);
            ASSERT_TRUE(test_swap_out_folio(c, folio_at(c, *mm, va), {{mm, va}}));
            slots[core] = swp_offset(c.k.arch().pte_to_swp_entry(pte_at(c, *mm, va)));
            EXPECT_EQ(c.cpu.load(c.k.swap().pcp_si(c.cpu.id(), 0), 8), c.k.swap().si().addr)
                << "this CPU's order-0 cluster is on the device";
        });
    }
    const unsigned cluster = t.k->swap().swapfile_cluster();
    EXPECT_EQ(slots[0], 1u);
    EXPECT_NE(slots[1] / cluster, slots[0] / cluster) << "per-CPU clusters";
    // Both come back on the other core, with their data; the swap costs are charged as software.
    t.run(1, [&](Ctx& c) {
        const Cycles sw = c.cpu.cycles(hw::Category::Software);
        EXPECT_TRUE(page_holds(c, user_access(c, *mm, kBase, AccessKind::Read), 40));
        EXPECT_GE(c.cpu.cycles(hw::Category::Software) - sw,
                  c.k.config().software.swap_read * (ps / (4 * KiB)))
            << "the synchronous read (software.swap_read per 4 KiB)";
    });
    t.run(0, [&](Ctx& c) {
        EXPECT_TRUE(page_holds(c, user_access(c, *mm, kBase + ps, AccessKind::Read), 41));
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        exit_mmap(c, *mm);
        c.k.mm_free(c, *mm);
    });
}

TEST_P(Swap, WriteoutChargesTheSubmissionOnly)
{
    TestKernel t = make();
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        for (unsigned i = 0; i < 16; ++i)
            fill_page(c, user_access(c, mm, kBase + i * c.k.page_size(), AccessKind::Write), i);
        const Folio f = folio_at(c, mm, kBase);
        folio_get(c, f);
        folio_lock(c, f);
        ASSERT_EQ(folio_alloc_swap(c, f), 0);
        EXPECT_EQ(folio_dup_swap(c, f, std::nullopt), 0); // as if unmapped (the data is still mapped too)
        const Cycles sw = c.cpu.cycles(hw::Category::Software);
        EXPECT_EQ(swap_writeout(c, f), 0);
        EXPECT_EQ(c.cpu.cycles(hw::Category::Software) - sw, c.k.config().software.swap_submit)
            << "one bio for the 64K folio; no wait for the device";
        EXPECT_FALSE(folio_test_flag(c, f, PG_writeback)) << "completed";
        EXPECT_FALSE(folio_test_flag(c, f, PG_locked)) << "swap_writeout() unlocks";
        EXPECT_EQ(c.k.swap().store->size(), 16u);
        EXPECT_EQ(c.k.swap().events.pswpout, 16u);
        // Undo: the slots' counts, the swap cache.
        folio_lock(c, f);
        folio_put_swap(c, f, std::nullopt);
        EXPECT_TRUE(folio_free_swap(c, f));
        folio_unlock(c, f);
        folio_put(c, f);
        EXPECT_TRUE(c.k.swap().store->empty());
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
    });
}

TEST_P(Swap, PinnedPageIsNotSwappedOutAndTheSwapCacheGoesAtExit)
{
    // folio_try_share_anon_rmap_pte() refuses a possibly pinned exclusive page (a small folio's refcount
    // carries GUP_PIN_COUNTING_BIAS per pin): the PTE is restored, nothing is lost. The folio stays in the swap
    // cache with its slot at count 0 until the zap at exit frees both (free_swap_cache() in the mmu_gather).
    constexpr int GUP_PIN_COUNTING_BIAS = 1 << 10;
    TestKernel t = make({"cores=2", "simulation.check=true"});
    t.run([&](Ctx& c) {
        const mm::Arch& a = c.k.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
        const PAddr pa = user_access(c, mm, kBase, AccessKind::Write);
        fill_page(c, pa, 3);
        const Folio f = folio_at(c, mm, kBase);
        folio_ref_add(c, f, GUP_PIN_COUNTING_BIAS); // pin_user_pages()
        EXPECT_FALSE(test_swap_out_folio(c, f, {{&mm, kBase}}));
        const pte_t pte = pte_at(c, mm, kBase);
        ASSERT_TRUE(a.pte_present(pte));
        EXPECT_EQ(a.pte_pfn(pte), f.pfn);
        EXPECT_TRUE(PageAnonExclusive(c, f.pfn));
        EXPECT_TRUE(page_holds(c, pa, 3));
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 1);
        EXPECT_EQ(get_mm_counter(c, mm, MM_SWAPENTS), 0);
        EXPECT_TRUE(folio_test_swapcache(c, f));
        EXPECT_EQ(__swap_count(c, folio_swap(c, f)), 0) << "folio_put_swap() undid the dup";
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 1);
        folio_ref_sub(c, f, GUP_PIN_COUNTING_BIAS); // unpin_user_page()
        const std::uint64_t freed = c.k.stats().folios_freed;
        exit_mmap(c, mm);
        c.k.mm_free(c, mm);
        EXPECT_EQ(swap_usage_in_pages(c, c.k.swap().si()), 0);
        EXPECT_GE(c.k.stats().folios_freed, freed + 1) << "the folio freed after leaving the swap cache";
    });
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed);
}

// arm64's larger granules: a cluster is HPAGE_PMD_NR slots (2048 with 16K pages, 8192 with 64K), its table
// still one page; swap-out and a large swap-in work the same.
TEST(SwapGranules, Arm64SixteenAndSixtyFourK)
{
    for (const std::string size : {"16K", "64K"}) {
        const std::string granule = "page_table.granule=" + size;
        for (const unsigned order : {0u, 4u}) {
            TestKernel t = make_kernel("neoverse-n1", {"cores=2", granule}, {"kernel.folio_size=" + size});
            const std::uint64_t ps = t.k->page_size();
            EXPECT_EQ(t.k->swap().swapfile_cluster(), ps / 8) << granule;
            swap_out_and_in(t, order);
            EXPECT_EQ(t.k->swap().events.pswpin, 1u << order) << granule;
            EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed) << granule;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Platforms, Swap, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);

} // namespace
