// SPDX-License-Identifier: GPL-2.0-only
// A process address space as the hardware sees it (the part of struct mm_struct the MMU reads): an ASID and
// a root page table in simulated physical memory, in the platform's page-table format.
#pragma once

#include "hw/pgtable/format.hh"
#include "mm/phys_alloc.hh"

namespace mmusim::mm {

class AddressSpace {
public:
    AddressSpace(const hw::PageTableFormat& fmt, PhysAllocator& alloc, Asid asid);
    Asid asid() const { return asid_; }
    PAddr pgd() const { return pgd_; }
    const hw::PageTableFormat& format() const { return fmt_; }
    PhysAllocator& allocator() { return alloc_; }
    std::uint64_t table_pages() const { return table_pages_; }
    // A zeroed page-table page for `depth` (fresh simulated memory reads as zero).
    PAddr alloc_table(int depth);

private:
    const hw::PageTableFormat& fmt_;
    PhysAllocator& alloc_;
    Asid asid_;
    PAddr pgd_;
    std::uint64_t table_pages_ = 0;
};

} // namespace mmusim::mm
