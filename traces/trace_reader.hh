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

// What a record may name, set by whoever runs the trace on a platform: anything outside is an error on the
// record's own line, never an alias (a VA wider than the page-table format would index the same PTE as a lower
// one) or a wrap past 2^64.
struct RecordLimits {
    unsigned cores = 0x10000;     // records may name cores [0, cores)
    unsigned max_cores = 0x10000; // the most the platform can be given (--set cores=N), for the message
    Addr va_last = ~Addr{0};      // the last byte a record may touch
    std::string va_space;         // names the VA range in a message, e.g. "arm64 4K granule, 48-bit VA"
    std::uint64_t page_size = 4096; // system call records: ADDR, LEN and folio= must be multiples of it
    // How check_core() names what `@k` selects when it is not a core (an experiment: the process's threads),
    // e.g. "thread 2 but process 'app' has 2 thread(s) (EXPERIMENT:LINE: key threads)"; empty: cores.
    std::function<std::string(unsigned)> core_message;

    // Empty if the access of `size` bytes at `addr` fits, else why not.
    std::string check_access(Addr addr, std::uint32_t size) const;
    std::string check_core(unsigned core) const;
    // Empty if the system call record's range [addr, addr + len) fits and is aligned to page_size, else why not.
    std::string check_range(Addr addr, std::uint64_t len) const;
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
    // Records outside `limits` are errors naming their line (the replayer sets the platform's). Must come
    // before the first next_batch.
    virtual void set_limits(const RecordLimits& limits) = 0;
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
