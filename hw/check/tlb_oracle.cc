// SPDX-License-Identifier: GPL-2.0-only
#include "hw/check/tlb_oracle.hh"

#include "hw/mmu/contiguous_run.hh"
#include "hw/mmu/page_table_inspection.hh"
#include "hw/mmu/write_permission.hh"

#include "util/config_node.hh"
#include "util/hex.hh"

#include <algorithm>
#include <cstdio>

namespace mmusim::hw {

namespace {

constexpr const char* kLevels[] = {"l1i", "l1d", "l2"};

const TlbLevel& level_of(const Mmu& m, int i) { return i == 0 ? m.l1i() : i == 1 ? m.l1d() : m.l2(); }

// Visits every valid entry of every core's TLB levels (with the core and the level's name) and of its walk
// cache: what both oracle queries search.
template <typename OnEntry, typename OnWalk>
void for_each_cached(const std::vector<const Mmu*>& mmus, OnEntry on_entry, OnWalk on_walk)
{
    for (unsigned c = 0; c < mmus.size(); ++c) {
        const Mmu& m = *mmus[c];
        for (int l = 0; l < 3; ++l)
            for (const Tlb& t : level_of(m, l).arrays())
                t.for_each([&](const TlbEntry& e) { on_entry(c, kLevels[l], e); });
        m.walk_cache().for_each([&](const WalkCacheView& w) { on_walk(c, w); });
    }
}

} // namespace

std::string OracleFinding::message() const
{
    return "core " + std::to_string(core) + " " + structure + ", VA " + hex(va) + ", ASID " + std::to_string(asid) + ": " + what;
}

TlbOracle::TlbOracle(const PageTableFormat& fmt, const WalkerConfig& walker, const PhysMemory& mem,
                     std::vector<const Mmu*> mmus)
    : fmt_(fmt), walker_(walker), mem_(mem), mmus_(std::move(mmus)), conflicts_seen_(mmus_.size(), 0)
{
}

std::string TlbOracle::page_disagreement(const TlbEntry& e, Addr va, PAddr root, bool whole_translation) const
{
    const auto peek = [this](PAddr p) { return mem_.read64(p); };
    const Inspection m = inspect_walk(fmt_, root, va, peek);
    const std::string held = "holds " + describe_entry(e);
    if (!m.leaf())
        return held + "; the page tables map nothing at " + hex(va) + " (depth " + std::to_string(m.depth) + " descriptor at PA " +
               hex(m.desc_pa) + " is " + (m.d.valid() ? "a table" : "invalid") + ")";
    const LevelInfo& lvl = fmt_.level(m.depth);
    unsigned shift = lvl.shift;
    if (m.d.contiguous && walker_.contiguous && lvl.contig_entries > 1) {
        const RunCheck rc = check_contiguous_run(fmt_, m.depth, m.desc_pa, va, m.d, peek);
        if (!rc.ok())
            return held + "; the page tables hold a misprogrammed contiguous run there (entry " + std::to_string(rc.entry) +
                   ": " + to_string(rc.problem) + ")";
        shift += log2_exact(lvl.contig_entries);
    }
    const PAddr mem_pa = leaf_output(fmt_, m.depth, m.d, va) + (va & ((PAddr{1} << lvl.shift) - 1));
    const PAddr tlb_pa = e.pa + (va - e.va_base());
    std::string why;
    if (whole_translation && e.trans_shift != shift)
        why = "a " + format_size(std::uint64_t{1} << shift) + " translation (the size changed without break-before-make)";
    else if (tlb_pa != mem_pa)
        why = "PA " + hex(mem_pa);
    else if (e.write && !(e.contiguous ? write_permitted(fmt_.arch(), m.d) : writable_now(fmt_.arch(), m.d)))
        why = "no write permission" + std::string(write_permitted(fmt_.arch(), m.d) ? " until the page is dirty" : "");
    else if (e.user && !m.d.user)
        why = "no user access";
    else if (e.exec && !m.d.exec)
        why = "no execute permission";
    else if (e.global != m.d.global)
        why = m.d.global ? "a global translation" : "a non-global (per-ASID) translation";
    if (why.empty())
        return {};
    return held + "; the page tables give " + hex(va) + " " + why + " (" + lvl.name + " descriptor at PA " + hex(m.desc_pa) + ")";
}

std::string TlbOracle::disagreement(const TlbEntry& e, PAddr root) const
{
    // A coalesced group is the hardware's own merge: each page must agree on its own, at page size.
    if (e.coalesced) {
        for (Addr va = e.va_base();; va += fmt_.page_size()) {
            std::string d = page_disagreement(e, va, root, false);
            if (!d.empty())
                return d;
            if (va + (fmt_.page_size() - 1) >= e.va_last())
                return {};
        }
    }
    // Otherwise one descriptor (or one run, checked whole) decides for the entry.
    return page_disagreement(e, e.va_base(), root, true);
}

std::string TlbOracle::walk_cache_disagreement(const WalkCacheView& w, PAddr root) const
{
    const Inspection m = inspect_walk(fmt_, root, w.va_base, [this](PAddr p) { return mem_.read64(p); }, w.depth);
    if (m.depth == w.depth && m.d.type == Descriptor::Type::Table && m.d.oa == w.next_table)
        return {};
    std::string now = m.depth != w.depth ? "nothing at that depth (depth " + std::to_string(m.depth) + " is " +
                                               (m.d.valid() ? "a leaf" : "invalid") + ")"
                      : m.d.type == Descriptor::Type::Table ? "a table at PA " + hex(m.d.oa)
                      : m.d.valid()                          ? "a leaf"
                                                             : "an invalid descriptor";
    return "caches the " + fmt_.level(w.depth).name + " descriptor for " + hex(w.va_base) + " as a table at PA " +
           hex(w.next_table) + "; the page tables hold " + now + " (descriptor at PA " + hex(m.desc_pa) + ")";
}

std::vector<OracleFinding> TlbOracle::check_range(Addr first, Addr last, Asid asid, PAddr root)
{
    ++queries_;
    return collect_range(first, last, asid, root);
}

std::vector<OracleFinding> TlbOracle::collect_range(Addr first, Addr last, Asid asid, PAddr root)
{
    std::vector<OracleFinding> out;
    for_each_cached(
        mmus_,
        [&](unsigned c, const char* level, const TlbEntry& e) {
            if ((!e.global && e.asid != asid) || e.va_last() < first || e.va_base() > last)
                return;
            std::string d = disagreement(e, root);
            if (!d.empty())
                out.push_back({c, level, std::max(e.va_base(), first), asid, std::move(d)});
        },
        [&](unsigned c, const WalkCacheView& w) {
            const Addr w_last = w.va_base + ((Addr{1} << w.span_shift) - 1);
            if (w.asid != asid || w_last < first || w.va_base > last)
                return;
            std::string d = walk_cache_disagreement(w, root);
            if (!d.empty())
                out.push_back({c, "walk cache", std::max(w.va_base, first), asid, std::move(d)});
        });
    violations_ += out.size();
    return out;
}

std::vector<OracleFinding> TlbOracle::frame_mappings(PAddr first, PAddr last, bool writable_only)
{
    ++queries_;
    std::vector<OracleFinding> out;
    for_each_cached(
        mmus_,
        [&](unsigned c, const char* level, const TlbEntry& e) {
            const PAddr pa_last = e.pa + ((PAddr{1} << e.size_shift) - 1);
            if (pa_last < first || e.pa > last || (writable_only && !e.write))
                return;
            out.push_back({c, level, e.va_base() + (std::max(e.pa, first) - e.pa), e.asid,
                           "maps PA " + hex(std::max(e.pa, first)) + ": " + describe_entry(e)});
        },
        [&](unsigned c, const WalkCacheView& w) {
            if (writable_only || w.next_table + (fmt_.table_bytes(w.depth + 1) - 1) < first || w.next_table > last)
                return;
            out.push_back({c, "walk cache", w.va_base, w.asid,
                           "uses PA " + hex(w.next_table) + " as the " + fmt_.level(w.depth + 1).name + " table for " + hex(w.va_base)});
        });
    return out;
}

std::vector<OracleFinding> TlbOracle::new_conflicts()
{
    ++queries_;
    return collect_conflicts();
}

std::vector<OracleFinding> TlbOracle::collect_conflicts()
{
    std::vector<OracleFinding> out;
    for (unsigned c = 0; c < mmus_.size(); ++c) {
        const Mmu& m = *mmus_[c];
        const std::uint64_t total = m.conflict_count();
        for (std::uint64_t i = conflicts_seen_[c]; i < total; ++i) {
            if (i < m.conflicts().size()) {
                const TlbConflict& k = m.conflicts()[i];
                out.push_back({c, k.level, k.va, k.asid, k.describe()});
            } else {
                out.push_back({c, "tlb", 0, 0, std::to_string(total - i) + " more TLB conflict events (only the first " +
                                                   std::to_string(Mmu::kConflictLog) + " are kept)"});
                break;
            }
        }
        conflicts_seen_[c] = total;
    }
    violations_ += out.size();
    return out;
}

void TlbOracle::require_clean(Addr first, Addr last, Asid asid, PAddr root)
{
    ++queries_;
    std::vector<OracleFinding> all = collect_conflicts();
    for (OracleFinding& f : collect_range(first, last, asid, root))
        all.push_back(std::move(f));
    if (all.empty())
        return;
    constexpr std::size_t kShown = 8;
    std::string msg = "TLB check failed: " + std::to_string(all.size()) + " disagreement" + (all.size() == 1 ? "" : "s") +
                      " with the page tables:";
    for (std::size_t i = 0; i < all.size() && i < kShown; ++i)
        msg += "\n  " + all[i].message();
    if (all.size() > kShown)
        msg += "\n  ... and " + std::to_string(all.size() - kShown) + " more";
    throw TlbCheckError(msg);
}

} // namespace mmusim::hw
