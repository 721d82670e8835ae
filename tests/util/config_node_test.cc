// SPDX-License-Identifier: GPL-2.0-only
#include "util/config_node.hh"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>

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

// Reads every key of kDoc, so that finish() only objects to what a test adds.
void consume_doc(const ConfigNode& root)
{
    root.str("name");
    const ConfigNode l1d = root.child("mmu").child("l1d");
    l1d.u64("entries");
    l1d.u64("ways");
    for (const auto& e : root.list("list"))
        e.u64("a");
}

// "Billion laughs": nine levels of nine aliases each, about 1 KB of text standing for 9^9 scalars.
std::string alias_bomb(const std::string& at_key)
{
    std::string text = "l0: &l0 lol\n";
    for (int level = 1; level <= 9; ++level) {
        const std::string prev = "*l" + std::to_string(level - 1);
        text += "l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + prev;
        for (int i = 1; i < 9; ++i)
            text += ", " + prev;
        text += "]\n";
    }
    return text + at_key + ": *l9\n";
}

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

TEST(ConfigNode, DuplicateKeyNamesSecondOccurrence)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\nmmu:\n  a: 1\n  b: 2\n  a: 3\n", "d.yaml"); }),
              "d.yaml:5: mmu.a: duplicate key");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\nname: y\n", "d.yaml"); }),
              "d.yaml:2: name: duplicate key");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("list:\n  - {a: 1, a: 2}\n", "d.yaml"); }),
              "d.yaml:2: list.0.a: duplicate key");
}

TEST(ConfigNode, DottedKeyIsRejectedAtAnyLevel)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\nmmu.l1d.entries: 7\n", "d.yaml"); }),
              "d.yaml:2: mmu.l1d.entries: keys may not contain '.'; nest maps instead");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("mmu:\n  l1d:\n    x.y: 7\n", "d.yaml"); }),
              "d.yaml:3: mmu.l1d.x.y: keys may not contain '.'; nest maps instead");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("list:\n  - {a: 1}\n  - {b.c: 1}\n", "d.yaml"); }),
              "d.yaml:3: list.1.b.c: keys may not contain '.'; nest maps instead");
}

TEST(ConfigNode, OverrideKeyWithEmptyComponentIsRejected)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    EXPECT_EQ(error_of([&] { root.apply_override("mmu.l1d.entries.=64"); }),
              "--set mmu.l1d.entries.=64: empty component in key 'mmu.l1d.entries.'");
    EXPECT_EQ(error_of([&] { root.apply_override(".a=1"); }), "--set .a=1: empty component in key '.a'");
    EXPECT_EQ(error_of([&] { root.apply_override("a..b=1"); }), "--set a..b=1: empty component in key 'a..b'");
    EXPECT_EQ(error_of([&] { root.apply_override(".=1"); }), "--set .=1: empty component in key '.'");
    // None of them changed anything.
    consume_doc(root);
    EXPECT_NO_THROW(root.finish());
    EXPECT_EQ(root.child("mmu").child("l1d").u64("entries"), 48u);
}

TEST(ConfigNode, OverrideListIndexMustBeCanonical)
{
    ConfigNode root = ConfigNode::from_string("list:\n  - {a: 1}\n  - {a: 2}\ns: [1, 2]\n", "p.yaml");
    EXPECT_EQ(error_of([&] { root.apply_override("list.00.a=9"); }),
              "--set list.00.a=9: list: '00' is not an index of the list (it has 2 elements)");
    EXPECT_EQ(error_of([&] { root.apply_override("list.01.a=9"); }),
              "--set list.01.a=9: list: '01' is not an index of the list (it has 2 elements)");
    EXPECT_EQ(error_of([&] { root.apply_override("s.00=9"); }),
              "--set s.00=9: s: '00' is not an index of the list (it has 2 elements)");
    EXPECT_THROW(root.apply_override("s.+1=9"), ConfigError);
    EXPECT_THROW(root.apply_override("s.2=9"), ConfigError);
    root.apply_override("list.0.a=7");
    root.apply_override("s.1=5");
    EXPECT_EQ(root.list("list")[0].u64("a"), 7u);
    EXPECT_EQ(root.size_list("s"), (std::vector<std::uint64_t>{1, 5}));
}

TEST(ConfigNode, SecondDocumentIsRejected)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\n---\nname: y\n", "m.yaml"); }),
              "m.yaml:2: a second YAML document; a config is one document");
    // Even an empty one: it is a sign of two files run together.
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\n\n---\n# nothing\n", "m.yaml"); }),
              "m.yaml:3: a second YAML document; a config is one document");
    // One document with an explicit start (and end) is fine.
    ConfigNode root = ConfigNode::from_string("---\nname: x\n...\n", "m.yaml");
    EXPECT_EQ(root.str("name"), "x");
}

TEST(ConfigNode, NulByteIsRejected)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string(std::string("name: x\nb: 1\0 2\nc: 3\n", 20), "n.yaml"); }),
              "n.yaml:2: NUL byte in the text");
    EXPECT_EQ(error_of([] { ConfigNode::from_string(std::string("# \0\nname: x\n", 11), "n.yaml"); }),
              "n.yaml:1: NUL byte in the text");
    // Escaped in a double-quoted scalar it would cut the value short wherever it meets a C string.
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\nm:\n  v: \"12\\0junk\"\n", "n.yaml"); }),
              "n.yaml:3: m.v: NUL character in a value");
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    EXPECT_EQ(error_of([&] { root.apply_override(std::string("mmu.l1d.entries=64\0junk", 23)); }),
              "--set mmu.l1d.entries=64\\0junk: NUL byte in the assignment");
    EXPECT_EQ(root.child("mmu").child("l1d").u64("entries"), 48u);
}

TEST(ConfigNode, NonScalarKeyIsAConfigError)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("name: x\n? [a, b]\n: 1\n", "k.yaml"); }),
              "k.yaml:2: (top level): map keys must be plain names");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("mmu:\n  {a: 1}: 2\n", "k.yaml"); }),
              "k.yaml:2: mmu: map keys must be plain names");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("mmu:\n  ~: 2\n", "k.yaml"); }),
              "k.yaml:2: mmu: map keys must be plain names");
    EXPECT_EQ(error_of([] { ConfigNode::from_string("mmu:\n  \"\": 2\n", "k.yaml"); }),
              "k.yaml:2: mmu: map keys must be plain names");
}

TEST(ConfigNode, AliasBombIsRejectedAtOnce)
{
    // Under a dotted key and a duplicate key (where finish() used to walk all 9^9 nodes), and a plain one.
    for (const char* key : {"bad.key", "l1", "fine"}) {
        const std::string err = error_of([&] { ConfigNode::from_string(alias_bomb(key), "b.yaml"); });
        EXPECT_EQ(err, "b.yaml: document expands to more than 1000000 nodes (YAML aliases?)") << key;
    }
    // A few aliases are fine.
    ConfigNode root = ConfigNode::from_string("a: &x {v: 1}\nb: *x\n", "b.yaml");
    EXPECT_EQ(root.child("b").u64("v"), 1u);
}

TEST(ConfigNode, AliasInsideItsOwnAnchorIsRejected)
{
    // yaml-cpp builds a cycle; finish() would recurse until the stack ran out.
    const std::string err = error_of([] { ConfigNode::from_string("name: x\nlist: &x [1, *x]\n", "c.yaml"); });
    EXPECT_EQ(err.rfind("c.yaml:2: nesting is too deep (more than 256 levels)", 0), 0u) << err;
}

TEST(ConfigNode, DeepNestingIsRejected)
{
    EXPECT_EQ(error_of([] { ConfigNode::from_string("a: " + std::string(100000, '['), "deep.yaml"); }),
              "deep.yaml: nesting is too deep (more than 256 levels)");
    // Deeper than our bound though within yaml-cpp's.
    const std::string nested = "a: " + std::string(300, '[') + std::string(300, ']');
    EXPECT_EQ(error_of([&] { ConfigNode::from_string(nested, "deep.yaml"); }),
              "deep.yaml:1: nesting is too deep (more than 256 levels) (a YAML alias inside its own anchor?)");
    std::string block;
    for (int i = 0; i < 1000; ++i)
        block += std::string(std::size_t(i), ' ') + "k:\n";
    EXPECT_EQ(error_of([&] { ConfigNode::from_string(block, "deep.yaml"); }),
              "deep.yaml: nesting is too deep (more than 256 levels)");
}

TEST(ConfigNode, LoadFileRefusesDirectoriesAndReportsOpenErrors)
{
    const std::string dir = ::testing::TempDir();
    EXPECT_EQ(error_of([&] { ConfigNode::load_file(dir); }), dir + ": is a directory, not a config file");
    const std::string missing = dir + "/config-node-no-such.yaml";
    EXPECT_EQ(error_of([&] { ConfigNode::load_file(missing); }), missing + ": cannot open: No such file or directory");
    // A character device reads like any file.
    EXPECT_TRUE(ConfigNode::load_file("/dev/null").keys().empty());
    const std::string ok = dir + "/config-node-ok.yaml";
    std::ofstream(ok) << "name: x\n";
    EXPECT_EQ(ConfigNode::load_file(ok).str("name"), "x");
    std::remove(ok.c_str());
}

TEST(ConfigNode, OverrideCreatingMapsIsBlamedOnTheSet)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    root.apply_override("newmap.inner.key=1");
    consume_doc(root);
    EXPECT_EQ(error_of([&] { root.finish(); }), "--set newmap.inner.key=1: newmap: unknown key");
    // A map the file has keeps its own origin; the new key below it is the override's.
    ConfigNode other = ConfigNode::from_string(kDoc, "p.yaml");
    other.apply_override("mmu.newmap.key=1");
    consume_doc(other);
    EXPECT_EQ(error_of([&] { other.finish(); }), "--set mmu.newmap.key=1: mmu.newmap: unknown key");
    EXPECT_EQ(other.child("mmu").where(), "p.yaml:3: mmu");
}

TEST(ConfigNode, OverrideListValueGetsTheFileChecks)
{
    ConfigNode root = ConfigNode::from_string(kDoc, "p.yaml");
    EXPECT_EQ(error_of([&] { root.apply_override("list=[{a: 1, a: 2}]"); }),
              "--set list=[{a: 1, a: 2}]: list.0.a: duplicate key");
    EXPECT_EQ(error_of([&] { root.apply_override("list=[{a.b: 1}]"); }),
              "--set list=[{a.b: 1}]: list.0.a.b: keys may not contain '.'; nest maps instead");
    EXPECT_EQ(error_of([&] { root.apply_override("list=[1, 2"); }).rfind("--set list=[1, 2: YAML syntax error: ", 0),
              0u);
    EXPECT_EQ(root.list("list").size(), 2u); // rejected values changed nothing
    root.apply_override("list=[{a: 5}]");
    ASSERT_EQ(root.list("list").size(), 1u);
    EXPECT_EQ(root.list("list")[0].u64("a"), 5u);
}
