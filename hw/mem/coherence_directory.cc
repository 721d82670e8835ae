// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mem/coherence_directory.hh"

namespace mmusim::hw {

void CoherenceDirectory::remove(std::uint64_t line, unsigned core)
{
    auto it = lines_.find(line);
    if (it == lines_.end())
        return;
    it->second.reset(core);
    if (it->second.none())
        lines_.erase(it); // bounded by what the private levels hold
}

} // namespace mmusim::hw
