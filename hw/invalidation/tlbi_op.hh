// SPDX-License-Identifier: GPL-2.0-only
// Architectural TLB maintenance instructions and what each one removes.
//
// arm64: TLBI {VAE1, VALE1, VAAE1, VAALE1, RVAE1, RVALE1, RVAAE1, RVAALE1, ASIDE1, VMALLE1}[IS], operands as
//   the instruction takes them in Xt (Arm ARM D8.13 / C5.5; Linux arch/arm64/include/asm/tlbflush.h
//   __TLBI_VADDR, __TLBI_VADDR_RANGE). The IS forms broadcast to every core in the inner-shareable domain.
// x86: INVLPG, MOV to CR3 (bit 63 = no-flush), INVPCID types 0-3 (Intel SDM Vol. 3 4.10.4), AMD INVLPGB.
// RISC-V: SFENCE.VMA rs1/rs2 (privileged spec 4.2.1).
#pragma once

#include "hw/common/types.hh"
#include "hw/invalidation/invalidation_scope.hh"

#include <optional>
#include <string>

namespace mmusim::hw {

class PageTableFormat;

enum class TlbiKind : std::uint8_t {
    // arm64, EL1&0 regime
    VAE1, VALE1, VAAE1, VAALE1, RVAE1, RVALE1, RVAAE1, RVAALE1, ASIDE1, VMALLE1,
    // x86
    Invlpg, MovCr3, Invpcid, Invlpgb,
    // RISC-V
    SfenceVma,
};

const char* to_string(TlbiKind k);
bool is_arm64(TlbiKind k);
bool is_range(TlbiKind k);

struct TlbiOp {
    TlbiKind kind = TlbiKind::VMALLE1;
    bool broadcast = false;      // arm64 ...IS forms; INVLPGB always broadcasts
    std::uint64_t operand = 0;   // arm64: Xt; x86: linear address; RISC-V: rs1 VA
    Asid asid = 0;               // x86: PCID (current, CR3 target, INVPCID/INVLPGB descriptor); RISC-V: rs2
    bool noflush = false;        // x86 MOV CR3 bit 63
    int invpcid_type = 0;        // 0 address, 1 single context, 2 all + global, 3 all non-global
    std::uint32_t pages = 1;     // INVLPGB: number of pages after the first is pages-1 (ECX[15:0]+1)
    bool include_global = false; // INVLPGB: include global translations
    bool final_only = false;     // INVLPGB: leaf entries only
    bool va_valid = true;        // INVLPGB rAX[0]: off, every address of the PCID (Linux's single-PCID flush)
    bool pmd_stride = false;     // INVLPGB ECX[31]: the pages are 2M apart (Linux's PMD_STRIDE)
    bool all_va = false;         // RISC-V rs1 = x0
    bool all_asid = false;       // RISC-V rs2 = x0

    std::string describe() const;
};

// The entries `op` removes on each core it reaches, given the page-table format in use (granule, level
// numbering for TTL hints). std::nullopt: nothing (e.g. MOV CR3 with the no-flush bit).
std::optional<InvalidationScope> scope_of(const TlbiOp& op, const PageTableFormat& fmt);

namespace arm64 {

// Xt for the by-VA forms: VA[55:12] in bits 43:0, TTL in 47:44 (TG<<2 | level, 0 = no hint), ASID 63:48.
std::uint64_t va_operand(Addr va, Asid asid, unsigned page_shift, int ttl_level = -1);
// FEAT_TLBIRANGE Xt: ASID 63:48, TG 47:46, SCALE 45:44, NUM 43:39, TTL 38:37, BADDR 36:0 (page number).
std::uint64_t range_operand(Addr base, Asid asid, unsigned page_shift, unsigned scale, unsigned num, int ttl_level = -1);
// Pages covered by one range op: (NUM+1) * 2^(5*SCALE+1).
constexpr std::uint64_t range_pages(unsigned scale, unsigned num) { return std::uint64_t(num + 1) << (5 * scale + 1); }
unsigned tg_of(unsigned page_shift); // 4K=1, 16K=2, 64K=3

TlbiOp tlbi(TlbiKind kind, std::uint64_t operand, bool inner_shareable);

} // namespace arm64

} // namespace mmusim::hw
