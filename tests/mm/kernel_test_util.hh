// SPDX-License-Identifier: GPL-2.0-only
// A simulated kernel on a small platform for the mm tests: the platform from a shipped platform file, the
// kernel from configs/kernels/default.yaml with overrides, and kernel code run on a core thread.
#pragma once

#include "../hw/platform/platform_test_util.hh"

#include "mm/kernel.hh"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim::test {

struct TestKernel {
    std::unique_ptr<hw::Platform> p; // declared first: the kernel goes before the platform it runs on
    std::unique_ptr<mm::Kernel> k;

    // Runs fn on `core` with a kernel context, to completion (rethrows what it throws). A platform runs
    // once: every phase of a test goes in one fn (or one fn per core, started together with set_work()).
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

} // namespace mmusim::test
