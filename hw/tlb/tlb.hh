// SPDX-License-Identifier: GPL-2.0-only
// A set-associative, LRU translation lookaside buffer holding one or more page sizes.
//
// Each held page size indexes the sets with its own VPN bits (va >> shift); a lookup probes every held
// size. An entry larger than any held size is splintered to the largest held size that fits, covering the
// accessed address (the SDM allows this; arm64 TRMs describe L1 TLBs caching blocks "at 64KB granularity").
// A fully associative TLB is one set with `entries` ways.
//
// No two valid entries of a TLB (or of a TlbLevel's arrays) ever translate one address: a fill first removes
// every entry whose range overlaps the new one for a matching ASID (or global), counted as `replaced`. Real
// TLBs avoid such duplicates too (Intel may cache both but then flushes both; on arm64 they are a TLB conflict,
// Arm ARM D8.14.2); with this rule a lookup's result and the LRU order never depend on which copy is probed
// first, so replacement is exact LRU per set.
#pragma once

#include "hw/common/types.hh"
#include "hw/invalidation/invalidation_scope.hh"
#include "hw/tlb/tlb_entry.hh"

#include <string>
#include <vector>

namespace mmusim::hw {

struct TlbGeometry {
    std::string name = "tlb";
    unsigned entries = 64;
    unsigned ways = 4;
    std::vector<unsigned> size_shifts{12}; // page sizes held, log2 bytes
    Cycles hit_latency = 1;
};

struct TlbStats {
    std::uint64_t accesses = 0; // hits + misses (derived, not counted on the hot path)
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t fills = 0;
    std::uint64_t evictions = 0;
    std::uint64_t invalidated = 0; // entries removed by maintenance operations
    std::uint64_t splintered = 0;  // fills that had to be cut to a smaller held size
    std::uint64_t replaced = 0;    // entries removed because a fill overlapped them (same address, ASID)
};

class Tlb {
public:
    explicit Tlb(TlbGeometry g); // throws std::invalid_argument for an impossible geometry

    // Counts an access and updates LRU. Returns the matching entry or nullptr.
    const TlbEntry* lookup(Addr va, Asid asid)
    {
        // Fast path: the last entry hit is already most recent in its set, so hitting it again changes no
        // replacement state (exact LRU is preserved).
        if (last_ && last_->matches(va, asid)) {
            ++stats_.hits;
            return last_;
        }
        return lookup_slow(va, asid);
    }
    // No statistics, no LRU update.
    const TlbEntry* probe(Addr va, Asid asid) const;
    // Would lookup() take the last-hit shortcut? (Lets a multi-array level skip probing every array.)
    bool last_hit_matches(Addr va, Asid asid) const { return last_ && last_->matches(va, asid); }

    // Installs a translation for `va` (splintered if needed), replacing any entry it overlaps. Returns false if
    // no held size fits.
    bool fill(const TlbEntry& e, Addr va, std::vector<TlbEntry>* resized = nullptr);
    // The entry fill() would install for `va` (splintered to a held size); invalid if no held size fits.
    TlbEntry shape(const TlbEntry& e, Addr va) const;
    // Removes every entry that translates some address of `e`'s range for `e`'s ASID (or any, if global).
    // Those of another translation size than `e`'s are also appended to `resized` if given: a TLB that kept
    // both would hold two translations for one address (a TLB conflict, see hw/mmu/tlb_conflict.hh).
    void remove_overlaps(const TlbEntry& e, std::vector<TlbEntry>* resized = nullptr);
    // Installs an entry made by shape() into its set, evicting the LRU way if the set is full. `splintered`:
    // shape() had to cut the translation to a smaller held size.
    void install(const TlbEntry& e, bool splintered);
    std::size_t invalidate(const InvalidationScope& scope);

    bool holds(unsigned shift) const;
    const TlbGeometry& geometry() const { return geom_; }
    TlbStats stats() const
    {
        TlbStats s = stats_;
        s.accesses = s.hits + s.misses;
        return s;
    }
    std::size_t valid_entries() const;
    template <typename F> void for_each(F&& f) const
    {
        for (const TlbEntry& e : entries_)
            if (e.valid)
                f(e);
    }

private:
    const TlbEntry* lookup_slow(Addr va, Asid asid);
    TlbEntry* set_base(Addr va, unsigned shift) { return &entries_[((va >> shift) & set_mask_) * ways_]; }
    std::size_t shift_slot(unsigned shift) const; // index of `shift` in geom_.size_shifts
    void remove_overlaps_in_set(TlbEntry* set, const TlbEntry& e, std::vector<TlbEntry>* resized);

    TlbGeometry geom_;
    std::vector<TlbEntry> entries_;
    unsigned ways_ = 0;
    std::uint64_t set_mask_ = 0;
    std::uint64_t clock_ = 0;
    TlbEntry* last_ = nullptr;
    unsigned max_trans_shift_ = 0; // the largest translation ever installed (bounds a by-VA invalidation's search)
    std::vector<std::uint32_t> valid_by_size_; // valid entries per held size (lets a fill skip absent sizes)
    TlbStats stats_;
};

} // namespace mmusim::hw
