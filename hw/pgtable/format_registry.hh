// SPDX-License-Identifier: GPL-2.0-only
// The one place page-table formats register by name. A format's .cc file registers itself with
// MMUSIM_REGISTER_FORMAT; adding a format touches only hw/pgtable/.
#pragma once

#include "hw/pgtable/format.hh"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mmusim::hw {

struct FormatOptionDoc {
    std::string key;
    std::string values;      // e.g. "4K|16K|64K"
    std::string default_value;
};

struct FormatInfo {
    std::string name;
    std::string description;
    std::vector<FormatOptionDoc> options;
    std::function<std::unique_ptr<PageTableFormat>(const FormatOptions&)> make;
    // Every option combination the factory accepts (empty: only the defaults), so that code asking what a
    // format can do (translation_shifts) never relies on a refused combination throwing.
    std::vector<FormatOptions> variants = {};
};

class FormatRegistry {
public:
    static FormatRegistry& instance();
    bool add(FormatInfo info);
    const FormatInfo* find(const std::string& name) const;
    std::vector<const FormatInfo*> all() const; // sorted by name
    std::vector<std::string> names() const;

    // Throws FormatOptionError for an unknown format (key "format"), unknown option or bad value.
    std::unique_ptr<PageTableFormat> create(const std::string& name, const FormatOptions& opts) const;
    // Every translation size (log2 bytes), sorted, that some variant of the format maps with one leaf or one
    // contiguous run: what a TLB for that architecture may be built to hold, whatever granule is chosen.
    std::vector<unsigned> translation_shifts(const std::string& name) const;

private:
    std::vector<FormatInfo> formats_;
};

#define MMUSIM_FORMAT_CONCAT2(a, b) a##b
#define MMUSIM_FORMAT_CONCAT(a, b) MMUSIM_FORMAT_CONCAT2(a, b)
#define MMUSIM_REGISTER_FORMAT(...)                                                                          \
    static const bool MMUSIM_FORMAT_CONCAT(mmusim_format_registered_, __LINE__) =                          \
        ::mmusim::hw::FormatRegistry::instance().add(__VA_ARGS__)

} // namespace mmusim::hw
