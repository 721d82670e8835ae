// SPDX-License-Identifier: GPL-2.0-only
// What a platform's hardware has: the optional architecture features that decide which TLB-maintenance
// instructions exist and what the MMU does by itself. Read from the platform's `features:` map
// (docs/CONFIG.md), one set of keys per architecture. They are the single source of truth: the walker's
// hardware access-flag / dirty updates and the RISC-V format's NAPOT encoding follow from them, and
// require() refuses an instruction the platform lacks instead of charging it nothing.
#pragma once

#include "hw/common/types.hh"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace mmusim {
class ConfigNode;
}

namespace mmusim::hw {

enum class Barrier : std::uint8_t; // hw/core/core.hh
struct TlbiOp;                    // hw/invalidation/tlbi_op.hh

// ID_AA64MMFR1_EL1.HAFDBS: 0 none, 1 access flag only, 2 access flag and dirty state (DBM).
enum class Hafdbs : std::uint8_t { None, AccessFlag, AccessFlagDirty };

struct Arm64Features {
    bool tlbi_range = false;    // FEAT_TLBIRANGE: TLBI RVAE1 and friends (Armv8.4)
    bool bbml2_noabort = false; // FEAT_BBM level 2 without TLB conflict aborts (Linux's MIDR allow-list)
    bool lse_atomics = false;   // FEAT_LSE: single-instruction atomics (Armv8.1)
    Hafdbs hafdbs = Hafdbs::None;
};

struct X86Features {
    bool pcid = false;    // CR4.PCIDE: PCID-tagged TLB entries, MOV CR3 with the no-flush bit
    bool invpcid = false; // INVPCID
    bool invlpgb = false; // AMD INVLPGB/TLBSYNC broadcast invalidation (Zen 3 and later)
};

struct RiscvFeatures {
    bool svnapot = false; // NAPOT (64K) leaves; without it PTE bit 63 is reserved and faults
    bool svadu = false;   // hardware A/D updates; without it (Svade) a clear A or D bit faults
};

struct Features {
    std::string platform; // whose features these are: named in every error
    Arch arch = Arch::Arm64;
    Arm64Features arm64;
    X86Features x86;
    RiscvFeatures riscv;

    // What the table walker does in hardware. x86-64 always sets A and D (Intel SDM Vol. 3 4.8).
    bool hw_access_flag() const;
    bool hw_dirty() const;
};

// An instruction issued on a platform that lacks it (or another architecture's instruction).
struct MissingFeature : std::runtime_error {
    explicit MissingFeature(const std::string& msg) : std::runtime_error(msg) {}
};

// Reads root's `features:` map for `arch`: every key of that architecture is required, another
// architecture's key is unknown. Throws ConfigError.
Features load_features(const ConfigNode& root, Arch arch, const std::string& platform);
nlohmann::ordered_json to_json(const Features& f);

// Throws MissingFeature naming the instruction and the platform when `f` lacks what it needs.
void require(const Features& f, const TlbiOp& op);
void require(const Features& f, Barrier b);

} // namespace mmusim::hw
