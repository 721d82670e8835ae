// SPDX-License-Identifier: GPL-2.0-only
// The native text trace reader: every syntax form, every error, buffer boundaries, compression.
#include "tests/traces/trace_test_util.hh"

namespace mmusim::traces {
namespace {

using test::parse_error;
using test::parse_file;
using test::rec;
constexpr auto R = AccessKind::Read;
constexpr auto W = AccessKind::Write;
constexpr auto X = AccessKind::Fetch;

struct Form {
    const char* line;
    TraceRecord want;
};

TEST(NativeReader, EverySyntaxForm)
{
    const Form forms[] = {
        {"R 0x1000", rec(R, 0x1000)},
        {"W 0x1000", rec(W, 0x1000)},
        {"X 0x1000", rec(X, 0x1000)},
        {"R 0X1f", rec(R, 0x1f)},
        {"R 0xABCdef", rec(R, 0xabcdef)},
        {"R 4096", rec(R, 4096)},
        {"R 0", rec(R, 0)},
        {"R 0x0", rec(R, 0)},
        {"R 0xffffffffffffffff", rec(R, ~Addr{0})},
        {"R 18446744073709551615", rec(R, ~Addr{0})},
        {"R 0x00000000000000000000001", rec(R, 1)}, // leading zeros do not count toward 64 bits
        {"R 0x1000 8", rec(R, 0x1000, 8)},
        {"R 0x1000 0x10", rec(R, 0x1000, 16)},
        {"R 0x1000 0X10", rec(R, 0x1000, 16)},
        {"R 0x1000 4K", rec(R, 0x1000, 4096)},
        {"R 0x1000 4k", rec(R, 0x1000, 4096)},
        {"R 0x1000 2M", rec(R, 0x1000, 2u << 20)},
        {"R 0x1000 2m", rec(R, 0x1000, 2u << 20)},
        {"R 0x1000 1G", rec(R, 0x1000, 1u << 30)},
        {"R 0x1000 3g", rec(R, 0x1000, 3u << 30)},
        {"R 0x1000 0x1K", rec(R, 0x1000, 1024)},
        {"R 0x1000 4194303K", rec(R, 0x1000, 0xfffffc00u)},
        {"R 0x1000 4294967295", rec(R, 0x1000, 0xffffffffu)},
        {"R 0x1000 0xffffffff", rec(R, 0x1000, 0xffffffffu)},
        {"R 0x1000 8 @1", rec(R, 0x1000, 8, 1)},
        {"R 0x1000 @7", rec(R, 0x1000, 1, 7)},
        {"R 0x1000 8 @0", rec(R, 0x1000, 8, 0)},
        {"R 0x1000 8 @65535", rec(R, 0x1000, 8, 65535)},
        {"R 0x1000 8 @007", rec(R, 0x1000, 8, 7)},
        {"W\t0x1000\t8\t@2", rec(W, 0x1000, 8, 2)},
        {"   X    0x1000   8    @3   ", rec(X, 0x1000, 8, 3)},
        {"R 0x1000 # comment", rec(R, 0x1000)},
        {"R 0x1000#comment", rec(R, 0x1000)},
        {"R 0x1000 8#comment", rec(R, 0x1000, 8)},
        {"R 0x1000 8 @1# comment # more", rec(R, 0x1000, 8, 1)},
        {"R 0x1000 8\r", rec(R, 0x1000, 8)},
    };
    for (const Form& f : forms) {
        SCOPED_TRACE(f.line);
        const auto got = parse_file("native", std::string(f.line) + "\n");
        test::expect_records(got, {f.want});
    }
}

TEST(NativeReader, CommentsBlankLinesAndNoFinalNewline)
{
    const std::string text = "# a header comment\n"
                             "\n"
                             "   \t \n"
                             "R 0x10 4\n"
                             "  # indented comment\n"
                             "#R 0x20 this line is a comment\n"
                             "\r\n"
                             "W 0x30 2 @1\r\n"
                             "X 0x40"; // no newline at the end
    test::expect_records(parse_file("native", text), {rec(R, 0x10, 4), rec(W, 0x30, 2, 1), rec(X, 0x40)});
}

TEST(NativeReader, EmptyAndCommentOnlyFiles)
{
    EXPECT_TRUE(parse_file("native", "").empty());
    EXPECT_TRUE(parse_file("native", "\n\n# nothing\n   \n").empty());
    EXPECT_TRUE(parse_file("native", "# no newline").empty());
}

struct Bad {
    const char* line;
    const char* message;
};

TEST(NativeReader, EveryErrorNamesFileLineAndProblem)
{
    const Bad bads[] = {
        {"Q 0x10", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'Q'"},
        {"r 0x10", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'r'"},
        {"RW 0x10", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'RW'"},
        {"READ 0x10 8", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'READ'"},
        {"@1 R 0x10", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got '@1'"},
        {"R", "missing address after 'R'"},
        {"W   ", "missing address after 'W'"},
        {"X # comment", "missing address after 'X'"},
        {"R 0x", "bad address '0x' (expected 0x-prefixed hex or decimal)"},
        {"R 0xg1", "bad address '0xg1'"},
        {"R 0x10g", "bad address '0x10g'"},
        {"R 12ab", "bad address '12ab'"},
        {"R -1", "bad address '-1'"},
        {"R x10", "bad address 'x10'"},
        {"R 0x10,8", "bad address '0x10,8'"},
        {"R 0x10000000000000000", "address '0x10000000000000000' does not fit in 64 bits"},
        {"R 18446744073709551616", "address '18446744073709551616' does not fit in 64 bits"},
        {"R 0x10 0", "size must be > 0"},
        {"R 0x10 0x0", "size must be > 0"},
        {"R 0x10 0K", "size must be > 0"},
        {"R 0x10 4G", "size '4G' too large (must be < 4G)"},
        {"R 0x10 4194304K", "size '4194304K' too large"},
        {"R 0x10 4096M", "size '4096M' too large"},
        {"R 0x10 4294967296", "size '4294967296' too large"},
        {"R 0x10 0x100000000", "size '0x100000000' too large"},
        {"R 0x10 99999999999999999999999999", "size '99999999999999999999999999' too large"},
        {"R 0x10 0xfffffffffffffffffffffffff", "too large"},
        {"R 0xfffffffffffffff0 32", "access of 32 bytes at 0xfffffffffffffff0 wraps past the top of the 64-bit address space"},
        {"R 18446744073709551615 2", "access of 2 bytes at 0xffffffffffffffff wraps"},
        {"R 0x10 8Q", "bad size '8Q' (expected decimal or 0x-prefixed hex, optionally followed by K, M or G)"},
        {"R 0x10 K", "bad size 'K'"},
        {"R 0x10 8KB", "bad size '8KB'"},
        {"R 0x10 0x", "bad size '0x'"},
        {"R 0x10 0xK", "bad size '0xK'"},
        {"R 0x10 -8", "bad size '-8'"},
        {"R 0x10 8@1", "bad size '8@1'"},
        {"R 0x10 8 @", "bad core '@' (expected '@' and a decimal number)"},
        {"R 0x10 8 @x", "bad core '@x'"},
        {"R 0x10 8 @1x", "bad core '@1x'"},
        {"R 0x10 8 @0x1", "bad core '@0x1'"},
        {"R 0x10 8 @-1", "bad core '@-1'"},
        {"R 0x10 8 @65536", "core '@65536' out of range (max 65535)"},
        {"R 0x10 8 @99999999999", "core '@99999999999' out of range (max 65535)"},
        {"R 0x10 8 9", "trailing garbage '9'"},
        {"R 0x10 @1 8", "trailing garbage '8'"},
        {"R 0x10 8 @1 extra", "trailing garbage 'extra'"},
        {"R 0x10 8 @1 @2", "trailing garbage '@2'"},
        {"R 0x10 8 \x01", "trailing garbage '\\x01'"},
    };
    for (const Bad& b : bads) {
        SCOPED_TRACE(b.line);
        // Two good lines and a comment first, so the bad one is line 4.
        const std::string msg = parse_error("native", std::string("R 0x1\n# c\nW 0x2 8\n") + b.line + "\nR 0x3\n");
        EXPECT_NE(msg.find("/bad.trace:4: "), std::string::npos) << msg;
        EXPECT_NE(msg.find(b.message), std::string::npos) << msg;
    }
}

TEST(NativeReader, ErrorOnTheLastLineWithoutNewline)
{
    const std::string msg = parse_error("native", "R 0x1\nR 0x2 0");
    EXPECT_NE(msg.find("/bad.trace:2: size must be > 0"), std::string::npos) << msg;
}

TEST(NativeReader, LongBadTokenIsCutShortInTheMessage)
{
    const std::string msg = parse_error("native", "R 0x1 " + std::string(500, 'z') + "\n");
    EXPECT_NE(msg.find("bad size 'zzzz"), std::string::npos) << msg;
    EXPECT_NE(msg.find("...'"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 300u) << msg;
}

TEST(NativeReader, ErrorIsStickyAndLineIsReported)
{
    test::ScratchDir dir;
    auto r = ReaderRegistry::instance().open("native", dir.write("s.trace", "R 0x1\nR 0x2\nbad\nR 0x4\n"));
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r->next_batch(b, 1));
    EXPECT_EQ(r->line(), 1u);
    ASSERT_TRUE(r->next_batch(b, 1));
    EXPECT_EQ(r->line(), 2u);
    std::string first, second;
    try {
        r->next_batch(b, 10); // no records before the bad line in this batch: throws at once
    } catch (const TraceError& e) {
        first = e.what();
        EXPECT_EQ(e.line, 3u);
    }
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(r->line(), 3u);
    try {
        r->next_batch(b, 10);
    } catch (const TraceError& e) {
        second = e.what();
    }
    EXPECT_NE(first.find("s.trace:3: expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'bad'"), std::string::npos) << first;
    EXPECT_EQ(first, second);
}

TEST(NativeReader, BatchesRespectMaxAndEndCleanly)
{
    std::string text;
    for (int i = 0; i < 10; ++i)
        text += "R " + std::to_string(i) + "\n";
    test::ScratchDir dir;
    auto r = ReaderRegistry::instance().open("native", dir.write("b.trace", text));
    std::vector<TraceRecord> b;
    std::vector<std::size_t> sizes;
    while (r->next_batch(b, 4))
        sizes.push_back(b.size());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
    EXPECT_TRUE(b.empty());
    EXPECT_FALSE(r->next_batch(b, 4)); // and stays at the end
    EXPECT_EQ(r->line(), 10u);
    EXPECT_EQ(r->bytes_read(), text.size());

    // max == 0 is taken as 1 rather than looking like the end of the trace.
    auto r0 = ReaderRegistry::instance().open("native", dir.write("b0.trace", "R 1\nR 2\n"));
    ASSERT_TRUE(r0->next_batch(b, 0));
    EXPECT_EQ(b.size(), 1u);

    // A huge max is fine: no call allocates room for more than 2^20 records.
    auto rmax = ReaderRegistry::instance().open("native", dir.write("bmax.trace", text));
    ASSERT_TRUE(rmax->next_batch(b, SIZE_MAX));
    EXPECT_EQ(b.size(), 10u);
    EXPECT_FALSE(rmax->next_batch(b, SIZE_MAX));
}

TEST(NativeReader, ReusedBatchVectorHoldsNoStaleFields)
{
    // The second batch's records take the defaults (size 1, core 0) although the slots held other values.
    test::ScratchDir dir;
    const std::string path = dir.write("s.trace", "W 0x10 8 @3\nX 0x20 2K @9\nR 0x30\nR 0x40\n");
    auto r = ReaderRegistry::instance().open("native", path);
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r->next_batch(b, 2));
    ASSERT_TRUE(r->next_batch(b, 2));
    test::expect_records(b, {rec(R, 0x30), rec(R, 0x40)});
}

// A big trace with every form, records straddling every kind of buffer boundary. Returns the text and fills
// `want` with its records.
std::string big_trace(std::size_t lines, std::vector<TraceRecord>& want)
{
    std::string s;
    std::uint64_t x = 12345;
    char buf[128];
    for (std::size_t i = 0; i < lines; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const std::uint64_t addr = x >> (x % 40);
        const unsigned kind = static_cast<unsigned>((x >> 7) % 3);
        const unsigned size = 1u << ((x >> 11) % 14);
        const unsigned core = static_cast<unsigned>((x >> 17) % 4);
        const char op = "RWX"[kind];
        const auto a = static_cast<unsigned long long>(addr);
        int n;
        switch ((x >> 21) % 7) {
        case 0: n = std::snprintf(buf, sizeof buf, "%c 0x%llx\n", op, a); break;
        case 1: n = std::snprintf(buf, sizeof buf, "%c %llu %u\n", op, a, size); break;
        case 2: n = std::snprintf(buf, sizeof buf, "%c\t0x%llX\t0x%x\t@%u\n", op, a, size, core); break;
        case 3: n = std::snprintf(buf, sizeof buf, "# c%zu\n%c 0x%llx %u @%u # c\n", i, op, a, size, core); break;
        case 4: n = std::snprintf(buf, sizeof buf, "\n  %c 0x%llx @%u\n", op, a, core); break;
        default: n = std::snprintf(buf, sizeof buf, "%c 0x%llx %u @%u\n", op, a, size, core); break;
        }
        s.append(buf, static_cast<std::size_t>(n));
        const unsigned form = static_cast<unsigned>((x >> 21) % 7);
        want.push_back(rec(static_cast<AccessKind>(kind), addr, form == 0 || form == 4 ? 1 : size,
                           static_cast<std::uint16_t>(form == 0 || form == 1 ? 0 : core)));
    }
    return s;
}

TEST(NativeReader, BigTraceStraddlesBufferBoundaries)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(150000, want);
    ASSERT_GT(text.size(), std::size_t{3} << 20); // several 1 MiB blocks
    test::ScratchDir dir;
    const std::string path = dir.write("big.trace", text);
    for (std::size_t batch : {std::size_t{1000}, std::size_t{4096}, std::size_t{65536}}) {
        auto r = ReaderRegistry::instance().open("native", path);
        test::expect_records(test::read_all(*r, batch), want);
        EXPECT_EQ(r->bytes_read(), text.size());
    }
}

TEST(NativeReader, TinyReadsStraddleEveryByte)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(3000, want);
    auto r = test::make_reader("native", std::make_unique<test::ChunkyStream>(text));
    test::expect_records(test::read_all(*r, 17), want);
}

TEST(NativeReader, ErrorLineNumberAfterManyBlocks)
{
    std::vector<TraceRecord> want;
    std::string text = big_trace(150000, want);
    std::size_t lines = 0;
    for (char c : text)
        lines += c == '\n';
    text += "R 0x1 8 junk\n";
    const std::string msg = parse_error("native", text);
    EXPECT_NE(msg.find("/bad.trace:" + std::to_string(lines + 1) + ": trailing garbage 'junk'"), std::string::npos)
        << msg;
}

TEST(NativeReader, LinesLongerThanTheBlockAreFine)
{
    // A 3 MiB comment line and a record padded with 2 MiB of blanks: the buffer grows to hold them.
    const std::string text = "#" + std::string(3 << 20, 'c') + "\nR 0x10" + std::string(2 << 20, ' ') + "8\nW 0x20\n";
    test::expect_records(parse_file("native", text), {rec(R, 0x10, 8), rec(W, 0x20)});
}

TEST(NativeReader, OverlongLineIsAnError)
{
    const std::string text = "R 0x1\n#" + std::string(17 << 20, 'c') + "\n";
    const std::string msg = parse_error("native", text);
    EXPECT_NE(msg.find("/bad.trace:2: line longer than 16 MiB"), std::string::npos) << msg;
}

TEST(NativeReader, GzipAndXzTraces)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(40000, want);
    test::ScratchDir dir;
    const std::string gz = test::gzip(text), xz = test::xz(text, 0);
    auto rg = ReaderRegistry::instance().open("native", dir.write("t.trace.gz", gz));
    test::expect_records(test::read_all(*rg), want);
    EXPECT_EQ(rg->bytes_read(), gz.size()); // progress counts compressed bytes
    auto rx = ReaderRegistry::instance().open("native", dir.write("t.trace.xz", xz));
    test::expect_records(test::read_all(*rx), want);
    EXPECT_EQ(rx->bytes_read(), xz.size());
}

TEST(NativeReader, TruncatedTraceYieldsWhatCouldBeReadThenRaises)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(100000, want);
    const std::string gz = test::gzip(text), xz = test::xz(text, 0);
    test::ScratchDir dir;
    for (const std::string& path : {dir.write("cut.trace.gz", gz.substr(0, gz.size() / 2)),
                                    dir.write("cut.trace.xz", xz.substr(0, xz.size() / 2))}) {
        SCOPED_TRACE(path);
        auto r = ReaderRegistry::instance().open("native", path);
        std::vector<TraceRecord> got, b;
        std::string msg;
        try {
            while (r->next_batch(b, 1000))
                got.insert(got.end(), b.begin(), b.end());
        } catch (const TraceError& e) {
            msg = e.what();
            EXPECT_EQ(e.line, 0u);
        }
        EXPECT_NE(msg.find(": truncated"), std::string::npos) << msg;
        // About half the records came out, and they are the trace's first ones.
        EXPECT_GT(got.size(), want.size() / 3);
        ASSERT_LT(got.size(), want.size());
        for (std::size_t i = 0; i < got.size(); ++i)
            ASSERT_TRUE(test::same(got[i], want[i])) << i;
        EXPECT_GT(r->line(), 0u);
        EXPECT_THROW(r->next_batch(b, 1000), TraceError); // sticky
    }
}

TEST(NativeReader, TruncatedCompressedTraceRaises)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(20000, want);
    const std::string gz = test::gzip(text), xz = test::xz(text, 0);
    const std::string mg = parse_error("native", gz.substr(0, gz.size() - 100), "cut.trace.gz");
    EXPECT_NE(mg.find("cut.trace.gz: truncated gzip stream"), std::string::npos) << mg;
    const std::string mx = parse_error("native", xz.substr(0, xz.size() - 100), "cut.trace.xz");
    EXPECT_NE(mx.find("cut.trace.xz: truncated xz stream"), std::string::npos) << mx;
}

TEST(NativeReader, ShippedSampleParses)
{
    auto r = ReaderRegistry::instance().open("native", test::source_dir() + "/traces/samples/native_example.txt");
    const auto all = test::read_all(*r);
    ASSERT_EQ(all.size(), 16u);
    EXPECT_TRUE(test::same(all[0], rec(X, 0x400000, 4)));
    EXPECT_TRUE(test::same(all[5], rec(R, 0x601000, 4096)));
    EXPECT_TRUE(test::same(all[13], rec(R, 0x200000, 2u << 20, 1)));
}

} // namespace
} // namespace mmusim::traces
