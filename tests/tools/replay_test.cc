// SPDX-License-Identifier: GPL-2.0-only
// End-to-end replays whose TLB counts are known in advance. A first touch faults, and the faulting access is
// retried after the kernel's fault path maps it (as the instruction would be re-executed), so each first touch
// costs two lookups at every level. The kernel maps the shared zero page for a read of untouched memory
// (do_anonymous_page()) and a new folio of kernel.folio_size for a write, so tests about folios write.
#include "replay_test_util.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;

namespace {
constexpr Addr kBase = 0x10000000;
}

TEST(Replay, WorkingSetJustUnderL1Reach)
{
    // Neoverse N1: L1 DTLB 48 entries, fully associative LRU.
    const int passes = 10;
    const auto r = replay("neoverse-n1", write_temp("under.trace", cyclic_trace(kBase, 48, 4096, passes)), "native");
    const auto& t = r["totals"];
    EXPECT_EQ(u(t["tlb"]["l1d"]["accesses"]), 48u * passes + 48);
    EXPECT_EQ(u(t["tlb"]["l1d"]["misses"]), 2u * 48);
    EXPECT_EQ(u(t["page_faults"]), 48u);
    EXPECT_EQ(u(t["walks"]), 2u * 48);
    EXPECT_EQ(u(t["tlb"]["l1i"]["accesses"]), 0u);
}

TEST(Replay, WorkingSetJustOverL1ReachHitsInL2)
{
    const int passes = 10;
    const auto r = replay("neoverse-n1", write_temp("over.trace", cyclic_trace(kBase, 49, 4096, passes)), "native");
    const auto& t = r["totals"];
    EXPECT_EQ(u(t["tlb"]["l1d"]["misses"]), 49u * passes + 49) << "cyclic over LRU capacity: every access misses";
    EXPECT_EQ(u(t["tlb"]["l2"]["misses"]), 2u * 49);
    EXPECT_EQ(u(t["tlb"]["l2"]["hits"]), 49u * (passes - 1));
}

TEST(Replay, WorkingSetAtAndOverL2Reach)
{
    // L2 TLB 1280 entries, 5-way, 256 sets; consecutive pages fill the sets evenly.
    const int passes = 3;
    const auto at = replay("neoverse-n1", write_temp("l2at.trace", cyclic_trace(kBase, 1280, 4096, passes)), "native");
    EXPECT_EQ(u(at["totals"]["tlb"]["l2"]["misses"]), 2u * 1280);
    const auto over = replay("neoverse-n1", write_temp("l2over.trace", cyclic_trace(kBase, 1281, 4096, passes)), "native");
    // One set now holds six pages: under LRU those six miss on every later pass.
    EXPECT_EQ(u(over["totals"]["tlb"]["l2"]["misses"]), 2u * 1281 + 6u * (passes - 1));
}

TEST(Replay, ContiguousRunsOnAndOffWith64KFolios)
{
    const std::uint64_t folios = 8;
    const std::string trace = write_temp("contig.trace", cyclic_trace(kBase, 16 * folios, 4096, 1, 'W'));
    const auto on = replay("neoverse-n1", trace, "native", {"kernel.folio_size=64K"});
    const auto off = replay("neoverse-n1", trace, "native", {"kernel.folio_size=64K", "mmu.contiguous=false"});
    EXPECT_EQ(u(on["totals"]["page_faults"]), folios);
    EXPECT_EQ(u(off["totals"]["page_faults"]), folios);
    // Each fault is one set_ptes() of 16, which contpte_set_ptes() writes as one contiguous block.
    EXPECT_EQ(u(on["mm"]["batches"]["set_ptes"]["16"]), folios);
    EXPECT_EQ(u(on["mm"]["anon_fault_alloc"]["64K"]), folios);
    // Honoured: the fault and its retry walk, the other 15 pages hit the 64K entry.
    EXPECT_EQ(u(on["totals"]["walks"]), 2 * folios);
    EXPECT_EQ(u(on["totals"]["tlb"]["l1d"]["misses"]), 2 * folios);
    // Ignored: every page is its own entry and its own walk.
    EXPECT_EQ(u(off["totals"]["walks"]), 17 * folios);
    EXPECT_LT(u(on["totals"]["translation_cycles"]), u(off["totals"]["translation_cycles"]));
}

TEST(Replay, FolioSizeSetsFaultCount)
{
    const std::string trace = write_temp("folio.trace", cyclic_trace(kBase, 64, 4096, 1, 'W'));
    const auto small = replay("neoverse-n1", trace, "native", {"kernel.folio_size=4K"});
    const auto large = replay("neoverse-n1", trace, "native", {"kernel.folio_size=64K"});
    const auto huge = replay("neoverse-n1", trace, "native", {"kernel.folio_size=2M"});
    EXPECT_EQ(u(small["totals"]["page_faults"]), 64u);
    EXPECT_EQ(u(large["totals"]["page_faults"]), 4u);
    EXPECT_EQ(u(huge["totals"]["page_faults"]), 1u);
    EXPECT_EQ(u(huge["mm"]["thp_fault_alloc"]), 1u) << "a PMD-mapped THP";
    EXPECT_EQ(u(huge["mm"]["rss_anon"]), 512u);
    EXPECT_EQ(u(huge["totals"]["walks"]), 2u) << "one 2M block entry covers all 64 pages";
}

TEST(Replay, PageCrossingAccessIsTwoTranslations)
{
    const auto r = replay("neoverse-n1", write_temp("cross.trace", "R 0x10000ffc 8\nR 0x10002000 4\n"), "native");
    EXPECT_EQ(u(r["trace"]["records"]), 2u);
    EXPECT_EQ(u(r["trace"]["translations"]), 3u);
    EXPECT_EQ(u(r["trace"]["page_splits"]), 1u);
    EXPECT_EQ(u(r["totals"]["page_faults"]), 3u);
}

TEST(Replay, X86AndRiscvPlatformsReplay)
{
    const std::string trace = write_temp("arch.trace", cyclic_trace(kBase, 32, 4096, 2) + cyclic_trace(kBase, 4, 4096, 1, 'X'));
    for (const char* p : {"skylake-sp", "zen4", "riscv-sv39", "neoverse-v2"}) {
        const auto r = replay(p, trace, "native");
        EXPECT_EQ(u(r["totals"]["page_faults"]), 32u) << p;
        EXPECT_EQ(u(r["totals"]["tlb"]["l1i"]["accesses"]), 4u) << p;
        EXPECT_GT(u(r["totals"]["cycles_by_category"]["translation"]), 0u) << p;
    }
}

TEST(Replay, MultiCoreRecordsGoToTheirCores)
{
    std::string dec;
    for (int i = 0; i < 100; ++i)
        dec += "R " + std::to_string(0x10000000 + i * 4096) + " 8 @" + std::to_string(i % 3) + "\n";
    const auto r = replay("neoverse-n1", write_temp("mc.trace", dec), "native", {"cores=3"});
    EXPECT_EQ(u(r["cores"][0]["records"]), 34u);
    EXPECT_EQ(u(r["cores"][1]["records"]), 33u);
    EXPECT_EQ(u(r["cores"][2]["records"]), 33u);
    EXPECT_EQ(u(r["totals"]["page_faults"]), 100u);
}

TEST(Replay, SameInputsGiveIdenticalReports)
{
    const std::string trace = write_temp("det.trace", cyclic_trace(kBase, 300, 4096, 3) + cyclic_trace(kBase, 300, 8192, 2, 'W'));
    const auto a = replay("neoverse-n1", trace, "native", {"cores=2", "kernel.folio_size=16K"});
    const auto b = replay("neoverse-n1", trace, "native", {"cores=2", "kernel.folio_size=16K"});
    EXPECT_EQ(a.dump(2), b.dump(2));
    EXPECT_EQ(a["schema"], "mmusim-report/3");
}

TEST(Replay, CategoriesAddUpToCoreTime)
{
    const auto r = replay("skylake-sp", write_temp("sum.trace", cyclic_trace(kBase, 200, 4096, 2, 'W')), "native");
    std::uint64_t sum = 0;
    for (const auto& [k, v] : r["cores"][0]["cycles_by_category"].items())
        sum += v.get<std::uint64_t>();
    EXPECT_EQ(sum, u(r["cores"][0]["cycles"]));
    // One core: its time is translating, handling faults, and creating the process (mm_alloc, mmap).
    EXPECT_GT(u(r["cores"][0]["startup_cycles"]), 0u);
    EXPECT_EQ(u(r["cores"][0]["fault_cycles"]), u(r["cores"][0]["cycles"]) -
                                                    u(r["cores"][0]["cycles_by_category"]["translation"]) -
                                                    u(r["cores"][0]["startup_cycles"]));
}

TEST(Replay, LackeyTraceOfARealProgram)
{
    const std::string sample = std::string(MMUSIM_SOURCE_DIR) + "/traces/samples/lackey_true.txt.xz";
    const auto r = replay("neoverse-n1", sample, "lackey");
    const auto& c = r["cores"][0];
    EXPECT_GT(u(c["fetches"]), 1000u);
    EXPECT_GT(u(c["reads"]), 1000u);
    EXPECT_GT(u(c["writes"]), 100u);
    EXPECT_GE(u(c["tlb"]["l1i"]["accesses"]), u(c["fetches"]));
    EXPECT_GT(u(c["tlb"]["l1i"]["hits"]), u(c["tlb"]["l1i"]["misses"]));
    EXPECT_GT(u(c["page_faults"]), 10u);
}

TEST(Replay, StrideIntoOneL2SetConflictsThere)
{
    // 1 MiB stride = 256 pages: every page indexes the same set of N1's 256-set, 5-way L2 TLB. Six such pages
    // fit the 48-entry L1 but not the set: after the cold pass L1 hits every time and L2 is never asked.
    const int passes = 5;
    const auto r = replay("neoverse-n1", write_temp("stride.trace", cyclic_trace(kBase, 6, 1 * MiB, passes)), "native");
    EXPECT_EQ(u(r["totals"]["tlb"]["l1d"]["hits"]), 6u * (passes - 1));
    EXPECT_EQ(u(r["totals"]["tlb"]["l2"]["accesses"]), 2u * 6);
    // Same pages with L1 shrunk to 4 entries: every access reaches L2, and the 5-way set thrashes.
    const auto small = replay("neoverse-n1", write_temp("stride.trace", cyclic_trace(kBase, 6, 1 * MiB, passes)), "native",
                              {"mmu.l1d.entries=4", "mmu.l1d.ways=4"});
    EXPECT_EQ(u(small["totals"]["tlb"]["l2"]["hits"]), 0u);
    EXPECT_EQ(u(small["totals"]["tlb"]["l2"]["misses"]), 6u * passes + 6);
}

TEST(Replay, ReadThenWriteCopiesTheZeroPage)
{
    // Read then write the same pages: the read maps the shared zero page read-only, the write takes a
    // permission fault and do_wp_page() copies it into a new page (wp_page_copy()). Whether the hardware
    // manages the dirty state does not matter: the kernel maps written pages dirty.
    const std::string trace = write_temp("ad.trace", cyclic_trace(kBase, 8, 4096, 1) + cyclic_trace(kBase, 8, 4096, 1, 'W'));
    const std::pair<const char*, const char*> cases[] = {{"neoverse-n1", "features.hafdbs=af"},
                                                         {"skylake-sp", nullptr},
                                                         {"riscv-sv39", "features.svadu=false"}};
    for (const auto& [p, no_hw_dirty] : cases) {
        std::vector<std::vector<std::string>> variants{{}};
        if (no_hw_dirty)
            variants.push_back({no_hw_dirty});
        for (const auto& sets : variants) {
            const auto r = replay(p, trace, "native", sets);
            EXPECT_EQ(u(r["totals"]["page_faults"]), 16u) << p;
            EXPECT_EQ(u(r["totals"]["permission_faults"]), 8u) << p << ": each write to a zero-page PTE";
            EXPECT_EQ(u(r["mm"]["zero_page_faults"]), 8u) << p;
            EXPECT_EQ(u(r["mm"]["pages_copied"]), 8u) << p;
            EXPECT_EQ(u(r["mm"]["rss_anon"]), 8u) << p;
            EXPECT_EQ(u(r["totals"]["walk_ad_updates"]), 0u) << p << ": PTEs are made young and dirty";
        }
    }
}

// Every format variant end to end: the fault handler builds tables the walker can read, at every geometry.
struct Variant {
    const char* name;
    const char* platform;
    std::vector<std::string> sets;
    std::uint64_t page;
};
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

class ReplayVariant : public ::testing::TestWithParam<Variant> {};

TEST_P(ReplayVariant, FaultsWalksAndHitsAddUp)
{
    const Variant& v = GetParam();
    std::vector<std::string> sets = v.sets;
    sets.push_back("kernel.folio_size=" + std::to_string(v.page));
    const Addr base = 0x7f0000000000ULL & ((Addr{1} << 38) - 1); // fits every VA size down to 39 bits
    const auto r = replay(v.platform, write_temp(std::string(v.name) + ".trace", cyclic_trace(base, 30, v.page, 3)), "native", sets);
    const auto& t = r["totals"];
    EXPECT_EQ(u(t["page_faults"]), 30u);
    EXPECT_EQ(u(t["tlb"]["l1d"]["accesses"]), 30u * 3 + 30);
    EXPECT_EQ(u(t["tlb"]["l1d"]["misses"]), 60u) << "30 pages fit every shipped L1 DTLB (the smallest has 32)";
    EXPECT_EQ(u(t["walks"]), 60u);
    EXPECT_GT(u(t["page_table_pages"]), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ReplayVariant,
    ::testing::Values(Variant{"arm64_4k_48", "neoverse-n1", {}, 4096},
                      Variant{"arm64_4k_39", "neoverse-n1", {"page_table.va_bits=39"}, 4096},
                      Variant{"arm64_16k_47", "neoverse-n1", {"page_table.granule=16K", "page_table.va_bits=47"}, 16384},
                      Variant{"arm64_16k_36", "neoverse-n1", {"page_table.granule=16K", "page_table.va_bits=36"}, 16384},
                      Variant{"arm64_64k_42", "neoverse-n1", {"page_table.granule=64K", "page_table.va_bits=42"}, 65536},
                      Variant{"arm64_64k_48", "neoverse-n1", {"page_table.granule=64K"}, 65536},
                      Variant{"x86_4level", "skylake-sp", {}, 4096},
                      Variant{"x86_5level", "skylake-sp", {"page_table.levels=5"}, 4096},
                      Variant{"riscv_sv39", "riscv-sv39", {}, 4096},
                      Variant{"riscv_sv48", "riscv-sv39", {"page_table.mode=sv48"}, 4096},
                      Variant{"riscv_sv57", "riscv-sv39", {"page_table.mode=sv57"}, 4096}),
    [](const ::testing::TestParamInfo<Variant>& i) { return std::string(i.param.name); });

TEST(Replay, SharedCacheStatsAreReportedOnce)
{
    // Four cores touch disjoint pages: the shared L3 is one instance, whatever the core count.
    std::string dec;
    for (int i = 0; i < 400; ++i)
        dec += "W " + std::to_string(0x10000000 + i * 4096) + " 8 @" + std::to_string(i % 4) + "\n";
    const auto r = replay("neoverse-n1", write_temp("shared.trace", dec), "native", {"cores=4"});
    const auto& l3 = r["shared_caches"]["l3"];
    std::uint64_t l2_misses = 0;
    for (const auto& c : r["cores"]) {
        EXPECT_FALSE(c["caches"].contains("l3")); // per core: private levels only
        l2_misses += u(c["caches"]["l2"]["misses"]);
    }
    EXPECT_FALSE(r["totals"]["caches"].contains("l3"));
    // Every private L2 miss is exactly one access to the shared L3: not multiplied by the core count.
    EXPECT_EQ(u(l3["accesses"]), l2_misses);
    EXPECT_EQ(u(l3["accesses"]), u(l3["hits"]) + u(l3["misses"]));
    EXPECT_EQ(u(r["totals"]["caches"]["l2"]["misses"]), l2_misses);
}

TEST(Replay, CheckedModeIsCleanOnEveryShippedPlatform)
{
    // Reads then writes over 64 pages, then writes to 64 untouched ones: zero-page faults and their copies on
    // write (flushing the read-only entries), new folios with contiguous runs (64K), PMD leaves and the huge
    // zero folio replaced (2M), with the dirty state managed by hardware or software: all checked by the TLB
    // oracle after each fault and at the end. Then two cores: core 1 reads pages core 0 then writes, so the
    // copies on write must reach core 1's TLB (broadcast TLBI, IPIs, SFENCE.VMA by IPI).
    const std::string trace = write_temp("checked.trace", cyclic_trace(kBase, 64, 4096, 2) + cyclic_trace(kBase, 64, 4096, 1, 'W') +
                                                          cyclic_trace(kBase + 4 * MiB, 64, 4096, 1, 'W'));
    std::string two;
    for (int pass = 0; pass < 2; ++pass)
        for (int i = 0; i < 32; ++i) {
            const Addr va = kBase + 8 * MiB + Addr(i) * 4096;
            two += "R " + std::to_string(va) + " 8 @1\n";
            if (pass == 0)
                two += "W " + std::to_string(va) + " 8 @0\n";
        }
    const std::string two_cores = write_temp("checked2.trace", two);
    for (const char* p : {"neoverse-n1", "neoverse-v2", "skylake-sp", "zen4", "riscv-sv39"})
        for (const char* dirty : {"hardware", "software"})
            for (const char* folio : {"kernel.folio_size=4K", "kernel.folio_size=64K", "kernel.folio_size=2M"}) {
                std::vector<std::string> sets{"simulation.check=true", folio};
                // Software dirty state where the platform can turn the hardware's off (x86 cannot).
                if (std::string(dirty) == "software" && std::string(p).rfind("neoverse", 0) == 0)
                    sets.push_back("features.hafdbs=af");
                if (std::string(dirty) == "software" && std::string(p) == "riscv-sv39")
                    sets.push_back("features.svadu=false");
                const auto r = replay(p, trace, "native", sets);
                EXPECT_EQ(r["check"]["enabled"], true);
                EXPECT_EQ(u(r["check"]["queries"]), u(r["totals"]["page_faults"]) + 1 + u(r["mm"]["folios_freed"]) +
                                                        u(r["mm"]["page_tables_freed"]))
                    << p << " " << dirty << " " << folio << ": one query after each fault, one at the end, one per free";
                EXPECT_GT(u(r["totals"]["permission_faults"]), 0u) << p << " " << dirty << " " << folio;
                EXPECT_EQ(u(r["check"]["violations"]), 0u) << p << " " << dirty << " " << folio;
                EXPECT_EQ(u(r["totals"]["tlb_conflicts"]["misprogrammed_runs"]), 0u);
                EXPECT_EQ(u(r["totals"]["tlb_conflicts"]["multiple_sizes"]), 0u);
                sets.push_back("cores=2");
                const auto r2 = replay(p, two_cores, "native", sets);
                // Racing faults free what lost the race (a folio, a table), and each free is checked too.
                EXPECT_EQ(u(r2["check"]["queries"]), u(r2["totals"]["page_faults"]) + 1 + u(r2["mm"]["folios_freed"]) +
                                                         u(r2["mm"]["page_tables_freed"]))
                    << p << " " << dirty << " " << folio;
                EXPECT_GT(u(r2["mm"]["pages_copied"]) + u(r2["mm"]["thp_fault_alloc"]), 0u) << p << " " << dirty << " " << folio;
                EXPECT_EQ(u(r2["check"]["violations"]), 0u) << p << " " << dirty << " " << folio;
            }
    const auto unchecked = replay("neoverse-n1", trace, "native");
    EXPECT_EQ(unchecked["check"], nlohmann::ordered_json({{"enabled", false}}));
}
