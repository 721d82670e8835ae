// SPDX-License-Identifier: GPL-2.0-only
#include "tools/replay/replayer.hh"

#include <stdexcept>
#include <string>

namespace mmusim::tools {

using traces::TraceRecord;

namespace {

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
    : platform_(platform), kernel_(std::move(kernel)), demux_((reader.set_limits(record_limits(platform)),
                                   std::make_unique<Demux>(reader, platform.cores()))),
      alloc_(platform.config().memory.size), per_core_(platform.cores()), progress_(std::move(progress))
{
    // One process, its threads spread over the cores: one address space, ASID 1 (0 is the kernel's).
    as_ = std::make_unique<mm::AddressSpace>(platform.format(), alloc_, 1);
    faults_ = std::make_unique<mm::AnonFaultHandler>(*as_, kernel_);
    for (unsigned i = 0; i < platform.cores(); ++i) {
        hw::Core& c = platform.core(i);
        c.mmu().set_context(as_->asid(), as_->pgd());
        c.set_work([this](hw::Core& core) { core_loop(core); });
    }
}

Replayer::~Replayer() = default;

void Replayer::run()
{
    platform_.run();
    if (platform_.checked())
        check(0, platform_.format().user_va_last());
}

void Replayer::check(Addr first, Addr last) { platform_.oracle().require_clean(first, last, as_->asid(), as_->pgd()); }

ReplayCounters Replayer::total() const
{
    ReplayCounters t;
    for (const ReplayCounters& c : per_core_) {
        t.translations += c.translations;
        t.page_splits += c.page_splits;
        for (std::size_t k = 0; k < t.by_kind.size(); ++k)
            t.by_kind[k] += c.by_kind[k];
    }
    return t;
}

void Replayer::core_loop(hw::Core& core)
{
    ReplayCounters& rc = per_core_[core.id()];
    const unsigned pshift = platform_.format().page_shift();
    const bool checked = platform_.checked();
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
            // A first touch may fault twice when the hardware manages no A/D state: not present, then young.
            for (int tries = 0; t.fault != hw::Fault::None; ++tries) {
                if (tries == 2)
                    throw std::logic_error("access still faults after the fault handler mapped it");
                if (t.fault == hw::Fault::NotPresent) {
                    faults_->handle_fault(core, va, r->kind);
                    if (checked) {
                        const Addr folio = va & ~(kernel_.folio_size - 1);
                        check(folio, folio + (kernel_.folio_size - 1));
                    }
                } else if (!faults_->handle_access_fault(core, va, r->kind)) {
                    throw std::runtime_error("permission fault at " + std::to_string(va) + " replaying the trace");
                } else if (checked) {
                    const Addr page = va & ~(platform_.format().page_size() - 1);
                    check(page, page + (platform_.format().page_size() - 1));
                }
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
