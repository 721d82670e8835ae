// SPDX-License-Identifier: GPL-2.0-only
// The readers' shared line buffer and parse helpers.
#include "tests/traces/trace_test_util.hh"
#include "traces/readers/line_buffer.hh"

#include <algorithm>

namespace mmusim::traces {
namespace {

using readers::LineBuffer;

// Concatenation of every run, checking each is made of whole lines.
std::string all_runs(LineBuffer& lb)
{
    std::string out;
    const char *b = nullptr, *e = nullptr;
    std::uint64_t line = 0;
    while (lb.next(b, e, line + 1)) {
        EXPECT_LT(b, e);
        EXPECT_EQ(e[-1], '\n');
        out.append(b, e);
        ++line;
    }
    return out;
}

TEST(LineBuffer, RunsAreWholeLinesAndAFinalNewlineIsAdded)
{
    const std::string text = "first line\n\nthird\na line that is longer than the sixteen byte block\nlast";
    for (std::size_t block : {16, 17, 64, 4096}) {
        SCOPED_TRACE(block);
        LineBuffer lb(std::make_unique<test::ChunkyStream>(text), block);
        EXPECT_EQ(all_runs(lb), text + "\n");
        EXPECT_EQ(lb.bytes_read(), text.size());
        const char *b = nullptr, *e = nullptr;
        EXPECT_FALSE(lb.next(b, e, 99)); // stays at the end
    }
}

TEST(LineBuffer, EmptyInputHasNoRuns)
{
    LineBuffer lb(std::make_unique<test::ChunkyStream>(""));
    const char *b = nullptr, *e = nullptr;
    EXPECT_FALSE(lb.next(b, e, 1));
}

TEST(LineBuffer, GrowsForLongLinesUpToTheLimit)
{
    const std::string text = "a\n" + std::string(100, 'x') + "\nb\n";
    LineBuffer lb(std::make_unique<test::ChunkyStream>(text), 16);
    EXPECT_EQ(all_runs(lb), text);
    EXPECT_GE(lb.capacity(), 101u);
}

TEST(LineBuffer, OverlongLineNamesTheLine)
{
    // Seven lines of 1 MiB-ish and then one of 17 MiB.
    std::string text;
    for (int i = 0; i < 7; ++i)
        text += std::string(1000000, 'a') + "\n";
    text += std::string(17u << 20, 'b') + "\n";
    LineBuffer lb(std::make_unique<test::ChunkyStream>(text, "long.txt"), 1 << 20);
    const char *b = nullptr, *e = nullptr;
    std::uint64_t line = 0;
    try {
        while (lb.next(b, e, line + 1))
            line += static_cast<std::uint64_t>(std::count(b, e, '\n'));
        FAIL() << "no error";
    } catch (const TraceError& err) {
        EXPECT_STREQ(err.what(), "long.txt:8: line longer than 16 MiB");
    }
}

std::uint64_t scalar_hex(const std::string& s, bool& ok)
{
    std::uint64_t v = 0;
    ok = true;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else {
            ok = false;
            return 0;
        }
        v = v << 4 | d;
    }
    return v;
}

TEST(ParseHelpers, Hex8AgreesWithAScalarParserForEveryByteInEveryPosition)
{
    const std::string base = "0aF97bE1";
    for (std::size_t pos = 0; pos < 8; ++pos) {
        for (int c = 0; c < 256; ++c) {
            std::string s = base;
            s[pos] = static_cast<char>(c);
            bool ok;
            const std::uint64_t want = scalar_hex(s, ok);
            std::uint64_t got = 12345;
            ASSERT_EQ(readers::parse::hex8(s.data(), got), ok) << "byte " << c << " at " << pos;
            if (ok) {
                ASSERT_EQ(got, want) << s;
            }
        }
    }
    std::uint64_t v = 0;
    EXPECT_TRUE(readers::parse::hex8("ffffffff", v));
    EXPECT_EQ(v, 0xffffffffu);
    EXPECT_TRUE(readers::parse::hex8("00000000", v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(readers::parse::hex8("01234567", v));
    EXPECT_EQ(v, 0x01234567u);
    EXPECT_TRUE(readers::parse::hex8("89ABCDEF", v));
    EXPECT_EQ(v, 0x89abcdefu);
}

TEST(ParseHelpers, QuoteEscapesAndCutsShort)
{
    const std::string s = "ab\x01\x7f\xff";
    EXPECT_EQ(readers::parse::quote(s.data(), s.data() + s.size()), "'ab\\x01\\x7f\\xff'");
    const std::string longer(100, 'z');
    EXPECT_EQ(readers::parse::quote(longer.data(), longer.data() + longer.size()), "'" + std::string(40, 'z') + "...'");
    EXPECT_EQ(readers::parse::describe_token("\n"), "end of line");
    EXPECT_EQ(readers::parse::describe_token("\r\n"), "end of line");
    EXPECT_EQ(readers::parse::describe_token("abc def\n"), "'abc'");
    EXPECT_EQ(readers::parse::quote_rest("abc def\r\n"), "'abc def'");
}

} // namespace
} // namespace mmusim::traces
