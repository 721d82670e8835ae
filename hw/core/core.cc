// SPDX-License-Identifier: GPL-2.0-only
#include "hw/core/core.hh"

#include "hw/interconnect/interconnect.hh"

#include <cstdio>
#include <stdexcept>

namespace mmusim::hw {

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
           Interconnect& ic, sc_core::sc_time cycle, Cycles quantum, Cycles atomic_extra)
    : sc_module(name), socket("socket"), id_(id), ic_(ic), cycle_(cycle), atomic_extra_(atomic_extra),
      sync_batch_(quantum ? quantum : 1), mmu_(mmu, fmt, *this)
{
    SC_HAS_PROCESS(Core);
    SC_THREAD(run);
    qk_.reset();
}

void Core::run()
{
    try {
        if (work_)
            work_(*this);
        sync();
    } catch (...) {
        // Exceptions must not cross into the SystemC kernel, which would turn them into sc_reports.
        error_ = std::current_exception();
        // Another core may have failed in the same delta cycle; a second sc_stop() would print SystemC's
        // W545 warning on stdout. The first error stops the run, and each core keeps its own.
        if (sc_core::sc_get_simulator_status() != sc_core::SC_SIM_USER_STOP)
            sc_core::sc_stop();
    }
    done_ = true;
#if defined(__SANITIZE_ADDRESS__)
    // ASan builds park instead of returning: a SystemC thread that returns leaves its coroutine through
    // QT_ABORT, a stack switch libsystemc does not announce to ASan (hw/core/asan_fiber_shim.cc), which then
    // blames later code for stale poison. The run still ends when no event is left; the parked processes'
    // kernel records are never freed, which the shim's leak suppressions name.
    sc_core::wait(parked_);
#endif
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
        qk_.sync();
}

Cycles Core::access(PAddr pa, void* data, unsigned len, bool write)
{
    trans_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    trans_.set_address(pa);
    trans_.set_data_ptr(static_cast<unsigned char*>(data));
    trans_.set_data_length(len);
    trans_.set_streaming_width(len);
    trans_.set_byte_enable_ptr(nullptr);
    trans_.set_dmi_allowed(false);
    trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(trans_, delay);
    if (trans_.is_response_error()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "core %u: physical access at 0x%llx failed", id_, static_cast<unsigned long long>(pa));
        throw std::runtime_error(buf);
    }
    return static_cast<Cycles>(delay.value() / cycle_.value());
}

Cycles Core::read64(PAddr pa, std::uint64_t& value) { return access(pa, &value, 8, false); }
Cycles Core::write64(PAddr pa, std::uint64_t value) { return access(pa, &value, 8, true); }

// The walker's atomics cost what the kernel's do (see xchg): the exclusive access plus atomic_extra.
Cycles Core::cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old)
{
    const Cycles c = access(pa, &old, 8, false);
    if (old == expected)
        access(pa, &desired, 8, true);
    return c + atomic_extra_;
}

Cycles Core::fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old)
{
    const Cycles c = access(pa, &old, 8, false);
    std::uint64_t v = old | bits;
    access(pa, &v, 8, true);
    return c + atomic_extra_;
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

std::uint64_t Core::load(PAddr pa, unsigned size, Category cat)
{
    std::uint64_t v = 0;
    charge(access(pa, &v, size, false), cat);
    ++counters_.loads;
    return v;
}

void Core::store(PAddr pa, std::uint64_t value, unsigned size, Category cat)
{
    charge(access(pa, &value, size, true), cat);
    ++counters_.stores;
}

std::uint64_t Core::xchg(PAddr pa, std::uint64_t value, unsigned size, Category cat)
{
    std::uint64_t old = 0;
    // An atomic owns the line for the read and the write: one exclusive access plus the atomic's own cost.
    Cycles c = access(pa, &old, size, false);
    access(pa, &value, size, true);
    charge(c + atomic_extra_, cat);
    ++counters_.atomics;
    return old;
}

std::uint64_t Core::cmpxchg(PAddr pa, std::uint64_t expected, std::uint64_t desired, unsigned size, Category cat)
{
    std::uint64_t old = 0;
    Cycles c = access(pa, &old, size, false);
    if (old == expected)
        access(pa, &desired, size, true);
    charge(c + atomic_extra_, cat);
    ++counters_.atomics;
    return old;
}

void Core::barrier(Barrier kind)
{
    ++counters_.barriers;
    ic_.barrier(*this, kind);
}

void Core::tlbi(const TlbiOp& op)
{
    ++counters_.tlbi_issued;
    ic_.tlbi(*this, op);
}

void Core::ipi(const CpuMask& mask, const std::function<void(Core&)>& handler) { ic_.ipi(*this, mask, handler); }

} // namespace mmusim::hw
