// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swap_slot_store.hh"

#include <cstring>

namespace mmusim::mm {

void SwapSlotStore::write(std::uint64_t slot, const std::uint8_t* page)
{
    Slot& s = slots_[slot];
    s.words.clear();
    std::size_t nonzero = 0;
    for (std::size_t off = 0; off < page_size_ && nonzero <= kMaxSparseWords; off += 8) {
        std::uint64_t w;
        std::memcpy(&w, page + off, 8);
        if (w) {
            ++nonzero;
            s.words.emplace_back(static_cast<std::uint32_t>(off), w);
        }
    }
    if (nonzero <= kMaxSparseWords) {
        s.full.reset();
        return;
    }
    s.words.clear();
    if (!s.full)
        s.full = pool_.allocate();
    std::memcpy(s.full.get(), page, page_size_);
}

bool SwapSlotStore::read(std::uint64_t slot, std::uint8_t* page) const
{
    const auto it = slots_.find(slot);
    if (it == slots_.end())
        return false;
    const Slot& s = it->second;
    if (s.full) {
        std::memcpy(page, s.full.get(), page_size_);
        return true;
    }
    std::memset(page, 0, page_size_);
    for (const auto& [off, w] : s.words)
        std::memcpy(page + off, &w, 8);
    return true;
}

} // namespace mmusim::mm
