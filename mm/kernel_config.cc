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
    if (k.swap_size && k.swap_size < 2 * fmt->page_size())
        n.fail("swap_size", "swap_size " + format_size(k.swap_size) +
                                " is less than two pages (the header and one slot) of platform " + p.name);
    if (k.folio_size < fmt->page_size())
        n.fail("folio_size", "folio_size " + format_size(k.folio_size) + " is smaller than the page size " +
                                 format_size(fmt->page_size()) + " of platform " + p.name);
    // Anonymous memory is mapped by PTEs (mTHP) or at most one PMD leaf (a PMD-sized THP): Linux has no
    // anonymous PUD-sized THP (1G pages are hugetlbfs, not ported).
    const std::uint64_t pmd_size = std::uint64_t{1} << fmt->level(fmt->levels() - 2).shift;
    if (k.folio_size > pmd_size)
        n.fail("folio_size", "folio_size " + format_size(k.folio_size) + " is larger than the PMD size " +
                                 format_size(pmd_size) + " of platform " + p.name + " (" + fmt->name() + " " + fmt->variant() +
                                 "): Linux maps anonymous folios with at most a PMD (no anonymous PUD-sized THP; "
                                 "1G pages are hugetlbfs, not ported)");
    // A switch that needs a feature is only an error when set explicitly: its default follows the platform.
    const auto needs = [&](const char* key, bool on, bool have, const char* feature) {
        if (on && !have && n.has(key))
            n.fail(key, std::string(key) + ": platform " + p.name + " has no " + feature);
    };
    needs("use_tlbi_range", k.switches.use_tlbi_range, p.features.arm64.tlbi_range, "FEAT_TLBIRANGE");
    needs("use_bbml2", k.switches.use_bbml2, p.features.arm64.bbml2_noabort, "BBML2_NOABORT");
    needs("use_invlpgb", k.switches.use_invlpgb, p.features.x86.invlpgb, "INVLPGB");
    if (n.has("contpte") && k.switches.contpte && p.arch != Arch::Arm64)
        n.fail("contpte", "contpte: arm64 only; platform " + p.name + " is not arm64");
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
    k.swap_size = n.size("swap_size", 1 * GiB);
    if (k.swap_size > 1024 * GiB)
        n.fail("swap_size", "must be at most 1T (0 for no swap)");
    const ConfigNode sw = n.child("software");
    k.software.fault_entry = sw.u64("fault_entry", 0, kMaxCost);
    k.software.syscall_entry = sw.u64("syscall_entry", 0, kMaxCost);
    k.software.vma_lookup = sw.u64("vma_lookup", 0, kMaxCost);
    k.software.vma_modify = sw.u64("vma_modify", 0, kMaxCost);
    k.software.pte_loop = sw.u64("pte_loop", 0, kMaxCost);
    k.software.buddy_op = sw.u64("buddy_op", 0, kMaxCost);
    k.software.fork_base = sw.u64("fork_base", 0, kMaxCost);
    k.software.swap_submit = sw.u64("swap_submit", 0, kMaxCost);
    k.software.swap_read = sw.u64("swap_read", 0, kMaxCost);
    KernelSwitches& s = k.switches;
    s.pte_batch = n.boolean("pte_batch", true);
    s.max_pte_batch = static_cast<unsigned>(n.u64("max_pte_batch", 0, 0, 1u << 20));
    s.contpte = n.boolean("contpte", platform.arch == Arch::Arm64);
    s.use_tlbi_range = n.boolean("use_tlbi_range", platform.features.arm64.tlbi_range);
    s.use_bbml2 = n.boolean("use_bbml2", platform.features.arm64.bbml2_noabort);
    s.tlb_single_page_flush_ceiling = static_cast<unsigned>(n.u64("tlb_single_page_flush_ceiling", 33, 0, 1u << 30));
    s.use_invlpgb = n.boolean("use_invlpgb", platform.features.x86.invlpgb);
    s.defer_flush = n.boolean("defer_flush", true);
    s.anon_unmap_batch = n.boolean("anon_unmap_batch", true);
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
    j["swap_size"] = format_size(k.swap_size);
    j["software"] = {{"fault_entry", k.software.fault_entry},   {"syscall_entry", k.software.syscall_entry},
                     {"vma_lookup", k.software.vma_lookup},     {"vma_modify", k.software.vma_modify},
                     {"pte_loop", k.software.pte_loop},         {"buddy_op", k.software.buddy_op},
                     {"fork_base", k.software.fork_base},       {"swap_submit", k.software.swap_submit},
                     {"swap_read", k.software.swap_read}};
    const KernelSwitches& s = k.switches;
    j["switches"] = {{"pte_batch", s.pte_batch},
                     {"max_pte_batch", s.max_pte_batch},
                     {"contpte", s.contpte},
                     {"use_tlbi_range", s.use_tlbi_range},
                     {"use_bbml2", s.use_bbml2},
                     {"tlb_single_page_flush_ceiling", s.tlb_single_page_flush_ceiling},
                     {"use_invlpgb", s.use_invlpgb},
                     {"defer_flush", s.defer_flush},
                     {"anon_unmap_batch", s.anon_unmap_batch}};
    return j;
}

} // namespace mmusim::mm
