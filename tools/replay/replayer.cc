// SPDX-License-Identifier: GPL-2.0-only
#include "tools/replay/replayer.hh"

#include "mm/huge_memory.hh"
#include "mm/madvise.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mmusim::tools {

using traces::TraceRecord;

namespace {

std::string hex(Addr a)
{
    std::ostringstream s;
    s << "0x" << std::hex << a;
    return s.str();
}

traces::RecordLimits record_limits(const hw::Platform& platform)
{
    traces::RecordLimits l;
    l.cores = platform.cores();
    l.max_cores = kMaxCores;
    l.va_last = platform.format().user_va_last();
    l.va_space = platform.format().name() + " " + platform.format().variant();
    return l;
}

} // namespace

// Hands each core its records in trace order. A core that runs dry refills from the reader only when every
// other core has run dry as well; until then it waits for one of them to drain. So at most one batch is ever
// buffered (flat memory whatever the trace), and an idle core never copies records meant for a busy one.
class Replayer::Demux {
public:
    Demux(traces::TraceReader& reader, unsigned cores)
        : reader_(reader), bufs_(cores), pos_(cores, 0)
    {
    }

    // Next record for `core`, or nullptr at the end of the trace. Called from the core's own thread.
    const TraceRecord* next(hw::Core& core)
    {
        const unsigned id = core.id();
        while (pos_[id] == bufs_[id].size()) {
            if (!bufs_[id].empty()) {
                bufs_[id].clear();
                pos_[id] = 0;
                drained_.notify(); // others may be waiting for everyone to run dry
            }
            if (eof_)
                return nullptr;
            if (others_have_records(id)) {
                core.wait_event(drained_);
                continue;
            }
            refill();
        }
        return &bufs_[id][pos_[id]++];
    }
    std::uint64_t records() const { return dealt_; }
    std::uint64_t bytes() const { return reader_.bytes_read(); }

private:
    bool others_have_records(unsigned id) const
    {
        for (unsigned c = 0; c < bufs_.size(); ++c)
            if (c != id && pos_[c] != bufs_[c].size())
                return true;
        return false;
    }

    // Precondition: every buffer is empty.
    void refill()
    {
        if (!reader_.next_batch(batch_, kBatch)) {
            eof_ = true;
            drained_.notify();
            return;
        }
        // Core numbers were checked by the reader, on their lines (TraceReader::set_limits).
        const std::uint16_t first = batch_.front().core;
        bool single = true;
        for (const TraceRecord& r : batch_)
            single &= r.core == first;
        dealt_ += batch_.size();
        if (single) {
            // Every single-threaded trace: the batch becomes that core's buffer without a copy.
            bufs_[first].swap(batch_);
            pos_[first] = 0;
        } else {
            for (const TraceRecord& r : batch_)
                bufs_[r.core].push_back(r);
        }
        drained_.notify(); // wake the cores that just got records
    }
    static constexpr std::size_t kBatch = 16384; // the PrefetchReader batch: handed over without a copy
    traces::TraceReader& reader_;
    sc_core::sc_event drained_;
    std::vector<std::vector<TraceRecord>> bufs_;
    std::vector<std::size_t> pos_;
    std::vector<TraceRecord> batch_;
    std::uint64_t dealt_ = 0;
    bool eof_ = false;
};

Replayer::Replayer(hw::Platform& platform, mm::KernelConfig kernel, traces::TraceReader& reader, ProgressFn progress)
    : platform_(platform), kernel_(std::make_unique<mm::Kernel>(platform, std::move(kernel))),
      demux_((reader.set_limits(record_limits(platform)), std::make_unique<Demux>(reader, platform.cores()))),
      per_core_(platform.cores()), progress_(std::move(progress))
{
}

Replayer::~Replayer() = default;

const mm::mm_struct& Replayer::mm() const
{
    if (!mm_)
        throw std::logic_error("Replayer::mm(): the process is created by run()");
    return *mm_;
}

// exec() of the traced program, as far as its memory goes: the mm, and one anonymous private mapping over the
// whole user address range (the trace's addresses are all the program's memory), in the VMA's mTHP order; at
// the PMD size, madvise(MADV_HUGEPAGE) so that faults map PMD-sized THPs.
void Replayer::start_process(hw::Core& core)
{
    const Cycles start = core.now();
    mm::Ctx c{*kernel_, core};
    mm::mm_struct& mm = kernel_->mm_alloc(c);
    const hw::PageTableFormat& fmt = platform_.format();
    const std::uint64_t len = fmt.user_va_last() + 1;
    const std::uint64_t folio = kernel_->config().folio_size;
    const bool pmd_thp = folio == mm::hpage_pmd_size(c);
    int order = 0;
    for (std::uint64_t s = folio / fmt.page_size(); s > 1; s >>= 1)
        ++order;
    // A PMD-sized THP is mapped by a PMD; smaller mTHP orders are off then (a failed THP falls back to order 0).
    mm::vm_mmap_pgoff(c, mm, 0, len, mm::PROT_READ | mm::PROT_WRITE | mm::PROT_EXEC,
                      mm::MAP_PRIVATE | mm::MAP_ANONYMOUS | mm::MAP_FIXED, pmd_thp ? 0 : order);
    if (pmd_thp && mm::do_madvise(c, mm, 0, len, mm::MADV_HUGEPAGE) != 0)
        throw std::logic_error("replay: madvise(MADV_HUGEPAGE) of the process's mapping failed");
    mm_ = &mm;
    per_core_[core.id()].startup_cycles += core.now() - start;
}

void Replayer::run()
{
    platform_.core(0).set_work([this](hw::Core& core) { start_process(core); });
    platform_.run();
    // Every core runs the process: switch_mm() loads its ASID and root table, and the core joins mm_cpumask.
    for (unsigned i = 0; i < platform_.cores(); ++i) {
        hw::Core& c = platform_.core(i);
        c.mmu().set_context(mm_->asid, mm_->pgd);
        mm_->cpumask.set(i);
        c.set_work([this](hw::Core& core) { core_loop(core); });
    }
    platform_.run();
    if (platform_.checked())
        check(0, platform_.format().user_va_last());
}

void Replayer::check(Addr first, Addr last) { platform_.oracle().require_clean(first, last, mm_->asid, mm_->pgd); }

ReplayCounters Replayer::total() const
{
    ReplayCounters t;
    for (const ReplayCounters& c : per_core_) {
        t.translations += c.translations;
        t.page_splits += c.page_splits;
        t.page_faults += c.page_faults;
        t.permission_faults += c.permission_faults;
        t.fault_cycles += c.fault_cycles;
        t.startup_cycles += c.startup_cycles;
        for (std::size_t k = 0; k < t.by_kind.size(); ++k)
            t.by_kind[k] += c.by_kind[k];
    }
    return t;
}

void Replayer::fault(hw::Core& core, Addr va, AccessKind kind, hw::Fault why)
{
    ReplayCounters& rc = per_core_[core.id()];
    const Cycles start = core.now();
    mm::Ctx c{*kernel_, core};
    const mm::vm_fault_t ret = mm::do_page_fault(c, *mm_, va, kind);
    ++rc.page_faults;
    if (why == hw::Fault::Permission)
        ++rc.permission_faults;
    rc.fault_cycles += core.now() - start;
    if (ret & mm::VM_FAULT_SIGSEGV)
        throw std::runtime_error("segmentation fault: " + std::string(to_string(kind)) + " at " + hex(va) +
                                 " replaying the trace (a " + hw::to_string(why) + " fault the process may not take)");
    if (ret & mm::VM_FAULT_OOM)
        throw mm::OutOfMemory("out of simulated physical memory handling a fault at " + hex(va) +
                              "; raise memory.size (--set memory.size=...)");
    if (ret & mm::VM_FAULT_SIGBUS)
        throw std::runtime_error("bus error: fault at " + hex(va) + " replaying the trace");
    if (platform_.checked()) {
        // The range a fault may have changed: the folio of kernel.folio_size around the address (a page, an
        // mTHP, a PMD leaf), at least the page.
        const std::uint64_t span = std::max<std::uint64_t>(kernel_->config().folio_size, platform_.format().page_size());
        const Addr first = va & ~(span - 1);
        check(first, first + (span - 1));
    }
}

void Replayer::core_loop(hw::Core& core)
{
    ReplayCounters& rc = per_core_[core.id()];
    const unsigned pshift = platform_.format().page_shift();
    std::uint64_t next_progress = 1u << 20;
    while (const TraceRecord* r = demux_->next(core)) {
        ++rc.by_kind[static_cast<std::size_t>(r->kind)];
        // The reader checked that [addr, addr + size) lies inside the format's user VA range (so no wrap).
        const Addr first = r->addr;
        const Addr last_page = (r->addr + (r->size - 1)) >> pshift;
        Addr page = first >> pshift;
        if (last_page != page)
            ++rc.page_splits;
        for (Addr va = first;; va = (++page) << pshift) {
            ++rc.translations;
            hw::Translation t = core.translate(va, r->kind);
            // A fault is handled and the access retried. A first write may fault twice: a read-only zero page
            // or huge zero PMD in the TLB (permission), or a translation fault whose handler lost a race.
            for (int tries = 0; t.fault != hw::Fault::None; ++tries) {
                if (tries == 3)
                    throw std::logic_error("access at " + hex(va) +
                                           " still faults after the kernel handled it three times");
                fault(core, va, r->kind, t.fault);
                t = core.translate(va, r->kind);
            }
            if (page == last_page) // not (page + 1) << pshift > last: that wraps to 0 in the top page
                break;
        }
        core.maybe_sync();
        if (progress_ && rc.records() >= next_progress) {
            next_progress += 1u << 20;
            progress_(demux_->records(), demux_->bytes());
        }
    }
}

} // namespace mmusim::tools
