// SPDX-License-Identifier: GPL-2.0-only
// The kernel configuration: what the simulated Linux does on a platform, as opposed to what the hardware is
// (hw/platform/platform_config.hh). One YAML map `kernel:` (configs/kernels/*.yaml, default.yaml unless
// `--kernel` names another; docs/CONFIG.md). Today it holds the replay fault handler's folio size and its
// software costs; the port's switches (kernel.pte_batch, kernel.max_pte_batch, kernel.contpte,
// kernel.use_tlbi_range, ...) join here as fields, each read in load_kernel() and, when it needs a hardware
// feature, checked against the platform in check_platform() (kernel_config.cc).
#pragma once

#include "hw/common/types.hh"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace mmusim {
class ConfigNode;
}

namespace mmusim::hw {
struct PlatformConfig;
}

namespace mmusim::mm {

// Software work that is no memory access, charged per event (DESIGN.md: named by what it stands for).
struct SoftwareCosts {
    Cycles fault_entry = 0;                   // exception entry + handler dispatch + return, per page fault
};

struct KernelConfig {
    std::string name;
    std::string source;                 // file it came from
    std::uint64_t folio_size = 4 * KiB; // replay demand paging: bytes mapped per fault
    SoftwareCosts software;
};

// Reads and validates root's `kernel:` map for `platform` (a value the platform cannot run, such as a folio
// smaller than its page, or a switch needing a feature it lacks, is an error). Throws ConfigError.
KernelConfig load_kernel(const ConfigNode& root, const hw::PlatformConfig& platform);
// Loads a file, applies overrides ("kernel.folio_size=2M"), validates. Throws ConfigError.
KernelConfig load_kernel_file(const std::string& path, const std::vector<std::string>& overrides,
                              const hw::PlatformConfig& platform);

// Every parameter in effect, for reports.
nlohmann::ordered_json to_json(const KernelConfig& k);

} // namespace mmusim::mm
