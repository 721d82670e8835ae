// SPDX-License-Identifier: GPL-2.0-only
// Helpers shared by the trace tests: a scratch directory, gzip/xz compression, reading whole traces.
#pragma once

#include "traces/trace_reader.hh"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <lzma.h>
#include <unistd.h>
#include <zlib.h>

namespace mmusim::traces::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its files at the end of the test.
class ScratchDir {
public:
    ScratchDir()
    {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mmusim_trace_test_XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = buf.data();
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir()
    {
        for (const std::string& f : files_)
            ::unlink(f.c_str());
        ::rmdir(path_.c_str());
    }

    // Writes `data` to a new file called `name` in the directory; returns its path.
    std::string write(const std::string& name, const std::string& data)
    {
        const std::string p = path_ + "/" + name;
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f.write(data.data(), static_cast<std::streamsize>(data.size()));
        f.close();
        if (!f)
            throw std::runtime_error("cannot write " + p);
        files_.push_back(p);
        return p;
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<std::string> files_;
};

// The source tree's root: MMUSIM_SOURCE_DIR when the build defines it, else found from this header's path.
inline std::string source_dir()
{
#ifdef MMUSIM_SOURCE_DIR
    return MMUSIM_SOURCE_DIR;
#else
    const std::string f = __FILE__;
    const std::size_t pos = f.rfind("tests/traces/trace_test_util.hh");
    if (pos == std::string::npos || pos == 0)
        return ".";
    return f.substr(0, pos - 1);
#endif
}

// One gzip member holding `data`.
inline std::string gzip(const std::string& data, int level = 6)
{
    z_stream zs{};
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        throw std::runtime_error("deflate failed");
    out.resize(zs.total_out);
    return out;
}

// One .xz stream holding `data`.
inline std::string xz(const std::string& data, std::uint32_t preset = 6)
{
    std::string out(lzma_stream_buffer_bound(data.size()), '\0');
    std::size_t pos = 0;
    const lzma_ret rc = lzma_easy_buffer_encode(preset, LZMA_CHECK_CRC64, nullptr,
                                                reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
                                                reinterpret_cast<std::uint8_t*>(out.data()), &pos, out.size());
    if (rc != LZMA_OK)
        throw std::runtime_error("lzma_easy_buffer_encode failed");
    out.resize(pos);
    return out;
}

// Everything an InputStream yields.
inline std::string read_all(InputStream& in, std::size_t chunk = 1 << 16)
{
    std::string out;
    std::vector<char> buf(chunk);
    for (std::size_t n; (n = in.read(buf.data(), buf.size())) != 0;)
        out.append(buf.data(), n);
    return out;
}

// Every record a reader yields, in batches of `batch`.
inline std::vector<TraceRecord> read_all(TraceReader& r, std::size_t batch = 4096)
{
    std::vector<TraceRecord> all, b;
    while (r.next_batch(b, batch)) {
        EXPECT_FALSE(b.empty());
        EXPECT_LE(b.size(), batch);
        all.insert(all.end(), b.begin(), b.end());
    }
    EXPECT_TRUE(b.empty());
    return all;
}

// An in-memory stream that hands out its bytes in small, varying pieces, so that lines straddle reads.
class ChunkyStream final : public InputStream {
public:
    explicit ChunkyStream(std::string data, std::string name = "chunky") : data_(std::move(data))
    {
        name_ = std::move(name);
    }
    std::size_t read(char* buf, std::size_t n) override
    {
        std::size_t k = 1 + (step_++ % 13);
        if (k > n)
            k = n;
        if (k > data_.size() - pos_)
            k = data_.size() - pos_;
        std::memcpy(buf, data_.data() + pos_, k);
        pos_ += k;
        return k;
    }
    std::uint64_t bytes_consumed() const override { return pos_; }
    std::uint64_t size_hint() const override { return data_.size(); }

private:
    std::string data_;
    std::size_t pos_ = 0;
    std::size_t step_ = 0;
};

inline std::unique_ptr<TraceReader> make_reader(const std::string& format, std::unique_ptr<InputStream> in)
{
    const ReaderInfo* info = ReaderRegistry::instance().find(format);
    if (info == nullptr)
        throw std::runtime_error("no reader " + format);
    return info->make(std::move(in));
}

// Records of `text` parsed by `format` from a file (so errors name a real path).
inline std::vector<TraceRecord> parse_file(const std::string& format, const std::string& text,
                                           const std::string& name = "t.trace")
{
    ScratchDir dir;
    auto r = ReaderRegistry::instance().open(format, dir.write(name, text));
    return read_all(*r);
}

// The TraceError message from parsing `text` as `format` from a file called `name`, or "" if none.
inline std::string parse_error(const std::string& format, const std::string& text,
                               const std::string& name = "bad.trace")
{
    ScratchDir dir;
    const std::string path = dir.write(name, text);
    try {
        auto r = ReaderRegistry::instance().open(format, path);
        std::vector<TraceRecord> b;
        while (r->next_batch(b, 4096)) {
        }
    } catch (const TraceError& e) {
        return e.what();
    }
    return "";
}

inline bool same(const TraceRecord& a, const TraceRecord& b)
{
    return a.addr == b.addr && a.size == b.size && a.kind == b.kind && a.type == b.type && a.core == b.core;
}

inline TraceRecord rec(AccessKind k, Addr a, std::uint32_t size = 1, std::uint16_t core = 0)
{
    TraceRecord r;
    r.kind = k;
    r.addr = a;
    r.size = size;
    r.core = core;
    return r;
}

inline std::string show(const TraceRecord& r)
{
    std::ostringstream s;
    s << to_string(r.kind) << " 0x" << std::hex << r.addr << std::dec << " size " << r.size << " @" << r.core;
    return s.str();
}

inline void expect_records(const std::vector<TraceRecord>& got, const std::vector<TraceRecord>& want)
{
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_TRUE(same(got[i], want[i])) << "record " << i << ": got " << show(got[i]) << ", want " << show(want[i]);
}

} // namespace mmusim::traces::test
