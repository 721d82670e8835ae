// SPDX-License-Identifier: GPL-2.0-only
// arch/arm64/mm/mmap.c: the VM_* flags -> PTE protection table.
#include "mm/arch/arm64/pgtable.hh"

#include <array>

namespace mmusim::mm {

using namespace arm64;

namespace {

// arch/arm64/mm/mmap.c protection_map[]: a private writable mapping is read-only until the write fault
// (copy-on-write); PROT_EXEC alone is readable because Enhanced PAN (PAGE_EXECONLY) is not assumed, and
// PTE_SHARED stays because LPA2 is off (adjust_protection_map()).
constexpr std::array<pgprot_t, 16> protection_map = {
    PAGE_NONE,          // VM_NONE
    PAGE_READONLY,      // VM_READ
    PAGE_READONLY,      // VM_WRITE
    PAGE_READONLY,      // VM_WRITE | VM_READ
    PAGE_READONLY_EXEC, // VM_EXEC
    PAGE_READONLY_EXEC, // VM_EXEC | VM_READ
    PAGE_READONLY_EXEC, // VM_EXEC | VM_WRITE
    PAGE_READONLY_EXEC, // VM_EXEC | VM_WRITE | VM_READ
    PAGE_NONE,          // VM_SHARED
    PAGE_READONLY,      // VM_SHARED | VM_READ
    PAGE_SHARED,        // VM_SHARED | VM_WRITE
    PAGE_SHARED,        // VM_SHARED | VM_WRITE | VM_READ
    PAGE_READONLY_EXEC, // VM_SHARED | VM_EXEC
    PAGE_READONLY_EXEC, // VM_SHARED | VM_EXEC | VM_READ
    PAGE_SHARED_EXEC,   // VM_SHARED | VM_EXEC | VM_WRITE
    PAGE_SHARED_EXEC,   // VM_SHARED | VM_EXEC | VM_WRITE | VM_READ
};

} // namespace

// arch/arm64/mm/mmap.c vm_get_page_prot(): BTI (PTE_GP), MTE and POE pkeys are not modelled.
pgprot_t Arm64::vm_get_page_prot(vm_flags_t flags) const
{
    return protection_map[flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)];
}

} // namespace mmusim::mm
