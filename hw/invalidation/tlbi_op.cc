// SPDX-License-Identifier: GPL-2.0-only
#include "hw/invalidation/tlbi_op.hh"

#include "hw/pgtable/format.hh"

#include <cstdio>
#include <stdexcept>

namespace mmusim::hw {

const char* to_string(TlbiKind k)
{
    switch (k) {
    case TlbiKind::VAE1: return "VAE1";
    case TlbiKind::VALE1: return "VALE1";
    case TlbiKind::VAAE1: return "VAAE1";
    case TlbiKind::VAALE1: return "VAALE1";
    case TlbiKind::RVAE1: return "RVAE1";
    case TlbiKind::RVALE1: return "RVALE1";
    case TlbiKind::RVAAE1: return "RVAAE1";
    case TlbiKind::RVAALE1: return "RVAALE1";
    case TlbiKind::ASIDE1: return "ASIDE1";
    case TlbiKind::VMALLE1: return "VMALLE1";
    case TlbiKind::Invlpg: return "INVLPG";
    case TlbiKind::MovCr3: return "MOV_CR3";
    case TlbiKind::Invpcid: return "INVPCID";
    case TlbiKind::Invlpgb: return "INVLPGB";
    case TlbiKind::SfenceVma: return "SFENCE.VMA";
    }
    return "?";
}

bool is_arm64(TlbiKind k) { return k <= TlbiKind::VMALLE1; }

bool is_range(TlbiKind k)
{
    return k == TlbiKind::RVAE1 || k == TlbiKind::RVALE1 || k == TlbiKind::RVAAE1 || k == TlbiKind::RVAALE1;
}

std::string TlbiOp::describe() const
{
    char buf[128];
    if (is_arm64(kind))
        std::snprintf(buf, sizeof buf, "TLBI %s%s, 0x%llx", to_string(kind), broadcast ? "IS" : "",
                      static_cast<unsigned long long>(operand));
    else
        std::snprintf(buf, sizeof buf, "%s 0x%llx pcid/asid=%u", to_string(kind),
                      static_cast<unsigned long long>(operand), asid);
    return buf;
}

namespace {

// sext (util/bits.hh): arm64 operands carry VA[55:12] (or a 37-bit BADDR), and an upper-half (TTBR1) address
// has every bit above them equal to its top bit.

// Maps an arm64 TTL level (0 = no hint) to a walk depth of `fmt`, or -1.
int ttl_to_depth(unsigned level, bool hinted, const PageTableFormat& fmt)
{
    if (!hinted)
        return -1;
    for (int d = 0; d < fmt.levels(); ++d)
        if (fmt.level(d).arch_level == static_cast<int>(level))
            return d;
    return -1; // a hint for a level this table does not have names nothing narrower than "any"
}

InvalidationScope arm64_scope(const TlbiOp& op, const PageTableFormat& fmt)
{
    InvalidationScope s;
    const unsigned pshift = fmt.page_shift();
    const bool all_asids = op.kind == TlbiKind::VAAE1 || op.kind == TlbiKind::VAALE1 ||
                           op.kind == TlbiKind::RVAAE1 || op.kind == TlbiKind::RVAALE1;
    switch (op.kind) {
    case TlbiKind::VMALLE1: return s;
    case TlbiKind::ASIDE1:
        s.any_asid = false;
        s.asid = static_cast<Asid>(bits(op.operand, 63, 48));
        s.include_global = false;
        return s;
    default: break;
    }
    s.any_asid = all_asids;
    s.asid = static_cast<Asid>(bits(op.operand, 63, 48));
    s.include_global = true; // by-VA TLBIs remove global entries for the address too
    s.by_va = true;
    s.leaf_only = op.kind == TlbiKind::VALE1 || op.kind == TlbiKind::VAALE1 || op.kind == TlbiKind::RVALE1 ||
                  op.kind == TlbiKind::RVAALE1;
    if (is_range(op.kind)) {
        const unsigned scale = static_cast<unsigned>(bits(op.operand, 45, 44));
        const unsigned num = static_cast<unsigned>(bits(op.operand, 43, 39));
        const unsigned ttl = static_cast<unsigned>(bits(op.operand, 38, 37));
        s.va_start = sext(bits(op.operand, 36, 0), 37) << pshift;
        s.va_last = s.va_start + ((arm64::range_pages(scale, num) << pshift) - 1);
        s.ttl_depth = ttl_to_depth(ttl, ttl != 0, fmt);
    } else {
        const unsigned ttl = static_cast<unsigned>(bits(op.operand, 47, 44));
        s.va_start = sext(bits(op.operand, 43, 0) << 12, 56) & ~low_mask(pshift);
        s.va_last = s.va_start + low_mask(pshift);
        // TTL[3:2] = TG (must match the granule, else no hint), TTL[1:0] = level.
        const bool hinted = (ttl >> 2) == arm64::tg_of(pshift) && (ttl & 3) != 0;
        s.ttl_depth = ttl_to_depth(ttl & 3, hinted, fmt);
    }
    return s;
}

std::optional<InvalidationScope> x86_scope(const TlbiOp& op, const PageTableFormat& fmt)
{
    InvalidationScope s;
    const Addr page = Addr{1} << fmt.page_shift();
    switch (op.kind) {
    case TlbiKind::Invlpg:
        // SDM 4.10.4.1: entries for the page, global ones too, for the current PCID; and every
        // paging-structure-cache entry of the current PCID, whatever its address.
        s.any_asid = false;
        s.asid = op.asid;
        s.by_va = true;
        s.va_start = op.operand & ~(page - 1);
        s.va_last = s.va_start + (page - 1);
        s.walk_cache_whole_asid = true;
        return s;
    case TlbiKind::MovCr3:
        if (op.noflush)
            return std::nullopt;
        s.any_asid = false;
        s.asid = op.asid;
        s.include_global = false;
        return s;
    case TlbiKind::Invpcid:
        switch (op.invpcid_type) {
        case 0:
            s.any_asid = false;
            s.asid = op.asid;
            s.include_global = false;
            s.by_va = true;
            s.va_start = op.operand & ~(page - 1);
            s.va_last = s.va_start + (page - 1);
            s.walk_cache_whole_asid = true;
            return s;
        case 1:
            s.any_asid = false;
            s.asid = op.asid;
            s.include_global = false;
            return s;
        case 2: return s;
        case 3: s.include_global = false; return s;
        default: throw std::invalid_argument("INVPCID type must be 0..3");
        }
    case TlbiKind::Invlpgb: {
        s.any_asid = false;
        s.asid = op.asid;
        s.include_global = op.include_global;
        s.leaf_only = op.final_only;
        if (!op.va_valid)
            return s; // every translation of the PCID
        // With the PMD stride the pages are 2M apart: the scope is the span from the first to the last, so a
        // 4K entry between two of them goes too (a superset of what the hardware must remove, never less).
        const Addr stride = op.pmd_stride ? Addr{1} << fmt.level(fmt.levels() - 2).shift : page;
        s.by_va = true;
        s.va_start = op.operand & ~(stride - 1);
        s.va_last = s.va_start + (std::uint64_t(op.pages) * stride - 1);
        return s;
    }
    default: break;
    }
    throw std::invalid_argument("not an x86 invalidation");
}

InvalidationScope riscv_scope(const TlbiOp& op, const PageTableFormat& fmt)
{
    InvalidationScope s;
    if (!op.all_asid) {
        // rs2 != x0: global mappings are left alone (privileged spec, SFENCE.VMA).
        s.any_asid = false;
        s.asid = op.asid;
        s.include_global = false;
    }
    if (!op.all_va) {
        const Addr page = Addr{1} << fmt.page_shift();
        s.by_va = true;
        s.va_start = op.operand & ~(page - 1);
        s.va_last = s.va_start + (page - 1);
    }
    return s;
}

} // namespace

std::optional<InvalidationScope> scope_of(const TlbiOp& op, const PageTableFormat& fmt)
{
    if (is_arm64(op.kind))
        return arm64_scope(op, fmt);
    if (op.kind == TlbiKind::SfenceVma)
        return riscv_scope(op, fmt);
    return x86_scope(op, fmt);
}

namespace arm64 {

unsigned tg_of(unsigned page_shift)
{
    switch (page_shift) {
    case 12: return 1;
    case 14: return 2;
    case 16: return 3;
    }
    throw std::invalid_argument("arm64 granule must be 4K, 16K or 64K");
}

std::uint64_t va_operand(Addr va, Asid asid, unsigned page_shift, int ttl_level)
{
    std::uint64_t x = bits(va, 55, 12);
    if (ttl_level > 0 && ttl_level <= 3)
        x |= std::uint64_t((tg_of(page_shift) << 2) | unsigned(ttl_level)) << 44;
    return x | (std::uint64_t(asid) << 48);
}

std::uint64_t range_operand(Addr base, Asid asid, unsigned page_shift, unsigned scale, unsigned num, int ttl_level)
{
    if (scale > 3 || num > 31)
        throw std::invalid_argument("TLBI range: SCALE must be 0..3 and NUM 0..31");
    std::uint64_t x = bits(base >> page_shift, 36, 0);
    if (ttl_level > 0 && ttl_level <= 3)
        x |= std::uint64_t(ttl_level) << 37;
    x |= std::uint64_t(num) << 39;
    x |= std::uint64_t(scale) << 44;
    x |= std::uint64_t(tg_of(page_shift)) << 46;
    return x | (std::uint64_t(asid) << 48);
}

TlbiOp tlbi(TlbiKind kind, std::uint64_t operand, bool inner_shareable)
{
    TlbiOp op;
    op.kind = kind;
    op.operand = operand;
    op.broadcast = inner_shareable;
    return op;
}

} // namespace arm64

} // namespace mmusim::hw
