// SPDX-License-Identifier: GPL-2.0-only
// Reader for mmusim's native text traces, one access a line:
//
//   OP ADDR [SIZE] [@CORE] [# comment]
//
// OP is R (data read), W (data write) or X (instruction fetch); ADDR is 0x-prefixed hex or decimal; SIZE is
// decimal or 0x-prefixed hex with an optional binary K/M/G suffix, default 1, 0 < SIZE < 4G; CORE is decimal,
// default 0, at most 65535. Fields are separated by spaces or tabs. '#' starts a comment; blank lines are
// allowed. Anything else is an error naming file and line. See docs/TRACES.md.
//
// A line may also be a system call of the traced process (lowercase keyword; off the hot path, parsed by
// parse_syscall()):
//
//   mmap ADDR LEN [PROT] [folio=SIZE] [@CORE] | munmap ADDR LEN [@CORE] | mprotect ADDR LEN PROT [@CORE]
//   | madvise ADDR LEN ADVICE [@CORE]
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
    // The system call record at p (its keyword starts with a lowercase letter) into r; returns its line's end.
    const char* parse_syscall(TraceRecord& r, const char* p, std::size_t n, std::uint64_t line);
    // A number (0x-prefixed hex or decimal) with an optional binary K/M/G suffix when `suffix`; false if the
    // field is not one or does not fit in 64 bits. Advances p past the digits (and suffix).
    static bool number(const char*& p, std::uint64_t& v, bool suffix);
};

bool NativeReader::number(const char*& p, std::uint64_t& v, bool suffix)
{
    v = 0;
    bool overflow = false;
    const char* digits = p;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        digits = p;
        for (unsigned d; (d = hex_digit(*p)) <= 15; ++p) {
            overflow |= (v >> 60) != 0;
            v = (v << 4) | d;
        }
    } else {
        for (unsigned d; (d = dec_digit(*p)) <= 9; ++p) {
            overflow |= v > (~std::uint64_t{0} - d) / 10;
            v = v * 10 + d;
        }
    }
    if (p == digits)
        return false;
    unsigned shift = 0;
    if (suffix) {
        switch (*p) {
        case 'K': case 'k': shift = 10; ++p; break;
        case 'M': case 'm': shift = 20; ++p; break;
        case 'G': case 'g': shift = 30; ++p; break;
        default: break;
        }
    }
    if (shift && (v >> (64 - shift)) != 0)
        overflow = true;
    v <<= shift;
    return ends_field(*p) && !overflow;
}

const char* NativeReader::parse_syscall(TraceRecord& r, const char* p, const std::size_t n, const std::uint64_t line)
{
    const char* const k0 = p;
    const char* const k1 = field_end(p);
    const std::string kw(k0, k1);
    if (kw == "mmap")
        r.type = RecordType::Mmap;
    else if (kw == "munmap")
        r.type = RecordType::Munmap;
    else if (kw == "mprotect")
        r.type = RecordType::Mprotect;
    else if (kw == "madvise")
        r.type = RecordType::Madvise;
    else
        fail(n, line, "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got " + parse::quote(k0, k1));
    r.core = 0;
    r.set_arg(0);
    const auto at_end = [](const char* q) { return *q == '\n' || *q == '#'; };
    p = skip_blanks(k1);

    // ADDR
    if (at_end(p) || *p == '@')
        fail(n, line, kw + ": missing ADDR");
    const char* const a0 = p;
    std::uint64_t addr;
    if (!number(p, addr, false))
        fail(n, line, kw + ": bad ADDR " + parse::quote(a0, field_end(a0)) +
                          " (expected 0x-prefixed hex or decimal, at most 64 bits)");
    if (addr % sys::kLenUnit)
        fail(n, line, kw + ": ADDR " + parse::quote(a0, p) + " is not a multiple of 4K");
    r.addr = addr;
    p = skip_blanks(p);

    // LEN
    if (at_end(p) || *p == '@')
        fail(n, line, kw + ": missing LEN");
    const char* const l0 = p;
    std::uint64_t len;
    if (!number(p, len, true))
        fail(n, line, kw + ": bad LEN " + parse::quote(l0, field_end(l0)) +
                          " (expected decimal or 0x-prefixed hex, optionally followed by K, M or G)");
    if (len == 0)
        fail(n, line, kw + ": LEN must be > 0");
    if (len % sys::kLenUnit)
        fail(n, line, kw + ": LEN " + parse::quote(l0, p) + " is not a multiple of 4K");
    if (len / sys::kLenUnit > 0xffffffffu)
        fail(n, line, kw + ": LEN " + parse::quote(l0, p) + " too large (at most 2^32-1 times 4K)");
    r.size = static_cast<std::uint32_t>(len / sys::kLenUnit);
    p = skip_blanks(p);

    // The argument: PROT (mmap: optional, default rw; mprotect: required) or ADVICE (required).
    const auto prot_of = [&](const char* f0, const char* f1, std::uint8_t& prot) {
        const std::string f(f0, f1);
        if (f == "none")
            prot = 0;
        else if (f == "r")
            prot = sys::kProtRead;
        else if (f == "rw")
            prot = sys::kProtRead | sys::kProtWrite;
        else if (f == "rwx")
            prot = sys::kProtRead | sys::kProtWrite | sys::kProtExec;
        else
            return false;
        return true;
    };
    switch (r.type) {
    case RecordType::Mmap: {
        std::uint8_t prot = sys::kProtRead | sys::kProtWrite;
        unsigned folio_log2 = 0;
        if (!at_end(p) && *p != '@' && std::strncmp(p, "folio=", 6) != 0) {
            const char* const f1 = field_end(p);
            if (!prot_of(p, f1, prot))
                fail(n, line, "mmap: bad PROT " + parse::quote(p, f1) + " (expected none, r, rw or rwx)");
            p = skip_blanks(f1);
        }
        if (std::strncmp(p, "folio=", 6) == 0) {
            const char* const f0 = p;
            p += 6;
            std::uint64_t folio;
            if (!number(p, folio, true) || folio < sys::kLenUnit || (folio & (folio - 1)) != 0 ||
                folio > (std::uint64_t{1} << sys::kMaxFolioLog2))
                fail(n, line, "mmap: bad folio " + parse::quote(f0, field_end(f0)) +
                                  " (expected folio=SIZE, a power of two from 4K to 2G)");
            while ((std::uint64_t{1} << folio_log2) < folio)
                ++folio_log2;
            if (folio < limits_.page_size)
                fail(n, line, "mmap: folio " + parse::quote(f0 + 6, p) + " is smaller than the page size (" +
                                  std::to_string(limits_.page_size) + " bytes)");
            p = skip_blanks(p);
        }
        r.set_arg(sys::mmap_arg(prot, folio_log2));
        break;
    }
    case RecordType::Mprotect: {
        if (at_end(p) || *p == '@')
            fail(n, line, "mprotect: missing PROT");
        const char* const f1 = field_end(p);
        std::uint8_t prot = 0;
        if (!prot_of(p, f1, prot))
            fail(n, line, "mprotect: bad PROT " + parse::quote(p, f1) + " (expected none, r, rw or rwx)");
        r.set_arg(prot);
        p = skip_blanks(f1);
        break;
    }
    case RecordType::Madvise: {
        if (at_end(p) || *p == '@')
            fail(n, line, "madvise: missing ADVICE");
        const char* const f1 = field_end(p);
        const std::string f(p, f1);
        const std::uint8_t advice = f == "dontneed" ? sys::kMadvDontneed
                                    : f == "free"   ? sys::kMadvFree
                                    : f == "cold"   ? sys::kMadvCold
                                    : f == "pageout" ? sys::kMadvPageout
                                                     : 0;
        if (advice == 0)
            fail(n, line, "madvise: bad ADVICE " + parse::quote(p, f1) + " (expected dontneed, free, cold or pageout)");
        r.set_arg(advice);
        p = skip_blanks(f1);
        break;
    }
    default:
        break;
    }

    // Core.
    if (*p == '@') {
        const char* const c0 = p++;
        std::uint64_t core = 0;
        const char* const d0 = p;
        for (unsigned d; (d = dec_digit(*p)) <= 9 && core <= 0xffffu; ++p)
            core = core * 10 + d;
        if (p == d0 || (!ends_field(*p) && core <= 0xffffu))
            fail(n, line, kw + ": bad core " + parse::quote(c0, field_end(c0)) + " (expected '@' and a decimal number)");
        if (core > 0xffffu)
            fail(n, line, kw + ": core " + parse::quote(c0, field_end(c0)) + " out of range (max 65535)");
        check_core(n, line, static_cast<unsigned>(core));
        r.core = static_cast<std::uint16_t>(core);
        p = skip_blanks(p);
    }
    if (*p == '#')
        p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end_ - p)));
    else if (*p != '\n')
        fail(n, line, kw + ": trailing garbage " + parse::quote(p, field_end(p)));
    const std::string bad = limits_.check_range(r.addr, r.len());
    if (!bad.empty())
        fail(n, line, kw + ": " + bad);
    return p;
}

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
        const char op = *p;
        if (__builtin_expect(op >= 'a' && op <= 'z', 0)) { // a system call record: off the hot path
            p = parse_syscall(r, p, n, line) + 1;
            ++n;
            continue;
        }
        r.size = 1;
        r.core = 0;
        r.type = RecordType::Access;
        if (op == 'R')
            r.kind = AccessKind::Read;
        else if (op == 'W')
            r.kind = AccessKind::Write;
        else if (op == 'X')
            r.kind = AccessKind::Fetch;
        if ((op != 'R' && op != 'W' && op != 'X') || !ends_field(p[1]))
            fail(n, line, "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got " +
                              parse::quote(p, field_end(p)));
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
