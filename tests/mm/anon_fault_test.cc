// SPDX-License-Identifier: GPL-2.0-only
// Demand paging: what the fault handler writes into the page tables for each folio size and format.
#include "hw/pgtable/walk_down.hh"
#include "hw/platform/platform.hh"
#include "mm/anon_fault.hh"
#include "mm/kernel_config.hh"

#include <gtest/gtest.h>

using namespace mmusim;

namespace {

struct Mapped {
    std::vector<hw::Descriptor> leaves; // descriptors at the leaf depth for consecutive leaves of the folio
    int depth = 0;
    mm::FaultStats stats;
    std::uint64_t fault_cycles = 0;
    std::uint64_t pte_store_cycles = 0;
};

// Faults `va` in on core 0 of `platform` with `folio`, then reads back the leaf descriptors of the folio.
Mapped fault_in(const std::string& platform, const std::string& folio, Addr va, AccessKind kind = AccessKind::Write,
                std::vector<std::string> sets = {})
{
    sets.push_back("cores=1");
    hw::PlatformConfig pc = hw::load_platform_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/" + platform + ".yaml", sets);
    const mm::KernelConfig kernel = mm::load_kernel_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/kernels/default.yaml",
                                                         {"kernel.folio_size=" + folio}, pc);
    hw::Platform p(std::move(pc));
    mm::PhysAllocator alloc(p.config().memory.size);
    mm::AddressSpace as(p.format(), alloc, 1);
    mm::AnonFaultHandler fh(as, kernel);
    p.core(0).mmu().set_context(1, as.pgd());
    p.core(0).set_work([&](hw::Core& c) {
        fh.handle_fault(c, va, kind);
        EXPECT_EQ(c.translate(va, kind).fault, hw::Fault::None);
    });
    p.run();
    Mapped m;
    m.depth = fh.leaf_depth();
    m.stats = fh.total();
    m.pte_store_cycles = p.core(0).cycles(hw::Category::PteStore);
    const auto& fmt = p.format();
    const std::uint64_t leaf = std::uint64_t{1} << fmt.level(m.depth).shift;
    // Walk functionally to each leaf (an untimed walk stops short, at an Invalid descriptor, if one is missing).
    const auto peek = [&p](PAddr pa) { return p.inspect().read64(pa); };
    const Addr base = va & ~(kernel.folio_size - 1);
    for (std::uint64_t i = 0; i < kernel.folio_size / leaf; ++i)
        m.leaves.push_back(hw::walk_down(fmt, as.pgd(), base + i * leaf, peek, m.depth).d);
    return m;
}

constexpr Addr kVa = 0x7f1234560000ULL + 0x5000; // inside a 64K-aligned folio, not at its start

} // namespace

TEST(AnonFault, Arm64SixtyFourKFolioIsOneContptRun)
{
    const Mapped m = fault_in("neoverse-n1", "64K", kVa);
    ASSERT_EQ(m.leaves.size(), 16u);
    EXPECT_EQ(m.depth, 3);
    for (std::size_t i = 0; i < m.leaves.size(); ++i) {
        EXPECT_EQ(m.leaves[i].type, hw::Descriptor::Type::Leaf);
        EXPECT_TRUE(m.leaves[i].contiguous) << i;
        EXPECT_EQ(m.leaves[i].oa, m.leaves[0].oa + i * 4096) << "physically contiguous folio";
        EXPECT_TRUE(m.leaves[i].user);
        EXPECT_TRUE(m.leaves[i].dbm);
        EXPECT_TRUE(m.leaves[i].sw_dirty) << "write fault: pte_mkdirty";
    }
    EXPECT_EQ(m.leaves[0].oa % (64 * KiB), 0u);
    EXPECT_EQ(m.stats.contiguous_runs, 1u);
    EXPECT_EQ(m.stats.pages_mapped, 16u);
}

TEST(AnonFault, SmallerFolioThanARunGetsNoContiguousBit)
{
    const Mapped m = fault_in("neoverse-n1", "16K", kVa);
    ASSERT_EQ(m.leaves.size(), 4u);
    for (const auto& d : m.leaves)
        EXPECT_FALSE(d.contiguous);
    EXPECT_EQ(m.stats.contiguous_runs, 0u);
}

TEST(AnonFault, ReadFaultMapsCleanOnArm64)
{
    const Mapped m = fault_in("neoverse-n1", "4K", kVa, AccessKind::Read);
    ASSERT_EQ(m.leaves.size(), 1u);
    EXPECT_FALSE(m.leaves[0].write) << "AP[2] set until the first write";
    EXPECT_TRUE(m.leaves[0].dbm);
}

TEST(AnonFault, TwoMegFolioIsAPmdBlock)
{
    const Mapped m = fault_in("neoverse-n1", "2M", kVa);
    EXPECT_EQ(m.depth, 2);
    ASSERT_EQ(m.leaves.size(), 1u);
    EXPECT_EQ(m.leaves[0].type, hw::Descriptor::Type::Leaf);
    EXPECT_EQ(m.stats.blocks, 1u);
    EXPECT_EQ(m.stats.pages_mapped, 512u);
}

TEST(AnonFault, SixtyFourKGranuleTwoMegFolioIsAContiguousRun)
{
    const Mapped m = fault_in("neoverse-n1", "2M", 0x7f0000000000ULL + 0x30000, AccessKind::Write,
                              {"page_table.granule=64K", "page_table.va_bits=48"});
    EXPECT_EQ(m.depth, 2); // 64K granule, 48-bit VA: three levels, L3 at depth 2
    ASSERT_EQ(m.leaves.size(), 32u);
    for (const auto& d : m.leaves)
        EXPECT_TRUE(d.contiguous);
}

TEST(AnonFault, RiscvSvnapotAndX86Plain)
{
    const Mapped rv = fault_in("riscv-sv39", "64K", 0x12340000 + 0x3000);
    ASSERT_EQ(rv.leaves.size(), 16u);
    for (const auto& d : rv.leaves)
        EXPECT_TRUE(d.contiguous) << "Svnapot 64K";
    const Mapped x = fault_in("skylake-sp", "64K", kVa);
    ASSERT_EQ(x.leaves.size(), 16u);
    for (const auto& d : x.leaves) {
        EXPECT_FALSE(d.contiguous) << "x86 has no contiguous hint";
        EXPECT_TRUE(d.dirty);
    }
}

TEST(AnonFault, SetPtesCostsOneStorePerEntry)
{
    const Mapped one = fault_in("skylake-sp", "4K", kVa);
    const Mapped sixteen = fault_in("skylake-sp", "64K", kVa);
    // Both allocate the same tables (3 table descriptors); the 64K folio stores 15 more PTEs, and those
    // PTEs share cache lines with the first, so each extra store costs at most an L1 miss.
    EXPECT_GT(sixteen.pte_store_cycles, one.pte_store_cycles);
    EXPECT_EQ(sixteen.stats.tables_allocated, one.stats.tables_allocated);
}
