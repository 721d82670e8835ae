// SPDX-License-Identifier: GPL-2.0-only
// libFuzzer harness: fuzz::platform_config() (fuzz/targets.cc). Run by tools/fuzz.sh; docs/CHECKING.md, "Fuzzing".
#include "fuzz/targets.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    mmusim::fuzz::platform_config(data, size);
    return 0;
}
