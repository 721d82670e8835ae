// SPDX-License-Identifier: GPL-2.0-only
// One CPU core: an SC_THREAD that runs the core's work stream (trace records, kernel operations) with
// loosely-timed TLM-2.0 and a quantum keeper, its MMU, and the narrow per-core interface through which the
// mm port drives hardware: load/store/xchg/cmpxchg at physical addresses, barriers, TLB maintenance, IPIs
// and charges from the platform's software-cost table.
//
// Time: every cycle goes to one Category (cost_category.hh). Cycles are accumulated locally and handed to
// the quantum keeper in batches; the core only yields to SystemC at quantum boundaries, never per access.
#pragma once

#include "hw/core/cost_category.hh"
#include "hw/invalidation/tlbi_op.hh"
#include "hw/mmu/mmu.hh"
#include "hw/mmu/phys_port.hh"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include <bitset>
#include <exception>
#include <functional>

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
};

class Core : public sc_core::sc_module, public PhysPort {
public:
    tlm_utils::simple_initiator_socket<Core> socket;

    Core(sc_core::sc_module_name name, unsigned id, const MmuConfig& mmu, const PageTableFormat& fmt,
         Interconnect& ic, sc_core::sc_time cycle, Cycles quantum, Cycles atomic_extra);

    unsigned id() const { return id_; }
    void set_work(std::function<void(Core&)> work) { work_ = std::move(work); }
    bool done() const { return done_; }
    std::exception_ptr error() const { return error_; }

    // ---- the per-core interface used by the mm port ----
    std::uint64_t load(PAddr pa, unsigned size, Category cat = Category::KernelMemory);
    void store(PAddr pa, std::uint64_t value, unsigned size, Category cat = Category::KernelMemory);
    std::uint64_t xchg(PAddr pa, std::uint64_t value, unsigned size, Category cat = Category::PteAtomic);
    // Returns the old value; the store happened iff it equals `expected`.
    std::uint64_t cmpxchg(PAddr pa, std::uint64_t expected, std::uint64_t desired, unsigned size,
                          Category cat = Category::PteAtomic);
    void barrier(Barrier kind);
    void tlbi(const TlbiOp& op);
    // Runs `handler` on every core in `mask` (locally, without an interrupt, if this core is in it) and
    // waits for the acknowledgements.
    void ipi(const CpuMask& mask, const std::function<void(Core&)>& handler);
    void charge(Cycles c, Category cat)
    {
        counters_.cycles[static_cast<std::size_t>(cat)] += c;
        pending_ += c;
    }
    // Translates a user access of the work stream, charging its cycles to Category::Translation.
    Translation translate(Addr va, AccessKind kind)
    {
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

    // ---- inspection ----
    Cycles now() const; // cycles since simulation start, this core's local view (sum of categories)
    Mmu& mmu() { return mmu_; }
    const Mmu& mmu() const { return mmu_; }
    const CoreCounters& counters() const { return counters_; }
    CoreCounters& counters() { return counters_; }
    Cycles cycles(Category c) const { return counters_.cycles[static_cast<std::size_t>(c)]; }

    // PhysPort, for the walker.
    Cycles read64(PAddr pa, std::uint64_t& value) override;
    Cycles write64(PAddr pa, std::uint64_t value) override;
    Cycles cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old) override;
    Cycles fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old) override;
    std::uint64_t peek64(PAddr pa) override;

private:
    void run();
    Cycles access(PAddr pa, void* data, unsigned len, bool write);

    unsigned id_;
    Interconnect& ic_;
    sc_core::sc_time cycle_;
    Cycles atomic_extra_;
    Cycles sync_batch_;
    Mmu mmu_;
    tlm_utils::tlm_quantumkeeper qk_;
    tlm::tlm_generic_payload trans_; // reused: a memory access allocates nothing
    std::function<void(Core&)> work_;
    Cycles pending_ = 0;
    bool done_ = false;
    std::exception_ptr error_;
    sc_core::sc_event parked_; // never notified: where the thread waits once its work is done (ASan builds)
    CoreCounters counters_;
};

} // namespace mmusim::hw
