// SPDX-License-Identifier: GPL-2.0-only
// A platform as configured in configs/platforms/*.yaml: hardware only. Cores, clock, the features it has,
// page-table format, MMU geometry, cache hierarchy, memory and every TLB-maintenance cost. What the kernel
// does on it (folio size, fault-handling software costs, later the batching switches) is the kernel
// configuration, mm/kernel_config.hh. docs/CONFIG.md documents each key.
#pragma once

#include "hw/core/core_costs.hh"
#include "hw/interconnect/maintenance_costs.hh"
#include "hw/platform/features.hh"
#include "hw/mem/memory_system.hh"
#include "hw/mmu/mmu.hh"
#include "hw/pgtable/format.hh"

#include <nlohmann/json.hpp>

#include <string>

namespace mmusim {
class ConfigNode;
}

namespace mmusim::hw {

struct PlatformConfig {
    std::string name;
    std::string description;
    std::string source; // file it came from
    Arch arch = Arch::Arm64;
    Features features;
    unsigned cores = 1;
    double frequency_ghz = 2.0;
    std::string format = "arm64";
    FormatOptions format_options;
    MmuConfig mmu;
    MemorySystemConfig memory;
    MaintenanceCosts costs;
    CoreCosts core;     // atomics, lock spinning, page clear/copy bandwidth
    Cycles quantum_cycles = 10000;
    bool check = false; // checked mode: the TLB oracle compares TLBs with the page tables (slower)
};

// Reads and validates a platform document (any unknown key, wrong type or out-of-range value throws
// ConfigError naming file, line and key). Checks the format exists and its options are valid.
PlatformConfig load_platform(const ConfigNode& root);
// Loads a file, applies --set overrides, validates. Throws ConfigError.
PlatformConfig load_platform_file(const std::string& path, const std::vector<std::string>& overrides = {});

// Every parameter in effect, for reports.
nlohmann::ordered_json to_json(const PlatformConfig& p);

} // namespace mmusim::hw
