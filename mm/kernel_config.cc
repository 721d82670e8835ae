// SPDX-License-Identifier: GPL-2.0-only
#include "mm/kernel_config.hh"

#include "hw/pgtable/format_registry.hh"
#include "hw/platform/platform_config.hh"
#include "util/config_node.hh"

namespace mmusim::mm {

namespace {

constexpr Cycles kMaxCost = 100'000'000;

// What the kernel configuration asks of the hardware. A switch that needs a feature the platform lacks
// fails here, naming both, e.g. for kernel.use_tlbi_range:
//   if (k.use_tlbi_range && !p.features.arm64.tlbi_range) n.fail("use_tlbi_range", "needs FEAT_TLBIRANGE ...");
void check_platform(const ConfigNode& n, const KernelConfig& k, const hw::PlatformConfig& p)
{
    const auto fmt = hw::FormatRegistry::instance().create(p.format, p.format_options);
    if (k.folio_size < fmt->page_size())
        n.fail("folio_size", "folio_size " + format_size(k.folio_size) + " is smaller than the page size " +
                                 format_size(fmt->page_size()) + " of platform " + p.name);
}

} // namespace

KernelConfig load_kernel(const ConfigNode& root, const hw::PlatformConfig& platform)
{
    KernelConfig k;
    k.source = root.origin_file();
    const ConfigNode n = root.child("kernel");
    k.name = n.str("name");
    k.folio_size = n.size("folio_size", 4 * KiB);
    if (!is_pow2(k.folio_size) || k.folio_size < 4 * KiB || k.folio_size > 1 * GiB)
        n.fail("folio_size", "must be a power of two between 4K and 1G");
    const ConfigNode sw = n.child("software");
    k.software.fault_entry = sw.u64("fault_entry", 0, kMaxCost);
    if (sw.has("clear_bytes_per_cycle"))
        sw.fail("clear_bytes_per_cycle", "page clearing is done by the hardware: memory.clear_bytes_per_cycle in the platform");
    check_platform(n, k, platform);
    return k;
}

KernelConfig load_kernel_file(const std::string& path, const std::vector<std::string>& overrides,
                              const hw::PlatformConfig& platform)
{
    ConfigNode root = ConfigNode::load_file(path);
    for (const std::string& o : overrides)
        root.apply_override(o);
    KernelConfig k = load_kernel(root, platform);
    root.finish();
    return k;
}

nlohmann::ordered_json to_json(const KernelConfig& k)
{
    nlohmann::ordered_json j;
    j["name"] = k.name;
    j["source"] = k.source;
    j["folio_size"] = format_size(k.folio_size);
    j["software"] = {{"fault_entry", k.software.fault_entry}};
    return j;
}

} // namespace mmusim::mm
