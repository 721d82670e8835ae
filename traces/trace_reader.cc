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
    if (core_message)
        return core_message(core);
    std::string msg = "record for core " + std::to_string(core) + " but the platform has " + std::to_string(cores) + " core(s)";
    if (core < max_cores)
        return msg + " (raise it with --set cores=N)";
    return msg + " and can have at most " + std::to_string(max_cores);
}

std::string RecordLimits::check_range(Addr addr, std::uint64_t len) const
{
    if (addr % page_size)
        return "ADDR " + hex(addr) + " is not a multiple of the page size (" + std::to_string(page_size) + " bytes)";
    if (len % page_size)
        return "LEN " + hex(len) + " is not a multiple of the page size (" + std::to_string(page_size) + " bytes)";
    const Addr last = addr + (len - 1);
    if (last < addr)
        return "range of " + hex(len) + " bytes at " + hex(addr) + " wraps past the top of the 64-bit address space";
    if (last > va_last)
        return "range of " + hex(len) + " bytes at " + hex(addr) + " ends outside the user address range 0.." +
               hex(va_last) + (va_space.empty() ? "" : " of " + va_space);
    return {};
}

const char* to_string(RecordType t)
{
    switch (t) {
    case RecordType::Access: return "access";
    case RecordType::Mmap: return "mmap";
    case RecordType::Munmap: return "munmap";
    case RecordType::Mprotect: return "mprotect";
    case RecordType::Madvise: return "madvise";
    }
    return "?";
}

namespace {

std::string prot_name(std::uint8_t prot)
{
    if (prot == 0)
        return "none";
    std::string s;
    if (prot & sys::kProtRead)
        s += 'r';
    if (prot & sys::kProtWrite)
        s += 'w';
    if (prot & sys::kProtExec)
        s += 'x';
    return s;
}

std::string advice_name(std::uint8_t a)
{
    switch (a) {
    case sys::kMadvDontneed: return "dontneed";
    case sys::kMadvFree: return "free";
    case sys::kMadvCold: return "cold";
    case sys::kMadvPageout: return "pageout";
    default: return "advice-" + std::to_string(a);
    }
}

} // namespace

std::string describe(const TraceRecord& r)
{
    if (r.is_access())
        return std::string(to_string(r.kind)) + " " + hex(r.addr) + " " + std::to_string(r.size) + " @" +
               std::to_string(r.core);
    std::string s = std::string(to_string(r.type)) + " " + hex(r.addr) + " " + hex(r.len());
    switch (r.type) {
    case RecordType::Mmap:
        s += " " + prot_name(sys::mmap_prot(r.arg()));
        if (sys::mmap_folio_log2(r.arg()) != 0)
            s += " folio=" + std::to_string(std::uint64_t{1} << sys::mmap_folio_log2(r.arg()));
        break;
    case RecordType::Mprotect: s += " " + prot_name(r.arg()); break;
    case RecordType::Madvise: s += " " + advice_name(r.arg()); break;
    default: break;
    }
    return s + " @" + std::to_string(r.core);
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
