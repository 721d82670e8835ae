// SPDX-License-Identifier: GPL-2.0-only
// A TraceReader that parses ahead on its own thread: while the simulation consumes one batch, the next ones
// are being read and decompressed. Records and errors come out in exactly the order the wrapped reader
// produces them (an error after the records that preceded it), so results do not depend on the thread.
#pragma once

#include "traces/trace_reader.hh"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace mmusim::traces {

class PrefetchReader : public TraceReader {
public:
    // `batch`: records per read-ahead batch; `depth`: batches kept ready.
    explicit PrefetchReader(std::unique_ptr<TraceReader> inner, std::size_t batch = 16384, std::size_t depth = 4);
    ~PrefetchReader() override;
    PrefetchReader(const PrefetchReader&) = delete;
    PrefetchReader& operator=(const PrefetchReader&) = delete;

    bool next_batch(std::vector<TraceRecord>& out, std::size_t max) override;
    std::uint64_t bytes_read() const override { return bytes_.load(std::memory_order_relaxed); }
    std::uint64_t line() const override { return line_.load(std::memory_order_relaxed); }
    // Must come before the first next_batch (the read-ahead starts there).
    void set_limits(const RecordLimits& limits) override { inner_->set_limits(limits); }

private:
    struct Item {
        std::vector<TraceRecord> records;
        bool more = true;
        std::exception_ptr error;
    };
    void work();

    std::unique_ptr<TraceReader> inner_;
    std::size_t batch_;
    std::size_t depth_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> ready_;
    std::vector<std::vector<TraceRecord>> spare_; // consumed batches, reused by the worker
    std::vector<TraceRecord> current_;            // the batch being handed out
    std::size_t current_pos_ = 0;
    bool done_ = false;                           // the consumer has seen the end or an error
    bool stop_ = false;
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> line_{0};
    std::thread worker_;
};

} // namespace mmusim::traces
