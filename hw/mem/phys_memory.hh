// SPDX-License-Identifier: GPL-2.0-only
// Simulated physical memory: sparse 4 KiB frames allocated on first write; unwritten memory reads as zero.
#pragma once

#include "hw/common/types.hh"
#include "util/frame_pool.hh"

#include <memory>
#include <unordered_map>

namespace mmusim::hw {

class PhysMemory {
public:
    explicit PhysMemory(std::uint64_t size) : size_(size), pool_(std::make_unique<FramePool>(std::size_t{1} << kFrameShift)) {}
    std::uint64_t size() const { return size_; }
    // Functional (untimed) access; throws std::out_of_range beyond size().
    void read(PAddr pa, void* buf, std::size_t len) const;
    void write(PAddr pa, const void* buf, std::size_t len);
    // Zeroes a range; whole frames are released rather than written, so clearing costs no host memory.
    void zero(PAddr pa, std::size_t len);
    std::uint64_t read64(PAddr pa) const;
    void write64(PAddr pa, std::uint64_t v);
    std::size_t frames_touched() const { return frames_.size(); }

private:
    static constexpr unsigned kFrameShift = 12;
    void check(PAddr pa, std::size_t len) const;
    std::uint64_t size_;
    std::unique_ptr<FramePool> pool_; // frames come from huge-page-backed blocks (util/frame_pool.hh)
    std::unordered_map<std::uint64_t, FramePool::Frame> frames_;
};

} // namespace mmusim::hw
