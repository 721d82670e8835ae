// SPDX-License-Identifier: GPL-2.0-only
// Reader for Valgrind lackey's memory traces (valgrind --tool=lackey --trace-mem=yes), as printed by
// lackey/lk_main.c:
//
//   I  0401ab70,3        instruction fetch: 'I', two spaces, hex address (no 0x), ',', decimal size
//    L 1fff000708,8      data load: space, 'L', space, ...
//    S 1fff000700,8      data store
//    M 1fff0006f8,4      data modify: a load then a store of the same bytes (two records: Read, Write)
//   ==1234== ...         valgrind's own messages: ignored, as are blank lines
//
// Anything else is an error. Every record is core 0. See docs/TRACES.md.
#include "traces/readers/line_buffer.hh"
#include "traces/trace_reader.hh"

namespace mmusim::traces::readers {

namespace {

class LackeyReader final : public TextReader {
public:
    explicit LackeyReader(std::unique_ptr<InputStream> in) : TextReader(std::move(in)) {}

private:
    std::size_t parse_lines(TraceRecord* o, std::size_t max) override;

    bool have_pending_ = false; // the Write half of an M record that did not fit in the last batch
    TraceRecord pending_{};
};

std::size_t LackeyReader::parse_lines(TraceRecord* const o, const std::size_t max)
{
    using parse::dec_digit;
    using parse::describe_token;
    using parse::hex_digit;

    std::size_t n = 0;
    if (have_pending_) {
        o[n++] = pending_;
        have_pending_ = false;
    }

    // Work on locals so that they stay in registers; written back at the end (an error ends the trace).
    const char* p = pos_;
    const char* end = end_;
    std::uint64_t line = line_;
    while (n < max) {
        if (p == end) {
            if (!refill(n, line)) {
                end = p = nullptr;
                break;
            }
            p = pos_;
            end = end_;
        }
        ++line;
        AccessKind kind;
        bool modify = false;
        // The line ends in '\n', so each byte is looked at only after the one before it was found not to be '\n'.
        if (p[0] == 'I' && p[1] == ' ' && p[2] == ' ') {
            kind = AccessKind::Fetch;
            p += 3;
        } else if (p[0] == ' ' && (p[1] == 'L' || p[1] == 'S' || p[1] == 'M') && p[2] == ' ') {
            kind = p[1] == 'S' ? AccessKind::Write : AccessKind::Read;
            modify = p[1] == 'M';
            p += 3;
        } else if (p[0] == '=' && p[1] == '=') {
            p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))) + 1;
            continue;
        } else if (p[0] == '\n') {
            ++p;
            continue;
        } else {
            const char* q = p;
            while (parse::is_blank(*q))
                ++q;
            if (*q == '\n') { // blank line (spaces, tabs, CR only)
                p = q + 1;
                continue;
            }
            if (p[0] == 'I')
                fail(n, line, "expected 'I' and two spaces, got " + parse::quote_rest(p));
            if (p[0] == ' ' && (p[1] == 'L' || p[1] == 'S' || p[1] == 'M'))
                fail(n, line, std::string("expected ' ") + p[1] + "' and one space, got " + parse::quote_rest(p));
            fail(n, line,
                 "expected a lackey record ('I  addr,size', ' L', ' S' or ' M addr,size') or a '==' line, got " +
                     parse::quote_rest(p));
        }

        // Hex address without 0x. lackey prints at least 8 digits: take 8 at once if they are there.
        const char* const a0 = p;
        std::uint64_t addr = 0;
        unsigned d;
        if (parse::hex8(p, addr)) {
            p += 8;
            d = hex_digit(*p);
        } else {
            d = hex_digit(*p);
            if (d > 15)
                fail(n, line, "expected a hex address, got " + describe_token(p));
        }
        while (d <= 15) {
            addr = (addr << 4) | d;
            d = hex_digit(*++p);
        }
        if (p - a0 > 16) {
            const char* s = a0;
            while (*s == '0')
                ++s;
            if (p - s > 16)
                fail(n, line, "address " + parse::quote(a0, p) + " does not fit in 64 bits");
        }
        if (*p != ',')
            fail(n, line, "expected ',' after the address, got " + describe_token(p));
        ++p;

        // Decimal size, 1 .. 4G-1.
        d = dec_digit(*p);
        if (d > 9)
            fail(n, line, "expected a decimal size after ',', got " + describe_token(p));
        const char* const s0 = p;
        std::uint64_t size = d;
        while ((d = dec_digit(*++p)) <= 9) {
            size = size * 10 + d;
            if (size > 0xffffffffu) {
                while (dec_digit(*p) <= 9)
                    ++p;
                fail(n, line, "size " + parse::quote(s0, p) + " too large (must be < 4G)");
            }
        }
        const char* const rest = p;
        if (*p == '\r')
            ++p;
        if (*p != '\n')
            fail(n, line, "trailing garbage " + parse::quote_rest(rest));
        if (size == 0)
            fail(n, line, "size must be > 0");
        check_access(n, line, addr, static_cast<std::uint32_t>(size));
        ++p;

        TraceRecord& r = o[n++];
        r.addr = addr;
        r.size = static_cast<std::uint32_t>(size);
        r.kind = kind;
        r.core = 0;
        if (modify) {
            TraceRecord& w = n < max ? o[n++] : (have_pending_ = true, pending_);
            w.addr = addr;
            w.size = static_cast<std::uint32_t>(size);
            w.kind = AccessKind::Write;
            w.core = 0;
        }
    }
    pos_ = p;
    end_ = end;
    line_ = line;
    return n;
}

MMUSIM_REGISTER_READER(ReaderInfo{
    "lackey",
    "Valgrind lackey --trace-mem=yes output ('I  addr,size', ' L', ' S', ' M'; '==' lines ignored)",
    [](std::unique_ptr<InputStream> in) -> std::unique_ptr<TraceReader> {
        return std::make_unique<LackeyReader>(std::move(in));
    }});

} // namespace

} // namespace mmusim::traces::readers
