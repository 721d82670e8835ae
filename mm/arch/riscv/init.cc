// SPDX-License-Identifier: GPL-2.0-only
// arch/riscv/mm/init.c: the VM_* flags -> PTE protection table. A private writable mapping gets PAGE_COPY
// (PAGE_READ): read-only until the write fault makes each PTE writable (maybe_mkwrite) or copies the page.
// Every present protection carries _PAGE_ACCESSED (_PAGE_BASE), so that a hart without Svadu takes no
// access-bit fault on a fresh mapping.
#include "mm/arch/riscv/pgtable.hh"

#include <array>

namespace mmusim::mm {

using namespace riscv;

namespace {

// arch/riscv/mm/init.c protection_map[] (DECLARE_VM_GET_PAGE_PROT), indexed by VM_READ | VM_WRITE | VM_EXEC |
// VM_SHARED. The Zicfiss tree maps VM_WRITE alone to PAGE_SHADOWSTACK (and mmap turns PROT_WRITE into
// VM_READ | VM_WRITE, arch_calc_vm_prot_bits()); shadow stacks are not modelled, so VM_WRITE is PAGE_COPY as
// on a kernel without CONFIG_RISCV_USER_CFI.
constexpr std::array<pgprot_t, 16> protection_map = {
    PAGE_NONE,        // VM_NONE
    PAGE_READ,        // VM_READ
    PAGE_COPY,        // VM_WRITE
    PAGE_COPY,        // VM_WRITE | VM_READ
    PAGE_EXEC,        // VM_EXEC
    PAGE_READ_EXEC,   // VM_EXEC | VM_READ
    PAGE_COPY_EXEC,   // VM_EXEC | VM_WRITE
    PAGE_COPY_EXEC,   // VM_EXEC | VM_WRITE | VM_READ
    PAGE_NONE,        // VM_SHARED
    PAGE_READ,        // VM_SHARED | VM_READ
    PAGE_SHARED,      // VM_SHARED | VM_WRITE
    PAGE_SHARED,      // VM_SHARED | VM_WRITE | VM_READ
    PAGE_EXEC,        // VM_SHARED | VM_EXEC
    PAGE_READ_EXEC,   // VM_SHARED | VM_EXEC | VM_READ
    PAGE_SHARED_EXEC, // VM_SHARED | VM_EXEC | VM_WRITE
    PAGE_SHARED_EXEC, // VM_SHARED | VM_EXEC | VM_WRITE | VM_READ
};

static_assert(VM_READ == 1 && VM_WRITE == 2 && VM_EXEC == 4 && VM_SHARED == 8, "protection_map index");

} // namespace

// include/linux/pgtable.h DECLARE_VM_GET_PAGE_PROT: vm_get_page_prot()
pgprot_t Riscv::vm_get_page_prot(vm_flags_t vm_flags) const
{
    return protection_map[vm_flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED)];
}

} // namespace mmusim::mm
