// SPDX-License-Identifier: GPL-2.0-only
// Swap I/O (mm/page_io.c) to the port's swap device (mm/swapfile.hh): a zram-like synchronous block device
// whose data is kept host-side per slot.
//
// Writing (swap_writeout()): a zero-filled folio is only marked in the swap table (the zeromap: no I/O, and
// reading it back is clearing the folio); any other folio is put under writeback and submitted as one bio,
// whose block-layer submission is charged from software.swap_submit; the device takes the bytes at once, and
// the completion (end_page_writeback()) follows without the core waiting for the device: the issue this port
// serves times reclaim against a fast swap device whose writes complete asynchronously. (Upstream a
// SWP_SYNCHRONOUS_IO device like zram completes its writes synchronously; its compression time is what
// software.swap_submit would then have to stand for.)
//
// Reading (swap_read_folio()): from a SWP_SYNCHRONOUS_IO device the read completes before the fault goes on,
// charged from software.swap_read per 4 KiB; the bytes land in the folio as a device would write them
// (untimed: the folio's lines are not brought into any cache).
#pragma once

#include "mm/swapops.hh"
#include "mm/page.hh"

namespace mmusim::mm {

// mm/page_io.c swap_writeout(): writes a locked swap-cache folio to its slots (its lock released). 0.
int swap_writeout(Ctx& c, Folio folio);
// mm/page_io.c swap_read_folio(): reads a locked folio, new in the swap cache and not uptodate, from its slots;
// it comes back uptodate and unlocked.
void swap_read_folio(Ctx& c, Folio folio);
// mm/page_io.c swap_zeromap_batch(): how many slots from `entry` (up to max_nr, within one cluster) share the
// zero mark of the first; *is_zerop gets that mark
unsigned swap_zeromap_batch(Ctx& c, swp_entry_t entry, unsigned max_nr, bool* is_zerop);

} // namespace mmusim::mm
