// SPDX-License-Identifier: GPL-2.0-only
#include "hw/core/core.hh"

#include "hw/interconnect/interconnect.hh"
#include "util/ftrace.hh"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace mmusim::hw {

namespace {

// Thrown through a core's work when another core's failure ended the run (Core::stop_waiting). Not a
// std::exception, so that no handler of the work's own catches it.
struct Stopped {};

} // namespace

const char* to_string(AtomicKind k)
{
    switch (k) {
    case AtomicKind::Near: return "near";
    case AtomicKind::Far: return "far";
    case AtomicKind::LlSc: return "llsc";
    }
    return "?";
}

const char* to_string(Barrier b)
{
    switch (b) {
    case Barrier::DmbIsh: return "dmb ish";
    case Barrier::DsbIsh: return "dsb ish";
    case Barrier::DsbIshst: return "dsb ishst";
    case Barrier::DsbNsh: return "dsb nsh";
    case Barrier::Isb: return "isb";
    case Barrier::Mfence: return "mfence";
    case Barrier::Tlbsync: return "tlbsync";
    case Barrier::Fence: return "fence";
    }
    return "?";
}

Core::Core(sc_core::sc_module_name name, unsigned id, const MmuConfig& mmu, const PageTableFormat& fmt,
           Interconnect& ic, sc_core::sc_time cycle, Cycles quantum, const CoreCosts& costs)
    : sc_module(name), socket("socket"), id_(id), ic_(ic), cycle_(cycle), costs_(costs),
      sync_batch_(quantum ? quantum : 1), mmu_(mmu, fmt, *this)
{
    SC_HAS_PROCESS(Core);
    SC_THREAD(run);
    qk_.reset();
    trans_.set_extension(&op_ext_);
}

// The payload frees its extensions when destroyed; op_ext_ is a member, not the payload's to free.
Core::~Core() { trans_.clear_extension(&op_ext_); }

void Core::set_work(std::function<void(Core&)> work)
{
    work_ = std::move(work);
    done_ = false;
    irq_event_.notify(sc_core::SC_ZERO_TIME); // wakes a parked thread, which picks the work up in the next run
}

void Core::run()
{
    thread_ = sc_core::sc_get_current_process_handle();
    try {
        // A core whose work is done is idle but still takes interrupts (its TLBs must be flushed); its time
        // ended with its work, so what a handler costs it is dropped (serve_interrupt). It also takes new work
        // given with set_work() before the next Platform::run(), so a test or tool can run in phases. The
        // thread never returns: a run ends when no event is left. (That also keeps ASan builds off
        // libsystemc's unannounced stack switch when a thread returns, hw/core/asan_fiber_shim.cc.)
        for (;;) {
            if (work_) {
                const auto work = std::move(work_);
                work_ = nullptr;
                done_ = false;
                work(*this);
                sync_now();
            }
            done_ = true;
            while (!work_)
                wait_event(irq_event_); // an interrupt or new work (one event: no or-list held while parked)
        }
    } catch (const Stopped&) {
        done_ = true; // another core failed: this one's work is unwound, with no error of its own
    } catch (...) {
        // Exceptions must not cross into the SystemC kernel, which would turn them into sc_reports.
        error_ = std::current_exception();
        done_ = true;
        // The other cores unwind their work before the simulation stops (they run in this delta cycle).
        for (std::size_t i = 0; i < ic_.cores(); ++i)
            if (i != id_)
                ic_.core(i).stop_waiting();
        // Another core may have failed in the same delta cycle; a second sc_stop() would print SystemC's
        // W545 warning on stdout. The first error stops the run, and each core keeps its own.
        if (sc_core::sc_get_simulator_status() != sc_core::SC_SIM_USER_STOP)
            sc_core::sc_stop();
    }
    sc_core::wait(parked_); // park rather than return (see above)
}

Cycles Core::now() const
{
    Cycles t = 0;
    for (std::uint64_t c : counters_.cycles)
        t += c;
    return t;
}

void Core::sync()
{
    qk_.inc(cycle_ * static_cast<double>(pending_));
    pending_ = 0;
    if (qk_.need_sync())
        hand_over();
}

Cycles Core::time() const
{
    const sc_core::sc_time t = sc_core::sc_time_stamp() + qk_.get_local_time();
    return static_cast<Cycles>(t.value() / cycle_.value()) + pending_;
}

void Core::sync_point()
{
    if (thread_.valid() && sc_core::sc_get_current_process_handle() == thread_)
        sync_now();
}

void Core::drop_charges(const CoreCounters& before)
{
    Cycles earlier = 0;
    for (std::uint64_t c : before.cycles)
        earlier += c;
    const Cycles extra = now() - earlier;
    counters_.cycles = before.cycles;
    pending_ -= std::min(pending_, extra);
}

void Core::sync_now()
{
    qk_.inc(cycle_ * static_cast<double>(pending_));
    pending_ = 0;
    hand_over();
}

void Core::hand_over()
{
    const Cycles until = static_cast<Cycles>((sc_core::sc_time_stamp() + qk_.get_local_time()).value() / cycle_.value());
    qk_.reset();
    wait_until(until);
}

Cycles Core::sim_cycles() const { return static_cast<Cycles>(sc_core::sc_time_stamp().value() / cycle_.value()); }

void Core::stop_waiting()
{
    stopping_ = true;
    irq_event_.notify(); // immediate: the thread runs in this evaluation phase, before sc_stop() takes effect
}

bool Core::stopped()
{
    if (!stopping_)
        return false;
    if (std::uncaught_exceptions() == 0)
        throw Stopped{};
    return true;
}

void Core::wait_until(Cycles until)
{
    for (;;) {
        if (stopped())
            return;
        until += serve_interrupt();
        const Cycles now = sim_cycles();
        if (now >= until)
            return;
        Cycles next = until;
        if (!in_irq_ && !irqs_.empty())
            next = std::min(next, std::max(now, irqs_.front().arrival));
        if (next > now)
            sc_core::wait(cycle_ * static_cast<double>(next - now), irq_event_);
    }
}

Cycles Core::serve_interrupt()
{
    if (in_irq_ || irqs_.empty() || irqs_.front().arrival > sim_cycles())
        return 0;
    const Interrupt irq = std::move(irqs_.front());
    irqs_.pop_front();
    const CoreCounters saved = counters_;
    const Cycles start = sim_cycles();
    MMUSIM_TRACE_EVENT(start, id_, "ipi handler entry");
    const Cycles drawn = timeline_ ? timeline_->begin(id_, start, "ipi_handler") : 0;
    struct Masked { // interrupts stay masked while the handler runs, and after it if it throws
        bool& f;
        explicit Masked(bool& flag) : f(flag) { f = true; }
        ~Masked() { f = false; }
    };
    {
        Masked masked(in_irq_);
        charge(irq.entry, Category::IpiHandler);
        irq.ipi->handler(*this);
        sync_now(); // the handler's time passes on this core's timeline
    }
    const Cycles took = sim_cycles() - start;
    if (timeline_)
        timeline_->end(id_, drawn + took);
    irq_cycles_ += took;
    if (done_)
        drop_charges(saved);
    MMUSIM_TRACE_EVENT(sim_cycles(), id_, "ipi handler exit ({} cycles)", took);
    irq.ipi->acknowledge(sim_cycles() + irq.ack);
    return took;
}

void Core::raise(Interrupt irq)
{
    auto at = std::upper_bound(irqs_.begin(), irqs_.end(), irq.arrival,
                               [](Cycles t, const Interrupt& i) { return t < i.arrival; });
    irqs_.insert(at, std::move(irq));
    irq_event_.notify(sc_core::SC_ZERO_TIME);
}

void Core::idle(sc_core::sc_time d)
{
    sync_now();
    wait_until(sim_cycles() + static_cast<Cycles>(d.value() / cycle_.value()));
}

void Core::wait_event(sc_core::sc_event& ev)
{
    if (stopped())
        return;
    // Catching up with simulated time may yield, and what the caller waits for may happen meanwhile (a
    // notification no wait was there to see): then return at once, so that the caller looks again.
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    const std::uint64_t d0 = sc_core::sc_delta_count();
    sync_now();
    if (sc_core::sc_time_stamp() != t0 || sc_core::sc_delta_count() != d0)
        return;
    if (serve_interrupt())
        return;
    const bool irq_only = &ev == &irq_event_;
    if (!in_irq_ && !irqs_.empty()) {
        const sc_core::sc_time until = cycle_ * static_cast<double>(irqs_.front().arrival - sim_cycles());
        if (irq_only)
            sc_core::wait(until, irq_event_);
        else
            sc_core::wait(until, ev | irq_event_);
    } else if (irq_only) {
        sc_core::wait(ev);
    } else {
        // In a handler too, though it takes no interrupt: irq_event_ is also what stop_waiting() notifies.
        sc_core::wait(ev | irq_event_);
    }
    if (stopped())
        return;
    serve_interrupt();
}

void Core::spin_pause(Category cat)
{
    charge(costs_.spin_pause ? costs_.spin_pause : 1, cat); // at least a cycle, so simulated time moves
    sync_now();
}

Cycles Core::access(PAddr pa, void* data, unsigned len, bool write, MemOp op)
{
    op_ext_.op = op;
    trans_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans_.set_address(pa);
    trans_.set_data_ptr(static_cast<unsigned char*>(data));
    trans_.set_data_length(len);
    trans_.set_streaming_width(len);
    trans_.set_byte_enable_ptr(nullptr);
    trans_.set_dmi_allowed(false);
    trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    // Loosely-timed TLM: the target is told how far ahead of SystemC time this core is (its local offset);
    // what it adds is the access's latency.
    const sc_core::sc_time offset = qk_.get_local_time() + cycle_ * static_cast<double>(pending_);
    sc_core::sc_time delay = offset;
    socket->b_transport(trans_, delay);
    if (trans_.is_response_error()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "core %u: physical access at 0x%llx failed", id_, static_cast<unsigned long long>(pa));
        throw std::runtime_error(buf);
    }
    return static_cast<Cycles>((delay - offset).value() / cycle_.value());
}

Cycles Core::read64(PAddr pa, std::uint64_t& value) { return access(pa, &value, 8, false); }
Cycles Core::write64(PAddr pa, std::uint64_t value) { return access(pa, &value, 8, true); }

// The walker's hardware A/D updates: a read for ownership (the line is taken exclusive, a failed compare too),
// then the store into the owned line; the atomic's own time is atomics.extra, as for the kernel's near atomics.
Cycles Core::cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old)
{
    const Cycles c = access(pa, &old, 8, false, MemOp::ReadExclusive);
    if (old == expected)
        access(pa, &desired, 8, true);
    return c + costs_.atomic_extra;
}

Cycles Core::fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old)
{
    const Cycles c = access(pa, &old, 8, false, MemOp::ReadExclusive);
    std::uint64_t v = old | bits;
    access(pa, &v, 8, true);
    return c + costs_.atomic_extra;
}

std::uint64_t Core::peek64(PAddr pa)
{
    std::uint64_t v = 0;
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(pa);
    t.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
    t.set_data_length(8);
    socket->transport_dbg(t);
    return v;
}

void Core::check_access(PAddr pa, unsigned size, const char* what) const
{
    if ((size == 1 || size == 2 || size == 4 || size == 8) && pa % size == 0)
        return;
    char buf[160];
    std::snprintf(buf, sizeof buf, "core %u: %s of %u bytes at 0x%llx: %s", id_, what, size,
                  static_cast<unsigned long long>(pa),
                  size == 1 || size == 2 || size == 4 || size == 8 ? "not naturally aligned" : "size must be 1, 2, 4 or 8");
    throw std::invalid_argument(buf);
}

std::uint64_t Core::load(PAddr pa, unsigned size, Category cat)
{
    check_access(pa, size, "load");
    std::uint64_t v = 0; // the host is little-endian, as every simulated architecture's kernel here
    charge(access(pa, &v, size, false), cat);
    ++counters_.loads;
    return v;
}

void Core::store(PAddr pa, std::uint64_t value, unsigned size, Category cat)
{
    check_access(pa, size, "store");
    charge(access(pa, &value, size, true), cat);
    ++counters_.stores;
}

namespace {

std::uint64_t truncate(std::uint64_t v, unsigned size) { return size == 8 ? v : v & ((std::uint64_t{1} << (8 * size)) - 1); }

} // namespace

// One atomic read-modify-write. `op(old, next)` computes the new value and returns whether to store it.
// Near: a read for ownership, then the store hits the now-exclusive line (its latency is the atomic's own,
// in atomic_extra). LL/SC: the exclusive load and the store-exclusive are two accesses, both paid. Far: the
// operation runs at the shared level; the data changes there without a private copy.
template <class Op>
std::uint64_t Core::atomic(PAddr pa, unsigned size, Category cat, const char* what, Op op)
{
    check_access(pa, size, what);
    sync_point(); // other cores' earlier operations on shared lines happen first
    std::uint64_t old = 0;
    const bool far = costs_.atomic_kind == AtomicKind::Far;
    Cycles c = access(pa, &old, size, false, far ? MemOp::FarAtomic : MemOp::ReadExclusive);
    std::uint64_t next = 0;
    if (op(old, next)) {
        next = truncate(next, size);
        if (far) {
            tlm::tlm_generic_payload t; // functional: the far atomic's latency already covers the write
            t.set_command(tlm::TLM_WRITE_COMMAND);
            t.set_address(pa);
            t.set_data_ptr(reinterpret_cast<unsigned char*>(&next));
            t.set_data_length(size);
            socket->transport_dbg(t);
        } else {
            const Cycles w = access(pa, &next, size, true);
            if (costs_.atomic_kind == AtomicKind::LlSc)
                c += w;
        }
    }
    charge(c + costs_.atomic_extra, cat);
    ++counters_.atomics;
    return old;
}

std::uint64_t Core::xchg(PAddr pa, std::uint64_t value, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "xchg", [&](std::uint64_t, std::uint64_t& n) { n = value; return true; });
}

std::uint64_t Core::cmpxchg(PAddr pa, std::uint64_t expected, std::uint64_t desired, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "cmpxchg", [&](std::uint64_t o, std::uint64_t& n) {
        n = desired;
        return o == truncate(expected, size);
    });
}

std::uint64_t Core::fetch_add(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_add", [&](std::uint64_t o, std::uint64_t& n) { n = o + v; return true; });
}

std::uint64_t Core::fetch_sub(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_sub", [&](std::uint64_t o, std::uint64_t& n) { n = o - v; return true; });
}

std::uint64_t Core::fetch_or(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_or", [&](std::uint64_t o, std::uint64_t& n) { n = o | v; return true; });
}

std::uint64_t Core::fetch_and(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_and", [&](std::uint64_t o, std::uint64_t& n) { n = o & v; return true; });
}

std::uint64_t Core::fetch_andnot(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_andnot", [&](std::uint64_t o, std::uint64_t& n) { n = o & ~v; return true; });
}

std::uint64_t Core::fetch_xor(PAddr pa, std::uint64_t v, unsigned size, Category cat)
{
    return atomic(pa, size, cat, "fetch_xor", [&](std::uint64_t o, std::uint64_t& n) { n = o ^ v; return true; });
}

bool Core::test_and_set_bit(unsigned long nr, PAddr pa, Category cat)
{
    // Always an atomic RMW, as arm64 and x86 test_and_set_bit are (asm-generic's test-first shortcut is not).
    const std::uint64_t mask = std::uint64_t{1} << (nr % 64);
    return fetch_or(pa + (nr / 64) * 8, mask, 8, cat) & mask;
}

bool Core::test_and_clear_bit(unsigned long nr, PAddr pa, Category cat)
{
    const std::uint64_t mask = std::uint64_t{1} << (nr % 64);
    return fetch_andnot(pa + (nr / 64) * 8, mask, 8, cat) & mask;
}

void Core::stream(PAddr pa, void* data, std::uint64_t bytes, bool write)
{
    // One transaction per chunk: a TLM data length is 32 bits.
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;
    auto* p = static_cast<unsigned char*>(data);
    for (std::uint64_t done = 0; done < bytes; done += kChunk) {
        const std::uint64_t n = std::min(kChunk, bytes - done);
        access(pa + done, p ? p + done : nullptr, static_cast<unsigned>(n), write, MemOp::Stream);
    }
}

void Core::clear_page(PAddr pa, std::uint64_t bytes, Category cat)
{
    stream(pa, nullptr, bytes, true); // no data: the memory system zeroes the range
    const std::uint64_t bw = costs_.clear_bytes_per_cycle ? costs_.clear_bytes_per_cycle : 1;
    charge((bytes + bw - 1) / bw, cat);
    counters_.bytes_cleared += bytes;
}

void Core::copy_page(PAddr dst, PAddr src, std::uint64_t bytes, Category cat)
{
    copy_buf_.resize(bytes);
    stream(src, copy_buf_.data(), bytes, false);
    stream(dst, copy_buf_.data(), bytes, true);
    const std::uint64_t bw = costs_.copy_bytes_per_cycle ? costs_.copy_bytes_per_cycle : 1;
    charge((bytes + bw - 1) / bw, cat);
    counters_.bytes_copied += bytes;
}

void Core::barrier(Barrier kind)
{
    sync_point();
    ++counters_.barriers;
    if (timeline_)
        timeline_->begin(id_, time(), to_string(kind));
    ic_.barrier(*this, kind);
    if (timeline_)
        timeline_->end(id_, time());
}

void Core::tlbi(const TlbiOp& op)
{
    sync_point();
    ++counters_.tlbi_issued;
    if (timeline_)
        timeline_->instant(id_, time(), "tlbi");
    ic_.tlbi(*this, op);
}

Translation Core::translate_recorded(Addr va, AccessKind kind)
{
    const std::uint64_t walks = mmu_.stats().walks;
    const Cycles at = time();
    Translation t = mmu_.translate(va, kind);
    charge(t.cycles, Category::Translation);
    if (mmu_.stats().walks != walks)
        timeline_->instant(id_, at, "walk");
    return t;
}

void Core::ipi(const CpuMask& mask, const std::function<void(Core&)>& handler)
{
    const IpiHandle sent = ipi_send(mask, handler);
    if (mask.test(id_))
        handler(*this); // the local part, while the interrupts are in flight
    ipi_wait(sent);
}

IpiHandle Core::ipi_send(const CpuMask& mask, const std::function<void(Core&)>& handler)
{
    sync_point();
    if (timeline_)
        timeline_->instant(id_, time(), "ipi_send");
    return ic_.ipi_send(*this, mask, handler);
}

void Core::ipi_wait(const IpiHandle& ipi)
{
    sync_now();
    struct Span { // "ipi_wait" on the timeline, closed however the wait ends
        Core& c;
        explicit Span(Core& core) : c(core) { if (c.timeline_) c.timeline_->begin(c.id_, c.time(), "ipi_wait"); }
        ~Span() { if (c.timeline_) c.timeline_->end(c.id_, c.time()); }
    } span(*this);
    const Cycles t0 = sim_cycles();
    const Cycles handlers0 = irq_cycles_;
    while (ipi->pending)
        wait_event(ipi->acked);
    wait_until(ipi->last_ack);
    // Simulated time has already passed: account the wait, less this core's own handlers meanwhile, without
    // charging it again.
    const Cycles waited = sim_cycles() - t0 - (irq_cycles_ - handlers0);
    counters_.cycles[static_cast<std::size_t>(Category::IpiWait)] += waited;
}

} // namespace mmusim::hw
