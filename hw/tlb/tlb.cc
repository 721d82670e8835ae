// SPDX-License-Identifier: GPL-2.0-only
#include "hw/tlb/tlb.hh"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace mmusim::hw {

Tlb::Tlb(TlbGeometry g) : geom_(std::move(g))
{
    if (geom_.entries == 0 || geom_.ways == 0 || geom_.entries % geom_.ways != 0)
        throw std::invalid_argument(geom_.name + ": entries must be a positive multiple of ways");
    const unsigned sets = geom_.entries / geom_.ways;
    if (!is_pow2(sets))
        throw std::invalid_argument(geom_.name + ": entries/ways must be a power of two");
    if (geom_.size_shifts.empty())
        throw std::invalid_argument(geom_.name + ": must hold at least one page size");
    std::sort(geom_.size_shifts.begin(), geom_.size_shifts.end());
    geom_.size_shifts.erase(std::unique(geom_.size_shifts.begin(), geom_.size_shifts.end()), geom_.size_shifts.end());
    ways_ = geom_.ways;
    set_mask_ = sets - 1;
    entries_.resize(geom_.entries);
    valid_by_size_.assign(geom_.size_shifts.size(), 0);
}

const TlbEntry* Tlb::lookup_slow(Addr va, Asid asid)
{
    for (unsigned shift : geom_.size_shifts) {
        TlbEntry* set = set_base(va, shift);
        for (unsigned w = 0; w < ways_; ++w) {
            TlbEntry& e = set[w];
            if (e.size_shift == shift && e.matches(va, asid)) {
                e.lru = ++clock_;
                ++stats_.hits;
                last_ = &e;
                return &e;
            }
        }
    }
    ++stats_.misses;
    return nullptr;
}

const TlbEntry* Tlb::probe(Addr va, Asid asid) const
{
    for (unsigned shift : geom_.size_shifts) {
        const TlbEntry* set = &entries_[((va >> shift) & set_mask_) * ways_];
        for (unsigned w = 0; w < ways_; ++w)
            if (set[w].size_shift == shift && set[w].matches(va, asid))
                return &set[w];
    }
    return nullptr;
}

bool Tlb::holds(unsigned shift) const
{
    return std::find(geom_.size_shifts.begin(), geom_.size_shifts.end(), shift) != geom_.size_shifts.end();
}

std::size_t Tlb::shift_slot(unsigned shift) const
{
    return static_cast<std::size_t>(std::find(geom_.size_shifts.begin(), geom_.size_shifts.end(), shift) -
                                    geom_.size_shifts.begin());
}

TlbEntry Tlb::shape(const TlbEntry& in, Addr va) const
{
    TlbEntry e = in;
    e.trans_shift = std::max(in.trans_shift, in.size_shift);
    if (!holds(e.size_shift)) {
        // Largest held size not larger than the translation.
        unsigned fit = 0;
        for (unsigned s : geom_.size_shifts)
            if (s <= in.size_shift)
                fit = s;
        if (fit == 0) {
            e.valid = false;
            return e;
        }
        const Addr offset = (va & ((Addr{1} << in.size_shift) - 1)) & ~((Addr{1} << fit) - 1);
        e.pa = in.pa + offset;
        e.size_shift = static_cast<std::uint8_t>(fit);
        e.desc_pa = in.desc_pa;
    }
    e.vpn = va >> e.size_shift;
    e.valid = true;
    return e;
}

void Tlb::remove_overlaps_in_set(TlbEntry* set, const TlbEntry& e, std::vector<TlbEntry>* resized)
{
    for (unsigned w = 0; w < ways_; ++w) {
        TlbEntry& c = set[w];
        if (!c.valid || !(c.global || e.global || c.asid == e.asid))
            continue;
        // The smaller of the two ranges lies inside the larger one exactly when their VPNs agree at the
        // larger size.
        const unsigned big = std::max(c.size_shift, e.size_shift);
        if ((c.va_base() >> big) != (e.va_base() >> big))
            continue;
        if (resized && c.trans_shift != e.trans_shift)
            resized->push_back(c);
        c.valid = false;
        --valid_by_size_[shift_slot(c.size_shift)];
        ++stats_.replaced;
    }
}

void Tlb::remove_overlaps(const TlbEntry& e, std::vector<TlbEntry>* resized)
{
    const std::uint64_t sets = set_mask_ + 1;
    for (std::size_t i = 0; i < geom_.size_shifts.size(); ++i) {
        if (valid_by_size_[i] == 0)
            continue;
        const unsigned s = geom_.size_shifts[i];
        if (s >= e.size_shift) {
            // At most one entry of this size covers e's range, in the set its base indexes.
            remove_overlaps_in_set(set_base(e.va_base(), s), e, resized);
            continue;
        }
        // Smaller entries inside e's range: one set per page of size s, or every set.
        const std::uint64_t pages = std::uint64_t{1} << (e.size_shift - s);
        const std::uint64_t first = (e.va_base() >> s) & set_mask_;
        for (std::uint64_t k = 0; k < std::min(pages, sets); ++k)
            remove_overlaps_in_set(&entries_[((first + k) & set_mask_) * ways_], e, resized);
    }
}

void Tlb::install(const TlbEntry& in, bool splintered)
{
    stats_.splintered += splintered;
    TlbEntry e = in;
    e.lru = ++clock_;
    TlbEntry* set = set_base(e.va_base(), e.size_shift);
    TlbEntry* victim = nullptr;
    for (unsigned w = 0; w < ways_; ++w) {
        TlbEntry& c = set[w];
        if (!c.valid) {
            if (!victim || victim->valid)
                victim = &c;
        } else if (!victim || (victim->valid && c.lru < victim->lru)) {
            victim = &c;
        }
    }
    if (victim->valid) {
        ++stats_.evictions;
        --valid_by_size_[shift_slot(victim->size_shift)];
    }
    max_trans_shift_ = std::max<unsigned>(max_trans_shift_, e.trans_shift);
    *victim = e;
    ++valid_by_size_[shift_slot(e.size_shift)];
    ++stats_.fills;
    last_ = victim;
}

bool Tlb::fill(const TlbEntry& in, Addr va, std::vector<TlbEntry>* resized)
{
    const TlbEntry e = shape(in, va);
    if (!e.valid)
        return false;
    remove_overlaps(e, resized);
    install(e, e.size_shift != in.size_shift);
    return true;
}

std::size_t Tlb::invalidate(const InvalidationScope& scope)
{
    std::size_t n = 0;
    const auto drop = [&](TlbEntry& e) {
        if (scope.matches(e)) {
            e.valid = false;
            --valid_by_size_[shift_slot(e.size_shift)];
            ++n;
        }
    };
    // By VA, only the sets that can hold an entry whose translation overlaps the range are searched: for each
    // held size, those its pieces of every translation overlapping the range index (a splintered entry lies
    // anywhere inside its translation, at most 2^max_trans_shift_ bytes). A wide range searches everything.
    const std::uint64_t sets = set_mask_ + 1;
    bool narrow = scope.by_va;
    std::uint64_t probes = 0;
    std::array<std::pair<std::uint64_t, std::uint64_t>, 8> runs; // per held size: first piece, pieces
    std::size_t nruns = 0;
    narrow = narrow && geom_.size_shifts.size() <= runs.size();
    for (std::size_t i = 0; narrow && i < geom_.size_shifts.size(); ++i) {
        if (valid_by_size_[i] == 0)
            continue;
        const unsigned s = geom_.size_shifts[i];
        const unsigned t = std::max<unsigned>(s, max_trans_shift_);
        const std::uint64_t first = (scope.va_start >> t) << (t - s);
        const std::uint64_t last = ((scope.va_last >> t) << (t - s)) + ((std::uint64_t{1} << (t - s)) - 1);
        const std::uint64_t pieces = last - first + 1;
        probes += pieces;
        narrow = pieces < sets && probes < sets;
        runs[nruns++] = {first, pieces};
    }
    if (!narrow) {
        for (TlbEntry& e : entries_)
            drop(e);
    } else {
        for (std::size_t r = 0; r < nruns; ++r)
            for (std::uint64_t k = 0; k < runs[r].second; ++k) {
                TlbEntry* set = &entries_[((runs[r].first + k) & set_mask_) * ways_];
                for (unsigned w = 0; w < ways_; ++w)
                    drop(set[w]);
            }
    }
    stats_.invalidated += n;
    last_ = nullptr;
    return n;
}

std::size_t Tlb::valid_entries() const
{
    return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [](const TlbEntry& e) { return e.valid; }));
}

} // namespace mmusim::hw
