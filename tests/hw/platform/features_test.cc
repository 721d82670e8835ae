// SPDX-License-Identifier: GPL-2.0-only
// Platform features: what each shipped platform states, that an instruction the platform lacks is an error
// naming it and the platform (never a free no-op), and that costs exist exactly for the features present.
#include "platform_test_util.hh"

#include "hw/invalidation/tlbi_op.hh"
#include "hw/pgtable/format_registry.hh"
#include "hw/platform/features.hh"
#include "util/config_node.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::test;
using hw::Barrier;
using hw::TlbiKind;
using hw::TlbiOp;

namespace {

std::string config_error(const std::string& platform, const std::vector<std::string>& sets)
{
    try {
        platform_config(platform, sets);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "<no error>";
}

template <typename Insn>
std::string missing(const hw::Features& f, const Insn& insn)
{
    try {
        hw::require(f, insn);
    } catch (const hw::MissingFeature& e) {
        return e.what();
    }
    return "<no error>";
}

TlbiOp x86(TlbiKind kind)
{
    TlbiOp op;
    op.kind = kind;
    return op;
}

} // namespace

TEST(Features, ShippedPlatformsStateThem)
{
    const auto n1 = platform_config("neoverse-n1").features;
    EXPECT_FALSE(n1.arm64.tlbi_range);
    EXPECT_FALSE(n1.arm64.bbml2_noabort);
    EXPECT_TRUE(n1.arm64.lse_atomics);
    EXPECT_EQ(n1.arm64.hafdbs, hw::Hafdbs::AccessFlagDirty);
    const auto v2 = platform_config("neoverse-v2").features;
    EXPECT_TRUE(v2.arm64.tlbi_range);
    EXPECT_FALSE(v2.arm64.bbml2_noabort);
    EXPECT_TRUE(v2.arm64.lse_atomics);
    const auto skx = platform_config("skylake-sp").features;
    EXPECT_TRUE(skx.x86.pcid);
    EXPECT_TRUE(skx.x86.invpcid);
    EXPECT_FALSE(skx.x86.invlpgb);
    const auto zen4 = platform_config("zen4").features;
    EXPECT_TRUE(zen4.x86.pcid && zen4.x86.invpcid && zen4.x86.invlpgb);
    const auto rv = platform_config("riscv-sv39").features;
    EXPECT_TRUE(rv.riscv.svnapot);
    EXPECT_TRUE(rv.riscv.svadu);
    EXPECT_EQ(n1.platform, "neoverse-n1");
}

TEST(Features, RangeTlbiOnNeoverseN1NamesInstructionAndPlatform)
{
    const auto n1 = platform_config("neoverse-n1").features;
    EXPECT_EQ(missing(n1, hw::arm64::tlbi(TlbiKind::RVAE1, 0, true)),
              "TLBI RVAE1IS needs FEAT_TLBIRANGE, which platform neoverse-n1 does not have (features.tlbi_range: false)");
    EXPECT_NE(missing(n1, hw::arm64::tlbi(TlbiKind::RVALE1, 0, false)).find("TLBI RVALE1 needs"), std::string::npos);
    EXPECT_EQ(missing(n1, hw::arm64::tlbi(TlbiKind::VAE1, 0, true)), "<no error>");
    EXPECT_EQ(missing(platform_config("neoverse-v2").features, hw::arm64::tlbi(TlbiKind::RVAAE1, 0, true)), "<no error>");
}

TEST(Features, InvlpgbAndTlbsyncOnSkylakeAreErrors)
{
    const auto skx = platform_config("skylake-sp").features;
    EXPECT_EQ(missing(skx, x86(TlbiKind::Invlpgb)),
              "INVLPGB needs INVLPGB, which platform skylake-sp does not have (features.invlpgb: false)");
    EXPECT_EQ(missing(skx, Barrier::Tlbsync),
              "TLBSYNC needs INVLPGB, which platform skylake-sp does not have (features.invlpgb: false)");
    const auto zen4 = platform_config("zen4").features;
    EXPECT_EQ(missing(zen4, x86(TlbiKind::Invlpgb)), "<no error>");
    EXPECT_EQ(missing(zen4, Barrier::Tlbsync), "<no error>");
}

TEST(Features, InvpcidAndPcidCr3WritesNeedTheirFeatures)
{
    hw::Features f; // an x86 core without PCID (pre-Westmere)
    f.platform = "old-x86";
    f.arch = Arch::X86_64;
    EXPECT_EQ(missing(f, x86(TlbiKind::Invpcid)),
              "INVPCID needs INVPCID, which platform old-x86 does not have (features.invpcid: false)");
    TlbiOp cr3 = x86(TlbiKind::MovCr3);
    EXPECT_EQ(missing(f, cr3), "<no error>") << "a plain CR3 write flushes, PCID or not";
    cr3.noflush = true;
    EXPECT_EQ(missing(f, cr3), "MOV CR3 with the no-flush bit needs PCID, which platform old-x86 does not have "
                               "(features.pcid: false)");
    cr3.noflush = false;
    cr3.asid = 3;
    EXPECT_NE(missing(f, cr3).find("MOV CR3 with PCID 3 needs PCID"), std::string::npos);
    f.x86.pcid = true;
    EXPECT_EQ(missing(f, cr3), "<no error>");
}

TEST(Features, AnotherArchitecturesInstructionIsAnError)
{
    const auto skx = platform_config("skylake-sp").features;
    EXPECT_EQ(missing(skx, Barrier::DsbIsh), "DSB ISH is an instruction of arm64, and platform skylake-sp is x86-64");
    EXPECT_NE(missing(skx, hw::arm64::tlbi(TlbiKind::VAE1, 0, true)).find("TLBI VAE1IS is an instruction of arm64"),
              std::string::npos);
    EXPECT_NE(missing(platform_config("neoverse-n1").features, Barrier::Mfence).find("platform neoverse-n1 is arm64"),
              std::string::npos);
    EXPECT_NE(missing(platform_config("riscv-sv39").features, x86(TlbiKind::Invlpg)).find("INVLPG is an instruction of x86-64"),
              std::string::npos);
}

TEST(Features, TheInterconnectRefusesWhatThePlatformLacks)
{
    // Through a running platform: the issuing core's work fails, and the run reports why.
    hw::Platform p(platform_config("neoverse-n1", {"cores=2"}));
    p.core(0).set_work([](hw::Core& c) { c.tlbi(hw::arm64::tlbi(TlbiKind::RVAE1, 0, true)); });
    try {
        p.run();
        ADD_FAILURE() << "no error";
    } catch (const hw::MissingFeature& e) {
        EXPECT_NE(std::string(e.what()).find("TLBI RVAE1IS needs FEAT_TLBIRANGE, which platform neoverse-n1"),
                  std::string::npos);
    }
    EXPECT_EQ(p.core(0).cycles(hw::Category::Tlbi), 0u) << "nothing charged";
}

TEST(Features, CostsExistExactlyForPresentFeatures)
{
    // A feature switched on without its cost: no cost defaults to 0.
    EXPECT_NE(config_error("skylake-sp", {"features.invlpgb=true"}).find("missing required key 'tlb_maintenance.invlpgb'"),
              std::string::npos);
    // A cost for a feature the platform lacks: refused, saying so.
    const std::string m = config_error("zen4", {"features.invlpgb=false"});
    EXPECT_NE(m.find("tlb_maintenance.invlpgb: this platform has no invlpgb instruction (features.invlpgb: false)"),
              std::string::npos) << m;
    // The INVLPGB fabric (one map) likewise: required with the feature, refused without it.
    const std::string no_fabric = config_error("skylake-sp", {"features.invlpgb=true", "tlb_maintenance.invlpgb=100"});
    EXPECT_NE(no_fabric.find("missing required key 'tlb_maintenance.invlpgb_fabric'"), std::string::npos) << no_fabric;
    const std::string stray = config_error("skylake-sp", {"tlb_maintenance.invlpgb_fabric.hop=90"});
    EXPECT_NE(stray.find("tlb_maintenance.invlpgb_fabric: this platform has no invlpgb instruction (features.invlpgb: false)"),
              std::string::npos) << stray;
    EXPECT_NE(config_error("skylake-sp", {"features.invpcid=false"}).find("tlb_maintenance.invpcid: this platform has no"),
              std::string::npos);
    EXPECT_NE(config_error("skylake-sp", {"features.pcid=false", "features.invpcid=false"}).find("tlb_maintenance.cr3_write_noflush"),
              std::string::npos);
    EXPECT_NE(config_error("skylake-sp", {"features.pcid=false"}).find("features.invpcid: INVPCID needs PCID"), std::string::npos);
    // The report lists only the costs of instructions the platform has.
    const auto skx = hw::to_json(platform_config("skylake-sp"));
    EXPECT_FALSE(skx["tlb_maintenance"].contains("invlpgb"));
    EXPECT_FALSE(skx["tlb_maintenance"].contains("invlpgb_fabric"));
    EXPECT_TRUE(hw::to_json(platform_config("zen4"))["tlb_maintenance"].contains("invlpgb_fabric"));
    EXPECT_EQ(skx["features"]["invlpgb"], false);
}

TEST(Features, EveryKeyOfTheArchIsRequiredAndNoOther)
{
    EXPECT_NE(config_error("neoverse-n1", {"features.pcid=true"}).find("features.pcid: unknown key"), std::string::npos);
    EXPECT_NE(config_error("zen4", {"features.svnapot=true"}).find("features.svnapot: unknown key"), std::string::npos);
    EXPECT_NE(config_error("neoverse-n1", {"features.hafdbs=dirty"}).find("features.hafdbs"), std::string::npos);
}

TEST(Features, OldHardwareAccessFlagKeysPointToTheFeatures)
{
    const std::string arm = config_error("neoverse-n1", {"mmu.hw_dirty=false"});
    EXPECT_NE(arm.find("--set mmu.hw_dirty=false: mmu.hw_dirty: no longer a platform key"), std::string::npos) << arm;
    EXPECT_NE(arm.find("features.hafdbs"), std::string::npos) << arm;
    EXPECT_NE(config_error("riscv-sv39", {"mmu.hw_access_flag=false"}).find("features.svadu"), std::string::npos);
    EXPECT_NE(config_error("skylake-sp", {"mmu.hw_dirty=false"}).find("x86-64 always sets A and D"), std::string::npos);
    // The walker follows the features.
    EXPECT_FALSE(platform_config("neoverse-n1", {"features.hafdbs=af"}).mmu.walker.hw_dirty);
    EXPECT_TRUE(platform_config("neoverse-n1", {"features.hafdbs=af"}).mmu.walker.hw_access_flag);
    EXPECT_FALSE(platform_config("neoverse-n1", {"features.hafdbs=none"}).mmu.walker.hw_access_flag);
    EXPECT_FALSE(platform_config("riscv-sv39", {"features.svadu=false"}).mmu.walker.hw_dirty);
}

TEST(Features, WithoutSvnapotTheNBitIsReservedAndFaults)
{
    const auto on = hw::FormatRegistry::instance().create("riscv", {{"mode", "sv39"}});
    const auto off = hw::FormatRegistry::instance().create("riscv", {{"mode", "sv39"}, {"svnapot", "false"}});
    const int leaf = on->levels() - 1;
    EXPECT_EQ(on->level(leaf).contig_entries, 16u);
    EXPECT_EQ(off->level(leaf).contig_entries, 1u) << "no NAPOT runs to map";
    hw::Descriptor d;
    d.type = hw::Descriptor::Type::Leaf;
    d.read = d.write = d.user = d.accessed = true;
    d.contiguous = true;
    d.oa = 0x10000;
    const std::uint64_t raw = on->encode(leaf, d);
    EXPECT_TRUE(on->decode(leaf, raw).valid());
    EXPECT_FALSE(off->decode(leaf, raw).valid()) << "bit 63 reserved: a page fault";
    EXPECT_THROW(off->encode(leaf, d), std::invalid_argument);
    // The platform sets the format option from its features, and refuses it as a page_table key.
    EXPECT_EQ(platform_config("riscv-sv39", {"features.svnapot=false"}).format_options.at("svnapot"), "false");
    EXPECT_NE(config_error("riscv-sv39", {"page_table.svnapot=false"}).find("features.svnapot"), std::string::npos);
}
