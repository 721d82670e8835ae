// SPDX-License-Identifier: GPL-2.0-only
// What a memory transaction asks of the coherence protocol, beyond TLM's read/write command. A core keeps
// one MemOpExtension on its reused payload; a payload without one is a plain read or write.
#pragma once

#include <tlm>

#include <cstdint>

namespace mmusim::hw {

enum class MemOp : std::uint8_t {
    Plain,         // read or write as the TLM command says
    ReadExclusive, // read that takes the line exclusive (atomic RMW, failed cmpxchg, exclusive load)
    FarAtomic,     // atomic executed at the shared level (arm64 LSE far): no private copy survives
    Stream,        // whole-line reads or full-line writes of a page (clear_page, copy_page): each line goes
                   // through the caches; the time is charged by the core as bandwidth, not per line
};

struct MemOpExtension : tlm::tlm_extension<MemOpExtension> {
    MemOp op = MemOp::Plain;
    tlm::tlm_extension_base* clone() const override { return new MemOpExtension(*this); }
    void copy_from(const tlm::tlm_extension_base& e) override { op = static_cast<const MemOpExtension&>(e).op; }
};

} // namespace mmusim::hw
