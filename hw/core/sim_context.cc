// SPDX-License-Identifier: GPL-2.0-only
#include "hw/core/sim_context.hh"

#include <systemc>

#include <cstdlib>

namespace mmusim::hw {

SimContext::SimContext()
{
    // The banner would land in every report and test log.
    ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    ctx_ = std::make_unique<sc_core::sc_simcontext>();
    sc_core::sc_curr_simcontext = ctx_.get();
    sc_core::sc_default_global_context = ctx_.get();
    // SystemC's info messages ("Simulation stopped by user" when a failing core stops the run) are noise
    // next to mmusim's own error message.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
}

SimContext::~SimContext()
{
    sc_core::sc_curr_simcontext = nullptr;
    sc_core::sc_default_global_context = nullptr;
}

} // namespace mmusim::hw

// libsystemc's own main() calls sc_main; mmusim and its tests have their own main(), so this is never run.
int sc_main(int, char**) { return 1; }
