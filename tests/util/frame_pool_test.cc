// SPDX-License-Identifier: GPL-2.0-only
// The frame pool hands out distinct, zero-filled frames, also when it reuses released ones, across blocks.
#include "util/frame_pool.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>

using mmusim::FramePool;

TEST(FramePool, FramesAreZeroDistinctAndReusedZeroed)
{
    FramePool pool(4096);
    std::vector<FramePool::Frame> frames;
    std::set<const std::uint8_t*> seen;
    for (int i = 0; i < 10000; ++i) { // 40 MB: more than one block
        frames.push_back(pool.allocate());
        const std::uint8_t* p = frames.back().get();
        ASSERT_TRUE(std::all_of(p, p + 4096, [](std::uint8_t b) { return b == 0; }));
        ASSERT_TRUE(seen.insert(p).second) << "frame handed out twice";
        std::fill(frames.back().get(), frames.back().get() + 4096, std::uint8_t(0xa5));
    }
    EXPECT_EQ(pool.frames_in_use(), 10000u);
    for (const auto& f : frames) // no frame overlaps the next one
        EXPECT_TRUE(std::all_of(f.get(), f.get() + 4096, [](std::uint8_t b) { return b == 0xa5; }));
    const std::uint8_t* released = frames[17].get();
    frames.erase(frames.begin() + 17);
    EXPECT_EQ(pool.frames_in_use(), 9999u);
    FramePool::Frame again = pool.allocate();
    EXPECT_EQ(again.get(), released); // reused, and cleared
    EXPECT_TRUE(std::all_of(again.get(), again.get() + 4096, [](std::uint8_t b) { return b == 0; }));
}

TEST(FramePool, RefusesAFrameSizeThatIsNotAPowerOfTwo)
{
    EXPECT_THROW(FramePool(3000), std::invalid_argument);
    EXPECT_THROW(FramePool(std::size_t{4} << 20), std::invalid_argument);
    FramePool big(64 * 1024);
    EXPECT_EQ(big.frame_bytes(), 64u * 1024);
}
