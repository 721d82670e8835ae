// SPDX-License-Identifier: GPL-2.0-only
#include "hw/mmu/tlb_level.hh"

#include <stdexcept>

namespace mmusim::hw {

TlbLevel::TlbLevel(std::string name, std::vector<TlbGeometry> arrays) : name_(std::move(name))
{
    if (arrays.empty())
        throw std::invalid_argument(name_ + ": needs at least one array");
    for (auto& g : arrays)
        arrays_.emplace_back(std::move(g));
    single_ = arrays_.size() == 1;
    hit_latency_ = arrays_[0].geometry().hit_latency;
    for (const Tlb& t : arrays_)
        hit_latency_ = std::max(hit_latency_, t.geometry().hit_latency);
}

const TlbEntry* TlbLevel::lookup_multi(Addr va, Asid asid)
{
    // Hardware probes the arrays in parallel; only the array that hits updates its LRU state. Try each array's
    // last hit first: the common case costs no set scan.
    for (Tlb& t : arrays_)
        if (t.last_hit_matches(va, asid)) {
            ++stats_.hits;
            return t.lookup(va, asid);
        }
    for (Tlb& t : arrays_)
        if (t.probe(va, asid)) {
            ++stats_.hits;
            return t.lookup(va, asid);
        }
    ++stats_.misses;
    return nullptr;
}

TlbLevelStats TlbLevel::stats() const
{
    TlbLevelStats s = stats_;
    if (single_) {
        const TlbStats a = arrays_[0].stats();
        s.hits = a.hits;
        s.misses = a.misses;
    }
    s.accesses = s.hits + s.misses;
    return s;
}

const TlbEntry* TlbLevel::probe(Addr va, Asid asid) const
{
    for (const Tlb& t : arrays_)
        if (const TlbEntry* e = t.probe(va, asid))
            return e;
    return nullptr;
}

bool TlbLevel::fill(const TlbEntry& e, Addr va, std::vector<TlbEntry>* resized)
{
    if (single_)
        return arrays_[0].fill(e, va, resized);
    // The array that holds the translation's size, else the one whose largest held size fits best.
    Tlb* best = nullptr;
    unsigned best_fit = 0;
    for (Tlb& t : arrays_) {
        if (t.holds(e.size_shift)) {
            best = &t;
            break;
        }
        for (unsigned s : t.geometry().size_shifts)
            if (s <= e.size_shift && s > best_fit) {
                best_fit = s;
                best = &t;
            }
    }
    if (!best)
        return false;
    const TlbEntry shaped = best->shape(e, va);
    // No two arrays of a level may translate one address (see tlb.hh): the new entry replaces the others.
    for (Tlb& t : arrays_)
        t.remove_overlaps(shaped, resized);
    best->install(shaped, shaped.size_shift != e.size_shift);
    return true;
}

std::size_t TlbLevel::invalidate(const InvalidationScope& scope)
{
    std::size_t n = 0;
    for (Tlb& t : arrays_)
        n += t.invalidate(scope);
    return n;
}

bool TlbLevel::holds(unsigned shift) const
{
    for (const Tlb& t : arrays_)
        if (t.holds(shift))
            return true;
    return false;
}

std::size_t TlbLevel::valid_entries() const
{
    std::size_t n = 0;
    for (const Tlb& t : arrays_)
        n += t.valid_entries();
    return n;
}

} // namespace mmusim::hw
