// SPDX-License-Identifier: GPL-2.0-only
// The state differential tests compare between kernel configurations: per mm its counters, VMAs, leaf PTEs
// (swap PTEs included) and the data word of each mapped page, the struct pages of every folio mapped, the
// allocator's free bytes and the swap slots in use. Read through the inspector (untimed).
#pragma once

#include "kernel_test_util.hh"
#include "mm/leafops.hh"

#include "swap_test_util.hh"

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mmusim::test {

// arm64's contiguous bit (masked where batched and unbatched kernels legitimately differ in it)
inline constexpr std::uint64_t kPteCont = std::uint64_t{1} << 52;

// Everything the kernel's work left: per mm its counters, VMAs and leaf PTEs; the struct pages of every
// folio mapped; the allocator's free bytes. Untimed (the inspector). mask_cont clears arm64's contiguous bit
// of present PTEs, and `mask` any further bits.
inline std::string snapshot(const TestKernel& t, const std::vector<mm::mm_struct*>& mms, bool mask_cont,
                            std::uint64_t mask = 0)
{
    std::ostringstream o;
    o << std::hex;
    const mm::Arch& a = t.k->arch();
    std::set<mm::pfn_t> folios;
    const auto insert_folio = [&](mm::pfn_t pfn) { // page_folio(), untimed
        const std::uint64_t head = t.read(t.k->vmemmap() + pfn * mm::kStructPageBytes + mm::PAGE_OFF_COMPOUND_HEAD, 8);
        folios.insert(head & 1 ? (head - 1 - t.k->vmemmap()) / mm::kStructPageBytes : pfn);
    };
    for (std::size_t i = 0; i < mms.size(); ++i) {
        const mm::mm_struct& mm = *mms[i];
        o << "mm " << i << " rss";
        for (unsigned m = 0; m < mm::NR_MM_COUNTERS; ++m)
            o << ' ' << rss(t, mm, static_cast<mm::MmCounter>(m));
        o << '\n';
        for (const auto& [start, vma] : mm.vmas) {
            o << " vma " << vma.vm_start << '-' << vma.vm_end << " flags " << vma.vm_flags << " order "
              << vma.folio_order << '\n';
            for (Addr va = vma.vm_start; va < vma.vm_end; va += t.k->page_size()) {
                std::uint64_t raw = leaf_raw(t, mm, va);
                if (!raw) {
                    // a swap PTE (swap entry and exclusive marker)
                    const hw::WalkStep s = hw::walk_down(t.k->format(), mm.pgd, va,
                                                         [&](PAddr pa) { return t.p->inspect().read64(pa); });
                    if (s.depth == t.k->format().levels() - 1 && a.is_swap_pte(mm::pte_t{s.raw})) {
                        o << "  " << va << " swap " << s.raw << '\n';
                        // a device-exclusive entry still maps its folio (mm/leafops.hh)
                        mm::pfn_t pfn = 0;
                        if (mm::pte_device_exclusive_pfn(a, mm::pte_t{s.raw}, pfn))
                            insert_folio(pfn);
                    }
                    continue;
                }
                const mm::pfn_t pfn = a.pte_pfn(mm::pte_t{raw});
                if (mask_cont)
                    raw &= ~kPteCont;
                raw &= ~mask;
                o << "  " << va << ' ' << raw << '\n';
                if (pfn != t.k->zero_pfn()) {
                    insert_folio(pfn);
                    o << "   data " << t.read(pfn * t.k->page_size(), 8) << '\n';
                }
            }
        }
    }
    for (const mm::pfn_t f : folios) {
        const PAddr head = t.k->vmemmap() + f * mm::kStructPageBytes;
        const bool large = t.read(head, 8) & (std::uint64_t{1} << mm::PG_head);
        const unsigned nr = large ? 1u << (t.read(head + mm::FOLIO_OFF_FLAGS_1, 8) & 0xff) : 1u;
        o << "folio " << f << " nr " << nr << '\n';
        for (unsigned p = 0; p < nr; ++p) {
            o << ' ';
            for (unsigned w = 0; w < mm::kStructPageBytes; w += 8)
                o << ' ' << t.read(head + p * mm::kStructPageBytes + w, 8);
            o << '\n';
        }
    }
    o << "free " << t.k->page_alloc().free_bytes() << " slots in use " << t.k->swap().store->size() << '\n';
    return o.str();
}

} // namespace mmusim::test
