// SPDX-License-Identifier: GPL-2.0-only
#include "tools/experiment/experiment.hh"

#include "util/config_node.hh"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

namespace mmusim::tools {

const char* to_string(OpKind k)
{
    switch (k) {
    case OpKind::Mmap: return "mmap";
    case OpKind::Touch: return "touch";
    case OpKind::Fork: return "fork";
    case OpKind::Munmap: return "munmap";
    case OpKind::Madvise: return "madvise";
    case OpKind::Mprotect: return "mprotect";
    case OpKind::Pin: return "pin";
    case OpKind::Unpin: return "unpin";
    case OpKind::Mremap: return "mremap";
    case OpKind::DeviceExclusive: return "device_exclusive";
    case OpKind::Reclaim: return "reclaim";
    case OpKind::Trace: return "trace";
    }
    return "?";
}

namespace {

constexpr std::uint64_t kMaxRegion = std::uint64_t{1} << 40; // 1 TiB: far beyond any platform's memory
constexpr unsigned kMaxCoreId = kMaxCores - 1;

// A list of cores: numbers, or ranges FIRST-LAST (inclusive: [0-63] is every core of a 64-core platform).
std::vector<unsigned> cores_of(const ConfigNode& n, const std::string& key)
{
    std::vector<unsigned> out;
    const auto number = [&](const std::string& text, const std::string& item) {
        if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
            n.fail(key, "'" + item + "' is not a core number or a range FIRST-LAST");
        const unsigned long v = std::stoul(text);
        if (v > kMaxCoreId)
            n.fail(key, "core " + text + " is beyond the largest core number " + std::to_string(kMaxCoreId));
        return static_cast<unsigned>(v);
    };
    for (const std::string& item : n.str_list(key)) {
        const auto dash = item.find('-');
        if (dash == std::string::npos) {
            out.push_back(number(item, item));
            continue;
        }
        const unsigned first = number(item.substr(0, dash), item);
        const unsigned last = number(item.substr(dash + 1), item);
        if (last < first)
            n.fail(key, "range '" + item + "' ends before it starts");
        for (unsigned c = first; c <= last; ++c)
            out.push_back(c);
    }
    std::set<unsigned> seen;
    for (unsigned c : out)
        if (!seen.insert(c).second)
            n.fail(key, "core " + std::to_string(c) + " is listed twice");
    return out;
}

int line_of(const ConfigNode& n)
{
    // where() is "FILE:LINE: path"; the line is what messages after loading need.
    const std::string w = n.where();
    const auto colon = w.find(':');
    if (colon == std::string::npos)
        return 0;
    try {
        return std::stoi(w.substr(colon + 1));
    } catch (const std::exception&) {
        return 0;
    }
}

struct Loader {
    Experiment e;
    std::map<std::string, const ProcessSpec*> processes;
    std::set<std::pair<std::string, std::string>> regions; // (process, region), as mapped so far
    std::set<std::pair<std::string, std::string>> pinned;  // (process, region) with pins not yet unpinned

    ProcessSpec* process(const std::string& name)
    {
        for (ProcessSpec& p : e.processes)
            if (p.name == name)
                return &p;
        return nullptr;
    }

    void load_processes(const ConfigNode& root)
    {
        for (const ConfigNode& n : root.list("processes")) {
            ProcessSpec p;
            p.name = n.str("name");
            if (p.name.empty())
                n.fail("name", "must not be empty");
            if (process(p.name))
                n.fail("name", "process '" + p.name + "' is defined twice");
            p.threads = cores_of(n, "threads");
            if (p.threads.empty())
                n.fail("threads", "a process needs at least one thread (a core to run it)");
            p.tlb_only = n.has("tlb_only") ? cores_of(n, "tlb_only") : std::vector<unsigned>{};
            for (unsigned c : p.tlb_only)
                for (unsigned t : p.threads)
                    if (c == t)
                        n.fail("tlb_only", "core " + std::to_string(c) + " already runs a thread of '" + p.name + "'");
            e.processes.push_back(std::move(p));
        }
        if (e.processes.empty())
            root.fail("processes", "expected at least one process");
    }

    std::string region_ref(const ConfigNode& n, OpSpec& op)
    {
        op.region = n.str("region");
        if (!regions.count({op.process, op.region}))
            n.fail("region", "process '" + op.process + "' has no region '" + op.region + "' at this point of the workload");
        return op.region;
    }

    void range(const ConfigNode& n, OpSpec& op)
    {
        op.offset = n.size("offset", 0);
        op.length = n.size("length", 0);
    }

    void load_op(const ConfigNode& n)
    {
        OpSpec op;
        op.line = line_of(n);
        const std::string kind =
            n.choice("op", {"mmap", "touch", "fork", "munmap", "madvise", "mprotect", "pin", "unpin", "mremap",
                            "device_exclusive", "reclaim", "trace"});
        const std::map<std::string, OpKind> kinds{
            {"mmap", OpKind::Mmap},         {"touch", OpKind::Touch}, {"fork", OpKind::Fork},
            {"munmap", OpKind::Munmap},     {"madvise", OpKind::Madvise}, {"mprotect", OpKind::Mprotect},
            {"pin", OpKind::Pin},           {"unpin", OpKind::Unpin}, {"mremap", OpKind::Mremap},
            {"device_exclusive", OpKind::DeviceExclusive}, {"reclaim", OpKind::Reclaim}, {"trace", OpKind::Trace}};
        op.kind = kinds.at(kind);
        const std::string first = e.processes.front().name;
        op.process = n.str("process", e.processes.size() == 1 ? first : "");
        if (op.process.empty())
            n.fail("process", "required: the experiment has several processes");
        const ProcessSpec* p = process(op.process);
        if (!p)
            n.fail("process", "no process '" + op.process + "'");
        op.core = static_cast<unsigned>(n.u64("core", p->threads.front(), 0, kMaxCoreId));
        switch (op.kind) {
        case OpKind::Mmap:
            op.region = n.str("region");
            if (regions.count({op.process, op.region}))
                n.fail("region", "process '" + op.process + "' already has a region '" + op.region + "'");
            op.size = n.size("size");
            if (op.size == 0 || op.size > kMaxRegion)
                n.fail("size", "must be between 1 byte and 1T");
            op.folio = n.size("folio", 0);
            if (op.folio && (!is_pow2(op.folio) || op.folio > 2 * MiB))
                n.fail("folio", "must be a power of two no larger than 2M (PTE-mapped folios)");
            op.prot = n.choice("prot", {"none", "r", "rw"}, "rw");
            op.shared = n.boolean("shared", false);
            regions.insert({op.process, op.region});
            break;
        case OpKind::Touch:
            region_ref(n, op);
            range(n, op);
            op.write = n.choice("access", {"read", "write"}) == "write";
            op.stride = n.size("stride", 0);
            op.data = n.boolean("data", false);
            if (op.data && !op.write)
                n.fail("data", "needs access: write");
            break;
        case OpKind::Fork: {
            op.child = n.str("child");
            if (process(op.child) || op.child.empty())
                n.fail("child", "'" + op.child + "' must be a new process name");
            ProcessSpec c;
            c.name = op.child;
            c.threads = n.has("threads") ? cores_of(n, "threads") : p->threads;
            if (c.threads.empty())
                n.fail("threads", "the child needs at least one thread");
            c.tlb_only = n.has("tlb_only") ? cores_of(n, "tlb_only") : std::vector<unsigned>{};
            // The child inherits every region the parent has at this point, under the same names.
            std::vector<std::string> inherited;
            for (const auto& [owner, r] : regions)
                if (owner == op.process)
                    inherited.push_back(r);
            e.processes.push_back(std::move(c));
            for (const std::string& r : inherited)
                regions.insert({op.child, r});
            break;
        }
        case OpKind::Munmap:
            region_ref(n, op);
            range(n, op);
            if (op.offset == 0 && op.length == 0)
                regions.erase({op.process, op.region}); // the whole region is gone
            break;
        case OpKind::Madvise:
            region_ref(n, op);
            range(n, op);
            op.advice = n.choice("advice", {"dontneed", "free", "cold", "pageout"});
            break;
        case OpKind::Mprotect:
            region_ref(n, op);
            range(n, op);
            op.prot = n.choice("prot", {"none", "r", "rw"});
            break;
        case OpKind::Pin:
            region_ref(n, op);
            range(n, op);
            op.write = n.choice("access", {"read", "write"}, "write") == "write";
            pinned.insert({op.process, op.region});
            break;
        case OpKind::Unpin:
            // The region may be unmapped by now: the pins keep its pages.
            op.region = n.str("region");
            if (!pinned.erase({op.process, op.region}))
                n.fail("region", "process '" + op.process + "' has nothing pinned in region '" + op.region +
                                     "' at this point of the workload (pin it first)");
            break;
        case OpKind::Mremap:
            region_ref(n, op);
            op.new_size = n.size("new_size", 0);
            if (op.new_size > kMaxRegion)
                n.fail("new_size", "must be at most 1T");
            op.move = n.boolean("move", true);
            break;
        case OpKind::DeviceExclusive:
            region_ref(n, op);
            range(n, op);
            break;
        case OpKind::Reclaim: {
            // memory.reclaim of the root cgroup, written by the process's thread on `core`: any folio on the LRU
            op.bytes = n.size("bytes");
            if (op.bytes == 0 || op.bytes > kMaxRegion)
                n.fail("bytes", "must be between 1 byte and 1T");
            if (n.has("swappiness")) {
                const std::string sw = n.str("swappiness");
                if (sw == "max") {
                    op.swappiness = 201; // SWAPPINESS_ANON_ONLY
                } else {
                    if (sw.empty() || sw.size() > 3 || sw.find_first_not_of("0123456789") != std::string::npos ||
                        std::stoi(sw) > 200)
                        n.fail("swappiness", "'" + sw + "' is not a swappiness: 0 to 200, or max (anonymous memory only)");
                    op.swappiness = std::stoi(sw);
                }
            }
            break;
        }
        case OpKind::Trace: {
            // Its records' @k are the process's threads; the trace maps its own memory (its mmap records) or
            // uses the process's regions by address.
            op.file = n.str("file");
            if (op.file.empty())
                n.fail("file", "must not be empty");
            // Relative to the experiment file, so that an experiment runs from any directory (and a sweep's
            // jobs are self-contained).
            if (op.file != "-" && op.file.front() != '/')
                op.file = (std::filesystem::path(e.source).parent_path() / op.file).lexically_normal().string();
            if (op.file != "-") {
                struct stat st;
                if (::stat(op.file.c_str(), &st) != 0)
                    n.fail("file", "cannot open '" + op.file + "': " + std::strerror(errno));
                if (!S_ISREG(st.st_mode))
                    n.fail("file", "'" + op.file + "' is not a regular file");
            } else {
                n.fail("file", "a trace item reads a file, not standard input");
            }
            op.format = n.choice("format", {"auto", "native", "lackey"}, "auto");
            break;
        }
        }
        e.workload.push_back(std::move(op));
    }
};

} // namespace

bool is_experiment_override(const std::string& assignment)
{
    for (const char* prefix : {"experiment.", "processes.", "workload."})
        if (assignment.rfind(prefix, 0) == 0)
            return true;
    return false;
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides)
{
    ConfigNode root = ConfigNode::load_file(path);
    for (const std::string& o : overrides)
        root.apply_override(o);
    Loader l;
    Experiment& e = l.e;
    e.source = path;
    const ConfigNode x = root.child("experiment");
    e.name = x.str("name");
    e.description = x.str("description", "");
    e.platform = x.str("platform");
    e.kernel = x.str("kernel", "default");
    e.sets = x.has("set") ? x.str_list("set") : std::vector<std::string>{};
    if (x.has("variants")) {
        std::set<std::string> names;
        for (const ConfigNode& v : x.list("variants")) {
            Variant var;
            var.name = v.str("name");
            if (!names.insert(var.name).second)
                v.fail("name", "variant '" + var.name + "' is defined twice");
            var.sets = v.has("set") ? v.str_list("set") : std::vector<std::string>{};
            e.variants.push_back(std::move(var));
        }
        if (e.variants.empty())
            x.fail("variants", "expected at least one variant");
    } else {
        // The batched kernel against the one that updates one PTE at a time.
        e.variants = {{"batched", {"kernel.pte_batch=true"}}, {"unbatched", {"kernel.pte_batch=false"}}};
    }
    l.load_processes(root);
    const auto ops = root.list("workload");
    if (ops.empty())
        root.fail("workload", "expected at least one operation");
    for (const ConfigNode& n : ops)
        l.load_op(n);
    root.finish();
    return e;
}

void check_cores(const Experiment& e, unsigned cores)
{
    const auto bad = [&](unsigned c, const std::string& what) {
        if (c >= cores)
            throw ConfigError(e.source + ": " + what + ": core " + std::to_string(c) + " does not exist: the platform has " +
                              std::to_string(cores) + " core" + (cores == 1 ? "" : "s") + " (set cores=N)");
    };
    for (const ProcessSpec& p : e.processes) {
        for (unsigned c : p.threads)
            bad(c, "process '" + p.name + "' threads");
        for (unsigned c : p.tlb_only)
            bad(c, "process '" + p.name + "' tlb_only");
    }
    for (const OpSpec& op : e.workload)
        bad(op.core, "line " + std::to_string(op.line) + ": " + to_string(op.kind) + " core");
}

} // namespace mmusim::tools
