// SPDX-License-Identifier: GPL-2.0-only
// Fixed-size, zero-filled buffers for the simulator's bulk data (simulated physical memory, the swap device's
// slots), carved from large anonymous mappings advised for transparent huge pages. A simulation that writes
// 256 MiB would otherwise cost the host a malloc and a page fault per 4 KiB frame (a fifth of its time);
// from the pool it costs a fault per 2 MiB, and a released frame is reused without a fault. Memory is kept
// for reuse until the pool goes; frames are packed whatever their owner's addresses, so a sparse owner does
// not inflate the host's resident memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace mmusim {

class FramePool {
public:
    explicit FramePool(std::size_t frame_bytes); // a power of two, at most 2 MiB
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;

    class Deleter {
    public:
        Deleter() = default;
        explicit Deleter(FramePool* pool) : pool_(pool) {}
        void operator()(std::uint8_t* p) const { pool_->release(p); }

    private:
        FramePool* pool_ = nullptr;
    };
    // A frame returns to its pool when destroyed; the pool must outlive it.
    using Frame = std::unique_ptr<std::uint8_t[], Deleter>;

    Frame allocate(); // zero-filled; throws std::bad_alloc if the host refuses a mapping
    std::size_t frame_bytes() const { return frame_bytes_; }
    std::size_t frames_in_use() const { return in_use_; }

private:
    struct Unmap {
        std::size_t bytes = 0;
        void operator()(std::uint8_t* p) const;
    };
    void release(std::uint8_t* p);

    std::size_t frame_bytes_;
    std::vector<std::unique_ptr<std::uint8_t, Unmap>> blocks_;
    std::uint8_t* next_ = nullptr; // the unused rest of the newest block: never touched, so still zero
    std::uint8_t* end_ = nullptr;
    std::vector<std::uint8_t*> free_; // released frames, dirty
    std::size_t in_use_ = 0;
};

} // namespace mmusim
