// SPDX-License-Identifier: GPL-2.0-only
// Reader for mmusim's native text traces, one access a line:
//
//   OP ADDR [SIZE] [@CORE] [# comment]
//
// OP is R (data read), W (data write) or X (instruction fetch); ADDR is 0x-prefixed hex or decimal; SIZE is
// decimal or 0x-prefixed hex with an optional binary K/M/G suffix, default 1, 0 < SIZE < 4G; CORE is decimal,
// default 0, at most 65535. Fields are separated by spaces or tabs. '#' starts a comment; blank lines are
// allowed. Anything else is an error naming file and line. See docs/TRACES.md.
#include "traces/readers/line_buffer.hh"
#include "traces/trace_reader.hh"

namespace mmusim::traces::readers {

namespace {

using parse::dec_digit;
using parse::hex_digit;
using parse::is_blank;

// A field ends at a blank, the end of the line or a comment.
inline bool ends_field(char c) { return is_blank(c) || c == '\n' || c == '#'; }

inline const char* skip_blanks(const char* p)
{
    while (is_blank(*p))
        ++p;
    return p;
}

// End of the field at p, for error messages.
inline const char* field_end(const char* p)
{
    while (!ends_field(*p))
        ++p;
    return p;
}

class NativeReader final : public TextReader {
public:
    explicit NativeReader(std::unique_ptr<InputStream> in) : TextReader(std::move(in)) {}

private:
    std::size_t parse_lines(TraceRecord* o, std::size_t max) override;
};

std::size_t NativeReader::parse_lines(TraceRecord* const o, const std::size_t max)
{
    std::size_t n = 0;
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
        p = skip_blanks(p);
        if (*p == '\n') {
            ++p;
            continue;
        }
        if (*p == '#') {
            p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))) + 1;
            continue;
        }

        // Operation.
        TraceRecord& r = o[n]; // may hold a record from an earlier batch: set every field
        r.size = 1;
        r.core = 0;
        const char op = *p;
        if (op == 'R')
            r.kind = AccessKind::Read;
        else if (op == 'W')
            r.kind = AccessKind::Write;
        else if (op == 'X')
            r.kind = AccessKind::Fetch;
        if ((op != 'R' && op != 'W' && op != 'X') || !ends_field(p[1]))
            fail(n, line, "expected R, W or X, got " + parse::quote(p, field_end(p)));
        p = skip_blanks(p + 1);
        if (*p == '\n' || *p == '#')
            fail(n, line, std::string("missing address after '") + op + "'");

        // Address: 0x-prefixed hex or decimal.
        const char* const a0 = p;
        std::uint64_t addr = 0;
        bool overflow = false;
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            p += 2;
            const char* const h0 = p;
            if (parse::hex8(p, addr)) // 8 digits at once when there are that many
                p += 8;
            unsigned d;
            while ((d = hex_digit(*p)) <= 15) {
                overflow |= (addr >> 60) != 0;
                addr = (addr << 4) | d;
                ++p;
            }
            if (p == h0)
                p = a0; // "0x" alone
        } else {
            unsigned d;
            while ((d = dec_digit(*p)) <= 9) {
                overflow |= addr > (~std::uint64_t{0} - d) / 10;
                addr = addr * 10 + d;
                ++p;
            }
        }
        if (p == a0 || !ends_field(*p))
            fail(n, line,
                 "bad address " + parse::quote(a0, field_end(a0)) + " (expected 0x-prefixed hex or decimal)");
        if (overflow)
            fail(n, line, "address " + parse::quote(a0, p) + " does not fit in 64 bits");
        r.addr = addr;
        p = skip_blanks(p);

        // Size: decimal or 0x-prefixed hex, optional K/M/G (binary) suffix.
        if (*p != '@' && *p != '\n' && *p != '#') {
            const char* const s0 = p;
            std::uint64_t size = 0;
            bool big = false;
            const char* digits = p;
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                p += 2;
                digits = p;
                unsigned d;
                while ((d = hex_digit(*p)) <= 15) {
                    size = (size << 4) | d;
                    big |= size > 0xffffffffu;
                    size &= 0x1ffffffffu; // keep it from overflowing; `big` remembers
                    ++p;
                }
            } else {
                unsigned d;
                while ((d = dec_digit(*p)) <= 9) {
                    size = size * 10 + d;
                    big |= size > 0xffffffffu;
                    size &= 0x1ffffffffu;
                    ++p;
                }
            }
            unsigned shift = 0;
            switch (*p) {
            case 'K': case 'k': shift = 10; ++p; break;
            case 'M': case 'm': shift = 20; ++p; break;
            case 'G': case 'g': shift = 30; ++p; break;
            default: break;
            }
            if (p == digits || (shift != 0 && p == digits + 1) || !ends_field(*p))
                fail(n, line,
                     "bad size " + parse::quote(s0, field_end(s0)) +
                         " (expected decimal or 0x-prefixed hex, optionally followed by K, M or G)");
            if (!big && size == 0)
                fail(n, line, "size must be > 0");
            if (big || size > (0xffffffffu >> shift))
                fail(n, line, "size " + parse::quote(s0, p) + " too large (must be < 4G)");
            r.size = static_cast<std::uint32_t>(size << shift);
            p = skip_blanks(p);
        }

        // Core: '@' and a decimal number.
        if (*p == '@') {
            const char* const c0 = p++;
            std::uint32_t core = 0;
            unsigned d;
            while ((d = dec_digit(*p)) <= 9) {
                core = core * 10 + d;
                if (core > 0xffffu) {
                    while (dec_digit(*p) <= 9)
                        ++p;
                    fail(n, line, "core " + parse::quote(c0, p) + " out of range (max 65535)");
                }
                ++p;
            }
            if (p == c0 + 1 || !ends_field(*p))
                fail(n, line,
                     "bad core " + parse::quote(c0, field_end(c0)) + " (expected '@' and a decimal number)");
            check_core(n, line, core);
            r.core = static_cast<std::uint16_t>(core);
            p = skip_blanks(p);
        }

        if (*p == '#')
            p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        else if (*p != '\n')
            fail(n, line, "trailing garbage " + parse::quote(p, field_end(p)));
        check_access(n, line, r.addr, r.size);
        ++p;
        ++n;
    }
    pos_ = p;
    end_ = end;
    line_ = line;
    return n;
}

MMUSIM_REGISTER_READER(ReaderInfo{
    "native",
    "mmusim native text trace ('R|W|X addr [size] [@core]', '#' comments)",
    [](std::unique_ptr<InputStream> in) -> std::unique_ptr<TraceReader> {
        return std::make_unique<NativeReader>(std::move(in));
    }});

} // namespace

} // namespace mmusim::traces::readers
