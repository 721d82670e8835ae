// SPDX-License-Identifier: GPL-2.0-only
#include "util/config_node.hh"

#include <gtest/gtest.h>

using mmusim::ConfigError;
using mmusim::ConfigNode;

namespace {

std::string error_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "<no error>";
}

const char* kDoc = "name: x\n"
                   "mmu:\n"
                   "  l1d:\n"
                   "    entries: 48\n"
                   "    ways: 4\n"
                   "list:\n"
                   "  - {a: 1}\n"
                   "  - {a: 2}\n";

} // namespace

TEST(ConfigNode, UnknownKeyNamesFileLineAndKey)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    root.str("name");
    const ConfigNode l1d = root.child("mmu").child("l1d");
    l1d.u64("entries");
    for (const auto& e : root.list("list"))
        e.u64("a");
    // mmu.l1d.ways was never read.
    EXPECT_EQ(error_of([&] { root.finish(); }), "p.yaml:5: mmu.l1d.ways: unknown key");
    l1d.u64("ways");
    EXPECT_NO_THROW(root.finish());
}

TEST(ConfigNode, WrongTypeAndRange)
{
    ConfigNode root = ConfigNode::from_string("a: hello\nb: 7\nc: [1, 2]\nd: maybe\n", "f.yaml");
    EXPECT_EQ(error_of([&] { root.u64("a"); }), "f.yaml:1: a: expected a non-negative integer, got 'hello'");
    EXPECT_EQ(error_of([&] { root.u64("b", 8, 10); }), "f.yaml:2: b: 7 is out of range [8, 10]");
    EXPECT_EQ(error_of([&] { root.str("c"); }), "f.yaml:3: c: expected a single value, not a list");
    EXPECT_EQ(error_of([&] { root.boolean("d"); }), "f.yaml:4: d: expected true or false, got 'maybe'");
    EXPECT_NE(error_of([&] { root.str("missing"); }).find("missing required key 'missing'"), std::string::npos);
}

TEST(ConfigNode, SyntaxErrorNamesLine)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("a: 1\nb: [1, 2\n", "bad.yaml"); }).rfind("bad.yaml:", 0), 0u);
}

TEST(ConfigNode, OverrideReplacesAndIsReportedAsSet)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    root.apply_override("mmu.l1d.entries=64");
    EXPECT_EQ(root.child("mmu").child("l1d").u64("entries"), 64u);
    root.apply_override("mmu.l1d.ways=many");
    EXPECT_EQ(error_of([&] { root.child("mmu").child("l1d").u64("ways"); }),
              "--set mmu.l1d.ways=many: mmu.l1d.ways: expected a non-negative integer, got 'many'");
}

TEST(ConfigNode, OverrideOfUnknownPathIsRejectedByFinish)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    root.apply_override("mmu.l1d.entires=64");
    root.str("name");
    const ConfigNode l1d = root.child("mmu").child("l1d");
    l1d.u64("entries");
    l1d.u64("ways");
    for (const auto& e : root.list("list"))
        e.u64("a");
    EXPECT_EQ(error_of([&] { root.finish(); }), "--set mmu.l1d.entires=64: mmu.l1d.entires: unknown key");
}

TEST(ConfigNode, OverrideListElementAndBadSyntax)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    root.apply_override("list.1.a=9");
    EXPECT_EQ(root.list("list")[1].u64("a"), 9u);
    EXPECT_THROW(root.apply_override("list.5.a=1"), ConfigError);
    EXPECT_THROW(root.apply_override("noequals"), ConfigError);
    EXPECT_THROW(root.apply_override("name.x=1"), ConfigError); // name holds a value, not a map
}

TEST(ConfigNode, Sizes)
{
    EXPECT_EQ(mmusim::parse_size("4096"), 4096u);
    EXPECT_EQ(mmusim::parse_size("4K"), 4096u);
    EXPECT_EQ(mmusim::parse_size("64k"), 65536u);
    EXPECT_EQ(mmusim::parse_size("2M"), 2u << 20);
    EXPECT_EQ(mmusim::parse_size("1G"), 1u << 30);
    EXPECT_EQ(mmusim::parse_size("0x1000"), 4096u);
    EXPECT_THROW(mmusim::parse_size("4Q"), std::invalid_argument);
    EXPECT_THROW(mmusim::parse_size(""), std::invalid_argument);
    EXPECT_THROW(mmusim::parse_size("99999999999999999999"), std::invalid_argument);
    EXPECT_EQ(mmusim::format_size(65536), "64K");
    EXPECT_EQ(mmusim::format_size(3000), "3000");
    ConfigNode root = ConfigNode::from_string("s: [4K, 2M]\nt: 4K,64K\n", "f.yaml");
    EXPECT_EQ(root.size_list("s"), (std::vector<std::uint64_t>{4096, 2u << 20}));
    EXPECT_EQ(root.size_list("t"), (std::vector<std::uint64_t>{4096, 65536}));
}
