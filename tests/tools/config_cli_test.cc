// SPDX-License-Identifier: GPL-2.0-only
// Bad YAML through the command line: every case below is exit status 2 and one "mmusim: error:" line
// naming the file (and line) or the --set, never a crash, a hang, exit 1 or a silently ignored key.
#include "cli_run.hh"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>

namespace {

using Result = mmusim::test::CliResult;
Result run(const std::string& args) { return mmusim::test::run_cli(args); }

std::string shipped()
{
    std::ifstream in(std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/neoverse-n1.yaml");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int lines(const std::string& text) { return int(std::count(text.begin(), text.end(), '\n')); }

std::string temp(const std::string& name, const std::string& text)
{
    const std::string path = ::testing::TempDir() + "/config-cli-" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

// `validate` exits 2 with exactly "mmusim: error: <expected>".
void expect_error(const std::string& args, const std::string& expected)
{
    const Result r = run("validate " + args);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_EQ(r.output, "mmusim: error: " + expected + "\n");
}

} // namespace

TEST(ConfigCli, ShippedPlatformStillValidates)
{
    const std::string path = temp("ok.yaml", shipped());
    EXPECT_EQ(run("validate " + path).status, 0);
}

TEST(ConfigCli, DuplicateKeyInAPlatform)
{
    const std::string text = shipped();
    const std::string path = temp("dup.yaml", text + "cores: 2\n");
    expect_error(path, path + ":" + std::to_string(lines(text) + 1) + ": cores: duplicate key");
}

TEST(ConfigCli, DottedKeyInAPlatform)
{
    const std::string text = shipped();
    const std::string path = temp("dotted.yaml", text + "mmu.l1d.entries: 7\n");
    expect_error(path, path + ":" + std::to_string(lines(text) + 1) +
                           ": mmu.l1d.entries: keys may not contain '.'; nest maps instead");
}

TEST(ConfigCli, SecondDocument)
{
    const std::string text = shipped();
    const std::string path = temp("multi.yaml", text + "---\ncores: 2\n");
    expect_error(path, path + ":" + std::to_string(lines(text) + 1) +
                           ": a second YAML document; a config is one document");
}

TEST(ConfigCli, NonScalarKeyIsExitStatus2)
{
    const std::string path = temp("key.yaml", "name: x\n? [a, b]\n: 1\n");
    expect_error(path, path + ":2: (top level): map keys must be plain names");
}

TEST(ConfigCli, AliasBombUnderADuplicateKey)
{
    std::string bomb = "l0: &l0 lol\n";
    for (int level = 1; level <= 9; ++level) {
        const std::string prev = "*l" + std::to_string(level - 1);
        bomb += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + prev;
        for (int i = 1; i < 9; ++i)
            bomb += ", " + prev;
        bomb += "]\n";
    }
    const std::string path = temp("bomb.yaml", shipped() + bomb + "name: *l9\n");
    expect_error(path, path + ": document expands to more than 1000000 nodes (YAML aliases?)");
}

TEST(ConfigCli, DeepNesting)
{
    const std::string path = temp("deep.yaml", "name: " + std::string(100000, '[') + "\n");
    expect_error(path, path + ": nesting is too deep (more than 256 levels)");
}

TEST(ConfigCli, DirectoryIsNotAConfig)
{
    const std::string dir = ::testing::TempDir() + "/config-cli-dir";
    ::mkdir(dir.c_str(), 0755);
    expect_error(dir, dir + ": is a directory, not a config file");
}

TEST(ConfigCli, BadSetKeys)
{
    expect_error("neoverse-n1 --set mmu.l1d.entries.=64",
                 "--set mmu.l1d.entries.=64: empty component in key 'mmu.l1d.entries.'");
    expect_error("neoverse-n1 --set caches.levels.00.latency=3",
                 "--set caches.levels.00.latency=3: caches.levels: '00' is not an index of the list "
                 "(it has 3 elements)");
    expect_error("neoverse-n1 --set newmap.key=1", "--set newmap.key=1: newmap: unknown key");
}
