// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phys_alloc.hh"

#include "util/config_node.hh"

#include <algorithm>

namespace mmusim::mm {

namespace {
constexpr unsigned kOrders = 64;
unsigned floor_log2(std::uint64_t v) { return 63u - static_cast<unsigned>(__builtin_clzll(v)); }
unsigned ctz(std::uint64_t v) { return v ? static_cast<unsigned>(__builtin_ctzll(v)) : 63u; }
} // namespace

PhysAllocator::PhysAllocator(std::uint64_t memory_size, PAddr base) : base_(base), end_(memory_size), free_(kOrders)
{
    if (base_ % (Addr{1} << kMinOrder) != 0 || end_ < base_)
        throw std::invalid_argument("physical allocator: bad range");
    // Cover [base, end) with the largest naturally aligned blocks that fit, as memblock hands memory to the buddy
    // allocator at boot.
    for (PAddr pa = base_; end_ - pa >= (Addr{1} << kMinOrder);) {
        unsigned order = std::min(ctz(pa), floor_log2(end_ - pa));
        add_free(pa, order);
        pa += Addr{1} << order;
    }
}

unsigned PhysAllocator::order_for(std::uint64_t bytes, std::uint64_t align)
{
    const std::uint64_t need = std::max({bytes, align, std::uint64_t{1} << kMinOrder});
    const unsigned order = floor_log2(need);
    return (std::uint64_t{1} << order) == need ? order : order + 1;
}

std::uint64_t PhysAllocator::largest_free_block() const
{
    for (unsigned o = kOrders; o-- > 0;)
        if (!free_[o].empty())
            return std::uint64_t{1} << o;
    return 0;
}

PAddr PhysAllocator::alloc(std::uint64_t bytes, std::uint64_t align)
{
    const unsigned order = bytes > (std::uint64_t{1} << 62) ? kOrders : order_for(bytes, align);
    unsigned o = order;
    while (o < kOrders && free_[o].empty())
        ++o;
    if (o >= kOrders)
        throw OutOfMemory("out of simulated physical memory: " + format_size(allocated_) + " of " + format_size(capacity()) +
                          " in use, " + format_size(bytes) + " more requested, largest free block " +
                          format_size(largest_free_block()) + "; raise memory.size (--set memory.size=...)");
    const PAddr pa = *free_[o].begin();
    free_[o].erase(free_[o].begin());
    // Split: keep the lower half, free the upper one, until the block is the size asked for (expand()).
    while (o > order) {
        --o;
        add_free(pa + (Addr{1} << o), o);
        ++steps_;
    }
    allocated_ += std::uint64_t{1} << order;
    return pa;
}

void PhysAllocator::free(PAddr pa, std::uint64_t bytes, std::uint64_t align)
{
    unsigned order = order_for(bytes, align);
    if (pa < base_ || pa % (Addr{1} << order) != 0 || pa + (Addr{1} << order) > end_)
        throw std::logic_error("physical allocator: freeing a block it never handed out");
    allocated_ -= std::uint64_t{1} << order;
    // Merge with the buddy while it is free (__free_one_page()).
    while (order + 1 < kOrders) {
        const PAddr buddy = pa ^ (Addr{1} << order);
        auto it = free_[order].find(buddy);
        if (it == free_[order].end())
            break;
        free_[order].erase(it);
        pa = std::min(pa, buddy);
        ++order;
        ++steps_;
    }
    add_free(pa, order);
}

} // namespace mmusim::mm
