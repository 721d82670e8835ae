// SPDX-License-Identifier: GPL-2.0-only
#include "tools/replay/trace_driver.hh"

#include "mm/huge_memory.hh"
#include "mm/madvise.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"
#include "mm/mprotect.hh"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

namespace mmusim::tools {

using traces::RecordType;
using traces::TraceRecord;

namespace {

std::string hex(Addr a)
{
    std::ostringstream s;
    s << "0x" << std::hex << a;
    return s.str();
}

} // namespace

std::string guess_trace_format(const std::string& path)
{
    const std::string name = path.substr(path.rfind('/') + 1);
    return name.find("lackey") != std::string::npos ? "lackey" : "native";
}

void ReplayCounters::add(const ReplayCounters& o)
{
    translations += o.translations;
    page_splits += o.page_splits;
    page_faults += o.page_faults;
    permission_faults += o.permission_faults;
    fault_cycles += o.fault_cycles;
    startup_cycles += o.startup_cycles;
    syscall_cycles += o.syscall_cycles;
    for (std::size_t k = 0; k < by_kind.size(); ++k)
        by_kind[k] += o.by_kind[k];
    for (std::size_t k = 0; k < syscalls.size(); ++k)
        syscalls[k] += o.syscalls[k];
}

// Hands each lane its records in trace order. A lane that runs dry refills from the reader only when every other
// lane has run dry as well; until then it waits for one of them to drain. So at most one batch is ever buffered
// (flat memory whatever the trace), and an idle lane never copies records meant for a busy one.
//
// System calls: a batch holding one is dealt in segments, the accesses up to the next system call, then that
// system call alone, then what follows; a segment is dealt only when every lane is idle: not only out of records
// (pos_ == size) but done with its last one too, which it says by coming back for more (its buffer is cleared
// then; a lane whose buffer is not empty may still be executing its last record). A batch without system calls
// takes the fast path, as before they existed.
class TraceDriver::Demux {
public:
    Demux(traces::TraceReader& reader, unsigned lanes) : reader_(reader), bufs_(lanes), pos_(lanes, 0) {}

    // Next record for `lane`, or nullptr at the end of the trace. Called from the lane's core's own thread.
    const TraceRecord* next(hw::Core& core, unsigned id)
    {
        while (pos_[id] == bufs_[id].size()) {
            if (!bufs_[id].empty()) {
                bufs_[id].clear();
                pos_[id] = 0;
                drained_.notify(); // others may be waiting for everyone to run dry (or to be idle)
            }
            if (eof_)
                return nullptr;
            if (others_have_records(id)) {
                core.wait_event(drained_);
                continue;
            }
            if (barrier_ || cursor_ != batch_.size()) {
                // A system call was dealt, or the batch holds one: every lane must be idle first.
                if (!all_idle()) {
                    core.wait_event(drained_);
                    continue;
                }
                // In simulated time too: the next segment starts after this lane's last record. Catching up
                // may yield to the other lanes, which may deal meanwhile: look again before dealing.
                core.sync_now();
                if (eof_ || !all_idle() || (!barrier_ && cursor_ == batch_.size()))
                    continue;
                deal_segment();
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
    bool all_idle() const
    {
        for (const auto& b : bufs_)
            if (!b.empty())
                return false;
        return true;
    }

    // Precondition: every buffer is empty and the last batch is dealt.
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
        bool syscalls = false;
        for (const TraceRecord& r : batch_) {
            single &= r.core == first;
            syscalls |= !r.is_access();
        }
        if (syscalls) { // dealt in segments by deal_segment(), each once every lane is idle
            cursor_ = 0;
            return;
        }
        dealt_ += batch_.size();
        if (single) {
            // Every single-threaded trace: the batch becomes that lane's buffer without a copy.
            bufs_[first].swap(batch_);
            pos_[first] = 0;
        } else {
            for (const TraceRecord& r : batch_)
                bufs_[r.core].push_back(r);
        }
        cursor_ = batch_.size();
        drained_.notify(); // wake the lanes that just got records
    }

    // Precondition: every lane is idle. Deals the batch's next system call alone, or the accesses up to it.
    void deal_segment()
    {
        barrier_ = false;
        if (cursor_ == batch_.size()) {
            refill();
            return;
        }
        if (!batch_[cursor_].is_access()) {
            bufs_[batch_[cursor_].core].push_back(batch_[cursor_]);
            ++cursor_;
            ++dealt_;
            barrier_ = true; // what follows waits for it to return
        } else {
            for (; cursor_ < batch_.size() && batch_[cursor_].is_access(); ++cursor_, ++dealt_)
                bufs_[batch_[cursor_].core].push_back(batch_[cursor_]);
        }
        drained_.notify();
    }

    static constexpr std::size_t kBatch = 16384; // the PrefetchReader batch: handed over without a copy
    traces::TraceReader& reader_;
    sc_core::sc_event drained_;
    std::vector<std::vector<TraceRecord>> bufs_;
    std::vector<std::size_t> pos_;
    std::vector<TraceRecord> batch_;
    std::size_t cursor_ = 0; // batch_[cursor_, size) not dealt yet (only a batch with system calls has any)
    bool barrier_ = false;   // a system call was dealt: nothing more until every lane is idle
    std::uint64_t dealt_ = 0;
    bool eof_ = false;
};

TraceDriver::TraceDriver(hw::Platform& platform, mm::Kernel& kernel, traces::TraceReader& reader, unsigned lanes,
                         ProgressFn progress)
    : platform_(platform), kernel_(kernel), demux_(std::make_unique<Demux>(reader, lanes)), per_lane_(lanes),
      progress_(std::move(progress))
{
}

TraceDriver::~TraceDriver() = default;

ReplayCounters TraceDriver::total() const
{
    ReplayCounters t;
    for (const ReplayCounters& c : per_lane_)
        t.add(c);
    return t;
}

std::uint64_t TraceDriver::records_dealt() const { return demux_->records(); }

void TraceDriver::check(Addr first, Addr last) { platform_.oracle().require_clean(first, last, mm_->asid, mm_->pgd); }

void TraceDriver::fault(hw::Core& core, ReplayCounters& rc, Addr va, AccessKind kind, hw::Fault why)
{
    const Cycles start = core.now();
    mm::Ctx c{kernel_, core};
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
        const std::uint64_t span = std::max<std::uint64_t>(kernel_.config().folio_size, platform_.format().page_size());
        const Addr first = va & ~(span - 1);
        check(first, first + (span - 1));
    }
}

// The system call of a record, as the traced process made it (the reader checked ADDR, LEN and folio= against
// the platform's page size and VA range).
void TraceDriver::syscall(hw::Core& core, ReplayCounters& rc, const TraceRecord& r)
{
    const Cycles start = core.now();
    mm::Ctx c{kernel_, core};
    mm::mm_struct& mm = *mm_;
    const auto failed = [&](const std::string& why) {
        return std::runtime_error("system call '" + traces::describe(r) + "' of the trace failed: " + why);
    };
    long ret = 0;
    switch (r.type) {
    case RecordType::Mmap: {
        // As start_process() maps the process's memory: the mTHP order of the folio size; at the PMD size,
        // order 0 and madvise(MADV_HUGEPAGE), so that faults map PMD-sized THPs with a PMD leaf.
        const unsigned log2 = traces::sys::mmap_folio_log2(r.arg());
        const std::uint64_t folio = log2 ? std::uint64_t{1} << log2 : kernel_.config().folio_size;
        const std::uint64_t page = platform_.format().page_size();
        const std::uint64_t pmd = mm::hpage_pmd_size(c);
        if (folio < page || folio > pmd)
            throw failed("folio " + std::to_string(folio) + " must be between the page size (" + std::to_string(page) +
                         ") and the PMD size (" + std::to_string(pmd) + ")");
        int order = 0;
        for (std::uint64_t s = folio / page; s > 1; s >>= 1)
            ++order;
        const bool pmd_thp = folio == pmd;
        try {
            mm::vm_mmap_pgoff(c, mm, r.addr, r.len(), traces::sys::mmap_prot(r.arg()),
                              mm::MAP_PRIVATE | mm::MAP_ANONYMOUS | mm::MAP_FIXED, pmd_thp ? 0 : order);
        } catch (const std::invalid_argument& e) {
            throw failed(e.what());
        }
        if (pmd_thp)
            ret = mm::do_madvise(c, mm, r.addr, r.len(), mm::MADV_HUGEPAGE);
        break;
    }
    case RecordType::Munmap: ret = mm::__vm_munmap(c, mm, r.addr, r.len()); break;
    case RecordType::Mprotect: ret = mm::do_mprotect_pkey(c, mm, r.addr, r.len(), r.arg()); break;
    case RecordType::Madvise: ret = mm::do_madvise(c, mm, r.addr, r.len(), r.arg()); break;
    case RecordType::Access: break;
    }
    ++rc.syscalls[traces::syscall_index(r.type)];
    rc.syscall_cycles += core.now() - start;
    if (ret < 0)
        throw failed("it returned " + std::to_string(ret) + " (-errno)");
    if (platform_.checked())
        check(r.addr, r.addr + (r.len() - 1));
}

void TraceDriver::run_lane(hw::Core& core, unsigned lane)
{
    ReplayCounters& rc = per_lane_[lane];
    const unsigned pshift = platform_.format().page_shift();
    std::uint64_t next_progress = 1u << 20;
    while (const TraceRecord* next = demux_->next(core, lane)) {
        // A copy: while this record runs (a fault yields to the other lanes), a lane that refills may append to
        // this lane's buffer, reallocating it, or swap it away.
        const TraceRecord rec = *next;
        const TraceRecord* const r = &rec;
        if (__builtin_expect(!r->is_access(), 0)) {
            syscall(core, rc, *r);
            continue;
        }
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
                fault(core, rc, va, r->kind, t.fault);
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
