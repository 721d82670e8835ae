// SPDX-License-Identifier: GPL-2.0-only
// The read-ahead wrapper yields exactly what the wrapped reader yields, errors included, in order.
#include "traces/prefetch_reader.hh"
#include "trace_test_util.hh"

#include <gtest/gtest.h>

#include <sstream>

namespace mmusim::traces {
namespace {

std::string native_text(int records)
{
    std::ostringstream s;
    for (int i = 0; i < records; ++i)
        s << "RWX"[i % 3] << " 0x" << std::hex << (0x1000 + i * 64) << std::dec << " " << (1 + i % 8) << "\n";
    return s.str();
}

TEST(PrefetchReader, SameRecordsInTheSameOrder)
{
    test::ScratchDir dir;
    const std::string path = dir.write("p.trace", native_text(100000));
    auto plain = ReaderRegistry::instance().open("native", path);
    const auto want = test::read_all(*plain);
    for (std::size_t batch : {1u, 7u, 4096u, 100000u}) {
        PrefetchReader r(ReaderRegistry::instance().open("native", path), 3000, 2);
        const auto got = test::read_all(r, batch);
        ASSERT_EQ(got.size(), want.size()) << batch;
        for (std::size_t i = 0; i < want.size(); ++i)
            ASSERT_TRUE(test::same(got[i], want[i])) << "record " << i << " batch " << batch;
        EXPECT_GT(r.bytes_read(), 0u);
    }
}

TEST(PrefetchReader, ErrorComesAfterTheRecordsBeforeIt)
{
    test::ScratchDir dir;
    const std::string path = dir.write("e.trace", native_text(10000) + "Q 0x10\n" + native_text(10));
    PrefetchReader r(ReaderRegistry::instance().open("native", path), 4096, 2);
    std::vector<TraceRecord> b;
    std::size_t seen = 0;
    try {
        while (r.next_batch(b, 4096))
            seen += b.size();
        FAIL() << "no error";
    } catch (const TraceError& e) {
        EXPECT_EQ(seen, 10000u);
        EXPECT_EQ(e.line, 10001u);
        EXPECT_NE(std::string(e.what()).find(path + ":10001:"), std::string::npos) << e.what();
    }
}

TEST(PrefetchReader, LimitsReachTheWrappedReader)
{
    test::ScratchDir dir;
    const std::string path = dir.write("c.trace", "R 0x10 @0\nR 0x20 @2\n");
    PrefetchReader r(ReaderRegistry::instance().open("native", path));
    RecordLimits limits;
    limits.cores = 2;
    r.set_limits(limits);
    std::vector<TraceRecord> b;
    EXPECT_THROW(
        while (r.next_batch(b, 16)) {}, TraceError);
}

TEST(PrefetchReader, StopsCleanlyWhenAbandoned)
{
    test::ScratchDir dir;
    const std::string path = dir.write("a.trace", native_text(200000));
    PrefetchReader r(ReaderRegistry::instance().open("native", path), 1000, 2);
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r.next_batch(b, 10));
    EXPECT_EQ(b.size(), 10u);
    // Destroyed here with the worker blocked on a full queue: must join, not hang or crash.
}

} // namespace
} // namespace mmusim::traces
