// SPDX-License-Identifier: GPL-2.0-only
#include "hw/core/cost_category.hh"

namespace mmusim::hw {

const char* to_string(Category c)
{
    switch (c) {
    case Category::Translation: return "translation";
    case Category::FaultEntry: return "fault_entry";
    case Category::PteLoad: return "pte_load";
    case Category::PteStore: return "pte_store";
    case Category::PteAtomic: return "pte_atomic";
    case Category::StructPage: return "struct_page";
    case Category::KernelMemory: return "kernel_memory";
    case Category::ClearPage: return "clear_page";
    case Category::Lock: return "lock";
    case Category::Tlbi: return "tlbi";
    case Category::Dsb: return "dsb";
    case Category::TlbiReceive: return "tlbi_receive";
    case Category::Barrier: return "barrier";
    case Category::IpiSend: return "ipi_send";
    case Category::IpiWait: return "ipi_wait";
    case Category::IpiHandler: return "ipi_handler";
    case Category::Software: return "software";
    case Category::Count: break;
    }
    return "?";
}

} // namespace mmusim::hw
