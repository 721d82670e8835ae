// SPDX-License-Identifier: GPL-2.0-only
#include "tools/report/output_file.hh"

#include "util/config_error.hh"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace mmusim::tools {

namespace {

// Owns a file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept
    {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~UniqueFd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    // close(2) reports deferred write errors (NFS, quotas), so a file being committed is closed this way.
    int close()
    {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_ = -1;
};

// A report written to a broken pipe or FIFO is an error to report, not a reason to die of SIGPIPE.
class IgnoreSigpipe {
public:
    IgnoreSigpipe()
    {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        ::sigemptyset(&ign.sa_mask);
        ::sigaction(SIGPIPE, &ign, &old_);
    }
    ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

private:
    struct sigaction old_ {};
};

std::string errno_text(int err) { return std::strerror(err); }

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string dir_of(const std::string& p)
{
    const auto slash = p.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
}

std::string base_of(const std::string& p)
{
    const auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& base) { return dir == "/" ? "/" + base : dir + "/" + base; }

void write_fully(int fd, const std::string& text)
{
    const char* p = text.data();
    std::size_t left = text.size();
    while (left) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw std::system_error(errno, std::generic_category());
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

enum class Kind {
    Replace,    // a regular file (existing or not): temporary + rename
    Device,     // a character device, socket or file under /proc: opened now, written through
    Fifo,       // opened only when written: opening blocks until a reader comes
    Descriptor, // one of this process's open descriptors (/dev/stdout, /dev/fd/N)
};

} // namespace

struct OutputFile::State {
    Kind kind = Kind::Replace;
    std::string target;   // the path written (symbolic links followed)
    bool exists = false;  // target exists; then dev/ino identify it
    bool regular = false; // the existing target is a regular file
    dev_t dev = 0;
    ino_t ino = 0;
    UniqueFd fd;          // the temporary (Replace), or the object written through
    std::string tmp;      // Replace: the temporary's path, until renamed
    std::string text;     // write-through kinds: what commit() writes

    void identify(const struct stat& st)
    {
        exists = true;
        regular = S_ISREG(st.st_mode);
        dev = st.st_dev;
        ino = st.st_ino;
    }
};

namespace {

// The descriptor number if `canonical_dir`/`base` names one of this process's descriptors, else -1.
int own_descriptor(const std::string& canonical_dir, const std::string& base)
{
    const std::string self = "/proc/" + std::to_string(::getpid()) + "/";
    const bool fd_dir = canonical_dir == self + "fd" ||
                        (starts_with(canonical_dir, self + "task/") && canonical_dir.size() > 3 &&
                         canonical_dir.compare(canonical_dir.size() - 3, 3, "/fd") == 0);
    const bool number = !base.empty() && base.size() <= 9 &&
                        std::all_of(base.begin(), base.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!fd_dir || !number)
        return -1;
    return std::stoi(base);
}

// Whether the existing `path` (`st`) may be written; sets errno when not. A file with no write permission
// bit at all is read-only even to root: a read-only report is not replaced behind its owner's back, and
// /proc/version would accept root's open only to fail the write after the simulation.
bool writable(const std::string& path, const struct stat& st)
{
    if (::faccessat(AT_FDCWD, path.c_str(), W_OK, AT_EACCESS) != 0)
        return false;
    if ((st.st_mode & 0222) == 0) {
        errno = EACCES;
        return false;
    }
    return true;
}

UniqueFd connect_socket(const std::string& path)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return {};
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        fd.reset();
    return fd;
}

} // namespace

OutputFile::OutputFile(std::string option, std::string path)
    : option_(std::move(option)), path_(std::move(path)), s_(std::make_unique<State>())
{
    const auto fail = [&](const std::string& why) { throw ConfigError(option_ + " " + path_ + ": " + why); };
    if (path_.empty())
        fail("empty path");
    State& s = *s_;

    // Follow symbolic links one hop at a time (rather than realpath) to see each hop's directory: a hop into
    // /proc/PID/fd is one of our descriptors, whose own link (to a pipe, a tty, a file) must not be followed.
    std::string p = path_;
    for (int hops = 0;; ++hops) {
        const std::string dir = dir_of(p), base = base_of(p);
        const std::unique_ptr<char, decltype(&std::free)> canon(::realpath(dir.c_str(), nullptr), &std::free);
        if (!canon) {
            const int err = errno;
            if (err == ENOENT)
                fail("directory " + dir + " does not exist");
            if (err == ENOTDIR)
                fail(dir + " is not a directory");
            fail("cannot reach directory " + dir + ": " + errno_text(err));
        }
        const std::string cdir = canon.get();
        if (struct stat st; ::stat(cdir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
            fail(dir + " is not a directory");
        s.target = join(cdir, base);

        if (const int n = own_descriptor(cdir, base); n >= 0) {
            const int flags = ::fcntl(n, F_GETFL);
            if (flags < 0)
                fail("cannot write: descriptor " + std::to_string(n) + ": " + errno_text(errno));
            if ((flags & O_ACCMODE) == O_RDONLY)
                fail("cannot write: descriptor " + std::to_string(n) + " is open for reading only");
            if (struct stat st; ::fstat(n, &st) == 0)
                s.identify(st);
            s.kind = Kind::Descriptor;
            s.fd = UniqueFd(::fcntl(n, F_DUPFD_CLOEXEC, 3));
            if (!s.fd)
                fail("cannot write: " + errno_text(errno));
            return;
        }
        if (cdir == "/proc" || starts_with(cdir, "/proc/")) {
            // The kernel's files (and its magic links): never replaced or created, only written through.
            // Opened now so that a refusal (/proc/version: permission denied, even to root) comes first.
            s.kind = Kind::Device;
            if (struct stat st; ::stat(p.c_str(), &st) == 0 && !writable(p, st))
                fail("cannot write: " + errno_text(errno));
            s.fd = UniqueFd(::open(p.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
            if (!s.fd)
                fail("cannot write: " + errno_text(errno));
            if (struct stat st; ::fstat(s.fd.get(), &st) == 0)
                s.identify(st);
            return;
        }

        struct stat st;
        if (::lstat(p.c_str(), &st) != 0) {
            if (errno != ENOENT)
                fail("cannot write: " + errno_text(errno));
            break; // a new file
        }
        if (S_ISLNK(st.st_mode)) {
            if (hops == 40)
                fail("cannot write: " + errno_text(ELOOP));
            std::string link(PATH_MAX, '\0');
            const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
            if (n < 0)
                fail("cannot read symbolic link " + p + ": " + errno_text(errno));
            link.resize(static_cast<std::size_t>(n));
            p = link[0] == '/' ? link : join(cdir, link);
            continue;
        }
        s.identify(st);
        if (S_ISDIR(st.st_mode))
            fail("is a directory");
        if (S_ISBLK(st.st_mode))
            fail("is a block device; not writing a report onto it");
        if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
            if (!writable(p, st))
                fail("cannot write: " + errno_text(errno));
            if (S_ISREG(st.st_mode))
                break;
            s.kind = Kind::Fifo;
            return;
        }
        // A character device or a socket: written through, opened now so that a refusal comes first.
        s.kind = Kind::Device;
        if (!writable(p, st))
            fail("cannot write: " + errno_text(errno));
        s.fd = UniqueFd(::open(p.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
        if (!s.fd && errno == ENXIO && S_ISSOCK(st.st_mode))
            s.fd = connect_socket(p);
        if (!s.fd)
            fail("cannot write: " + errno_text(errno));
        return;
    }

    // A regular file, existing or new: a temporary in the target's own directory (rename(2) stays within one
    // file system), created now so that an unwritable directory is found before the simulation.
    s.kind = Kind::Replace;
    const std::string dir = dir_of(s.target);
    std::string tmpl = join(dir, "." + base_of(s.target) + ".tmp-XXXXXX");
    s.fd = UniqueFd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!s.fd)
        fail("cannot create a file in directory " + dir + ": " + errno_text(errno));
    s.tmp = tmpl;
    // mkostemp makes the file 0600; a report gets what a plain create would give, or the replaced file's mode.
    mode_t mode;
    if (struct stat st; s.exists && ::stat(s.target.c_str(), &st) == 0) {
        mode = st.st_mode & 0777;
    } else {
        mode = ::umask(0); // reading the umask means setting it; no other thread exists yet
        ::umask(mode);
        mode = 0666 & ~mode;
    }
    ::fchmod(s.fd.get(), mode);
}

OutputFile::OutputFile(OutputFile&&) noexcept = default;
OutputFile& OutputFile::operator=(OutputFile&&) noexcept = default;

OutputFile::~OutputFile()
{
    if (s_ && !s_->tmp.empty())
        ::unlink(s_->tmp.c_str());
}

bool OutputFile::same_target(const OutputFile& other) const
{
    // A file is the same by identity, whatever the links to it. Devices are compared by path: two reports on
    // /dev/stdout and /dev/stderr are fine even when both are the same terminal.
    if (s_->exists && other.s_->exists && (s_->regular || other.s_->regular))
        return s_->dev == other.s_->dev && s_->ino == other.s_->ino;
    return s_->target == other.s_->target;
}

bool OutputFile::replaces() const { return s_->kind == Kind::Replace; }

void OutputFile::stage(std::string text)
{
    State& s = *s_;
    if (s.kind != Kind::Replace) {
        s.text = std::move(text);
        return;
    }
    try {
        write_fully(s.fd.get(), text);
        // The data must be on disk before the rename makes it the file's content.
        if (::fsync(s.fd.get()) != 0 && errno != EINVAL)
            throw std::system_error(errno, std::generic_category());
        if (s.fd.close() != 0)
            throw std::system_error(errno, std::generic_category());
    } catch (const std::system_error& e) {
        throw std::runtime_error(option_ + " " + path_ + ": write failed: " + e.code().message());
    }
}

void OutputFile::commit()
{
    State& s = *s_;
    if (s.kind == Kind::Replace) {
        if (::rename(s.tmp.c_str(), s.target.c_str()) != 0)
            throw std::runtime_error(option_ + " " + path_ + ": cannot rename " + s.tmp +
                                     " into place: " + errno_text(errno));
        s.tmp.clear();
        return;
    }
    const IgnoreSigpipe no_sigpipe;
    try {
        if (s.kind == Kind::Fifo) {
            s.fd = UniqueFd(::open(s.target.c_str(), O_WRONLY | O_CLOEXEC)); // waits for a reader
            if (!s.fd)
                throw std::system_error(errno, std::generic_category());
        }
        if (s.kind == Kind::Descriptor) {
            // The descriptor may be stdout, shared with the table: keep the order of what was printed.
            std::cout.flush();
            std::fflush(nullptr);
        }
        write_fully(s.fd.get(), s.text);
        if (s.fd.close() != 0)
            throw std::system_error(errno, std::generic_category());
    } catch (const std::system_error& e) {
        throw std::runtime_error(option_ + " " + path_ + ": write failed: " + e.code().message());
    }
}

void OutputSet::add(const std::string& option, const std::string& path)
{
    OutputFile f(option, path);
    for (const OutputFile& o : files_)
        if (o.same_target(f))
            throw ConfigError(option + " " + path + ": the same file as " + o.option() + " " + o.path() +
                              "; give each report its own file");
    files_.push_back(std::move(f));
    texts_.emplace_back();
}

bool OutputSet::has(const std::string& option) const
{
    return std::any_of(files_.begin(), files_.end(), [&](const OutputFile& f) { return f.option() == option; });
}

OutputFile& OutputSet::find(const std::string& option)
{
    for (OutputFile& f : files_)
        if (f.option() == option)
            return f;
    throw std::logic_error("no output for " + option);
}

void OutputSet::set_text(const std::string& option, std::string text)
{
    texts_[static_cast<std::size_t>(&find(option) - files_.data())] = std::move(text);
}

void OutputSet::write_all()
{
    for (std::size_t i = 0; i < files_.size(); ++i)
        files_[i].stage(std::move(texts_[i]));
    for (OutputFile& f : files_)
        if (!f.replaces())
            f.commit();
    for (OutputFile& f : files_)
        if (f.replaces())
            f.commit();
}

} // namespace mmusim::tools
