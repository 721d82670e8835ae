// SPDX-License-Identifier: GPL-2.0-only
// open_input: plain files, standard input, gzip and xz, and how damaged compressed files are reported.
#include "tests/traces/trace_test_util.hh"

#include <csignal>

#include <signal.h>
#include <sys/wait.h>

namespace mmusim::traces {
namespace {

using test::ScratchDir;

// Some megabytes of not-too-compressible text (bigger than the 1 MiB raw block used for compressed input).
std::string sample_text(std::size_t lines)
{
    std::string s;
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    char buf[64];
    for (std::size_t i = 0; i < lines; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const int n = std::snprintf(buf, sizeof buf, "R 0x%llx %u\n", static_cast<unsigned long long>(x >> 16),
                                    static_cast<unsigned>(1 + x % 64));
        s.append(buf, static_cast<std::size_t>(n));
    }
    return s;
}

std::string error_of(const std::string& path)
{
    try {
        auto in = open_input(path);
        test::read_all(*in);
    } catch (const TraceError& e) {
        return e.what();
    }
    return "";
}

TEST(InputStream, PlainFile)
{
    ScratchDir dir;
    const std::string text = sample_text(200000); // several MiB
    const std::string path = dir.write("plain.txt", text);
    auto in = open_input(path);
    EXPECT_EQ(in->name(), path);
    EXPECT_EQ(in->size_hint(), text.size());
    EXPECT_EQ(in->bytes_consumed(), 0u);
    EXPECT_EQ(test::read_all(*in, 300000), text);
    EXPECT_EQ(in->bytes_consumed(), text.size());
    char c;
    EXPECT_EQ(in->read(&c, 1), 0u); // stays at end
}

TEST(InputStream, EmptyPlainFile)
{
    ScratchDir dir;
    auto in = open_input(dir.write("empty.txt", ""));
    EXPECT_EQ(test::read_all(*in), "");
    EXPECT_EQ(in->size_hint(), 0u);
}

TEST(InputStream, MissingFileNamesItAndTheReason)
{
    EXPECT_EQ(error_of("/nonexistent/x.txt"), "/nonexistent/x.txt: cannot open: No such file or directory");
    EXPECT_EQ(error_of("/nonexistent/x.txt.gz"), "/nonexistent/x.txt.gz: cannot open: No such file or directory");
    EXPECT_EQ(error_of("/nonexistent/x.txt.xz"), "/nonexistent/x.txt.xz: cannot open: No such file or directory");
}

TEST(InputStream, DirectoryIsRejected)
{
    ScratchDir dir;
    EXPECT_EQ(error_of(dir.path()), dir.path() + ": cannot open: Is a directory");
}

TEST(InputStream, EmptyNameIsRejected) { EXPECT_THROW(open_input(""), TraceError); }

TEST(InputStream, GzipRoundTrip)
{
    ScratchDir dir;
    const std::string text = sample_text(200000);
    const std::string gz = test::gzip(text);
    ASSERT_GT(gz.size(), std::size_t{1} << 20); // more than one raw block
    const std::string path = dir.write("t.txt.gz", gz);
    auto in = open_input(path);
    EXPECT_EQ(in->name(), path);
    EXPECT_EQ(in->size_hint(), gz.size()); // the compressed size
    EXPECT_EQ(test::read_all(*in, 100000), text);
    EXPECT_EQ(in->bytes_consumed(), gz.size());
}

TEST(InputStream, GzipTinyReads)
{
    ScratchDir dir;
    const std::string text = sample_text(300);
    auto in = open_input(dir.write("t.gz", test::gzip(text)));
    EXPECT_EQ(test::read_all(*in, 7), text);
}

TEST(InputStream, GzipOfEmptyText)
{
    ScratchDir dir;
    auto in = open_input(dir.write("empty.gz", test::gzip("")));
    EXPECT_EQ(test::read_all(*in), "");
}

TEST(InputStream, GzipConcatenatedMembers)
{
    // gzip(1) and gzread() accept members back to back (as written by `cat a.gz b.gz`).
    ScratchDir dir;
    const std::string a = sample_text(1000), b = "W 0x1 1\n", c = sample_text(50);
    auto in = open_input(dir.write("multi.gz", test::gzip(a) + test::gzip(b, 1) + test::gzip(c, 9)));
    EXPECT_EQ(test::read_all(*in), a + b + c);
}

TEST(InputStream, TruncatedGzip)
{
    ScratchDir dir;
    const std::string gz = test::gzip(sample_text(20000));
    // Cut in the header, in the deflate data, in the 8-byte trailer and just before the end.
    for (std::size_t keep : {std::size_t{5}, gz.size() / 2, gz.size() - 6, gz.size() - 1}) {
        const std::string path = dir.write("cut" + std::to_string(keep) + ".gz", gz.substr(0, keep));
        EXPECT_EQ(error_of(path), path + ": truncated gzip stream") << "kept " << keep << " of " << gz.size();
    }
}

TEST(InputStream, EmptyGzipFileIsTruncated)
{
    ScratchDir dir;
    const std::string path = dir.write("empty.gz", "");
    EXPECT_EQ(error_of(path), path + ": truncated gzip stream");
}

TEST(InputStream, CorruptGzip)
{
    ScratchDir dir;
    std::string gz = test::gzip(sample_text(2000));
    gz[gz.size() - 6] ^= 0x55; // CRC-32 in the trailer
    const std::string bad_crc = dir.write("crc.gz", gz);
    EXPECT_EQ(error_of(bad_crc), bad_crc + ": corrupt gzip stream: incorrect data check");

    const std::string not_gzip = dir.write("plain.gz", "R 0x1000 8\n");
    EXPECT_EQ(error_of(not_gzip), not_gzip + ": corrupt gzip stream: incorrect header check");

    const std::string garbage_after = dir.write("tail.gz", test::gzip("R 0x1\n") + "garbage");
    EXPECT_NE(error_of(garbage_after).find("corrupt gzip stream"), std::string::npos);
}

TEST(InputStream, XzRoundTrip)
{
    ScratchDir dir;
    const std::string text = sample_text(200000);
    const std::string xz = test::xz(text, 0);
    ASSERT_GT(xz.size(), std::size_t{1} << 20); // more than one raw block
    const std::string path = dir.write("t.txt.xz", xz);
    auto in = open_input(path);
    EXPECT_EQ(in->name(), path);
    EXPECT_EQ(in->size_hint(), xz.size());
    EXPECT_EQ(test::read_all(*in, 100000), text);
    EXPECT_EQ(in->bytes_consumed(), xz.size());
}

TEST(InputStream, XzTinyReadsAndEmptyText)
{
    ScratchDir dir;
    const std::string text = sample_text(300);
    auto in = open_input(dir.write("t.xz", test::xz(text)));
    EXPECT_EQ(test::read_all(*in, 5), text);
    auto empty = open_input(dir.write("e.xz", test::xz("")));
    EXPECT_EQ(test::read_all(*empty), "");
}

TEST(InputStream, XzConcatenatedStreams)
{
    ScratchDir dir;
    const std::string a = sample_text(1000), b = sample_text(10);
    auto in = open_input(dir.write("multi.xz", test::xz(a) + test::xz(b, 1)));
    EXPECT_EQ(test::read_all(*in), a + b);
}

TEST(InputStream, TruncatedXz)
{
    ScratchDir dir;
    const std::string xz = test::xz(sample_text(20000), 0);
    for (std::size_t keep : {std::size_t{0}, std::size_t{3}, std::size_t{20}, xz.size() / 2, xz.size() - 1}) {
        const std::string path = dir.write("cut" + std::to_string(keep) + ".xz", xz.substr(0, keep));
        EXPECT_EQ(error_of(path), path + ": truncated xz stream") << "kept " << keep << " of " << xz.size();
    }
}

TEST(InputStream, CorruptXz)
{
    ScratchDir dir;
    std::string xz = test::xz(sample_text(2000));
    xz[xz.size() / 2] ^= 0x55;
    const std::string flipped = dir.write("flip.xz", xz);
    EXPECT_NE(error_of(flipped).find(flipped + ": corrupt xz stream"), std::string::npos) << error_of(flipped);

    const std::string not_xz = dir.write("plain.xz", "R 0x1000 8\nR 0x2000 8\n");
    EXPECT_EQ(error_of(not_xz), not_xz + ": corrupt xz stream: not in .xz format");
}

TEST(InputStream, SuffixMustBeAtTheEnd)
{
    // "x.gz.txt" is plain text, not gzip.
    ScratchDir dir;
    auto in = open_input(dir.write("x.gz.txt", "R 0x1\n"));
    EXPECT_EQ(test::read_all(*in), "R 0x1\n");
}

TEST(InputStream, DashIsStandardInput)
{
    // Run in a child whose standard input is a pipe the parent writes several MiB into.
    const std::string text = sample_text(150000);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(fds[1]);
        ::dup2(fds[0], STDIN_FILENO);
        ::close(fds[0]);
        int code = 0;
        try {
            auto in = open_input("-");
            if (in->name() != "<stdin>" || in->size_hint() != 0)
                code = 2;
            else if (test::read_all(*in) != text)
                code = 3;
            else if (in->bytes_consumed() != text.size())
                code = 4;
        } catch (...) {
            code = 5;
        }
        ::_exit(code);
    }
    ::close(fds[0]);
    // If the child died early, writing must fail with EPIPE rather than kill the test binary.
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    std::size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fds[1], text.data() + off, text.size() - off);
        if (n <= 0)
            break;
        off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
    ::sigaction(SIGPIPE, &old, nullptr);
    EXPECT_EQ(off, text.size());
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: name/size_hint, 3: content, 4: bytes_consumed, 5: exception";
}

TEST(InputStream, DashParsesThroughTheRegistry)
{
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(fds[1]);
        ::dup2(fds[0], STDIN_FILENO);
        ::close(fds[0]);
        int code = 0;
        try {
            auto r = ReaderRegistry::instance().open("native", "-");
            std::vector<TraceRecord> b;
            std::size_t n = 0;
            while (r->next_batch(b, 3))
                n += b.size();
            code = n == 4 && r->line() == 5 ? 0 : 2;
        } catch (...) {
            code = 3;
        }
        ::_exit(code);
    }
    ::close(fds[0]);
    const std::string text = "R 0x1\nW 0x2\n# c\nX 0x3 4\nR 5 @1\n";
    EXPECT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size())); // fits the pipe
    ::close(fds[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
} // namespace mmusim::traces
