// SPDX-License-Identifier: GPL-2.0-only
// x86-64 PTE bits: what the kernel's helpers build is what the hardware format decodes (permissions, frame,
// accessed and dirty), and the bit operations keep upstream's invariants (SavedDirty on write-protected
// entries, PROT_NONE entries with an inverted frame number, pte_needs_flush's demotions).
#include "mm/arch/x86/pgtable.hh"

#include "hw/pgtable/format_registry.hh"

#include <gtest/gtest.h>

using namespace mmusim;
using namespace mmusim::mm;
using namespace mmusim::mm::x86;
using hw::Descriptor;

namespace {

constexpr pfn_t kPfn = 0x12345; // frame 0x12345000
constexpr int kPt = 3;          // depth of the PT in 4-level paging

std::unique_ptr<hw::PageTableFormat> x86_format(const char* levels = "4")
{
    return hw::FormatRegistry::instance().create("x86-64", {{"levels", levels}});
}

} // namespace

// Every protection_map entry, through pfn_pte(), decodes as the hardware applies it.
TEST(X86Pte, ProtectionMapDecodesAsTheHardwareExpects)
{
    const X86 a;
    const auto fmt = x86_format();
    for (vm_flags_t flags = 0; flags < 16; ++flags) {
        SCOPED_TRACE("vm_flags " + std::to_string(flags));
        const pte_t pte = a.pfn_pte(kPfn, a.vm_get_page_prot(flags));
        const Descriptor d = fmt->decode(kPt, pte.val);
        const bool accessible = flags & (VM_READ | VM_WRITE | VM_EXEC);
        EXPECT_TRUE(a.pte_present(pte)) << "PROT_NONE entries are present to the kernel too";
        EXPECT_EQ(a.pte_pfn(pte), kPfn);
        EXPECT_FALSE(a.pte_none(pte));
        if (!accessible) {
            EXPECT_EQ(d.type, Descriptor::Type::Invalid) << "PROT_NONE: not present to the hardware";
            EXPECT_NE((pte.val & PTE_PFN_MASK) >> PAGE_SHIFT, kPfn) << "the frame number is inverted (L1TF)";
            continue;
        }
        EXPECT_EQ(d.type, Descriptor::Type::Leaf);
        EXPECT_EQ(d.oa, PAddr{kPfn} << 12);
        EXPECT_TRUE(d.user);
        // Private writable mappings are read-only until the write fault (PAGE_COPY): COW.
        EXPECT_EQ(d.write, (flags & VM_SHARED) && (flags & VM_WRITE));
        EXPECT_EQ(a.pte_write(pte), d.write);
        EXPECT_EQ(d.exec, (flags & VM_EXEC) != 0);
        EXPECT_TRUE(d.accessed);
        EXPECT_TRUE(a.pte_young(pte));
        EXPECT_FALSE(d.dirty);
        EXPECT_FALSE(d.global);
        EXPECT_EQ(d.attr, 0) << "write-back";
        EXPECT_EQ(fmt->encode(kPt, d), pte.val) << "nothing the hardware format does not carry";
    }
}

// A write fault's entry (maybe_mkwrite(pte_mkdirty(...))), then fork's write protection.
TEST(X86Pte, WriteProtectMovesDirtyToSavedDirty)
{
    const X86 a;
    const auto fmt = x86_format();
    const pte_t rw = a.pte_mkwrite(a.pte_mkdirty(a.pfn_pte(kPfn, a.vm_get_page_prot(VM_READ | VM_WRITE))));
    Descriptor d = fmt->decode(kPt, rw.val);
    EXPECT_TRUE(d.write);
    EXPECT_TRUE(d.dirty);
    EXPECT_TRUE(a.pte_soft_dirty(rw)) << "pte_mkdirty() sets soft-dirty too";
    EXPECT_TRUE(a.pte_dirty(rw));

    const pte_t ro = a.pte_wrprotect(rw);
    d = fmt->decode(kPt, ro.val);
    EXPECT_FALSE(d.write);
    EXPECT_FALSE(d.dirty) << "Write=0, Dirty=1 would be a shadow-stack page";
    EXPECT_EQ(ro.val & _PAGE_SAVED_DIRTY, _PAGE_SAVED_DIRTY);
    EXPECT_EQ(d.sw, 8 | 2) << "SavedDirty is bit 58 (SOFTW5), the format's fourth software bit; soft-dirty bit 11";
    EXPECT_TRUE(a.pte_dirty(ro)) << "still dirty to the kernel";
    EXPECT_FALSE(a.pte_write(ro));

    // pte_mkdirty() on a read-only entry goes to SavedDirty as well.
    EXPECT_FALSE(a.pte_mkdirty(a.pte_mkclean(ro)).val & _PAGE_DIRTY);
    EXPECT_TRUE(a.pte_dirty(a.pte_mkdirty(a.pte_mkclean(ro))));

    const pte_t again = a.pte_mkwrite(ro);
    EXPECT_EQ(again, rw) << "pte_mkwrite() moves SavedDirty back to Dirty";
    EXPECT_FALSE(a.pte_dirty(a.pte_mkclean(ro)));
    EXPECT_FALSE(a.pte_young(a.pte_mkold(ro)));
    EXPECT_FALSE(a.pte_soft_dirty(a.pte_clear_soft_dirty(rw)));
}

// What the hardware sets on access and on a write is what pte_young()/pte_dirty() read.
TEST(X86Pte, HardwareAccessedAndDirtyBitsAreTheKernels)
{
    const X86 a;
    const auto fmt = x86_format();
    const hw::HwUpdateBits hw = fmt->hw_update_bits();
    const pte_t old = a.pte_mkold(a.pfn_pte(kPfn, a.vm_get_page_prot(VM_SHARED | VM_READ | VM_WRITE)));
    ASSERT_FALSE(a.pte_young(old));
    EXPECT_TRUE(a.pte_young(pte_t{old.val | hw.set_on_access}));
    EXPECT_FALSE(a.pte_dirty(pte_t{old.val | hw.set_on_access}));
    const pte_t written{(old.val | hw.set_on_write) & ~hw.clear_on_write};
    EXPECT_TRUE(a.pte_dirty(written));
    EXPECT_TRUE(a.pte_young(written));
    EXPECT_TRUE(a.pte_write(written));
}

TEST(X86Pte, ModifyKeepsFrameAndStateAcrossProtNone)
{
    const X86 a;
    const auto fmt = x86_format();
    pte_t pte = a.pfn_pte(kPfn, a.vm_get_page_prot(VM_SHARED | VM_READ | VM_WRITE));
    pte = a.pte_mkdirty(pte);
    pte.val |= _PAGE_SPECIAL;

    const pte_t ro = a.pte_modify(pte, a.vm_get_page_prot(VM_SHARED | VM_READ));
    EXPECT_EQ(a.pte_pfn(ro), kPfn);
    EXPECT_FALSE(a.pte_write(ro));
    EXPECT_TRUE(a.pte_dirty(ro));
    EXPECT_FALSE(ro.val & _PAGE_DIRTY) << "Dirty moved aside as the write permission went";
    EXPECT_TRUE(a.pte_special(ro));
    EXPECT_TRUE(a.pte_young(ro));
    EXPECT_TRUE(a.pte_soft_dirty(ro));
    EXPECT_TRUE(fmt->decode(kPt, ro.val).valid());

    const pte_t none = a.pte_modify(ro, a.vm_get_page_prot(VM_NONE));
    EXPECT_FALSE(fmt->decode(kPt, none.val).valid());
    EXPECT_TRUE(a.pte_present(none));
    EXPECT_EQ(a.pte_pfn(none), kPfn);
    EXPECT_NE(none.val & PTE_PFN_MASK, ro.val & PTE_PFN_MASK) << "inverted on the way to PROT_NONE";

    const pte_t back = a.pte_modify(none, a.vm_get_page_prot(VM_SHARED | VM_READ | VM_WRITE));
    const Descriptor d = fmt->decode(kPt, back.val);
    ASSERT_TRUE(d.valid());
    EXPECT_EQ(d.oa, PAddr{kPfn} << 12) << "and back";
    EXPECT_TRUE(d.write);
    EXPECT_TRUE(d.dirty) << "SavedDirty back to Dirty with the write permission";
    EXPECT_TRUE(a.pte_special(back));
}

TEST(X86Pte, AdvancePfnCountsDownWhenInverted)
{
    const X86 a;
    const pte_t present = a.pfn_pte(kPfn, PAGE_READONLY);
    EXPECT_EQ(a.pte_pfn(a.pte_advance_pfn(present, 3)), kPfn + 3);
    const pte_t none = a.pfn_pte(kPfn, PAGE_NONE);
    EXPECT_EQ(a.pte_pfn(a.pte_advance_pfn(none, 3)), kPfn + 3);
    EXPECT_EQ(pte_flags(a.pte_advance_pfn(none, 3)), pte_flags(none));
}

TEST(X86Pte, NoneIgnoresTheKnlErratumBits)
{
    const X86 a;
    EXPECT_TRUE(a.pte_none(pte_t{0}));
    EXPECT_TRUE(a.pte_none(pte_t{_PAGE_ACCESSED | _PAGE_DIRTY}));
    EXPECT_FALSE(a.pte_none(pte_t{_PAGE_PRESENT}));
}

TEST(X86Pte, TableEntryDecodesAsATable)
{
    const X86 a;
    for (const char* levels : {"4", "5"}) {
        const auto fmt = x86_format(levels);
        for (int depth = 0; depth < fmt->levels() - 1; ++depth) {
            const PAddr table = 0x7654000;
            const Descriptor d = fmt->decode(depth, a.table_entry(depth, table));
            EXPECT_EQ(d.type, Descriptor::Type::Table) << levels << "-level, depth " << depth;
            EXPECT_EQ(d.oa, table);
            EXPECT_TRUE(d.write) << "a table needs Write=1 for its PTEs to be writable";
            EXPECT_TRUE(d.user);
            EXPECT_TRUE(d.exec);
        }
    }
}

TEST(X86Pte, NeedsFlushOnDemotionsOnly)
{
    const X86 a;
    const pte_t rw = a.pte_mkdirty(a.pfn_pte(kPfn, PAGE_SHARED));
    EXPECT_FALSE(a.pte_needs_flush(pte_t{0}, rw)) << "nothing cached for a non-present entry";
    EXPECT_FALSE(a.pte_needs_flush(a.pfn_pte(kPfn, PAGE_NONE), rw)) << "PROT_NONE is not present to the TLB";
    EXPECT_TRUE(a.pte_needs_flush(rw, a.pfn_pte(kPfn + 1, PAGE_SHARED))) << "another frame";
    EXPECT_TRUE(a.pte_needs_flush(rw, a.pte_wrprotect(rw))) << "write permission removed";
    EXPECT_TRUE(a.pte_needs_flush(a.pte_wrprotect(rw), rw)) << "R/W is flush-on-change either way";
    EXPECT_TRUE(a.pte_needs_flush(rw, a.pte_mkclean(rw))) << "Dirty cleared: the TLB would not set it again";
    EXPECT_FALSE(a.pte_needs_flush(a.pte_mkclean(rw), rw)) << "Dirty set: the hardware sets it itself";
    EXPECT_FALSE(a.pte_needs_flush(rw, a.pte_mkold(rw))) << "the accessed bit is ignored";
    EXPECT_FALSE(a.pte_needs_flush(rw, a.pte_clear_soft_dirty(rw))) << "software bits are ignored";
    EXPECT_TRUE(a.pte_needs_flush(rw, pte_t{rw.val & ~_PAGE_NX})) << "NX changed";
    EXPECT_TRUE(a.pte_needs_flush(rw, pte_t{rw.val & ~_PAGE_PRESENT}));
}
