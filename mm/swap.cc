// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swap.hh"

#include "hw/core/spinlock.hh"
#include "hw/mem/phys_memory.hh"
#include "mm/debug_vm.hh"
#include "mm/mm_types.hh"
#include "mm/phase.hh"
#include "mm/swapfile.hh"

#include <set>
#include <sstream>

namespace mmusim::mm {

namespace {

constexpr auto kCat = hw::Category::StructPage;
constexpr auto kKm = hw::Category::KernelMemory;

PAddr lru_head(const Ctx& c, lru_list lru) { return c.k.lruvec() + LRUVEC_OFF_LISTS + 16 * PAddr{lru}; }
PAddr folio_lru(const Ctx& c, Folio folio) { return page_addr(c, folio_page(folio, 0)) + PAGE_OFF_LRU; }

// A list_head lives in a struct page (a folio's lru) or in the lruvec (a list head): the category of its
// accesses
hw::Category list_cat(const Ctx& c, PAddr entry)
{
    const PAddr lruvec = c.k.lruvec();
    return entry >= lruvec && entry < lruvec + LRUVEC_BYTES ? kKm : kCat;
}
std::uint64_t list_load(Ctx& c, PAddr pa) { return c.cpu.load(pa, 8, list_cat(c, pa)); }
void list_store(Ctx& c, PAddr pa, std::uint64_t v) { c.cpu.store(pa, v, 8, list_cat(c, pa)); }

// include/linux/list.h __list_add(): next->prev = new; new->next = next; new->prev = prev; prev->next = new
void __list_add(Ctx& c, PAddr entry, PAddr prev, PAddr next)
{
    list_store(c, next + 8, entry);
    list_store(c, entry, next);
    list_store(c, entry + 8, prev);
    list_store(c, prev, entry); // WRITE_ONCE(prev->next, new)
}
// include/linux/list.h list_add()
void list_add(Ctx& c, PAddr entry, PAddr head) { __list_add(c, entry, head, list_load(c, head)); }
// include/linux/list.h __list_del_entry(): the neighbours point at each other
void __list_del_entry(Ctx& c, PAddr entry)
{
    const PAddr next = list_load(c, entry), prev = list_load(c, entry + 8);
    list_store(c, next + 8, prev);
    list_store(c, prev, next); // WRITE_ONCE(prev->next, next)
}
// include/linux/list.h list_del(): unlinked, the entry poisoned
void list_del(Ctx& c, PAddr entry)
{
    __list_del_entry(c, entry);
    list_store(c, entry, LIST_POISON1);
    list_store(c, entry + 8, LIST_POISON2);
}

PAddr nr_pages_word(const Ctx& c, lru_list lru) { return c.k.lruvec() + LRUVEC_OFF_NR_PAGES + 8 * PAddr{lru}; }

// include/linux/mm_inline.h folio_evictable(): neither its mapping unevictable nor mlocked (mlock is not
// ported: PG_mlocked stays clear)
bool folio_evictable(Ctx& c, Folio folio) { return !folio_test_flag(c, folio, PG_mlocked); }

// mm/swap.c lru_add(): the folio onto the list its flags name
void lru_add(Ctx& c, Folio folio)
{
    const bool was_unevictable = folio_test_clear_flag(c, folio, PG_unevictable);
    (void)was_unevictable; // UNEVICTABLE_PGRESCUED / PGCULLED events are not counted
    if (!folio_evictable(c, folio)) {
        folio_clear_flag(c, folio, PG_active);
        folio_set_flag(c, folio, PG_unevictable);
    }
    lruvec_add_folio(c, folio);
}

// mm/swap.c lru_activate()
void lru_activate(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_active) || folio_test_flag(c, folio, PG_unevictable))
        return;
    lruvec_del_folio(c, folio);
    folio_set_flag(c, folio, PG_active);
    lruvec_add_folio(c, folio);
}

// mm/swap.c lru_deactivate()
void lru_deactivate(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_unevictable) || !folio_test_flag(c, folio, PG_active))
        return;
    lruvec_del_folio(c, folio);
    folio_clear_flag(c, folio, PG_active);
    folio_clear_flag(c, folio, PG_referenced);
    lruvec_add_folio(c, folio);
}

// mm/swap.c lru_lazyfree()
void lru_lazyfree(Ctx& c, Folio folio)
{
    if (!folio_test_anon(c, folio) || !folio_test_flag(c, folio, PG_swapbacked) || folio_test_swapcache(c, folio) ||
        folio_test_flag(c, folio, PG_unevictable))
        return;
    lruvec_del_folio(c, folio);
    folio_clear_flag(c, folio, PG_active);
    folio_clear_flag(c, folio, PG_referenced);
    // Lazyfree folios are clean anonymous folios. They have PG_swapbacked flag cleared, to distinguish them
    // from normal anonymous folios
    folio_clear_flag(c, folio, PG_swapbacked);
    lruvec_add_folio(c, folio);
}

// mm/swap.c __folio_batch_add_and_move() with the per-CPU batch disabled (lru_cache_disabled()): the batch's
// reference, then folio_batch_move_lru() of this one folio: off PG_lru (not for lru_add), the move under
// lru_lock, PG_lru back, the reference dropped (folios_put())
template <typename Move>
void folio_batch_add_and_move(Ctx& c, Folio folio, Move move, bool is_lru_add)
{
    folio_get(c, folio);
    // folio_batch_move_lru()
    if (!is_lru_add && !folio_test_clear_flag(c, folio, PG_lru)) {
        folio_put(c, folio);
        return;
    }
    // Filter dead folios (the batch held the last reference): freed without going on the LRU
    if (is_lru_add && folio_ref_freeze(c, folio, 1)) {
        __folio_clear_flag(c, folio, PG_active);
        __folio_clear_flag(c, folio, PG_unevictable);
        c.k.page_alloc().free_folio(c, folio); // free_unref_folios()
        return;
    }
    lruvec_lock_irq(c); // folio_lruvec_relock_irqsave()
    move(folio);
    folio_set_flag(c, folio, PG_lru); // folio_set_lru()
    lruvec_unlock_irq(c);
    folio_put(c, folio); // folios_put()
}

} // namespace

// mm/mmzone.c lruvec_init()
void lruvec_init(hw::PhysMemory& mem, PAddr lruvec)
{
    for (unsigned lru = 0; lru < NR_LRU_LISTS; ++lru) {
        const PAddr head = lruvec + LRUVEC_OFF_LISTS + 16 * PAddr{lru};
        mem.write64(head, head);     // INIT_LIST_HEAD(): next
        mem.write64(head + 8, head); // prev
    }
}

// include/linux/mm_inline.h folio_lru_list()
lru_list folio_lru_list(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_unevictable))
        return LRU_UNEVICTABLE;
    const unsigned base = folio_test_flag(c, folio, PG_swapbacked) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
    return static_cast<lru_list>(base + (folio_test_flag(c, folio, PG_active) ? 1 : 0));
}

void lruvec_lock_irq(Ctx& c) { hw::SpinLock(c.k.lruvec() + LRUVEC_OFF_LOCK).lock(c.cpu); }
void lruvec_unlock_irq(Ctx& c) { hw::SpinLock(c.k.lruvec() + LRUVEC_OFF_LOCK).unlock(c.cpu); }

// include/linux/mm_inline.h update_lru_size() -> __mod_lruvec_state(): the list's page count
void update_lru_size(Ctx& c, lru_list lru, long nr)
{
    const PAddr w = nr_pages_word(c, lru);
    c.cpu.store(w, c.cpu.load(w, 8, kKm) + static_cast<std::uint64_t>(nr), 8, kKm);
}

unsigned long lruvec_lru_size(Ctx& c, lru_list lru) { return c.cpu.load(nr_pages_word(c, lru), 8, kKm); }

unsigned long lruvec_cost(Ctx& c, bool file)
{
    return c.cpu.load(c.k.lruvec() + (file ? LRUVEC_OFF_FILE_COST : LRUVEC_OFF_ANON_COST), 8, kKm);
}

// include/linux/mm_inline.h lruvec_add_folio(): list_add() at the list's head (the unevictable list keeps
// only the count)
void lruvec_add_folio(Ctx& c, Folio folio)
{
    const lru_list lru = folio_lru_list(c, folio);
    update_lru_size(c, lru, static_cast<long>(folio_nr_pages(c, folio)));
    if (lru != LRU_UNEVICTABLE)
        list_add(c, folio_lru(c, folio), lru_head(c, lru));
}

// include/linux/mm_inline.h lruvec_del_folio()
void lruvec_del_folio(Ctx& c, Folio folio)
{
    const lru_list lru = folio_lru_list(c, folio);
    if (lru != LRU_UNEVICTABLE)
        list_del(c, folio_lru(c, folio));
    update_lru_size(c, lru, -static_cast<long>(folio_nr_pages(c, folio)));
}

// include/linux/mm_inline.h lru_to_folio(): list_entry(head->prev, struct folio, lru)
std::optional<Folio> lruvec_tail_folio(Ctx& c, lru_list lru)
{
    const PAddr head = lru_head(c, lru);
    const PAddr last = list_load(c, head + 8);
    if (last == head) // list_empty()
        return std::nullopt;
    return Folio{(last - PAGE_OFF_LRU - c.k.vmemmap()) / kStructPageBytes};
}

void lruvec_move_folio_to_head(Ctx& c, Folio folio, lru_list lru)
{
    __list_del_entry(c, folio_lru(c, folio));
    list_add(c, folio_lru(c, folio), lru_head(c, lru));
}

void lruvec_unlink_folio(Ctx& c, Folio folio) { list_del(c, folio_lru(c, folio)); }

// mm/swap.c lru_note_cost_unlock_irq() (one lruvec: no parent to carry the cost to)
void lru_note_cost_unlock_irq(Ctx& c, bool file, unsigned nr_io, unsigned nr_rotated)
{
    constexpr unsigned long SWAP_CLUSTER_MAX = 32;
    // Reflect the relative cost of incurring IO and spending CPU time on rotations.
    const unsigned long cost = nr_io * SWAP_CLUSTER_MAX + nr_rotated;
    if (cost) {
        const PAddr anon = c.k.lruvec() + LRUVEC_OFF_ANON_COST, filec = c.k.lruvec() + LRUVEC_OFF_FILE_COST;
        // Record cost event
        const PAddr mine = file ? filec : anon;
        c.cpu.store(mine, c.cpu.load(mine, 8, kKm) + cost, 8, kKm);
        // Decay previous events
        const unsigned long lrusize = lruvec_lru_size(c, LRU_INACTIVE_ANON) + lruvec_lru_size(c, LRU_ACTIVE_ANON) +
                                      lruvec_lru_size(c, LRU_INACTIVE_FILE) + lruvec_lru_size(c, LRU_ACTIVE_FILE);
        const std::uint64_t fc = c.cpu.load(filec, 8, kKm), ac = c.cpu.load(anon, 8, kKm);
        if (fc + ac > lrusize / 4) {
            c.cpu.store(filec, fc / 2, 8, kKm);
            c.cpu.store(anon, ac / 2, 8, kKm);
        }
    }
    lruvec_unlock_irq(c);
}

// mm/swap.c folio_add_lru() (no MGLRU)
void folio_add_lru(Ctx& c, Folio folio)
{
    MMUSIM_VM_BUG_ON_FOLIO(c, (page_word(c.k, folio.pfn, PAGE_OFF_FLAGS) >> PG_lru) & 1, "folio_add_lru", folio);
    folio_batch_add_and_move(c, folio, [&](Folio f) { lru_add(c, f); }, true);
}

// mm/swap.c folio_add_lru_vma()
void folio_add_lru_vma(Ctx& c, Folio folio, vm_area_struct&) { folio_add_lru(c, folio); }

// mm/swap.c folio_activate() (CONFIG_SMP)
void folio_activate(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_active) || folio_test_flag(c, folio, PG_unevictable) ||
        !folio_test_flag(c, folio, PG_lru))
        return;
    folio_batch_add_and_move(c, folio, [&](Folio f) { lru_activate(c, f); }, false);
}

// mm/swap.c folio_mark_accessed() (no MGLRU, no idle page tracking)
void folio_mark_accessed(Ctx& c, Folio folio)
{
    if (!folio_test_flag(c, folio, PG_referenced)) {
        folio_set_flag(c, folio, PG_referenced);
    } else if (folio_test_flag(c, folio, PG_unevictable)) {
        // Unevictable pages are on the "LRU_UNEVICTABLE" list. But, this list is never rotated or maintained,
        // so marking an unevictable page accessed has no effect.
    } else if (!folio_test_flag(c, folio, PG_active)) {
        // If the folio is on the LRU, queue it for activation (here: move it at once). Otherwise it would be
        // in a per-CPU batch (__lru_cache_activate_folio()); the port has none.
        if (folio_test_flag(c, folio, PG_lru))
            folio_activate(c, folio);
        folio_clear_flag(c, folio, PG_referenced);
    }
}

// mm/swap.c folio_deactivate()
void folio_deactivate(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_unevictable) || !folio_test_flag(c, folio, PG_active))
        return;
    folio_batch_add_and_move(c, folio, [&](Folio f) { lru_deactivate(c, f); }, false);
}

// mm/swap.c folio_mark_lazyfree()
void folio_mark_lazyfree(Ctx& c, Folio folio)
{
    if (!folio_test_anon(c, folio) || !folio_test_flag(c, folio, PG_swapbacked) || folio_test_swapcache(c, folio) ||
        folio_test_flag(c, folio, PG_unevictable))
        return;
    folio_batch_add_and_move(c, folio, [&](Folio f) { lru_lazyfree(c, f); }, false);
}

// mm/vmscan.c folio_isolate_lru()
bool folio_isolate_lru(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "folio_isolate_lru");
    if (!folio_test_clear_flag(c, folio, PG_lru))
        return false;
    folio_get(c, folio);
    lruvec_lock_irq(c); // folio_lruvec_lock_irq()
    lruvec_del_folio(c, folio);
    lruvec_unlock_irq(c);
    return true;
}

// mm/vmscan.c folio_putback_lru()
void folio_putback_lru(Ctx& c, Folio folio)
{
    folio_add_lru(c, folio);
    folio_put(c, folio); // drop ref from isolate
}

// include/linux/mm_inline.h __folio_clear_lru_flags()
void __folio_clear_lru_flags(Ctx& c, Folio folio)
{
    __folio_clear_flag(c, folio, PG_lru);
    // this shouldn't happen, so leave the flags to bad_page()
    if (folio_test_flag(c, folio, PG_active) && folio_test_flag(c, folio, PG_unevictable))
        return;
    __folio_clear_flag(c, folio, PG_active);
    __folio_clear_flag(c, folio, PG_unevictable);
}

// mm/swap.c page_cache_release() -> __page_cache_release()
void page_cache_release(Ctx& c, Folio folio)
{
    if (!folio_test_flag(c, folio, PG_lru))
        return;
    lruvec_lock_irq(c); // folio_lruvec_relock_irqsave()
    lruvec_del_folio(c, folio);
    __folio_clear_lru_flags(c, folio);
    lruvec_unlock_irq(c);
}

void check_lru_lists(Kernel& k, const std::string& when)
{
    if (!k.platform().checked())
        return;
    const hw::PhysInspector in = k.platform().inspect();
    const PAddr vmemmap = k.vmemmap();
    const std::uint64_t struct_pages = (k.platform().config().memory.size >> k.page_shift()) * kStructPageBytes;
    std::ostringstream bad;
    std::set<pfn_t> seen;
    static const char* const names[] = {"inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"};
    for (unsigned lru = 0; lru < NR_LRU_LISTS; ++lru) {
        const PAddr head = k.lruvec() + LRUVEC_OFF_LISTS + 16 * PAddr{lru};
        std::uint64_t pages = 0;
        PAddr prev = head;
        for (PAddr e = in.read64(head);; e = in.read64(e)) {
            if (in.read64(e + 8) != prev) {
                bad << "\n  " << names[lru] << ": the entry at 0x" << std::hex << e << " has prev 0x" << in.read64(e + 8)
                    << ", not 0x" << prev << std::dec;
                break;
            }
            if (e == head)
                break;
            if (e < vmemmap + PAGE_OFF_LRU || e - vmemmap >= struct_pages || (e - vmemmap) % kStructPageBytes != PAGE_OFF_LRU) {
                bad << "\n  " << names[lru] << ": entry 0x" << std::hex << e << std::dec << " is not a struct page's lru";
                break;
            }
            const pfn_t pfn = (e - vmemmap) / kStructPageBytes;
            if (!seen.insert(pfn).second) {
                bad << "\n  " << names[lru] << ": folio " << pfn << " is on the LRU twice (a cycle?)";
                break;
            }
            const std::uint64_t flags = in.read64(vmemmap + pfn * kStructPageBytes + PAGE_OFF_FLAGS);
            const auto bit = [&](PageFlag b) { return (flags >> b) & 1; };
            const unsigned want = bit(PG_unevictable) ? LRU_UNEVICTABLE
                                                      : (bit(PG_swapbacked) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE) +
                                                            static_cast<unsigned>(bit(PG_active));
            if (!bit(PG_lru) || want != lru)
                bad << "\n  " << names[lru] << ": folio " << pfn << (bit(PG_lru) ? "" : " without PG_lru")
                    << (want != lru ? std::string(" whose flags name ") + names[want] : "") << ": " << dump_folio(k, pfn);
            const std::uint64_t order =
                bit(PG_head) ? in.read64(vmemmap + pfn * kStructPageBytes + FOLIO_OFF_FLAGS_1) & 0xff : 0;
            pages += std::uint64_t{1} << order;
            prev = e;
        }
        const std::uint64_t counted = in.read64(k.lruvec() + LRUVEC_OFF_NR_PAGES + 8 * PAddr{lru});
        if (lru != LRU_UNEVICTABLE && counted != pages)
            bad << "\n  " << names[lru] << ": its size says " << static_cast<std::int64_t>(counted) << " pages, the list holds "
                << pages;
    }
    if (!bad.str().empty())
        throw CheckError(when + ": LRU lists broken:" + bad.str());
}

} // namespace mmusim::mm
