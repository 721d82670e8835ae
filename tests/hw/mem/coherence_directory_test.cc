// SPDX-License-Identifier: GPL-2.0-only
// The directory's open-addressing table against std::map on random adds, removals and lookups, with line
// numbers that collide in the table (strided) and that wrap around its end: deletion by backward shift must
// never lose an entry or leave one unreachable.
#include "hw/mem/coherence_directory.hh"

#include <gtest/gtest.h>

#include <map>
#include <random>

using mmusim::hw::CoherenceDirectory;

namespace {

void check_equal(const CoherenceDirectory& d, const std::map<std::uint64_t, CoherenceDirectory::Sharers>& ref,
                 std::uint64_t lines, std::uint64_t stride)
{
    ASSERT_EQ(d.lines(), ref.size());
    for (std::uint64_t i = 0; i < 2 * lines; ++i) {
        const std::uint64_t line = i / 2 * stride + i % 2; // the lines used and, for stride > 1, unused ones
        if (stride == 1 && i % 2)
            continue;
        const auto it = ref.find(line);
        const CoherenceDirectory::Sharers* s = d.find(line);
        if (it == ref.end()) {
            ASSERT_EQ(s, nullptr) << "line " << line;
        } else {
            ASSERT_NE(s, nullptr) << "line " << line;
            ASSERT_EQ(*s, it->second) << "line " << line;
        }
    }
}

void run(std::uint64_t stride, unsigned seed)
{
    CoherenceDirectory d;
    std::map<std::uint64_t, CoherenceDirectory::Sharers> ref;
    std::mt19937_64 rng(seed);
    constexpr std::uint64_t kLines = 6000; // beyond the initial table, so it grows
    for (int step = 0; step < 60000; ++step) {
        const std::uint64_t line = (rng() % kLines) * stride;
        const unsigned core = static_cast<unsigned>(rng() % 4);
        switch (rng() % 3) {
        case 0:
            d.add(line, core);
            ref[line].set(core);
            break;
        case 1:
            d.make_sole(line, core);
            ref[line].reset();
            ref[line].set(core);
            break;
        default:
            d.remove(line, core);
            if (auto it = ref.find(line); it != ref.end()) {
                it->second.reset(core);
                if (it->second.none())
                    ref.erase(it);
            }
        }
        if (step % 5000 == 0)
            check_equal(d, ref, kLines, stride);
    }
    check_equal(d, ref, kLines, stride);
}

} // namespace

TEST(CoherenceDirectory, MatchesAMapOnConsecutiveLines) { run(1, 1); }
TEST(CoherenceDirectory, MatchesAMapOnStridedLines) { run(4096, 2); }

TEST(CoherenceDirectory, RemovingTheLastSharerDropsTheLine)
{
    CoherenceDirectory d;
    d.add(7, 0);
    d.add(7, 3);
    d.remove(7, 0);
    ASSERT_NE(d.find(7), nullptr);
    EXPECT_TRUE(d.find(7)->test(3));
    d.remove(7, 3);
    EXPECT_EQ(d.find(7), nullptr);
    EXPECT_EQ(d.lines(), 0u);
}
