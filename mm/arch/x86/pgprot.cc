// SPDX-License-Identifier: GPL-2.0-only
// arch/x86/mm/pgprot.c: the protections a VMA's flags give its PTEs. A private writable mapping gets PAGE_COPY,
// without _PAGE_RW: the write fault makes each PTE writable (maybe_mkwrite) or copies the page first.
#include "mm/arch/x86/pgtable.hh"

#include <array>

namespace mmusim::mm {

using namespace x86;

namespace {

// arch/x86/mm/pgprot.c protection_map[], indexed by VM_READ | VM_WRITE | VM_EXEC | VM_SHARED.
constexpr std::array<pgprot_t, 16> protection_map = {
    PAGE_NONE,          // VM_NONE
    PAGE_READONLY,      // VM_READ
    PAGE_COPY,          // VM_WRITE
    PAGE_COPY,          // VM_WRITE | VM_READ
    PAGE_READONLY_EXEC, // VM_EXEC
    PAGE_READONLY_EXEC, // VM_EXEC | VM_READ
    PAGE_COPY_EXEC,     // VM_EXEC | VM_WRITE
    PAGE_COPY_EXEC,     // VM_EXEC | VM_WRITE | VM_READ
    PAGE_NONE,          // VM_SHARED
    PAGE_READONLY,      // VM_SHARED | VM_READ
    PAGE_SHARED,        // VM_SHARED | VM_WRITE
    PAGE_SHARED,        // VM_SHARED | VM_WRITE | VM_READ
    PAGE_READONLY_EXEC, // VM_SHARED | VM_EXEC
    PAGE_READONLY_EXEC, // VM_SHARED | VM_EXEC | VM_READ
    PAGE_SHARED_EXEC,   // VM_SHARED | VM_EXEC | VM_WRITE
    PAGE_SHARED_EXEC,   // VM_SHARED | VM_EXEC | VM_WRITE | VM_READ
};

static_assert(VM_READ == 1 && VM_WRITE == 2 && VM_EXEC == 4 && VM_SHARED == 8, "protection_map index");

} // namespace

// arch/x86/mm/pgprot.c vm_get_page_prot() (no protection keys, no memory encryption: every bit is supported).
pgprot_t X86::vm_get_page_prot(vm_flags_t vm_flags) const
{
    return protection_map[vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)];
}

} // namespace mmusim::mm
