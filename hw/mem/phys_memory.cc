// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/phys_memory.hh"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mmusim::hw {

void PhysMemory::check(PAddr pa, std::size_t len) const
{
    if (pa + len < pa || pa + len > size_)
        throw std::out_of_range("physical access at 0x" + std::to_string(pa) + " beyond memory size");
}

void PhysMemory::read(PAddr pa, void* buf, std::size_t len) const
{
    check(pa, len);
    auto* out = static_cast<std::uint8_t*>(buf);
    while (len) {
        const std::uint64_t off = pa & ((1u << kFrameShift) - 1);
        const std::size_t n = std::min<std::size_t>(len, (std::size_t{1} << kFrameShift) - off);
        auto it = frames_.find(pa >> kFrameShift);
        if (it == frames_.end())
            std::memset(out, 0, n);
        else
            std::memcpy(out, it->second.get() + off, n);
        out += n;
        pa += n;
        len -= n;
    }
}

void PhysMemory::write(PAddr pa, const void* buf, std::size_t len)
{
    check(pa, len);
    const auto* in = static_cast<const std::uint8_t*>(buf);
    while (len) {
        const std::uint64_t off = pa & ((1u << kFrameShift) - 1);
        const std::size_t n = std::min<std::size_t>(len, (std::size_t{1} << kFrameShift) - off);
        auto& f = frames_[pa >> kFrameShift];
        if (!f)
            f = pool_->allocate();
        std::memcpy(f.get() + off, in, n);
        in += n;
        pa += n;
        len -= n;
    }
}

void PhysMemory::zero(PAddr pa, std::size_t len)
{
    check(pa, len);
    while (len) {
        const std::uint64_t off = pa & ((1u << kFrameShift) - 1);
        const std::size_t n = std::min<std::size_t>(len, (std::size_t{1} << kFrameShift) - off);
        auto it = frames_.find(pa >> kFrameShift);
        if (it != frames_.end()) {
            if (n == pool_->frame_bytes())
                frames_.erase(it); // unwritten memory reads as zero
            else
                std::memset(it->second.get() + off, 0, n);
        }
        pa += n;
        len -= n;
    }
}

std::uint64_t PhysMemory::read64(PAddr pa) const
{
    std::uint64_t v;
    read(pa, &v, sizeof v);
    return v;
}

void PhysMemory::write64(PAddr pa, std::uint64_t v) { write(pa, &v, sizeof v); }

} // namespace mmusim::hw
