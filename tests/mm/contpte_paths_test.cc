// SPDX-License-Identifier: GPL-2.0-only
// The batched paths on arm64 contpte, end to end through the kernel (issue 8, "Counts"): a 64K fault is one
// set_ptes() of 16 that writes the block contiguous; munmap of a whole block converts nothing when batched and
// unfolds exactly once when PTEs go one at a time; fork and mprotect of whole blocks keep them folded.
#include "kernel_test_util.hh"

#include "mm/fork.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;
constexpr unsigned kBlock = 16; // CONT_PTES with a 4K granule

TestKernel n1(bool batched) { return make_kernel("neoverse-n1", {"cores=2"}, {std::string("kernel.pte_batch=") + (batched ? "true" : "false")}); }

// Maps one 64K-folio region of `blocks` blocks in a new mm and writes every page.
mm_struct& fault_in(Ctx& c, unsigned blocks)
{
    mm_struct& mm = c.k.mm_alloc(c);
    EXPECT_EQ(vm_mmap_pgoff(c, mm, kBase, blocks * 64 * KiB, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4),
              kBase);
    for (unsigned i = 0; i < blocks * kBlock; ++i)
        user_access(c, mm, kBase + i * 4096, AccessKind::Write);
    return mm;
}

unsigned cont_entries(const TestKernel& t, const mm_struct& mm, unsigned pages)
{
    unsigned n = 0;
    for (unsigned i = 0; i < pages; ++i)
        n += t.k->arch().pte_cont(pte_t{leaf_raw(t, mm, kBase + i * 4096)});
    return n;
}

} // namespace

TEST(ContptePaths, A64KFaultIsOneSetPtesOf16ThatWritesTheBlockContiguous)
{
    TestKernel t = n1(true);
    mm_struct* mm = nullptr;
    t.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        vm_mmap_pgoff(c, *mm, kBase, 64 * KiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 4);
        user_access(c, *mm, kBase + 7 * 4096, AccessKind::Write);
    });
    const MmStats& s = t.k->stats();
    EXPECT_EQ(s.batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}}));
    EXPECT_EQ(s.contpte_folds, 0u);
    EXPECT_EQ(s.contpte_unfolds, 0u);
    EXPECT_EQ(s.contpte_converts, 0u);
    EXPECT_EQ(cont_entries(t, *mm, kBlock), kBlock);
    EXPECT_EQ(t.p->core(0).counters().tlbi_issued, 0u) << "nothing to flush: the entries were none";
}

TEST(ContptePaths, MunmapOfAWholeBlockConvertsNothingWhenBatchedAndUnfoldsOnceOtherwise)
{
    for (const bool batched : {true, false}) {
        TestKernel t = n1(batched);
        MmStats before;
        t.run([&](Ctx& c) {
            mm_struct& mm = fault_in(c, 1);
            EXPECT_EQ(cont_entries(t, mm, kBlock), kBlock) << "folded (batched: written contiguous; else: folded on the 16th)";
            before = c.k.stats();
            EXPECT_EQ(__vm_munmap(c, mm, kBase, 64 * KiB), 0);
        });
        const MmStats d = t.k->stats().since(before);
        if (batched) {
            EXPECT_EQ(d.contpte_converts, 0u);
            EXPECT_EQ(d.batches.at("clear_full_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}}));
        } else {
            EXPECT_EQ(d.contpte_unfolds, 1u) << "the first single-PTE clear unfolds the block, the rest are plain";
            EXPECT_EQ(d.contpte_converts, 1u);
            EXPECT_EQ(d.batches.at("clear_full_ptes"), (std::map<unsigned, std::uint64_t>{{1, 16}}));
        }
    }
}

TEST(ContptePaths, ForkAndMprotectKeepWholeBlocksFolded)
{
    TestKernel t = n1(true);
    mm_struct* parent = nullptr;
    mm_struct* child = nullptr;
    MmStats before;
    t.run([&](Ctx& c) {
        parent = &fault_in(c, 4);
        before = c.k.stats();
        child = &copy_mm(c, *parent);
        EXPECT_EQ(do_mprotect_pkey(c, *parent, kBase, 4 * 64 * KiB, PROT_READ), 0);
    });
    const MmStats d = t.k->stats().since(before);
    EXPECT_EQ(d.contpte_converts, 0u) << "wrprotect_ptes and modify_prot of whole blocks repaint them in place";
    EXPECT_EQ(cont_entries(t, *parent, 4 * kBlock), 4 * kBlock);
    EXPECT_EQ(cont_entries(t, *child, 4 * kBlock), 4 * kBlock) << "the child's set_ptes(16) writes them contiguous";
    for (unsigned i = 0; i < 4 * kBlock; ++i) {
        EXPECT_FALSE(t.k->arch().pte_write(pte_t{leaf_raw(t, *parent, kBase + i * 4096)})) << i;
        EXPECT_FALSE(t.k->arch().pte_write(pte_t{leaf_raw(t, *child, kBase + i * 4096)})) << i;
    }
}

TEST(ContptePaths, OnePteAtATimeUnfoldsAndRefoldsOnFork)
{
    // The unbatched kernel write-protects the parent one PTE at a time (an unfold per block) and sets the
    // child's one at a time (a fold per block on its last PTE): two converts per block, each a flush.
    TestKernel t = n1(false);
    MmStats before;
    t.run([&](Ctx& c) {
        mm_struct& parent = fault_in(c, 4);
        before = c.k.stats();
        copy_mm(c, parent);
    });
    const MmStats d = t.k->stats().since(before);
    EXPECT_EQ(d.contpte_unfolds, 4u);
    EXPECT_EQ(d.contpte_folds, 4u);
    EXPECT_EQ(d.contpte_converts, 8u);
}
