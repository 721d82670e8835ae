// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phys_alloc.hh"

#include "util/config_node.hh"

namespace mmusim::mm {

PAddr PhysAllocator::alloc(std::uint64_t bytes, std::uint64_t align)
{
    const PAddr start = (next_ + align - 1) & ~(align - 1);
    if (start < next_ || start + bytes > end_ || start + bytes < start)
        throw OutOfMemory("out of simulated physical memory: " + format_size(allocated_) + " in use, " +
                          format_size(bytes) + " more requested; raise memory.size (--set memory.size=...)");
    next_ = start + bytes;
    allocated_ += bytes;
    return start;
}

} // namespace mmusim::mm
