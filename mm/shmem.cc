// SPDX-License-Identifier: GPL-2.0-only
// Shared anonymous memory: mm/shmem.c and the mm/filemap.c page-cache helpers it uses (see mm/shmem.hh).
#include "mm/phase.hh"
#include "mm/shmem.hh"

#include "hw/core/spinlock.hh"
#include "mm/rmap.hh"
#include "mm/swap.hh"

#include <stdexcept>
#include <vector>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::KernelMemory;

// include/linux/xarray.h xa_mk_node() / xa_is_node() / xa_to_node(): internal entries end in 0b10
constexpr std::uint64_t XA_NODE_TAG = 2;
bool xa_is_node(std::uint64_t e) { return (e & 3) == XA_NODE_TAG && e > 4096; }
PAddr xa_to_node(std::uint64_t e) { return e & ~std::uint64_t{3}; }

// A folio entry is its struct folio pointer (the head's struct page, 64-byte aligned)
std::uint64_t folio_entry(const Ctx& c, Folio f) { return page_addr(c, f.pfn); }
Folio entry_folio(const Ctx& c, std::uint64_t e) { return Folio{(e - c.k.vmemmap()) / kStructPageBytes}; }

PAddr slot_addr(PAddr node, std::uint64_t index, unsigned shift)
{
    return node + XA_NODE_OFF_SLOTS + 8 * ((index >> shift) & (XA_CHUNK_SIZE - 1));
}

// lib/xarray.c xas_load(): the walk from xa_head down to the slot of `index` (rcu_dereference of each)
std::uint64_t xa_load(Ctx& c, shmem_file& f, std::uint64_t index)
{
    std::uint64_t e = c.cpu.load(f.addr + SHMEM_OFF_XA_HEAD, 8, kCat);
    for (int shift = static_cast<int>(f.top_shift); e && shift >= 0; shift -= XA_CHUNK_SHIFT) {
        if (!xa_is_node(e))
            throw std::logic_error("xa_load: a leaf entry above the bottom level");
        e = c.cpu.load(slot_addr(xa_to_node(e), index, static_cast<unsigned>(shift)), 8, kCat);
    }
    return e;
}

// lib/xarray.c xas_create() + xas_store() for one index (xa_lock held): missing nodes allocated
// (xas_alloc(): kmem_cache_alloc of a zeroed node, its shift, offset and parent set), the slot written and
// the node's count kept
void xa_store_one(Ctx& c, shmem_file& f, std::uint64_t index, std::uint64_t entry)
{
    PAddr parent_slot = f.addr + SHMEM_OFF_XA_HEAD;
    PAddr parent = 0;
    for (int shift = static_cast<int>(f.top_shift);; shift -= XA_CHUNK_SHIFT) {
        std::uint64_t e = c.cpu.load(parent_slot, 8, kCat);
        if (!e) {
            if (!entry)
                return; // erasing what is not there
            const PAddr node = c.k.kmalloc(c, XA_NODE_BYTES);
            c.cpu.store(node + XA_NODE_OFF_SHIFT, static_cast<unsigned>(shift), 1, kCat);
            c.cpu.store(node + XA_NODE_OFF_OFFSET, parent ? (index >> (shift + XA_CHUNK_SHIFT)) & (XA_CHUNK_SIZE - 1) : 0,
                        1, kCat);
            c.cpu.store(node + XA_NODE_OFF_PARENT, parent, 8, kCat);
            c.cpu.store(node + XA_NODE_OFF_ARRAY, f.addr + SHMEM_OFF_XA_LOCK, 8, kCat);
            e = node | XA_NODE_TAG;
            c.cpu.store(parent_slot, e, 8, kCat); // rcu_assign_pointer()
            if (parent) // node->count++ of the parent
                c.cpu.store(parent + XA_NODE_OFF_COUNT, c.cpu.load(parent + XA_NODE_OFF_COUNT, 1, kCat) + 1, 1, kCat);
        }
        parent = xa_to_node(e);
        parent_slot = slot_addr(parent, index, static_cast<unsigned>(shift));
        if (shift == 0)
            break;
    }
    const std::uint64_t old = c.cpu.load(parent_slot, 8, kCat);
    c.cpu.store(parent_slot, entry, 8, kCat);
    const int delta = (entry != 0) - (old != 0); // xas_update(): node->count
    if (delta)
        c.cpu.store(parent + XA_NODE_OFF_COUNT, c.cpu.load(parent + XA_NODE_OFF_COUNT, 1, kCat) + delta, 1, kCat);
}

// The cached folios, in index order, each once (the walk of find_lock_entries() over the whole file)
void xa_collect(Ctx& c, std::uint64_t e, unsigned shift, std::uint64_t base, std::vector<std::pair<std::uint64_t, Folio>>& out)
{
    const PAddr node = xa_to_node(e);
    for (unsigned i = 0; i < XA_CHUNK_SIZE; ++i) {
        const std::uint64_t s = c.cpu.load(node + XA_NODE_OFF_SLOTS + 8 * i, 8, kCat);
        if (!s)
            continue;
        const std::uint64_t index = base + (std::uint64_t{i} << shift);
        if (shift) {
            xa_collect(c, s, shift - XA_CHUNK_SHIFT, index, out);
        } else {
            const Folio folio = entry_folio(c, s);
            if (out.empty() || out.back().second != folio)
                out.emplace_back(index, folio);
        }
    }
}

// lib/xarray.c xa_destroy(): the (now empty) nodes freed, leaves first
void xa_destroy(Ctx& c, std::uint64_t e, unsigned shift)
{
    const PAddr node = xa_to_node(e);
    if (shift)
        for (unsigned i = 0; i < XA_CHUNK_SIZE; ++i)
            if (const std::uint64_t s = c.cpu.load(node + XA_NODE_OFF_SLOTS + 8 * i, 8, kCat))
                xa_destroy(c, s, shift - XA_CHUNK_SHIFT);
    c.k.kfree(c, node, XA_NODE_BYTES);
}

void xa_lock(Ctx& c, shmem_file& f) { hw::SpinLock(f.addr + SHMEM_OFF_XA_LOCK).lock(c.cpu); }
void xa_unlock(Ctx& c, shmem_file& f) { hw::SpinLock(f.addr + SHMEM_OFF_XA_LOCK).unlock(c.cpu); }

void add_nrpages(Ctx& c, shmem_file& f, long nr)
{
    const PAddr p = f.addr + SHMEM_OFF_NRPAGES;
    c.cpu.store(p, c.cpu.load(p, 8, kCat) + static_cast<std::uint64_t>(nr), 8, kCat);
}

// mm/shmem.c shmem_add_to_page_cache(): the locked folio takes nr references for the cache, its mapping and
// index, then every index it covers is stored under xa_lock (xas_store() of a multi-index entry upstream)
void shmem_add_to_page_cache(Ctx& c, shmem_file& f, Folio folio, std::uint64_t index, unsigned nr)
{
    folio_ref_add(c, folio, static_cast<int>(nr));
    folio_set_mapping(c, folio, f.addr, index); // folio->mapping = mapping; folio->index = index
    xa_lock(c, f);
    for (unsigned i = 0; i < nr; ++i)
        xa_store_one(c, f, index + i, folio_entry(c, folio));
    add_nrpages(c, f, nr); // mapping->nrpages += nr (NR_FILE_PAGES / NR_SHMEM statistics not modelled)
    xa_unlock(c, f);
}

// mm/filemap.c filemap_remove_folio() -> __filemap_remove_folio() -> page_cache_delete(): the entries
// erased, folio->mapping cleared, nrpages dropped; then the cache's references go (filemap_free_folio())
void filemap_remove_folio(Ctx& c, shmem_file& f, Folio folio, std::uint64_t index, unsigned nr)
{
    xa_lock(c, f);
    for (unsigned i = 0; i < nr; ++i)
        xa_store_one(c, f, index + i, 0);
    folio_set_mapping(c, folio, 0, index);
    add_nrpages(c, f, -static_cast<long>(nr));
    xa_unlock(c, f);
    folio_ref_sub(c, folio, static_cast<int>(nr)); // folio_put_refs(folio, nr): the caller still holds one
}

// The order shmem_alloc_and_add_folio() tries: the VMA's (the huge= policy simplified to "the VMA's mTHP
// order") when thp_vma_suitable_order() holds (the aligned range inside the VMA, vm_pgoff congruent with
// vm_start) and the aligned index range lies inside i_size with nothing cached in it (shmem_suitable_orders()'s
// xa_find()); else 0
unsigned shmem_suitable_order(Ctx& c, shmem_file& f, const vm_fault& vmf, std::uint64_t index)
{
    const vm_area_struct& vma = *vmf.vma;
    const unsigned order = vma.folio_order;
    if (!order)
        return 0;
    const std::uint64_t nr = std::uint64_t{1} << order;
    const std::uint64_t size = c.k.page_size() << order;
    const Addr haddr = vmf.address & ~(size - 1);
    if (((vma.vm_start >> c.k.page_shift()) - vma.vm_pgoff) % nr)
        return 0;
    if (haddr < vma.vm_start || haddr + size > vma.vm_end)
        return 0;
    const std::uint64_t aligned = index & ~(nr - 1);
    if (aligned + nr > f.nr_pages)
        return 0;
    for (std::uint64_t i = aligned; i < aligned + nr; ++i)
        if (xa_load(c, f, i))
            return 0;
    return order;
}

// mm/shmem.c shmem_alloc_and_add_folio(): shmem_alloc_folio(), __folio_set_locked(), __folio_set_swapbacked(),
// shmem_add_to_page_cache() at the order-aligned index, folio_add_lru(). OOM of a large folio falls back to
// order 0 (the caller's retry upstream).
Folio shmem_alloc_and_add_folio(Ctx& c, shmem_file& f, const vm_fault& vmf, std::uint64_t index)
{
    unsigned order = shmem_suitable_order(c, f, vmf, index);
    Folio folio{};
    for (;;) {
        try {
            folio = c.k.page_alloc().folio_alloc(c, order);
            break;
        } catch (const OutOfMemory&) {
            if (!order)
                throw;
            order = 0; // count_mthp_stat(order, MTHP_STAT_SHMEM_FALLBACK)
        }
    }
    const unsigned nr = 1u << order;
    __folio_set_flag(c, folio, PG_locked);
    __folio_set_flag(c, folio, PG_swapbacked);
    shmem_add_to_page_cache(c, f, folio, index & ~std::uint64_t{nr - 1}, nr);
    folio_add_lru(c, folio);
    return folio;
}

// mm/shmem.c shmem_get_folio_gfp() with SGP_CACHE (no swap, no userfaultfd): a locked folio with a reference,
// or nullopt beyond i_size (-EINVAL, SIGBUS for the fault)
std::optional<Folio> shmem_get_folio_gfp(Ctx& c, shmem_file& f, std::uint64_t index, const vm_fault& vmf)
{
    for (;;) { // repeat:
        const std::uint64_t i_size = c.cpu.load(f.addr + SHMEM_OFF_I_SIZE, 8, kCat);
        if ((index << c.k.page_shift()) >= i_size)
            return std::nullopt;
        // mm/filemap.c filemap_get_entry(): the entry, then folio_try_get() and the re-check of the slot
        if (const std::uint64_t e = xa_load(c, f, index)) {
            const Folio folio = entry_folio(c, e);
            if (!folio_try_get(c, folio) || xa_load(c, f, index) != e)
                continue;
            folio_lock(c, folio);
            // Has the folio been truncated or swapped out?
            if (folio_mapping_raw(c, folio) != f.addr) {
                folio_unlock(c, folio);
                folio_put(c, folio);
                continue;
            }
            if (folio_test_flag(c, folio, PG_uptodate))
                return folio;
            // (a fallocated folio: not ported, every cached folio is uptodate)
            throw std::logic_error("shmem_get_folio_gfp: a cached folio not uptodate");
        }
        const Folio folio = shmem_alloc_and_add_folio(c, f, vmf, index);
        // clear: every page zeroed (clear_highpage()), then folio_mark_uptodate() (smp_wmb() first)
        const unsigned long nr = folio_nr_pages(c, folio);
        c.cpu.clear_page(folio_pfn(folio) << c.k.page_shift(), c.k.page_size() * nr, Category::ClearPage);
        __folio_mark_uptodate(c, folio);
        ++c.k.stats().shmem_fault_alloc[folio_order(c, folio)]; // count_mthp_stat(MTHP_STAT_SHMEM_ALLOC)
        return folio;
    }
}

// mm/shmem.c shmem_undo_range() over the whole file (shmem_truncate_range(inode, 0, -1)): every cached folio
// looked up and locked (find_lock_entries()), removed from the cache (truncate_inode_folio()), unlocked and
// released (folio_batch_release()); the last reference frees it. No VMA maps the file any more, so no folio
// is mapped (unmap_mapping_folio() has nothing to do).
void shmem_undo_range(Ctx& c, shmem_file& f)
{
    const std::uint64_t head = c.cpu.load(f.addr + SHMEM_OFF_XA_HEAD, 8, kCat);
    if (!head)
        return;
    std::vector<std::pair<std::uint64_t, Folio>> folios;
    xa_collect(c, head, f.top_shift, 0, folios);
    for (const auto& [index, folio] : folios) {
        if (!folio_try_get(c, folio))
            continue;
        if (!folio_trylock(c, folio))
            throw std::logic_error("shmem_undo_range: a cached folio is locked");
        if (folio_mapped(c, folio))
            throw std::logic_error("shmem_undo_range: a folio is still mapped at eviction");
        filemap_remove_folio(c, f, folio, index, static_cast<unsigned>(folio_nr_pages(c, folio)));
        folio_unlock(c, folio);
        folio_put(c, folio);
    }
    xa_destroy(c, head, f.top_shift);
    c.cpu.store(f.addr + SHMEM_OFF_XA_HEAD, 0, 8, kCat);
}

} // namespace

// mm/shmem.c shmem_zero_setup() -> shmem_kernel_file_setup() -> __shmem_file_setup(): the inode and file
// (one kmalloc'ed object here), i_size set; the xarray's height fixed from i_size
std::shared_ptr<shmem_file> shmem_zero_setup(Ctx& c, std::uint64_t size)
{
    const PhaseScope phase(c, "shmem_zero_setup");
    auto f = std::make_shared<shmem_file>();
    f->addr = c.k.kmalloc(c, SHMEM_FILE_BYTES);
    f->nr_pages = size >> c.k.page_shift();
    c.cpu.store(f->addr + SHMEM_OFF_I_SIZE, size, 8, kCat); // i_size_write()
    unsigned shift = 0;
    while (shift + XA_CHUNK_SHIFT < 64 && (f->nr_pages - 1) >> (shift + XA_CHUNK_SHIFT))
        shift += XA_CHUNK_SHIFT;
    f->top_shift = shift;
    return f;
}

void get_file(Ctx& c, shmem_file& f) { c.cpu.fetch_add(f.addr + SHMEM_OFF_F_COUNT, 1, 8, kCat); }

// fs/file_table.c fput() -> __fput() -> dput() -> iput() -> evict() -> shmem_evict_inode(): the page cache
// truncated (shmem_truncate_range()), then the inode and file freed
void fput(Ctx& c, const std::shared_ptr<shmem_file>& f)
{
    const std::uint64_t old = c.cpu.fetch_sub(f->addr + SHMEM_OFF_F_COUNT, 1, 8, kCat);
    if (old != 1)
        return;
    const PhaseScope phase(c, "shmem_evict_inode");
    shmem_undo_range(c, *f);
    c.k.kfree(c, f->addr, SHMEM_FILE_BYTES);
    f->addr = 0;
}

// mm/shmem.c shmem_fault()
vm_fault_t shmem_fault(Ctx& c, vm_fault& vmf)
{
    const PhaseScope phase(c, "shmem_fault");
    shmem_file& f = *vmf.vma->vm_file;
    std::optional<Folio> folio;
    try {
        folio = shmem_get_folio_gfp(c, f, vmf.pgoff, vmf);
    } catch (const OutOfMemory&) {
        return VM_FAULT_OOM; // vmf_error(-ENOMEM)
    }
    if (!folio)
        return VM_FAULT_SIGBUS; // vmf_error(-EINVAL)
    // folio_file_page(): the page of the folio at vmf->pgoff
    const std::uint64_t findex = c.cpu.load(page_addr(c, folio->pfn) + PAGE_OFF_INDEX, 8, Category::StructPage);
    vmf.page = folio_page(*folio, vmf.pgoff - findex);
    return VM_FAULT_LOCKED;
}

std::optional<Folio> shmem_lookup(Ctx& c, shmem_file& f, std::uint64_t index)
{
    const std::uint64_t e = xa_load(c, f, index);
    if (!e)
        return std::nullopt;
    return entry_folio(c, e);
}

std::uint64_t shmem_nrpages(Ctx& c, shmem_file& f) { return c.cpu.load(f.addr + SHMEM_OFF_NRPAGES, 8, kCat); }

MmCounter mm_counter_file(Ctx& c, Folio folio)
{
    return folio_test_flag(c, folio, PG_swapbacked) ? MM_SHMEMPAGES : MM_FILEPAGES;
}

} // namespace mmusim::mm
