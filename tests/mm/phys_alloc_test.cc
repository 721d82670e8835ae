// SPDX-License-Identifier: GPL-2.0-only
// The buddy allocator behind page tables and folios: the whole memory is usable whatever the mix of sizes,
// blocks are naturally aligned, and freed buddies merge.
#include "mm/phys_alloc.hh"

#include <gtest/gtest.h>

#include <set>

using namespace mmusim;

namespace {

TEST(PhysAllocator, TablePagesBetweenLargeFoliosLoseNoMemory)
{
    // A 4K table page, then a 2M folio, again and again: a bump allocator loses ~2M to alignment each time.
    mm::PhysAllocator a(64 * MiB);
    unsigned folios = 0;
    try {
        for (;;) {
            const PAddr t = a.alloc(4 * KiB, 4 * KiB);
            EXPECT_EQ(t % (4 * KiB), 0u);
            const PAddr f = a.alloc(2 * MiB, 2 * MiB);
            EXPECT_EQ(f % (2 * MiB), 0u);
            ++folios;
        }
    } catch (const mm::OutOfMemory& e) {
        EXPECT_NE(std::string(e.what()).find("largest free block"), std::string::npos) << e.what();
    }
    // 63 MiB usable above the reserved first MiB: 31 folios with their table pages (62M + 124K); a 32nd needs 64M.
    EXPECT_EQ(folios, 31u);
    EXPECT_GT(a.allocated(), a.capacity() - 2 * MiB);
}

TEST(PhysAllocator, GigabyteFoliosUseAllOfTheMemory)
{
    mm::PhysAllocator a(8 * GiB);
    std::set<PAddr> got;
    for (int i = 0; i < 7; ++i) {
        a.alloc(4 * KiB, 4 * KiB);
        got.insert(a.alloc(1 * GiB, 1 * GiB));
    }
    EXPECT_EQ(got.size(), 7u) << "every GiB above the first holds a folio";
    EXPECT_THROW(a.alloc(1 * GiB, 1 * GiB), mm::OutOfMemory);
    EXPECT_NO_THROW(a.alloc(512 * MiB, 512 * MiB)) << "the first GiB still has room below 1G";
}

TEST(PhysAllocator, BlocksNeverOverlapAndFreedBuddiesMerge)
{
    mm::PhysAllocator a(16 * MiB);
    std::vector<PAddr> pages;
    for (int i = 0; i < 256; ++i)
        pages.push_back(a.alloc(4 * KiB, 4 * KiB));
    std::set<PAddr> distinct(pages.begin(), pages.end());
    EXPECT_EQ(distinct.size(), pages.size());
    const std::uint64_t before = a.largest_free_block();
    for (PAddr p : pages)
        a.free(p, 4 * KiB, 4 * KiB);
    EXPECT_EQ(a.allocated(), 0u);
    EXPECT_EQ(a.largest_free_block(), 8 * MiB) << "the 4K pages merged back into the 8M block";
    EXPECT_LE(before, a.largest_free_block());
    EXPECT_THROW(a.free(0x100, 4 * KiB, 4 * KiB), std::logic_error);
}

TEST(PhysAllocator, SmallTablesAreRoundedToAlignedBlocks)
{
    mm::PhysAllocator a(16 * MiB);
    const PAddr t = a.alloc(64, 16 * KiB); // a tiny arm64 root table, aligned to the granule
    EXPECT_EQ(t % (16 * KiB), 0u);
    const PAddr u = a.alloc(64, 64);
    EXPECT_EQ(u % 64, 0u);
    EXPECT_TRUE(u + 64 <= t || u >= t + 16 * KiB);
}

} // namespace
