// SPDX-License-Identifier: GPL-2.0-only
// Physical memory allocator for page tables and folios: a binary buddy allocator over the platform's memory
// (the scheme of mm/page_alloc.c, without zones or per-cpu lists). A request is rounded up to a naturally
// aligned power-of-two block; a free block is split in halves down to the size wanted, and a freed block merges
// with its free buddy. So alignment gaps are never lost: the whole memory above the reserved first MiB can be
// allocated, whatever mix of table pages and large folios asks for it. Choices are deterministic: the smallest
// free block that fits, lowest address first.
#pragma once

#include "hw/common/types.hh"

#include <set>
#include <stdexcept>
#include <vector>

namespace mmusim::mm {

struct OutOfMemory : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PhysAllocator {
public:
    static constexpr unsigned kMinOrder = 6; // 64-byte blocks: the smallest page-table page (arm64 tiny roots)

    // [base, memory_size) is usable; base skips the first MiB, as firmware and the kernel image would.
    explicit PhysAllocator(std::uint64_t memory_size, PAddr base = 1 * MiB);
    // A block of `bytes` aligned to `align` (align a power of two). Throws OutOfMemory.
    PAddr alloc(std::uint64_t bytes, std::uint64_t align);
    // Returns a block from alloc() with the same bytes and align.
    void free(PAddr pa, std::uint64_t bytes, std::uint64_t align);

    std::uint64_t allocated() const { return allocated_; }
    std::uint64_t capacity() const { return end_ - base_; }
    std::uint64_t largest_free_block() const;
    // Buddy split and merge steps so far (expand() halvings and __free_one_page() merges), for the page
    // allocator's software charge.
    std::uint64_t steps() const { return steps_; }

private:
    static unsigned order_for(std::uint64_t bytes, std::uint64_t align);
    void add_free(PAddr pa, unsigned order) { free_[order].insert(pa); }

    PAddr base_;
    PAddr end_;
    std::vector<std::set<PAddr>> free_; // free blocks by order (log2 bytes)
    std::uint64_t allocated_ = 0;
    std::uint64_t steps_ = 0;
};

} // namespace mmusim::mm
