// SPDX-License-Identifier: GPL-2.0-only
// The port's strongest property (DESIGN.md "The port"): batched and unbatched kernels running the same
// workload end in identical page tables, mm counters and folio state; only the cycles differ. A random
// workload of mmap / touch / fork / mprotect / munmap / MADV_DONTNEED / swap-out / exit runs with kernel.pte_batch on,
// off, and max_pte_batch 2 and 4, in checked mode (no TLB may reach a freed frame); the final states are
// compared byte for byte (arm64's contiguous bit aside: an unbatched kernel unfolds contpte blocks a batched
// one keeps; without contpte they are identical to the bit), and every run gives all its memory back at the end.
#include "kernel_test_util.hh"
#include "mm_snapshot.hh"
#include "swap_test_util.hh"

#include "mm/fork.hh"
#include "mm/madvise.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kBase = 0x40000000;
constexpr std::uint64_t kRegion = 4 * MiB; // two PTE tables' worth with 4K pages

struct Outcome {
    std::string state;        // page tables, counters, folios
    std::uint64_t leaked = 0; // bytes not given back after every mm exited
    std::uint64_t allowed_leak = 0; // what the architecture keeps for good (see below)
    bool balanced = false;    // every folio and page table allocated was freed
    std::uint64_t cycles = 0;
    std::uint64_t batched_calls = 0; // folio_pte_batch() calls that returned more than one
    std::uint64_t swapped_out = 0;   // folios the swap-out ops unmapped and wrote
    std::uint64_t swapped_in = 0;    // pages read back (or cleared from the zeromap) by swap faults
};

Outcome run_workload(const std::string& platform, const std::vector<std::string>& kernel_sets, unsigned seed)
{
    TestKernel t = make_kernel(platform, {"cores=2", "simulation.check=true"}, kernel_sets);
    Outcome out;
    t.run([&](Ctx& c) {
        std::mt19937_64 rng(seed);
        const auto pick = [&](std::uint64_t n) { return static_cast<std::uint64_t>(rng() % n); };
        const std::uint64_t page = c.k.page_size();
        {
            // Per-CPU state an architecture keeps for good (x86 cpu_tlbstate) comes before the baseline.
            mm_struct& mm = c.k.mm_alloc(c);
            do_mmap(c, mm, kBase, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
            user_access(c, mm, kBase, AccessKind::Write);
            exit_mmap(c, mm);
            c.k.mm_free(c, mm);
        }
        const std::uint64_t baseline = c.k.page_alloc().free_bytes();
        std::vector<mm_struct*> mms{&c.k.mm_alloc(c)};
        unsigned mms_created = 2; // with the warm-up's
        const unsigned orders[] = {0, 2, 4};
        for (int op = 0; op < 250; ++op) {
            mm_struct& mm = *mms[pick(mms.size())];
            const Addr start = kBase + pick(kRegion / page) * page;
            const std::uint64_t len = (1 + pick(64)) * page;
            const std::uint64_t r = pick(100);
            if (r < 15) {
                const Addr s = kBase + pick(kRegion / (64 * KiB)) * 64 * KiB;
                const unsigned prot = pick(4) ? PROT_READ | PROT_WRITE : PROT_READ;
                do_mmap(c, mm, s, (1 + pick(4)) * 64 * KiB, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                        static_cast<int>(orders[pick(3)]));
            } else if (r < 60) {
                if (mm.vmas.empty())
                    continue;
                auto it = mm.vmas.begin();
                std::advance(it, static_cast<long>(pick(mm.vmas.size())));
                const vm_area_struct& vma = it->second;
                for (int k = 0; k < 8; ++k) {
                    const Addr va = vma.vm_start + pick((vma.vm_end - vma.vm_start) / page) * page;
                    const bool write = (vma.vm_flags & VM_WRITE) && pick(3);
                    const PAddr pa = user_access(c, mm, va, write ? AccessKind::Write : AccessKind::Read);
                    if (write) // data, so that swap-out writes it and swap-in must bring it back
                        c.cpu.store(pa, va ^ static_cast<std::uint64_t>(op), 8);
                }
            } else if (r < 68) {
                if (mms.size() < 3) {
                    mms.push_back(&copy_mm(c, mm));
                    ++mms_created;
                }
            } else if (r < 80) {
                do_mprotect_pkey(c, mm, start, len, pick(2) ? PROT_READ : PROT_READ | PROT_WRITE);
            } else if (r < 88) {
                __vm_munmap(c, mm, start, len);
            } else if (r < 92) {
                do_madvise(c, mm, start, len, MADV_DONTNEED);
            } else if (r < 98) {
                // swap-out of up to four folios mapped in one VMA, from every mm mapping them there (the test
                // helper, as reclaim would)
                if (mm.vmas.empty())
                    continue;
                auto it = mm.vmas.begin();
                std::advance(it, static_cast<long>(pick(mm.vmas.size())));
                vm_area_struct& vma = it->second;
                for (int k = 0; k < 4; ++k) {
                    const Addr va = vma.vm_start + pick((vma.vm_end - vma.vm_start) / page) * page;
                    const pte_t pte = pte_at(c, mm, va);
                    if (!c.k.arch().pte_present(pte))
                        continue;
                    const std::optional<pfn_t> pg = vm_normal_page(c, vma, va, pte);
                    if (!pg)
                        continue;
                    const Folio folio = page_folio(c, *pg);
                    const Addr fstart = va - (*pg - folio_pfn(folio)) * page;
                    std::vector<Mapping> maps;
                    for (mm_struct* m : mms)
                        maps.push_back({m, fstart});
                    if (test_swap_out_folio(c, folio, maps))
                        ++out.swapped_out;
                }
            } else if (mms.size() > 1) {
                const std::size_t i = 1 + pick(mms.size() - 1);
                exit_mmap(c, *mms[i]);
                c.k.mm_free(c, *mms[i]);
                mms.erase(mms.begin() + static_cast<long>(i));
            }
        }
        const bool contpte = c.k.format().arch() == mmusim::Arch::Arm64 && c.k.config().switches.contpte;
        out.state = snapshot(t, mms, contpte);
        for (mm_struct* mm : mms) {
            exit_mmap(c, *mm);
            c.k.mm_free(c, *mm);
        }
        out.leaked = baseline - c.k.page_alloc().free_bytes();
        out.cycles = c.cpu.now();
        // x86 (mm/arch/x86/tlb.cc) keeps a 64-byte cpu_tlbstate context, for good, per mm a CPU met beyond
        // its six dynamic ASID slots; at most one per mm here. Nothing else may stay (exact on arm64).
        if (c.k.format().arch() == mmusim::Arch::X86_64)
            out.allowed_leak = 64 * static_cast<std::uint64_t>(std::max(0, static_cast<int>(mms_created) - 6));
    });
    out.swapped_in = t.k->swap().events.pswpin + t.k->swap().events.swpin_zero;
    out.balanced = t.k->stats().folios_allocated == t.k->stats().folios_freed &&
                   t.k->stats().pgtables_allocated == t.k->stats().pgtables_freed;
    const auto it = t.k->stats().batches.find("folio_pte_batch");
    if (it != t.k->stats().batches.end())
        for (const auto& [nr, calls] : it->second)
            if (nr > 1)
                out.batched_calls += calls;
    return out;
}

class Differential : public ::testing::TestWithParam<std::tuple<const char*, unsigned>> {};

TEST_P(Differential, BatchingChangesCyclesOnly)
{
    const auto [platform, seed] = GetParam();
    const Outcome batched = run_workload(platform, {}, seed);
    EXPECT_TRUE(batched.balanced);
    EXPECT_LE(batched.leaked, batched.allowed_leak);
    EXPECT_EQ(batched.leaked % 64, 0u);
    EXPECT_GT(batched.batched_calls, 0u) << "the workload must exercise batches";
    EXPECT_NE(batched.state.find("folio"), std::string::npos) << "the workload must leave folios mapped";
    EXPECT_GT(batched.swapped_out, 0u) << "the workload must swap out";
    EXPECT_GT(batched.swapped_in, 0u) << "the workload must swap in";
    EXPECT_NE(batched.state.find(" swap "), std::string::npos) << "the workload must leave swap PTEs";
    for (const std::vector<std::string>& sets : std::vector<std::vector<std::string>>{
             {"kernel.pte_batch=false"}, {"kernel.max_pte_batch=2"}, {"kernel.max_pte_batch=4"}}) {
        const Outcome other = run_workload(platform, sets, seed);
        EXPECT_TRUE(other.balanced) << sets[0];
        EXPECT_EQ(other.leaked, batched.leaked) << sets[0];
        EXPECT_EQ(other.state, batched.state) << sets[0];
        EXPECT_EQ(other.swapped_out, batched.swapped_out) << sets[0];
        EXPECT_EQ(other.swapped_in, batched.swapped_in) << sets[0];
        EXPECT_NE(other.cycles, batched.cycles) << sets[0] << ": the batches must have made a difference";
        if (sets[0] == "kernel.pte_batch=false") {
            EXPECT_EQ(other.batched_calls, 0u);
        }
    }
}

// Without contpte, arm64's page tables are identical to the bit, the contiguous bit included.
TEST(DifferentialNoContpte, Arm64PageTablesIdenticalToTheBit)
{
    const Outcome batched = run_workload("neoverse-n1", {"kernel.contpte=false"}, 4);
    const Outcome unbatched = run_workload("neoverse-n1", {"kernel.contpte=false", "kernel.pte_batch=false"}, 4);
    EXPECT_GT(batched.batched_calls, 0u);
    EXPECT_EQ(unbatched.state, batched.state);
    EXPECT_NE(unbatched.cycles, batched.cycles);
}

std::string name(const ::testing::TestParamInfo<std::tuple<const char*, unsigned>>& i)
{
    std::string s = std::get<0>(i.param);
    std::replace(s.begin(), s.end(), '-', '_');
    return s + "_seed" + std::to_string(std::get<1>(i.param));
}

INSTANTIATE_TEST_SUITE_P(Workloads, Differential,
                         ::testing::Combine(::testing::Values("neoverse-n1", "skylake-sp", "riscv-sv39"), ::testing::Values(1u, 2u, 3u)),
                         name);

} // namespace
