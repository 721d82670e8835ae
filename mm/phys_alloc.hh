// SPDX-License-Identifier: GPL-2.0-only
// Physical memory allocator for page tables and folios: naturally aligned blocks handed out from the
// platform's memory, like memblock at boot. Nothing is freed yet; the buddy allocator comes with the port
// of the unmap paths.
#pragma once

#include "hw/common/types.hh"

#include <stdexcept>

namespace mmusim::mm {

struct OutOfMemory : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PhysAllocator {
public:
    // [base, end) is usable; base skips the first MiB, as firmware and the kernel image would.
    explicit PhysAllocator(std::uint64_t memory_size, PAddr base = 1 * MiB) : next_(base), end_(memory_size) {}
    // A block of `bytes` aligned to `align` (both powers of two). Throws OutOfMemory.
    PAddr alloc(std::uint64_t bytes, std::uint64_t align);
    std::uint64_t allocated() const { return allocated_; }

private:
    PAddr next_;
    PAddr end_;
    std::uint64_t allocated_ = 0;
};

} // namespace mmusim::mm
