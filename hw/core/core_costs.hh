// SPDX-License-Identifier: GPL-2.0-only
// Costs of the per-core operations that are not TLB maintenance: how the platform executes atomics, the pause
// between two re-reads of a contended lock, and the bandwidth of page clearing and copying. Every value comes
// from the platform file (atomics:, software:), with its source or "estimate".
#pragma once

#include "hw/common/types.hh"

namespace mmusim::hw {

enum class AtomicKind : std::uint8_t {
    Near, // in the core's L1 after taking the line exclusive: arm64 LSE near, x86 LOCK, RISC-V AMO near
    Far,  // at the shared level, no private copy kept: arm64 LSE far atomics (CHI far atomics)
    LlSc, // load-exclusive / store-exclusive loop: arm64 without LSE, RISC-V LR/SC
};
const char* to_string(AtomicKind k);

struct CoreCosts {
    AtomicKind atomic_kind = AtomicKind::Near;
    Cycles atomic_extra = 0;                  // an atomic's execution beyond the cache accesses it makes
    Cycles spin_pause = 1;                    // cpu_relax()/WFE between two re-reads of a contended lock
    std::uint64_t clear_bytes_per_cycle = 16; // clear_page() streaming store bandwidth
    std::uint64_t copy_bytes_per_cycle = 16;  // copy_page() streaming bandwidth (bytes copied per cycle)
};

} // namespace mmusim::hw
