// SPDX-License-Identifier: GPL-2.0-only
#include "tools/report/kernel_stats_json.hh"

#include "util/config_node.hh"

namespace mmusim::tools {

using nlohmann::ordered_json;

namespace {

// Folio orders as sizes ("4K", "64K", "2M") for a page of `page` bytes.
ordered_json by_size(const std::map<unsigned, std::uint64_t>& by_order, std::uint64_t page)
{
    ordered_json j = ordered_json::object();
    for (const auto& [order, n] : by_order)
        j[format_size(page << order)] = n;
    return j;
}

} // namespace

ordered_json kernel_stats_json(const mm::MmStats& s, std::uint64_t page)
{
    ordered_json batches = ordered_json::object();
    for (const auto& [helper, hist] : s.batches) {
        ordered_json h = ordered_json::object();
        for (const auto& [nr, calls] : hist)
            h[std::to_string(nr)] = calls;
        batches[helper] = h;
    }
    ordered_json flushes = ordered_json::object();
    for (const auto& [kind, f] : s.flushes)
        flushes[kind] = {{"calls", f.calls}, {"pages", f.pages}};
    ordered_json phases = ordered_json::object();
    for (const auto& [name, cycles] : s.phases)
        phases[name] = cycles;
    ordered_json j;
    j["faults"] = s.faults;
    j["anon_fault_alloc"] = by_size(s.anon_fault_alloc, page);
    j["anon_fault_fallback"] = by_size(s.anon_fault_fallback, page);
    j["shmem_fault_alloc"] = by_size(s.shmem_fault_alloc, page);
    j["thp_fault_alloc"] = s.thp_fault_alloc;
    j["thp_fault_fallback"] = s.thp_fault_fallback;
    j["zero_page_faults"] = s.zero_page_faults;
    j["huge_zero_page_faults"] = s.huge_zero_page_faults;
    j["pages_copied"] = s.pages_copied;
    j["pages_reused"] = s.pages_reused;
    j["pins"] = s.pins;
    j["unpins"] = s.unpins;
    j["pgscan"] = s.pgscan;
    j["pgsteal"] = s.pgsteal;
    j["folios_allocated"] = s.folios_allocated;
    j["folios_freed"] = s.folios_freed;
    j["page_tables_allocated"] = s.pgtables_allocated;
    j["page_tables_freed"] = s.pgtables_freed;
    j["batches"] = batches;
    j["contpte"] = {{"folds", s.contpte_folds}, {"unfolds", s.contpte_unfolds}, {"converts", s.contpte_converts}};
    j["pte_reads"] = {{"ptep_get", s.ptep_get}, {"contpte_ptep_get", s.contpte_ptep_get}, {"__ptep_get", s.ptep_get_raw}};
    j["flushes"] = flushes;
    j["phases"] = phases;
    return j;
}

} // namespace mmusim::tools
