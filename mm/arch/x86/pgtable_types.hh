// SPDX-License-Identifier: GPL-2.0-only
// x86-64 PTE bits and protections (arch/x86/include/asm/pgtable_types.h, x86-64 with CONFIG_MEM_SOFT_DIRTY and
// without memory encryption or protection keys), and the L1TF inversion of non-present PTEs
// (arch/x86/include/asm/pgtable-invert.h). hw/pgtable/x86_64_format.cc decodes the same bits as the hardware.
#pragma once

#include "mm/types.hh"

namespace mmusim::mm::x86 {

using pteval_t = std::uint64_t;

constexpr unsigned PAGE_SHIFT = 12;
constexpr std::uint64_t PAGE_SIZE = std::uint64_t{1} << PAGE_SHIFT;
// asm/pgtable_64_types.h (P4D_SHIFT is PGDIR_SHIFT with 4-level paging, where the p4d level is folded)
constexpr unsigned PMD_SHIFT = 21;
constexpr unsigned PUD_SHIFT = 30;
constexpr unsigned P4D_SHIFT = 39;

constexpr unsigned _PAGE_BIT_PRESENT = 0;
constexpr unsigned _PAGE_BIT_RW = 1;
constexpr unsigned _PAGE_BIT_USER = 2;
constexpr unsigned _PAGE_BIT_PWT = 3;
constexpr unsigned _PAGE_BIT_PCD = 4;
constexpr unsigned _PAGE_BIT_ACCESSED = 5;
constexpr unsigned _PAGE_BIT_DIRTY = 6;
constexpr unsigned _PAGE_BIT_PSE = 7;
constexpr unsigned _PAGE_BIT_PAT = 7;
constexpr unsigned _PAGE_BIT_GLOBAL = 8;
constexpr unsigned _PAGE_BIT_SOFTW1 = 9;
constexpr unsigned _PAGE_BIT_SOFTW2 = 10;
constexpr unsigned _PAGE_BIT_SOFTW3 = 11;
constexpr unsigned _PAGE_BIT_PAT_LARGE = 12;
constexpr unsigned _PAGE_BIT_SOFTW4 = 57;
constexpr unsigned _PAGE_BIT_SOFTW5 = 58;
constexpr unsigned _PAGE_BIT_PKEY_BIT0 = 59;
constexpr unsigned _PAGE_BIT_NX = 63;
constexpr unsigned _PAGE_BIT_SPECIAL = _PAGE_BIT_SOFTW1;
constexpr unsigned _PAGE_BIT_UFFD_WP = _PAGE_BIT_SOFTW2;
constexpr unsigned _PAGE_BIT_SOFT_DIRTY = _PAGE_BIT_SOFTW3;
constexpr unsigned _PAGE_BIT_SAVED_DIRTY = _PAGE_BIT_SOFTW5; // x86-64
constexpr unsigned _PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL;    // when _PAGE_PRESENT is clear

constexpr pteval_t bit(unsigned b) { return pteval_t{1} << b; }

constexpr pteval_t _PAGE_PRESENT = bit(_PAGE_BIT_PRESENT);
constexpr pteval_t _PAGE_RW = bit(_PAGE_BIT_RW);
constexpr pteval_t _PAGE_USER = bit(_PAGE_BIT_USER);
constexpr pteval_t _PAGE_PWT = bit(_PAGE_BIT_PWT);
constexpr pteval_t _PAGE_PCD = bit(_PAGE_BIT_PCD);
constexpr pteval_t _PAGE_ACCESSED = bit(_PAGE_BIT_ACCESSED);
constexpr pteval_t _PAGE_DIRTY = bit(_PAGE_BIT_DIRTY);
constexpr pteval_t _PAGE_PSE = bit(_PAGE_BIT_PSE);
constexpr pteval_t _PAGE_GLOBAL = bit(_PAGE_BIT_GLOBAL);
constexpr pteval_t _PAGE_SOFTW1 = bit(_PAGE_BIT_SOFTW1);
constexpr pteval_t _PAGE_SOFTW2 = bit(_PAGE_BIT_SOFTW2);
constexpr pteval_t _PAGE_SOFTW3 = bit(_PAGE_BIT_SOFTW3);
constexpr pteval_t _PAGE_SOFTW4 = bit(_PAGE_BIT_SOFTW4);
constexpr pteval_t _PAGE_PAT = bit(_PAGE_BIT_PAT);
constexpr pteval_t _PAGE_PAT_LARGE = bit(_PAGE_BIT_PAT_LARGE);
constexpr pteval_t _PAGE_SPECIAL = bit(_PAGE_BIT_SPECIAL);
constexpr pteval_t _PAGE_PKEY_BIT0 = bit(_PAGE_BIT_PKEY_BIT0);
constexpr pteval_t _PAGE_PKEY_BIT1 = bit(_PAGE_BIT_PKEY_BIT0 + 1);
constexpr pteval_t _PAGE_PKEY_BIT2 = bit(_PAGE_BIT_PKEY_BIT0 + 2);
constexpr pteval_t _PAGE_PKEY_BIT3 = bit(_PAGE_BIT_PKEY_BIT0 + 3);
constexpr pteval_t _PAGE_KNL_ERRATUM_MASK = _PAGE_DIRTY | _PAGE_ACCESSED;
constexpr pteval_t _PAGE_SOFT_DIRTY = bit(_PAGE_BIT_SOFT_DIRTY);
constexpr pteval_t _PAGE_UFFD_WP = bit(_PAGE_BIT_UFFD_WP);
constexpr pteval_t _PAGE_NX = bit(_PAGE_BIT_NX);
constexpr pteval_t _PAGE_SAVED_DIRTY = bit(_PAGE_BIT_SAVED_DIRTY);
constexpr pteval_t _PAGE_DIRTY_BITS = _PAGE_DIRTY | _PAGE_SAVED_DIRTY;
constexpr pteval_t _PAGE_PROTNONE = bit(_PAGE_BIT_PROTNONE);

// Swap PTEs (asm/pgtable_64_types.h, asm/pgtable_types.h): bit 3 remembers PG_anon_exclusive, bit 1 the
// soft-dirty bit, bit 2 uffd-wp (not in the port).
constexpr pteval_t _PAGE_SWP_EXCLUSIVE = _PAGE_PWT;
constexpr pteval_t _PAGE_SWP_SOFT_DIRTY = _PAGE_RW;
constexpr pteval_t _PAGE_SWP_UFFD_WP = _PAGE_USER;

// asm/pgtable_64.h swap entries:
//   | TYPE (59-63) | ~OFFSET (9-58) |0|0|X|X| X| E|F|SD|0|
// G (8) is the PROT_NONE marker of non-present entries and L (7) is tested by pmd_present(), so the offset
// starts at bit 9. The offset is stored inverted (L1TF, as every non-present entry's pfn bits), so that the
// PTE of a low offset does not name low physical memory to a speculative walk.
constexpr unsigned SWP_TYPE_BITS = 5;
constexpr unsigned SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1;
constexpr unsigned SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS;

// __PHYSICAL_MASK_SHIFT = 52: the pfn is bits 51:12 (PTE_PFN_MASK = PHYSICAL_PAGE_MASK).
constexpr unsigned __PHYSICAL_MASK_SHIFT = 52;
constexpr pteval_t PTE_PFN_MASK = ((pteval_t{1} << __PHYSICAL_MASK_SHIFT) - 1) & ~(PAGE_SIZE - 1);
constexpr pteval_t PTE_FLAGS_MASK = ~PTE_PFN_MASK;
// PHYSICAL_PMD_PAGE_MASK: the pfn of a 2M leaf, bits 51:21 (bit 12 is its PAT bit)
constexpr pteval_t PHYSICAL_PMD_PAGE_MASK = ((pteval_t{1} << __PHYSICAL_MASK_SHIFT) - 1) & ~((pteval_t{1} << PMD_SHIFT) - 1);

// Bits pte_modify() keeps (_PAGE_CC is 0 without memory encryption).
constexpr pteval_t _COMMON_PAGE_CHG_MASK = PTE_PFN_MASK | _PAGE_PCD | _PAGE_PWT | _PAGE_SPECIAL | _PAGE_ACCESSED |
                                           _PAGE_DIRTY_BITS | _PAGE_SOFT_DIRTY | _PAGE_UFFD_WP;
constexpr pteval_t _PAGE_CHG_MASK = _COMMON_PAGE_CHG_MASK | _PAGE_PAT;

constexpr pteval_t __PP = _PAGE_PRESENT, __RW = _PAGE_RW, _USR = _PAGE_USER, ___A = _PAGE_ACCESSED,
                   ___D = _PAGE_DIRTY, ___G = _PAGE_GLOBAL, __NX = _PAGE_NX;

constexpr pgprot_t PAGE_NONE{___A | ___G}; // ___G is _PAGE_PROTNONE here
constexpr pgprot_t PAGE_SHARED{__PP | __RW | _USR | ___A | __NX};
constexpr pgprot_t PAGE_SHARED_EXEC{__PP | __RW | _USR | ___A};
constexpr pgprot_t PAGE_COPY_NOEXEC{__PP | _USR | ___A | __NX};
constexpr pgprot_t PAGE_COPY_EXEC{__PP | _USR | ___A};
constexpr pgprot_t PAGE_COPY{__PP | _USR | ___A | __NX};
constexpr pgprot_t PAGE_READONLY{__PP | _USR | ___A | __NX};
constexpr pgprot_t PAGE_READONLY_EXEC{__PP | _USR | ___A};

// Tables need Write=1 for any PTE below them to be writable.
constexpr pteval_t _PAGE_TABLE = __PP | __RW | _USR | ___A | ___D;

inline pteval_t pte_flags(pte_t pte) { return pte.val & PTE_FLAGS_MASK; }

// arch/x86/include/asm/pgtable-invert.h __pte_needs_invert(): a non-present, non-zero PTE has its pfn inverted
// (L1TF), so that a speculative walk of it reaches no real memory.
inline bool __pte_needs_invert(std::uint64_t val) { return val && !(val & _PAGE_PRESENT); }
// arch/x86/include/asm/pgtable-invert.h protnone_mask()
inline std::uint64_t protnone_mask(std::uint64_t val) { return __pte_needs_invert(val) ? ~std::uint64_t{0} : 0; }
// arch/x86/include/asm/pgtable-invert.h flip_protnone_guard()
inline std::uint64_t flip_protnone_guard(std::uint64_t oldval, std::uint64_t val, std::uint64_t mask)
{
    if (__pte_needs_invert(oldval) != __pte_needs_invert(val))
        val = (val & ~mask) | (~val & mask);
    return val;
}

} // namespace mmusim::mm::x86
