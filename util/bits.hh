// SPDX-License-Identifier: GPL-2.0-only
// Bit-field helpers for descriptor encodings, TLBI operands and geometry checks, in one place so every
// format and operand codec reads the same way as the architecture manuals' "bits[hi:lo]". util is below hw:
// nothing here may include hw/.
#pragma once

#include <cstdint>

namespace mmusim {

// 1 << n as a 64-bit value.
constexpr std::uint64_t bit(unsigned n) { return std::uint64_t{1} << n; }
// The low n bits set (n up to 64).
constexpr std::uint64_t low_mask(unsigned n) { return n >= 64 ? ~std::uint64_t{0} : bit(n) - 1; }
// Bits hi..lo set, as a mask in place: field_mask(47, 12) covers a 4K-aligned 48-bit address.
constexpr std::uint64_t field_mask(unsigned hi, unsigned lo) { return low_mask(hi + 1) & ~low_mask(lo); }
// The field v[hi:lo], shifted down.
constexpr std::uint64_t bits(std::uint64_t v, unsigned hi, unsigned lo) { return (v >> lo) & low_mask(hi - lo + 1); }
// v with the field [hi:lo] replaced by the low bits of `field`.
constexpr std::uint64_t set_bits(std::uint64_t v, unsigned hi, unsigned lo, std::uint64_t field)
{
    return (v & ~field_mask(hi, lo)) | ((field << lo) & field_mask(hi, lo));
}
// Sign-extends the low `width` bits of v.
constexpr std::uint64_t sext(std::uint64_t v, unsigned width)
{
    const std::uint64_t m = bit(width - 1);
    v &= low_mask(width);
    return (v ^ m) - m;
}

constexpr bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
// log2 of a power of two (for any other v: the next power's).
constexpr unsigned log2_exact(std::uint64_t v)
{
    unsigned s = 0;
    while (s < 64 && (std::uint64_t{1} << s) < v)
        ++s;
    return s;
}

} // namespace mmusim
