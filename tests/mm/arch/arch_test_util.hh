// SPDX-License-Identifier: GPL-2.0-only
// A simulated kernel for the tests of one architecture's mm code (mm/arch/*): the platform from a shipped
// platform file with overrides, the kernel from configs/kernels/default.yaml with overrides, the architecture as
// its own class, and helpers to build a user page table (the descent with table_entry() that __pte_alloc() and
// friends do) and run kernel code on cores.
#pragma once

#include "../../hw/platform/platform_test_util.hh"

#include "mm/kernel.hh"
#include "mm/kernel_config.hh"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim::test {

template <class ArchT>
struct ArchEnv {
    std::unique_ptr<hw::Platform> p; // first: the kernel goes before the platform it runs on
    std::unique_ptr<mm::Kernel> k;

    ArchT& arch() { return static_cast<ArchT&>(k->arch()); }
    const hw::PageTableFormat& fmt() const { return p->format(); }
    std::uint64_t read(PAddr pa) const { return p->inspect().read(pa, 8); }

    // Runs work[i] on core i (each with a kernel context), all in one simulation; rethrows a core's exception.
    void run(const std::vector<std::function<void(mm::Ctx&)>>& work)
    {
        for (unsigned i = 0; i < work.size(); ++i) {
            if (!work[i])
                continue;
            const std::function<void(mm::Ctx&)>& fn = work[i];
            p->core(i).set_work([this, &fn](hw::Core& cpu) {
                mm::Ctx c{*k, cpu};
                fn(c);
            });
        }
        p->run();
    }
    void run(const std::function<void(mm::Ctx&)>& fn) { run(std::vector<std::function<void(mm::Ctx&)>>{fn}); }
};

// `platform` with `platform_sets` (cores=2 unless they say otherwise) and the kernel with `kernel_sets`.
template <class ArchT>
ArchEnv<ArchT> make_arch_env(const std::string& platform, std::vector<std::string> platform_sets = {},
                             const std::vector<std::string>& kernel_sets = {})
{
    platform_sets.insert(platform_sets.begin(), "cores=2");
    ArchEnv<ArchT> e;
    const hw::PlatformConfig pc = platform_config(platform, platform_sets);
    e.p = std::make_unique<hw::Platform>(pc);
    const mm::KernelConfig kc =
        mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml", kernel_sets, pc);
    e.k = std::make_unique<mm::Kernel>(*e.p, kc);
    return e;
}

// The PTE slot for va in mm's tables, allocating missing tables on the way (pte_alloc_map() without the lock).
inline mm::PtePtr pte_alloc_walk(mm::Ctx& c, mm::mm_struct& mm, Addr va)
{
    const hw::PageTableFormat& fmt = c.k.format();
    PAddr table = mm.pgd;
    for (int depth = 0; depth < fmt.levels() - 1; ++depth) {
        const PAddr slot = table + fmt.index(va, depth) * mm::kPteBytes;
        std::uint64_t entry = c.cpu.load(slot, mm::kPteBytes, hw::Category::PteLoad);
        if (entry == 0) {
            const PAddr next = c.k.page_alloc().pagetable_alloc(c, depth + 1);
            entry = c.k.arch().table_entry(depth, next);
            c.cpu.store(slot, entry, mm::kPteBytes, hw::Category::PteStore);
        }
        const hw::Descriptor d = fmt.decode(depth, entry);
        if (d.type != hw::Descriptor::Type::Table)
            throw std::logic_error("pte_alloc_walk: not a table at depth " + std::to_string(depth));
        table = d.oa;
    }
    return table + fmt.index(va, fmt.levels() - 1) * mm::kPteBytes;
}

// A private anonymous writable VMA [start, end) of mm (not in mm.vmas: the arch helpers only need vm_mm).
inline mm::vm_area_struct make_vma(mm::Arch& arch, mm::mm_struct& mm, Addr start, Addr end)
{
    mm::vm_area_struct vma;
    vma.vm_start = start;
    vma.vm_end = end;
    vma.vm_flags = mm::VM_READ | mm::VM_WRITE | mm::VM_MAYREAD | mm::VM_MAYWRITE;
    vma.vm_page_prot = arch.vm_get_page_prot(vma.vm_flags);
    vma.vm_mm = &mm;
    return vma;
}

} // namespace mmusim::test
