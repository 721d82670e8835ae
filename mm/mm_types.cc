// SPDX-License-Identifier: GPL-2.0-only
#include "mm/mm_types.hh"

namespace mmusim::mm {

// mm/mmap.c find_vma() restricted to the VMA containing `a` (vma_lookup()); the maple-tree walk's cost is
// charged by the callers (software.vma_lookup).
vm_area_struct* mm_struct::vma_at(Addr a)
{
    auto it = vmas.upper_bound(a);
    if (it == vmas.begin())
        return nullptr;
    --it;
    return a < it->second.vm_end ? &it->second : nullptr;
}

} // namespace mmusim::mm
