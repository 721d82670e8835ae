// SPDX-License-Identifier: GPL-2.0-only
// util/bits.hh: the edges (whole-word fields, bit 63) the descriptor and operand codecs rely on.
#include "util/bits.hh"

#include <gtest/gtest.h>

using namespace mmusim;

TEST(Bits, MasksAndFields)
{
    static_assert(field_mask(47, 12) == 0x0000'ffff'ffff'f000ULL);
    static_assert(field_mask(63, 0) == ~std::uint64_t{0});
    static_assert(low_mask(0) == 0 && low_mask(64) == ~std::uint64_t{0});
    static_assert(bits(0xabcd, 11, 4) == 0xbc);
    static_assert(bits(~std::uint64_t{0}, 63, 0) == ~std::uint64_t{0});
    static_assert(set_bits(0xffff, 11, 4, 0x1ff) == 0xfff0 + 0xf, "a field wider than [hi:lo] is cut to it");
    EXPECT_EQ(set_bits(0xffff, 11, 4, 0x12), 0xf12fu);
    EXPECT_EQ(set_bits(0, 63, 63, 1), bit(63));
    EXPECT_EQ(sext(bit(43), 44), ~std::uint64_t{0} << 43);
    EXPECT_EQ(sext(0x123, 44), 0x123u);
}

TEST(Bits, PowersOfTwo)
{
    static_assert(is_pow2(1) && is_pow2(bit(63)) && !is_pow2(0) && !is_pow2(12));
    static_assert(log2_exact(1) == 0 && log2_exact(4096) == 12 && log2_exact(bit(63)) == 63);
}
