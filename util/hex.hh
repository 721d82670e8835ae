// SPDX-License-Identifier: GPL-2.0-only
// "0x1f000": how messages and reports print addresses.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace mmusim {

inline std::string hex(std::uint64_t v)
{
    char b[24];
    std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
    return b;
}

} // namespace mmusim
