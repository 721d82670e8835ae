// SPDX-License-Identifier: GPL-2.0-only
// The valgrind lackey reader: record forms, the M split, banner lines, errors, boundaries, the shipped sample.
#include "tests/traces/trace_test_util.hh"

#include <map>

namespace mmusim::traces {
namespace {

using test::parse_error;
using test::parse_file;
using test::rec;
constexpr auto R = AccessKind::Read;
constexpr auto W = AccessKind::Write;
constexpr auto X = AccessKind::Fetch;

TEST(LackeyReader, RecordForms)
{
    const std::string text = "I  04010a0,3\n"
                             " L 1ffefffd88,8\n"
                             " S 1ffefffd80,4\n"
                             " M 0601040,16\n"
                             "I  0401AB70,15\n"       // upper-case hex
                             "I  10,1\n"              // fewer than 8 digits
                             " L fffffffffffffff8,8\n" // 16 digits, ending at the last byte of 2^64
                             " L 00000000000000000000000000001234,2\n"; // leading zeros beyond 16 digits
    test::expect_records(parse_file("lackey", text),
                         {rec(X, 0x4010a0, 3), rec(R, 0x1ffefffd88, 8), rec(W, 0x1ffefffd80, 4),
                          rec(R, 0x601040, 16), rec(W, 0x601040, 16), rec(X, 0x401ab70, 15), rec(X, 0x10, 1),
                          rec(R, ~Addr{7}, 8), rec(R, 0x1234, 2)});
}

TEST(LackeyReader, BannerBlankLinesCrlfAndNoFinalNewline)
{
    const std::string text = "==3111== Lackey, an example Valgrind tool\n"
                             "==3111== Command: /bin/true\n"
                             "==3111== \n"
                             "\n"
                             "I  0401ab70,3\r\n"
                             "  \t\n"
                             "==\n"
                             " S 1fff000708,8\n"
                             "==3111== Exit code:       0\n"
                             " M 1fff000700,4"; // no newline at the end
    test::expect_records(parse_file("lackey", text), {rec(X, 0x401ab70, 3), rec(W, 0x1fff000708, 8),
                                                      rec(R, 0x1fff000700, 4), rec(W, 0x1fff000700, 4)});
}

TEST(LackeyReader, EveryRecordIsCoreZero)
{
    for (const TraceRecord& r : parse_file("lackey", "I  1000,4\n L 2000,8\n S 3000,8\n M 4000,8\n"))
        EXPECT_EQ(r.core, 0u);
}

TEST(LackeyReader, ModifySplitsAcrossBatches)
{
    test::ScratchDir dir;
    const std::string path = dir.write("m.trace", " M 10,4\n M 20,8\nI  30,2\n");
    const std::vector<TraceRecord> want = {rec(R, 0x10, 4), rec(W, 0x10, 4), rec(R, 0x20, 8), rec(W, 0x20, 8),
                                           rec(X, 0x30, 2)};
    for (std::size_t max : {1, 2, 3, 4, 5, 100}) {
        SCOPED_TRACE(max);
        auto r = ReaderRegistry::instance().open("lackey", path);
        test::expect_records(test::read_all(*r, max), want);
    }
    // With max 3 the Write half of the second M is held over to the next batch.
    auto r = ReaderRegistry::instance().open("lackey", path);
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r->next_batch(b, 3));
    test::expect_records(b, {want[0], want[1], want[2]});
    ASSERT_TRUE(r->next_batch(b, 3));
    test::expect_records(b, {want[3], want[4]});
    EXPECT_FALSE(r->next_batch(b, 3));
    EXPECT_EQ(r->line(), 3u);
}

TEST(LackeyReader, ModifyAsTheLastLineWithMaxOne)
{
    test::ScratchDir dir;
    auto r = ReaderRegistry::instance().open("lackey", dir.write("m.trace", " M abc,2\n"));
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r->next_batch(b, 1));
    test::expect_records(b, {rec(R, 0xabc, 2)});
    ASSERT_TRUE(r->next_batch(b, 1));
    test::expect_records(b, {rec(W, 0xabc, 2)});
    EXPECT_FALSE(r->next_batch(b, 1));
    EXPECT_TRUE(b.empty());
}

struct Bad {
    const char* line;
    const char* message;
};

TEST(LackeyReader, EveryErrorNamesFileLineAndProblem)
{
    const Bad bads[] = {
        {"SB 04010a0",
         "expected a lackey record ('I  addr,size', ' L', ' S' or ' M addr,size') or a '==' line, got 'SB 04010a0'"},
        {" X 1000,4", "got ' X 1000,4'"},
        {" l 1000,4", "got ' l 1000,4'"},
        {"L 1000,4", "got 'L 1000,4'"},
        {"=1= banner", "got '=1= banner'"},
        {"--3111-- verbose", "got '--3111-- verbose'"},
        {" \t x", "got ' \\x09 x'"},
        {"I 0401ab70,3", "expected 'I' and two spaces, got 'I 0401ab70,3'"},
        {"I", "expected 'I' and two spaces, got 'I'"},
        {"I\t0401ab70,3", "expected 'I' and two spaces, got 'I\\x090401ab70,3'"},
        {" L1000,4", "expected ' L' and one space, got ' L1000,4'"},
        {" S\t1000,4", "expected ' S' and one space, got ' S\\x091000,4'"},
        {"I   0401ab70,3", "expected a hex address, got ' '"},
        {" L  1000,4", "expected a hex address, got ' '"},
        {"I  zz,3", "expected a hex address, got 'zz,3'"},
        {"I  0x401,3", "expected ',' after the address, got 'x401,3'"},
        {"I  ,3", "expected a hex address, got ',3'"},
        {"I  10000000000000000,1", "address '10000000000000000' does not fit in 64 bits"},
        {"I  0401ab70;3", "expected ',' after the address, got ';3'"},
        {"I  0401ab70 3", "expected ',' after the address, got ' '"},
        {"I  0401ab70", "expected ',' after the address, got end of line"},
        {"I  0401ab70,", "expected a decimal size after ',', got end of line"},
        {"I  0401ab70,x", "expected a decimal size after ',', got 'x'"},
        {"I  0401ab70,-3", "expected a decimal size after ',', got '-3'"},
        {"I  0401ab70,0", "size must be > 0"},
        {"I  0401ab70,4294967296", "size '4294967296' too large (must be < 4G)"},
        {" M ffffffffffffffff,2", "access of 2 bytes at 0xffffffffffffffff wraps past the top of the 64-bit address space"},
        {"I  fffffffffffffffe,4", "access of 4 bytes at 0xfffffffffffffffe wraps"},
        {"I  0401ab70,3x", "trailing garbage 'x'"},
        {"I  0401ab70,0x3", "trailing garbage 'x3'"},
        {"I  0401ab70,3 ", "trailing garbage ' '"},
        {"I  0401ab70,3\r\r", "trailing garbage '\\x0d'"},
        {"I  0401ab70,3,4", "trailing garbage ',4'"},
        {" M 0401ab70,8 junk", "trailing garbage ' junk'"},
        {"I  0401ab70,0 junk", "trailing garbage ' junk'"},
    };
    for (const Bad& b : bads) {
        SCOPED_TRACE(b.line);
        // A banner line, a record and a blank line first, so the bad one is line 4.
        const std::string msg =
            parse_error("lackey", std::string("==1== hi\nI  1000,4\n\n") + b.line + "\nI  2000,4\n");
        EXPECT_NE(msg.find("/bad.trace:4: "), std::string::npos) << msg;
        EXPECT_NE(msg.find(b.message), std::string::npos) << msg;
    }
}

TEST(LackeyReader, RecordsBeforeAnErrorComeFirstThenTheErrorSticks)
{
    test::ScratchDir dir;
    auto r = ReaderRegistry::instance().open("lackey", dir.write("s.trace", "I  10,1\n M 20,2\nbogus\nI  30,1\n"));
    std::vector<TraceRecord> b;
    // The batch ends at the bad line with the records before it...
    ASSERT_TRUE(r->next_batch(b, 100));
    test::expect_records(b, {rec(X, 0x10, 1), rec(R, 0x20, 2), rec(W, 0x20, 2)});
    EXPECT_EQ(r->line(), 3u);
    // ...and from then on every call throws the same error, leaving the batch empty.
    for (int i = 0; i < 2; ++i) {
        try {
            r->next_batch(b, 100);
            FAIL() << "no throw";
        } catch (const TraceError& e) {
            EXPECT_EQ(e.line, 3u);
            EXPECT_NE(std::string(e.what()).find("s.trace:3: expected a lackey record"), std::string::npos) << e.what();
        }
        EXPECT_TRUE(b.empty());
        EXPECT_EQ(r->line(), 3u);
    }
}

TEST(LackeyReader, ErrorRightAfterAFullBatch)
{
    test::ScratchDir dir;
    auto r = ReaderRegistry::instance().open("lackey", dir.write("s.trace", "I  10,1\nI  20,1\nI  30\n"));
    std::vector<TraceRecord> b;
    ASSERT_TRUE(r->next_batch(b, 2));
    EXPECT_EQ(b.size(), 2u);
    EXPECT_THROW(r->next_batch(b, 2), TraceError);
    EXPECT_TRUE(b.empty());
}

// A lackey trace bigger than several read blocks, with the line lengths lackey produces.
std::string big_trace(std::size_t lines, std::vector<TraceRecord>& want)
{
    std::string s = "==42== Lackey, an example Valgrind tool\n==42== \n";
    std::uint64_t x = 777;
    char buf[64];
    for (std::size_t i = 0; i < lines; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const unsigned what = static_cast<unsigned>((x >> 33) % 10);
        const std::uint64_t addr = (x >> 20) >> ((x >> 5) % 44);
        const unsigned size = 1 + static_cast<unsigned>((x >> 9) % 64);
        int n;
        if (what < 6) {
            n = std::snprintf(buf, sizeof buf, "I  %08llx,%u\n", static_cast<unsigned long long>(addr), size);
            want.push_back(rec(X, addr, size));
        } else {
            const char op = what < 8 ? 'L' : what < 9 ? 'S' : 'M';
            n = std::snprintf(buf, sizeof buf, " %c %08llx,%u\n", op, static_cast<unsigned long long>(addr), size);
            want.push_back(rec(op == 'S' ? W : R, addr, size));
            if (op == 'M')
                want.push_back(rec(W, addr, size));
        }
        s.append(buf, static_cast<std::size_t>(n));
        if (i % 50000 == 0)
            s += "==42== a message in the middle\n";
    }
    s += "==42== \n==42== Exit code:       0\n";
    return s;
}

TEST(LackeyReader, BigTraceStraddlesBufferBoundaries)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(300000, want);
    ASSERT_GT(text.size(), std::size_t{4} << 20);
    test::ScratchDir dir;
    const std::string path = dir.write("big.lackey", text);
    for (std::size_t batch : {std::size_t{999}, std::size_t{4096}}) {
        auto r = ReaderRegistry::instance().open("lackey", path);
        test::expect_records(test::read_all(*r, batch), want);
        EXPECT_EQ(r->bytes_read(), text.size());
    }
}

TEST(LackeyReader, TinyReadsStraddleEveryByte)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(5000, want);
    auto r = test::make_reader("lackey", std::make_unique<test::ChunkyStream>(text));
    test::expect_records(test::read_all(*r, 33), want);
}

TEST(LackeyReader, ErrorLineNumberAfterManyBlocks)
{
    std::vector<TraceRecord> want;
    std::string text = big_trace(300000, want);
    std::size_t lines = 0;
    for (char c : text)
        lines += c == '\n';
    text += "I  0401ab70,3\nP  0401ab70,3\n";
    const std::string msg = parse_error("lackey", text);
    EXPECT_NE(msg.find("/bad.trace:" + std::to_string(lines + 2) + ": expected a lackey record"), std::string::npos)
        << msg;
}

TEST(LackeyReader, GzipAndXzTraces)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(60000, want);
    test::ScratchDir dir;
    auto rg = ReaderRegistry::instance().open("lackey", dir.write("t.lackey.gz", test::gzip(text)));
    test::expect_records(test::read_all(*rg), want);
    auto rx = ReaderRegistry::instance().open("lackey", dir.write("t.lackey.xz", test::xz(text, 0)));
    test::expect_records(test::read_all(*rx), want);
}

TEST(LackeyReader, TruncatedCompressedTraceRaises)
{
    std::vector<TraceRecord> want;
    const std::string text = big_trace(20000, want);
    const std::string gz = test::gzip(text), xz = test::xz(text, 0);
    const std::string mg = parse_error("lackey", gz.substr(0, gz.size() / 2), "cut.lackey.gz");
    EXPECT_NE(mg.find("cut.lackey.gz: truncated gzip stream"), std::string::npos) << mg;
    const std::string mx = parse_error("lackey", xz.substr(0, xz.size() / 2), "cut.lackey.xz");
    EXPECT_NE(mx.find("cut.lackey.xz: truncated xz stream"), std::string::npos) << mx;
}

TEST(LackeyReader, ShippedSampleParses)
{
    // valgrind --tool=lackey --trace-mem=yes /bin/true (see traces/samples/README.md).
    auto r = ReaderRegistry::instance().open("lackey", test::source_dir() + "/traces/samples/lackey_true.txt.xz");
    const auto all = test::read_all(*r);
    std::map<AccessKind, std::size_t> kinds;
    std::size_t read_then_write = 0; // what an M line turns into (an L then S of the same bytes can look alike)
    for (std::size_t i = 0; i < all.size(); ++i) {
        ++kinds[all[i].kind];
        EXPECT_EQ(all[i].core, 0u);
        EXPECT_GT(all[i].size, 0u);
        if (i > 0 && all[i].kind == W && all[i - 1].kind == R && all[i].addr == all[i - 1].addr &&
            all[i].size == all[i - 1].size)
            ++read_then_write;
    }
    EXPECT_GT(all.size(), 100000u);
    EXPECT_LT(all.size(), 1000000u);
    EXPECT_GT(r->line(), 100000u);
    EXPECT_GT(kinds[X], all.size() / 2); // mostly instruction fetches
    EXPECT_GT(kinds[R], 10000u);
    EXPECT_GT(kinds[W], 5000u);
    EXPECT_GT(kinds[R], kinds[W]);
    EXPECT_GT(read_then_write, 500u);
    // Fetches come from the dynamic loader's and the program's code, loads and stores hit the stack too.
    EXPECT_TRUE(std::any_of(all.begin(), all.end(),
                            [](const TraceRecord& t) { return t.kind == W && t.addr > 0x1000000000ull; }));
}

} // namespace
} // namespace mmusim::traces
