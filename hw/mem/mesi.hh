// SPDX-License-Identifier: GPL-2.0-only
// MESI coherence state of one line in one core's private cache levels. Shared levels hold presence only
// (their lines are always Shared or Invalid); who owns a line is the directory's and private levels' business.
#pragma once

#include <cstdint>

namespace mmusim::hw {

enum class Mesi : std::uint8_t {
    I, // invalid: not present
    S, // shared: clean, other cores may hold it; a store must first upgrade
    E, // exclusive: clean, no other core holds it; a store makes it M without a bus transaction
    M, // modified: dirty, no other core holds it
};

inline bool owns(Mesi s) { return s == Mesi::E || s == Mesi::M; }
const char* to_string(Mesi s);

} // namespace mmusim::hw
