// SPDX-License-Identifier: GPL-2.0-only
// Plain files and standard input are read with read(2) straight into the caller's buffer. Compressed files are
// read in 1 MiB raw blocks and decompressed with zlib's inflate() or liblzma's stream decoder. Both decoders are
// driven by hand (not gzread) so that a stream that ends early is told apart from a clean end and reported.
#include "traces/input_stream.hh"

#include "traces/trace_reader.hh"

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>

#include <fcntl.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace mmusim::traces {

namespace {

constexpr std::size_t kRawBlock = std::size_t{1} << 20; // compressed bytes read at once
constexpr std::size_t kMaxChunk = std::size_t{1} << 30; // fits zlib's uInt

bool ends_with(const std::string& s, const char* suffix)
{
    const std::size_t n = std::strlen(suffix);
    return s.size() > n && s.compare(s.size() - n, n, suffix) == 0;
}

// A file descriptor opened for reading: a path, or standard input for "-".
class RawFile {
public:
    RawFile(const std::string& path, std::string& name)
    {
        if (path == "-") {
            name = "<stdin>";
            fd_ = STDIN_FILENO;
            owned_ = false;
        } else {
            name = path;
            fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0)
                throw TraceError(path, 0, std::string("cannot open: ") + std::strerror(errno));
        }
        struct stat st {};
        if (::fstat(fd_, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                close_fd();
                throw TraceError(name, 0, std::string("cannot open: ") + std::strerror(EISDIR));
            }
            if (S_ISREG(st.st_mode)) {
                size_ = static_cast<std::uint64_t>(st.st_size);
                ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
            }
        }
        name_ = name;
    }
    RawFile(const RawFile&) = delete;
    RawFile& operator=(const RawFile&) = delete;
    ~RawFile() { close_fd(); }

    // Reads up to n bytes; 0 only at end of file.
    std::size_t read(char* buf, std::size_t n)
    {
        if (n > kMaxChunk)
            n = kMaxChunk;
        for (;;) {
            const ssize_t r = ::read(fd_, buf, n);
            if (r >= 0) {
                total_ += static_cast<std::uint64_t>(r);
                return static_cast<std::size_t>(r);
            }
            if (errno != EINTR)
                throw TraceError(name_, 0, std::string("read error: ") + std::strerror(errno));
        }
    }
    std::uint64_t total() const { return total_; }
    std::uint64_t size() const { return size_; }

private:
    void close_fd()
    {
        if (owned_ && fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

    int fd_ = -1;
    bool owned_ = true;
    std::uint64_t size_ = 0;
    std::uint64_t total_ = 0;
    std::string name_;
};

class PlainStream final : public InputStream {
public:
    explicit PlainStream(const std::string& path) : file_(path, name_) {}
    std::size_t read(char* buf, std::size_t n) override { return n == 0 ? 0 : file_.read(buf, n); }
    std::uint64_t bytes_consumed() const override { return file_.total(); }
    std::uint64_t size_hint() const override { return file_.size(); }

private:
    RawFile file_;
};

class GzipStream final : public InputStream {
public:
    explicit GzipStream(const std::string& path) : file_(path, name_), in_(kRawBlock)
    {
        // 15 + 16: gzip framing only (a .gz file holds gzip members, possibly several concatenated).
        if (inflateInit2(&zs_, 15 + 16) != Z_OK)
            throw TraceError(name_, 0, "cannot initialise zlib");
    }
    GzipStream(const GzipStream&) = delete;
    GzipStream& operator=(const GzipStream&) = delete;
    ~GzipStream() override { inflateEnd(&zs_); }

    std::size_t read(char* buf, std::size_t n) override
    {
        if (done_ || n == 0)
            return 0;
        if (n > kMaxChunk)
            n = kMaxChunk;
        zs_.next_out = reinterpret_cast<Bytef*>(buf);
        zs_.avail_out = static_cast<uInt>(n);
        while (zs_.avail_out == n) {
            if (zs_.avail_in == 0) {
                const std::size_t got = file_.read(reinterpret_cast<char*>(in_.data()), in_.size());
                if (got == 0) {
                    if (between_members_ && members_ > 0) {
                        done_ = true;
                        break;
                    }
                    throw TraceError(name_, 0, "truncated gzip stream");
                }
                zs_.next_in = in_.data();
                zs_.avail_in = static_cast<uInt>(got);
            }
            if (between_members_) {
                inflateReset(&zs_);
                between_members_ = false;
            }
            const int rc = inflate(&zs_, Z_NO_FLUSH);
            switch (rc) {
            case Z_OK: break;
            case Z_STREAM_END:
                ++members_;
                between_members_ = true;
                break;
            case Z_BUF_ERROR: // no progress possible: more input is needed
                if (zs_.avail_in != 0)
                    throw TraceError(name_, 0, "corrupt gzip stream: no progress");
                break;
            case Z_MEM_ERROR: throw TraceError(name_, 0, "out of memory decompressing gzip stream");
            case Z_NEED_DICT: throw TraceError(name_, 0, "corrupt gzip stream: needs a preset dictionary");
            default:
                throw TraceError(name_, 0, std::string("corrupt gzip stream: ") +
                                               (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)));
            }
        }
        return n - zs_.avail_out;
    }
    std::uint64_t bytes_consumed() const override { return file_.total() - zs_.avail_in; }
    std::uint64_t size_hint() const override { return file_.size(); }

private:
    RawFile file_;
    std::vector<Bytef> in_;
    z_stream zs_{};
    bool between_members_ = false;
    std::uint64_t members_ = 0;
    bool done_ = false;
};

class XzStream final : public InputStream {
public:
    explicit XzStream(const std::string& path) : file_(path, name_), in_(kRawBlock)
    {
        // LZMA_CONCATENATED: like xz(1), accept several .xz streams back to back (and stream padding).
        if (lzma_stream_decoder(&strm_, std::numeric_limits<std::uint64_t>::max(), LZMA_CONCATENATED) != LZMA_OK)
            throw TraceError(name_, 0, "cannot initialise liblzma");
    }
    XzStream(const XzStream&) = delete;
    XzStream& operator=(const XzStream&) = delete;
    ~XzStream() override { lzma_end(&strm_); }

    std::size_t read(char* buf, std::size_t n) override
    {
        if (done_ || n == 0)
            return 0;
        strm_.next_out = reinterpret_cast<std::uint8_t*>(buf);
        strm_.avail_out = n;
        while (strm_.avail_out == n) {
            if (strm_.avail_in == 0 && !raw_eof_) {
                const std::size_t got = file_.read(reinterpret_cast<char*>(in_.data()), in_.size());
                if (got == 0)
                    raw_eof_ = true;
                strm_.next_in = in_.data();
                strm_.avail_in = got;
            }
            const lzma_ret rc = lzma_code(&strm_, raw_eof_ ? LZMA_FINISH : LZMA_RUN);
            switch (rc) {
            case LZMA_OK: break;
            case LZMA_STREAM_END: done_ = true; return n - strm_.avail_out;
            case LZMA_BUF_ERROR:
                if (raw_eof_)
                    throw TraceError(name_, 0, "truncated xz stream");
                if (strm_.avail_in != 0)
                    throw TraceError(name_, 0, "corrupt xz stream: no progress");
                break;
            case LZMA_MEM_ERROR: throw TraceError(name_, 0, "out of memory decompressing xz stream");
            case LZMA_MEMLIMIT_ERROR: throw TraceError(name_, 0, "xz stream needs too much memory");
            case LZMA_FORMAT_ERROR: throw TraceError(name_, 0, "corrupt xz stream: not in .xz format");
            case LZMA_OPTIONS_ERROR: throw TraceError(name_, 0, "corrupt xz stream: unsupported options");
            case LZMA_DATA_ERROR: throw TraceError(name_, 0, "corrupt xz stream: compressed data is corrupt");
            default: throw TraceError(name_, 0, "corrupt xz stream: liblzma error " + std::to_string(int(rc)));
            }
        }
        return n - strm_.avail_out;
    }
    std::uint64_t bytes_consumed() const override { return file_.total() - strm_.avail_in; }
    std::uint64_t size_hint() const override { return file_.size(); }

private:
    RawFile file_;
    std::vector<std::uint8_t> in_;
    lzma_stream strm_ = LZMA_STREAM_INIT;
    bool raw_eof_ = false;
    bool done_ = false;
};

} // namespace

std::unique_ptr<InputStream> open_input(const std::string& path)
{
    if (path.empty())
        throw TraceError("<empty>", 0, "cannot open: empty file name");
    if (path != "-") {
        if (ends_with(path, ".gz"))
            return std::make_unique<GzipStream>(path);
        if (ends_with(path, ".xz"))
            return std::make_unique<XzStream>(path);
    }
    return std::make_unique<PlainStream>(path);
}

} // namespace mmusim::traces
