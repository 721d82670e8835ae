// SPDX-License-Identifier: GPL-2.0-only
#include "tools/report/report.hh"

#include "tools/report/kernel_stats_json.hh"

#include "util/config_node.hh"

#include <iomanip>
#include <map>
#include <string_view>
#include <sstream>
#include <stdexcept>

namespace mmusim::tools {

using nlohmann::ordered_json;

namespace {

ordered_json tlb_json(const hw::TlbLevel& t)
{
    std::uint64_t fills = 0, evictions = 0, invalidated = 0, splintered = 0, replaced = 0;
    for (const hw::Tlb& a : t.arrays()) {
        fills += a.stats().fills;
        evictions += a.stats().evictions;
        invalidated += a.stats().invalidated;
        splintered += a.stats().splintered;
        replaced += a.stats().replaced;
    }
    return {{"accesses", t.stats().accesses}, {"hits", t.stats().hits},           {"misses", t.stats().misses},
            {"fills", fills},                 {"evictions", evictions},           {"invalidated", invalidated},
            {"splintered", splintered},       {"replaced", replaced}};
}

ordered_json core_json(const hw::Platform& p, const Replayer& r, unsigned i)
{
    const hw::Core& c = p.core(i);
    const hw::Mmu& m = c.mmu();
    const hw::MmuStats& s = m.stats();
    const ReplayCounters& rc = r.counters(i);
    ordered_json j;
    j["id"] = i;
    j["records"] = rc.records();
    j["reads"] = rc.reads();
    j["writes"] = rc.writes();
    j["fetches"] = rc.fetches();
    j["translations"] = rc.translations;
    j["page_splits"] = rc.page_splits;
    j["cycles"] = c.now();
    j["tlb"] = {{"l1i", tlb_json(m.l1i())},
                {"l1d", tlb_json(m.l1d())},
                {"l2", tlb_json(m.l2())},
                {"walk_cache",
                 {{"lookups", m.walk_cache().stats().lookups},
                  {"hits", m.walk_cache().stats().hits},
                  {"fills", m.walk_cache().stats().fills},
                  {"invalidated", m.walk_cache().stats().invalidated}}}};
    j["walks"] = s.walks;
    j["walk_cache_hits"] = s.walk_cache_hits;
    j["walk_loads"] = s.walk_loads;
    j["walk_ad_updates"] = s.walk_stores;
    j["walk_cycles"] = s.walk_cycles;
    j["translation_cycles"] = s.translation_cycles;
    j["stall_cycles"] = s.stall_cycles;
    j["tlb_permission_faults"] = s.tlb_permission_faults;
    j["tlb_conflicts"] = {{"misprogrammed_runs", s.misprogrammed_runs}, {"multiple_sizes", s.size_conflicts}};
    j["bbml2_size_changes"] = s.bbml2_size_changes;
    j["page_faults"] = rc.page_faults;
    j["permission_faults"] = rc.permission_faults;
    j["fault_cycles"] = rc.fault_cycles;
    j["startup_cycles"] = rc.startup_cycles;
    ordered_json sys = ordered_json::object();
    for (std::size_t k = 0; k < rc.syscalls.size(); ++k)
        sys[traces::to_string(static_cast<traces::RecordType>(k + 1))] = rc.syscalls[k];
    j["syscalls"] = sys;
    j["syscall_cycles"] = rc.syscall_cycles;
    const hw::CoreCounters& k = c.counters();
    j["maintenance"] = {{"tlbi_issued", k.tlbi_issued},       {"tlbi_received", k.tlbi_received},
                        {"entries_invalidated", k.tlb_entries_invalidated}, {"barriers", k.barriers},
                        {"ipis_sent", k.ipis_sent},           {"ipis_received", k.ipis_received}};
    j["kernel_accesses"] = {{"loads", k.loads},   {"stores", k.stores}, {"atomics", k.atomics},
                            {"bytes_cleared", k.bytes_cleared}, {"bytes_copied", k.bytes_copied}};
    ordered_json cats;
    for (std::size_t k = 0; k < hw::kCategoryCount; ++k)
        cats[hw::to_string(static_cast<hw::Category>(k))] = c.counters().cycles[k];
    j["cycles_by_category"] = cats;
    // Private levels only: a shared level is one instance, reported once at the top level (shared_caches).
    ordered_json caches = ordered_json::object();
    const auto& levels = p.memory().levels();
    for (std::size_t l = 0; l < levels.size(); ++l) {
        if (levels[l].shared)
            continue;
        const hw::CacheStats& cs = p.memory().level_stats(i, l);
        caches[levels[l].name] = {{"accesses", cs.accesses}, {"hits", cs.hits}, {"misses", cs.misses},
                                  {"snoop_invalidations", cs.snoop_invalidations}};
    }
    j["caches"] = caches;
    const hw::CoherenceStats& co = p.memory().coherence_stats(i);
    j["coherence"] = {{"upgrades", co.upgrades},
                      {"remote_clean", co.remote_clean},
                      {"remote_dirty", co.remote_dirty},
                      {"invalidations_sent", co.invalidations_sent},
                      {"far_atomics", co.far_atomics}};
    return j;
}

// The kernel's statistics over the run and what the process holds at its end.
ordered_json mm_json(const hw::Platform& p, const Replayer& r)
{
    const mm::mm_struct& mm = r.mm();
    const hw::PhysInspector look = p.inspect();
    ordered_json j = kernel_stats_json(r.kernel().stats(), p.format().page_size());
    j["rss_anon"] = static_cast<std::uint64_t>(static_cast<std::int64_t>(look.read64(mm.rss_addr(mm::MM_ANONPAGES))));
    j["page_table_bytes"] = mm.pgtables_bytes;
    return j;
}

// Sums every numeric field of the per-core objects (recursively); used for "totals".
void accumulate(ordered_json& into, const ordered_json& from)
{
    for (auto it = from.begin(); it != from.end(); ++it) {
        if (it.key() == "id")
            continue;
        if (it->is_object()) {
            accumulate(into[it.key()], *it);
        } else if (it->is_number_unsigned()) {
            into[it.key()] = (into.contains(it.key()) ? into[it.key()].get<std::uint64_t>() : 0) + it->get<std::uint64_t>();
        }
    }
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, surrogates or code points past
// U+10FFFF), or 0 if the byte there does not start one.
std::size_t utf8_sequence(std::string_view s, std::size_t i)
{
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80)
        return 1;
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // the range allowed for the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + len > s.size() || b(i + 1) < lo || b(i + 1) > hi)
        return 0;
    for (std::size_t k = 2; k < len; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF)
            return 0;
    return len;
}

std::string pct(std::uint64_t part, std::uint64_t whole)
{
    if (!whole)
        return "-";
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << 100.0 * double(part) / double(whole) << "%";
    return s.str();
}

} // namespace

// Every string of the report (keys too) made valid UTF-8, which JSON requires: a byte that is not part of a
// valid sequence (a Latin-1 file name, say) becomes the text \xNN.
void escape_invalid_utf8(ordered_json& j)
{
    const auto fix = [](const std::string& s) {
        std::string out;
        for (std::size_t i = 0; i < s.size();) {
            if (const std::size_t n = utf8_sequence(s, i)) {
                out.append(s, i, n);
                i += n;
            } else {
                static const char hex[] = "0123456789abcdef";
                const auto c = static_cast<unsigned char>(s[i++]);
                out += {'\\', 'x', hex[c >> 4], hex[c & 15]};
            }
        }
        return out;
    };
    if (j.is_string()) {
        j = fix(j.get_ref<const std::string&>());
    } else if (j.is_array()) {
        for (auto& e : j)
            escape_invalid_utf8(e);
    } else if (j.is_object()) {
        ordered_json fixed = ordered_json::object();
        for (auto it = j.begin(); it != j.end(); ++it) {
            escape_invalid_utf8(it.value());
            fixed[fix(it.key())] = std::move(it.value());
        }
        j = std::move(fixed);
    }
}

ordered_json replay_report(const hw::Platform& p, const Replayer& r, const ReplayInfo& info)
{
    ordered_json j;
    j["schema"] = kReportSchema;
    j["tool"] = {{"name", "mmusim"}, {"version", MMUSIM_VERSION}};
    j["command"] = "replay";
    const ReplayCounters t = r.total();
    j["trace"] = {{"path", info.trace_path}, {"format", info.trace_format}, {"records", t.records()},
                  {"translations", t.translations}, {"page_splits", t.page_splits},
                  {"syscalls", t.syscall_records()}, {"premap", r.options().premap}};
    j["platform"] = hw::to_json(p.config());
    j["kernel"] = mm::to_json(r.kernel_config());
    ordered_json cores = ordered_json::array();
    ordered_json totals = ordered_json::object();
    for (unsigned i = 0; i < p.cores(); ++i) {
        cores.push_back(core_json(p, r, i));
        accumulate(totals, cores.back());
    }
    // The machine's time is the slowest core's; the sum of cycles is kept as well.
    std::uint64_t makespan = 0;
    for (const auto& c : cores)
        makespan = std::max(makespan, c["cycles"].get<std::uint64_t>());
    totals["makespan_cycles"] = makespan;
    const mm::MmStats& ks = r.kernel().stats();
    totals["page_table_pages"] = ks.pgtables_allocated - ks.pgtables_freed; // the process's, root included
    const auto& ic = p.interconnect().stats();
    totals["broadcast_maintenance_ops"] = ic.broadcast_ops;
    totals["local_maintenance_ops"] = ic.local_ops;
    totals["ipis"] = ic.ipis;
    j["cores"] = cores;
    j["totals"] = totals;
    j["mm"] = mm_json(p, r);
    ordered_json shared = ordered_json::object();
    const auto& levels = p.memory().levels();
    for (std::size_t l = 0; l < levels.size(); ++l) {
        if (!levels[l].shared)
            continue;
        const hw::CacheStats& cs = p.memory().level_stats(0, l);
        shared[levels[l].name] = {{"accesses", cs.accesses}, {"hits", cs.hits}, {"misses", cs.misses}};
    }
    j["shared_caches"] = shared;
    j["memory"] = {{"dram_accesses", p.memory().dram_accesses()}};
    // A checked run that got here found no disagreement (one would have stopped it with an error).
    j["check"] = p.checked() ? ordered_json{{"enabled", true}, {"queries", p.oracle().queries()}, {"violations", p.oracle().violations()}}
                             : ordered_json{{"enabled", false}};
    // Names come from the user (trace path, platform file and name) and may hold any bytes.
    escape_invalid_utf8(j);
    return j;
}

void write_csv(const ordered_json& report, std::ostream& out)
{
    static const char* cols[] = {"records", "translations", "page_splits", "walks", "walk_cache_hits", "walk_cycles",
                                 "translation_cycles", "stall_cycles", "page_faults", "fault_cycles", "cycles"};
    out << "core";
    for (const char* lvl : {"l1i", "l1d", "l2"})
        for (const char* f : {"accesses", "hits", "misses"})
            out << ',' << lvl << '_' << f;
    for (const char* c : cols)
        out << ',' << c;
    out << '\n';
    auto row = [&](const std::string& name, const ordered_json& c) {
        out << name;
        for (const char* lvl : {"l1i", "l1d", "l2"})
            for (const char* f : {"accesses", "hits", "misses"})
                out << ',' << c["tlb"][lvl][f].get<std::uint64_t>();
        for (const char* col : cols)
            out << ',' << c[col].get<std::uint64_t>();
        out << '\n';
    };
    for (const auto& c : report["cores"])
        row(std::to_string(c["id"].get<unsigned>()), c);
    row("total", report["totals"]);
}

void print_table(const ordered_json& report, std::ostream& out)
{
    const auto& plat = report["platform"];
    out << "mmusim replay: " << report["trace"]["path"].get<std::string>() << " (" << report["trace"]["format"].get<std::string>()
        << ") on " << plat["name"].get<std::string>() << ", " << plat["cores"].get<unsigned>() << " core(s), "
        << plat["page_table"]["format"].get<std::string>() << ", kernel " << report["kernel"]["name"].get<std::string>() << ", folio "
        << report["kernel"]["folio_size"].get<std::string>() << "\n";
    const auto& t = report["totals"];
    auto u = [](const ordered_json& j, const char* k) { return j[k].get<std::uint64_t>(); };
    out << "records " << u(report["trace"], "records") << ", translations " << u(report["trace"], "translations")
        << ", page-crossing records " << u(report["trace"], "page_splits") << "\n\n";
    out << std::left << std::setw(12) << "level" << std::right << std::setw(16) << "accesses" << std::setw(16) << "hits"
        << std::setw(16) << "misses" << std::setw(10) << "miss%" << "\n";
    for (const char* lvl : {"l1i", "l1d", "l2"}) {
        const auto& l = t["tlb"][lvl];
        out << std::left << std::setw(12) << lvl << std::right << std::setw(16) << u(l, "accesses") << std::setw(16)
            << u(l, "hits") << std::setw(16) << u(l, "misses") << std::setw(10) << pct(u(l, "misses"), u(l, "accesses")) << "\n";
    }
    const auto& wc = t["tlb"]["walk_cache"];
    out << std::left << std::setw(12) << "walk cache" << std::right << std::setw(16) << u(wc, "lookups") << std::setw(16)
        << u(wc, "hits") << std::setw(16) << (u(wc, "lookups") - u(wc, "hits")) << std::setw(10)
        << pct(u(wc, "lookups") - u(wc, "hits"), u(wc, "lookups")) << "\n\n";
    out << "walks " << u(t, "walks") << " (" << u(t, "walk_loads") << " descriptor loads, " << u(t, "walk_cycles")
        << " cycles), page faults " << u(t, "page_faults") << " (" << u(t, "permission_faults") << " on present pages, "
        << u(t, "fault_cycles") << " cycles)\n";
    if (u(report["trace"], "syscalls") != 0) {
        out << "system calls";
        for (auto it = t["syscalls"].begin(); it != t["syscalls"].end(); ++it)
            out << " " << it.key() << " " << it->get<std::uint64_t>();
        out << " (" << u(t, "syscall_cycles") << " cycles)\n";
    }
    const auto& m = report["mm"];
    out << "faults mapped: zero page " << u(m, "zero_page_faults") << ", huge zero page " << u(m, "huge_zero_page_faults")
        << ", new folios";
    if (m["anon_fault_alloc"].empty())
        out << " none";
    for (auto it = m["anon_fault_alloc"].begin(); it != m["anon_fault_alloc"].end(); ++it)
        out << " " << it.key() << " x" << it->get<std::uint64_t>();
    out << " (" << u(m, "thp_fault_alloc") << " PMD-mapped), copies on write " << u(m, "pages_copied") << "\n";
    out << "cycles: translation " << u(t, "translation_cycles") << " (stalled " << u(t, "stall_cycles") << "), makespan "
        << u(t, "makespan_cycles") << "\n\n";
    const std::uint64_t total = u(t, "cycles");
    out << std::left << std::setw(16) << "category" << std::right << std::setw(16) << "cycles" << std::setw(10) << "share" << "\n";
    for (auto it = t["cycles_by_category"].begin(); it != t["cycles_by_category"].end(); ++it) {
        const std::uint64_t v = it->get<std::uint64_t>();
        if (v)
            out << std::left << std::setw(16) << it.key() << std::right << std::setw(16) << v << std::setw(10) << pct(v, total) << "\n";
    }
}

} // namespace mmusim::tools
