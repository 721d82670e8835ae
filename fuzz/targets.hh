// SPDX-License-Identifier: GPL-2.0-only
// The fuzz targets' bodies (docs/CHECKING.md, "Fuzzing"), shared by the libFuzzer harnesses (fuzz/*_fuzz.cc,
// built with -DMMUSIM_FUZZ=ON and clang) and the regression test (tests/fuzz_regression_test.cc, built in the
// normal test build), so that a saved crash input replays exactly the fuzzed code.
//
// Each target feeds one input to the code under test and returns normally when that code succeeds or rejects
// the input with the project's documented error types (ConfigError, traces::TraceError). Anything else -- any
// other exception, a crash, a sanitizer report, a hang -- escapes and is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mmusim::fuzz {

using Target = void (*)(const std::uint8_t* data, std::size_t size);

void native_reader(const std::uint8_t* data, std::size_t size);   // traces/readers/native_reader.cc
void lackey_reader(const std::uint8_t* data, std::size_t size);   // traces/readers/lackey_reader.cc
void compressed_input(const std::uint8_t* data, std::size_t size); // .gz and .xz through traces::open_input
void platform_config(const std::uint8_t* data, std::size_t size); // hw::load_platform_file
void kernel_config(const std::uint8_t* data, std::size_t size);   // mm::load_kernel_file on a shipped platform
void experiment(const std::uint8_t* data, std::size_t size);      // tools::load_experiment
void sweep(const std::uint8_t* data, std::size_t size);           // tools::load_sweep and expand_points
void set_override(const std::uint8_t* data, std::size_t size);    // ConfigNode::apply_override, one per line

struct NamedTarget {
    const char* name; // the harness: fuzz/<name>_fuzz.cc, tests/fuzz_regressions/<name>/
    Target fn;
};
const std::vector<NamedTarget>& all_targets();

} // namespace mmusim::fuzz
