// SPDX-License-Identifier: GPL-2.0-only
#include "traces/trace_reader.hh"

#include "util/hex.hh"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace mmusim::traces {

namespace {

std::string format_error(const std::string& file, std::uint64_t line, const std::string& msg)
{
    std::string s = file;
    if (line != 0) {
        s += ':';
        s += std::to_string(line);
    }
    s += ": ";
    s += msg;
    return s;
}

} // namespace

std::string RecordLimits::check_access(Addr addr, std::uint32_t size) const
{
    const Addr last = addr + (size - 1);
    if (last < addr)
        return "access of " + std::to_string(size) + " bytes at " + hex(addr) + " wraps past the top of the 64-bit address space";
    if (last > va_last)
        return (size > 1 && addr <= va_last ? "access of " + std::to_string(size) + " bytes at " + hex(addr) + " ends"
                                            : "address " + hex(addr) + " is") +
               " outside the user address range 0.." + hex(va_last) + (va_space.empty() ? "" : " of " + va_space) +
               " (a wider address would alias a lower one in the page tables)";
    return {};
}

std::string RecordLimits::check_core(unsigned core) const
{
    if (core < cores)
        return {};
    std::string msg = "record for core " + std::to_string(core) + " but the platform has " + std::to_string(cores) + " core(s)";
    if (core < max_cores)
        return msg + " (raise it with --set cores=N)";
    return msg + " and can have at most " + std::to_string(max_cores);
}

TraceError::TraceError(const std::string& file_, std::uint64_t line_, const std::string& msg)
    : std::runtime_error(format_error(file_, line_, msg)), file(file_), line(line_)
{
}

ReaderRegistry& ReaderRegistry::instance()
{
    // Function-local so that registration from other translation units' static initialisers is safe whatever
    // the initialisation order.
    static ReaderRegistry registry;
    return registry;
}

bool ReaderRegistry::add(ReaderInfo info)
{
    if (info.name.empty() || !info.make || find(info.name) != nullptr)
        return false;
    readers_.push_back(std::move(info));
    return true;
}

const ReaderInfo* ReaderRegistry::find(const std::string& name) const
{
    for (const ReaderInfo& r : readers_)
        if (r.name == name)
            return &r;
    return nullptr;
}

std::vector<const ReaderInfo*> ReaderRegistry::all() const
{
    std::vector<const ReaderInfo*> out;
    out.reserve(readers_.size());
    for (const ReaderInfo& r : readers_)
        out.push_back(&r);
    std::sort(out.begin(), out.end(), [](const ReaderInfo* a, const ReaderInfo* b) { return a->name < b->name; });
    return out;
}

std::unique_ptr<TraceReader> ReaderRegistry::open(const std::string& format, const std::string& path) const
{
    const ReaderInfo* info = find(format);
    if (info == nullptr) {
        std::string known;
        for (const ReaderInfo* r : all()) {
            if (!known.empty())
                known += ", ";
            known += r->name;
        }
        if (known.empty())
            known = "none";
        throw TraceError(path, 0, "unknown trace format '" + format + "' (known: " + known + ")");
    }
    return info->make(open_input(path));
}

} // namespace mmusim::traces
