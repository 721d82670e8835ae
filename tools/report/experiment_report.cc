// SPDX-License-Identifier: GPL-2.0-only
#include "tools/report/experiment_report.hh"

#include "hw/platform/platform_config.hh"
#include "tools/report/kernel_stats_json.hh"
#include "tools/report/report.hh"

#include <algorithm>
#include <functional>
#include <iomanip>
#include <map>
#include <sstream>

namespace mmusim::tools {

using nlohmann::ordered_json;

namespace {

// Cycles per PTE, rounded to hundredths so that the JSON text is stable and readable.
double per_pte(std::uint64_t cycles, std::uint64_t ptes)
{
    if (!ptes)
        return 0.0;
    return static_cast<double>((cycles * 100 + ptes / 2) / ptes) / 100.0;
}

ordered_json categories(const hw::CategoryCycles& c)
{
    ordered_json j = ordered_json::object();
    for (std::size_t k = 0; k < hw::kCategoryCount; ++k)
        j[hw::to_string(static_cast<hw::Category>(k))] = c[k];
    return j;
}

std::uint64_t sum(const hw::CategoryCycles& c)
{
    std::uint64_t t = 0;
    for (std::uint64_t v : c)
        t += v;
    return t;
}

ordered_json op_json(std::size_t index, const OpResult& r, std::uint64_t page_size, double ghz)
{
    ordered_json j;
    j["index"] = index;
    j["op"] = to_string(r.spec.kind);
    j["process"] = r.spec.process;
    if (!r.spec.region.empty())
        j["region"] = r.spec.region;
    if (r.spec.kind == OpKind::Fork)
        j["child"] = r.spec.child;
    if (r.spec.kind == OpKind::Reclaim) {
        j["bytes"] = r.spec.bytes;
        if (r.spec.swappiness >= 0)
            j["swappiness"] = r.spec.swappiness > 200 ? ordered_json("max") : ordered_json(r.spec.swappiness);
    }
    if (r.spec.kind == OpKind::Trace) {
        j["file"] = r.spec.file;
        j["trace_records"] = r.trace_records;
        j["trace_page_faults"] = r.trace_page_faults;
    }
    j["core"] = r.spec.core;
    j["line"] = r.spec.line;
    j["ptes"] = r.ptes;
    j["elapsed_cycles"] = r.elapsed;
    // Simulated milliseconds at the platform's clock, rounded to microseconds so that the text is stable.
    j["elapsed_ms"] = static_cast<double>(static_cast<std::uint64_t>(static_cast<double>(r.elapsed) / (ghz * 1e3) + 0.5)) / 1e3;
    hw::CategoryCycles all{};
    for (const CoreDelta& d : r.cores)
        for (std::size_t k = 0; k < hw::kCategoryCount; ++k)
            all[k] += d.counters.cycles[k];
    const std::uint64_t cycles = sum(all);
    j["cycles"] = cycles;
    j["cycles_per_pte"] = per_pte(cycles, r.ptes);
    j["cycles_by_category"] = categories(all);
    ordered_json per_pte_cat = ordered_json::object();
    for (std::size_t k = 0; k < hw::kCategoryCount; ++k)
        per_pte_cat[hw::to_string(static_cast<hw::Category>(k))] = per_pte(all[k], r.ptes);
    j["cycles_per_pte_by_category"] = per_pte_cat;
    ordered_json cores = ordered_json::array();
    for (std::size_t i = 0; i < r.cores.size(); ++i) {
        const CoreDelta& d = r.cores[i];
        const hw::CoreCounters& k = d.counters;
        cores.push_back({{"core", i},
                         {"cycles", sum(k.cycles)},
                         {"cycles_by_category", categories(k.cycles)},
                         {"loads", k.loads},
                         {"stores", k.stores},
                         {"atomics", k.atomics},
                         {"tlbi_issued", k.tlbi_issued},
                         {"tlbi_received", k.tlbi_received},
                         {"tlb_entries_invalidated", k.tlb_entries_invalidated},
                         {"barriers", k.barriers},
                         {"ipis_sent", k.ipis_sent},
                         {"ipis_received", k.ipis_received},
                         {"bytes_cleared", k.bytes_cleared},
                         {"bytes_copied", k.bytes_copied},
                         {"walks", d.walks},
                         {"l1d_misses", d.l1d_misses}});
    }
    j["cores"] = cores;
    j["kernel"] = kernel_stats_json(r.kernel, page_size);
    // The running core's cycles outside every phase: the operation's own loop, user accesses (touch), ...
    std::uint64_t in_phases = 0;
    for (const auto& [name, cycles] : r.kernel.phases)
        in_phases += cycles;
    const std::uint64_t own = r.spec.core < r.cores.size() ? sum(r.cores[r.spec.core].counters.cycles) : 0;
    j["kernel"]["phases_other"] = own > in_phases ? own - in_phases : 0;
    j["dram_accesses"] = r.dram_accesses;
    return j;
}

} // namespace

ordered_json experiment_report(const Experiment& e, const std::vector<VariantResult>& variants)
{
    ordered_json j;
    j["schema"] = kExperimentReportSchema;
    j["tool"] = {{"name", "mmusim"}, {"version", MMUSIM_VERSION}};
    j["command"] = "run";
    j["experiment"] = {{"name", e.name}, {"description", e.description}, {"source", e.source}};
    ordered_json vs = ordered_json::array();
    for (const VariantResult& v : variants) {
        ordered_json vj;
        vj["name"] = v.name;
        vj["platform"] = hw::to_json(v.configs.platform);
        vj["kernel"] = mm::to_json(v.configs.kernel);
        vj["page_size"] = v.page_size;
        ordered_json ops = ordered_json::array();
        for (std::size_t i = 0; i < v.ops.size(); ++i)
            ops.push_back(op_json(i, v.ops[i], v.page_size, v.configs.platform.frequency_ghz));
        vj["operations"] = ops;
        ordered_json procs = ordered_json::array();
        for (const ProcessState& p : v.processes)
            procs.push_back({{"name", p.name},
                             {"rss_anon_pages", p.rss_anon},
                             {"rss_file_pages", p.rss_file},
                             {"rss_shmem_pages", p.rss_shmem},
                             {"swap_entries", p.swapents},
                             {"vmas", p.vmas},
                             {"page_table_bytes", p.pgtable_bytes}});
        vj["processes"] = procs;
        vj["memory_free_bytes"] = v.memory_free;
        vs.push_back(vj);
    }
    j["variants"] = vs;
    escape_invalid_utf8(j);
    return j;
}

void write_experiment_csv(const ordered_json& report, std::ostream& out)
{
    out << "variant,index,op,process,core,ptes,cycles";
    const auto& first_cats = report["variants"][0]["operations"][0]["cycles_by_category"];
    for (auto it = first_cats.begin(); it != first_cats.end(); ++it)
        out << ',' << it.key();
    out << ",loads,stores,atomics,tlbi_issued,tlbi_received,ipis_sent,ipis_received,walks,l1d_misses\n";
    for (const auto& v : report["variants"])
        for (const auto& op : v["operations"])
            for (const auto& c : op["cores"]) {
                out << v["name"].get<std::string>() << ',' << op["index"].get<std::size_t>() << ','
                    << op["op"].get<std::string>() << ',' << op["process"].get<std::string>() << ','
                    << c["core"].get<std::size_t>() << ',' << op["ptes"].get<std::uint64_t>() << ','
                    << c["cycles"].get<std::uint64_t>();
                for (auto it = c["cycles_by_category"].begin(); it != c["cycles_by_category"].end(); ++it)
                    out << ',' << it->get<std::uint64_t>();
                for (const char* k : {"loads", "stores", "atomics", "tlbi_issued", "tlbi_received", "ipis_sent",
                                      "ipis_received", "walks", "l1d_misses"})
                    out << ',' << c[k].get<std::uint64_t>();
                out << '\n';
            }
}

void print_experiment_table(const ordered_json& report, std::ostream& out)
{
    const auto& vs = report["variants"];
    const auto& x = report["experiment"];
    out << "mmusim run: " << x["name"].get<std::string>() << " (" << x["source"].get<std::string>() << ")\n";
    if (!x["description"].get<std::string>().empty())
        out << x["description"].get<std::string>() << "\n";
    const auto& p0 = vs[0]["platform"];
    out << "platform " << p0["name"].get<std::string>() << ", " << p0["cores"].get<unsigned>() << " cores, "
        << p0["page_table"]["format"].get<std::string>() << " " << vs[0]["page_size"].get<std::uint64_t>() / 1024
        << "K pages; variants:";
    for (const auto& v : vs) {
        out << " " << v["name"].get<std::string>() << " (";
        bool first = true;
        for (auto it = v["kernel"]["switches"].begin(); it != v["kernel"]["switches"].end(); ++it) {
            out << (first ? "" : " ") << it.key() << "=" << it->dump();
            first = false;
        }
        out << ")";
    }
    out << "\n\n";
    const auto fmt = [](double d) {
        std::ostringstream s;
        s << std::fixed << std::setprecision(1) << d;
        return s.str();
    };
    // One summary line per operation: cycles per PTE in every variant. The op column fits the longest name
    // (device_exclusive) with a space after it.
    std::size_t op_w = 10;
    for (const auto& op : vs[0]["operations"])
        op_w = std::max(op_w, op["op"].get<std::string>().size() + 1);
    const int opw = static_cast<int>(op_w);
    out << std::left << std::setw(4) << "#" << std::setw(opw) << "op" << std::setw(14) << "process" << std::right
        << std::setw(10) << "ptes";
    for (const auto& v : vs)
        out << std::setw(18) << (v["name"].get<std::string>() + " cyc/PTE") << std::setw(12) << "ms";
    out << "\n";
    const std::size_t nops = vs[0]["operations"].size();
    for (std::size_t i = 0; i < nops; ++i) {
        const auto& op = vs[0]["operations"][i];
        out << std::left << std::setw(4) << i << std::setw(opw) << op["op"].get<std::string>() << std::setw(14)
            << op["process"].get<std::string>() << std::right << std::setw(10) << op["ptes"].get<std::uint64_t>();
        for (const auto& v : vs) {
            std::ostringstream ms;
            ms << std::fixed << std::setprecision(3) << v["operations"][i]["elapsed_ms"].get<double>();
            out << std::setw(18) << fmt(v["operations"][i]["cycles_per_pte"].get<double>()) << std::setw(12) << ms.str();
        }
        out << "\n";
    }
    // Then where the cycles went, per PTE, for every operation but mmap (which touches no PTE).
    for (std::size_t i = 0; i < nops; ++i) {
        const auto& op = vs[0]["operations"][i];
        if (op["op"] == "mmap")
            continue;
        out << "\n#" << i << " " << op["op"].get<std::string>() << " " << op["process"].get<std::string>();
        if (op.contains("region"))
            out << " " << op["region"].get<std::string>();
        out << ": cycles per PTE by category\n";
        out << std::left << std::setw(16) << "category" << std::right;
        for (const auto& v : vs)
            out << std::setw(14) << v["name"].get<std::string>();
        out << "\n";
        const auto& cats = op["cycles_per_pte_by_category"];
        for (auto it = cats.begin(); it != cats.end(); ++it) {
            bool any = false;
            for (const auto& v : vs)
                any |= v["operations"][i]["cycles_by_category"][it.key()].get<std::uint64_t>() != 0;
            if (!any)
                continue;
            out << std::left << std::setw(16) << it.key() << std::right;
            for (const auto& v : vs)
                out << std::setw(14) << fmt(v["operations"][i]["cycles_per_pte_by_category"][it.key()].get<double>());
            out << "\n";
        }
        out << std::left << std::setw(16) << "total" << std::right;
        for (const auto& v : vs)
            out << std::setw(14) << fmt(v["operations"][i]["cycles_per_pte"].get<double>());
        out << "\n";
        // Where the running core's time went by kernel function (self time per PTE), per variant.
        std::map<std::string, bool> names;
        for (const auto& v : vs)
            for (const auto& [name, c] : v["operations"][i]["kernel"]["phases"].items())
                names[name] = true;
        if (!names.empty()) {
            out << std::left << std::setw(30) << "kernel function (self)" << std::right;
            for (const auto& v : vs)
                out << std::setw(14) << v["name"].get<std::string>();
            out << "\n";
            const auto row = [&](const std::string& label, const std::function<std::uint64_t(const ordered_json&)>& get) {
                out << std::left << std::setw(30) << label << std::right;
                for (const auto& v : vs) {
                    const auto& o = v["operations"][i];
                    const std::uint64_t ptes = o["ptes"].get<std::uint64_t>();
                    out << std::setw(14) << fmt(ptes ? double(get(o)) / double(ptes) : 0.0);
                }
                out << "\n";
            };
            for (const auto& entry : names) {
                const std::string& name = entry.first; // no structured binding: clang 14 cannot capture one
                row(name, [&](const ordered_json& o) {
                    const auto& ph = o["kernel"]["phases"];
                    return ph.contains(name) ? ph[name].get<std::uint64_t>() : std::uint64_t{0};
                });
            }
            row("(elsewhere on its core)", [](const ordered_json& o) { return o["kernel"]["phases_other"].get<std::uint64_t>(); });
        }
        // PTE reads and TLB maintenance, per variant: the kernel's ptep_get() calls (arm64: of them
        // contpte_ptep_get(), which reads the whole block) and single-entry reads, and every core's TLBIs,
        // barriers and IPIs.
        for (const auto& v : vs) {
            const auto& o = v["operations"][i];
            const auto& r = o["kernel"]["pte_reads"];
            std::uint64_t tlbis = 0, barriers = 0, ipis = 0;
            for (const auto& c : o["cores"]) {
                tlbis += c["tlbi_issued"].get<std::uint64_t>();
                barriers += c["barriers"].get<std::uint64_t>();
                ipis += c["ipis_sent"].get<std::uint64_t>();
            }
            out << "  " << v["name"].get<std::string>() << ": ptep_get " << r["ptep_get"].get<std::uint64_t>()
                << " (contpte_ptep_get " << r["contpte_ptep_get"].get<std::uint64_t>() << "), __ptep_get "
                << r["__ptep_get"].get<std::uint64_t>() << "; TLBIs " << tlbis << ", barriers " << barriers
                << ", IPIs " << ipis << "\n";
        }
        // The batch sizes the helpers ran with, per variant.
        for (const auto& v : vs) {
            const auto& b = v["operations"][i]["kernel"]["batches"];
            if (b.empty())
                continue;
            out << "  " << v["name"].get<std::string>() << " batches:";
            for (auto h = b.begin(); h != b.end(); ++h) {
                out << " " << h.key() << "{";
                bool first = true;
                for (auto n = h->begin(); n != h->end(); ++n) {
                    out << (first ? "" : ",") << "nr=" << n.key() << ":" << n->get<std::uint64_t>();
                    first = false;
                }
                out << "}";
            }
            out << "\n";
        }
    }
}

} // namespace mmusim::tools
