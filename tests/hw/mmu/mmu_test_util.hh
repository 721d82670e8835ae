// SPDX-License-Identifier: GPL-2.0-only
// Test fixtures for the MMU without SystemC: a PhysPort over PhysMemory that charges a fixed latency per
// access; page tables come from ../page_table_builder.hh.
#pragma once

#include "hw/mem/phys_memory.hh"
#include "hw/mmu/mmu.hh"
#include "hw/pgtable/format_registry.hh"

#include "../page_table_builder.hh"

#include <functional>
#include <memory>
#include <utility>

namespace mmusim::test {

class FixedLatencyPort : public hw::PhysPort {
public:
    explicit FixedLatencyPort(hw::PhysMemory& m, Cycles lat = 10) : mem(m), latency(lat) {}
    Cycles read64(PAddr pa, std::uint64_t& v) override
    {
        ++reads;
        v = mem.read64(pa);
        return latency;
    }
    Cycles write64(PAddr pa, std::uint64_t v) override
    {
        ++writes;
        mem.write64(pa, v);
        return latency;
    }
    Cycles cmpxchg64(PAddr pa, std::uint64_t expected, std::uint64_t desired, std::uint64_t& old) override
    {
        ++atomics;
        if (before_atomic) // lets a test change the descriptor between the walk's read and its update
            std::exchange(before_atomic, nullptr)(pa);
        old = mem.read64(pa);
        if (old == expected)
            mem.write64(pa, desired);
        return latency;
    }
    Cycles fetch_or64(PAddr pa, std::uint64_t bits, std::uint64_t& old) override
    {
        ++atomics;
        if (before_atomic)
            std::exchange(before_atomic, nullptr)(pa);
        old = mem.read64(pa);
        mem.write64(pa, old | bits);
        return latency;
    }
    std::uint64_t peek64(PAddr pa) override { return mem.read64(pa); }
    hw::PhysMemory& mem;
    Cycles latency;
    unsigned reads = 0, writes = 0, atomics = 0;
    std::function<void(PAddr)> before_atomic;
};

inline hw::MmuConfig small_mmu(unsigned l1_entries = 16, unsigned l1_ways = 16, unsigned wc_entries = 16)
{
    hw::MmuConfig c;
    c.l1i = {hw::TlbGeometry{"l1i", l1_entries, l1_ways, {12, 16, 21}, 1}};
    c.l1d = {hw::TlbGeometry{"l1d", l1_entries, l1_ways, {12, 16, 21}, 1}};
    c.l2 = {hw::TlbGeometry{"l2", 256, 4, {12, 16, 21}, 5}};
    c.walk_cache = {wc_entries, wc_entries ? 4u : 1u, 1};
    return c;
}

inline std::unique_ptr<hw::PageTableFormat> make_format(const std::string& name, hw::FormatOptions o = {})
{
    return hw::FormatRegistry::instance().create(name, o);
}

} // namespace mmusim::test
