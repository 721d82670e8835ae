// SPDX-License-Identifier: GPL-2.0-only
#include "mm/swap.hh"

#include "hw/core/spinlock.hh"
#include "mm/phase.hh"
#include "mm/swapfile.hh"

namespace mmusim::mm {

namespace {

constexpr unsigned LRUVEC_OFF_LOCK = 0, LRUVEC_OFF_LISTS = 16;
constexpr auto kCat = hw::Category::StructPage;

PAddr lru_head(Ctx& c, lru_list lru) { return c.k.lruvec(c) + LRUVEC_OFF_LISTS + 16 * PAddr{lru}; }

// include/linux/mm_inline.h lruvec_del_folio(): list_del(&folio->lru) (the neighbours' links not modelled)
void lruvec_del_folio(Ctx& c, Folio folio)
{
    const PAddr lru = page_addr(c, folio_page(folio, 0)) + PAGE_OFF_LRU;
    c.cpu.load(lru, 8, kCat);
    c.cpu.load(lru + 8, 8, kCat);
}

// include/linux/mm_inline.h lruvec_add_folio(): list_add(&folio->lru, &lruvec->lists[lru]); the head's next
// is the only link written (a folio's lru.next holds a list head, 16-byte aligned, so page_folio() of the head
// page still sees a head)
void lruvec_add_folio(Ctx& c, Folio folio)
{
    const PAddr head = lru_head(c, folio_lru_list(c, folio));
    const PAddr lru = page_addr(c, folio_page(folio, 0)) + PAGE_OFF_LRU;
    const PAddr next = c.cpu.load(head, 8, hw::Category::KernelMemory);
    c.cpu.store(lru, next ? next : head, 8, kCat);
    c.cpu.store(lru + 8, head, 8, kCat);
    c.cpu.store(head, lru, 8, hw::Category::KernelMemory); // head->next = &folio->lru
}

// mm/swap.c folio_test_clear_lru(): test_and_clear_bit(PG_lru)
bool folio_test_clear_lru(Ctx& c, Folio folio)
{
    return c.cpu.test_and_clear_bit(PG_lru, page_addr(c, folio_page(folio, 0)) + PAGE_OFF_FLAGS, kCat);
}

// mm/swap.c folio_batch_add_and_move() with the batch disabled -> folio_batch_move_lru(): off the LRU flag,
// the move under lru_lock, PG_lru back
template <typename Move>
void folio_batch_add_and_move(Ctx& c, Folio folio, Move move)
{
    if (!folio_test_clear_lru(c, folio))
        return;
    hw::SpinLock lock(c.k.lruvec(c) + LRUVEC_OFF_LOCK);
    lock.lock(c.cpu); // folio_lruvec_relock_irqsave()
    move(folio);
    lock.unlock(c.cpu);
    folio_set_flag(c, folio, PG_lru);
}

} // namespace

// include/linux/mm_inline.h folio_lru_list()
lru_list folio_lru_list(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_unevictable))
        return LRU_UNEVICTABLE;
    const unsigned base = folio_test_flag(c, folio, PG_swapbacked) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE;
    return static_cast<lru_list>(base + (folio_test_flag(c, folio, PG_active) ? 1 : 0));
}

// mm/swap.c folio_deactivate() -> lru_deactivate()
void folio_deactivate(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_unevictable) || !folio_test_flag(c, folio, PG_active))
        return;
    folio_batch_add_and_move(c, folio, [&](Folio f) {
        if (folio_test_flag(c, f, PG_unevictable) || !folio_test_flag(c, f, PG_active))
            return;
        lruvec_del_folio(c, f);
        folio_clear_flag(c, f, PG_active);
        folio_clear_flag(c, f, PG_referenced);
        lruvec_add_folio(c, f);
    });
}

// mm/swap.c folio_mark_lazyfree() -> lru_lazyfree()
void folio_mark_lazyfree(Ctx& c, Folio folio)
{
    auto eligible = [&](Folio f) {
        return folio_test_anon(c, f) && folio_test_flag(c, f, PG_swapbacked) && !folio_test_swapcache(c, f) &&
               !folio_test_flag(c, f, PG_unevictable);
    };
    if (!eligible(folio))
        return;
    folio_batch_add_and_move(c, folio, [&](Folio f) {
        if (!eligible(f))
            return;
        lruvec_del_folio(c, f);
        folio_clear_flag(c, f, PG_active);
        folio_clear_flag(c, f, PG_referenced);
        // Lazyfree folios are clean anonymous folios. They have PG_swapbacked flag cleared, to distinguish
        // them from normal anonymous folios
        folio_clear_flag(c, f, PG_swapbacked);
        lruvec_add_folio(c, f);
    });
}

// mm/vmscan.c folio_isolate_lru()
bool folio_isolate_lru(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "folio_isolate_lru");
    if (!folio_test_clear_lru(c, folio))
        return false;
    folio_get(c, folio);
    hw::SpinLock lock(c.k.lruvec(c) + LRUVEC_OFF_LOCK);
    lock.lock(c.cpu); // folio_lruvec_lock_irq()
    lruvec_del_folio(c, folio);
    lock.unlock(c.cpu);
    return true;
}

// mm/vmscan.c folio_putback_lru(): folio_add_lru() (its per-CPU batch disabled: lru_add() under lru_lock)
void folio_putback_lru(Ctx& c, Folio folio)
{
    {
        hw::SpinLock lock(c.k.lruvec(c) + LRUVEC_OFF_LOCK);
        lock.lock(c.cpu);
        lruvec_add_folio(c, folio);
        lock.unlock(c.cpu);
    }
    folio_set_flag(c, folio, PG_lru);
    folio_put(c, folio);
}

} // namespace mmusim::mm
