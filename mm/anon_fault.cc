// SPDX-License-Identifier: GPL-2.0-only
#include "mm/anon_fault.hh"

#include "hw/pgtable/walk_down.hh"

#include <stdexcept>

namespace mmusim::mm {

using hw::Category;
using hw::Descriptor;

AnonFaultHandler::AnonFaultHandler(AddressSpace& as, const KernelConfig& kernel)
    : as_(as), folio_size_(kernel.folio_size), fault_entry_(kernel.software.fault_entry)
{
    const hw::PageTableFormat& fmt = as_.format();
    // The folio is mapped by the largest leaf that does not exceed it: 2M folio on 4K arm64 -> one PMD block.
    leaf_depth_ = fmt.levels() - 1;
    for (int d = 0; d < fmt.levels(); ++d) {
        const std::uint64_t span = std::uint64_t{1} << fmt.level(d).shift;
        if (fmt.level(d).leaf_allowed && span <= folio_size_) {
            leaf_depth_ = d;
            break;
        }
    }
    if ((std::uint64_t{1} << fmt.level(leaf_depth_).shift) > folio_size_)
        throw std::invalid_argument("folio size is smaller than the base page");
}

const FaultStats& AnonFaultHandler::stats(unsigned core) const
{
    static const FaultStats none;
    return core < stats_.size() ? stats_[core] : none;
}

FaultStats AnonFaultHandler::total() const
{
    FaultStats t;
    for (const FaultStats& s : stats_) {
        t.faults += s.faults;
        t.access_faults += s.access_faults;
        t.pages_mapped += s.pages_mapped;
        t.contiguous_runs += s.contiguous_runs;
        t.blocks += s.blocks;
        t.tables_allocated += s.tables_allocated;
        t.cycles += s.cycles;
    }
    return t;
}

void AnonFaultHandler::handle_fault(hw::Core& core, Addr va, AccessKind kind)
{
    if (stats_.size() <= core.id())
        stats_.resize(core.id() + 1);
    FaultStats& st = stats_[core.id()];
    const Cycles start = core.now();
    const hw::PageTableFormat& fmt = as_.format();
    ++st.faults;
    core.charge(fault_entry_, Category::FaultEntry);

    // Walk down to the table that holds the folio's leaves, allocating missing levels (__pte_alloc etc.).
    const auto load = [&core](PAddr pa) { return core.load(pa, 8, Category::PteLoad); };
    const auto alloc_missing = [&](hw::WalkStep& s) {
        if (s.leaf())
            throw std::logic_error("fault on an address already mapped by a block");
        if (s.table())
            return true;
        const PAddr next = as_.alloc_table(s.depth + 1);
        ++st.tables_allocated;
        // A new table page is cleared before it is linked in (pte_alloc_one -> __GFP_ZERO).
        core.clear_page(next, std::max<std::uint64_t>(fmt.table_bytes(s.depth + 1), 64), Category::ClearPage); // as allocated
        s.d = Descriptor{};
        s.d.type = Descriptor::Type::Table;
        s.d.oa = next;
        s.d.write = s.d.user = s.d.accessed = true;
        core.store(s.desc_pa, fmt.encode(s.depth, s.d), 8, Category::PteStore);
        return true;
    };
    const PAddr table = leaf_depth_ == 0 ? as_.pgd() : hw::walk_down(fmt, as_.pgd(), 0, va, load, alloc_missing, leaf_depth_ - 1).d.oa;

    const hw::LevelInfo& lvl = fmt.level(leaf_depth_);
    const std::uint64_t leaf_size = std::uint64_t{1} << lvl.shift;
    const Addr base = va & ~(folio_size_ - 1);
    const std::uint64_t nr = folio_size_ / leaf_size;
    const PAddr folio = as_.allocator().alloc(folio_size_, folio_size_);
    core.clear_page(folio, folio_size_, Category::ClearPage); // clear_user_highpages()

    // contpte_set_ptes(): only whole, aligned runs inside the folio get the contiguous hint.
    const std::uint64_t run = lvl.contig_entries;
    const bool contiguous = run > 1 && nr >= run && nr % run == 0;

    Descriptor leaf;
    leaf.type = Descriptor::Type::Leaf;
    leaf.user = true;
    leaf.exec = true;
    leaf.priv_exec = false;
    leaf.accessed = true; // pte_mkyoung: the faulting access makes it young
    leaf.contiguous = contiguous;
    leaf.sh = 3;          // inner shareable normal memory
    const bool write = kind == AccessKind::Write;
    if (fmt.arch() == Arch::Arm64) {
        leaf.dbm = true;        // PTE_WRITE: writable, hardware may set dirty
        leaf.write = write;     // clean (AP[2] set) until written
        leaf.sw_dirty = write;  // pte_mkdirty on a write fault
    } else {
        leaf.write = true;
        leaf.dirty = write;
    }

    // set_ptes(): one descriptor store per entry of the folio, in one batch.
    Addr first = base;
    for (std::uint64_t i = 0; i < nr; ++i) {
        const Addr v = first + i * leaf_size;
        const PAddr dpa = hw::descriptor_pa(fmt, table, v, leaf_depth_);
        leaf.oa = folio + i * leaf_size;
        core.store(dpa, fmt.encode(leaf_depth_, leaf), 8, Category::PteStore);
    }
    st.pages_mapped += folio_size_ / fmt.page_size();
    if (leaf_depth_ + 1 < fmt.levels())
        st.blocks += nr;
    if (contiguous)
        st.contiguous_runs += nr / run;
    st.cycles += core.now() - start;
}

void AnonFaultHandler::flush_relaxed_pte(hw::Core& core, Addr va, bool dirtied)
{
    const hw::PageTableFormat& fmt = as_.format();
    switch (fmt.arch()) {
    case Arch::Arm64:
        // __ptep_set_access_flags() (arch/arm64/mm/fault.c): "Invalidate a stale read-only entry" when made
        // dirty, with flush_tlb_page(): dsb(ishst); tlbi vale1is; dsb(ish).
        if (dirtied) {
            core.barrier(hw::Barrier::DsbIshst);
            core.tlbi(hw::arm64::tlbi(hw::TlbiKind::VALE1, hw::arm64::va_operand(va, as_.asid(), fmt.page_shift()), true));
            core.barrier(hw::Barrier::DsbIsh);
        }
        break;
    case Arch::RiscV: {
        // update_mmu_cache_range() (arch/riscv/include/asm/pgtable.h): local_flush_tlb_page(), an SFENCE.VMA
        // of the address for every ASID, after any relaxation.
        hw::TlbiOp op;
        op.kind = hw::TlbiKind::SfenceVma;
        op.operand = va;
        op.all_asid = true;
        core.tlbi(op);
        break;
    }
    case Arch::X86_64:
        break; // the #PF already invalidated the page's TLB entries (Intel SDM 4.10.4.1)
    }
}

bool AnonFaultHandler::handle_access_fault(hw::Core& core, Addr va, AccessKind kind)
{
    if (stats_.size() <= core.id())
        stats_.resize(core.id() + 1);
    FaultStats& st = stats_[core.id()];
    const Cycles start = core.now();
    const hw::PageTableFormat& fmt = as_.format();
    core.charge(fault_entry_, Category::FaultEntry);
    const hw::WalkStep s = hw::walk_down(fmt, as_.pgd(), va, [&core](PAddr pa) { return core.load(pa, 8, Category::PteLoad); });
    const bool write = kind == AccessKind::Write;
    Descriptor cur = s.d;
    const bool write_ok = cur.write || (fmt.arch() == Arch::Arm64 && cur.dbm); // pte_write()
    if (!s.leaf() || (write && !write_ok))
        return false;
    cur.accessed = true; // pte_mkyoung
    if (write) {         // pte_mkdirty
        if (fmt.arch() == Arch::Arm64) {
            cur.write = true;
            cur.sw_dirty = true;
        } else {
            cur.dirty = true;
        }
    }
    core.store(s.desc_pa, fmt.encode(s.depth, cur), 8, Category::PteStore);
    flush_relaxed_pte(core, va, write);
    ++st.faults;
    ++st.access_faults;
    st.cycles += core.now() - start;
    return true;
}

} // namespace mmusim::mm
