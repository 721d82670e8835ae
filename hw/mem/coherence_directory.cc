// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/coherence_directory.hh"

#include <utility>

namespace mmusim::hw {

namespace {
constexpr unsigned kInitialLog2 = 12;
}

CoherenceDirectory::CoherenceDirectory() : table_(std::size_t{1} << kInitialLog2), shift_(64 - kInitialLog2) {}

const CoherenceDirectory::Sharers* CoherenceDirectory::find(std::uint64_t line) const
{
    const std::uint64_t key = line + 1;
    for (std::size_t i = home(key);; i = next(i)) {
        const Entry& e = table_[i];
        if (e.key == key)
            return &e.sharers;
        if (e.key == 0)
            return nullptr;
    }
}

CoherenceDirectory::Sharers& CoherenceDirectory::slot_for_insert(std::uint64_t line)
{
    if (2 * (used_ + 1) > table_.size())
        grow();
    const std::uint64_t key = line + 1;
    std::size_t i = home(key);
    for (; table_[i].key != 0; i = next(i))
        if (table_[i].key == key)
            return table_[i].sharers;
    table_[i].key = key;
    table_[i].sharers.reset();
    ++used_;
    return table_[i].sharers;
}

void CoherenceDirectory::remove(std::uint64_t line, unsigned core)
{
    const std::uint64_t key = line + 1;
    std::size_t i = home(key);
    for (; table_[i].key != key; i = next(i))
        if (table_[i].key == 0)
            return;
    table_[i].sharers.reset(core);
    if (table_[i].sharers.any())
        return;
    // Backward-shift deletion: move up every later entry of the probe run whose home does not lie in
    // (i, j], so that lookups never stop at the hole.
    --used_;
    for (std::size_t j = next(i);; j = next(j)) {
        if (table_[j].key == 0)
            break;
        const std::size_t h = home(table_[j].key);
        const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays)
            continue;
        table_[i] = table_[j];
        i = j;
    }
    table_[i].key = 0;
}

void CoherenceDirectory::grow()
{
    std::vector<Entry> old(table_.size() * 2);
    std::swap(old, table_);
    --shift_;
    for (const Entry& e : old) {
        if (e.key == 0)
            continue;
        std::size_t i = home(e.key);
        while (table_[i].key != 0)
            i = next(i);
        table_[i] = e;
    }
}

} // namespace mmusim::hw
