// SPDX-License-Identifier: GPL-2.0-only
// PMD-mapped anonymous THPs (mm/huge_memory.cc) on arm64, x86 and RISC-V: a write fault in a MADV_HUGEPAGE VMA maps a
// PMD leaf with the folio state upstream leaves (entire mapcount, one reference, head anon-exclusive, rss,
// a deposited PTE table) and one walk gives a PMD-sized TLB entry; a read maps the huge zero folio and the next
// write replaces it with a THP (no stale translation: checked mode); the access flag is set at PMD level;
// munmap and exit give every THP and deposited table back; what needs a PMD split, fork or mprotect of a PMD
// leaf is refused by name.
#include "kernel_test_util.hh"

#include "mm/fork.hh"
#include "mm/huge_memory.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000; // 1 GiB: PMD-aligned
constexpr std::uint64_t kPmd = 2 * MiB;

class HugeMemory : public PlatformTest {};

// A private anonymous read-write mapping of `len` at kBase, madvised MADV_HUGEPAGE.
mm_struct& thp_process(Ctx& c, std::uint64_t len)
{
    mm_struct& mm = c.k.mm_alloc(c);
    EXPECT_EQ(vm_mmap_pgoff(c, mm, kBase, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0), kBase);
    EXPECT_EQ(do_madvise(c, mm, kBase, len, MADV_HUGEPAGE), 0);
    EXPECT_TRUE(mm.vma_at(kBase)->vm_flags & VM_HUGEPAGE);
    return mm;
}

int pmd_depth(const TestKernel& t) { return t.k->format().levels() - 2; }

} // namespace

TEST_P(HugeMemory, WriteFaultMapsAPmdLeaf)
{
    TestKernel t = make({"cores=1"});
    mm_struct* mm = nullptr;
    PAddr pa = 0;
    std::uint64_t walks_before = 0;
    t.run([&](Ctx& c) {
        ASSERT_EQ(hpage_pmd_size(c), kPmd);
        mm = &thp_process(c, 4 * kPmd);
        pa = user_access(c, *mm, kBase + 5 * 4096 + 8, AccessKind::Write);
        const Folio f = page_folio(c, pa >> c.k.page_shift());
        EXPECT_EQ(folio_order(c, f), 9u);
        EXPECT_EQ(folio_ref_count(c, f), 1) << "one reference for the one PMD mapping";
        EXPECT_EQ(folio_entire_mapcount(c, f), 1);
        EXPECT_EQ(folio_mapcount(c, f), 1) << "_large_mapcount counts the PMD once";
        EXPECT_TRUE(PageAnonExclusive(c, f.pfn)) << "the head page's flag stands for the PMD mapping";
        EXPECT_TRUE(folio_test_anon(c, f));
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), 512);
        // The rest of the 2M needs no fault, and the TLB holds one 2M entry: no more walks.
        const std::uint64_t faults = c.k.stats().faults;
        walks_before = c.cpu.mmu().stats().walks;
        for (Addr va = kBase; va < kBase + kPmd; va += 4096)
            EXPECT_EQ(user_access(c, *mm, va, AccessKind::Write), (f.pfn << 12) + (va - kBase));
        EXPECT_EQ(c.k.stats().faults, faults);
        EXPECT_EQ(c.cpu.mmu().stats().walks, walks_before) << "every page hits the PMD-sized TLB entry";
    });
    const hw::Descriptor d = leaf_desc(t, *mm, kBase);
    EXPECT_EQ(d.type, hw::Descriptor::Type::Leaf);
    EXPECT_EQ(d.oa, (pa & ~(kPmd - 1)));
    EXPECT_TRUE(d.write);
    const hw::WalkStep s = hw::walk_down(t.k->format(), mm->pgd, kBase, [&](PAddr a) { return t.p->inspect().read64(a); });
    EXPECT_EQ(s.depth, pmd_depth(t)) << "a PMD leaf, not a PTE";
    EXPECT_EQ(pa % kPmd, 5u * 4096 + 8);
    const MmStats& st = t.k->stats();
    EXPECT_EQ(st.thp_fault_alloc, 1u);
    EXPECT_EQ(st.anon_fault_alloc, (std::map<unsigned, std::uint64_t>{{9, 1}}));
    EXPECT_EQ(st.batches.count("set_ptes"), 0u) << "no PTE was set";
    // The PTE table a split would need is allocated at fault time and deposited: counted in the mm's tables.
    const std::uint64_t pte_table = t.k->format().table_bytes(t.k->format().levels() - 1);
    EXPECT_GE(mm->pgtables_bytes, pte_table);
    EXPECT_EQ(rss(t, *mm, MM_ANONPAGES), 512);
}

TEST_P(HugeMemory, ReadMapsTheHugeZeroFolioAndAWriteReplacesIt)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    mm_struct* mm = nullptr;
    PAddr zero = 0;
    // Core 1 reads: the huge zero PMD, now in core 1's TLB.
    t.run(1, [&](Ctx& c) {
        mm = &thp_process(c, 4 * kPmd);
        zero = user_access(c, *mm, kBase + 3 * 4096, AccessKind::Read);
        ASSERT_TRUE(c.k.huge_zero().folio);
        EXPECT_EQ(zero >> 12, c.k.huge_zero().folio->pfn + 3);
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), 0);
        EXPECT_EQ(c.k.stats().huge_zero_page_faults, 1u);
        // A read of another 2M region shares the same huge zero folio.
        EXPECT_EQ(user_access(c, *mm, kBase + kPmd, AccessKind::Read) >> 12, c.k.huge_zero().folio->pfn);
    });
    // Core 0 writes: a permission fault on the read-only huge zero PMD, do_huge_zero_wp_pmd().
    t.run(0, [&](Ctx& c) {
        const PAddr pa = user_access(c, *mm, kBase + 3 * 4096, AccessKind::Write);
        EXPECT_NE(pa >> 21, zero >> 21);
        EXPECT_EQ(get_mm_counter(c, *mm, MM_ANONPAGES), 512);
        EXPECT_EQ(c.k.stats().thp_fault_alloc, 1u);
        EXPECT_EQ(user_access(c, *mm, kBase + 4096, AccessKind::Read), pa - 2 * 4096);
    });
    // No TLB anywhere (core 1's above all) still holds the read-only zero translation for the region.
    t.p->oracle().require_clean(kBase, kBase + kPmd - 1, mm->asid, mm->pgd);
    const hw::Descriptor d = leaf_desc(t, *mm, kBase);
    EXPECT_TRUE(d.write);
    const hw::Descriptor z = leaf_desc(t, *mm, kBase + kPmd);
    EXPECT_EQ(z.oa >> 12, t.k->huge_zero().folio->pfn);
    EXPECT_FALSE(z.write) << "the huge zero PMD is read-only";
    EXPECT_EQ(t.k->stats().huge_zero_page_faults, 2u);
}

TEST(HugeMemoryNoHardwareAccessFlag, AccessFlagIsSetAtPmdLevel)
{
    // Without a hardware access flag (arm64 HAFDBS none, RISC-V without Svadu) an old PMD leaf faults;
    // huge_pmd_set_accessed() makes it young. (x86 always sets A in hardware.)
    const std::pair<const char*, const char*> cases[] = {{"neoverse-n1", "features.hafdbs=none"},
                                                         {"riscv-sv39", "features.svadu=false"}};
    for (const auto& [platform, no_hw_af] : cases) {
        TestKernel t = make_kernel(platform, {"cores=1", no_hw_af});
        t.run([&](Ctx& c) {
            mm_struct& mm = thp_process(c, kPmd);
            user_access(c, mm, kBase, AccessKind::Write);
            // Age the leaf as reclaim would (pmdp_test_and_clear_young()) and drop its TLB entry.
            const PtePtr pmd = pmd_offset_lookup(c, mm, kBase);
            const pte_t old = c.k.arch().pte_mkold(pte_t{c.cpu.load(pmd, 8)});
            c.cpu.store(pmd, old.val, 8);
            c.k.arch().flush_tlb_mm(c, mm);
            const std::uint64_t faults = c.k.stats().faults;
            EXPECT_NE(c.cpu.translate(kBase + 4096, AccessKind::Read).fault, hw::Fault::None) << platform;
            user_access(c, mm, kBase + 4096, AccessKind::Read);
            EXPECT_EQ(c.k.stats().faults, faults + 1) << platform;
            EXPECT_TRUE(c.k.arch().pte_young(pte_t{c.cpu.load(pmd, 8)})) << platform;
            EXPECT_EQ(c.k.stats().thp_fault_alloc, 1u) << platform << ": no new folio";
        });
    }
}

TEST_P(HugeMemory, MunmapAndExitGiveEveryThpAndDepositedTableBack)
{
    TestKernel t = make({"cores=2", "simulation.check=true"});
    std::uint64_t before = 0, after = 0;
    t.run([&](Ctx& c) {
        {
            // Warm-up: the huge zero folio (kept for good, as upstream when its shrinker does not run) and the
            // per-CPU state an architecture allocates on its first flush.
            mm_struct& mm = thp_process(c, kPmd);
            user_access(c, mm, kBase, AccessKind::Read);
            user_access(c, mm, kBase, AccessKind::Write);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        }
        before = c.k.page_alloc().free_bytes();
        mm_struct& mm = thp_process(c, 4 * kPmd);
        // Three THPs in one PMD table (two deposited tables queued under it at once), one huge zero PMD.
        user_access(c, mm, kBase, AccessKind::Write);
        user_access(c, mm, kBase + kPmd, AccessKind::Write);
        user_access(c, mm, kBase + 2 * kPmd + 8, AccessKind::Write);
        user_access(c, mm, kBase + 3 * kPmd, AccessKind::Read);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 3 * 512);
        const std::uint64_t freed = c.k.stats().folios_freed;
        EXPECT_EQ(__vm_munmap(c, mm, kBase + kPmd, kPmd), 0) << "zap_huge_pmd() of a whole PMD";
        EXPECT_EQ(c.k.stats().folios_freed, freed + 1);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 2 * 512);
        exit_mmap(c, mm);
        EXPECT_EQ(get_mm_counter(c, mm, MM_ANONPAGES), 0);
        EXPECT_EQ(mm.pgtables_bytes, 0u);
        c.k.mm_free(c, mm);
        after = c.k.page_alloc().free_bytes();
    });
    EXPECT_EQ(after, before);
    EXPECT_EQ(t.k->stats().folios_allocated, t.k->stats().folios_freed + 1) << "all but the huge zero folio";
    EXPECT_EQ(t.k->stats().pgtables_allocated, t.k->stats().pgtables_freed);
    EXPECT_EQ(t.k->stats().thp_fault_alloc, 4u);
}

TEST_P(HugeMemory, SplitForkAndMprotectOfAPmdLeafAreRefusedByName)
{
    const auto fails_with = [&](const std::function<void(Ctx&, mm_struct&)>& op, const std::string& what) {
        TestKernel t = make({"cores=1"});
        try {
            t.run([&](Ctx& c) {
                mm_struct& mm = thp_process(c, kPmd);
                user_access(c, mm, kBase, AccessKind::Write);
                op(c, mm);
            });
        } catch (const std::logic_error& e) {
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
            return;
        }
        ADD_FAILURE() << "no error mentioning " << what;
    };
    fails_with([](Ctx& c, mm_struct& mm) { __vm_munmap(c, mm, kBase, 4096); }, "__split_huge_pmd");
    fails_with([](Ctx& c, mm_struct& mm) { do_madvise(c, mm, kBase + kPmd / 2, 4096, MADV_DONTNEED); }, "__split_huge_pmd");
    fails_with([](Ctx& c, mm_struct& mm) { copy_mm(c, mm); }, "copy_huge_pmd");
    fails_with([](Ctx& c, mm_struct& mm) { do_mprotect_pkey(c, mm, kBase, kPmd, PROT_READ); }, "change_huge_pmd");
}

TEST_P(HugeMemory, WithoutMadvHugepageAPmdSizedFolioIsPteMapped)
{
    // The experiments' PTE-mapped PMD-sized folios: a VMA of the PMD order without VM_HUGEPAGE.
    TestKernel t = make({"cores=1"});
    t.run([&](Ctx& c) {
        mm_struct& mm = c.k.mm_alloc(c);
        do_mmap(c, mm, kBase, kPmd, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 9);
        user_access(c, mm, kBase, AccessKind::Write);
        EXPECT_EQ(c.k.stats().thp_fault_alloc, 0u);
        EXPECT_EQ(c.k.stats().batches.at("set_ptes").at(512), 1u);
        exit_mmap(c, mm);
    });
}

INSTANTIATE_TEST_SUITE_P(Arch, HugeMemory, ::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), platform_name);
