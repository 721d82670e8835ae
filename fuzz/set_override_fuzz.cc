// SPDX-License-Identifier: GPL-2.0-only
// libFuzzer harness: fuzz::set_override() (fuzz/targets.cc). Run by tools/fuzz.sh; docs/CHECKING.md, "Fuzzing".
#include "fuzz/targets.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    mmusim::fuzz::set_override(data, size);
    return 0;
}
