// SPDX-License-Identifier: GPL-2.0-only
// RISC-V PTE bits (asm/pgtable-bits.h, pgtable-64.h, pgtable.h, mm/init.c): the values Linux composes,
// checked against what the hardware format (hw/pgtable/riscv_format.cc) decodes from them: every
// protection_map entry, the helpers, table entries at every level of Sv39/Sv48/Sv57; the helpers RISC-V
// defines itself (ptep_set_wrprotect, ptep_set_access_flags, update_mmu_cache_range) on a core.
#include "riscv_test_util.hh"

#include <gtest/gtest.h>

namespace mmusim::mm {
namespace {

using namespace riscv;
using test::make_riscv_env;
using test::make_vma;
using test::pte_alloc_walk;

constexpr Addr kBase = 0x40000000;
constexpr pfn_t kPfn = 0x100000; // frames at 4G (only translated, never touched)

TEST(RiscvPteBits, UpstreamBitPositions)
{
    EXPECT_EQ(_PAGE_PRESENT, 0x1u);
    EXPECT_EQ(_PAGE_READ | _PAGE_WRITE | _PAGE_EXEC | _PAGE_USER, 0x1eu);
    EXPECT_EQ(_PAGE_GLOBAL, 0x20u);
    EXPECT_EQ(_PAGE_ACCESSED, 0x40u);
    EXPECT_EQ(_PAGE_DIRTY, 0x80u);
    EXPECT_EQ(_PAGE_SPECIAL, 0x100u); // RSW 0x1
    EXPECT_EQ(_PAGE_PROT_NONE, _PAGE_GLOBAL);
    EXPECT_EQ(_PAGE_PFN_SHIFT, 10u);
    EXPECT_EQ(_PAGE_PFN_MASK, 0x003ffffffffffc00ull); // GENMASK(53, 10)
    EXPECT_EQ(_PAGE_NAPOT, std::uint64_t{1} << 63);
    // PAGE_READ as Linux prints it: 0x53 (A U R V); PAGE_SHARED adds W: 0x57; PAGE_NONE is G R: 0x22.
    EXPECT_EQ(PAGE_READ.val, 0x53u);
    EXPECT_EQ(PAGE_SHARED.val, 0x57u);
    EXPECT_EQ(PAGE_NONE.val, 0x22u);
    EXPECT_EQ(PAGE_COPY.val, PAGE_READ.val) << "private writable is read-only until the COW fault";
    EXPECT_EQ(tlb_flush_all_threshold, 64u);
}

// Every protection_map entry: what the hart sees (decode) is what the VM flags allow, and the kernel's view
// (pte_present/pte_write/pte_young) agrees with it.
TEST(RiscvPteBits, ProtectionMapDecodesAsTheHardwareExpects)
{
    auto e = make_riscv_env({"cores=1"});
    const Riscv& a = e.arch();
    const int last = e.fmt().levels() - 1;
    for (vm_flags_t f = 0; f < 16; ++f) {
        SCOPED_TRACE("vm_flags " + std::to_string(f));
        const pte_t pte = a.pfn_pte(kPfn, a.vm_get_page_prot(f));
        const hw::Descriptor d = e.fmt().decode(last, pte.val);
        EXPECT_TRUE(a.pte_present(pte));
        EXPECT_EQ(a.pte_pfn(pte), kPfn);
        EXPECT_FALSE(a.pte_dirty(pte)) << "no protection is dirty: the write fault makes it so";
        EXPECT_FALSE(a.pte_special(pte));
        if (!(f & (VM_READ | VM_WRITE | VM_EXEC))) {
            // PROT_NONE: present to the kernel (_PAGE_PROT_NONE), invalid to the hardware.
            EXPECT_FALSE(d.valid());
            EXPECT_TRUE(a.pte_protnone(pte));
            continue;
        }
        ASSERT_EQ(d.type, hw::Descriptor::Type::Leaf);
        EXPECT_FALSE(a.pte_protnone(pte));
        EXPECT_EQ(d.oa, kPfn << PAGE_SHIFT);
        EXPECT_TRUE(d.user);
        EXPECT_FALSE(d.global);
        EXPECT_TRUE(d.accessed) << "_PAGE_BASE carries A: no access fault on a hart without Svadu";
        EXPECT_TRUE(a.pte_young(pte));
        EXPECT_FALSE(d.dirty);
        EXPECT_EQ(d.attr, 0u) << "PMA memory type";
        EXPECT_EQ(d.exec, (f & VM_EXEC) != 0);
        // PROT_WRITE alone is readable (PAGE_COPY); PROT_EXEC alone is execute-only (PAGE_EXEC).
        EXPECT_EQ(d.read, (f & (VM_READ | VM_WRITE)) != 0);
        const bool writable = (f & VM_SHARED) && (f & VM_WRITE);
        EXPECT_EQ(d.write, writable) << "private writable mappings are COW: read-only";
        EXPECT_EQ(a.pte_write(pte), writable);
    }
}

TEST(RiscvPteBits, HelpersSetTheBitsTheHardwareReads)
{
    auto e = make_riscv_env({"cores=1"});
    const Riscv& a = e.arch();
    const int last = e.fmt().levels() - 1;
    const auto decode = [&](pte_t p) { return e.fmt().decode(last, p.val); };

    const pte_t ro = a.pfn_pte(kPfn, PAGE_COPY);
    const pte_t rw = a.pte_mkwrite(a.pte_mkdirty(ro)); // do_anonymous_page()'s write fault
    EXPECT_TRUE(decode(rw).write);
    EXPECT_TRUE(decode(rw).dirty);
    EXPECT_TRUE(a.pte_write(rw) && a.pte_dirty(rw));
    EXPECT_EQ(a.pte_wrprotect(rw).val, rw.val & ~_PAGE_WRITE) << "wrprotect keeps D (no SavedDirty on RISC-V)";
    EXPECT_TRUE(a.pte_dirty(a.pte_wrprotect(rw)));
    EXPECT_FALSE(decode(a.pte_wrprotect(rw)).write);
    EXPECT_FALSE(decode(a.pte_mkclean(rw)).dirty);
    EXPECT_FALSE(decode(a.pte_mkold(rw)).accessed);
    EXPECT_TRUE(decode(a.pte_mkyoung(a.pte_mkold(rw))).accessed);
    const pte_t sp = a.pte_mkspecial(ro);
    EXPECT_TRUE(a.pte_special(sp));
    EXPECT_EQ(decode(sp).sw, 1u) << "_PAGE_SPECIAL is RSW bit 8";
    EXPECT_EQ(a.pte_pfn(a.pte_advance_pfn(rw, 5)), kPfn + 5);
    EXPECT_EQ(a.pte_advance_pfn(rw, 5).val & ~_PAGE_PFN_MASK, rw.val & ~_PAGE_PFN_MASK);
    EXPECT_EQ(a.pte_pgprot(rw).val, rw.val & ~_PAGE_PFN_MASK);

    // pte_modify() keeps pfn, A, D and special and takes R/W/X/U/G from the new protection: to PROT_NONE the
    // hart loses it, the kernel keeps it; back to PAGE_READ it is valid again with its A and D.
    const pte_t none = a.pte_modify(a.pte_mkspecial(rw), PAGE_NONE);
    EXPECT_FALSE(decode(none).valid());
    EXPECT_TRUE(a.pte_present(none));
    EXPECT_EQ(a.pte_pfn(none), kPfn);
    EXPECT_TRUE(a.pte_dirty(none) && a.pte_young(none) && a.pte_special(none));
    const pte_t back = a.pte_modify(none, PAGE_READ);
    EXPECT_EQ(back.val, (rw.val | _PAGE_SPECIAL) & ~_PAGE_WRITE);
    EXPECT_TRUE(decode(back).read && !decode(back).write && decode(back).dirty);
    EXPECT_TRUE(a.pte_none(pte_t{0}));
    EXPECT_FALSE(a.pte_present(pte_t{_PAGE_ACCESSED}));
    // No pte_needs_flush() on RISC-V: the generic one, always.
    EXPECT_TRUE(a.pte_needs_flush(rw, rw));
    EXPECT_TRUE(a.pte_needs_flush(ro, rw));
}

TEST(RiscvPteBits, NapotPfnIsTheRunBase)
{
    for (bool svnapot : {true, false}) {
        SCOPED_TRACE(svnapot ? "svnapot" : "no svnapot");
        auto e = make_riscv_env({"cores=1", std::string("features.svnapot=") + (svnapot ? "true" : "false")});
        const Riscv& a = e.arch();
        EXPECT_EQ(a.has_svnapot(), svnapot);
        const pte_t n = a.pte_mknapot(a.pfn_pte(kPfn + 5, PAGE_READ), NAPOT_CONT64KB_ORDER);
        EXPECT_EQ((n.val & _PAGE_PFN_MASK) >> _PAGE_PFN_SHIFT, kPfn | 0x8) << "PPN[3:0] = 0b1000";
        const hw::Descriptor d = e.fmt().decode(e.fmt().levels() - 1, n.val);
        if (svnapot) {
            EXPECT_EQ(a.pte_pfn(n), kPfn);
            EXPECT_TRUE(d.contiguous);
            EXPECT_EQ(d.oa, kPfn << PAGE_SHIFT);
        } else {
            EXPECT_EQ(a.pte_pfn(n), kPfn | 0x8) << "without Svnapot bit 63 means nothing to pte_pfn()";
            EXPECT_FALSE(d.valid()) << "and is reserved to the hart";
        }
    }
}

class RiscvTableEntry : public ::testing::TestWithParam<const char*> {};

// pmd_populate() and its upper twins: a V-only pointer whose PPN is the table's, at every non-leaf level of
// the mode; at level 0 a pointer is reserved and the hart faults.
TEST_P(RiscvTableEntry, EveryLevelLinksTheTable)
{
    auto e = make_riscv_env({"cores=1", std::string("page_table.mode=") + GetParam()});
    const Riscv& a = e.arch();
    const hw::PageTableFormat& fmt = e.fmt();
    const PAddr table = 0x12345000;
    for (int depth = 0; depth < fmt.levels(); ++depth) {
        const std::uint64_t raw = a.table_entry(depth, table);
        EXPECT_EQ(raw, (table >> 12) << 10 | _PAGE_TABLE);
        const hw::Descriptor d = fmt.decode(depth, raw);
        if (depth == fmt.levels() - 1) {
            EXPECT_FALSE(d.valid()) << "a pointer at level 0";
            continue;
        }
        ASSERT_EQ(d.type, hw::Descriptor::Type::Table) << depth;
        EXPECT_EQ(d.oa, table);
        EXPECT_FALSE(d.global);
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, RiscvTableEntry, ::testing::Values("sv39", "sv48", "sv57"));

// ptep_set_wrprotect() is one AMO clearing W alone; ptep_set_access_flags() writes a changed entry and
// answers "changed" even when nothing changed (no Svvptc), so that update_mmu_cache_range() fences; the
// fence is what lets a write hit after a read-only entry sat in the TLB.
TEST(RiscvPgtable, WrprotectAccessFlagsAndTheFaultPathFence)
{
    auto e = make_riscv_env({"cores=1"});
    std::uint64_t atomics = 0, loads_stores = 0, tlbi_before_fence = 0, tlbi_fence = 0;
    hw::Fault stale = hw::Fault::None, fenced = hw::Fault::Permission;
    int unchanged = -1;
    pte_t after_wp, after_flags;
    e.run([&](Ctx& c) {
        Riscv& a = e.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        vm_area_struct vma = make_vma(a, mm, kBase, kBase + 4096);
        const PtePtr ptep = pte_alloc_walk(c, mm, kBase);
        const pte_t rw = a.pte_mkwrite(a.pte_mkdirty(a.pfn_pte(kPfn, PAGE_COPY)));
        a.__set_pte(c, ptep, rw);

        const hw::CoreCounters before = c.cpu.counters();
        a.__ptep_set_wrprotect(c, mm, kBase, ptep);
        atomics = c.cpu.counters().atomics - before.atomics;
        loads_stores = c.cpu.counters().loads + c.cpu.counters().stores - before.loads - before.stores;
        after_wp = a.__ptep_get(c, ptep);

        // The read-only entry goes into the TLB; the write faults on it.
        c.cpu.mmu().set_context(mm.asid, mm.pgd);
        ASSERT_EQ(c.cpu.translate(kBase, AccessKind::Read).fault, hw::Fault::None);
        ASSERT_NE(c.cpu.translate(kBase, AccessKind::Write).fault, hw::Fault::None);
        unchanged = a.ptep_set_access_flags(c, vma, kBase, ptep, after_wp, 1);
        EXPECT_EQ(a.__ptep_get(c, ptep), after_wp);
        // wp_page_reuse(): made writable in place; the stale read-only TLB entry still answers...
        EXPECT_EQ(a.ptep_set_access_flags(c, vma, kBase, ptep, a.pte_mkwrite(after_wp), 1), 1);
        after_flags = a.__ptep_get(c, ptep);
        tlbi_before_fence = c.cpu.counters().tlbi_issued;
        stale = c.cpu.translate(kBase, AccessKind::Write).fault;
        // ...until update_mmu_cache_range()'s SFENCE.VMA.
        a.update_mmu_cache_range(c, vma, kBase, ptep, 1);
        tlbi_fence = c.cpu.counters().tlbi_issued - tlbi_before_fence;
        fenced = c.cpu.translate(kBase, AccessKind::Write).fault;
    });
    EXPECT_EQ(atomics, 1u) << "atomic_long_and(): one AMO";
    EXPECT_EQ(loads_stores, 0u);
    EXPECT_FALSE(e.arch().pte_write(after_wp));
    EXPECT_TRUE(e.arch().pte_dirty(after_wp));
    EXPECT_EQ(unchanged, 1) << "without Svvptc the answer is always 'changed'";
    EXPECT_TRUE(e.arch().pte_write(after_flags));
    EXPECT_EQ(stale, hw::Fault::Permission) << "the TLB kept the read-only entry";
    EXPECT_EQ(tlbi_fence, 1u);
    EXPECT_EQ(fenced, hw::Fault::None);
    EXPECT_EQ(e.k->stats().flushes.at("update_mmu_cache_range").pages, 1u);
}

TEST(RiscvPgtable, TestAndClearYoungClearsOnlyAYoungEntry)
{
    auto e = make_riscv_env({"cores=1"});
    bool first = false, second = true;
    std::uint64_t atomics_first = 0, atomics_second = 0;
    pte_t after;
    e.run([&](Ctx& c) {
        Riscv& a = e.arch();
        mm_struct& mm = c.k.mm_alloc(c);
        vm_area_struct vma = make_vma(a, mm, kBase, kBase + 4096);
        const PtePtr ptep = pte_alloc_walk(c, mm, kBase);
        a.__set_pte(c, ptep, a.pfn_pte(kPfn, PAGE_READ));
        std::uint64_t at = c.cpu.counters().atomics;
        first = a.ptep_test_and_clear_young(c, vma, kBase, ptep);
        atomics_first = c.cpu.counters().atomics - at;
        at = c.cpu.counters().atomics;
        second = a.ptep_test_and_clear_young(c, vma, kBase, ptep);
        atomics_second = c.cpu.counters().atomics - at;
        after = a.__ptep_get(c, ptep);
    });
    EXPECT_TRUE(first);
    EXPECT_EQ(atomics_first, 1u);
    EXPECT_FALSE(second);
    EXPECT_EQ(atomics_second, 0u) << "an old entry is only read";
    EXPECT_EQ(after.val, e.arch().pfn_pte(kPfn, PAGE_READ).val & ~_PAGE_ACCESSED);
}

TEST(RiscvArch, MakeArchPicksRiscv)
{
    auto e = make_riscv_env({"cores=1", "features.svadu=false"});
    EXPECT_STREQ(e.k->arch().name(), "riscv");
    EXPECT_FALSE(e.arch().arch_has_hw_pte_young());
    auto f = make_riscv_env({"cores=1"});
    EXPECT_TRUE(f.arch().arch_has_hw_pte_young()) << "riscv-sv39 ships with Svadu";
}

} // namespace
} // namespace mmusim::mm
