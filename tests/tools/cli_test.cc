// SPDX-License-Identifier: GPL-2.0-only
// The mmusim command line as a user meets it: exit status 2 and a message naming file, line and key for bad
// input, nothing half-written, the listing commands.
#include "tests/tools/cli_run.hh"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

using Result = mmusim::test::CliResult;

Result run(const std::string& args) { return mmusim::test::run_cli(args); }

std::string temp(const std::string& name, const std::string& text)
{
    const std::string path = ::testing::TempDir() + "/cli-" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

const std::string kSrc = MMUSIM_SOURCE_DIR;

} // namespace

TEST(Cli, FormatsListsEveryPlugin)
{
    const Result r = run("formats");
    EXPECT_EQ(r.status, 0) << r.output;
    for (const char* name : {"arm64", "x86-64", "riscv", "native", "lackey"})
        EXPECT_NE(r.output.find(name), std::string::npos) << name;
}

TEST(Cli, ValidateAcceptsShippedPlatformsAndRejectsBadOnes)
{
    EXPECT_EQ(run("validate neoverse-n1 neoverse-v2 skylake-sp zen4 riscv-sv39").status, 0);
    const std::string bad = temp("bad.yaml", "name: x\narch: arm64\nbogus: 1\n");
    const Result r = run("validate " + bad);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find(bad + ":"), std::string::npos) << r.output;
}

TEST(Cli, ReplayWritesJsonAndCsv)
{
    const std::string trace = temp("ok.trace", "R 0x1000 8\nW 0x2000 8\nX 0x3000 4\n");
    const std::string json = ::testing::TempDir() + "/cli-ok.json";
    const std::string csv = ::testing::TempDir() + "/cli-ok.csv";
    const Result r = run("replay --platform neoverse-n1 " + trace + " --json " + json + " --csv " + csv);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("l1d"), std::string::npos);
    std::ifstream j(json);
    std::string text((std::istreambuf_iterator<char>(j)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\"schema\": \"mmusim-report/3\""), std::string::npos);
    std::ifstream c(csv);
    std::string header;
    std::getline(c, header);
    EXPECT_EQ(header.rfind("core,l1i_accesses", 0), 0u);
}

TEST(Cli, ReplayCheckReportsTheCheckObject)
{
    // One oracle query after each of the 4 faults (the read, the write, the fetch, and the write to the page
    // the read mapped to the zero page: a copy on write), one at the end.
    const std::string trace = temp("check.trace", "R 0x1000 8\nW 0x2000 8\nX 0x3000 4\nW 0x1000 8\n");
    const std::string json = ::testing::TempDir() + "/cli-check.json";
    const Result r = run("replay -q --check --platform neoverse-n1 " + trace + " --json " + json);
    ASSERT_EQ(r.status, 0) << r.output;
    std::ifstream j(json);
    std::string text((std::istreambuf_iterator<char>(j)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\"check\": {\n    \"enabled\": true,\n    \"queries\": 5,\n    \"violations\": 0\n  }"), std::string::npos)
        << text.substr(text.rfind("\"check\""));
}

TEST(Cli, MalformedTraceNamesFileAndLineAndWritesNothing)
{
    const std::string trace = temp("bad.trace", "R 0x1000\nW 0x2000\nQ 0x3000\n");
    const std::string json = ::testing::TempDir() + "/cli-bad.json";
    std::remove(json.c_str());
    const Result r = run("replay " + trace + " --json " + json);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find(trace + ":3:"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("SystemC"), std::string::npos) << "the error stops the simulation without a banner";
    EXPECT_FALSE(exists(json));
}

TEST(Cli, UnknownSetPathIsAnError)
{
    const std::string trace = temp("set.trace", "R 0x1000\n");
    const Result r = run("replay " + trace + " --set mmu.l1d.entires=64");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("--set mmu.l1d.entires=64"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("unknown key"), std::string::npos) << r.output;
}

TEST(Cli, BadCommandLineExitsTwo)
{
    EXPECT_EQ(run("replay --no-such-flag").status, 2);
    EXPECT_EQ(run("replay --format ascii x.trace").status, 2);
    EXPECT_EQ(run("replay /no/such/trace").status, 2);
}

TEST(Cli, TruncatedCompressedTraceSaysSo)
{
    // A gzip stream cut in half.
    const std::string plain = temp("t.trace", std::string(20000, '#') + "\nR 0x1000\n");
    const std::string gz = plain + ".gz";
    ASSERT_EQ(std::system(("gzip -c " + plain + " | head -c 40 > " + gz).c_str()), 0);
    const Result r = run("replay " + gz);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
}

TEST(Cli, StdinTrace)
{
    const Result r = run("replay --format native --quiet - < " + temp("stdin.trace", "R 0x1000\nR 0x1008\n"));
    EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Cli, RecordForAMissingCoreNamesItsLine)
{
    const std::string trace = temp("cores.trace", "R 0x1000 8 @1\nR 0x2000 8 @3\n");
    const Result r = run("replay --set cores=2 " + trace);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find(trace + ":2: record for core 3 but the platform has 2 core(s)"), std::string::npos) << r.output;
}

TEST(Cli, UnknownPlatformListsTheShippedOnes)
{
    const Result r = run("replay -p neoverse-n3 " + temp("p.trace", "R 0x1000\n"));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.output.find("unknown platform 'neoverse-n3'"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("neoverse-n1"), std::string::npos) << r.output;
}

TEST(Cli, SameInputsGiveByteIdenticalJson)
{
    const std::string sample = kSrc + "/traces/samples/lackey_true.txt.xz";
    const std::string a = ::testing::TempDir() + "/cli-det-a.json", b = ::testing::TempDir() + "/cli-det-b.json";
    ASSERT_EQ(run("replay -q -p zen4 --set cores=2 " + sample + " --json " + a).status, 0);
    ASSERT_EQ(run("replay -q -p zen4 --set cores=2 " + sample + " --json " + b).status, 0);
    std::ifstream fa(a), fb(b);
    const std::string ta((std::istreambuf_iterator<char>(fa)), std::istreambuf_iterator<char>());
    const std::string tb((std::istreambuf_iterator<char>(fb)), std::istreambuf_iterator<char>());
    EXPECT_GT(ta.size(), 1000u);
    EXPECT_EQ(ta, tb);
}

TEST(Cli, EmptyArgumentIsAnErrorNamingTheOption)
{
    // Each of these used to mean "not given": the built-in sample, the default platform, no report.
    const std::string trace = temp("empty.trace", "R 0x1000\n");
    const std::string json = ::testing::TempDir() + "/cli-empty.json";
    struct Case {
        std::string args, option;
    };
    for (const Case& c : {Case{"replay -q ''", "TRACE"}, Case{"replay -q -p '' " + trace, "--platform"},
                          Case{"replay -q " + trace + " --json ''", "--json"},
                          Case{"replay -q " + trace + " --csv ''", "--csv"},
                          Case{"replay -q " + trace + " --set ''", "--set"}, Case{"validate ''", "files"}}) {
        const Result r = run(c.args);
        EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
        EXPECT_NE(r.output.find("mmusim: error: " + c.option + ": an empty value is not allowed"), std::string::npos)
            << c.args << "\n" << r.output;
    }
}

TEST(Cli, TwoFailingCoresPrintNoSystemCWarning)
{
    // Both cores run out of simulated memory (16M) at about the same time; each used to call sc_stop(), and
    // the second printed SystemC's W545 warning on stdout, -q or not. Each write lands in its own 2M region:
    // a THP while 2M blocks last, then (THP_FAULT_FALLBACK) a 4K page and a PTE table, until none is left.
    std::string text;
    for (int i = 0; i < 1100; ++i) {
        char line[96];
        const auto n = static_cast<unsigned long long>(i);
        std::snprintf(line, sizeof line, "W 0x%llx 8 @0\nW 0x%llx 8 @1\n", 0x10000000ull + n * 0x200000,
                      0x80000000000ull + n * 0x200000);
        text += line;
    }
    const std::string trace = temp("two-oom.trace", text);
    const Result r = mmusim::test::run_shell(mmusim::test::kMmusim +
                                             " replay -q --set cores=2 --set memory.size=16M --set kernel.folio_size=2M " +
                                             trace + " 2>/dev/null");
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.output, "") << "stdout holds only the table, and -q has none";
    const Result all = run("replay -q --set cores=2 --set memory.size=16M --set kernel.folio_size=2M " + trace);
    EXPECT_EQ(all.status, 2);
    EXPECT_EQ(all.output.find("W545"), std::string::npos) << all.output;
    EXPECT_NE(all.output.find("mmusim: error: out of simulated physical memory"), std::string::npos) << all.output;
}

TEST(Cli, AutoFormatLooksAtTheFileNameOnly)
{
    // A native trace in a folder whose name says lackey (docs/TRACES.md: the file name decides).
    const std::string dir = ::testing::TempDir() + "/cli-lackey_dir";
    ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
    const std::string trace = dir + "/t.trace";
    std::ofstream(trace) << "R 0x1000 8\nW 0x2000 8\n";
    const Result r = run("replay " + trace);
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("(native)"), std::string::npos) << r.output;
    // The file name still picks lackey.
    const std::string lackey = temp("x.lackey", " L 0001000,8\n");
    const Result l = run("replay " + lackey);
    EXPECT_EQ(l.status, 0) << l.output;
    EXPECT_NE(l.output.find("(lackey)"), std::string::npos) << l.output;
}

TEST(Cli, EachSetTakesOneKeyValue)
{
    const std::string trace = temp("set2.trace", "R 0x1000\n");
    for (const std::string& args : {"replay --set cores=2 mmu.l1d.entries=64 " + trace,
                                    "replay " + trace + " --set cores=2 mmu.l1d.entries=64",
                                    std::string("replay --set cores=2 mmu.l1d.entries=64"),
                                    std::string("validate --set cores=2 mmu.l1d.entries=64 neoverse-n1")}) {
        const Result r = run(args);
        EXPECT_EQ(r.status, 2) << args;
        EXPECT_NE(r.output.find("'mmu.l1d.entries=64'"), std::string::npos) << args << "\n" << r.output;
        EXPECT_NE(r.output.find("write --set mmu.l1d.entries=64"), std::string::npos) << args << "\n" << r.output;
    }
    const Result two = run("replay " + trace + " " + trace);
    EXPECT_EQ(two.status, 2);
    EXPECT_NE(two.output.find("mmusim: error: replay takes one trace, got 2"), std::string::npos) << two.output;
}

TEST(Cli, ParseErrorsReadLikeEveryOtherError)
{
    for (const char* args : {"replay --no-such-flag", "replay --format ascii x.trace", "validate", "no-such-command",
                             "replay --json"}) {
        const Result r = run(args);
        EXPECT_EQ(r.status, 2) << args;
        EXPECT_EQ(r.output.rfind("mmusim: error: ", 0), 0u) << args << "\n" << r.output;
        EXPECT_NE(r.output.find("--help' for more information"), std::string::npos) << args << "\n" << r.output;
    }
    EXPECT_NE(run("replay --no-such-flag").output.find("Run 'mmusim replay --help'"), std::string::npos);
    // --help and --version are no errors: status 0, no prefix.
    for (const char* args : {"--help", "replay --help", "--version"}) {
        const Result r = run(args);
        EXPECT_EQ(r.status, 0) << args;
        EXPECT_EQ(r.output.find("mmusim: error"), std::string::npos) << args << "\n" << r.output;
        EXPECT_NE(r.output.find("mmusim"), std::string::npos) << args << "\n" << r.output;
    }
}

TEST(Cli, OutOfHostMemoryIsAClearError)
{
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer reserves terabytes of shadow address space: ulimit -v cannot apply";
#endif
    // 256 cores with a 64K-entry L2 TLB each (about 800 MB of TLB arrays) pass validation, which refuses only
    // what no host could hold, but cannot fit in 300 MB of address space.
    const std::string trace = temp("oom.trace", "R 0x1000\n");
    const Result r = mmusim::test::run_shell("ulimit -v 300000; " + mmusim::test::kMmusim +
                                             " replay -q --set cores=256 --set mmu.l2.entries=65536 --set mmu.l2.ways=4 " +
                                             trace + " 2>&1");
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("mmusim: error: out of host memory"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("bad_alloc"), std::string::npos) << r.output;
}
