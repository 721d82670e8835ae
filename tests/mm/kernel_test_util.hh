// SPDX-License-Identifier: GPL-2.0-only
// A simulated kernel on a small platform for the mm tests: the platform from a shipped platform file, the
// kernel from configs/kernels/default.yaml with overrides, and kernel code run on a core thread.
#pragma once

#include "../hw/platform/platform_test_util.hh"

#include "hw/pgtable/walk_down.hh"
#include "mm/kernel.hh"
#include "mm/memory.hh"

#include <gtest/gtest.h>

#include <stdexcept>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim::test {

struct TestKernel {
    std::unique_ptr<hw::Platform> p; // declared first: the kernel goes before the platform it runs on
    std::unique_ptr<mm::Kernel> k;

    // Runs fn on `core` with a kernel context, to completion (rethrows what it throws). Work for several
    // cores at once goes through set_work() on each, then p->run().
    void run(unsigned core, const std::function<void(mm::Ctx&)>& fn)
    {
        p->core(core).set_work([&](hw::Core& cpu) {
            mm::Ctx c{*k, cpu};
            fn(c);
        });
        p->run();
    }
    void run(const std::function<void(mm::Ctx&)>& fn) { run(0, fn); }
    std::uint64_t read(PAddr pa, unsigned size) const { return p->inspect().read(pa, size); }
};

inline TestKernel make_kernel(const std::string& platform, std::vector<std::string> platform_sets = {},
                              const std::vector<std::string>& kernel_sets = {})
{
    if (platform_sets.empty())
        platform_sets.push_back("cores=2");
    TestKernel t;
    const hw::PlatformConfig pc = platform_config(platform, platform_sets);
    t.p = std::make_unique<hw::Platform>(pc);
    mm::KernelConfig kc =
        mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml", kernel_sets, pc);
    t.k = std::make_unique<mm::Kernel>(*t.p, kc);
    return t;
}

// The port has no context switch: running an mm on a core means its ASID and root in the MMU and the core
// in mm_cpumask() (what switch_mm() leaves behind).
inline void use_mm(mm::Ctx& c, mm::mm_struct& mm)
{
    c.cpu.mmu().set_context(mm.asid, mm.pgd);
    mm.cpumask.set(c.cpu.id());
}

// A user access by the core to va of mm: translated by the MMU; a fault goes to the kernel's fault handler and
// the access is retried. Returns the physical address. Throws if the kernel cannot resolve the fault.
inline PAddr user_access(mm::Ctx& c, mm::mm_struct& mm, Addr va, AccessKind kind)
{
    use_mm(c, mm);
    for (int attempt = 0; attempt < 4; ++attempt) {
        const hw::Translation t = c.cpu.translate(va, kind);
        if (t.fault == hw::Fault::None)
            return t.pa;
        const mm::vm_fault_t r = mm::do_page_fault(c, mm, va, kind);
        if (r & (mm::VM_FAULT_SIGSEGV | mm::VM_FAULT_SIGBUS | mm::VM_FAULT_OOM))
            throw std::runtime_error("user access faulted fatally at " + std::to_string(va));
    }
    throw std::runtime_error("user access keeps faulting at " + std::to_string(va));
}

// The leaf descriptor mapping va in mm, read untimed (0 if none).
inline std::uint64_t leaf_raw(const TestKernel& t, const mm::mm_struct& mm, Addr va)
{
    const hw::PhysInspector in = t.p->inspect();
    const hw::WalkStep s = hw::walk_down(t.k->format(), mm.pgd, va, [&](PAddr pa) { return in.read64(pa); });
    return s.leaf() ? s.raw : 0;
}
inline hw::Descriptor leaf_desc(const TestKernel& t, const mm::mm_struct& mm, Addr va)
{
    const hw::PhysInspector in = t.p->inspect();
    const hw::WalkStep s = hw::walk_down(t.k->format(), mm.pgd, va, [&](PAddr pa) { return in.read64(pa); });
    return s.d;
}
inline long rss(const TestKernel& t, const mm::mm_struct& mm, mm::MmCounter m)
{
    return static_cast<long>(t.read(mm.rss_addr(m), 8));
}

// A test run on each platform its parameter names ("neoverse-n1", "skylake-sp", ...); make() boots its kernel.
class PlatformTest : public ::testing::TestWithParam<const char*> {
protected:
    TestKernel make(std::vector<std::string> sets = {}, const std::vector<std::string>& kernel_sets = {})
    {
        return make_kernel(GetParam(), std::move(sets), kernel_sets);
    }
};

// The platform parameter as a test name (gtest names take no '-').
inline std::string platform_name(const ::testing::TestParamInfo<const char*>& i)
{
    std::string s = i.param;
    for (char& ch : s)
        if (ch == '-')
            ch = '_';
    return s;
}

} // namespace mmusim::test
