// SPDX-License-Identifier: GPL-2.0-only
#include "mm/address_space.hh"

#include <algorithm>

namespace mmusim::mm {

AddressSpace::AddressSpace(const hw::PageTableFormat& fmt, PhysAllocator& alloc, Asid asid)
    : fmt_(fmt), alloc_(alloc), asid_(asid), pgd_(0)
{
    pgd_ = alloc_table(0);
}

PAddr AddressSpace::alloc_table(int depth)
{
    ++table_pages_;
    // Tables are at least 64 bytes aligned to their size (arm64 requires alignment to the table size).
    const std::uint64_t bytes = std::max<std::uint64_t>(fmt_.table_bytes(depth), 64);
    return alloc_.alloc(bytes, std::max<std::uint64_t>(bytes, fmt_.page_size()));
}

} // namespace mmusim::mm
