// SPDX-License-Identifier: GPL-2.0-only
// The mmusim command line as a user meets it: exit status 2 and a message naming file, line and key for bad
// input, nothing half-written, the listing commands.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct Result {
    int status = -1;
    std::string output; // stdout and stderr
};

Result run(const std::string& args)
{
    Result r;
    const std::string cmd = std::string(MMUSIM_BINARY) + " " + args + " 2>&1";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f)
        return r;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
        r.output.append(buf, n);
    const int st = ::pclose(f);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

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
    EXPECT_NE(text.find("\"schema\": \"mmusim-report/1\""), std::string::npos);
    std::ifstream c(csv);
    std::string header;
    std::getline(c, header);
    EXPECT_EQ(header.rfind("core,l1i_accesses", 0), 0u);
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
