// SPDX-License-Identifier: GPL-2.0-only
#include "traces/prefetch_reader.hh"

#include <algorithm>

namespace mmusim::traces {

PrefetchReader::PrefetchReader(std::unique_ptr<TraceReader> inner, std::size_t batch, std::size_t depth)
    : inner_(std::move(inner)), batch_(std::max<std::size_t>(batch, 1)), depth_(std::max<std::size_t>(depth, 1))
{
}

PrefetchReader::~PrefetchReader()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable())
        worker_.join();
}

void PrefetchReader::work()
{
    for (;;) {
        Item item;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (!spare_.empty()) {
                item.records.swap(spare_.back());
                spare_.pop_back();
            }
        }
        try {
            item.more = inner_->next_batch(item.records, batch_);
        } catch (...) {
            item.error = std::current_exception();
            item.more = false;
        }
        bytes_.store(inner_->bytes_read(), std::memory_order_relaxed);
        line_.store(inner_->line(), std::memory_order_relaxed);
        const bool last = !item.more;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stop_ || ready_.size() < depth_; });
            if (stop_)
                return;
            ready_.push_back(std::move(item));
        }
        cv_.notify_all();
        if (last)
            return;
    }
}

bool PrefetchReader::next_batch(std::vector<TraceRecord>& out, std::size_t max)
{
    out.clear();
    max = std::max<std::size_t>(max, 1);
    while (current_pos_ == current_.size()) {
        if (done_)
            return false;
        if (!worker_.joinable())
            worker_ = std::thread(&PrefetchReader::work, this);
        Item item;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return !ready_.empty(); });
            item = std::move(ready_.front());
            ready_.pop_front();
            current_.clear();
            spare_.push_back(std::move(current_));
        }
        cv_.notify_all();
        current_ = std::move(item.records);
        current_pos_ = 0;
        if (item.error) {
            done_ = true;
            current_.clear();
            std::rethrow_exception(item.error);
        }
        if (!item.more) {
            done_ = true;
            current_.clear();
            return false;
        }
    }
    if (current_pos_ == 0 && current_.size() <= max) {
        // The whole batch fits: hand it over without copying (the caller's vector becomes a spare later).
        out.swap(current_);
        current_pos_ = current_.size();
        return true;
    }
    const std::size_t n = std::min(max, current_.size() - current_pos_);
    out.assign(current_.begin() + static_cast<std::ptrdiff_t>(current_pos_),
               current_.begin() + static_cast<std::ptrdiff_t>(current_pos_ + n));
    current_pos_ += n;
    return true;
}

} // namespace mmusim::traces
