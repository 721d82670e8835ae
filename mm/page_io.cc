// SPDX-License-Identifier: GPL-2.0-only
#include "mm/page_io.hh"

#include "mm/internal.hh"
#include "mm/kernel.hh"
#include "mm/phase.hh"
#include "mm/swap_table.hh"
#include "mm/swapfile.hh"

#include <stdexcept>
#include <vector>

namespace mmusim::mm {

using hw::Category;

namespace {

hw::PhysMemory& device_memory(Ctx& c) { return c.k.platform().memory().memory(); }

// include/linux/page-flags.h folio_mark_uptodate(): the contents visible before the flag
void folio_mark_uptodate(Ctx& c, Folio folio)
{
    smp_wmb(c);
    folio_set_flag(c, folio, PG_uptodate);
}

// mm/page_io.c is_folio_zero_filled(): each page's last word first, then its words from the start, stopping
// at the first non-zero one. The scan is timed one load per cache line (the further loads of a line hit L1).
bool is_folio_zero_filled(Ctx& c, Folio folio)
{
    const std::uint64_t page_size = c.k.page_size();
    const unsigned line = c.k.platform().memory().line_size();
    const unsigned long nr = folio_nr_pages(c, folio);
    std::vector<std::uint64_t> data(page_size / 8);
    for (unsigned long i = 0; i < nr; ++i) {
        const PAddr pa = (folio_pfn(folio) + i) << c.k.page_shift(); // kmap_local_folio()
        device_memory(c).read(pa, data.data(), page_size);
        const std::size_t last_pos = data.size() - 1;
        c.cpu.load(pa + 8 * last_pos, 8);
        if (data[last_pos])
            return false;
        for (std::size_t pos = 0; pos < last_pos; ++pos) {
            if (pos * 8 % line == 0)
                c.cpu.load(pa + 8 * pos, 8);
            if (data[pos])
                return false;
        }
    }
    return true;
}

// mm/page_io.c swap_zeromap_folio_set()
void swap_zeromap_folio_set(Ctx& c, Folio folio)
{
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    const PAddr ci = swap_cluster_get_and_lock(c, folio);
    for (unsigned long i = 0; i < nr_pages; i++)
        __swap_table_set_zero(c, ci, swp_cluster_offset(c, page_swap_entry(c, folio, folio_page(folio, i))));
    swap_cluster_unlock(c, ci);
    c.k.swap().events.swpout_zero += nr_pages; // count_vm_events(SWPOUT_ZERO, nr_pages)
}

// mm/page_io.c swap_zeromap_folio_clear()
void swap_zeromap_folio_clear(Ctx& c, Folio folio)
{
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    const PAddr ci = swap_cluster_get_and_lock(c, folio);
    for (unsigned long i = 0; i < nr_pages; i++)
        __swap_table_clear_zero(c, ci, swp_cluster_offset(c, page_swap_entry(c, folio, folio_page(folio, i))));
    swap_cluster_unlock(c, ci);
}

// mm/page-writeback.c folio_end_writeback() via swap_write_end() -> end_page_writeback(): the writeback bit
// goes; a folio reclaim marked for rotation loses PG_reclaim (folio_rotate_reclaimable() moving it to the LRU
// tail is not modelled: the port has no LRU lists)
void folio_end_writeback(Ctx& c, Folio folio)
{
    if (folio_test_flag(c, folio, PG_reclaim))
        folio_clear_flag(c, folio, PG_reclaim);
    folio_clear_flag(c, folio, PG_writeback);
}

// mm/page_io.c swap_bdev_submit_write(): one bio for the folio; the device keeps each page's bytes under its
// slot; the completion is asynchronous (see page_io.hh)
void swap_bdev_submit_write(Ctx& c, Folio folio)
{
    c.k.charge_sw(c, c.k.config().software.swap_submit);
    const std::uint64_t page_size = c.k.page_size();
    Swap& sw = c.k.swap();
    std::vector<std::uint8_t> bytes(page_size);
    for (unsigned long i = 0; i < folio_nr_pages(c, folio); ++i) {
        device_memory(c).read((folio_pfn(folio) + i) << c.k.page_shift(), bytes.data(), page_size);
        sw.store->write(swp_offset(page_swap_entry(c, folio, folio_page(folio, i))), bytes.data());
    }
    folio_end_writeback(c, folio); // swap_write_end(): end_page_writeback()
}

// mm/page_io.c __swap_writepage()
void __swap_writepage(Ctx& c, Folio folio)
{
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    if (folio_order(c, folio) == c.k.swap().pmd_order())
        ++c.k.swap().events.thp_swpout; // count_vm_event(THP_SWPOUT)
    c.k.swap().events.pswpout += nr_pages; // count_vm_events(PSWPOUT, nr_pages)
    folio_set_flag(c, folio, PG_writeback); // folio_start_writeback()
    folio_unlock(c, folio);
    swap_bdev_submit_write(c, folio); // swap_add_folio(ctx, folio, WRITE) and its submission
}

// mm/page_io.c swap_read_folio_zeromap(): a folio whose slots are marked zero is cleared instead of read
bool swap_read_folio_zeromap(Ctx& c, Folio folio)
{
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    bool is_zeromap = false;
    // Swapping in a large folio that is partially in the zeromap is not currently handled: no uptodate, an
    // I/O error (do_swap_page() returns SIGBUS).
    if (swap_zeromap_batch(c, folio_swap(c, folio), static_cast<unsigned>(nr_pages), &is_zeromap) != nr_pages)
        return true;
    if (!is_zeromap)
        return false;
    c.k.swap().events.swpin_zero += nr_pages; // count_vm_events(SWPIN_ZERO, nr_pages)
    // folio_zero_range()
    c.cpu.clear_page(folio_pfn(folio) << c.k.page_shift(), c.k.page_size() * nr_pages, Category::ClearPage);
    folio_mark_uptodate(c, folio);
    return true;
}

// mm/page_io.c swap_bdev_submit_read() on a SWP_SYNCHRONOUS_IO device (submit_bio_wait()), then
// swap_read_end(): the bytes of each slot into the folio, uptodate, unlocked
void swap_bdev_submit_read(Ctx& c, Folio folio)
{
    const std::uint64_t page_size = c.k.page_size();
    const unsigned long nr_pages = folio_nr_pages(c, folio);
    c.k.charge_sw(c, c.k.config().software.swap_read * ((page_size * nr_pages + 4 * KiB - 1) / (4 * KiB)));
    Swap& sw = c.k.swap();
    std::vector<std::uint8_t> bytes(page_size);
    for (unsigned long i = 0; i < nr_pages; ++i) {
        const pgoff_t offset = swp_offset(page_swap_entry(c, folio, folio_page(folio, i)));
        if (!sw.store->read(offset, bytes.data()))
            throw std::logic_error("swap_read_folio: slot " + std::to_string(offset) + " was never written");
        device_memory(c).write((folio_pfn(folio) + i) << c.k.page_shift(), bytes.data(), page_size);
    }
    sw.events.pswpin += nr_pages; // count_vm_events(PSWPIN, ...)
    folio_mark_uptodate(c, folio);
    folio_unlock(c, folio);
}

} // namespace

// mm/page_io.c swap_writeout() (no zswap, no arch_prepare_to_swap() work: MTE tags are not modelled)
int swap_writeout(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "swap_writeout");
    // We may have stale swap cache pages in memory: notice them here and get rid of the unnecessary final
    // write.
    if (folio_free_swap(c, folio)) {
        folio_unlock(c, folio);
        return 0;
    }
    // Use the swap table zero mark to avoid doing IO for zero-filled pages.
    if (is_folio_zero_filled(c, folio)) {
        swap_zeromap_folio_set(c, folio);
        folio_unlock(c, folio);
        return 0;
    }
    // Clear bits this folio occupies in the zeromap to prevent zero data being read in from any previous zero
    // writes that occupied the same swap entries.
    swap_zeromap_folio_clear(c, folio);
    __swap_writepage(c, folio);
    return 0;
}

// mm/page_io.c swap_read_folio() (no zswap, no psi/delayacct)
void swap_read_folio(Ctx& c, Folio folio)
{
    const PhaseScope phase(c, "swap_read_folio");
    const swap_info_struct& si = __swap_entry_to_info(c, folio_swap(c, folio));
    const bool synchronous = c.cpu.load(si.addr + swap_info_struct::OFF_FLAGS, 8) & SWP_SYNCHRONOUS_IO;
    if (!synchronous)
        throw std::logic_error("swap_read_folio: only synchronous swap devices are modelled");
    if (swap_read_folio_zeromap(c, folio)) {
        folio_unlock(c, folio);
        return;
    }
    swap_bdev_submit_read(c, folio); // swap_add_folio(ctx, folio, READ) and its submission
}

// mm/page_io.c swap_zeromap_batch()
unsigned swap_zeromap_batch(Ctx& c, swp_entry_t entry, unsigned max_nr, bool* is_zerop)
{
    const unsigned ci_start = swp_cluster_offset(c, entry);
    const PAddr ci = __swap_entry_to_cluster(c, entry);
    const bool is_zero = __swap_table_test_zero(c, ci, ci_start);
    unsigned i = 1;
    for (; i < max_nr; i++)
        if (is_zero != __swap_table_test_zero(c, ci, ci_start + i))
            break;
    if (is_zerop)
        *is_zerop = is_zero;
    return i;
}

} // namespace mmusim::mm
