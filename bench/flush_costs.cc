// SPDX-License-Identifier: GPL-2.0-only
// TLB flush costs on the shipped platforms, from the simulated mechanism (hw/interconnect), for comparison
// with published measurements (docs/CALIBRATION.md). For each flush strategy it prints the cycles (and ns at
// the platform's clock) that the flushing core spends, against the pages flushed and against the core count.
// The other cores stay busy (not idle) while core 0 flushes, so they pay their TLB searches.
//
//   build/bench/flush_costs [--cores 2,4,8,16,32,64] [--pages 1,2,4,...]
#include "hw/platform/platform.hh"

#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

using namespace mmusim;
using hw::Barrier;
using hw::Core;
using hw::TlbiKind;

namespace {

constexpr Addr kBase = 0x400000000ULL;

std::vector<unsigned> parse_list(const char* text)
{
    std::vector<unsigned> out;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ',');)
        out.push_back(static_cast<unsigned>(std::stoul(part)));
    return out;
}

// Cycles core 0 spends in `flush` on `platform` with `cores` cores.
Cycles measure(const std::string& platform, unsigned cores, const std::function<void(Core&)>& flush)
{
    hw::Platform p(hw::load_platform_file(std::string(MMUSIM_SOURCE_DIR) + "/configs/platforms/" + platform + ".yaml",
                                          {"cores=" + std::to_string(cores)}));
    Cycles spent = 0;
    for (unsigned i = 0; i < cores; ++i)
        p.core(i).set_work([&, i](Core& c) {
            if (i != 0) { // busy elsewhere while core 0 flushes
                c.idle(sc_core::sc_time(1, sc_core::SC_SEC));
                return;
            }
            const Cycles t0 = c.now();
            flush(c);
            spent = c.now() - t0;
        });
    p.run();
    return spent;
}

hw::TlbiOp arm(TlbiKind k, std::uint64_t operand) { return hw::arm64::tlbi(k, operand, true); }

// Linux __flush_tlb_range() without FEAT_TLBIRANGE: DSB ISHST, one TLBI VALE1IS per page, DSB ISH.
void arm_loop(Core& c, unsigned pages)
{
    c.barrier(Barrier::DsbIshst);
    for (unsigned k = 0; k < pages; ++k)
        c.tlbi(arm(TlbiKind::VALE1, hw::arm64::va_operand(kBase + Addr(k) * 4096, 1, 12)));
    c.barrier(Barrier::DsbIsh);
}

// flush_tlb_mm(): one TLBI ASIDE1IS.
void arm_asid(Core& c, unsigned)
{
    c.barrier(Barrier::DsbIshst);
    c.tlbi(arm(TlbiKind::ASIDE1, std::uint64_t{1} << 48));
    c.barrier(Barrier::DsbIsh);
}

// __flush_tlb_range_op with FEAT_TLBIRANGE: the page count cut into range operations, scale by scale.
void arm_range(Core& c, unsigned pages)
{
    c.barrier(Barrier::DsbIshst);
    Addr start = kBase;
    std::uint64_t left = pages;
    for (unsigned scale = 0; left > 0 && scale <= 3;) {
        if (left % 2) {
            c.tlbi(arm(TlbiKind::VALE1, hw::arm64::va_operand(start, 1, 12)));
            start += 4096;
            --left;
            continue;
        }
        const std::uint64_t num = (left >> (5 * scale + 1)) & 31;
        if (num) {
            c.tlbi(arm(TlbiKind::RVALE1, hw::arm64::range_operand(start, 1, 12, scale, static_cast<unsigned>(num - 1))));
            start += (num << (5 * scale + 1)) * 4096;
            left -= num << (5 * scale + 1);
        }
        ++scale;
    }
    c.barrier(Barrier::DsbIsh);
}

hw::TlbiOp invlpg(Addr va)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::Invlpg;
    op.operand = va;
    op.asid = 1;
    return op;
}

// flush_tlb_func() on this core only: INVLPG per page.
void x86_local(Core& c, unsigned pages)
{
    for (unsigned k = 0; k < pages; ++k)
        c.tlbi(invlpg(kBase + Addr(k) * 4096));
}

// flush_tlb_multi(): IPIs to every other core, the local flush meanwhile, each handler INVLPGs every page.
void x86_shootdown(Core& c, unsigned pages)
{
    hw::CpuMask others;
    others.set();
    others.reset(c.id());
    const auto handler = [pages](Core& t) { x86_local(t, pages); };
    const hw::IpiHandle sent = c.ipi_send(others, handler);
    x86_local(c, pages);
    c.ipi_wait(sent);
}

// With PTI, the user PCID's entries are flushed by INVPCID (type 0, one address) per page.
void x86_invpcid(Core& c, unsigned pages)
{
    for (unsigned k = 0; k < pages; ++k) {
        hw::TlbiOp op;
        op.kind = TlbiKind::Invpcid;
        op.invpcid_type = 0;
        op.operand = kBase + Addr(k) * 4096;
        op.asid = 1;
        c.tlbi(op);
    }
}

// Above tlb_single_page_flush_ceiling (33): a full flush by MOV CR3 instead.
void x86_full(Core& c, unsigned)
{
    hw::TlbiOp op;
    op.kind = TlbiKind::MovCr3;
    op.asid = 1;
    c.tlbi(op);
}

// AMD broadcast: INVLPGB per page (no range encoding used here), then TLBSYNC.
void x86_invlpgb(Core& c, unsigned pages)
{
    for (unsigned k = 0; k < pages; ++k) {
        hw::TlbiOp op;
        op.kind = TlbiKind::Invlpgb;
        op.operand = kBase + Addr(k) * 4096;
        op.pages = 1;
        op.asid = 1;
        c.tlbi(op);
    }
    c.barrier(Barrier::Tlbsync);
}

struct Strategy {
    const char* platform;
    const char* name;
    std::function<void(Core&, unsigned)> flush;
};

} // namespace

int main(int argc, char** argv)
{
    std::vector<unsigned> cores{2, 4, 8, 16, 32, 64};
    std::vector<unsigned> pages{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--cores"))
            cores = parse_list(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--pages"))
            pages = parse_list(argv[i + 1]);
    }
    const std::vector<Strategy> strategies{
        {"neoverse-n1", "TLBI VALE1IS per page + DSB ISH", arm_loop},
        {"neoverse-n1", "TLBI ASIDE1IS + DSB ISH", arm_asid},
        {"neoverse-v2", "TLBI VALE1IS per page + DSB ISH", arm_loop},
        {"neoverse-v2", "range TLBI (RVALE1IS) + DSB ISH", arm_range},
        {"skylake-sp", "INVLPG per page, local", x86_local},
        {"skylake-sp", "INVPCID per page, local", x86_invpcid},
        {"skylake-sp", "MOV CR3 full flush, local", x86_full},
        {"skylake-sp", "IPI shootdown, INVLPG per page", x86_shootdown},
        {"zen4", "IPI shootdown, INVLPG per page", x86_shootdown},
        {"zen4", "INVLPGB per page + TLBSYNC", x86_invlpgb},
    };
    // One Markdown table: a row per strategy, a column per value of `axis`, each cell the cycles `cell` gives.
    const auto table = [&](const std::string& heading, const std::vector<unsigned>& axis,
                           const std::function<Cycles(const Strategy&, unsigned)>& cell) {
        std::printf("## %s\n\n| platform | strategy |", heading.c_str());
        for (unsigned n : axis)
            std::printf(" %u |", n);
        std::printf("\n|---|---|");
        for (std::size_t i = 0; i < axis.size(); ++i)
            std::printf("---:|");
        std::printf("\n");
        for (const Strategy& s : strategies) {
            std::printf("| %s | %s |", s.platform, s.name);
            for (unsigned n : axis)
                std::printf(" %llu |", static_cast<unsigned long long>(cell(s, n)));
            std::printf("\n");
            std::fflush(stdout);
        }
    };
    const unsigned fixed_cores = 4, fixed_pages = 8;
    table("Cycles against pages flushed (" + std::to_string(fixed_cores) + " cores)", pages, [&](const Strategy& s, unsigned n) {
        return measure(s.platform, fixed_cores, [&](Core& c) { s.flush(c, n); });
    });
    std::printf("\n");
    table("Cycles against core count (" + std::to_string(fixed_pages) + " pages)", cores, [&](const Strategy& s, unsigned n) {
        return measure(s.platform, n, [&](Core& c) { s.flush(c, fixed_pages); });
    });
    return 0;
}
