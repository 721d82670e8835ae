// SPDX-License-Identifier: GPL-2.0-only
// Trace reader interface and the one registry of reader plugins (native, lackey, ...).
//
// Readers pull bytes from an InputStream (plain file, stdin, .gz, .xz) and hand out records in batches, so
// memory stays flat whatever the trace length. A malformed line throws TraceError naming file and line.
#pragma once

#include "traces/input_stream.hh"
#include "traces/trace_record.hh"

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mmusim::traces {

struct TraceError : std::runtime_error {
    TraceError(const std::string& file, std::uint64_t line, const std::string& msg);
    std::string file;
    std::uint64_t line;
};

class TraceReader {
public:
    virtual ~TraceReader() = default;
    // Fill `out` with up to `max` records (out is cleared first). Returns false at end of trace with out
    // empty. Throws TraceError on a malformed record or a truncated/corrupt compressed stream.
    virtual bool next_batch(std::vector<TraceRecord>& out, std::size_t max) = 0;
    // Input bytes consumed so far (compressed bytes for .gz/.xz), for progress reporting.
    virtual std::uint64_t bytes_read() const = 0;
    // Current line number (last line parsed).
    virtual std::uint64_t line() const = 0;
    // Records for core >= `cores` are errors naming their line (the replayer sets the platform's core count).
    virtual void set_core_count(unsigned cores) = 0;
};

struct ReaderInfo {
    std::string name;
    std::string description;
    std::function<std::unique_ptr<TraceReader>(std::unique_ptr<InputStream>)> make;
};

class ReaderRegistry {
public:
    static ReaderRegistry& instance();
    bool add(ReaderInfo info);
    const ReaderInfo* find(const std::string& name) const;
    std::vector<const ReaderInfo*> all() const; // sorted by name
    // Opens `path` ("-" is stdin; .gz/.xz decompressed) with the named reader. Throws TraceError.
    std::unique_ptr<TraceReader> open(const std::string& format, const std::string& path) const;

private:
    std::vector<ReaderInfo> readers_;
};

#define MMUSIM_READER_CONCAT2(a, b) a##b
#define MMUSIM_READER_CONCAT(a, b) MMUSIM_READER_CONCAT2(a, b)
#define MMUSIM_REGISTER_READER(...)                                                                          \
    static const bool MMUSIM_READER_CONCAT(mmusim_reader_registered_, __LINE__) =                          \
        ::mmusim::traces::ReaderRegistry::instance().add(__VA_ARGS__)

} // namespace mmusim::traces
