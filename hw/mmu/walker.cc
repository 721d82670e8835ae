// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/walker.hh"

#include "hw/mmu/write_permission.hh"
#include "hw/pgtable/walk_down.hh"

#include <stdexcept>

namespace mmusim::hw {

const char* to_string(Fault f)
{
    switch (f) {
    case Fault::None: return "none";
    case Fault::NotPresent: return "not-present";
    case Fault::Permission: return "permission";
    }
    return "?";
}

WalkResult Walker::walk(Addr va, Asid asid, PAddr root, AccessKind kind)
{
    WalkResult r;
    // A hardware A/D update is an atomic on the raw descriptor: if the descriptor changed since the walk read
    // it, the update is abandoned (or, for x86's locked OR, made on the new value) and the walk starts over.
    // Nothing else runs while one core walks, so a second attempt always succeeds; the bound only guards
    // against a bug turning that into a hang.
    for (int attempt = 0; attempt <= kMaxWalkRestarts; ++attempt) {
        if (walk_once(r, va, asid, root, kind))
            return r;
    }
    throw std::logic_error("table walk: the descriptor kept changing under the hardware A/D update");
}

bool Walker::walk_once(WalkResult& r, Addr va, Asid asid, PAddr root, AccessKind kind)
{
    int start = 0;
    PAddr table = root;
    r.walk_cache_hit = false;
    if (wc_.enabled()) {
        r.cycles += wc_.geometry().hit_latency;
        WalkCacheHit hit;
        if (wc_.lookup(va, asid, hit)) {
            start = hit.next_depth;
            table = hit.table_pa;
            r.walk_cache_hit = true;
        }
    }
    const int levels = fmt_.levels();
    const WalkStep s = walk_down(
        fmt_, table, start, va,
        [this, &r](PAddr pa) {
            std::uint64_t raw = 0;
            r.cycles += port_.read64(pa, raw);
            ++r.loads;
            return raw;
        },
        [this, va, asid, levels](const WalkStep& st) {
            // A table pointer at the last level is malformed: it is neither cached nor followed.
            if (st.table() && st.depth + 1 < levels)
                wc_.fill(va, asid, st.depth, st.d.oa);
            return true;
        });
    r.depth = s.depth;
    if (!s.leaf()) {
        r.fault = Fault::NotPresent;
        return true;
    }
    const Arch arch = fmt_.arch();
    const std::uint64_t raw = s.raw;
    const PAddr desc_pa = s.desc_pa;
    Descriptor d = s.d;
    // Leaf: check permissions for a user-mode access.
    const bool write = kind == AccessKind::Write;
    if (!d.user || (write && !write_permitted(arch, d)) || (kind == AccessKind::Fetch && !d.exec) || !d.read) {
        r.fault = Fault::Permission;
        return true;
    }
    const HwUpdateBits bits = fmt_.hw_update_bits();
    std::uint64_t want = raw;
    if (!d.accessed && cfg_.hw_access_flag)
        want |= bits.set_on_access;
    if (write && !writable_now(arch, d) && cfg_.hw_dirty)
        want = (want | bits.set_on_write) & ~bits.clear_on_write;
    if (want != raw) {
        std::uint64_t old = 0;
        r.cycles += arch == Arch::X86_64 ? port_.fetch_or64(desc_pa, want & ~raw, old)
                                         : port_.cmpxchg64(desc_pa, raw, want, old);
        ++r.stores;
        if (old != raw)
            return false;
        d = fmt_.decode(s.depth, want);
    }
    if (!d.accessed || (write && !writable_now(arch, d))) {
        r.fault = Fault::Permission; // software must manage AF/dirty on this platform
        return true;
    }
    build_entry(r, va, asid, d, desc_pa, s.depth);
    return true;
}

void Walker::build_entry(WalkResult& r, Addr va, Asid asid, const Descriptor& d, PAddr desc_pa, int depth)
{
    const LevelInfo& lvl = fmt_.level(depth);
    TlbEntry& e = r.entry;
    unsigned shift = lvl.shift;
    PAddr first_desc = desc_pa;
    PAddr pa = leaf_output(fmt_, depth, d, va);
    if (d.contiguous && cfg_.contiguous && lvl.contig_entries > 1) {
        // Only a correctly programmed run may become one entry (contiguous_run.hh); the check reads the set
        // untimed, from the lines the walk brought in.
        const PAddr run_first = desc_pa & ~(PAddr(lvl.contig_entries) * PageTableFormat::descriptor_bytes - 1);
        r.run = check_contiguous_run(fmt_, depth, desc_pa, va, d, [this](PAddr p) { return port_.peek64(p); });
        if (r.run.ok()) {
            shift += log2_exact(lvl.contig_entries);
            first_desc = run_first;
            e.contiguous = true;
        } else {
            r.run_desc_pa = run_first;
        }
    } else if (cfg_.coalescing && depth + 1 == fmt_.levels()) {
        const unsigned extra = coalesced_shift(d, desc_pa, depth);
        if (extra) {
            shift += extra;
            first_desc = desc_pa & ~(PAddr(cfg_.coalesce_group) * PageTableFormat::descriptor_bytes - 1);
            e.contiguous = true;
            e.coalesced = true;
        }
    }
    // A run's output addresses are aligned to the run (checked above for hints; coalescing requires it), so
    // the entry's base is the page's output address rounded down to the run size.
    e.pa = pa & ~((PAddr{1} << shift) - 1);
    e.desc_pa = first_desc;
    e.vpn = va >> shift;
    e.size_shift = static_cast<std::uint8_t>(shift);
    e.trans_shift = e.size_shift;
    e.depth = static_cast<std::uint8_t>(depth);
    e.asid = asid;
    e.global = d.global;
    e.user = d.user;
    e.exec = d.exec;
    e.write = writable_now(fmt_.arch(), d);
    e.write_clean = !e.write && write_permitted(fmt_.arch(), d) && cfg_.hw_dirty;
    e.dirty = fmt_.arch() == Arch::Arm64 ? d.write : d.dirty;
    e.valid = true;
}

unsigned Walker::coalesced_shift(const Descriptor& d, PAddr desc_pa, int depth)
{
    const unsigned g = cfg_.coalesce_group;
    if (g < 2 || !is_pow2(g))
        return 0;
    const PAddr base_desc = desc_pa & ~(PAddr(g) * PageTableFormat::descriptor_bytes - 1);
    const PAddr page = fmt_.page_size();
    const PAddr my_index = (desc_pa - base_desc) / PageTableFormat::descriptor_bytes;
    const PAddr base_pa = d.oa - my_index * page;
    if (base_pa % (page * g) != 0)
        return 0;
    for (unsigned i = 0; i < g; ++i) {
        // The group sits in the cache line the walker just read: no extra memory access.
        const Descriptor o = fmt_.decode(depth, port_.peek64(base_desc + i * PageTableFormat::descriptor_bytes));
        if (o.type != Descriptor::Type::Leaf || o.oa != base_pa + i * page || o.write != d.write || o.user != d.user ||
            o.exec != d.exec || o.global != d.global || o.attr != d.attr || !o.accessed)
            return 0;
    }
    return log2_exact(g);
}

} // namespace mmusim::hw
