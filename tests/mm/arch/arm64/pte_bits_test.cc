// SPDX-License-Identifier: GPL-2.0-only
// arm64 PTE bits (asm/pgtable.h, pgtable-prot.h, mmap.c): the values Linux composes, checked against what the
// hardware format (hw/pgtable/arm64_format.cc) decodes from them.
#include "arm64_test_util.hh"

#include <gtest/gtest.h>

namespace mmusim::mm {
namespace {

using namespace arm64;
using test::make_arm64_env;

TEST(Arm64PteBits, UpstreamBitPositions)
{
    EXPECT_EQ(PTE_WRITE, std::uint64_t{1} << 51); // DBM
    EXPECT_EQ(PTE_CONT, std::uint64_t{1} << 52);
    EXPECT_EQ(PTE_DIRTY, std::uint64_t{1} << 55);
    EXPECT_EQ(PTE_SPECIAL, std::uint64_t{1} << 56);
    EXPECT_EQ(PTE_PRESENT_INVALID, PTE_NG);
    // PAGE_READONLY with a zero pfn, as Linux prints it: 0x0060000000000fc3 (UXN PXN | nG AF SH RDONLY USER page)
    EXPECT_EQ(_PAGE_READONLY, 0x0060000000000fc3ull);
    EXPECT_EQ(_PAGE_SHARED, 0x0068000000000fc3ull); // + PTE_WRITE
}

TEST(Arm64PteBits, DirtyWriteAndYoungFollowUpstream)
{
    auto e = make_arm64_env("neoverse-n1");
    const Arm64& a = e.arch();
    const pte_t ro = a.pfn_pte(0x1234, PAGE_READONLY);
    EXPECT_FALSE(a.pte_write(ro));
    EXPECT_FALSE(a.pte_dirty(ro));
    EXPECT_TRUE(a.pte_young(ro)); // PROT_DEFAULT carries PTE_AF

    // shared writable: PTE_WRITE with PTE_RDONLY (clean); a write fault's mkdirty clears RDONLY (hw dirty)
    const pte_t sh = a.pfn_pte(0x1234, PAGE_SHARED);
    EXPECT_TRUE(a.pte_write(sh));
    EXPECT_FALSE(a.pte_dirty(sh));
    const pte_t dirty = a.pte_mkdirty(sh);
    EXPECT_TRUE(a.pte_hw_dirty(dirty));
    EXPECT_TRUE(a.pte_sw_dirty(dirty));
    EXPECT_FALSE(a.pte_rdonly(dirty));

    // hardware dirtiness alone (DBM cleared RDONLY, no PTE_DIRTY) is dirty; wrprotect moves it to PTE_DIRTY
    const pte_t hw_dirty = pte_t{sh.val & ~PTE_RDONLY};
    EXPECT_TRUE(a.pte_dirty(hw_dirty));
    EXPECT_FALSE(a.pte_sw_dirty(hw_dirty));
    const pte_t wp = a.pte_wrprotect(hw_dirty);
    EXPECT_FALSE(a.pte_write(wp));
    EXPECT_TRUE(a.pte_rdonly(wp));
    EXPECT_TRUE(a.pte_sw_dirty(wp));
    EXPECT_TRUE(a.pte_dirty(wp));

    // mkclean sets RDONLY and drops PTE_DIRTY; mkwrite of a sw-dirty PTE clears RDONLY
    const pte_t clean = a.pte_mkclean(dirty);
    EXPECT_FALSE(a.pte_dirty(clean));
    EXPECT_TRUE(a.pte_write(clean));
    EXPECT_FALSE(a.pte_rdonly(a.pte_mkwrite(wp)));
    EXPECT_TRUE(a.pte_rdonly(a.pte_mkwrite(a.pte_mkclean(wp))));

    EXPECT_FALSE(a.pte_young(a.pte_mkold(ro)));
    EXPECT_TRUE(a.pte_young(a.pte_mkyoung(a.pte_mkold(ro))));
    EXPECT_TRUE(a.pte_special(a.pte_mkspecial(ro)));
}

TEST(Arm64PteBits, ProtectionMapDecodesAsTheHardwareExpects)
{
    auto e = make_arm64_env("neoverse-n1");
    const Arm64& a = e.arch();
    const int last = e.fmt().levels() - 1;
    const pfn_t pfn = 0x4321;
    const auto decode = [&](vm_flags_t f) { return e.fmt().decode(last, a.pfn_pte(pfn, a.vm_get_page_prot(f)).val); };

    EXPECT_FALSE(decode(VM_NONE).valid());
    EXPECT_TRUE(a.pte_present(a.pfn_pte(pfn, a.vm_get_page_prot(VM_NONE)))); // PROT_NONE: present, not valid
    EXPECT_FALSE(decode(VM_SHARED).valid());

    const hw::Descriptor r = decode(VM_READ);
    ASSERT_EQ(r.type, hw::Descriptor::Type::Leaf);
    EXPECT_EQ(r.oa, pfn << a.page_shift());
    EXPECT_TRUE(r.user);
    EXPECT_FALSE(r.write);
    EXPECT_TRUE(r.accessed);
    EXPECT_FALSE(r.global);
    EXPECT_FALSE(r.exec);
    EXPECT_FALSE(r.priv_exec);
    EXPECT_EQ(r.sh, 3);

    // private writable is read-only until the COW fault; no DBM either
    const hw::Descriptor pw = decode(VM_READ | VM_WRITE);
    EXPECT_FALSE(pw.write);
    EXPECT_FALSE(pw.dbm);

    // shared writable: DBM (PTE_WRITE) set, AP[2] set until dirtied
    const hw::Descriptor sw = decode(VM_SHARED | VM_READ | VM_WRITE);
    EXPECT_FALSE(sw.write);
    EXPECT_TRUE(sw.dbm);
    const hw::Descriptor swd =
        e.fmt().decode(last, a.pte_mkdirty(a.pfn_pte(pfn, a.vm_get_page_prot(VM_SHARED | VM_READ | VM_WRITE))).val);
    EXPECT_TRUE(swd.write);
    EXPECT_TRUE(swd.sw_dirty);

    // a private writable PTE made writable by the write fault (maybe_mkwrite(pte_mkdirty())) is hw-writable
    const pte_t cow = a.pte_mkwrite(a.pte_mkdirty(a.pfn_pte(pfn, a.vm_get_page_prot(VM_READ | VM_WRITE))));
    EXPECT_TRUE(e.fmt().decode(last, cow.val).write);

    EXPECT_TRUE(decode(VM_READ | VM_EXEC).exec);
    EXPECT_FALSE(decode(VM_READ | VM_EXEC).priv_exec);
    EXPECT_TRUE(decode(VM_SHARED | VM_WRITE | VM_EXEC).exec);

    // the contiguous bit decodes as a contiguous leaf at the PTE level
    EXPECT_TRUE(e.fmt().decode(last, a.pte_mkcont(a.pfn_pte(pfn, PAGE_READONLY)).val).contiguous);
    EXPECT_TRUE(e.fmt().decode(last, a.pte_mkspecial(a.pfn_pte(pfn, PAGE_READONLY)).val).sw_special);
}

TEST(Arm64PteBits, TableEntryDecodesAsAUserTable)
{
    auto e = make_arm64_env("neoverse-n1");
    const PAddr table = 0x12345000;
    for (int depth = 0; depth < e.fmt().levels() - 1; ++depth) {
        const hw::Descriptor d = e.fmt().decode(depth, e.arch().table_entry(depth, table));
        ASSERT_EQ(d.type, hw::Descriptor::Type::Table) << "depth " << depth;
        EXPECT_EQ(d.oa, table);
        EXPECT_TRUE(d.accessed);   // PMD_TABLE_AF
        EXPECT_FALSE(d.priv_exec); // PMD_TABLE_PXN
        EXPECT_TRUE(d.exec);       // no PMD_TABLE_UXN for user tables
    }
}

TEST(Arm64PteBits, PfnRoundTripsForEveryGranule)
{
    const struct {
        const char* granule;
        unsigned shift, cont_ptes;
    } cases[] = {{"4K", 12, 16}, {"16K", 14, 128}, {"64K", 16, 32}};
    for (const auto& g : cases) {
        auto e = make_arm64_env("neoverse-n1", {std::string("page_table.granule=") + g.granule}, {"kernel.folio_size=64K"});
        const Arm64& a = e.arch();
        const int last = e.fmt().levels() - 1;
        EXPECT_EQ(a.page_shift(), g.shift);
        EXPECT_EQ(a.cont_ptes(), g.cont_ptes) << g.granule;
        EXPECT_EQ(a.cont_ptes(), e.fmt().level(last).contig_entries) << g.granule; // what the hardware groups
        const pfn_t pfn = (std::uint64_t{1} << (47 - g.shift)) + 5; // a high frame below 2^48
        const pte_t p = a.pfn_pte(pfn, PAGE_SHARED);
        EXPECT_EQ(a.pte_pfn(p), pfn);
        EXPECT_EQ(e.fmt().decode(last, p.val).oa, pfn << g.shift);
        EXPECT_EQ(a.pte_pgprot(p).val, _PAGE_SHARED);
        EXPECT_EQ(a.pte_pfn(a.pte_advance_pfn(p, 3)), pfn + 3);
        EXPECT_EQ(a.pte_pgprot(a.pte_advance_pfn(p, 3)).val, _PAGE_SHARED);
    }
}

TEST(Arm64PteBits, PteModifyKeepsPfnAccessAndDirty)
{
    auto e = make_arm64_env("neoverse-n1");
    const Arm64& a = e.arch();
    // hw-dirty shared writable page made read-only (mprotect): dirty survives as PTE_DIRTY, AF and pfn stay
    pte_t p = a.pfn_pte(0x777, PAGE_SHARED);
    p.val &= ~PTE_RDONLY; // written through DBM
    const pte_t ro = a.pte_modify(p, PAGE_READONLY);
    EXPECT_EQ(a.pte_pfn(ro), 0x777u);
    EXPECT_FALSE(a.pte_write(ro));
    EXPECT_TRUE(a.pte_dirty(ro));
    EXPECT_TRUE(a.pte_young(ro));
    // back to writable: the sw-dirty PTE becomes hw-dirty again (writable without a fault)
    const pte_t rw = a.pte_modify(ro, PAGE_SHARED);
    EXPECT_TRUE(a.pte_hw_dirty(rw));
    // to PROT_NONE: present but not valid
    const pte_t none = a.pte_modify(p, PAGE_NONE);
    EXPECT_FALSE(a.pte_valid(none));
    EXPECT_TRUE(a.pte_present(none));
    EXPECT_EQ(a.pte_pfn(none), 0x777u);
}

TEST(Arm64PteBits, PteNeedsFlush)
{
    auto e = make_arm64_env("neoverse-n1");
    const Arm64& a = e.arch();
    const pte_t p = a.pfn_pte(0x10, PAGE_SHARED);
    EXPECT_FALSE(a.pte_needs_flush(pte_t{0}, p));                        // invalid -> valid
    EXPECT_FALSE(a.pte_needs_flush(a.pfn_pte(0x10, PAGE_NONE), p));       // PROT_NONE is not valid
    EXPECT_FALSE(a.pte_needs_flush(p, pte_t{p.val | PTE_DIRTY}));         // software bit only
    EXPECT_FALSE(a.pte_needs_flush(p, a.pte_mkspecial(p)));
    EXPECT_TRUE(a.pte_needs_flush(p, a.pte_wrprotect(a.pte_mkdirty(p)))); // RDONLY and DBM change
    EXPECT_TRUE(a.pte_needs_flush(p, a.pte_mkold(p)));
    EXPECT_TRUE(a.pte_needs_flush(p, a.pfn_pte(0x11, PAGE_SHARED)));
}

} // namespace
} // namespace mmusim::mm
