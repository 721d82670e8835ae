// SPDX-License-Identifier: GPL-2.0-only
#include "hw/platform/platform.hh"

#include "hw/pgtable/format_registry.hh"

#include <cmath>

namespace mmusim::hw {

Platform::Platform(PlatformConfig cfg) : cfg_(std::move(cfg))
{
    fmt_ = FormatRegistry::instance().create(cfg_.format, cfg_.format_options);
    // A whole number of picoseconds per cycle keeps cycles <-> sc_time conversions exact.
    cycle_ = sc_core::sc_time(std::max(1.0, std::round(1000.0 / cfg_.frequency_ghz)), sc_core::SC_PS);
    tlm_utils::tlm_quantumkeeper::set_global_quantum(cycle_ * static_cast<double>(cfg_.quantum_cycles));
    mem_ = std::make_unique<MemorySystem>("memory", cfg_.memory, cfg_.cores, cycle_);
    ic_ = std::make_unique<Interconnect>(cfg_.costs, *fmt_, cfg_.features);
    for (unsigned i = 0; i < cfg_.cores; ++i) {
        cores_.push_back(std::make_unique<Core>(("core" + std::to_string(i)).c_str(), i, cfg_.mmu, *fmt_, *ic_, cycle_,
                                                cfg_.quantum_cycles, cfg_.core));
        cores_.back()->socket.bind(mem_->socket);
        ic_->attach(*cores_.back());
    }
    std::vector<const Mmu*> mmus;
    for (auto& c : cores_)
        mmus.push_back(&c->mmu());
    oracle_ = std::make_unique<TlbOracle>(*fmt_, cfg_.mmu.walker, mem_->memory(), std::move(mmus));
}

Platform::~Platform() = default;

void Platform::run()
{
    sc_core::sc_start();
    // A core whose work threw stopped the simulation; hand its exception (with its type) to the caller.
    for (auto& c : cores_)
        if (c->error())
            std::rethrow_exception(c->error());
}

} // namespace mmusim::hw
