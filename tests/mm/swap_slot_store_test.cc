// SPDX-License-Identifier: GPL-2.0-only
// The swap device's slot store gives back exactly the bytes written, whether it kept a page as its non-zero
// words or whole, and across rewrites from one form to the other.
#include "mm/swap_slot_store.hh"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using mmusim::mm::SwapSlotStore;

namespace {

std::vector<std::uint8_t> page_with(std::size_t size, unsigned nonzero_words, unsigned seed)
{
    std::vector<std::uint8_t> p(size, 0);
    std::mt19937 rng(seed);
    for (unsigned i = 0; i < nonzero_words; ++i)
        p[(rng() % (size / 8)) * 8 + rng() % 8] = static_cast<std::uint8_t>(1 + rng() % 255);
    return p;
}

} // namespace

TEST(SwapSlotStore, GivesBackWhatWasWrittenSparseOrWhole)
{
    for (const std::size_t size : {std::size_t{4096}, std::size_t{65536}}) {
        SwapSlotStore s(size);
        std::vector<std::uint8_t> out(size);
        EXPECT_FALSE(s.read(7, out.data()));
        for (const unsigned words : {0u, 1u, 31u, 33u, 200u, static_cast<unsigned>(size / 8)}) {
            const auto page = page_with(size, words, words + 1);
            s.write(7, page.data());
            std::fill(out.begin(), out.end(), std::uint8_t(0xee));
            ASSERT_TRUE(s.read(7, out.data()));
            EXPECT_EQ(out, page) << size << " bytes, " << words << " non-zero words";
        }
        // and back from a whole page to a sparse one
        const auto sparse = page_with(size, 2, 99);
        s.write(7, sparse.data());
        ASSERT_TRUE(s.read(7, out.data()));
        EXPECT_EQ(out, sparse);
        EXPECT_EQ(s.size(), 1u);
        s.erase(7);
        EXPECT_TRUE(s.empty());
        EXPECT_FALSE(s.read(7, out.data()));
    }
}
