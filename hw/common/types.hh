// SPDX-License-Identifier: GPL-2.0-only
// Basic vocabulary shared by every hardware model: addresses, cycles, access kinds.
#pragma once

#include "util/bits.hh"  // bit-field helpers, is_pow2, log2_exact: every hw file has them
#include "util/units.hh" // KiB, MiB, GiB

#include <cstdint>

namespace mmusim {

using Addr = std::uint64_t;   // virtual address
using PAddr = std::uint64_t;  // physical address
using Cycles = std::uint64_t; // core clock cycles
using Asid = std::uint16_t;   // arm64 ASID, x86 PCID, RISC-V ASID

enum class AccessKind : std::uint8_t { Read, Write, Fetch };

enum class Arch : std::uint8_t { Arm64, X86_64, RiscV };

const char* to_string(AccessKind k);
const char* to_string(Arch a);

constexpr unsigned kMaxCores = 256; // cpumask width

} // namespace mmusim
