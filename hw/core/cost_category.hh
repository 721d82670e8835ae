// SPDX-License-Identifier: GPL-2.0-only
// Where a core's cycles go. Every cycle a core spends is charged to exactly one category, so the categories
// of a core always add up to its total time.
#pragma once

#include <array>
#include <cstdint>

namespace mmusim::hw {

enum class Category : std::uint8_t {
    Translation,  // TLB lookups and table walks of the workload's own accesses
    FaultEntry,   // exception entry/exit and fault-handler software overhead
    PteLoad,      // kernel loads of page-table descriptors
    PteStore,     // kernel stores of page-table descriptors
    PteAtomic,    // kernel atomic read-modify-writes of descriptors (xchg, cmpxchg)
    StructPage,   // struct page / folio metadata accesses (vmemmap)
    KernelMemory, // other kernel loads and stores
    ClearPage,    // zeroing newly allocated folios and page tables, copying pages
    Lock,         // taking and releasing kernel spinlocks, spinning included
    Tlbi,         // issuing TLB maintenance instructions (TLBI, INVLPG, INVPCID, INVLPGB, SFENCE.VMA, CR3)
    Dsb,          // waiting in DSB for TLB maintenance (and stores) to complete; TLBSYNC
    TlbiReceive,  // this core's MMU searching its TLBs for another core's broadcast invalidation
    Barrier,      // other barriers (DMB, ISB, MFENCE, FENCE)
    IpiSend,      // sending IPIs
    IpiWait,      // waiting for remote acknowledgement
    IpiHandler,   // running an IPI handler on behalf of another core
    Software,     // other software work charged from the platform's cost table
    Count
};

constexpr std::size_t kCategoryCount = static_cast<std::size_t>(Category::Count);
const char* to_string(Category c);

using CategoryCycles = std::array<std::uint64_t, kCategoryCount>;

} // namespace mmusim::hw
