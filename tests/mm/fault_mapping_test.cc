// SPDX-License-Identifier: GPL-2.0-only
// What one anonymous fault writes into the page tables, per folio size and format, through the port's fault
// path (do_page_fault() -> do_anonymous_page(): a new mTHP folio of the VMA's order set by one set_ptes(); the
// zero page for a read). On arm64 contpte_set_ptes() sets the contiguous bit on every whole, aligned block;
// x86 has no such hint. (These were the replay's simplified fault handler's tests before the port replaced it.)
#include "kernel_test_util.hh"

#include "mm/mmap.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::test;

namespace {

constexpr Addr kRegion = 0x7f1200000000ULL; // 1G-aligned start of the test mapping (fits 48-bit VAs)
constexpr Addr kVa = kRegion + 0x34560000ULL + 0x5000; // inside a 64K-aligned folio, not at its start

struct Mapped {
    std::vector<hw::Descriptor> leaves; // the leaf descriptors of the folio around the address, in order
    MmStats stats;
    Cycles pte_store_cycles = 0;
    pfn_t zero_pfn = 0;
};

// Faults `va` in on core 0 of `platform` with kernel.folio_size `folio`, in a 1G private anonymous mapping of
// that mTHP order, then reads back the leaf descriptors of the folio (untimed).
Mapped fault_in(const std::string& platform, const std::string& folio, Addr va, AccessKind kind = AccessKind::Write,
                std::vector<std::string> sets = {})
{
    sets.push_back("cores=1");
    TestKernel t = make_kernel(platform, sets, {"kernel.folio_size=" + folio});
    mm_struct* mm = nullptr;
    t.run([&](Ctx& c) {
        mm = &c.k.mm_alloc(c);
        const Addr base = va & ~(Addr{1 * GiB} - 1);
        do_mmap(c, *mm, base, 1 * GiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
        user_access(c, *mm, va, kind);
        EXPECT_EQ(c.cpu.translate(va, kind).fault, hw::Fault::None);
    });
    Mapped m;
    m.stats = t.k->stats();
    m.pte_store_cycles = t.p->core(0).cycles(hw::Category::PteStore);
    m.zero_pfn = t.k->zero_pfn();
    const std::uint64_t size = t.k->config().folio_size;
    const Addr base = va & ~(size - 1);
    for (Addr a = base; a < base + size; a += t.k->page_size())
        m.leaves.push_back(leaf_desc(t, *mm, a));
    return m;
}

} // namespace

TEST(FaultMapping, Arm64SixtyFourKFolioIsOneContptBlock)
{
    const Mapped m = fault_in("neoverse-n1", "64K", kVa);
    ASSERT_EQ(m.leaves.size(), 16u);
    for (std::size_t i = 0; i < m.leaves.size(); ++i) {
        EXPECT_EQ(m.leaves[i].type, hw::Descriptor::Type::Leaf) << i;
        EXPECT_TRUE(m.leaves[i].contiguous) << i;
        EXPECT_EQ(m.leaves[i].oa, m.leaves[0].oa + i * 4096) << "physically contiguous folio";
        EXPECT_TRUE(m.leaves[i].user);
        EXPECT_TRUE(m.leaves[i].dbm) << "PTE_WRITE";
        EXPECT_TRUE(m.leaves[i].write) << "write fault: pte_mkdirty() clears PTE_RDONLY";
        EXPECT_TRUE(m.leaves[i].sw_dirty) << "write fault: pte_mkdirty";
    }
    EXPECT_EQ(m.leaves[0].oa % (64 * KiB), 0u);
    EXPECT_EQ(m.stats.batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}})) << "one set_ptes(nr=16)";
    EXPECT_EQ(m.stats.anon_fault_alloc, (std::map<unsigned, std::uint64_t>{{4, 1}}));
}

TEST(FaultMapping, SmallerFolioThanABlockGetsNoContiguousBit)
{
    const Mapped m = fault_in("neoverse-n1", "16K", kVa);
    ASSERT_EQ(m.leaves.size(), 4u);
    for (const auto& d : m.leaves) {
        EXPECT_EQ(d.type, hw::Descriptor::Type::Leaf);
        EXPECT_FALSE(d.contiguous);
    }
    EXPECT_EQ(m.stats.batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{4, 1}}));
}

TEST(FaultMapping, ReadFaultMapsTheZeroPageReadOnly)
{
    // do_anonymous_page() maps the shared zero page for a read, whatever the mTHP order: one PTE, read-only
    // (the private writable VMA's protection is copy-on-write), and nothing else of the folio.
    const Mapped m = fault_in("neoverse-n1", "64K", kVa, AccessKind::Read);
    ASSERT_EQ(m.leaves.size(), 16u);
    const std::size_t at = (kVa % (64 * KiB)) / 4096;
    for (std::size_t i = 0; i < m.leaves.size(); ++i) {
        if (i != at) {
            EXPECT_NE(m.leaves[i].type, hw::Descriptor::Type::Leaf) << i;
            continue;
        }
        EXPECT_EQ(m.leaves[i].type, hw::Descriptor::Type::Leaf);
        EXPECT_EQ(m.leaves[i].oa >> 12, m.zero_pfn);
        EXPECT_FALSE(m.leaves[i].write) << "AP[2] set";
        EXPECT_FALSE(m.leaves[i].dbm) << "PAGE_READONLY has no PTE_WRITE";
        EXPECT_FALSE(m.leaves[i].contiguous);
    }
    EXPECT_EQ(m.stats.zero_page_faults, 1u);
    EXPECT_TRUE(m.stats.anon_fault_alloc.empty());
}

TEST(FaultMapping, SixtyFourKGranuleTwoMegFolioIsAContiguousBlock)
{
    // 64K granule, 48-bit VA: the PMD maps 512M, so a 2M folio is an mTHP of 32 PTEs, one contpte block.
    const Mapped m = fault_in("neoverse-n1", "2M", 0x7f0000000000ULL + 0x30000, AccessKind::Write,
                              {"page_table.granule=64K", "page_table.va_bits=48"});
    ASSERT_EQ(m.leaves.size(), 32u);
    for (const auto& d : m.leaves) {
        EXPECT_EQ(d.type, hw::Descriptor::Type::Leaf);
        EXPECT_TRUE(d.contiguous);
    }
    EXPECT_EQ(m.stats.batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{32, 1}}));
}

TEST(FaultMapping, X86HasNoContiguousHint)
{
    const Mapped x = fault_in("skylake-sp", "64K", kVa);
    ASSERT_EQ(x.leaves.size(), 16u);
    for (const auto& d : x.leaves) {
        EXPECT_EQ(d.type, hw::Descriptor::Type::Leaf);
        EXPECT_FALSE(d.contiguous) << "x86 has no contiguous hint";
        EXPECT_TRUE(d.dirty);
        EXPECT_TRUE(d.write);
    }
    EXPECT_EQ(x.stats.batches.at("set_ptes"), (std::map<unsigned, std::uint64_t>{{16, 1}}));
}

TEST(FaultMapping, SetPtesCostsOneStorePerEntry)
{
    const Mapped one = fault_in("skylake-sp", "4K", kVa);
    const Mapped sixteen = fault_in("skylake-sp", "64K", kVa);
    // Both allocate the same tables; the 64K folio stores 15 more PTEs, and those PTEs share cache lines with
    // the first, so each extra store costs at most an L1 miss.
    EXPECT_GT(sixteen.pte_store_cycles, one.pte_store_cycles);
    EXPECT_LT(sixteen.pte_store_cycles, one.pte_store_cycles + 15 * 200);
    EXPECT_EQ(sixteen.stats.pgtables_allocated, one.stats.pgtables_allocated);
}
