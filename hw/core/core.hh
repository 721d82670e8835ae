// SPDX-License-Identifier: GPL-2.0-only
// One CPU core: an SC_THREAD that runs the core's work stream (trace records, kernel operations) with
// loosely-timed TLM-2.0 and a quantum keeper, its MMU, and the narrow per-core interface through which the
// mm port drives hardware: loads, stores and the atomic read-modify-write family at physical addresses,
// page clearing and copying, barriers, TLB maintenance, IPIs and charges from the platform's cost table.
//
// Accesses are 1, 2, 4 or 8 bytes, naturally aligned (std::invalid_argument otherwise). Every atomic takes
// the line exclusive first, as real cores do, whether or not it then writes (a failed cmpxchg too), and costs
// what the platform's atomics cost (core_costs.hh). There is no untimed read here: tests, reports and checkers
// look at memory through hw::PhysInspector (hw/mem/phys_inspector.hh).
//
// Time: every cycle goes to one Category (cost_category.hh). Cycles are accumulated locally and handed to
// the quantum keeper in batches; the core only yields to SystemC at quantum boundaries, never per access.
#pragma once

#include "hw/core/core_costs.hh"
#include "hw/core/cost_category.hh"
#include "hw/core/interrupt.hh"
#include "hw/core/timeline.hh"
#include "hw/invalidation/tlbi_op.hh"
#include "hw/mmu/mmu.hh"
#include "hw/mem/mem_op.hh"
#include "hw/mmu/phys_port.hh"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <bitset>
#include <deque>
#include <exception>
#include <functional>
#include <vector>

namespace mmusim::hw {

class Interconnect;

using CpuMask = std::bitset<kMaxCores>;

enum class Barrier : std::uint8_t {
    DmbIsh,   // arm64 smp_mb
    DsbIsh,   // arm64: waits for outstanding broadcast TLBIs
    DsbIshst, // arm64: orders page-table stores before a TLBI
    DsbNsh,   // arm64: completes local TLBIs
    Isb,
    Mfence,   // x86
    Tlbsync,  // AMD: waits for this core's INVLPGBs
    Fence,    // RISC-V
};
const char* to_string(Barrier b);

struct CoreCounters {
    CategoryCycles cycles{};                 // per category
    std::uint64_t loads = 0, stores = 0, atomics = 0;
    std::uint64_t tlbi_issued = 0;           // maintenance instructions issued by this core
    std::uint64_t tlbi_received = 0;         // maintenance operations that reached this core's MMU
    std::uint64_t tlb_entries_invalidated = 0;
    std::uint64_t barriers = 0;
    std::uint64_t ipis_sent = 0;
    std::uint64_t ipis_received = 0;
    std::uint64_t bytes_cleared = 0, bytes_copied = 0;
};

// The walker reaches memory through the core's PhysPort, which is private: mm code uses the interface below.
class Core : public sc_core::sc_module, private PhysPort {
public:
    tlm_utils::simple_initiator_socket<Core> socket;

    Core(sc_core::sc_module_name name, unsigned id, const MmuConfig& mmu, const PageTableFormat& fmt,
         Interconnect& ic, sc_core::sc_time cycle, Cycles quantum, const CoreCosts& costs);
    ~Core() override;

    unsigned id() const { return id_; }
    // The work the core's thread runs at the next Platform::run(). May be given again between runs.
    void set_work(std::function<void(Core&)> work);
    bool done() const { return done_; }
    std::exception_ptr error() const { return error_; }
    // For a core whose work failed: the run is over, so this core's thread is woken wherever it waits and
    // unwinds its work (Stopped), leaving nothing suspended with live objects on its stack.
    void stop_waiting();

    // ---- the per-core interface used by the mm port ----
    std::uint64_t load(PAddr pa, unsigned size, Category cat = Category::KernelMemory);
    void store(PAddr pa, std::uint64_t value, unsigned size, Category cat = Category::KernelMemory);
    // Atomics return the old value (Linux's atomic*_fetch_* and xchg/cmpxchg conventions), truncated to size.
    std::uint64_t xchg(PAddr pa, std::uint64_t value, unsigned size, Category cat = Category::PteAtomic);
    // The store happens iff the old value equals `expected`; the line is taken exclusive either way.
    std::uint64_t cmpxchg(PAddr pa, std::uint64_t expected, std::uint64_t desired, unsigned size,
                          Category cat = Category::PteAtomic);
    std::uint64_t fetch_add(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t fetch_sub(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t fetch_or(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t fetch_and(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t fetch_andnot(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t fetch_xor(PAddr pa, std::uint64_t v, unsigned size, Category cat = Category::KernelMemory);
    // Linux bitops on an array of 64-bit words at `pa`: bit `nr` lives in word nr / 64. Return the old bit.
    bool test_and_set_bit(unsigned long nr, PAddr pa, Category cat = Category::KernelMemory);
    bool test_and_clear_bit(unsigned long nr, PAddr pa, Category cat = Category::KernelMemory);
    // clear_page()/copy_page(): every line goes through the caches as a full-line store (the source's lines as
    // reads), taking it Modified and invalidating other copies; the time is the stream's bandwidth
    // (clear/copy_bytes_per_cycle), since such stores overlap rather than wait one line at a time.
    void clear_page(PAddr pa, std::uint64_t bytes, Category cat = Category::ClearPage);
    void copy_page(PAddr dst, PAddr src, std::uint64_t bytes, Category cat = Category::ClearPage);
    void barrier(Barrier kind);
    void tlbi(const TlbiOp& op);
    // Runs `handler` on every core in `mask` (locally, without an interrupt, if this core is in it) and
    // waits for the acknowledgements.
    void ipi(const CpuMask& mask, const std::function<void(Core&)>& handler);
    // The same in two halves, so that the sender can work while the interrupts are in flight (Linux's
    // flush_tlb_multi runs the local flush between sending and waiting). Each target runs the handler in its
    // own thread when the interrupt reaches it (interrupt.hh); ipi_wait waits, in simulated time and taking
    // this core's own interrupts meanwhile, until the last acknowledgement is back.
    IpiHandle ipi_send(const CpuMask& mask, const std::function<void(Core&)>& handler);
    void ipi_wait(const IpiHandle& ipi);
    // For the Interconnect: queues an interrupt for this core and wakes its thread.
    void raise(Interrupt irq);
    // Waits without working for `d` of simulated time (the core is busy elsewhere), taking interrupts.
    void idle(sc_core::sc_time d);
    // Waits until `ev` is notified, taking interrupts meanwhile. May return without `ev` (after taking an
    // interrupt, or after catching up with simulated time, during which `ev` may have fired unseen): callers
    // re-check what they wait for, in a loop.
    void wait_event(sc_core::sc_event& ev);
    void charge(Cycles c, Category cat)
    {
        counters_.cycles[static_cast<std::size_t>(cat)] += c;
        pending_ += c;
    }
    // Translates a user access of the work stream, charging its cycles to Category::Translation.
    Translation translate(Addr va, AccessKind kind)
    {
        if (timeline_) [[unlikely]]
            return translate_recorded(va, kind);
        Translation t = mmu_.translate(va, kind);
        charge(t.cycles, Category::Translation);
        return t;
    }
    // Hands accumulated cycles to the quantum keeper; yields to SystemC when the quantum is used up.
    // Only the core's own thread may call it.
    void maybe_sync()
    {
        if (pending_ >= sync_batch_)
            sync();
    }
    void sync();
    // Hands accumulated cycles to the quantum keeper and always yields until simulated time reaches this
    // core's: other cores run up to now. For lock operations, whose order between cores matters.
    void sync_now();
    // Spins for the platform's spin_pause, in simulated time (charging `cat`), letting other cores run.
    void spin_pause(Category cat);
    const CoreCosts& costs() const { return costs_; }

    // Brings the core's local time into the simulation before an operation other cores can observe (an
    // atomic, a barrier, TLB maintenance, an IPI), so that cores interleave in simulated time there. Only
    // effective on the core's own thread (an IPI handler run on its behalf elsewhere does not sync).
    void sync_point();

    // --timeline: where this core records its events (Platform::enable_timeline); null: nowhere (the default).
    Timeline* timeline() const { return timeline_; }
    void set_timeline(Timeline* t) { timeline_ = t; }

    // ---- inspection ----
    Cycles now() const; // cycles since simulation start, this core's local view (sum of categories)
    // Absolute simulated time of this core, in cycles: the SystemC time plus what it has not yet handed to
    // the kernel. Unlike now(), it includes time spent waiting (e.g. for trace records).
    Cycles time() const;
    Mmu& mmu() { return mmu_; }
    const Mmu& mmu() const { return mmu_; }
    const CoreCounters& counters() const { return counters_; }
    CoreCounters& counters() { return counters_; }
    Cycles cycles(Category c) const { return counters_.cycles[static_cast<std::size_t>(c)]; }

private:
    // PhysPort, for the walker.
    Cycles read64(PAddr pa, std::uint64_t& value) override;
    Cycles write64(PAddr pa, std::uint64_t value) override;
    Cycles cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old) override;
    Cycles fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old) override;
    std::uint64_t peek64(PAddr pa) override;

    void run();
    Translation translate_recorded(Addr va, AccessKind kind); // translate() with a "walk" instant per walk
    Cycles sim_cycles() const; // SystemC time in cycles
    // Waits until SystemC time reaches this core's local time (the quantum keeper's sync, but taking interrupts).
    void hand_over();
    // Waits until simulated time reaches `until` (absolute cycles), taking the interrupts that arrive
    // meanwhile; each one delays `until` by the time its handler took.
    void wait_until(Cycles until);
    // Runs the first queued interrupt if it has arrived; returns the cycles it took (0 if none ran).
    Cycles serve_interrupt();
    // After stop_waiting(): throws Stopped to unwind the work, or, if the work is already unwinding (a
    // destructor that syncs), returns true so that the caller returns without waiting.
    bool stopped();
    // Takes back the cycles charged since `before` was taken (the counters' other fields stay): work done on
    // behalf of others while this core is idle is no part of its time.
    void drop_charges(const CoreCounters& before);
    Cycles access(PAddr pa, void* data, unsigned len, bool write, MemOp op = MemOp::Plain);
    void stream(PAddr pa, void* data, std::uint64_t bytes, bool write);
    void check_access(PAddr pa, unsigned size, const char* what) const;
    template <class Op> std::uint64_t atomic(PAddr pa, unsigned size, Category cat, const char* what, Op op);

    unsigned id_;
    Interconnect& ic_;
    sc_core::sc_time cycle_;
    CoreCosts costs_;
    Cycles sync_batch_;
    Mmu mmu_;
    tlm_utils::tlm_quantumkeeper qk_;
    tlm::tlm_generic_payload trans_; // reused: a memory access allocates nothing
    MemOpExtension op_ext_;          // attached to trans_ for its whole life (detached in ~Core)
    std::vector<unsigned char> copy_buf_;
    std::function<void(Core&)> work_;
    Cycles pending_ = 0;
    bool done_ = false;
    std::exception_ptr error_;
    bool stopping_ = false;       // stop_waiting() was called: every wait ends at once
    std::deque<Interrupt> irqs_;  // by arrival
    sc_core::sc_event irq_event_; // a new interrupt was queued, or new work given (set_work)
    bool in_irq_ = false;         // running a handler: interrupts wait (no nesting)
    Cycles irq_cycles_ = 0;       // time spent in handlers, so that ipi_wait does not count it as waiting
    sc_core::sc_event parked_;     // never notified: where a failed core's thread parks
    sc_core::sc_process_handle thread_; // this core's SC_THREAD, once running
    CoreCounters counters_;
    Timeline* timeline_ = nullptr;
};

} // namespace mmusim::hw
