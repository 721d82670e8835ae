// SPDX-License-Identifier: GPL-2.0-only
// The madvise advices free, cold and pageout and touch's data option of `mmusim run`, end to end: MADV_FREE of
// written 64K folios clears young and dirty in one batch per folio where the kernel batches; the shipped pageout
// experiments, made small (a tmp copy at 2M), swap every folio out with real I/O and report the reclaim's parts;
// the reclaim operation (memory.reclaim) and the shipped LRU reclaim experiments; its mistakes are errors.
#include "cli_run.hh"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

using namespace mmusim;
using namespace mmusim::test;

namespace {

std::string tmp(const std::string& what) { return test_tmp_path(what); }

} // namespace

TEST(RunReclaim, FreeAndColdOfWrittenFolios)
{
    for (const char* platform : {"neoverse-n1", "skylake-sp"}) {
        const std::string exp = tmp(std::string(platform) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << "experiment: {name: free, platform: " << platform << ", set: [cores=2]}\n"
                           << "processes:\n  - {name: app, threads: [0]}\n"
                           << "workload:\n"
                           << "  - {op: mmap, region: buf, size: 1M, folio: 64K}\n"
                           << "  - {op: touch, region: buf, access: write, data: true}\n"
                           << "  - {op: madvise, region: buf, advice: cold}\n"
                           << "  - {op: madvise, region: buf, advice: free}\n";
        const CliResult r = run_cli("run -q " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << platform << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(platform) + " " + v["name"].get<std::string>();
            const auto& ops = v["operations"];
            ASSERT_EQ(ops.size(), 4u);
            const auto& free = ops[3];
            EXPECT_EQ(free["ptes"], 256) << what;
            const auto& cydp = free["kernel"]["batches"]["clear_young_dirty_ptes"];
            if (v["name"] == "batched") {
                EXPECT_EQ(cydp["16"], 16) << what << ": one call per 64K folio";
            } else { // on arm64 the first call clears the whole contpte block, and the rest read clean
                EXPECT_EQ(cydp["1"], std::string(platform) == "neoverse-n1" ? 16 : 256) << what;
            }
            EXPECT_EQ(free["kernel"]["folios_freed"], 0) << what << ": lazyfree, not freed";
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

TEST(RunReclaim, DataNeedsAWrite)
{
    const std::string bad = tmp("bad.yaml"), json = tmp("never.json");
    std::ofstream(bad) << "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\n"
                          "workload:\n  - {op: mmap, region: r, size: 64K}\n  - {op: touch, region: r, access: read, data: true}\n";
    const CliResult r = run_cli("run " + bad + " --json " + json);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("needs access: write"), std::string::npos) << r.output;
    std::remove(bad.c_str());
}

TEST(RunReclaim, ShippedPageoutExperimentsSmall)
{
    for (const char* name : {"pageout-64k", "pageout-64k-x86"}) {
        std::string text = slurp(std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments/" + name + ".yaml");
        const std::size_t at = text.find("size: 256M");
        ASSERT_NE(at, std::string::npos) << name;
        text.replace(at, 10, "size: 2M");
        const std::string exp = tmp(std::string(name) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << text;
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << name << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        ASSERT_EQ(j["variants"].size(), 2u);
        const bool arm64 = std::string(name) == "pageout-64k";
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(name) + " " + v["name"].get<std::string>();
            const auto& po = v["operations"][2];
            EXPECT_EQ(po["op"], "madvise") << what;
            EXPECT_EQ(po["ptes"], 512) << what;
            EXPECT_EQ(po["kernel"]["folios_freed"], 32) << what << ": every 64K folio paged out and freed";
            const auto& phases = po["kernel"]["phases"];
            for (const char* part : {"folio_isolate_lru", "folio_alloc_swap", "__swap_cache_add_folio", "try_to_unmap_one",
                                     "swap_writeout", "__remove_mapping", "free_folio"})
                EXPECT_GT(phases.value(part, 0), 0) << what << ": " << part;
            const auto& batches = po["kernel"]["batches"];
            if (v["name"] == "batched") {
                EXPECT_EQ(batches["get_and_clear_full_ptes"]["16"], 32) << what << ": one unmap batch per folio";
                EXPECT_EQ(phases.value("contpte_convert", 0), 0) << what;
            } else {
                EXPECT_EQ(batches["ptep_get_and_clear"]["1"], 512) << what;
                if (arm64) {
                    EXPECT_GT(phases.value("contpte_convert", 0), 0) << what << ": one unfold per block";
                }
            }
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

// Every other shipped reclaim experiment, made small with a smaller buffer (the platform as shipped: 64 cores
// where the experiment has them), in checked mode: the operations are the ones the file promises, every folio
// is reclaimed, the unmap runs with the batch sizes each kernel has for that folio size, and the report's
// ptep_get() counts follow (the series reads fewer PTEs where it batches, the same where both kernels run
// the same code).
TEST(RunReclaim, ShippedReclaimExperimentsSmall)
{
    struct Case {
        const char* name;
        const char* size;      // the buffer, shrunk from 256M (64M for 64 cores)
        unsigned folio_pages;  // base pages per folio
        bool lazyfree;         // MADV_FREE before MADV_PAGEOUT
        unsigned cores;        // of the platform as shipped
    };
    const Case cases[] = {
        {"pageout-4k", "1M", 1, false, 2},          {"pageout-4k-x86", "1M", 1, false, 2},
        {"pageout-16k", "1M", 4, false, 2},         {"pageout-16k-x86", "1M", 4, false, 2},
        {"pageout-2m", "4M", 512, false, 2},        {"pageout-2m-x86", "4M", 512, false, 2},
        {"lazyfree-64k", "1M", 16, true, 2},        {"lazyfree-64k-x86", "1M", 16, true, 2},
        {"pageout-64k-64core", "1M", 16, false, 64}, {"pageout-64k-64core-x86", "1M", 16, false, 64},
    };
    for (const Case& k : cases) {
        std::string text = slurp(std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments/" + k.name + ".yaml");
        const std::size_t at = text.find("size: "), end = text.find(',', at);
        ASSERT_NE(end, std::string::npos) << k.name;
        text.replace(at, end - at, std::string("size: ") + k.size);
        const std::string exp = tmp(std::string(k.name) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << text;
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << k.name << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        ASSERT_EQ(j["variants"].size(), 2u) << k.name;
        const bool arm64 = std::string(k.name).find("x86") == std::string::npos;
        const unsigned ptes = (std::string(k.size) == "4M" ? 4u : 1u) * 256, folios = ptes / k.folio_pages;
        std::map<std::string, std::uint64_t> ptep_gets;
        for (const auto& v : j["variants"]) {
            const std::string variant = v["name"].get<std::string>(), what = std::string(k.name) + " " + variant;
            ASSERT_EQ(v["platform"]["cores"], k.cores) << what;
            const auto& ops = v["operations"];
            ASSERT_EQ(ops.size(), k.lazyfree ? 4u : 3u) << what;
            EXPECT_EQ(ops[0]["op"], "mmap") << what;
            EXPECT_EQ(ops[1]["op"], "touch") << what;
            if (k.lazyfree) {
                EXPECT_EQ(ops[2]["op"], "madvise") << what;
                EXPECT_EQ(ops[2]["kernel"]["batches"]["clear_young_dirty_ptes"]["16"], folios)
                    << what << ": MADV_FREE, one call per folio (kernel.pte_batch is on in both)";
            }
            const auto& po = ops.back();
            EXPECT_EQ(po["op"], "madvise") << what;
            EXPECT_EQ(po["ptes"], ptes) << what;
            EXPECT_EQ(po["kernel"]["folios_freed"], folios) << what << ": every folio reclaimed and freed";
            const auto& phases = po["kernel"]["phases"];
            EXPECT_GT(phases.value("try_to_unmap_one", 0), 0) << what;
            EXPECT_GT(phases.value("free_folio", 0), 0) << what;
            for (const char* part : {"folio_alloc_swap", "__swap_cache_add_folio", "swap_writeout"})
                EXPECT_EQ(phases.value(part, 0) > 0, !k.lazyfree) << what << ": " << part;
            const auto& batches = po["kernel"]["batches"];
            const std::string nr = std::to_string(k.folio_pages);
            if (variant == "batched" || k.lazyfree) { // lazyfree folios are batched before the series too
                EXPECT_EQ(batches["get_and_clear_full_ptes"][nr], folios) << what << ": one unmap batch per folio";
            } else {
                EXPECT_EQ(batches["ptep_get_and_clear"]["1"], ptes) << what << ": one PTE at a time";
            }
            const auto& reads = po["kernel"]["pte_reads"];
            ptep_gets[variant] = reads["ptep_get"].get<std::uint64_t>();
            EXPECT_GE(reads["__ptep_get"].get<std::uint64_t>(), ptep_gets[variant]) << what;
            EXPECT_EQ(reads["contpte_ptep_get"].get<std::uint64_t>() > 0, arm64 && k.folio_pages >= 16) << what
                << ": contpte blocks only from 64K folios up, only on arm64";
            if (k.cores == 64) { // the deferred flush reaches every core of the mm
                ASSERT_EQ(po["cores"].size(), 64u) << what;
                for (std::size_t c = 1; c < 64; ++c) {
                    const auto& core = po["cores"][c];
                    if (arm64) {
                        EXPECT_GT(core["cycles_by_category"]["tlbi_receive"].get<std::uint64_t>(), 0u) << what << " core " << c;
                    } else {
                        EXPECT_GT(core["ipis_received"].get<std::uint64_t>(), 0u) << what << " core " << c;
                    }
                }
            }
        }
        if (k.folio_pages == 1 || k.lazyfree) { // both kernels run the same unmap
            EXPECT_EQ(ptep_gets["batched"], ptep_gets["unbatched"]) << k.name;
        } else {
            EXPECT_LT(ptep_gets["batched"], ptep_gets["unbatched"]) << k.name;
        }
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

// The shipped LRU reclaim experiments, made small (2M), in checked mode: memory.reclaim takes every forked
// folio from the LRU and unmaps it from both mms; the two folios split across the parent's VMAs are unmapped
// there in two batches of 8 each (the batch stops at the VMA end), the rest in one batch of 16 per mapping; both
// kernels end with the same swap entries.
TEST(RunReclaim, ShippedLruReclaimExperimentsSmall)
{
    for (const char* name : {"lru-reclaim-64k", "lru-reclaim-64k-x86"}) {
        std::string text = slurp(std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments/" + name + ".yaml");
        for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                 {"size: 64M", "size: 2M"}, {"length: 65472K", "length: 1984K"}, {"bytes: 64M", "bytes: 2M"}}) {
            const std::size_t at = text.find(from);
            ASSERT_NE(at, std::string::npos) << name << ": " << from;
            text.replace(at, from.size(), to);
        }
        const std::string exp = tmp(std::string(name) + ".yaml"), json = tmp("out.json");
        std::ofstream(exp) << text;
        const CliResult r = run_cli("run -q --check " + exp + " --json " + json);
        ASSERT_EQ(r.status, 0) << name << ": " << r.output;
        const auto j = nlohmann::json::parse(slurp(json));
        ASSERT_EQ(j["variants"].size(), 2u);
        std::vector<std::uint64_t> swapents;
        for (const auto& v : j["variants"]) {
            const std::string what = std::string(name) + " " + v["name"].get<std::string>();
            const auto& op = v["operations"][4];
            EXPECT_EQ(op["op"], "reclaim") << what;
            EXPECT_EQ(op["bytes"], 2 * 1024 * 1024) << what;
            EXPECT_EQ(op["ptes"], 512) << what;
            EXPECT_EQ(op["kernel"]["pgsteal"], 512) << what << ": every page reclaimed";
            EXPECT_GE(op["kernel"]["pgscan"].get<std::uint64_t>(), 512u) << what;
            EXPECT_EQ(op["kernel"]["folios_freed"], 32) << what;
            for (const char* part : {"isolate_lru_folios", "shrink_folio_list", "try_to_unmap_one", "swap_writeout"})
                EXPECT_GT(op["kernel"]["phases"].value(part, 0), 0) << what << ": " << part;
            const auto& batches = op["kernel"]["batches"];
            if (v["name"] == "batched") {
                EXPECT_EQ(batches["get_and_clear_full_ptes"]["8"], 4) << what << ": the split folios, per VMA";
                EXPECT_EQ(batches["get_and_clear_full_ptes"]["16"], 2 * 32 - 2) << what;
            } else {
                EXPECT_EQ(batches["ptep_get_and_clear"]["1"], 2 * 512) << what;
            }
            for (const auto& p : v["processes"])
                swapents.push_back(p["swap_entries"].get<std::uint64_t>());
        }
        EXPECT_EQ(swapents, (std::vector<std::uint64_t>{512, 512, 512, 512})) << name;
        std::remove(exp.c_str());
        std::remove(json.c_str());
    }
}

TEST(RunReclaim, ReclaimMistakesAreErrors)
{
    const std::string head = "experiment: {name: b, platform: neoverse-n1}\nprocesses:\n  - {name: a, threads: [0]}\n"
                             "workload:\n";
    for (const auto& [item, message] : std::vector<std::pair<std::string, std::string>>{
             {"{op: reclaim}", ":5: workload.0: missing required key 'workload.0.bytes'"},
             {"{op: reclaim, bytes: 0}", ":5: workload.0.bytes: must be between 1 byte and 1T"},
             {"{op: reclaim, bytes: 1M, swappiness: 201}", ":5: workload.0.swappiness: '201' is not a swappiness"},
             {"{op: reclaim, bytes: 1M, swappiness: min}", ":5: workload.0.swappiness: 'min' is not a swappiness"},
             {"{op: reclaim, bytes: 1M, region: r}", ":5: workload.0.region"},
             {"{op: reclaim, bytes: 1M, pages: 3}", ":5: workload.0.pages"}}) {
        const std::string bad = tmp("bad.yaml"), json = tmp("never.json");
        std::ofstream(bad) << head << "  - " << item << "\n";
        const CliResult r = run_cli("run " + bad + " --json " + json);
        EXPECT_EQ(r.status, 2) << item << ": " << r.output;
        EXPECT_NE(r.output.find(message), std::string::npos) << item << ": " << r.output;
        std::remove(bad.c_str());
    }
}

// The table shows, per variant, the PTE reads (ptep_get, contpte_ptep_get, __ptep_get) and the TLB maintenance
// of each operation, with the report's numbers.
TEST(RunReclaim, TableShowsPteReadsAndTlbMaintenance)
{
    std::string text = slurp(std::string(MMUSIM_SOURCE_DIR) + "/configs/experiments/pageout-64k.yaml");
    text.replace(text.find("size: 256M"), 10, "size: 1M");
    const std::string exp = tmp("table.yaml"), json = tmp("table.json");
    std::ofstream(exp) << text;
    const CliResult r = run_cli("run --no-progress " + exp + " --json " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(slurp(json));
    for (const auto& v : j["variants"]) {
        const auto& po = v["operations"][2];
        std::uint64_t tlbis = 0;
        for (const auto& c : po["cores"])
            tlbis += c["tlbi_issued"].get<std::uint64_t>();
        EXPECT_GT(tlbis, 0u);
        const std::string line = "  " + v["name"].get<std::string>() + ": ptep_get " +
                                 std::to_string(po["kernel"]["pte_reads"]["ptep_get"].get<std::uint64_t>()) +
                                 " (contpte_ptep_get " +
                                 std::to_string(po["kernel"]["pte_reads"]["contpte_ptep_get"].get<std::uint64_t>()) + ")";
        EXPECT_NE(r.output.find(line), std::string::npos) << line << "\n" << r.output;
        EXPECT_NE(r.output.find("; TLBIs " + std::to_string(tlbis) + ","), std::string::npos) << r.output;
    }
    std::remove(exp.c_str());
    std::remove(json.c_str());
}
