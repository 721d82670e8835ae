// SPDX-License-Identifier: GPL-2.0-only
// Software-defined page-table leaf entries (include/linux/leafops.h): a non-present, non-none PTE decoded as
// a softleaf_t (a swp_entry_t) and classified by its swap type: a genuine swap entry (type below
// MAX_SWAPFILES) or one of the special kinds above it (mm/swapops.hh). The port makes genuine swap entries and
// device-exclusive entries (make_device_exclusive(), mm/rmap.hh); the other kinds are classified so that code
// meeting one can refuse it by name, but nothing makes them.
#pragma once

#include "mm/arch/arch.hh"
#include "mm/swapops.hh"

namespace mmusim::mm {

// include/linux/mm_types.h softleaf_t ("Temporary until swp_entry_t eliminated")
using softleaf_t = swp_entry_t;

// include/linux/leafops.h enum softleaf_type
enum softleaf_type {
    SOFTLEAF_NONE,
    SOFTLEAF_SWAP,
    SOFTLEAF_MIGRATION_READ,
    SOFTLEAF_MIGRATION_READ_EXCLUSIVE,
    SOFTLEAF_MIGRATION_WRITE,
    SOFTLEAF_DEVICE_PRIVATE_READ,
    SOFTLEAF_DEVICE_PRIVATE_WRITE,
    SOFTLEAF_DEVICE_EXCLUSIVE,
    SOFTLEAF_HWPOISON,
    SOFTLEAF_MARKER,
};

// include/linux/leafops.h softleaf_mk_none()
inline softleaf_t softleaf_mk_none() { return softleaf_t{0}; }

// include/linux/leafops.h softleaf_from_pte(): none for a present or none PTE, else the entry it encodes
// (Arch::pte_to_swp_entry() ignores the swap-PTE bits, as pte_swp_clear_flags() does)
inline softleaf_t softleaf_from_pte(const Arch& a, pte_t pte)
{
    if (a.pte_present(pte) || a.pte_none(pte))
        return softleaf_mk_none();
    return a.pte_to_swp_entry(pte);
}

// include/linux/leafops.h softleaf_to_pte()
inline pte_t softleaf_to_pte(const Arch& a, softleaf_t entry) { return a.swp_entry_to_pte(entry); }

// include/linux/leafops.h softleaf_is_none()
inline bool softleaf_is_none(softleaf_t entry) { return entry.val == 0; }

// include/linux/leafops.h softleaf_type() (renamed: in C++ the enum above takes the name)
inline softleaf_type softleaf_type_of(softleaf_t entry)
{
    if (softleaf_is_none(entry))
        return SOFTLEAF_NONE;
    const unsigned type_num = swp_type(entry);
    if (type_num < MAX_SWAPFILES)
        return SOFTLEAF_SWAP;
    switch (type_num) {
    case SWP_MIGRATION_READ: return SOFTLEAF_MIGRATION_READ;
    case SWP_MIGRATION_READ_EXCLUSIVE: return SOFTLEAF_MIGRATION_READ_EXCLUSIVE;
    case SWP_MIGRATION_WRITE: return SOFTLEAF_MIGRATION_WRITE;
    case SWP_DEVICE_WRITE: return SOFTLEAF_DEVICE_PRIVATE_WRITE;
    case SWP_DEVICE_READ: return SOFTLEAF_DEVICE_PRIVATE_READ;
    case SWP_DEVICE_EXCLUSIVE: return SOFTLEAF_DEVICE_EXCLUSIVE;
    case SWP_HWPOISON: return SOFTLEAF_HWPOISON;
    case SWP_PTE_MARKER: return SOFTLEAF_MARKER;
    default: return SOFTLEAF_NONE; // Unknown entry type (VM_WARN_ON_ONCE)
    }
}

// include/linux/leafops.h softleaf_is_*()
inline bool softleaf_is_swap(softleaf_t entry) { return softleaf_type_of(entry) == SOFTLEAF_SWAP; }
inline bool softleaf_is_migration(softleaf_t entry)
{
    const softleaf_type t = softleaf_type_of(entry);
    return t == SOFTLEAF_MIGRATION_READ || t == SOFTLEAF_MIGRATION_READ_EXCLUSIVE || t == SOFTLEAF_MIGRATION_WRITE;
}
inline bool softleaf_is_device_private(softleaf_t entry)
{
    const softleaf_type t = softleaf_type_of(entry);
    return t == SOFTLEAF_DEVICE_PRIVATE_WRITE || t == SOFTLEAF_DEVICE_PRIVATE_READ;
}
inline bool softleaf_is_device_exclusive(softleaf_t entry)
{
    return softleaf_type_of(entry) == SOFTLEAF_DEVICE_EXCLUSIVE;
}
inline bool softleaf_is_hwpoison(softleaf_t entry) { return softleaf_type_of(entry) == SOFTLEAF_HWPOISON; }
inline bool softleaf_is_marker(softleaf_t entry) { return softleaf_type_of(entry) == SOFTLEAF_MARKER; }

// include/linux/leafops.h softleaf_has_pfn(): migration, device and hwpoison entries keep a pfn
inline bool softleaf_has_pfn(softleaf_t entry)
{
    return softleaf_is_migration(entry) || softleaf_is_device_private(entry) ||
           softleaf_is_device_exclusive(entry) || softleaf_is_hwpoison(entry);
}

// include/linux/leafops.h softleaf_to_pfn() (and softleaf_to_page(): a page is its pfn in the port)
inline pfn_t softleaf_to_pfn(softleaf_t entry) { return swp_offset(entry) & SWP_PFN_MASK; }
inline pfn_t softleaf_to_page(softleaf_t entry) { return softleaf_to_pfn(entry); }

// The pfn a device-exclusive PTE keeps (pte_t -> softleaf_t -> pfn), for the checkers and tests: none unless
// `pte` is one.
inline bool pte_device_exclusive_pfn(const Arch& a, pte_t pte, pfn_t& pfn)
{
    const softleaf_t entry = softleaf_from_pte(a, pte);
    if (!softleaf_is_device_exclusive(entry))
        return false;
    pfn = softleaf_to_pfn(entry);
    return true;
}

} // namespace mmusim::mm
