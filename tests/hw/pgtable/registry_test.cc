// SPDX-License-Identifier: GPL-2.0-only
// FormatRegistry: the three built-in formats, option checking and registration rules.
#include "tests/hw/pgtable/format_test_util.hh"

namespace mmusim::hw::test {
namespace {

// The key a FormatOptionError names, or "" when create() did not throw one.
std::string error_key(const std::string& name, const FormatOptions& opts, std::string* what = nullptr)
{
    try {
        FormatRegistry::instance().create(name, opts);
    } catch (const FormatOptionError& e) {
        if (what)
            *what = e.what();
        return e.key;
    }
    return "";
}

TEST(FormatRegistry, ListsTheThreeFormatsSorted)
{
    EXPECT_EQ(FormatRegistry::instance().names(), (std::vector<std::string>{"arm64", "riscv", "x86-64"}));
    const auto all = FormatRegistry::instance().all();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0]->name, "arm64");
    EXPECT_EQ(all[1]->name, "riscv");
    EXPECT_EQ(all[2]->name, "x86-64");
    for (const FormatInfo* info : all) {
        EXPECT_FALSE(info->description.empty()) << info->name;
        EXPECT_FALSE(info->options.empty()) << info->name;
        // The documented defaults must be accepted, and give the same format as no options.
        FormatOptions defaults;
        for (const FormatOptionDoc& o : info->options)
            defaults[o.key] = o.default_value;
        const auto a = FormatRegistry::instance().create(info->name, defaults);
        const auto b = FormatRegistry::instance().create(info->name, {});
        ASSERT_NE(a, nullptr);
        ASSERT_NE(b, nullptr);
        EXPECT_EQ(a->name(), info->name);
        EXPECT_EQ(a->variant(), b->variant());
    }
}

TEST(FormatRegistry, FindsByName)
{
    ASSERT_NE(FormatRegistry::instance().find("riscv"), nullptr);
    EXPECT_EQ(FormatRegistry::instance().find("riscv")->name, "riscv");
    EXPECT_EQ(FormatRegistry::instance().find("sparc"), nullptr);
}

TEST(FormatRegistry, UnknownFormatNamesKeyFormatAndListsKnown)
{
    std::string what;
    EXPECT_EQ(error_key("sparc", {}, &what), "format");
    EXPECT_NE(what.find("sparc"), std::string::npos) << what;
    for (const char* known : {"arm64", "riscv", "x86-64"})
        EXPECT_NE(what.find(known), std::string::npos) << what;
}

TEST(FormatRegistry, UnknownOptionNamesTheOption)
{
    std::string what;
    EXPECT_EQ(error_key("arm64", {{"page_size", "4K"}}, &what), "page_size");
    EXPECT_NE(what.find("granule"), std::string::npos) << "lists the options: " << what;
    EXPECT_EQ(error_key("x86-64", {{"mode", "sv39"}}), "mode");
    EXPECT_EQ(error_key("riscv", {{"levels", "4"}}), "levels");
}

TEST(FormatRegistry, BadValueNamesTheOptionAndListsAllowed)
{
    std::string what;
    EXPECT_EQ(error_key("arm64", {{"granule", "8K"}}, &what), "granule");
    EXPECT_NE(what.find("4K|16K|64K"), std::string::npos) << what;
    EXPECT_EQ(error_key("arm64", {{"va_bits", "52"}}), "va_bits");
    EXPECT_EQ(error_key("arm64", {{"va_bits", "forty"}}), "va_bits");
    EXPECT_EQ(error_key("arm64", {{"va_bits", ""}}), "va_bits");
    EXPECT_EQ(error_key("x86-64", {{"levels", "3"}}, &what), "levels");
    EXPECT_NE(what.find("4|5"), std::string::npos) << what;
    EXPECT_EQ(error_key("riscv", {{"mode", "sv32"}}, &what), "mode");
    EXPECT_NE(what.find("sv39|sv48|sv57"), std::string::npos) << what;
}

TEST(FormatRegistry, Arm64VaBitsMustSuitTheGranule)
{
    // Each value is allowed with some granule, so only the combination is wrong.
    std::string what;
    EXPECT_EQ(error_key("arm64", {{"granule", "4K"}, {"va_bits", "42"}}, &what), "va_bits");
    EXPECT_NE(what.find("39|48"), std::string::npos) << what;
    EXPECT_EQ(error_key("arm64", {{"granule", "64K"}, {"va_bits", "39"}}, &what), "va_bits");
    EXPECT_NE(what.find("42|48"), std::string::npos) << what;
    EXPECT_EQ(error_key("arm64", {{"granule", "16K"}, {"va_bits", "39"}}), "va_bits");
    EXPECT_EQ(error_key("arm64", {{"granule", "16K"}, {"va_bits", "36"}}), "");
    EXPECT_EQ(error_key("arm64", {{"granule", "64K"}, {"va_bits", "42"}}), "");
}

TEST(FormatRegistry, ToleratesTheFormatKeyItself)
{
    // The options come from the YAML map that also says `format: ...`.
    EXPECT_EQ(error_key("riscv", {{"format", "riscv"}, {"mode", "sv48"}}), "");
    EXPECT_EQ(error_key("riscv", {{"format", "arm64"}}), "format");
}

TEST(FormatRegistry, AddRejectsDuplicatesAndKeepsOrder)
{
    FormatRegistry r; // a private registry, so the global one keeps exactly the three formats
    const auto make = [](const FormatOptions&) { return FormatRegistry::instance().create("riscv", {}); };
    EXPECT_TRUE(r.add(FormatInfo{"zeta", "z", {}, make}));
    EXPECT_TRUE(r.add(FormatInfo{"alpha", "a", {{"k", "x|y", "x"}}, make}));
    EXPECT_FALSE(r.add(FormatInfo{"zeta", "another", {}, make}));
    EXPECT_FALSE(r.add(FormatInfo{"", "nameless", {}, make}));
    EXPECT_FALSE(r.add(FormatInfo{"nomake", "no factory", {}, nullptr}));
    EXPECT_EQ(r.names(), (std::vector<std::string>{"alpha", "zeta"}));
    EXPECT_EQ(r.find("zeta")->description, "z");
    EXPECT_NE(r.create("alpha", {{"k", "y"}}), nullptr);
    try {
        r.create("zeta", {{"k", "x"}});
        ADD_FAILURE() << "zeta takes no options";
    } catch (const FormatOptionError& e) {
        EXPECT_EQ(e.key, "k");
    }
    // The global registry refuses a second arm64.
    EXPECT_FALSE(FormatRegistry::instance().add(FormatInfo{"arm64", "dup", {}, make}));
    EXPECT_EQ(FormatRegistry::instance().names().size(), 3u);
}

} // namespace
} // namespace mmusim::hw::test
