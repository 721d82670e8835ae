// SPDX-License-Identifier: GPL-2.0-only
#include "mm/gup.hh"
#include "util/ftrace.hh"

#include "hw/core/spinlock.hh"
#include "hw/pgtable/walk_down.hh"
#include "mm/internal.hh"
#include "mm/memory.hh"
#include "mm/mmap_lock.hh"
#include "mm/pgtable.hh"
#include "mm/swap.hh"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::StructPage;

int leaf_depth(const Ctx& c) { return c.k.format().levels() - 1; }
std::uint64_t level_span(const Ctx& c, int d) { return std::uint64_t{1} << c.k.format().level(d).shift; }

// pgd_addr_end() ... pmd_addr_end() for an entry at depth d
Addr level_addr_end(const Ctx& c, int d, Addr addr, Addr end)
{
    const std::uint64_t span = level_span(c, d);
    const Addr boundary = (addr + span) & ~(span - 1);
    return boundary - 1 < end - 1 ? boundary : end;
}

// READ_ONCE() of a page-table entry above the PTEs (pgdp_get(), pudp_get(), pmdp_get_lockless())
std::uint64_t entry_get(Ctx& c, PtePtr p) { return c.cpu.load(p, kPteBytes, Category::PteLoad); }

bool is_zero_folio(const Ctx& c, Folio f) { return c.k.is_zero_pfn(f.pfn); } // include/linux/mm.h

// include/linux/page_ref.h folio_ref_try_add(): atomic_add_unless(&folio->_refcount, nr, 0), the generic
// atomic_fetch_add_unless() loop of a read and a cmpxchg
bool folio_ref_try_add(Ctx& c, Folio folio, int nr)
{
    const PAddr ref = page_addr(c, folio.pfn) + PAGE_OFF_REFCOUNT;
    std::uint64_t old = c.cpu.load(ref, 4, kCat);
    for (;;) {
        if (old == 0)
            return false;
        const std::uint64_t want = (old + static_cast<std::uint32_t>(nr)) & 0xffffffffu;
        const std::uint64_t seen = c.cpu.cmpxchg(ref, old, want, 4, kCat);
        if (seen == old)
            return true;
        old = seen;
    }
}

// include/linux/mm.h folio_put_refs()
void folio_put_refs(Ctx& c, Folio folio, int refs)
{
    if (folio_ref_sub_and_test(c, folio, refs))
        __folio_put(c, folio);
}

// include/linux/page-flags.h PageAnon(): folio_test_anon(page_folio(page))
bool PageAnon(Ctx& c, pfn_t page) { return folio_test_anon(c, page_folio(c, page)); }

// mm/internal.h gup_must_unshare(): a read-only pin (FOLL_PIN without FOLL_WRITE) of an anonymous page that
// is not exclusive must unshare it first, or the pin could end up on a page the process no longer maps after
// a COW. vma is null on GUP-fast. (The !PageAnon branch concerns FOLL_LONGTERM pins of file pages.)
bool gup_must_unshare(Ctx& c, const vm_area_struct*, unsigned flags, pfn_t page)
{
    // FOLL_WRITE is implicitly handled correctly as the page table entry has to be writable -- and if it
    // references (part of) an anonymous folio, that part is required to be marked exclusive.
    if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
        return false;
    if (!PageAnon(c, page))
        return false;
    // Paired with a memory barrier in folio_try_share_anon_rmap_*() (CONFIG_HAVE_GUP_FAST).
    smp_rmb(c);
    return !PageAnonExclusive(c, page);
}

// mm/gup.c mm_set_has_pinned_flag(): set once for the mm's lifetime; tested first so that concurrent pins do
// not bounce the line
void mm_set_has_pinned_flag(Ctx& c, mm_struct& mm)
{
    const PAddr flags = mm.addr + MM_OFF_FLAGS;
    if (!(c.cpu.load(flags, 8, Category::KernelMemory) & (std::uint64_t{1} << MMF_HAS_PINNED))) {
        c.cpu.fetch_or(flags, std::uint64_t{1} << MMF_HAS_PINNED, 8, Category::KernelMemory);
        mm.has_pinned = true;
    }
}

// mm/gup.c try_get_folio(): a reference on the folio of `page` unless it is being freed; rechecked against a
// concurrent split
std::optional<Folio> try_get_folio(Ctx& c, pfn_t page, int refs)
{
    for (;;) { // retry:
        const Folio folio = page_folio(c, page);
        if (folio_ref_count(c, folio) < 0) // WARN_ON_ONCE
            return std::nullopt;
        if (!folio_ref_try_add(c, folio, refs))
            return std::nullopt;
        // At this point we have a stable reference to the folio; recheck that the page still belongs to it.
        if (page_folio(c, page) == folio)
            return folio;
        folio_put_refs(c, folio, refs);
    }
}

// mm/gup.c try_grab_folio_fast(): FOLL_PIN on a large folio adds refs to the refcount and to _pincount, on
// a small one refs * GUP_PIN_COUNTING_BIAS to the refcount; then a full barrier before the caller re-reads
// the PTE, pairing with __folio_try_share_anon_rmap() (include/linux/rmap.h: "clear PTE, smp_mb, check
// pinned" against "pin, smp_mb, check PTE").
std::optional<Folio> try_grab_folio_fast(Ctx& c, pfn_t page, int refs, unsigned flags)
{
    if (!(flags & (FOLL_GET | FOLL_PIN))) // WARN_ON_ONCE
        return std::nullopt;
    if (flags & FOLL_GET)
        return try_get_folio(c, page, refs);
    // Don't take a pin on the zero page - it's not going anywhere and it is used in a *lot* of places.
    if (c.k.is_zero_pfn(page))
        return page_folio(c, page);
    const std::optional<Folio> folio = try_get_folio(c, page, refs);
    if (!folio)
        return std::nullopt;
    // When pinning a large folio, use an exact count to track it; the refcount from try_get_folio() stays.
    if (folio_has_pincount(c, *folio))
        folio_atomic_add_return(c, *folio, FOLIO_OFF_PINCOUNT, refs); // atomic_add()
    else
        folio_ref_add(c, *folio, refs * (GUP_PIN_COUNTING_BIAS - 1));
    // Adjust the pincount before re-checking the PTE for changes.
    smp_mb__after_atomic(c);
    c.k.stats().pins += static_cast<std::uint64_t>(refs); // node_stat_mod_folio(NR_FOLL_PIN_ACQUIRED)
    return folio;
}

// mm/gup.c gup_fast_folio_allowed(): GUP-fast has no VMA, so it reads folio->mapping to refuse secretmem
// (small folios) and long-term writable pins of file folios; anonymous folios always pass
bool gup_fast_folio_allowed(Ctx& c, Folio folio, unsigned flags)
{
    const bool reject_file_backed = (flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) ==
                                    (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE);
    // secretmem folios are always order-0 folios (CONFIG_SECRETMEM).
    const bool check_secretmem = !folio_test_large(c, folio);
    if (!reject_file_backed && !check_secretmem)
        return true;
    // folio_test_slab() and folio_test_hugetlb(): page types, in the word _mapcount shares
    folio_atomic_read(c, folio, PAGE_OFF_MAPCOUNT);
    folio_atomic_read(c, folio, PAGE_OFF_MAPCOUNT);
    const std::uint64_t mapping = folio_mapping_raw(c, folio); // READ_ONCE(folio->mapping)
    if (!mapping)
        return !reject_file_backed;
    // Anonymous folios pose no problem.
    if (const std::uint64_t mapping_flags = mapping & 0x3) // FOLIO_MAPPING_FLAGS
        return mapping_flags & PAGE_MAPPING_ANON;
    return !reject_file_backed; // no file mappings in the port
}

// arch/arm64/include/asm/pgtable.h pte_access_permitted(), arch/x86/include/asm/pgtable.h
// pte_access_permitted(): an entry the hardware lets user space use (valid, user), writable if asked. The
// platform's descriptor decoding is the hardware's view of the bits.
bool pte_access_permitted(Ctx& c, pte_t pte, bool write)
{
    const hw::Descriptor d = c.k.format().decode(leaf_depth(c), pte.val);
    if (d.type != hw::Descriptor::Type::Leaf || !d.user)
        return false;
    return !write || c.k.arch().pte_write(pte);
}

// mm/gup.c gup_fast_unpin_user_pages(): no sanity checks (we may have raced with fork())
void gup_fast_unpin_user_pages(Ctx& c, std::vector<pfn_t>& pages, std::size_t from)
{
    const std::vector<pfn_t> mine(pages.begin() + static_cast<long>(from), pages.end());
    unpin_user_pages(c, mine);
    pages.resize(from);
}

// mm/gup.c gup_fast_pte_range(): per PTE, read it, grab its folio, read it again (a PTE cleared meanwhile
// must not stay pinned), then the unshare check. Stops at the first PTE it cannot pin; returns the pages
// pinned.
unsigned long gup_fast_pte_range(Ctx& c, std::uint64_t pmd, PtePtr pmdp, Addr addr, Addr end, unsigned flags,
                                 std::vector<pfn_t>& pages)
{
    const Arch& a = c.k.arch();
    const int leaf = leaf_depth(c);
    unsigned long nr_pages = 0;
    PtePtr ptep = hw::descriptor_pa(c.k.format(), c.k.format().decode(leaf - 1, pmd).oa, addr, leaf); // pte_offset_map()
    do {
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        const pte_t pte = ptep_get(c, ptep); // ptep_get_lockless()
        // pte_protnone(): no NUMA hinting in the port
        if (!pte_access_permitted(c, pte, flags & FOLL_WRITE))
            break;
        if (a.pte_special(pte))
            break;
        const pfn_t page = a.pte_pfn(pte); // pte_page()
        const std::optional<Folio> folio = try_grab_folio_fast(c, page, 1, flags);
        if (!folio)
            break;
        if (pmd != entry_get(c, pmdp) || pte != ptep_get(c, ptep)) {
            gup_put_folio(c, *folio, 1, flags);
            break;
        }
        if (!gup_fast_folio_allowed(c, *folio, flags)) {
            gup_put_folio(c, *folio, 1, flags);
            break;
        }
        if (!a.pte_write(pte) && gup_must_unshare(c, nullptr, flags, page)) {
            gup_put_folio(c, *folio, 1, flags);
            break;
        }
        // arch_make_folio_accessible() is a no-op on arm64 and x86.
        folio_set_flag(c, *folio, PG_referenced); // folio_set_referenced()
        pages.push_back(page);
        ++nr_pages;
    } while (ptep = pte_offset(ptep, 1), addr += c.k.page_size(), addr != end);
    return nr_pages;
}

// mm/gup.c gup_fast_pmd_range() / gup_fast_pud_range() / gup_fast_p4d_range() / gup_fast_pgd_range(): the
// lockless descent; a level that is not fully pinned ends the walk. Huge leaves (gup_fast_pmd_leaf(),
// gup_fast_pud_leaf()) are not ported: the walk stops there.
unsigned long gup_fast_level_range(Ctx& c, int d, PAddr table, Addr addr, Addr end, unsigned flags,
                                   std::vector<pfn_t>& pages)
{
    const hw::PageTableFormat& fmt = c.k.format();
    unsigned long nr_pages = 0;
    do {
        const PtePtr entry = hw::descriptor_pa(fmt, table, addr, d);
        const std::uint64_t v = entry_get(c, entry);
        const Addr next = level_addr_end(c, d, addr, end);
        const hw::Descriptor desc = fmt.decode(d, v);
        if (v == 0 || desc.type != hw::Descriptor::Type::Table) // !pmd_present() / pud_leaf() / ...
            break;
        const unsigned long chunk = d == leaf_depth(c) - 1
                                        ? gup_fast_pte_range(c, v, entry, addr, next, flags, pages)
                                        : gup_fast_level_range(c, d + 1, desc.oa, addr, next, flags, pages);
        nr_pages += chunk;
        if (chunk != (next - addr) >> c.k.page_shift())
            break;
        addr = next;
    } while (addr != end);
    return nr_pages;
}

// mm/gup.c gup_fast(): a pin backs off when fork() is write-protecting the mm's PTEs (mm->write_protect_seq)
unsigned long gup_fast(Ctx& c, mm_struct& mm, Addr start, Addr end, unsigned gup_flags, std::vector<pfn_t>& pages)
{
    const PAddr seqp = mm.addr + MM_OFF_WRITE_PROTECT_SEQ;
    std::uint64_t seq = 0;
    if (gup_flags & FOLL_PIN) { // raw_seqcount_try_begin(): raw_read_seqcount() is a read and smp_rmb()
        seq = c.cpu.load(seqp, 4, Category::KernelMemory);
        smp_rmb(c);
        if (seq & 1)
            return 0;
    }
    // local_irq_save() / local_irq_restore(): not modelled
    const std::size_t from = pages.size();
    const unsigned long nr_pinned = gup_fast_level_range(c, 0, mm.pgd, start, end, gup_flags, pages);
    // When pinning pages for DMA there could be a concurrent write protect from fork() via
    // copy_page_range(), in this case always fail GUP-fast.
    if (gup_flags & FOLL_PIN) { // read_seqcount_retry()
        smp_rmb(c);
        if (c.cpu.load(seqp, 4, Category::KernelMemory) != seq) {
            gup_fast_unpin_user_pages(c, pages, from);
            return 0;
        }
    }
    return nr_pinned;
}

// ---- the slow path ----

// mm/gup.c check_vma_flags()
int check_vma_flags(const vm_area_struct& vma, unsigned gup_flags)
{
    const vm_flags_t vm_flags = vma.vm_flags;
    if (vm_flags & VM_PFNMAP) // !vma_can_gup()
        return -EFAULT;
    if (gup_flags & FOLL_WRITE) {
        if (!(vm_flags & VM_WRITE)) {
            if (!(gup_flags & FOLL_FORCE))
                return -EFAULT;
            if (!is_cow_mapping(vm_flags))
                return -EFAULT;
        }
    } else if (!(vm_flags & VM_READ)) {
        if (!(gup_flags & FOLL_FORCE))
            return -EFAULT;
        if (!(vm_flags & VM_MAYREAD))
            return -EFAULT;
    }
    return 0; // arch_vma_access_permitted(): no protection keys here
}

// mm/gup.c can_follow_write_common()
bool can_follow_write_common(Ctx& c, std::optional<pfn_t> page, const vm_area_struct& vma, unsigned flags)
{
    // Maybe FOLL_FORCE is set to override it?
    if (!(flags & FOLL_FORCE))
        return false;
    // But FOLL_FORCE has no effect on shared mappings, read-only private ones, or writable ones that just
    // need a write fault.
    if (vma.vm_flags & (VM_MAYSHARE | VM_SHARED))
        return false;
    if (!(vma.vm_flags & VM_MAYWRITE))
        return false;
    if (vma.vm_flags & VM_WRITE)
        return false;
    // We broke COW and could map the page writable if we have an exclusive anonymous page.
    return page && PageAnon(c, *page) && PageAnonExclusive(c, *page);
}

// mm/gup.c can_follow_write_pte() (no userfaultfd)
bool can_follow_write_pte(Ctx& c, pte_t pte, std::optional<pfn_t> page, const vm_area_struct& vma, unsigned flags)
{
    const Arch& a = c.k.arch();
    if (a.pte_write(pte))
        return true;
    if (!can_follow_write_common(c, page, vma, flags))
        return false;
    // ... and a write-fault isn't required for soft-dirty tracking (pte_needs_soft_dirty_wp()).
    return (vma.vm_flags & VM_SOFTDIRTY) || a.pte_soft_dirty(pte);
}

// mm/gup.c follow_one_pte(): the page a present PTE maps, none when the caller must fault (not present, a
// write to a write-protected PTE), -EMLINK when a read-only pin must unshare it first
long follow_one_pte(Ctx& c, vm_area_struct& vma, Addr address, pte_t pte, unsigned flags, std::optional<pfn_t>& pagep)
{
    const Arch& a = c.k.arch();
    pagep.reset();
    if (!a.pte_present(pte))
        return 0;
    std::optional<pfn_t> page = vm_normal_page(c, vma, address, pte);
    // We only care about anon pages in can_follow_write_pte().
    if ((flags & FOLL_WRITE) && !can_follow_write_pte(c, pte, page, vma, flags))
        return 0;
    if (!page) {
        if (!c.k.is_zero_pfn(a.pte_pfn(pte)))
            return -EEXIST; // follow_pfn_pte(): no special mappings other than the zero page in the port
        page = a.pte_pfn(pte);
    }
    if (!a.pte_write(pte) && gup_must_unshare(c, &vma, flags, *page))
        return -EMLINK;
    pagep = page;
    return 0;
}

// mm/gup.c follow_pte_batch(): how many PTEs from ptep map consecutive pages of the large folio with the
// same write bit (FPB_RESPECT_WRITE; young and dirty merged). A read-only run under FOLL_WRITE or FOLL_PIN
// needs the per-page checks, so it stays one page.
unsigned follow_pte_batch(Ctx& c, vm_area_struct& vma, Addr address, Addr walk_end, Folio folio, PtePtr ptep,
                          pte_t* batch_pte, unsigned flags)
{
    if (!folio_test_large(c, folio))
        return 1;
    if (!c.k.arch().pte_write(*batch_pte) && (flags & (FOLL_WRITE | FOLL_PIN)))
        return 1;
    const unsigned max = static_cast<unsigned>((walk_end - address) >> c.k.page_shift());
    if (max <= 1)
        return 1;
    return folio_pte_batch_flags(c, folio, &vma, ptep, batch_pte, max, FPB_RESPECT_WRITE | FPB_MERGE_YOUNG_DIRTY);
}

// mm/page-writeback.c folio_mark_dirty() for an anonymous folio outside the swap cache: folio_mapping() is
// NULL, so only PG_dirty (folio_test_set_dirty())
void folio_mark_dirty(Ctx& c, Folio folio)
{
    folio_mapping_raw(c, folio); // folio_mapping()
    if (!folio_test_flag(c, folio, PG_dirty))
        c.cpu.test_and_set_bit(PG_dirty, page_addr(c, folio.pfn) + PAGE_OFF_FLAGS, kCat);
}

// mm/gup.c follow_page_pte_commit(): the per-folio work of a batch: the grab, FOLL_TOUCH's dirty/accessed
// marking, the pages filled in (gup_fill_pages())
long follow_page_pte_commit(Ctx& c, Folio folio, pfn_t page, pte_t pte, unsigned nr, unsigned flags,
                            std::vector<pfn_t>& pages)
{
    // try_grab_folio() does nothing unless FOLL_GET or FOLL_PIN is set.
    if (const int ret = try_grab_folio(c, folio, static_cast<int>(nr), flags))
        return ret;
    // arch_make_folio_accessible() is a no-op on arm64 and x86.
    if (flags & FOLL_TOUCH) {
        if ((flags & FOLL_WRITE) && !c.k.arch().pte_dirty(pte) && !folio_test_flag(c, folio, PG_dirty))
            folio_mark_dirty(c, folio);
        folio_mark_accessed(c, folio);
    }
    for (unsigned i = 0; i < nr; ++i) // gup_fill_pages()
        pages.push_back(page + i);
    return 0;
}

// mm/gup.c follow_page_pte(): under the PTE lock, from `address` to the end of this page table or of the
// VMA, every present PTE committed, in batches over large folios; stops at the first PTE that needs a fault.
// Returns the pages placed, 0 when the first needs a fault, or -errno (-EMLINK: unshare first).
long follow_page_pte(Ctx& c, vm_area_struct& vma, Addr address, Addr end, PtePtr pmd, unsigned flags,
                     std::vector<pfn_t>& pages)
{
    PtePtr ptep = pte_offset_map(c, pmd, address); // pte_offset_map_lock()
    if (!ptep)
        return 0; // no_page_table() (no FOLL_DUMP)
    const PAddr ptl = pte_lockptr(c, ptep);
    hw::SpinLock(ptl).lock(c.cpu);
    const Addr walk_end = std::min(level_addr_end(c, leaf_depth(c) - 1, address, end), vma.vm_end);
    unsigned long nr = 0;
    long ret = 0;
    for (; address < walk_end; address += c.k.page_size(), ptep = pte_offset(ptep, 1)) {
        c.k.charge_sw(c, c.k.config().software.pte_loop);
        const pte_t pte = ptep_get(c, ptep);
        std::optional<pfn_t> page;
        ret = follow_one_pte(c, vma, address, pte, flags, page);
        if (!ret && page) {
            const Folio folio = page_folio(c, *page);
            pte_t batch_pte = pte;
            const unsigned batch = follow_pte_batch(c, vma, address, walk_end, folio, ptep, &batch_pte, flags);
            ret = follow_page_pte_commit(c, folio, *page, batch_pte, batch, flags, pages);
            if (!ret) {
                nr += batch;
                // The loop's own increment covers one PTE; skip the rest of the batch.
                ptep = pte_offset(ptep, batch - 1);
                address += (batch - 1) * c.k.page_size();
                continue;
            }
        }
        break; // (no_page_table() on a none PTE returns 0 without FOLL_DUMP)
    }
    hw::SpinLock(ptl).unlock(c.cpu);
    if (nr)
        return static_cast<long>(nr);
    return ret;
}

// mm/gup.c follow_page_mask() -> follow_p4d_mask() / follow_pud_mask() / follow_pmd_mask(): the upper levels
// read locklessly (pmd_offset_lookup()), then the PTE table. Huge PMDs/PUDs are not ported.
long follow_page_mask(Ctx& c, vm_area_struct& vma, Addr address, Addr end, unsigned flags, std::vector<pfn_t>& pages)
{
    const PtePtr pmd = pmd_offset_lookup(c, *vma.vm_mm, address);
    if (!pmd)
        return 0; // no_page_table()
    const std::uint64_t pmdval = entry_get(c, pmd); // pmdp_get_lockless()
    if (pmdval == 0)
        return 0;
    if (c.k.format().decode(leaf_depth(c) - 1, pmdval).type != hw::Descriptor::Type::Table)
        throw std::logic_error("follow_page_mask: PMD-mapped huge pages are not ported");
    return follow_page_pte(c, vma, address, end, pmd, flags, pages);
}

// include/linux/mm.h vm_fault_to_errno()
int vm_fault_to_errno(vm_fault_t vm_fault)
{
    if (vm_fault & VM_FAULT_OOM)
        return -ENOMEM;
    if (vm_fault & (VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV))
        return -EFAULT;
    return 0;
}

// mm/gup.c faultin_page(): handle_mm_fault() as a write fault for FOLL_WRITE, an unshare fault when a
// read-only pin found a shared anonymous page
int faultin_page(Ctx& c, vm_area_struct& vma, Addr address, unsigned flags, bool unshare)
{
    if (flags & FOLL_NOFAULT)
        return -EFAULT;
    unsigned fault_flags = 0;
    if (flags & FOLL_WRITE)
        fault_flags |= FAULT_FLAG_WRITE;
    // FOLL_UNLOCKABLE's FAULT_FLAG_ALLOW_RETRY: the port's fault path never drops mmap_lock.
    if (unshare)
        fault_flags |= FAULT_FLAG_UNSHARE; // FAULT_FLAG_WRITE and FAULT_FLAG_UNSHARE are incompatible
    const vm_fault_t ret = handle_mm_fault(c, vma, address, fault_flags);
    if (ret & (VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV)) // VM_FAULT_ERROR
        return vm_fault_to_errno(ret);
    return 0;
}

// mm/gup.c __get_user_pages(): VMA by VMA, follow_page_mask() and, where it finds nothing to follow,
// faultin_page() and again. Returns the pages placed, or -errno if none.
long __get_user_pages(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                      std::vector<pfn_t>& pages)
{
    long ret = 0, i = 0;
    vm_area_struct* vma = nullptr;
    if (!nr_pages)
        return 0;
    do {
        // first iteration or cross vma bound
        if (!vma || start >= vma->vm_end) {
            c.k.charge_sw(c, c.k.config().software.vma_lookup); // gup_vma_lookup()
            vma = mm.vma_at(start);
            if (!vma) {
                ret = -EFAULT;
                break;
            }
            ret = check_vma_flags(*vma, gup_flags);
            if (ret)
                break;
        }
        long nr;
        for (;;) { // retry:
            nr = follow_page_mask(c, *vma, start, start + nr_pages * c.k.page_size(), gup_flags, pages);
            if (nr && nr != -EMLINK)
                break;
            ret = faultin_page(c, *vma, start, gup_flags, nr == -EMLINK);
            if (ret)
                return i ? i : ret;
        }
        if (nr == -EEXIST) {
            // Proper page table entry exists, but no corresponding struct page.
            return i ? i : nr;
        }
        if (nr < 0)
            return i ? i : nr;
        i += nr;
        start += static_cast<Addr>(nr) * c.k.page_size();
        nr_pages -= static_cast<unsigned long>(nr);
    } while (nr_pages);
    return i ? i : ret;
}

// mm/gup.c __get_user_pages_locked() (via __gup_longterm_locked() without FOLL_LONGTERM): takes mmap_lock for
// reading when the caller does not hold it (`locked` false). VM_FAULT_RETRY never happens in the port, so its
// retry loop runs once.
long __get_user_pages_locked(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, std::vector<pfn_t>& pages,
                             unsigned flags, bool locked)
{
    if (!nr_pages)
        return 0;
    // The caller can either hold the mmap_lock or let GUP take it here.
    const bool must_unlock = !locked;
    if (must_unlock)
        mmap_read_lock(c, mm);
    if (flags & FOLL_PIN)
        mm_set_has_pinned_flag(c, mm);
    if (!(flags & FOLL_PIN))
        flags |= FOLL_GET;
    long pages_done = __get_user_pages(c, mm, start, nr_pages, flags, pages);
    if (must_unlock)
        mmap_read_unlock(c, mm);
    // Failing to pin anything implies something has gone wrong (except when FOLL_NOWAIT is specified).
    if (pages_done == 0 && !(flags & FOLL_NOWAIT))
        return -EFAULT;
    return pages_done;
}

// mm/gup.c gup_fast_fallback()
long gup_fast_fallback(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                       std::vector<pfn_t>& pages)
{
    if (gup_flags & ~(FOLL_WRITE | FOLL_FORCE | FOLL_PIN | FOLL_FAST_ONLY | FOLL_NOFAULT)) // (not ported: the rest)
        return -EINVAL;
    if (gup_flags & FOLL_PIN)
        mm_set_has_pinned_flag(c, mm);
    start &= ~(c.k.page_size() - 1);
    const std::uint64_t len = nr_pages << c.k.page_shift();
    const Addr end = start + len;
    if (end < start)
        return -EOVERFLOW;
    if (end - 1 > c.k.format().user_va_last()) // TASK_SIZE_MAX
        return -EFAULT;
    const unsigned long nr_pinned = gup_fast(c, mm, start, end, gup_flags, pages);
    if (nr_pinned == nr_pages || (gup_flags & FOLL_FAST_ONLY))
        return static_cast<long>(nr_pinned);
    // Slow path: try to get the remaining pages with get_user_pages
    start += nr_pinned << c.k.page_shift();
    const long ret = __get_user_pages_locked(c, mm, start, nr_pages - nr_pinned, pages,
                                             gup_flags | FOLL_TOUCH | FOLL_UNLOCKABLE, false);
    if (ret < 0) {
        // The caller has to unpin the pages we already pinned so returning -errno is not an option
        if (nr_pinned)
            return static_cast<long>(nr_pinned);
        return ret;
    }
    return ret + static_cast<long>(nr_pinned);
}

} // namespace

// include/linux/mm.h folio_has_pincount()
bool folio_has_pincount(Ctx& c, Folio folio) { return folio_test_large(c, folio); }

// mm/gup.c try_grab_folio()
int try_grab_folio(Ctx& c, Folio folio, int refs, unsigned flags)
{
    // WARN_ON_ONCE(folio_ref_count(folio) <= 0); the port's boot leaves the zero page's struct page all zero
    // (upstream it holds a reference), so the zero page is let through here
    if (folio_ref_count(c, folio) <= 0 && !is_zero_folio(c, folio))
        return -ENOMEM;
    if (flags & FOLL_GET) {
        folio_ref_add(c, folio, refs);
    } else if (flags & FOLL_PIN) {
        // Don't take a pin on the zero page - it's not going anywhere and it is used in a *lot* of places.
        if (is_zero_folio(c, folio))
            return 0;
        // Increment the normal page refcount field at least once, so that the page really is pinned.
        if (folio_has_pincount(c, folio)) {
            folio_ref_add(c, folio, refs);
            folio_atomic_add_return(c, folio, FOLIO_OFF_PINCOUNT, refs); // atomic_add()
        } else {
            folio_ref_add(c, folio, refs * GUP_PIN_COUNTING_BIAS);
        }
        c.k.stats().pins += static_cast<std::uint64_t>(refs); // node_stat_mod_folio(NR_FOLL_PIN_ACQUIRED)
    }
    return 0;
}

// mm/gup.c gup_put_folio()
void gup_put_folio(Ctx& c, Folio folio, int refs, unsigned flags)
{
    if (flags & FOLL_PIN) {
        if (is_zero_folio(c, folio))
            return;
        c.k.stats().unpins += static_cast<std::uint64_t>(refs); // node_stat_mod_folio(NR_FOLL_PIN_RELEASED)
        if (folio_has_pincount(c, folio))
            folio_atomic_add_return(c, folio, FOLIO_OFF_PINCOUNT, -refs); // atomic_sub()
        else
            refs *= GUP_PIN_COUNTING_BIAS;
    }
    folio_put_refs(c, folio, refs);
}

// mm/gup.c unpin_user_page()
void unpin_user_page(Ctx& c, pfn_t page) { gup_put_folio(c, page_folio(c, page), 1, FOLL_PIN); }

// mm/gup.c unpin_user_pages(): gup_folio_next() finds the run of entries in the same folio
void unpin_user_pages(Ctx& c, const std::vector<pfn_t>& pages)
{
    const std::size_t npages = pages.size();
    for (std::size_t i = 0, nr = 0; i < npages; i += nr) {
        const Folio folio = page_folio(c, pages[i]);
        for (nr = i + 1; nr < npages; ++nr)
            if (page_folio(c, pages[nr]) != folio)
                break;
        nr -= i;
        gup_put_folio(c, folio, static_cast<int>(nr), FOLL_PIN);
    }
}

// mm/gup.c get_user_pages_remote(): is_valid_gup_args() adds FOLL_TOUCH | FOLL_REMOTE (and FOLL_GET: pages
// are wanted); the caller holds the mmap_lock (locked == NULL upstream: "Lock must initially be held")
long get_user_pages_remote(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                           std::vector<pfn_t>& pages)
{
    if (gup_flags & (FOLL_PIN | FOLL_TRIED | FOLL_UNLOCKABLE | FOLL_FAST_ONLY))
        return -EINVAL; // INTERNAL_GUP_FLAGS and FOLL_PIN are not for this caller
    return __get_user_pages_locked(c, mm, start, nr_pages, pages, gup_flags | FOLL_TOUCH | FOLL_REMOTE | FOLL_GET,
                                   true);
}

// mm/gup.c pin_user_pages_fast(): is_valid_gup_args() adds FOLL_PIN; FOLL_GET is not allowed
long pin_user_pages_fast(Ctx& c, mm_struct& mm, Addr start, unsigned long nr_pages, unsigned gup_flags,
                         std::vector<pfn_t>& pages)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "pin_user_pages_fast asid={} start={:#x} nr_pages={} flags={:#x}",
                       mm.asid, start, nr_pages, gup_flags);
    if (gup_flags & (FOLL_GET | FOLL_PIN | FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_UNLOCKABLE))
        return -EINVAL; // INTERNAL_GUP_FLAGS, or FOLL_GET with FOLL_PIN
    return gup_fast_fallback(c, mm, start, nr_pages, gup_flags | FOLL_PIN, pages);
}

} // namespace mmusim::mm
