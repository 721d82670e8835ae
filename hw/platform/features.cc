// SPDX-License-Identifier: GPL-2.0-only
#include "hw/platform/features.hh"

#include "hw/core/core.hh"
#include "hw/invalidation/tlbi_op.hh"
#include "util/config_node.hh"

#include <cctype>

namespace mmusim::hw {

bool Features::hw_access_flag() const
{
    switch (arch) {
    case Arch::Arm64: return arm64.hafdbs != Hafdbs::None;
    case Arch::X86_64: return true;
    case Arch::RiscV: return riscv.svadu;
    }
    return true;
}

bool Features::hw_dirty() const
{
    switch (arch) {
    case Arch::Arm64: return arm64.hafdbs == Hafdbs::AccessFlagDirty;
    case Arch::X86_64: return true;
    case Arch::RiscV: return riscv.svadu;
    }
    return true;
}

namespace {

const char* hafdbs_name(Hafdbs h)
{
    switch (h) {
    case Hafdbs::None: return "none";
    case Hafdbs::AccessFlag: return "af";
    case Hafdbs::AccessFlagDirty: return "af_dirty";
    }
    return "?";
}

std::string instruction(const TlbiOp& op)
{
    if (is_arm64(op.kind))
        return std::string("TLBI ") + to_string(op.kind) + (op.broadcast ? "IS" : "");
    if (op.kind == TlbiKind::MovCr3)
        return op.noflush ? "MOV CR3 with the no-flush bit" : "MOV CR3 with PCID " + std::to_string(op.asid);
    return to_string(op.kind);
}

Arch arch_of(const TlbiOp& op)
{
    if (is_arm64(op.kind))
        return Arch::Arm64;
    return op.kind == TlbiKind::SfenceVma ? Arch::RiscV : Arch::X86_64;
}

Arch arch_of(Barrier b)
{
    switch (b) {
    case Barrier::Mfence:
    case Barrier::Tlbsync: return Arch::X86_64;
    case Barrier::Fence: return Arch::RiscV;
    default: return Arch::Arm64;
    }
}

[[noreturn]] void missing(const Features& f, const std::string& insn, const std::string& feature, const std::string& key)
{
    throw MissingFeature(insn + " needs " + feature + ", which platform " + f.platform +
                         " does not have (features." + key + ": false)");
}

void same_arch(const Features& f, const std::string& insn, Arch insn_arch)
{
    if (insn_arch != f.arch)
        throw MissingFeature(insn + " is an instruction of " + to_string(insn_arch) + ", and platform " + f.platform +
                             " is " + to_string(f.arch));
}

} // namespace

Features load_features(const ConfigNode& root, Arch arch, const std::string& platform)
{
    Features f;
    f.platform = platform;
    f.arch = arch;
    const ConfigNode n = root.child("features");
    switch (arch) {
    case Arch::Arm64: {
        f.arm64.tlbi_range = n.boolean("tlbi_range");
        f.arm64.bbml2_noabort = n.boolean("bbml2_noabort");
        f.arm64.lse_atomics = n.boolean("lse_atomics");
        const std::string h = n.choice("hafdbs", {"none", "af", "af_dirty"});
        f.arm64.hafdbs = h == "none" ? Hafdbs::None : h == "af" ? Hafdbs::AccessFlag : Hafdbs::AccessFlagDirty;
        break;
    }
    case Arch::X86_64:
        f.x86.pcid = n.boolean("pcid");
        f.x86.invpcid = n.boolean("invpcid");
        f.x86.invlpgb = n.boolean("invlpgb");
        // Every CPU with INVPCID has PCID, and INVPCID names PCIDs: without them it has nothing to select.
        if (f.x86.invpcid && !f.x86.pcid)
            n.fail("invpcid", "INVPCID needs PCID: set features.pcid: true or features.invpcid: false");
        break;
    case Arch::RiscV:
        f.riscv.svnapot = n.boolean("svnapot");
        f.riscv.svadu = n.boolean("svadu");
        break;
    }
    return f;
}

nlohmann::ordered_json to_json(const Features& f)
{
    switch (f.arch) {
    case Arch::Arm64:
        return {{"tlbi_range", f.arm64.tlbi_range}, {"bbml2_noabort", f.arm64.bbml2_noabort},
                {"lse_atomics", f.arm64.lse_atomics}, {"hafdbs", hafdbs_name(f.arm64.hafdbs)}};
    case Arch::X86_64: return {{"pcid", f.x86.pcid}, {"invpcid", f.x86.invpcid}, {"invlpgb", f.x86.invlpgb}};
    case Arch::RiscV: return {{"svnapot", f.riscv.svnapot}, {"svadu", f.riscv.svadu}};
    }
    return nlohmann::ordered_json::object();
}

void require(const Features& f, const TlbiOp& op)
{
    const std::string insn = instruction(op);
    same_arch(f, insn, arch_of(op));
    if (is_range(op.kind) && !f.arm64.tlbi_range)
        missing(f, insn, "FEAT_TLBIRANGE", "tlbi_range");
    if (op.kind == TlbiKind::Invlpgb && !f.x86.invlpgb)
        missing(f, insn, "INVLPGB", "invlpgb");
    if (op.kind == TlbiKind::Invpcid && !f.x86.invpcid)
        missing(f, insn, "INVPCID", "invpcid");
    // Without CR4.PCIDE, CR3 bit 63 must be 0 and bits 11:0 are no PCID.
    if (op.kind == TlbiKind::MovCr3 && (op.noflush || op.asid != 0) && !f.x86.pcid)
        missing(f, insn, "PCID", "pcid");
}

void require(const Features& f, Barrier b)
{
    std::string insn = to_string(b);
    for (char& c : insn)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    same_arch(f, insn, arch_of(b));
    if (b == Barrier::Tlbsync && !f.x86.invlpgb)
        missing(f, insn, "INVLPGB", "invlpgb");
}

} // namespace mmusim::hw
