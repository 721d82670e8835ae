// SPDX-License-Identifier: GPL-2.0-only
// Test-only page tables for hw tests, so they need nothing from mm/: tables come from a bump region of
// simulated physical memory; descriptors are written untimed straight into PhysMemory, or timed through a
// core's loads and stores (what a kernel's mapping would cost) when a test needs the caches to see them.
#pragma once

#include "hw/core/core.hh"
#include "hw/mem/phys_memory.hh"
#include "hw/pgtable/walk_down.hh"

#include <algorithm>
#include <stdexcept>

namespace mmusim::test {

class PageTableBuilder {
public:
    PageTableBuilder(const hw::PageTableFormat& f, hw::PhysMemory& m) : fmt(f), mem(m) { root = alloc(); }

    // A zeroed table (fresh simulated memory reads as zero).
    PAddr alloc()
    {
        const PAddr p = next;
        next += 64 * KiB; // generous: every granule's table fits
        return p;
    }

    // Maps [va, va + n * leaf_size) to [pa, ...) with user, writable, young leaves at `depth`, untimed.
    void map(Addr va, PAddr pa, std::uint64_t n, int depth, bool contiguous = false, bool global = false, bool dirty = true)
    {
        const auto peek = [this](PAddr p) { return mem.read64(p); };
        const auto poke = [this](PAddr p, std::uint64_t v) { mem.write64(p, v); };
        map_with(peek, poke, [](PAddr, std::uint64_t) {}, va, pa, n, depth, contiguous, global, dirty);
    }

    // The same, timed on `core`: a load per level, a cleared page and a store per new table, a store per leaf.
    void map(hw::Core& core, Addr va, PAddr pa, std::uint64_t n, int depth, bool contiguous = false, bool global = false,
             bool dirty = true)
    {
        const auto load = [&core](PAddr p) { return core.load(p, 8, hw::Category::PteLoad); };
        const auto store = [&core](PAddr p, std::uint64_t v) { core.store(p, v, 8, hw::Category::PteStore); };
        const auto clear = [&core](PAddr p, std::uint64_t bytes) { core.clear_page(p, bytes, hw::Category::ClearPage); };
        map_with(load, store, clear, va, pa, n, depth, contiguous, global, dirty);
    }

    // The physical address of the depth-`depth` descriptor for `va` (the tables above it must exist).
    PAddr desc_pa(Addr va, int depth) const
    {
        const hw::WalkStep s = hw::walk_down(fmt, root, va, [this](PAddr p) { return mem.read64(p); }, depth);
        if (s.depth != depth)
            throw std::logic_error("PageTableBuilder::desc_pa: no table at that depth");
        return s.desc_pa;
    }

    const hw::PageTableFormat& fmt;
    hw::PhysMemory& mem;
    PAddr next = 1 * MiB;
    PAddr root = 0;

private:
    template <typename Read, typename Write, typename Clear>
    void map_with(const Read& read, const Write& write, const Clear& clear, Addr va, PAddr pa, std::uint64_t n, int depth, bool contiguous,
                  bool global, bool dirty)
    {
        const std::uint64_t leaf = std::uint64_t{1} << fmt.level(depth).shift;
        // A missing table, or a block in the way, is replaced by a new table.
        const auto link_table = [&](hw::WalkStep& s) {
            if (s.table())
                return true;
            s.d = hw::Descriptor{};
            s.d.type = hw::Descriptor::Type::Table;
            s.d.oa = alloc();
            s.d.write = s.d.user = true;
            clear(s.d.oa, std::max<std::uint64_t>(fmt.table_bytes(s.depth + 1), 64));
            write(s.desc_pa, fmt.encode(s.depth, s.d));
            return true;
        };
        for (std::uint64_t i = 0; i < n; ++i) {
            const Addr v = va + i * leaf;
            const PAddr table = depth == 0 ? root : hw::walk_down(fmt, root, 0, v, read, link_table, depth - 1).d.oa;
            hw::Descriptor l;
            l.type = hw::Descriptor::Type::Leaf;
            l.oa = pa + i * leaf;
            l.user = l.write = l.accessed = true;
            l.dirty = fmt.arch() != Arch::Arm64 && dirty;
            l.dbm = fmt.arch() == Arch::Arm64;
            l.global = global;
            l.contiguous = contiguous;
            l.priv_exec = fmt.arch() != Arch::Arm64;
            write(hw::descriptor_pa(fmt, table, v, depth), fmt.encode(depth, l));
        }
    }
};

} // namespace mmusim::test
