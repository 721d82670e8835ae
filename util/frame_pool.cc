// SPDX-License-Identifier: GPL-2.0-only
#include "util/frame_pool.hh"

#include <sys/mman.h>

#include <cstring>
#include <new>
#include <stdexcept>

namespace mmusim {

namespace {
constexpr std::size_t kBlockBytes = std::size_t{32} << 20; // 16 huge pages; only touched pages become resident
constexpr std::size_t kHugePage = std::size_t{2} << 20;
} // namespace

FramePool::FramePool(std::size_t frame_bytes) : frame_bytes_(frame_bytes)
{
    if (frame_bytes == 0 || (frame_bytes & (frame_bytes - 1)) || frame_bytes > kHugePage)
        throw std::invalid_argument("FramePool: frame size must be a power of two of at most 2 MiB");
}

void FramePool::Unmap::operator()(std::uint8_t* p) const { munmap(p, bytes); }

FramePool::Frame FramePool::allocate()
{
    std::uint8_t* p;
    if (!free_.empty()) {
        p = free_.back();
        free_.pop_back();
        std::memset(p, 0, frame_bytes_);
    } else {
        if (next_ == end_) {
            // One extra huge page of address space lets the block start on a huge-page boundary.
            const std::size_t map_bytes = kBlockBytes + kHugePage;
            void* m = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED)
                throw std::bad_alloc();
            auto* base = static_cast<std::uint8_t*>(m);
            blocks_.emplace_back(base, Unmap{map_bytes});
            auto* aligned = reinterpret_cast<std::uint8_t*>((reinterpret_cast<std::uintptr_t>(base) + kHugePage - 1) & ~(kHugePage - 1));
#ifdef MADV_HUGEPAGE
            madvise(aligned, kBlockBytes, MADV_HUGEPAGE); // advice only: without THP the pool still works
#endif
            next_ = aligned;
            end_ = aligned + kBlockBytes;
        }
        p = next_; // fresh anonymous memory reads as zero
        next_ += frame_bytes_;
    }
    ++in_use_;
    return Frame(p, Deleter(this));
}

void FramePool::release(std::uint8_t* p)
{
    if (!p)
        return;
    free_.push_back(p);
    --in_use_;
}

} // namespace mmusim
