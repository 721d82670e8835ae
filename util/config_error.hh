// SPDX-License-Identifier: GPL-2.0-only
// The one error type for bad user input (config, CLI, trace): it names where, and the command exits 2.
#pragma once

#include <stdexcept>
#include <string>

namespace mmusim {

struct ConfigError : std::runtime_error {
    explicit ConfigError(const std::string& msg) : std::runtime_error(msg) {}
};

} // namespace mmusim
