// SPDX-License-Identifier: GPL-2.0-only
// Binary size units, shared by every layer (util is the bottom layer: it includes nothing of the others).
#pragma once

#include <cstdint>

namespace mmusim {

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;

} // namespace mmusim
