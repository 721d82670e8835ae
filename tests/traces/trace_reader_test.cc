// SPDX-License-Identifier: GPL-2.0-only
// TraceError formatting and the reader registry.
#include "tests/traces/trace_test_util.hh"

#include <algorithm>

namespace mmusim::traces {
namespace {

TEST(TraceError, NamesFileAndLine)
{
    const TraceError e("trace.txt", 42, "bad thing");
    EXPECT_STREQ(e.what(), "trace.txt:42: bad thing");
    EXPECT_EQ(e.file, "trace.txt");
    EXPECT_EQ(e.line, 42u);
}

TEST(TraceError, LineZeroLeavesTheLineOut)
{
    const TraceError e("trace.txt.gz", 0, "truncated gzip stream");
    EXPECT_STREQ(e.what(), "trace.txt.gz: truncated gzip stream");
    EXPECT_EQ(e.line, 0u);
}

TEST(TraceError, IsARuntimeError)
{
    try {
        throw TraceError("f", 1, "m");
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "f:1: m");
        return;
    }
    FAIL() << "not caught as std::runtime_error";
}

TEST(ReaderRegistry, BuiltInReadersAreRegistered)
{
    const ReaderRegistry& reg = ReaderRegistry::instance();
    for (const char* name : {"native", "lackey"}) {
        const ReaderInfo* info = reg.find(name);
        ASSERT_NE(info, nullptr) << name;
        EXPECT_EQ(info->name, name);
        EXPECT_FALSE(info->description.empty());
        EXPECT_TRUE(static_cast<bool>(info->make));
    }
    EXPECT_EQ(reg.find("nope"), nullptr);
    EXPECT_EQ(reg.find(""), nullptr);
    EXPECT_EQ(reg.find("Native"), nullptr); // names are case-sensitive
}

TEST(ReaderRegistry, InstanceIsASingleton) { EXPECT_EQ(&ReaderRegistry::instance(), &ReaderRegistry::instance()); }

TEST(ReaderRegistry, AllIsSortedByName)
{
    const auto all = ReaderRegistry::instance().all();
    ASSERT_GE(all.size(), 2u);
    EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                               [](const ReaderInfo* a, const ReaderInfo* b) { return a->name < b->name; }));
    auto has = [&](const char* n) {
        return std::any_of(all.begin(), all.end(), [&](const ReaderInfo* r) { return r->name == n; });
    };
    EXPECT_TRUE(has("native"));
    EXPECT_TRUE(has("lackey"));
}

ReaderInfo dummy(const std::string& name, const std::string& desc = "d")
{
    return ReaderInfo{name, desc, [](std::unique_ptr<InputStream>) -> std::unique_ptr<TraceReader> { return nullptr; }};
}

TEST(ReaderRegistry, RejectsDuplicateAndEmptyNames)
{
    ReaderRegistry reg; // a private registry: the global one is left alone
    EXPECT_TRUE(reg.add(dummy("zeta", "first")));
    EXPECT_TRUE(reg.add(dummy("alpha")));
    EXPECT_FALSE(reg.add(dummy("zeta", "second")));
    ASSERT_NE(reg.find("zeta"), nullptr);
    EXPECT_EQ(reg.find("zeta")->description, "first"); // the first registration stays
    EXPECT_FALSE(reg.add(dummy("")));
    EXPECT_FALSE(reg.add(ReaderInfo{"nomake", "no factory", nullptr}));
    const auto all = reg.all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0]->name, "alpha");
    EXPECT_EQ(all[1]->name, "zeta");
}

TEST(ReaderRegistry, DuplicateOfABuiltInIsRejected)
{
    // Registering "native" again in the global registry must fail and leave the real reader in place.
    const ReaderInfo* before = ReaderRegistry::instance().find("native");
    EXPECT_FALSE(ReaderRegistry::instance().add(dummy("native")));
    EXPECT_EQ(ReaderRegistry::instance().find("native"), before);
}

TEST(ReaderRegistry, OpenUnknownFormatListsKnownOnes)
{
    try {
        ReaderRegistry::instance().open("bogus", "whatever.trace");
        FAIL() << "no exception";
    } catch (const TraceError& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("whatever.trace: "), std::string::npos) << m;
        EXPECT_NE(m.find("unknown trace format 'bogus'"), std::string::npos) << m;
        EXPECT_NE(m.find("(known: "), std::string::npos) << m;
        EXPECT_NE(m.find("lackey"), std::string::npos) << m;
        EXPECT_NE(m.find("native"), std::string::npos) << m;
    }
}

TEST(ReaderRegistry, OpenMissingFileNamesIt)
{
    try {
        ReaderRegistry::instance().open("native", "/nonexistent/dir/trace.txt");
        FAIL() << "no exception";
    } catch (const TraceError& e) {
        EXPECT_STREQ(e.what(), "/nonexistent/dir/trace.txt: cannot open: No such file or directory");
    }
}

TEST(ReaderRegistry, OpenParsesWithTheNamedReader)
{
    test::ScratchDir dir;
    const std::string native = dir.write("n.trace", "W 0x10 4\n");
    const std::string lackey = dir.write("l.trace", " S 10,4\n");
    auto a = test::read_all(*ReaderRegistry::instance().open("native", native));
    auto b = test::read_all(*ReaderRegistry::instance().open("lackey", lackey));
    test::expect_records(a, {test::rec(AccessKind::Write, 0x10, 4)});
    test::expect_records(b, {test::rec(AccessKind::Write, 0x10, 4)});
    // The wrong reader for the text fails on line 1.
    EXPECT_THROW(test::read_all(*ReaderRegistry::instance().open("lackey", native)), TraceError);
}

} // namespace
} // namespace mmusim::traces
