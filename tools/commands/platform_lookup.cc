// SPDX-License-Identifier: GPL-2.0-only
#include "tools/commands/commands.hh"

#include <sys/stat.h>

namespace mmusim::tools {

namespace {
bool exists(const std::string& p)
{
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
}
} // namespace

std::string resolve_platform(const std::string& name_or_path)
{
    if (name_or_path.find('/') != std::string::npos || exists(name_or_path))
        return name_or_path;
    std::string base = name_or_path;
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".yaml") == 0)
        base.resize(base.size() - 5);
    const std::string candidate = std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/" + base + ".yaml";
    return exists(candidate) ? candidate : name_or_path;
}

std::string default_platform() { return std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/neoverse-n1.yaml"; }
std::string default_trace() { return std::string(MMUSIM_SOURCE_DIR) + "/traces/samples/lackey_true.txt.xz"; }

} // namespace mmusim::tools
