// SPDX-License-Identifier: GPL-2.0-only
// Line buffer shared by the text trace readers, their common base class, and the small helpers they use to parse
// in place.
//
// LineBuffer reads large blocks from an InputStream and hands out runs of whole lines, each ending in '\n' (a
// final line without one gets one), so a parser can scan up to '\n' without checking for the buffer's end. A
// line cut by a block boundary is moved to the front of the buffer and completed by the next read. At least
// LineBuffer::kSlack readable bytes follow the end of every run, so a parser may load a few bytes at once (their
// values past the line's '\n' are unspecified).
#pragma once

#include "traces/input_stream.hh"
#include "traces/trace_reader.hh"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mmusim::traces::readers {

class LineBuffer {
public:
    static constexpr std::size_t kDefaultBlock = std::size_t{1} << 20; // 1 MiB
    static constexpr std::size_t kMaxLine = std::size_t{16} << 20;     // longer lines are an error
    static constexpr std::size_t kSlack = 16;                          // readable bytes after a run

    explicit LineBuffer(std::unique_ptr<InputStream> in, std::size_t block = kDefaultBlock)
        : in_(std::move(in)), cap_(block < 16 ? 16 : block), buf_(allocate(cap_))
    {
    }

    // Sets [begin, end) to the next run of whole lines, each ending in '\n', and returns true; returns false at
    // end of input. Invalidates the previous run. `next_line` is only used to name the line in an error.
    bool next(const char*& begin, const char*& end, std::uint64_t next_line)
    {
        const std::size_t tail = data_end_ - lines_end_; // a partial line left over, holding no '\n'
        if (tail != 0 && lines_end_ != 0)
            std::memmove(buf_.get(), buf_.get() + lines_end_, tail);
        data_end_ = tail;
        lines_end_ = 0;
        for (;;) {
            if (eof_) {
                if (data_end_ == 0)
                    return false;
                buf_[data_end_++] = '\n'; // the allocation has one byte of slack for this
                lines_end_ = data_end_;
                break;
            }
            if (data_end_ == cap_)
                grow(next_line);
            const std::size_t got = in_->read(buf_.get() + data_end_, cap_ - data_end_);
            if (got == 0) {
                eof_ = true;
                continue;
            }
            const void* nl = ::memrchr(buf_.get() + data_end_, '\n', got);
            data_end_ += got;
            if (nl != nullptr) {
                lines_end_ = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.get()) + 1;
                break;
            }
        }
        begin = buf_.get();
        end = buf_.get() + lines_end_;
        return true;
    }

    const std::string& name() const { return in_->name(); }
    std::uint64_t bytes_read() const { return in_->bytes_consumed(); }
    std::size_t capacity() const { return cap_; }

private:
    void grow(std::uint64_t next_line)
    {
        if (cap_ >= kMaxLine)
            throw TraceError(name(), next_line, "line longer than " + std::to_string(kMaxLine >> 20) + " MiB");
        const std::size_t cap = cap_ * 2 < kMaxLine ? cap_ * 2 : kMaxLine;
        std::unique_ptr<char[]> bigger = allocate(cap);
        std::memcpy(bigger.get(), buf_.get(), data_end_);
        buf_ = std::move(bigger);
        cap_ = cap;
    }

    // cap bytes of data, one for the '\n' added after an unterminated last line, and the slack; zeroed once so
    // that no byte a parser may load is uninitialised.
    static std::unique_ptr<char[]> allocate(std::size_t cap)
    {
        return std::unique_ptr<char[]>(new char[cap + 1 + kSlack]());
    }

    std::unique_ptr<InputStream> in_;
    std::size_t cap_;
    std::unique_ptr<char[]> buf_;
    std::size_t lines_end_ = 0;   // end of the run handed out last
    std::size_t data_end_ = 0;    // end of the bytes read
    bool eof_ = false;
};

// Records handed out by one next_batch call at most, whatever `max` the caller asks for.
constexpr std::size_t kMaxBatch = std::size_t{1} << 20;

// Base of the line-based readers: owns the LineBuffer and does the batch and error bookkeeping, so that a reader
// only supplies parse_lines(). An error (a bad line, or a damaged stream) ends the trace: the records parsed before it
// are handed out first, then that call or the next throws the error, and every later call throws it again.
class TextReader : public TraceReader {
public:
    bool next_batch(std::vector<TraceRecord>& out, std::size_t max) final
    {
        if (error_) {
            out.clear();
            throw *error_;
        }
        max = max == 0 ? 1 : max < kMaxBatch ? max : kMaxBatch;
        // Records are written in place, every field of each (building one on the stack and copying it costs a
        // store-forwarding stall per record), and the vector is cut to the records written before returning.
        // Sizing it without clearing it first means that a vector reused from the last batch needs no
        // constructing.
        out.resize(max);
        std::size_t n;
        failed_at_ = 0;
        try {
            n = parse_lines(out.data(), max);
        } catch (const TraceError& e) {
            error_ = e;
            n = failed_at_;
            if (n == 0) {
                out.clear();
                throw;
            }
        }
        out.resize(n);
        return n != 0;
    }
    std::uint64_t bytes_read() const final { return buf_.bytes_read(); }
    std::uint64_t line() const final { return line_; }
    void set_limits(const RecordLimits& limits) final
    {
        limits_ = limits;
        core_count_ = limits.cores;
        va_last_ = limits.va_last;
    }

protected:
    explicit TextReader(std::unique_ptr<InputStream> in) : buf_(std::move(in)) {}

    // Checks the access of `size` bytes at `addr` of the record being parsed (one add and two compares when it
    // fits; the limits are copied into members so the hot path reads no string).
    void check_access(std::size_t n, std::uint64_t line, Addr addr, std::uint32_t size)
    {
        const Addr last = addr + (size - 1);
        if (__builtin_expect(last < addr || last > va_last_, 0))
            fail(n, line, limits_.check_access(addr, size));
    }
    void check_core(std::size_t n, std::uint64_t line, unsigned core)
    {
        if (__builtin_expect(core >= core_count_, 0))
            fail(n, line, limits_.check_core(core));
    }

    RecordLimits limits_;
    std::uint32_t core_count_ = 0x10000; // cores the records may name
    Addr va_last_ = ~Addr{0};            // last byte a record may touch

    // Writes up to `max` records (max >= 1) to `o` and returns how many; fewer only at the end of the input.
    // Parses from [pos_, end_) and refill()s when that is used up; keeps pos_, end_ and line_ up to date.
    virtual std::size_t parse_lines(TraceRecord* o, std::size_t max) = 0;

    // Next run of lines into [pos_, end_); false at the end of the input. `n` records of this batch are done and
    // `line` lines parsed so far (for the error, if the stream fails). (The run goes to the members rather than to
    // the parser's locals by reference, so that those locals can stay in registers.)
    bool refill(std::size_t n, std::uint64_t line)
    {
        try {
            return buf_.next(pos_, end_, line + 1);
        } catch (const TraceError& e) {
            failed_at_ = n;
            line_ = e.line != 0 ? e.line : line;
            throw;
        }
    }

    // Throws the error for line `line`, after the batch's first `n` records.
    [[noreturn]] void fail(std::size_t n, std::uint64_t line, const std::string& msg)
    {
        failed_at_ = n;
        line_ = line;
        throw TraceError(buf_.name(), line, msg);
    }

    LineBuffer buf_;
    const char* pos_ = nullptr; // next unparsed byte of the current run
    const char* end_ = nullptr; // end of the current run
    std::uint64_t line_ = 0;    // lines parsed

private:
    std::optional<TraceError> error_;
    std::size_t failed_at_ = 0;
};

namespace parse {

// Value of a hex digit, or 0xff.
inline constexpr std::array<std::uint8_t, 256> kHex = [] {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t)
        v = 0xff;
    for (int c = 0; c < 10; ++c)
        t['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) {
        t['a' + c] = static_cast<std::uint8_t>(10 + c);
        t['A' + c] = static_cast<std::uint8_t>(10 + c);
    }
    return t;
}();

inline unsigned hex_digit(char c) { return kHex[static_cast<unsigned char>(c)]; }
inline unsigned dec_digit(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - '0'; } // > 9 if not

// If the 8 bytes at p are all hex digits, stores their value in `out` and returns true. Loads 8 bytes at once:
// the caller must know they are readable (LineBuffer's slack).
inline bool hex8(const char* p, std::uint64_t& out)
{
    constexpr std::uint64_t k01 = 0x0101010101010101ull;
    constexpr std::uint64_t k80 = 0x8080808080808080ull;
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if (v & k80)
        return false;
    // With every byte < 0x80, adding (0x80 - lo) to each byte sets its top bit exactly when the byte is >= lo.
    const std::uint64_t lower = v | (0x20 * k01); // 'A'..'F' -> 'a'..'f'; only they land in 'a'..'f'
    const std::uint64_t digit = (v + (0x80 - 0x30) * k01) & ~(v + (0x80 - 0x3a) * k01);
    const std::uint64_t alpha = (lower + (0x80 - 0x61) * k01) & ~(lower + (0x80 - 0x67) * k01);
    if (((digit | alpha) & k80) != k80)
        return false;
    // Nibble values: digits are their low 4 bits, letters their low 4 bits + 9 (bit 6 marks a letter).
    std::uint64_t x = (v & (0x0f * k01)) + 9 * ((v >> 6) & k01);
    // The first character (lowest address) is the most significant nibble; merge pairs, quads, then halves.
    x = ((x << 4) | (x >> 8)) & 0x00ff00ff00ff00ffull;
    x = ((x << 8) | (x >> 16)) & 0x0000ffff0000ffffull;
    x = ((x << 16) | (x >> 32)) & 0x00000000ffffffffull;
    out = x;
    return true;
}

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// End of the whitespace-delimited token starting at p (the line's '\n' at the latest).
inline const char* token_end(const char* p)
{
    while (*p != '\n' && !is_blank(*p))
        ++p;
    return p;
}

// The text from p up to `end`, quoted for an error message: non-printable bytes escaped, long text cut short.
inline std::string quote(const char* p, const char* end)
{
    static constexpr std::size_t kMax = 40;
    std::string s = "'";
    for (std::size_t i = 0; p + i < end; ++i) {
        if (i == kMax) {
            s += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(p[i]);
        if (c >= 0x20 && c < 0x7f) {
            s += static_cast<char>(c);
        } else {
            static constexpr char kDigits[] = "0123456789abcdef";
            s += "\\x";
            s += kDigits[c >> 4];
            s += kDigits[c & 15];
        }
    }
    s += '\'';
    return s;
}

// The rest of the line from p (without the line ending), quoted.
inline std::string quote_rest(const char* p)
{
    const char* e = p;
    while (*e != '\n')
        ++e;
    if (e > p && e[-1] == '\r')
        --e;
    return quote(p, e);
}

// "'token'" for the token at p, or "end of line".
inline std::string describe_token(const char* p)
{
    if (*p == '\n' || (*p == '\r' && p[1] == '\n'))
        return "end of line";
    const char* e = token_end(p);
    return quote(p, e == p ? p + 1 : e);
}

} // namespace parse

} // namespace mmusim::traces::readers
