// SPDX-License-Identifier: GPL-2.0-only
// The page-table format registry. Formats add themselves from static initialisers (MMUSIM_REGISTER_FORMAT),
// so the registry must exist before any of them runs: hence a function-local static, not a global.
//
// Pointers returned by find() and all() stay valid until the next add(); every add() happens during static
// initialisation, before anyone looks formats up.
#include "hw/pgtable/format_registry.hh"

#include <algorithm>

namespace mmusim::hw {

namespace {

std::string join(const std::vector<std::string>& parts, const char* sep)
{
    std::string out;
    for (const std::string& p : parts) {
        if (!out.empty())
            out += sep;
        out += p;
    }
    return out;
}

std::vector<std::string> split_alternatives(const std::string& values)
{
    std::vector<std::string> out;
    std::string::size_type start = 0;
    for (;;) {
        const auto bar = values.find('|', start);
        out.push_back(values.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
        if (bar == std::string::npos)
            return out;
        start = bar + 1;
    }
}

} // namespace

FormatRegistry& FormatRegistry::instance()
{
    static FormatRegistry registry;
    return registry;
}

bool FormatRegistry::add(FormatInfo info)
{
    if (info.name.empty() || !info.make || find(info.name) != nullptr)
        return false;
    // Kept sorted by name so all() and names() need no sorting.
    const auto pos = std::lower_bound(formats_.begin(), formats_.end(), info.name,
                                      [](const FormatInfo& f, const std::string& n) { return f.name < n; });
    formats_.insert(pos, std::move(info));
    return true;
}

const FormatInfo* FormatRegistry::find(const std::string& name) const
{
    for (const FormatInfo& f : formats_)
        if (f.name == name)
            return &f;
    return nullptr;
}

std::vector<const FormatInfo*> FormatRegistry::all() const
{
    std::vector<const FormatInfo*> out;
    out.reserve(formats_.size());
    for (const FormatInfo& f : formats_)
        out.push_back(&f);
    return out;
}

std::vector<std::string> FormatRegistry::names() const
{
    std::vector<std::string> out;
    out.reserve(formats_.size());
    for (const FormatInfo& f : formats_)
        out.push_back(f.name);
    return out;
}

std::unique_ptr<PageTableFormat> FormatRegistry::create(const std::string& name, const FormatOptions& opts) const
{
    const FormatInfo* info = find(name);
    if (info == nullptr)
        throw FormatOptionError("format",
                                "unknown page-table format '" + name + "' (known: " + join(names(), ", ") + ")");

    for (const auto& opt : opts) {
        // Plain references, not a structured binding: lambdas may not capture those before C++20.
        const std::string& key = opt.first;
        const std::string& value = opt.second;
        // The options usually come from the same YAML map that names the format; tolerate that key.
        if (key == "format") {
            if (value != name)
                throw FormatOptionError("format", "format option '" + value + "' contradicts format '" + name + "'");
            continue;
        }
        const auto doc = std::find_if(info->options.begin(), info->options.end(),
                                      [&](const FormatOptionDoc& d) { return d.key == key; });
        if (doc == info->options.end()) {
            std::vector<std::string> keys;
            for (const FormatOptionDoc& d : info->options)
                keys.push_back(d.key);
            throw FormatOptionError(key, "page-table format '" + name + "' has no option '" + key + "' (" +
                                             (keys.empty() ? std::string("it takes none")
                                                           : "options: " + join(keys, ", ")) +
                                             ")");
        }
        // Values documented as an alternation are checked here; combinations (arm64 granule x va_bits) are
        // the factory's job.
        if (!doc->values.empty()) {
            const auto allowed = split_alternatives(doc->values);
            if (std::find(allowed.begin(), allowed.end(), value) == allowed.end())
                throw FormatOptionError(key, "bad value '" + value + "' for " + name + " option '" + key +
                                                 "' (allowed: " + doc->values + ")");
        }
    }
    return info->make(opts);
}

std::vector<unsigned> FormatRegistry::translation_shifts(const std::string& name) const
{
    const FormatInfo* info = find(name);
    if (info == nullptr)
        return {};
    const std::vector<FormatOptions> variants = info->variants.empty() ? std::vector<FormatOptions>{{}} : info->variants;
    std::vector<unsigned> shifts;
    for (const FormatOptions& v : variants) {
        const std::unique_ptr<PageTableFormat> fmt = info->make(v);
        for (int d = 0; d < fmt->levels(); ++d) {
            const LevelInfo& l = fmt->level(d);
            if (!l.leaf_allowed)
                continue;
            shifts.push_back(l.shift);
            if (l.contig_entries > 1)
                shifts.push_back(l.shift + log2_exact(l.contig_entries));
        }
    }
    std::sort(shifts.begin(), shifts.end());
    shifts.erase(std::unique(shifts.begin(), shifts.end()), shifts.end());
    return shifts;
}

} // namespace mmusim::hw
