// SPDX-License-Identifier: GPL-2.0-only
// Where mmusim's reports go (--json, --csv; docs/REPORT.md, "Output files"): every path checked before the
// simulation, all reports or none, devices / FIFOs / descriptors written through, symbolic links followed,
// any byte of a file name survives into the JSON.
#include "tests/tools/cli_run.hh"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using mmusim::test::CliResult;
using mmusim::test::kMmusim;
using mmusim::test::run_cli;
using mmusim::test::run_shell;

// A fresh directory for one test, removed with everything in it.
class Scratch {
public:
    Scratch()
    {
        std::string tmpl = ::testing::TempDir() + "/mmusim-output-XXXXXX";
        if (::mkdtemp(tmpl.data()))
            dir_ = tmpl;
    }
    ~Scratch()
    {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;

    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    std::string write(const std::string& name, const std::string& text) const
    {
        std::ofstream(path(name), std::ios::binary) << text;
        return path(name);
    }
    // Every entry of the directory, hidden temporaries included.
    std::vector<std::string> entries() const
    {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir_))
            names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
    bool ok() const { return !dir_.empty(); }

private:
    std::string dir_;
};

std::string slurp(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

mode_t file_type(const std::string& path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
}

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

constexpr const char* kTrace = "R 0x1000 8\nW 0x2000 8\n";
// Bad on its second line: an output path checked before the simulation fails first.
constexpr const char* kBadTrace = "R 0x1000 8\nQ 0x2000 8\n";

} // namespace

TEST(Output, BadPathsFailBeforeTheSimulationAndWriteNothing)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("bad.trace", kBadTrace), ok = d.path("ok.json");
    struct Case {
        std::string args, message;
    };
    for (const Case& c : {
             Case{"--json " + ok + " --csv /nonexistent/x.csv",
                  "mmusim: error: --csv /nonexistent/x.csv: directory /nonexistent does not exist"},
             Case{"--json /nonexistent/x.json", "mmusim: error: --json /nonexistent/x.json: directory /nonexistent does not exist"},
             Case{"--csv " + d.path(""), "mmusim: error: --csv " + d.path("") + ": is a directory"},
             Case{"--json " + ok + " --csv " + trace + "/x.csv", "--csv " + trace + "/x.csv: " + trace + " is not a directory"},
             // Root may open /proc/version for writing; the write would fail only after the simulation.
             Case{"--csv " + ok + " --json /proc/version", "mmusim: error: --json /proc/version: cannot write: Permission denied"},
         }) {
        const CliResult r = run_cli("replay -q " + trace + " " + c.args);
        EXPECT_EQ(r.status, 2) << c.args;
        EXPECT_TRUE(contains(r.output, c.message)) << c.args << "\n" << r.output;
        EXPECT_FALSE(contains(r.output, "bad.trace:2")) << "the simulation must not have run: " << r.output;
        EXPECT_FALSE(contains(r.output, "No such file or directory")) << r.output;
        EXPECT_EQ(d.entries(), std::vector<std::string>{"bad.trace"}) << c.args << ": nothing written, no temporaries";
    }
}

TEST(Output, AFailedRunWritesNoReportAndLeavesNoTemporary)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("bad.trace", kBadTrace);
    d.write("old.csv", "old\n");
    const CliResult r = run_cli("replay -q " + trace + " --json " + d.path("new.json") + " --csv " + d.path("old.csv"));
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.output, "bad.trace:2:")) << r.output;
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"bad.trace", "old.csv"}));
    EXPECT_EQ(slurp(d.path("old.csv")), "old\n");
}

TEST(Output, TheSameFileForTwoReportsIsAnError)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("t.trace", kTrace), out = d.path("out");
    ASSERT_EQ(::symlink("out", d.path("link").c_str()), 0);
    for (const std::string& args : {"--json " + out + " --csv " + out, "--json " + out + " --csv " + d.path("link"),
                                    "--json " + out + " --csv " + d.path(".") + "/out"}) {
        const CliResult r = run_cli("replay -q " + trace + " " + args);
        EXPECT_EQ(r.status, 2) << args;
        EXPECT_TRUE(contains(r.output, "the same file as --json " + out)) << args << "\n" << r.output;
    }
    d.write("out", "existing\n"); // an existing file: the same by identity
    const CliResult r = run_cli("replay -q " + trace + " --json " + d.path("link") + " --csv " + out);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(slurp(out), "existing\n");
}

TEST(Output, InvalidUtf8InAFileNameIsEscapedInTheJson)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("na\xffme.trace", kTrace);
    const std::string plat = d.path("plat\xfe.yaml");
    fs::copy_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/neoverse-n1.yaml", plat);
    const std::string json = d.path("r.json");
    const CliResult r = run_cli("replay -q -p '" + plat + "' '" + trace + "' --json " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto report = nlohmann::json::parse(slurp(json));
    EXPECT_EQ(report["trace"]["path"], d.path("na\\xffme.trace"));
    EXPECT_EQ(report["platform"]["source"], d.path("plat\\xfe.yaml"));
}

TEST(Output, ASymbolicLinkIsFollowedAndSurvives)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("t.trace", kTrace);
    ASSERT_EQ(::mkdir(d.path("sub").c_str(), 0755), 0);
    d.write("sub/real.json", "old\n");
    ::chmod(d.path("sub/real.json").c_str(), 0640);
    ASSERT_EQ(::symlink("sub/real.json", d.path("link.json").c_str()), 0);  // relative, to an existing file
    ASSERT_EQ(::symlink("link.json", d.path("link2.json").c_str()), 0);     // a chain
    ASSERT_EQ(::symlink("sub/new.csv", d.path("dangling.csv").c_str()), 0); // to a file still to be made
    const CliResult r = run_cli("replay -q " + trace + " --json " + d.path("link2.json") + " --csv " + d.path("dangling.csv"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(file_type(d.path("link.json")), S_IFLNK);
    EXPECT_EQ(file_type(d.path("link2.json")), S_IFLNK);
    EXPECT_EQ(file_type(d.path("dangling.csv")), S_IFLNK);
    EXPECT_TRUE(contains(slurp(d.path("sub/real.json")), "\"schema\": \"mmusim-report/3\""));
    EXPECT_EQ(slurp(d.path("sub/new.csv")).rfind("core,", 0), 0u);
    struct stat st;
    ASSERT_EQ(::stat(d.path("sub/real.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u) << "a replaced file keeps its mode";
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"dangling.csv", "link.json", "link2.json", "sub", "t.trace"}));
}

TEST(Output, AFifoIsWrittenThrough)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("t.trace", kTrace), fifo = d.path("fifo"), got = d.path("got");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
    // A reader in the background (bounded, should the FIFO be replaced and never opened for writing).
    const CliResult r = run_shell("timeout 20 cat " + fifo + " > " + got + " & " + kMmusim + " replay -q " + trace +
                                  " --json " + fifo + " 2>&1; rc=$?; wait; exit $rc");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(file_type(fifo), S_IFIFO);
    EXPECT_TRUE(contains(slurp(got), "\"schema\": \"mmusim-report/3\"")) << slurp(got);
}

TEST(Output, ACharacterDeviceIsWrittenThroughNotReplaced)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("t.trace", kTrace);
    // First a private null device (needs root): a regression replaces it, not the system's /dev/null.
    const std::string null = d.path("null");
    if (::mknod(null.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) == 0) {
        const CliResult r = run_cli("replay -q " + trace + " --json " + null + " --csv " + d.path("r.csv"));
        EXPECT_EQ(r.status, 0) << r.output;
        ASSERT_EQ(file_type(null), S_IFCHR) << "the device node was replaced";
    }
    const CliResult r = run_cli("replay -q " + trace + " --json /dev/null");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(file_type("/dev/null"), S_IFCHR);
    EXPECT_EQ(d.entries().size(), ::access(null.c_str(), F_OK) == 0 ? 3u : 1u) << "no temporaries";
}

TEST(Output, StandardOutputIsWrittenAtItsOffset)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    const std::string trace = d.write("t.trace", kTrace), out = d.path("out.txt");
    // A private link to /proc/self/fd/1 first, then the descriptor paths themselves (/dev/stdout last: a
    // regression would replace it for everyone).
    ASSERT_EQ(::symlink("/proc/self/fd/1", d.path("stdout").c_str()), 0);
    for (const std::string& path : {d.path("stdout"), std::string("/proc/self/fd/1"), std::string("/dev/fd/1"),
                                    std::string("/dev/stdout")}) {
        // Appended to what the shell wrote before, into a file opened by the shell: not truncated, not replaced.
        const CliResult r = run_shell("{ echo first; " + kMmusim + " replay -q " + trace + " --csv " + path + "; } > " +
                                      out + " 2>&1; echo $?");
        ASSERT_EQ(r.output, "0\n") << path << "\n" << slurp(out);
        const std::string text = slurp(out);
        EXPECT_EQ(text.rfind("first\ncore,l1i_accesses", 0), 0u) << path << "\n" << text;
        ASSERT_EQ(file_type(d.path("stdout")), S_IFLNK);
    }
    EXPECT_EQ(file_type("/dev/stdout"), S_IFLNK);
    // A descriptor open for reading only is refused before the simulation.
    const CliResult r = run_cli("replay -q " + trace + " --json /dev/stdin < " + trace);
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(contains(r.output, "--json /dev/stdin: cannot write")) << r.output;
}

TEST(Output, AWriteFailureAfterTheRunLeavesTheOtherReportUnwritten)
{
    Scratch d;
    ASSERT_TRUE(d.ok());
    // A private /dev/full (needs root), so that a regression cannot replace the system's.
    const std::string full = d.path("full");
    if (::mknod(full.c_str(), S_IFCHR | 0666, ::makedev(1, 7)) != 0)
        GTEST_SKIP() << "cannot make a device node";
    const std::string trace = d.write("t.trace", kTrace);
    d.write("old.csv", "old\n");
    // The full device takes the open and fails the write (ENOSPC): the CSV staged beside old.csv is not renamed.
    const CliResult r = run_cli("replay -q " + trace + " --csv " + d.path("old.csv") + " --json " + full);
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.output, "--json " + full + ": write failed: No space left on device")) << r.output;
    EXPECT_EQ(slurp(d.path("old.csv")), "old\n");
    EXPECT_EQ(d.entries(), (std::vector<std::string>{"full", "old.csv", "t.trace"}));
    EXPECT_EQ(file_type(full), S_IFCHR);
}
