// SPDX-License-Identifier: GPL-2.0-only
#include "tools/experiment/runner.hh"

#include "hw/platform/platform.hh"
#include "mm/fork.hh"
#include "mm/debug_vm.hh"
#include "mm/gup.hh"
#include "mm/kernel.hh"
#include "mm/madvise.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mmap_lock.hh"
#include "mm/mprotect.hh"
#include "mm/mremap.hh"
#include "mm/rmap.hh"
#include "mm/vmscan.hh"
#include "tools/replay/trace_driver.hh"
#include "traces/trace_reader.hh"
#include "util/config_error.hh"
#include "util/config_node.hh"
#include "util/ftrace.hh"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <vector>

namespace mmusim::tools {

namespace {

unsigned prot_bits(const std::string& p)
{
    if (p == "none")
        return mm::PROT_NONE;
    if (p == "r")
        return mm::PROT_READ;
    return mm::PROT_READ | mm::PROT_WRITE;
}

unsigned log2_of(std::uint64_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        ++n;
    }
    return n;
}

// Where a path in the experiment is relative to: the current directory (docs/EXPERIMENTS.md).
std::string resolve(const std::string& name_or_path) { return name_or_path; }

// One variant's simulation: the platform, the kernel on it, the processes, and the workload's position.
class Run {
public:
    Run(const Experiment& e, RunConfigs cfg, const OpProgress& progress, std::size_t timeline_limit)
        : e_(e), platform_(std::move(cfg.platform)), kernel_(platform_, cfg.kernel), progress_(progress)
    {
        if (timeline_limit)
            platform_.enable_timeline(timeline_limit);
    }

    VariantResult go(RunConfigs configs, const std::string& name)
    {
        VariantResult r;
        r.name = name;
        r.page_size = platform_.format().page_size();
        const unsigned cores = platform_.cores();
        for (unsigned i = 0; i < cores; ++i)
            platform_.core(i).set_work([this](hw::Core& cpu) { work(cpu); });
        platform_.run();
        // Every core waits in simulated time for its turn; a simulation that ran out of events before the
        // workload's end is a lost wakeup, never a result.
        if (results_.size() != e_.workload.size())
            throw std::logic_error("the simulation stopped after " + std::to_string(results_.size()) + " of " +
                                   std::to_string(e_.workload.size()) + " operations: every core was waiting (a lost wakeup)");
        r.ops = std::move(results_);
        for (const ProcessSpec& spec : e_.processes) {
            auto it = mms_.find(spec.name);
            if (it == mms_.end())
                continue; // a child whose fork is not in the workload's reach (never happens: validated)
            const mm::mm_struct& mm = *it->second;
            ProcessState s;
            s.name = spec.name;
            const hw::PhysInspector look = platform_.inspect();
            const auto counter = [&](mm::MmCounter m) { return static_cast<std::uint64_t>(static_cast<std::int64_t>(look.read64(mm.rss_addr(m)))); };
            s.rss_anon = counter(mm::MM_ANONPAGES);
            s.rss_file = counter(mm::MM_FILEPAGES);
            s.rss_shmem = counter(mm::MM_SHMEMPAGES);
            s.swapents = counter(mm::MM_SWAPENTS);
            s.vmas = mm.vmas.size();
            s.pgtable_bytes = mm.pgtables_bytes;
            r.processes.push_back(s);
        }
        r.memory_free = kernel_.page_alloc().free_bytes();
        r.configs = std::move(configs);
        r.timeline = platform_.take_timeline();
        return r;
    }

private:
    // Every core runs this: the operations assigned to it, in workload order; between them it waits in
    // simulated time (taking interrupts) until the operation before has finished on whichever core ran it.
    void work(hw::Core& cpu)
    {
        mm::Ctx c{kernel_, cpu};
        if (cpu.id() == 0)
            create_processes(c);
        for (;;) {
            while (next_ < e_.workload.size() && (!ready_ || (e_.workload[next_].core != cpu.id() && lane_of(cpu.id()) < 0)))
                cpu.wait_event(advanced_);
            if (next_ >= e_.workload.size())
                return;
            if (e_.workload[next_].core != cpu.id()) { // one of a trace's threads, not the core that runs the op
                const std::size_t op = next_;
                run_lane(c, static_cast<unsigned>(lane_of(cpu.id())));
                while (next_ == op)
                    cpu.wait_event(advanced_);
                continue;
            }
            execute(c, e_.workload[next_]);
            cpu.sync_now(); // the next operation starts when this one has ended, in simulated time
            ++next_;
            if (progress_)
                progress_(next_, e_.workload.size());
            advanced_.notify(sc_core::SC_ZERO_TIME);
        }
    }

    // exec()-like: each process the experiment starts with gets its mm (not counted in any operation).
    void create_processes(mm::Ctx& c)
    {
        for (const ProcessSpec& spec : e_.processes) {
            bool forked = false;
            for (const OpSpec& op : e_.workload)
                forked |= op.kind == OpKind::Fork && op.child == spec.name;
            if (!forked)
                adopt(spec, kernel_.mm_alloc(c));
        }
        c.cpu.sync_now();
        ready_ = true;
        advanced_.notify(sc_core::SC_ZERO_TIME);
    }

    // The process's cores run it (mm_cpumask), its tlb_only cores hold it lazily.
    void adopt(const ProcessSpec& spec, mm::mm_struct& mm)
    {
        for (unsigned t : spec.threads)
            mm.cpumask.set(t);
        for (unsigned t : spec.tlb_only) {
            mm.cpumask.set(t);
            mm.lazy.set(t);
        }
        mms_[spec.name] = &mm;
    }

    const ProcessSpec& spec_of(const std::string& name) const
    {
        for (const ProcessSpec& p : e_.processes)
            if (p.name == name)
                return p;
        throw std::logic_error("no process " + name);
    }

    // The core runs this process's user code from now on (switch_mm(): the MMU's ASID and root, and the core
    // joins mm_cpumask, so that flushes reach it).
    void switch_to(mm::Ctx& c, mm::mm_struct& mm)
    {
        c.cpu.mmu().set_context(mm.asid, mm.pgd);
        mm.cpumask.set(c.cpu.id());
        mm.lazy.reset(c.cpu.id());
    }

    // The lane (thread index) a core is to run of the trace item now under way, or -1.
    int lane_of(unsigned core) const
    {
        if (!trace_)
            return -1;
        for (std::size_t k = 0; k < trace_threads_.size(); ++k)
            if (trace_threads_[k] == core && !lane_started_[k])
                return static_cast<int>(k);
        return -1;
    }

    // A thread of the trace item's process runs its records (@k: threads[k]) until the trace ends.
    void run_lane(mm::Ctx& c, unsigned lane)
    {
        lane_started_[lane] = true;
        switch_to(c, *trace_mm_);
        trace_->run_lane(c.cpu, lane);
        c.cpu.sync_now();
        if (--lanes_left_ == 0)
            lanes_done_.notify();
    }

    // The trace item: its threads run its records; the op's core takes the counters around it and waits for them.
    void run_trace(mm::Ctx& c, const OpSpec& op, mm::mm_struct& mm, OpResult& r)
    {
        const ProcessSpec& ps = spec_of(op.process);
        const std::string path = resolve(op.file);
        const std::string format = op.format == "auto" ? guess_trace_format(path) : op.format;
        std::unique_ptr<traces::TraceReader> reader = traces::ReaderRegistry::instance().open(format, path);
        traces::RecordLimits limits;
        limits.cores = static_cast<unsigned>(ps.threads.size());
        limits.va_last = platform_.format().user_va_last();
        limits.va_space = platform_.format().name() + " " + platform_.format().variant();
        limits.page_size = platform_.format().page_size();
        const std::string key = e_.source + ":" + std::to_string(op.line) + ": threads";
        limits.core_message = [name = ps.name, n = ps.threads.size(), key](unsigned k) {
            return "record for thread @" + std::to_string(k) + " but process '" + name + "' has " + std::to_string(n) +
                   " thread(s): @k is threads[k] (experiment " + key + ")";
        };
        reader->set_limits(limits);
        TraceDriver driver(platform_, kernel_, *reader, static_cast<unsigned>(ps.threads.size()));
        driver.set_mm(mm);
        trace_ = &driver;
        trace_mm_ = &mm;
        trace_threads_ = ps.threads;
        lane_started_.assign(ps.threads.size(), false);
        lanes_left_ = ps.threads.size();
        advanced_.notify(sc_core::SC_ZERO_TIME); // the process's other threads start on their lanes
        const int mine = lane_of(c.cpu.id());
        if (mine >= 0)
            run_lane(c, static_cast<unsigned>(mine));
        while (lanes_left_ != 0)
            c.cpu.wait_event(lanes_done_);
        trace_ = nullptr;
        trace_mm_ = nullptr;
        const ReplayCounters t = driver.total();
        r.trace_records = t.records() + t.syscall_records();
        r.trace_page_faults = t.page_faults;
        r.ptes = t.records();
    }

    std::string where(const OpSpec& op) const
    {
        return e_.source + ":" + std::to_string(op.line) + ": " + to_string(op.kind) + ": ";
    }

    // Where user space asks mremap() to move a region (MREMAP_FIXED): above every mapping of the process,
    // with the old address's offset in a PMD shifted by half a PMD. Source and destination are then not
    // mutually PMD-aligned, so upstream too moves PTEs (move_ptes()) rather than whole PTE tables
    // (move_normal_pmd(), not ported); mTHP folios up to half a PMD stay naturally aligned.
    Addr mremap_destination(const mm::mm_struct& mm, Addr old, std::uint64_t len) const
    {
        const hw::PageTableFormat& fmt = platform_.format();
        const std::uint64_t pmd = std::uint64_t{1} << fmt.level(fmt.levels() - 2).shift;
        Addr top = mm::MMAP_SEARCH_BASE;
        for (const auto& [start, vma] : mm.vmas)
            top = std::max(top, vma.vm_end);
        const Addr base = ((top + pmd - 1) & ~(pmd - 1)) + pmd; // a PMD of gap: no neighbour to merge with
        const Addr to = base + ((old + pmd / 2) & (pmd - 1));
        if (to + len - 1 > fmt.user_va_last())
            throw std::runtime_error("mremap: no room above the process's mappings to move the region to");
        return to;
    }

    std::pair<Addr, std::uint64_t> range_of(const OpSpec& op) const
    {
        const auto& [start, size] = regions_.at({op.process, op.region});
        if (op.offset >= size || (op.length && op.offset + op.length > size))
            throw ConfigError(e_.source + ":" + std::to_string(op.line) + ": " + to_string(op.kind) + ": offset " +
                              std::to_string(op.offset) + " and length " + std::to_string(op.length) +
                              " go beyond region '" + op.region + "' of " + std::to_string(size) + " bytes");
        return {start + op.offset, op.length ? op.length : size - op.offset};
    }

    void execute(mm::Ctx& c, const OpSpec& op)
    {
        mm::mm_struct& mm = *mms_.at(op.process);
        const std::uint64_t page = platform_.format().page_size();
        OpResult r;
        r.spec = op;
        std::vector<hw::CoreCounters> before;
        std::vector<hw::MmuStats> mmu_before;
        std::vector<std::uint64_t> l1d_before;
        for (unsigned i = 0; i < platform_.cores(); ++i) {
            before.push_back(platform_.core(i).counters());
            mmu_before.push_back(platform_.core(i).mmu().stats());
            l1d_before.push_back(platform_.memory().level_stats(i, 0).misses);
        }
        const mm::MmStats kstats_before = kernel_.stats();
        const std::uint64_t dram_before = platform_.memory().dram_accesses();
        MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "experiment op {} {} {}", to_string(op.kind), op.process, op.region);
        c.cpu.sync_now();
        const Cycles started = c.cpu.time();
        hw::Timeline* const timeline = c.cpu.timeline();
        if (timeline) // the operation as a span of its own around the kernel functions it runs
            timeline->begin(c.cpu.id(), started,
                            timeline->intern(std::string(to_string(op.kind)) + " " + op.process +
                                             (op.region.empty() ? "" : " " + op.region)));

        switch (op.kind) {
        case OpKind::Mmap: {
            const std::uint64_t folio = op.folio ? op.folio : kernel_.config().folio_size;
            if (folio < page)
                throw ConfigError(e_.source + ":" + std::to_string(op.line) + ": mmap: folio " + format_size(folio) +
                                  " is smaller than the platform's page size " + format_size(page));
            const int order = static_cast<int>(log2_of(folio / page));
            const unsigned flags = (op.shared ? mm::MAP_SHARED : mm::MAP_PRIVATE) | mm::MAP_ANONYMOUS;
            const Addr a = mm::vm_mmap_pgoff(c, mm, 0, op.size, prot_bits(op.prot), flags, order);
            regions_[{op.process, op.region}] = {a, op.size};
            break;
        }
        case OpKind::Touch: {
            switch_to(c, mm);
            const auto [start, len] = range_of(op);
            const std::uint64_t stride = op.stride ? op.stride : page;
            const AccessKind kind = op.write ? AccessKind::Write : AccessKind::Read;
            for (Addr va = start; va < start + len; va += stride) {
                // A fault is handled and the access retried, as the hardware retries the instruction.
                for (int attempt = 0;; ++attempt) {
                    const hw::Translation t = c.cpu.translate(va, kind);
                    if (t.fault == hw::Fault::None) {
                        // data: true stores the access's 8 bytes (the address, never zero) at the PA
                        if (op.data)
                            c.cpu.store(t.pa, va | 1, 8, hw::Category::KernelMemory); // (no user-data category)
                        break;
                    }
                    if (attempt == 3)
                        throw std::runtime_error("touch: the access at " + std::to_string(va) + " still faults after the kernel handled it");
                    if (mm::do_page_fault(c, mm, va, kind) & mm::VM_FAULT_SIGSEGV)
                        throw ConfigError(e_.source + ":" + std::to_string(op.line) + ": touch: " +
                                          (op.write ? "write" : "read") + " at offset " + std::to_string(va - start + op.offset) +
                                          " of region '" + op.region + "' is a segmentation fault (its protection forbids it)");
                }
                c.cpu.maybe_sync();
            }
            r.ptes = (len + page - 1) / page;
            break;
        }
        case OpKind::Fork: {
            const ProcessSpec& child = spec_of(op.child);
            const hw::PhysInspector look = platform_.inspect();
            r.ptes = look.read64(mm.rss_addr(mm::MM_ANONPAGES));
            mm::mm_struct& cm = mm::copy_mm(c, mm); // the fork() system call: copy_process() around dup_mm()
            adopt(child, cm);
            for (const auto& [key, reg] : std::map<std::pair<std::string, std::string>, std::pair<Addr, std::uint64_t>>(regions_))
                if (key.first == op.process)
                    regions_[{op.child, key.second}] = reg;
            break;
        }
        case OpKind::Munmap: {
            const auto [start, len] = range_of(op);
            mm::__vm_munmap(c, mm, start, len);
            r.ptes = (len + page - 1) / page;
            if (op.offset == 0 && op.length == 0)
                regions_.erase({op.process, op.region});
            break;
        }
        case OpKind::Madvise: {
            const auto [start, len] = range_of(op);
            const int advice = op.advice == "free"      ? mm::MADV_FREE
                               : op.advice == "cold"    ? mm::MADV_COLD
                               : op.advice == "pageout" ? mm::MADV_PAGEOUT
                                                        : mm::MADV_DONTNEED;
            mm::do_madvise(c, mm, start, len, advice);
            r.ptes = (len + page - 1) / page;
            break;
        }
        case OpKind::Mprotect: {
            const auto [start, len] = range_of(op);
            mm::do_mprotect_pkey(c, mm, start, len, prot_bits(op.prot));
            r.ptes = (len + page - 1) / page;
            break;
        }
        case OpKind::Pin: {
            // A driver's ioctl() (RDMA memory registration, VFIO DMA map, io_uring fixed buffers) pinning the
            // calling process's memory: pin_user_pages_fast() on the core that runs it.
            switch_to(c, mm);
            const auto [start, len] = range_of(op);
            const unsigned long nr = static_cast<unsigned long>((start + len + page - 1) / page - start / page);
            kernel_.charge_sw(c, kernel_.config().software.syscall_entry);
            std::vector<mm::pfn_t> pages;
            const long got = mm::pin_user_pages_fast(c, mm, start, nr, op.write ? mm::FOLL_WRITE : 0u, pages);
            if (got != static_cast<long>(nr)) {
                mm::unpin_user_pages(c, pages); // what callers do with a short pin
                throw ConfigError(where(op) + (got < 0 ? "error " + std::to_string(-got) + " (errno)"
                                                       : std::to_string(got) + " of " + std::to_string(nr) + " pages") +
                                  " pinning region '" + op.region + "' (its protection forbids the access?)");
            }
            std::vector<mm::pfn_t>& held = pins_[{op.process, op.region}];
            held.insert(held.end(), pages.begin(), pages.end());
            r.ptes = nr;
            break;
        }
        case OpKind::Unpin: {
            auto it = pins_.find({op.process, op.region});
            if (it == pins_.end())
                throw ConfigError(where(op) + "nothing is pinned in region '" + op.region + "'");
            kernel_.charge_sw(c, kernel_.config().software.syscall_entry);
            mm::unpin_user_pages(c, it->second);
            r.ptes = it->second.size();
            pins_.erase(it);
            break;
        }
        case OpKind::Mremap: {
            const auto [start, size] = regions_.at({op.process, op.region});
            const std::uint64_t new_size = op.new_size ? op.new_size : size;
            Addr to = 0;
            unsigned flags = mm::MREMAP_MAYMOVE;
            if (op.move) {
                to = mremap_destination(mm, start, new_size);
                flags |= mm::MREMAP_FIXED;
            }
            const long res = mm::do_mremap(c, mm, start, size, new_size, flags, to);
            if (res < 0)
                throw ConfigError(where(op) + "mremap() of region '" + op.region + "' failed with error " +
                                  std::to_string(-res) + " (errno; is all of it still mapped?)");
            regions_[{op.process, op.region}] = {static_cast<Addr>(res), new_size};
            r.ptes = (size + page - 1) / page;
            break;
        }
        case OpKind::DeviceExclusive: {
            // lib/test_hmm.c dmirror_exclusive(), the HMM_DMIRROR_EXCLUSIVE ioctl() without the device side:
            // under the mmap_lock, each page made device-exclusive (make_device_exclusive()), then its folio
            // unlocked and put once the device has it.
            const auto [start, len] = range_of(op);
            const Addr first = start & ~(page - 1), end = start + len;
            kernel_.charge_sw(c, kernel_.config().software.syscall_entry);
            {
                const mm::MmapReadGuard lock(c, mm);
                for (Addr addr = first; addr < end; addr += page) {
                    mm::pfn_t pg = 0;
                    mm::Folio folio;
                    if (const int err = mm::make_device_exclusive(c, mm, addr, pg, folio))
                        throw ConfigError(where(op) + "error " + std::to_string(-err) + " (errno) at offset " +
                                          std::to_string(addr - start + op.offset) + " of region '" + op.region +
                                          "' (not anonymous private memory, or its protection forbids writing?)");
                    mm::folio_unlock(c, folio);
                    mm::folio_put(c, folio);
                }
            }
            r.ptes = (end - first + page - 1) / page;
            break;
        }
        case OpKind::Reclaim: {
            // write(2) of "<bytes> [swappiness=...]" to the root cgroup's memory.reclaim: the system call, then
            // memory_reclaim() -> user_proactive_reclaim(). -EAGAIN (less reclaimable than asked) is what the
            // write returns; the report's pgsteal says how much went.
            kernel_.charge_sw(c, kernel_.config().software.syscall_entry);
            const std::optional<int> swappiness = op.swappiness < 0 ? std::nullopt : std::optional<int>(op.swappiness);
            mm::user_proactive_reclaim(c, op.bytes, swappiness);
            r.ptes = op.bytes / page;
            break;
        }
        case OpKind::Trace:
            run_trace(c, op, mm, r);
            break;
        }
        c.cpu.sync_now(); // everything the operation caused elsewhere (IPI handlers) has been charged by now
        r.elapsed = c.cpu.time() - started;
        if (timeline)
            timeline->end(c.cpu.id(), c.cpu.time());
        for (unsigned i = 0; i < platform_.cores(); ++i) {
            CoreDelta d;
            const hw::CoreCounters& now = platform_.core(i).counters();
            const hw::CoreCounters& was = before[i];
            for (std::size_t k = 0; k < hw::kCategoryCount; ++k)
                d.counters.cycles[k] = now.cycles[k] - was.cycles[k];
            d.counters.loads = now.loads - was.loads;
            d.counters.stores = now.stores - was.stores;
            d.counters.atomics = now.atomics - was.atomics;
            d.counters.tlbi_issued = now.tlbi_issued - was.tlbi_issued;
            d.counters.tlbi_received = now.tlbi_received - was.tlbi_received;
            d.counters.tlb_entries_invalidated = now.tlb_entries_invalidated - was.tlb_entries_invalidated;
            d.counters.barriers = now.barriers - was.barriers;
            d.counters.ipis_sent = now.ipis_sent - was.ipis_sent;
            d.counters.ipis_received = now.ipis_received - was.ipis_received;
            d.counters.bytes_cleared = now.bytes_cleared - was.bytes_cleared;
            d.counters.bytes_copied = now.bytes_copied - was.bytes_copied;
            d.walks = platform_.core(i).mmu().stats().walks - mmu_before[i].walks;
            d.l1d_misses = platform_.memory().level_stats(i, 0).misses - l1d_before[i];
            r.cores.push_back(d);
        }
        r.kernel = kernel_.stats().since(kstats_before);
        r.dram_accesses = platform_.memory().dram_accesses() - dram_before;
        // checked mode: folio state against the page tables at the operation's end (untimed)
        if (platform_.checked())
            mm::check_mm_state(kernel_, e_.source + ":" + std::to_string(op.line) + ": end of " + to_string(op.kind));
        results_.push_back(std::move(r));
    }

    const Experiment& e_;
    hw::Platform platform_;
    mm::Kernel kernel_;
    OpProgress progress_;
    std::map<std::string, mm::mm_struct*> mms_;
    std::map<std::pair<std::string, std::string>, std::pair<Addr, std::uint64_t>> regions_; // (process, region)
    std::map<std::pair<std::string, std::string>, std::vector<mm::pfn_t>> pins_;          // pinned pages
    std::size_t next_ = 0;
    bool ready_ = false;
    sc_core::sc_event advanced_;
    std::vector<OpResult> results_;
    // The trace item under way (run_trace()): its driver, process and threads, and the lanes still running.
    TraceDriver* trace_ = nullptr;
    mm::mm_struct* trace_mm_ = nullptr;
    std::vector<unsigned> trace_threads_;
    std::vector<bool> lane_started_;
    std::size_t lanes_left_ = 0;
    sc_core::sc_event lanes_done_;
};

} // namespace

RunConfigs variant_configs(const Experiment& e, const Variant& v, const std::vector<std::string>& cli_sets)
{
    std::vector<std::string> sets = e.sets;
    sets.insert(sets.end(), v.sets.begin(), v.sets.end());
    sets.insert(sets.end(), cli_sets.begin(), cli_sets.end());
    RunConfigs cfg = load_run_configs(resolve(e.platform), resolve(e.kernel), sets);
    check_cores(e, cfg.platform.cores);
    return cfg;
}

VariantResult run_variant(const Experiment& e, const Variant& v, const std::vector<std::string>& cli_sets, bool check,
                          const OpProgress& progress, std::size_t timeline_limit)
{
    RunConfigs cfg = variant_configs(e, v, cli_sets);
    cfg.platform.check = cfg.platform.check || check;
    const RunConfigs kept = cfg;
    Run run(e, std::move(cfg), progress, timeline_limit);
    return run.go(kept, v.name);
}

} // namespace mmusim::tools
