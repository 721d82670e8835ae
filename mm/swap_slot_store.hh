// SPDX-License-Identifier: GPL-2.0-only
// The swap device's data (the block device behind mm/page_io.cc): the bytes last written to each slot, dropped
// when the slot is freed. Host-side only; the I/O's simulated cost is page_io's. A page with few non-zero
// 64-bit words (a written page that is mostly zero, as experiments' data writes leave them) is kept as those
// words; any other page whole, in a frame from a huge-page-backed pool. Reclaiming 256 MiB so costs the host
// a few MB instead of a copy of the 256 MiB.
#pragma once

#include "util/frame_pool.hh"

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mmusim::mm {

class SwapSlotStore {
public:
    explicit SwapSlotStore(std::size_t page_size) : page_size_(page_size), pool_(page_size) {}

    void write(std::uint64_t slot, const std::uint8_t* page); // page_size bytes
    bool read(std::uint64_t slot, std::uint8_t* page) const;  // false if the slot holds nothing
    void erase(std::uint64_t slot) { slots_.erase(slot); }
    std::size_t size() const { return slots_.size(); }
    bool empty() const { return slots_.empty(); }

private:
    static constexpr std::size_t kMaxSparseWords = 32; // beyond this the whole page is cheaper
    struct Slot {
        std::vector<std::pair<std::uint32_t, std::uint64_t>> words; // (byte offset, value), if not `full`
        FramePool::Frame full;
    };
    std::size_t page_size_;
    FramePool pool_; // before slots_: frames go back to it
    std::unordered_map<std::uint64_t, Slot> slots_;
};

} // namespace mmusim::mm
