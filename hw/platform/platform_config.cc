// SPDX-License-Identifier: GPL-2.0-only
#include "hw/platform/platform_config.hh"

#include "hw/pgtable/format_registry.hh"
#include "hw/tlb/tlb_entry.hh"
#include "util/config_node.hh"

#include <algorithm>
#include <cmath>

namespace mmusim::hw {

namespace {

constexpr Cycles kMaxCost = 100'000'000;

// Host memory the TLB and cache arrays may take before the simulation starts: beyond it a platform is refused
// in validation rather than failing with std::bad_alloc halfway through building.
constexpr std::uint64_t kMaxHostBytes = 4 * GiB;

// Translation sizes a TLB of this platform may hold: those some variant of its format maps (a TLB built for
// arm64 lists 16K and 64K pages even when the 4K granule is in use), plus coalesced groups.
using SizeSet = std::vector<unsigned>;

std::string size_names(const SizeSet& shifts)
{
    std::string out;
    for (unsigned s : shifts)
        out += (out.empty() ? "" : ", ") + format_size(std::uint64_t{1} << s);
    return out;
}

std::vector<unsigned> page_size_shifts(const ConfigNode& n, const std::string& key, const SizeSet& possible,
                                       const std::string& format)
{
    std::vector<unsigned> out;
    for (std::uint64_t s : n.size_list(key)) {
        if (!is_pow2(s) || s < 4 * KiB)
            n.fail(key, "page size " + format_size(s) + " must be a power of two of at least 4K");
        const unsigned shift = log2_exact(s);
        if (std::find(possible.begin(), possible.end(), shift) == possible.end())
            n.fail(key, "page size " + format_size(s) + " is never produced by the " + format +
                            " page-table format (its translation sizes: " + size_names(possible) + ")");
        if (std::find(out.begin(), out.end(), shift) != out.end())
            n.fail(key, "page size " + format_size(s) + " is listed twice");
        out.push_back(shift);
    }
    return out;
}

struct TlbSizes {
    SizeSet possible;
    std::string format;
};

TlbGeometry tlb_array(const ConfigNode& n, const std::string& name, Cycles latency, const TlbSizes& sizes)
{
    TlbGeometry g;
    g.name = name;
    g.entries = static_cast<unsigned>(n.u64("entries", 1, 1u << 20));
    g.ways = static_cast<unsigned>(n.u64("ways", 1, g.entries));
    if (g.entries % g.ways != 0 || !is_pow2(g.entries / g.ways))
        n.fail("ways", "entries / ways must be a whole power of two (got " + std::to_string(g.entries) + " / " +
                           std::to_string(g.ways) + ")");
    g.size_shifts = page_size_shifts(n, "page_sizes", sizes.possible, sizes.format);
    g.hit_latency = latency;
    return g;
}

// A TLB level: either one array (entries/ways/page_sizes) or `arrays: [...]`, one per page-size group.
std::vector<TlbGeometry> tlb_level(const ConfigNode& mmu, const std::string& name, const TlbSizes& sizes)
{
    const ConfigNode n = mmu.child(name);
    const Cycles latency = n.u64("hit_latency", 0, 1000);
    std::vector<TlbGeometry> out;
    if (n.has("arrays")) {
        int i = 0;
        for (const ConfigNode& a : n.list("arrays"))
            out.push_back(tlb_array(a, name + "." + std::to_string(i++), latency, sizes));
        if (out.empty())
            n.fail("arrays", "needs at least one array");
    } else {
        out.push_back(tlb_array(n, name, latency, sizes));
    }
    return out;
}

Cycles cost(const ConfigNode& n, const std::string& key) { return n.u64(key, 0, kMaxCost); }

// The costs of an optional instruction exist exactly when the platform has the feature: required with it
// (no cost defaults to 0), refused without it (a number that nothing would ever charge is a mistake).
void refuse_without_feature(const ConfigNode& n, const std::string& key, const std::string& insn,
                            const std::string& feature)
{
    if (n.has(key))
        n.fail(key, "this platform has no " + insn + " instruction (features." + feature +
                        ": false): remove the cost, or set features." + feature + ": true");
}

Cycles feature_cost(const ConfigNode& n, const std::string& key, bool present, const std::string& feature)
{
    if (present)
        return cost(n, key);
    refuse_without_feature(n, key, key, feature);
    return 0;
}

// A broadcast path's parameters as one map (broadcast_channel.hh): {hop, service, fanout, lookup,
// range_lookup, sync}.
BroadcastCosts broadcast_costs(const ConfigNode& n)
{
    BroadcastCosts b;
    b.hop = cost(n, "hop");
    b.service = cost(n, "service");
    b.fanout = cost(n, "fanout");
    b.lookup = cost(n, "lookup");
    b.range_lookup = cost(n, "range_lookup");
    b.sync = cost(n, "sync");
    return b;
}

// A key that no longer belongs where it is: an error that says where it went.
void moved(const ConfigNode& n, const std::string& key, const std::string& where_now)
{
    if (n.has(key))
        n.fail(key, "no longer a platform key: " + where_now);
}

std::string hw_ad_pointer(Arch arch)
{
    switch (arch) {
    case Arch::Arm64: return "hardware access flag and dirty state are features.hafdbs (none, af or af_dirty)";
    case Arch::RiscV: return "hardware A/D updates are features.svadu (true or false)";
    case Arch::X86_64: break;
    }
    return "x86-64 always sets A and D in hardware (Intel SDM Vol. 3 4.8); only arm64 (features.hafdbs) and "
           "riscv (features.svadu) platforms choose";
}

void load_costs(const ConfigNode& root, PlatformConfig& p)
{
    const ConfigNode t = root.child("tlb_maintenance");
    switch (p.arch) {
    case Arch::Arm64: {
        auto& a = p.costs.arm64;
        a.tlbi_issue = cost(t, "tlbi_issue");
        a.tlbi_local = cost(t, "tlbi_local");
        a.dsb_ish_base = cost(t, "dsb_ish_base");
        a.dvm.hop = cost(t, "dvm_hop");
        a.dvm.service = cost(t, "dvm_service");
        a.dvm.fanout = cost(t, "dvm_fanout");
        a.dvm.lookup = cost(t, "tlbi_lookup");
        a.dvm.range_lookup = cost(t, "tlbi_range_lookup");
        a.dvm.sync = cost(t, "dvm_sync");
        a.dsb_ishst = cost(t, "dsb_ishst");
        a.dsb_nsh = cost(t, "dsb_nsh");
        a.dmb = cost(t, "dmb");
        a.isb = cost(t, "isb");
        break;
    }
    case Arch::X86_64: {
        auto& x = p.costs.x86;
        x.invlpg = cost(t, "invlpg");
        x.cr3_write = cost(t, "cr3_write");
        x.mfence = cost(t, "mfence");
        const X86Features& f = p.features.x86;
        x.cr3_write_noflush = feature_cost(t, "cr3_write_noflush", f.pcid, "pcid");
        x.invpcid = feature_cost(t, "invpcid", f.invpcid, "invpcid");
        // The flat TLBSYNC cost became the broadcast path that INVLPGB and TLBSYNC take (ARCHITECTURE.md).
        for (const char* old : {"tlbsync_base", "tlbsync_per_remote_core"})
            moved(t, old,
                  "TLBSYNC waits for its completion message through the INVLPGB fabric, "
                  "tlb_maintenance.invlpgb_fabric: {hop, service, fanout, lookup, range_lookup, sync}");
        x.invlpgb = feature_cost(t, "invlpgb", f.invlpgb, "invlpgb");
        if (f.invlpgb)
            x.invlpgb_fabric = broadcast_costs(t.child("invlpgb_fabric"));
        else
            refuse_without_feature(t, "invlpgb_fabric", "invlpgb", "invlpgb");
        break;
    }
    case Arch::RiscV: {
        p.costs.riscv.sfence_vma = cost(t, "sfence_vma");
        p.costs.riscv.fence = cost(t, "fence");
        break;
    }
    }
    const ConfigNode i = root.child("ipi");
    p.costs.ipi.send_base = cost(i, "send_base");
    p.costs.ipi.send_per_target = cost(i, "send_per_target");
    p.costs.ipi.delivery = cost(i, "delivery");
    p.costs.ipi.handler_entry = cost(i, "handler_entry");
    p.costs.ipi.ack = cost(i, "ack");
}

// The TLB arrays and cache chunk tables are allocated when the platform is built; refuse a geometry that
// would not fit in host memory, naming what makes it large.
void check_host_footprint(const ConfigNode& root, const PlatformConfig& p)
{
    std::uint64_t tlb_entries = p.mmu.walk_cache.entries;
    for (const auto* level : {&p.mmu.l1i, &p.mmu.l1d, &p.mmu.l2})
        for (const TlbGeometry& g : *level)
            tlb_entries += g.entries;
    const std::uint64_t per_core = tlb_entries * sizeof(TlbEntry);
    std::uint64_t bytes = per_core * p.cores;
    for (const CacheGeometry& g : p.memory.levels)
        bytes += Cache::fixed_host_bytes(g) * (g.shared ? 1 : p.cores);
    if (bytes > kMaxHostBytes)
        root.fail("cores", "this platform's TLB and cache arrays need " + format_size(bytes / MiB * MiB) +
                               " of host memory (" + std::to_string(p.cores) + " cores x " + std::to_string(tlb_entries) +
                               " TLB and walk-cache entries, plus cache tag tables), more than the " +
                               format_size(kMaxHostBytes) + " allowed; use fewer cores or smaller TLBs");
}

} // namespace

PlatformConfig load_platform(const ConfigNode& root)
{
    PlatformConfig p;
    p.source = root.origin_file();
    p.name = root.str("name");
    p.description = root.str("description", "");
    const std::string arch = root.choice("arch", {"arm64", "x86-64", "riscv"});
    p.arch = arch == "arm64" ? Arch::Arm64 : arch == "x86-64" ? Arch::X86_64 : Arch::RiscV;
    p.cores = static_cast<unsigned>(root.u64("cores", 1, kMaxCores));
    p.frequency_ghz = root.real("frequency_ghz", 0.1, 10.0);
    p.features = load_features(root, p.arch, p.name);

    const ConfigNode pt = root.child("page_table");
    p.format = pt.str("format");
    if (p.arch == Arch::RiscV)
        moved(pt, "svnapot", "whether the hardware has Svnapot is features.svnapot");
    for (const auto& [k, v] : pt.scalars_except({"format"}))
        p.format_options[k] = v;
    // Without Svnapot the N bit is reserved: the format then decodes an N=1 leaf as a fault.
    if (p.arch == Arch::RiscV && p.format == "riscv")
        p.format_options["svnapot"] = p.features.riscv.svnapot ? "true" : "false";
    std::unique_ptr<PageTableFormat> fmt;
    try {
        // The architecture first: another arch's options would otherwise be reported as unknown.
        const Arch fmt_arch = FormatRegistry::instance().create(p.format, {})->arch();
        if (fmt_arch != p.arch)
            pt.fail("format", "format '" + p.format + "' is for " + to_string(fmt_arch) + ", the platform is " + arch);
        fmt = FormatRegistry::instance().create(p.format, p.format_options);
    } catch (const FormatOptionError& e) {
        pt.fail(e.key, e.what());
    }

    const ConfigNode mmu = root.child("mmu");
    p.mmu.walker.contiguous = mmu.boolean("contiguous", true);
    p.mmu.walker.coalescing = mmu.boolean("coalescing", false);
    p.mmu.walker.coalesce_group = static_cast<unsigned>(mmu.u64("coalesce_group", 4, 2, 64));
    if (!is_pow2(p.mmu.walker.coalesce_group) || p.mmu.walker.coalesce_group > 8)
        mmu.fail("coalesce_group", "must be 2, 4 or 8 (PTEs in one 64-byte line)");
    moved(mmu, "hw_access_flag", hw_ad_pointer(p.arch));
    moved(mmu, "hw_dirty", hw_ad_pointer(p.arch));
    p.mmu.walker.hw_access_flag = p.features.hw_access_flag();
    p.mmu.walker.hw_dirty = p.features.hw_dirty();
    p.mmu.walker.size_change_without_bbm = p.arch == Arch::Arm64 && p.features.arm64.bbml2_noabort;
    TlbSizes sizes{FormatRegistry::instance().translation_shifts(p.format), p.format};
    // A coalesced group is a size the TLB holds whether or not coalescing is switched on for this run (so
    // `--set mmu.coalescing=false` needs no change to the TLB sizes).
    {
        sizes.possible.push_back(fmt->page_shift() + log2_exact(p.mmu.walker.coalesce_group));
        std::sort(sizes.possible.begin(), sizes.possible.end());
        sizes.possible.erase(std::unique(sizes.possible.begin(), sizes.possible.end()), sizes.possible.end());
    }
    p.mmu.l1i = tlb_level(mmu, "l1i", sizes);
    p.mmu.l1d = tlb_level(mmu, "l1d", sizes);
    p.mmu.l2 = tlb_level(mmu, "l2", sizes);
    const ConfigNode wc = mmu.child("walk_cache");
    p.mmu.walk_cache.entries = static_cast<unsigned>(wc.u64("entries", 0, 1u << 16));
    p.mmu.walk_cache.ways = static_cast<unsigned>(wc.u64("ways", 1, 1, 1u << 16));
    p.mmu.walk_cache.hit_latency = wc.u64("hit_latency", 0, 0, 1000);
    if (p.mmu.walk_cache.entries &&
        (p.mmu.walk_cache.entries % p.mmu.walk_cache.ways || !is_pow2(p.mmu.walk_cache.entries / p.mmu.walk_cache.ways)))
        wc.fail("ways", "entries / ways must be a whole power of two");

    const ConfigNode caches = root.child("caches");
    const unsigned line = static_cast<unsigned>(caches.u64("line_size", 64, 16, 512));
    if (!is_pow2(line))
        caches.fail("line_size", "must be a power of two");
    for (const ConfigNode& c : caches.list("levels")) {
        CacheGeometry g;
        g.name = c.str("name");
        for (const CacheGeometry& other : p.memory.levels)
            if (other.name == g.name)
                c.fail("name", "cache level name '" + g.name + "' is used twice (the report keys levels by name)");
        g.size = c.size("size");
        if (g.size > 1024 * GiB)
            c.fail("size", format_size(g.size) + " is larger than the 1T a cache level may have");
        g.ways = static_cast<unsigned>(c.u64("ways", 1, 255)); // a set's LRU order is a byte per way (cache.hh)
        g.line_size = line;
        g.latency = c.u64("latency", 0, 100000);
        g.shared = c.boolean("shared", false);
        const std::uint64_t lines_per_way = g.ways ? g.size / line / g.ways : 0;
        if (g.size % (std::uint64_t(line) * g.ways) != 0 || !is_pow2(lines_per_way))
            c.fail("size", "size / (line_size * ways) must be a whole power of two");
        if (!g.shared && !p.memory.levels.empty() && p.memory.levels.back().shared)
            c.fail("shared", "a private level cannot follow a shared one");
        if (!g.shared && std::count_if(p.memory.levels.begin(), p.memory.levels.end(), [](const CacheGeometry& l) {
                             return !l.shared;
                         }) == MemorySystem::kMaxPrivateLevels)
            c.fail("shared", "at most " + std::to_string(MemorySystem::kMaxPrivateLevels) + " private cache levels");
        p.memory.levels.push_back(g);
    }
    // Coherence between the cores' private levels (MESI, directory at the shared level).
    const ConfigNode coh = caches.child("coherence");
    p.memory.coherence.upgrade = cost(coh, "upgrade");
    p.memory.coherence.remote_clean = cost(coh, "remote_clean");
    p.memory.coherence.remote_dirty = cost(coh, "remote_dirty");

    const ConfigNode mem = root.child("memory");
    p.memory.size = mem.size("size");
    if (p.memory.size < 16 * MiB || p.memory.size > (std::uint64_t{1} << 48))
        mem.fail("size", "must be between 16M and 256T");
    p.memory.dram_latency = mem.u64("dram_latency", 1, 100000);
    // Streaming bandwidth of clear_page / copy_page (stores that allocate full lines without reading them).
    p.core.clear_bytes_per_cycle = mem.u64("clear_bytes_per_cycle", 1, 4096);
    p.core.copy_bytes_per_cycle = mem.u64("copy_bytes_per_cycle", 1, 4096);
    moved(mem, "folio_size",
          "the folio size is kernel configuration: kernel.folio_size (configs/kernels/*.yaml, --kernel FILE, or "
          "--set kernel.folio_size=SIZE)");

    check_host_footprint(root, p);
    load_costs(root, p);
    const ConfigNode at = root.child("atomics");
    const std::string kind = at.choice("kind", {"near", "far", "llsc"});
    p.core.atomic_kind = kind == "far" ? AtomicKind::Far : kind == "llsc" ? AtomicKind::LlSc : AtomicKind::Near;
    if (p.arch == Arch::X86_64 && p.core.atomic_kind != AtomicKind::Near)
        at.fail("kind", "x86-64 atomics are LOCK-prefixed instructions: kind must be near");
    p.core.atomic_extra = cost(at, "extra");
    p.core.spin_pause = at.u64("spin_pause", 1, kMaxCost);
    moved(root, "atomic_extra", "atomics.extra (with atomics.kind: near, far or llsc)");
    moved(root, "software",
          "fault-handling software costs are kernel configuration (kernel.software.fault_entry in configs/kernels/*.yaml, "
          "--kernel FILE, or --set kernel.software.KEY=N); page clear and copy bandwidth are memory.clear_bytes_per_cycle "
          "and memory.copy_bytes_per_cycle");

    if (root.has("simulation")) {
        const ConfigNode sim = root.child("simulation");
        p.quantum_cycles = sim.u64("quantum_cycles", 10000, 1, 1'000'000'000);
        p.check = sim.boolean("check", false);
    }
    return p;
}

PlatformConfig load_platform_file(const std::string& path, const std::vector<std::string>& overrides)
{
    ConfigNode root = ConfigNode::load_file(path);
    for (const std::string& o : overrides)
        root.apply_override(o);
    PlatformConfig p = load_platform(root);
    root.finish();
    return p;
}

namespace {

nlohmann::ordered_json tlb_json(const std::vector<TlbGeometry>& level)
{
    auto arrays = nlohmann::ordered_json::array();
    for (const TlbGeometry& g : level) {
        auto sizes = nlohmann::ordered_json::array();
        for (unsigned s : g.size_shifts)
            sizes.push_back(format_size(std::uint64_t{1} << s));
        arrays.push_back({{"entries", g.entries}, {"ways", g.ways}, {"page_sizes", sizes}, {"hit_latency", g.hit_latency}});
    }
    return arrays;
}

nlohmann::ordered_json broadcast_json(const BroadcastCosts& b)
{
    return {{"hop", b.hop}, {"service", b.service}, {"fanout", b.fanout}, {"lookup", b.lookup},
            {"range_lookup", b.range_lookup}, {"sync", b.sync}};
}

} // namespace

nlohmann::ordered_json to_json(const PlatformConfig& p)
{
    nlohmann::ordered_json j;
    j["name"] = p.name;
    j["source"] = p.source;
    j["arch"] = to_string(p.arch);
    j["features"] = to_json(p.features);
    j["cores"] = p.cores;
    j["frequency_ghz"] = p.frequency_ghz;
    nlohmann::ordered_json pt{{"format", p.format}};
    for (const auto& [k, v] : p.format_options)
        pt[k] = v;
    j["page_table"] = pt;
    j["mmu"] = {{"l1i", tlb_json(p.mmu.l1i)},
                {"l1d", tlb_json(p.mmu.l1d)},
                {"l2", tlb_json(p.mmu.l2)},
                {"walk_cache",
                 {{"entries", p.mmu.walk_cache.entries}, {"ways", p.mmu.walk_cache.ways}, {"hit_latency", p.mmu.walk_cache.hit_latency}}},
                {"contiguous", p.mmu.walker.contiguous},
                {"coalescing", p.mmu.walker.coalescing},
                {"coalesce_group", p.mmu.walker.coalesce_group},
                {"hw_access_flag", p.mmu.walker.hw_access_flag},
                {"hw_dirty", p.mmu.walker.hw_dirty}};
    auto levels = nlohmann::ordered_json::array();
    for (const CacheGeometry& g : p.memory.levels)
        levels.push_back({{"name", g.name}, {"size", format_size(g.size)}, {"ways", g.ways}, {"latency", g.latency}, {"shared", g.shared}});
    j["caches"] = {{"line_size", p.memory.levels.empty() ? 64 : p.memory.levels[0].line_size},
                   {"levels", levels},
                   {"coherence",
                    {{"upgrade", p.memory.coherence.upgrade},
                     {"remote_clean", p.memory.coherence.remote_clean},
                     {"remote_dirty", p.memory.coherence.remote_dirty}}}};
    j["memory"] = {{"size", format_size(p.memory.size)},
                   {"dram_latency", p.memory.dram_latency},
                   {"clear_bytes_per_cycle", p.core.clear_bytes_per_cycle},
                   {"copy_bytes_per_cycle", p.core.copy_bytes_per_cycle}};
    nlohmann::ordered_json t;
    switch (p.arch) {
    case Arch::Arm64: {
        const auto& a = p.costs.arm64;
        t = {{"tlbi_issue", a.tlbi_issue}, {"tlbi_local", a.tlbi_local}, {"dsb_ish_base", a.dsb_ish_base},
             {"dvm_hop", a.dvm.hop}, {"dvm_service", a.dvm.service}, {"dvm_fanout", a.dvm.fanout}, {"tlbi_lookup", a.dvm.lookup},
             {"tlbi_range_lookup", a.dvm.range_lookup}, {"dvm_sync", a.dvm.sync},
             {"dsb_ishst", a.dsb_ishst}, {"dsb_nsh", a.dsb_nsh}, {"dmb", a.dmb}, {"isb", a.isb}};
        break;
    }
    case Arch::X86_64: {
        const auto& x = p.costs.x86;
        // Only the costs of instructions the platform has (features).
        t = {{"invlpg", x.invlpg}, {"cr3_write", x.cr3_write}};
        if (p.features.x86.pcid)
            t["cr3_write_noflush"] = x.cr3_write_noflush;
        if (p.features.x86.invpcid)
            t["invpcid"] = x.invpcid;
        t["mfence"] = x.mfence;
        if (p.features.x86.invlpgb) {
            t["invlpgb"] = x.invlpgb;
            t["invlpgb_fabric"] = broadcast_json(x.invlpgb_fabric);
        }
        break;
    }
    case Arch::RiscV: t = {{"sfence_vma", p.costs.riscv.sfence_vma}, {"fence", p.costs.riscv.fence}}; break;
    }
    j["tlb_maintenance"] = t;
    const auto& i = p.costs.ipi;
    j["ipi"] = {{"send_base", i.send_base}, {"send_per_target", i.send_per_target}, {"delivery", i.delivery},
                {"handler_entry", i.handler_entry}, {"ack", i.ack}};
    j["atomics"] = {{"kind", to_string(p.core.atomic_kind)}, {"extra", p.core.atomic_extra}, {"spin_pause", p.core.spin_pause}};
    j["simulation"] = {{"quantum_cycles", p.quantum_cycles}, {"check", p.check}};
    return j;
}

} // namespace mmusim::hw
