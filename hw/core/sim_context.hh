// SPDX-License-Identifier: GPL-2.0-only
// A fresh SystemC kernel for one simulation. SystemC keeps its kernel in a global; giving each simulation
// its own sc_simcontext lets one process (a sweep, the test suite) run many independent simulations.
// Construct it before any sc_module of the simulation and destroy it after them.
#pragma once

#include <memory>

namespace sc_core {
class sc_simcontext;
}

namespace mmusim::hw {

class SimContext {
public:
    SimContext();
    ~SimContext();
    SimContext(const SimContext&) = delete;
    SimContext& operator=(const SimContext&) = delete;

private:
    std::unique_ptr<sc_core::sc_simcontext> ctx_;
};

} // namespace mmusim::hw
