// SPDX-License-Identifier: GPL-2.0-only
// How a core's table walker (and anything else inside the core) reaches memory: timed 8-byte accesses that
// return their latency in cycles. The core implements it with TLM b_transport; tests use a fixed-latency port over PhysMemory.
#pragma once

#include "hw/common/types.hh"

namespace mmusim::hw {

class PhysPort {
public:
    virtual ~PhysPort() = default;
    virtual Cycles read64(PAddr pa, std::uint64_t& value) = 0;
    virtual Cycles write64(PAddr pa, std::uint64_t value) = 0;
    // Atomic read-modify-writes, timed as the core's atomics, for hardware accessed/dirty updates: `old` gets
    // the value before. cmpxchg64 stores `desired` only if the value was `expected` (arm64 FEAT_HAFDBS and
    // RISC-V Svadu update a descriptor only if it is unchanged); fetch_or64 is x86's locked OR of A/D.
    virtual Cycles cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old) = 0;
    virtual Cycles fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old) = 0;
    // Untimed read of nearby memory already brought in by a timed access (e.g. the rest of a cache line).
    virtual std::uint64_t peek64(PAddr pa) = 0;
};

} // namespace mmusim::hw
