// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/rmap.hh"

#include "mm/debug_vm.hh"
#include "mm/gup.hh"

#include "hw/core/spinlock.hh"
#include "mm/huge_memory.hh"
#include "mm/internal.hh"
#include "mm/leafops.hh"
#include "mm/memory.hh"
#include "mm/page_vma_mapped.hh"
#include "mm/pgtable.hh"
#include "mm/swapfile.hh"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace mmusim::mm {

using hw::Category;

namespace {

constexpr Category kCat = Category::StructPage;
constexpr std::uint64_t LOCK_BIT = std::uint64_t{1} << FOLIO_MM_IDS_LOCK_BITNUM;
constexpr std::uint64_t SHARED_BIT = std::uint64_t{1} << FOLIO_MM_IDS_SHARED_BITNUM;

PAddr mm_ids_addr(const Ctx& c, Folio f) { return page_addr(c, f.pfn) + FOLIO_OFF_MM_IDS; }
PAddr mm_id_mapcount_addr(const Ctx& c, Folio f, int idx) { return page_addr(c, f.pfn) + FOLIO_OFF_MM_ID_MAPCOUNT + 4 * idx; }

std::uint64_t load_mm_ids(Ctx& c, Folio f) { return c.cpu.load(mm_ids_addr(c, f), 8, kCat); }
void store_mm_ids(Ctx& c, Folio f, std::uint64_t v) { c.cpu.store(mm_ids_addr(c, f), v, 8, kCat); }
unsigned mm_id_of(std::uint64_t ids, int idx) { return static_cast<unsigned>((ids >> (32 * idx)) & MM_ID_MASK); }
// include/linux/rmap.h folio_set_mm_id()
std::uint64_t with_mm_id(std::uint64_t ids, int idx, unsigned id)
{
    const unsigned shift = 32u * static_cast<unsigned>(idx);
    return (ids & ~(MM_ID_MASK << shift)) | (std::uint64_t{id} << shift);
}
int load_slot(Ctx& c, Folio f, int idx)
{
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(c.cpu.load(mm_id_mapcount_addr(c, f, idx), 4, kCat)));
}
void store_slot(Ctx& c, Folio f, int idx, int v)
{
    c.cpu.store(mm_id_mapcount_addr(c, f, idx), static_cast<std::uint32_t>(v), 4, kCat);
}

// mm/rmap.c __folio_set_anon(): WRITE_ONCE(folio->mapping, anon_vma | PAGE_MAPPING_ANON) and folio->index =
// linear_page_index(vma, address). If the folio isn't exclusive to this vma, we must use the _oldest_
// possible anon_vma for the folio mapping.
void __folio_set_anon(Ctx& c, Folio folio, vm_area_struct& vma, Addr address, bool exclusive)
{
    const anon_vma* av = exclusive ? vma.anon : vma.anon->root;
    folio_set_mapping(c, folio, av->addr | PAGE_MAPPING_ANON, linear_page_index(c, vma, address));
}

// mm/rmap.c __folio_add_rmap() at PTE level with CONFIG_NO_PAGE_MAPCOUNT. Returns the pages that became
// mapped (the NR_ANON_MAPPED delta, whose statistic is not modelled).
int __folio_add_rmap(Ctx& c, Folio folio, int nr_pages, vm_area_struct& vma)
{
    if (!folio_test_large(c, folio))
        return folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, 1) == 0; // atomic_inc_and_test()
    const int nr = folio_add_return_large_mapcount(c, folio, nr_pages, vma);
    return nr == nr_pages ? static_cast<int>(folio_nr_pages(c, folio)) : 0; // was completely unmapped
}

} // namespace

// include/linux/rmap.h folio_lock_large_mapcount(): bit_spin_lock(FOLIO_MM_IDS_LOCK_BITNUM, &folio->_mm_ids)
void folio_lock_large_mapcount(Ctx& c, Folio folio)
{
    const PAddr pa = mm_ids_addr(c, folio);
    while (c.cpu.test_and_set_bit(FOLIO_MM_IDS_LOCK_BITNUM, pa, kCat)) {
        do {
            c.cpu.spin_pause(Category::Lock);
        } while (c.cpu.load(pa, 8, kCat) & LOCK_BIT);
    }
}

// include/linux/rmap.h folio_unlock_large_mapcount(): __bit_spin_unlock(), a release store of the word
void folio_unlock_large_mapcount(Ctx& c, Folio folio)
{
    const std::uint64_t ids = load_mm_ids(c, folio);
    store_mm_ids(c, folio, ids & ~LOCK_BIT);
}

// include/linux/rmap.h folio_mm_id()
unsigned folio_mm_id(Ctx& c, Folio folio, int idx) { return mm_id_of(load_mm_ids(c, folio), idx); }

bool folio_mm_ids_shared(Ctx& c, Folio folio) { return load_mm_ids(c, folio) & SHARED_BIT; }

// include/linux/rmap.h folio_set_large_mapcount() (CONFIG_MM_ID): a new folio, all of it in this MM's slot 0
void folio_set_large_mapcount(Ctx& c, Folio folio, int mapcount, vm_area_struct& vma)
{
    // Note: mapcounts start at -1.
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, mapcount - 1);
    store_slot(c, folio, 0, mapcount - 1);
    store_mm_ids(c, folio, with_mm_id(load_mm_ids(c, folio), 0, vma.vm_mm->mm_id));
}

// include/linux/rmap.h folio_add_return_large_mapcount() (CONFIG_MM_ID, 64-bit)
int folio_add_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma)
{
    const unsigned mm_id = vma.vm_mm->mm_id;
    folio_lock_large_mapcount(c, folio);
    const int new_mapcount_val = folio_atomic_read(c, folio, FOLIO_OFF_LARGE_MAPCOUNT) + diff;
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, new_mapcount_val);

    std::uint64_t ids = load_mm_ids(c, folio);
    if (mm_id_of(ids, 0) == mm_id) {
        store_slot(c, folio, 0, load_slot(c, folio, 0) + diff);
    } else if (mm_id_of(ids, 1) == mm_id) {
        store_slot(c, folio, 1, load_slot(c, folio, 1) + diff);
    } else if (mm_id_of(ids, 0) == MM_ID_DUMMY) {
        ids = with_mm_id(ids, 0, mm_id);
        store_slot(c, folio, 0, diff - 1);
        // We might have other mappings already.
        if (new_mapcount_val != diff - 1)
            ids |= SHARED_BIT;
        store_mm_ids(c, folio, ids);
    } else if (mm_id_of(ids, 1) == MM_ID_DUMMY) {
        ids = with_mm_id(ids, 1, mm_id);
        store_slot(c, folio, 1, diff - 1);
        // Slot 0 certainly has mappings as well.
        ids |= SHARED_BIT;
        store_mm_ids(c, folio, ids);
    }
    folio_unlock_large_mapcount(c, folio);
    return new_mapcount_val + 1;
}

// include/linux/rmap.h folio_sub_return_large_mapcount() (CONFIG_MM_ID)
int folio_sub_return_large_mapcount(Ctx& c, Folio folio, int diff, vm_area_struct& vma)
{
    const unsigned mm_id = vma.vm_mm->mm_id;
    folio_lock_large_mapcount(c, folio);
    const int new_mapcount_val = folio_atomic_read(c, folio, FOLIO_OFF_LARGE_MAPCOUNT) - diff;
    folio_atomic_set(c, folio, FOLIO_OFF_LARGE_MAPCOUNT, new_mapcount_val);

    // There are valid corner cases where we might underflow a per-MM mapcount, so we always set it to -1
    // once we go negative.
    std::uint64_t ids = load_mm_ids(c, folio);
    bool out = false;
    for (int idx = 0; idx < 2; ++idx) {
        if (mm_id_of(ids, idx) != mm_id)
            continue;
        const int v = load_slot(c, folio, idx) - diff;
        if (v >= 0) {
            store_slot(c, folio, idx, v);
            out = true;
        } else {
            store_slot(c, folio, idx, -1);
            ids = with_mm_id(ids, idx, MM_ID_DUMMY);
            store_mm_ids(c, folio, ids);
        }
        break;
    }
    // If one MM slot owns all mappings, the folio is mapped exclusively.
    if (!out && (load_slot(c, folio, 0) == new_mapcount_val || load_slot(c, folio, 1) == new_mapcount_val)) {
        ids &= ~SHARED_BIT;
        store_mm_ids(c, folio, ids);
    }
    folio_unlock_large_mapcount(c, folio);
    return new_mapcount_val + 1;
}

// ---- anon_vma and anon_vma_chain (mm/rmap.c) ----

namespace {

constexpr Category kAv = Category::KernelMemory;
// kernel/locking/rwsem.c: a reader adds RWSEM_READER_BIAS, a writer swaps 0 for RWSEM_WRITER_LOCKED
constexpr std::uint64_t RWSEM_WRITER_LOCKED = 1, RWSEM_READER_BIAS = 256;

PAddr root_rwsem(const anon_vma& av) { return av.root->addr + ANON_VMA_OFF_RWSEM; }

// include/linux/rmap.h anon_vma_lock_write(): down_write(&anon_vma->root->rwsem), the fast path spun on
void anon_vma_lock_write(Ctx& c, anon_vma& av)
{
    c.cpu.load(av.addr + ANON_VMA_OFF_ROOT, 8, kAv); // anon_vma->root
    const PAddr sem = root_rwsem(av);
    while (c.cpu.cmpxchg(sem, 0, RWSEM_WRITER_LOCKED, 8, Category::Lock) != 0)
        c.cpu.spin_pause(Category::Lock);
}
// include/linux/rmap.h anon_vma_unlock_write(): up_write()
void anon_vma_unlock_write(Ctx& c, anon_vma& av) { c.cpu.fetch_sub(root_rwsem(av), RWSEM_WRITER_LOCKED, 8, Category::Lock); }

// A counter field of the simulated anon_vma, kept in step with its host copy.
void av_store(Ctx& c, const anon_vma& av, unsigned off, std::uint64_t v) { c.cpu.store(av.addr + off, v, 8, kAv); }

// mm/rmap.c anon_vma_alloc(): refcount 1, its own root (the parent link of a root is itself)
std::shared_ptr<anon_vma> anon_vma_alloc(Ctx& c)
{
    auto av = std::make_shared<anon_vma>();
    av->addr = c.k.kmalloc(c, ANON_VMA_BYTES);
    av->root = av.get();
    c.cpu.store(av->addr + ANON_VMA_OFF_REFCOUNT, 1, 4, kAv); // atomic_set(&anon_vma->refcount, 1)
    av_store(c, *av, ANON_VMA_OFF_NUM_CHILDREN, 0);
    av_store(c, *av, ANON_VMA_OFF_NUM_ACTIVE_VMAS, 0);
    av_store(c, *av, ANON_VMA_OFF_ROOT, av->addr);   // anon_vma->root = anon_vma
    av_store(c, *av, ANON_VMA_OFF_PARENT, av->addr); // anon_vma->parent = anon_vma
    return av;
}

// mm/rmap.c anon_vma_free(): the rwsem_is_locked() check against folio_lock_anon_vma_read(), then the free
void anon_vma_free(Ctx& c, anon_vma& av)
{
    if (c.cpu.load(root_rwsem(av), 8, Category::Lock)) { // rwsem_is_locked(&anon_vma->root->rwsem)
        anon_vma_lock_write(c, av);
        anon_vma_unlock_write(c, av);
    }
    c.k.kfree(c, av.addr, ANON_VMA_BYTES);
}

// include/linux/rmap.h get_anon_vma()
void get_anon_vma(Ctx& c, anon_vma& av) { c.cpu.fetch_add(av.addr + ANON_VMA_OFF_REFCOUNT, 1, 4, kAv); }

// include/linux/rmap.h put_anon_vma() -> mm/rmap.c __put_anon_vma(): the last reference frees it, and a
// child's free drops its reference on the root. (The host object goes with the last shared_ptr.)
void put_anon_vma(Ctx& c, anon_vma& av)
{
    if (c.cpu.fetch_sub(av.addr + ANON_VMA_OFF_REFCOUNT, 1, 4, kAv) != 1) // atomic_dec_and_test()
        return;
    anon_vma* root = av.root;
    anon_vma_free(c, av);
    if (root != &av && c.cpu.fetch_sub(root->addr + ANON_VMA_OFF_REFCOUNT, 1, 4, kAv) == 1)
        anon_vma_free(c, *root);
}

// mm/rmap.c anon_vma_chain_alloc()
std::unique_ptr<anon_vma_chain> anon_vma_chain_alloc(Ctx& c)
{
    auto avc = std::make_unique<anon_vma_chain>();
    avc->addr = c.k.kmalloc(c, AVC_BYTES);
    return avc;
}

// mm/rmap.c anon_vma_chain_free()
void anon_vma_chain_free(Ctx& c, std::unique_ptr<anon_vma_chain> avc) { c.k.kfree(c, avc->addr, AVC_BYTES); }

// mm/rmap.c anon_vma_chain_assign(): avc->vma, avc->anon_vma, list_add() at the head of vma->anon_vma_chain
anon_vma_chain& anon_vma_chain_assign(Ctx& c, vm_area_struct& vma, std::unique_ptr<anon_vma_chain> avc,
                                      std::shared_ptr<anon_vma> av)
{
    c.cpu.store(avc->addr + AVC_OFF_VMA, vma.addr, 8, kAv);
    c.cpu.store(avc->addr + AVC_OFF_ANON_VMA, av->addr, 8, kAv);
    c.cpu.store(avc->addr + AVC_OFF_SAME_VMA, vma.addr + VMA_OFF_ANON_VMA_CHAIN, 8, kAv); // list_add()
    c.cpu.store(vma.addr + VMA_OFF_ANON_VMA_CHAIN, avc->addr + AVC_OFF_SAME_VMA, 8, kAv);
    avc->vma = &vma;
    avc->av = std::move(av);
    auto& list = vma.anon_vma_chain.list;
    list.insert(list.begin(), std::move(avc));
    return *list.front();
}

// The rb-tree descent of an interval-tree insert or erase (host-side here) is charged one software.vma_lookup
// (an estimate, like the maple-tree steps) plus the stores to the avc's own rb node and subtree bound.
void charge_interval_tree_update(Ctx& c, const anon_vma_chain& avc)
{
    c.k.charge_sw(c, c.k.config().software.vma_lookup);
    c.cpu.store(avc.addr + AVC_OFF_RB, 0, 8, kAv);
    c.cpu.store(avc.addr + AVC_OFF_RB_SUBTREE_LAST, 0, 8, kAv);
}

// mm/interval_tree.c anon_vma_interval_tree_insert(): filed under vma->vm_pgoff
void anon_vma_interval_tree_insert(Ctx& c, anon_vma_chain& avc)
{
    c.cpu.load(avc.vma->addr + VMA_OFF_PGOFF, 8, kAv); // avc_start_pgoff()
    avc.tree_key = avc.vma->vm_pgoff;
    avc.av->rb_root.emplace(avc.tree_key, &avc);
    charge_interval_tree_update(c, avc);
}

// mm/interval_tree.c anon_vma_interval_tree_remove()
void anon_vma_interval_tree_remove(Ctx& c, anon_vma_chain& avc)
{
    auto [lo, hi] = avc.av->rb_root.equal_range(avc.tree_key);
    for (auto it = lo; it != hi; ++it)
        if (it->second == &avc) {
            avc.av->rb_root.erase(it);
            break;
        }
    charge_interval_tree_update(c, avc);
}

void set_num_children(Ctx& c, anon_vma& av, unsigned long v)
{
    av.num_children = v;
    av_store(c, av, ANON_VMA_OFF_NUM_CHILDREN, v);
}
void set_num_active_vmas(Ctx& c, anon_vma& av, unsigned long v)
{
    av.num_active_vmas = v;
    av_store(c, av, ANON_VMA_OFF_NUM_ACTIVE_VMAS, v);
}

// vma->anon_vma = anon_vma
void set_vma_anon_vma(Ctx& c, vm_area_struct& vma, anon_vma* av)
{
    vma.anon = av;
    c.cpu.store(vma.addr + VMA_OFF_ANON_VMA, av ? av->addr : 0, 8, kAv);
}

std::shared_ptr<anon_vma> shared_of(const vm_area_struct& vma, const anon_vma* av)
{
    for (const auto& avc : vma.anon_vma_chain.list)
        if (avc->av.get() == av)
            return avc->av;
    throw std::logic_error("anon_vma: the VMA's anon_vma is not on its chain");
}

// mm/rmap.c maybe_reuse_anon_vma(): on fork, an anon_vma no VMA uses any more with at most one child
void maybe_reuse_anon_vma(Ctx& c, vm_area_struct& dst, anon_vma& av)
{
    if (dst.anon)
        return;
    c.cpu.load(av.addr + ANON_VMA_OFF_NUM_ACTIVE_VMAS, 8, kAv);
    if (av.num_active_vmas > 0)
        return;
    c.cpu.load(av.addr + ANON_VMA_OFF_NUM_CHILDREN, 8, kAv);
    if (av.num_children > 1)
        return;
    set_vma_anon_vma(c, dst, &av);
    set_num_active_vmas(c, av, av.num_active_vmas + 1);
}

} // namespace

// mm/rmap.c __anon_vma_prepare() (find_mergeable_anon_vma() is not ported: a new anon_vma every time)
void anon_vma_prepare(Ctx& c, vm_area_struct& vma)
{
    if (vma.anon) // anon_vma_prepare()'s inline test (the fault path's VMA fields are not charged in the port)
        return;
    auto avc = anon_vma_chain_alloc(c);
    std::shared_ptr<anon_vma> av = anon_vma_alloc(c);
    set_num_children(c, *av, av->num_children + 1); // self-parent link for new root
    anon_vma_lock_write(c, *av);
    // page_table_lock to protect against threads
    hw::SpinLock lock(vma.vm_mm->page_table_lock());
    lock.lock(c.cpu);
    set_vma_anon_vma(c, vma, av.get());
    anon_vma_chain& a = anon_vma_chain_assign(c, vma, std::move(avc), av);
    anon_vma_interval_tree_insert(c, a);
    set_num_active_vmas(c, *av, av->num_active_vmas + 1);
    lock.unlock(c.cpu);
    anon_vma_unlock_write(c, *av);
}

// mm/rmap.c anon_vma_clone(): a chain in dst to every anon_vma src's chain links to
int anon_vma_clone(Ctx& c, vm_area_struct& dst, vm_area_struct& src, vma_operation operation)
{
    if (!dst.anon_vma_chain.list.empty())
        throw std::logic_error("anon_vma_clone: the destination already has a chain");
    anon_vma* active_anon_vma = src.anon;
    if (!active_anon_vma)
        return 0;
    // Allocate AVCs, oldest first so that dst's list ends up in src's order (list_add() of each).
    const auto& src_list = src.anon_vma_chain.list;
    for (auto it = src_list.rbegin(); it != src_list.rend(); ++it) {
        c.cpu.load((*it)->addr + AVC_OFF_ANON_VMA, 8, kAv); // pavc->anon_vma
        anon_vma_chain_assign(c, dst, anon_vma_chain_alloc(c), (*it)->av);
    }
    // Now link the anon_vma's back to the newly inserted AVCs. Note that all anon_vma's share the same root.
    anon_vma_lock_write(c, *active_anon_vma);
    auto& dst_list = dst.anon_vma_chain.list;
    for (auto it = dst_list.rbegin(); it != dst_list.rend(); ++it) { // list_for_each_entry_reverse()
        anon_vma_interval_tree_insert(c, **it);
        if (operation == vma_operation::VMA_OP_FORK)
            maybe_reuse_anon_vma(c, dst, *(*it)->av);
    }
    if (operation != vma_operation::VMA_OP_FORK)
        set_num_active_vmas(c, *dst.anon, dst.anon->num_active_vmas + 1);
    anon_vma_unlock_write(c, *active_anon_vma);
    return 0;
}

// mm/rmap.c anon_vma_fork(): attach vma to its own anon_vma, as well as to the anon_vmas that the
// corresponding VMA in the parent process is attached to.
int anon_vma_fork(Ctx& c, vm_area_struct& vma, vm_area_struct& pvma)
{
    // Don't bother if the parent process has no anon_vma here.
    if (!pvma.anon)
        return 0;
    // Drop inherited anon_vma, we'll reuse existing or allocate new.
    set_vma_anon_vma(c, vma, nullptr);
    std::shared_ptr<anon_vma> av = anon_vma_alloc(c);
    auto avc = anon_vma_chain_alloc(c);
    // First, attach the new VMA to the parent VMA's anon_vmas, so rmap can find non-COWed pages in child
    // processes.
    const int rc = anon_vma_clone(c, vma, pvma, vma_operation::VMA_OP_FORK);
    // An error arose or an existing anon_vma was reused, all done then.
    if (rc || vma.anon) {
        put_anon_vma(c, *av);
        anon_vma_chain_free(c, std::move(avc));
        return rc;
    }
    // OK no reuse, so add our own anon_vma.
    set_num_active_vmas(c, *av, 1);
    // The root anon_vma's rwsem is the lock actually used when we lock any of the anon_vmas in this tree.
    anon_vma& pav = *pvma.anon;
    c.cpu.load(pav.addr + ANON_VMA_OFF_ROOT, 8, kAv);
    av->root = pav.root;
    av->root_ref = pav.root == &pav ? shared_of(pvma, &pav) : pav.root_ref;
    av->parent = shared_of(pvma, &pav);
    av_store(c, *av, ANON_VMA_OFF_ROOT, av->root->addr);
    av_store(c, *av, ANON_VMA_OFF_PARENT, pav.addr);
    // The root anon_vma needs to be pinned until this anon_vma is freed, because the lock lives in the root.
    get_anon_vma(c, *av->root);
    // Mark this anon_vma as the one where our new (COWed) pages go.
    set_vma_anon_vma(c, vma, av.get());
    anon_vma_chain& a = anon_vma_chain_assign(c, vma, std::move(avc), av);
    // Now let rmap see it.
    anon_vma_lock_write(c, *av);
    anon_vma_interval_tree_insert(c, a);
    set_num_children(c, pav, pav.num_children + 1); // anon_vma->parent->num_children++
    anon_vma_unlock_write(c, *av);
    return 0;
}

// mm/rmap.c unlink_anon_vmas(): remove all links between a VMA and anon_vma's, freeing the anon_vma_chain
// objects; an anon_vma no VMA references any more is put.
void unlink_anon_vmas(Ctx& c, vm_area_struct& vma)
{
    anon_vma* active_anon_vma = vma.anon;
    // Unfaulted is a no-op.
    if (!active_anon_vma)
        return;
    anon_vma_lock_write(c, *active_anon_vma);
    // Unlink each anon_vma chained to the VMA. This list is ordered from newest to oldest, ensuring the root
    // anon_vma gets freed last.
    auto& list = vma.anon_vma_chain.list;
    std::vector<std::unique_ptr<anon_vma_chain>> empty; // leave empty anon_vmas on the list
    for (auto& avc : list) {
        c.cpu.load(avc->addr + AVC_OFF_ANON_VMA, 8, kAv);
        anon_vma& av = *avc->av;
        anon_vma_interval_tree_remove(c, *avc);
        // Leave empty anon_vmas on the list - we'll need to free them outside the lock.
        if (av.rb_root.empty()) {
            anon_vma& parent = av.parent ? *av.parent : av;
            set_num_children(c, parent, parent.num_children - 1); // anon_vma->parent->num_children--
            empty.push_back(std::move(avc));
            continue;
        }
        anon_vma_chain_free(c, std::move(avc));
    }
    list.clear();
    set_num_active_vmas(c, *active_anon_vma, active_anon_vma->num_active_vmas - 1);
    // vma would still be needed after unlink, and anon_vma will be prepared when handle fault.
    set_vma_anon_vma(c, vma, nullptr);
    // The lock word lives in the root, which the list's last (oldest) entry keeps alive until the end.
    anon_vma_unlock_write(c, *active_anon_vma);
    // Iterate the list once more, it now only contains empty and unlinked anon_vmas, destroy them.
    for (auto& avc : empty) {
        put_anon_vma(c, *avc->av);
        anon_vma_chain_free(c, std::move(avc));
    }
}

// mm/vma.c anon_vma_interval_tree_pre_update_vma() under vma_prepare()'s anon_vma_lock_write()
void anon_vma_interval_tree_pre_update_vma(Ctx& c, vm_area_struct& vma)
{
    if (!vma.anon)
        return;
    anon_vma_lock_write(c, *vma.anon);
    for (auto& avc : vma.anon_vma_chain.list)
        anon_vma_interval_tree_remove(c, *avc);
}

// mm/vma.c anon_vma_interval_tree_post_update_vma(), then vma_complete()'s anon_vma_unlock_write()
void anon_vma_interval_tree_post_update_vma(Ctx& c, vm_area_struct& vma)
{
    if (!vma.anon)
        return;
    for (auto& avc : vma.anon_vma_chain.list)
        anon_vma_interval_tree_insert(c, *avc);
    anon_vma_unlock_write(c, *vma.anon);
}

// mm/rmap.c folio_add_new_anon_rmap()
void folio_add_new_anon_rmap(Ctx& c, Folio folio, vm_area_struct& vma, Addr address, rmap_t flags, pgtable_level level)
{
    const PhaseScope phase(c, "folio_add_new_anon_rmap");
    const bool exclusive = flags & RMAP_EXCLUSIVE;
    if (!folio_test_flag(c, folio, PG_swapbacked))
        __folio_set_flag(c, folio, PG_swapbacked); // __folio_set_swapbacked() (no VM_DROPPABLE here)
    __folio_set_anon(c, folio, vma, address, exclusive);

    if (!folio_test_large(c, folio)) {
        folio_atomic_set(c, folio, PAGE_OFF_MAPCOUNT, 0); // increment count (starts at -1)
        if (exclusive)
            SetPageAnonExclusive(c, folio.pfn);
    } else if (level == pgtable_level::PTE) { // !folio_test_pmd_mappable() upstream
        const int nr = static_cast<int>(folio_nr_pages(c, folio));
        for (int i = 0; i < nr; ++i)
            if (exclusive)
                SetPageAnonExclusive(c, folio_page(folio, i));
        folio_set_large_mapcount(c, folio, nr, vma);
    } else {
        // A PMD mapping: one entire mapping, one large mapcount; only the head page's flag counts.
        folio_atomic_set(c, folio, FOLIO_OFF_ENTIRE_MAPCOUNT, 0); // increment count (starts at -1)
        folio_set_large_mapcount(c, folio, 1, vma);
        if (exclusive)
            SetPageAnonExclusive(c, folio.pfn);
    }
}

// mm/rmap.c folio_remove_rmap_pmd() -> __folio_remove_rmap() at PMD level, CONFIG_NO_PAGE_MAPCOUNT: the
// NR_ANON_THPS/NR_ANON_MAPPED deltas it computes feed statistics the port does not keep, and the deferred
// split of a partially mapped folio is not modelled; the timed part is the two mapcount updates.
void folio_remove_rmap_pmd(Ctx& c, Folio folio, pfn_t, vm_area_struct& vma)
{
    const PhaseScope phase(c, "folio_remove_rmap_pmd");
    folio_atomic_add_return(c, folio, FOLIO_OFF_ENTIRE_MAPCOUNT, -1); // atomic_add_negative(-1, &_entire_mapcount)
    folio_sub_return_large_mapcount(c, folio, 1, vma);                // folio_dec_return_large_mapcount()
}

// mm/rmap.c folio_add_anon_rmap_ptes() -> __folio_add_anon_rmap()
// mm/internal.h / include/linux/rmap.h __folio_rmap_sanity_checks() at PTE level, and __folio_add_anon_rmap()'s
// VM_BUG_ON_VMA() of the range (checked mode only; untimed)
static void rmap_sanity_checks(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma, Addr address, const char* op)
{
    if (!vm_checked(c.k))
        return;
    MMUSIM_VM_BUG_ON_FOLIO(c, nr_pages <= 0, op, folio, vma.vm_mm, address);
    MMUSIM_VM_BUG_ON_FOLIO(c, folio_head_untimed(c.k, page) != folio.pfn, op, folio, vma.vm_mm, address);
    MMUSIM_VM_BUG_ON_FOLIO(c, folio_head_untimed(c.k, page + nr_pages - 1) != folio.pfn, op, folio, vma.vm_mm, address);
    if (address) {
        const Addr end = address + (static_cast<Addr>(nr_pages) << c.k.page_shift());
        MMUSIM_VM_BUG_ON_FOLIO(c, address < vma.vm_start || end > vma.vm_end, op, folio, vma.vm_mm, address);
        // a PTE batch never crosses its page table (one PMD)
        const hw::PageTableFormat& f = c.k.format();
        const Addr pmd_size = Addr{1} << f.level(f.levels() - 2).shift;
        MMUSIM_VM_BUG_ON_FOLIO(c, (address & ~(pmd_size - 1)) != ((end - 1) & ~(pmd_size - 1)), op, folio, vma.vm_mm, address);
    }
}

void folio_add_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma, Addr address,
                              rmap_t flags)
{
    rmap_sanity_checks(c, folio, page, nr_pages, vma, address, "folio_add_anon_rmap_ptes");
    __folio_add_rmap(c, folio, nr_pages, vma);
    if (flags & RMAP_EXCLUSIVE)
        for (int i = 0; i < nr_pages; ++i)
            SetPageAnonExclusive(c, page + i);
}

// mm/rmap.c folio_add_file_rmap_ptes() -> __folio_add_file_rmap() -> __folio_add_rmap()
void folio_add_file_rmap_ptes(Ctx& c, Folio folio, pfn_t, int nr_pages, vm_area_struct& vma)
{
    __folio_add_rmap(c, folio, nr_pages, vma);
}

// mm/rmap.c folio_remove_rmap_ptes() -> __folio_remove_rmap() at PTE level, CONFIG_NO_PAGE_MAPCOUNT
void folio_remove_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& vma)
{
    const PhaseScope phase(c, "folio_remove_rmap_ptes");
    rmap_sanity_checks(c, folio, page, nr_pages, vma, 0, "folio_remove_rmap_ptes");
    // folio_sub_return_large_mapcount()'s / __folio_remove_rmap()'s underflow warnings
    MMUSIM_VM_BUG_ON_FOLIO(c, folio_mapcount_untimed(c.k, folio) < nr_pages, "folio_remove_rmap_ptes", folio);
    if (!folio_test_large(c, folio)) {
        folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, -1); // atomic_add_negative(-1, &_mapcount)
        return;
    }
    const int nr = folio_sub_return_large_mapcount(c, folio, nr_pages, vma);
    if (nr) {
        // partially_mapped: upstream queues the folio for deferred split here (not modelled); the
        // entire-mapcount read is the timed part of the test.
        if (nr < static_cast<int>(folio_nr_pages(c, folio)))
            folio_entire_mapcount(c, folio);
    }
}

// include/linux/mm.h folio_needs_cow_for_dma()
bool folio_needs_cow_for_dma(Ctx& c, vm_area_struct& vma, Folio folio)
{
    c.cpu.load(vma.vm_mm->addr + MM_OFF_FLAGS, 8, Category::KernelMemory); // test_bit(MMF_HAS_PINNED, ...)
    static_assert(MMF_HAS_PINNED < 64, "one word of mm->flags");
    if (!vma.vm_mm->has_pinned)
        return false;
    return folio_maybe_dma_pinned(c, folio);
}

// include/linux/rmap.h __folio_try_dup_anon_rmap() at PTE level
int folio_try_dup_anon_rmap_ptes(Ctx& c, Folio folio, pfn_t page, int nr_pages, vm_area_struct& dst_vma,
                                 vm_area_struct& src_vma)
{
    const PhaseScope phase(c, "folio_try_dup_anon_rmap_ptes");
    // If this folio may have been pinned by the parent process, don't allow to duplicate the mappings but
    // instead require to e.g. copy the subpage immediately for the child.
    const bool maybe_pinned = folio_needs_cow_for_dma(c, src_vma, folio);
    if (maybe_pinned)
        for (int i = 0; i < nr_pages; ++i)
            if (PageAnonExclusive(c, page + i))
                return -EBUSY;

    if (!folio_test_large(c, folio)) {
        if (PageAnonExclusive(c, page))
            ClearPageAnonExclusive(c, page);
        folio_atomic_add_return(c, folio, PAGE_OFF_MAPCOUNT, 1); // atomic_inc(&folio->_mapcount)
        return 0;
    }
    for (int i = 0; i < nr_pages; ++i)
        if (PageAnonExclusive(c, page + i))
            ClearPageAnonExclusive(c, page + i);
    folio_add_return_large_mapcount(c, folio, nr_pages, dst_vma); // folio_add_large_mapcount()
    return 0;
}

// include/linux/rmap.h __folio_try_share_anon_rmap() with patch 8/9 of the batched anon unmap series
int __folio_try_share_anon_rmap(Ctx& c, Folio folio, pfn_t page, int nr_pages, pgtable_level level)
{
    // We only clear anon-exclusive from head page of PMD folio
    if (level == pgtable_level::PMD)
        nr_pages = 1;
    // Paired with the memory barrier in try_grab_folio() (CONFIG_HAVE_GUP_FAST).
    smp_mb(c);
    if (folio_maybe_dma_pinned(c, folio))
        return -EBUSY;
    ClearPagesAnonExclusive(c, page, static_cast<unsigned>(nr_pages));
    // This is conceptually a smp_wmb() paired with the smp_rmb() in gup_must_unshare().
    smp_mb__after_atomic(c);
    return 0;
}

// include/linux/mm.h folio_maybe_mapped_shared()
bool folio_maybe_mapped_shared(Ctx& c, Folio folio)
{
    const int mapcount = folio_mapcount(c, folio);
    // Only partially-mappable folios require more care.
    if (!folio_test_large(c, folio))
        return mapcount > 1;
    // A single mapping implies "mapped exclusively".
    if (mapcount <= 1)
        return false;
    // If any page is mapped more than once we treat it "mapped shared".
    if (folio_entire_mapcount(c, folio) || mapcount > static_cast<int>(folio_nr_pages(c, folio)))
        return true;
    // Let's guess based on the first subpage.
    return folio_mm_ids_shared(c, folio);
}

// ---- the deferred unmap flush (CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH) ----

namespace {

// mm/rmap.c: bits 0-14 of mm->tlb_flush_batched record pending generations, bits 16-30 flushed generations
constexpr unsigned TLB_FLUSH_BATCH_FLUSHED_SHIFT = 16;
constexpr unsigned TLB_FLUSH_BATCH_PENDING_MASK = (1u << (TLB_FLUSH_BATCH_FLUSHED_SHIFT - 1)) - 1;
constexpr unsigned TLB_FLUSH_BATCH_PENDING_LARGE = TLB_FLUSH_BATCH_PENDING_MASK / 2;

// mm/rmap.c set_tlb_ubc_flush_pending(): the flush of [start, end) joins the task's batch
void set_tlb_ubc_flush_pending(Ctx& c, mm_struct& mm, pte_t pteval, Addr start, Addr end)
{
    tlbflush_unmap_batch& tlb_ubc = c.k.tlb_ubc(c);
    Arch& a = c.k.arch();
    if (!a.pte_present(pteval)) // pte_accessible()
        return;
    a.arch_tlbbatch_add_pending(c, tlb_ubc.arch, mm, start, end);
    tlb_ubc.flush_required = true;

    // Ensure compiler does not re-order the setting of tlb_flush_batched before the PTE is cleared.
    const PAddr batched = mm.addr + MM_OFF_TLB_FLUSH_BATCHED;
    std::uint64_t batch = c.cpu.load(batched, 4, Category::KernelMemory);
    for (;;) {
        if ((batch & TLB_FLUSH_BATCH_PENDING_MASK) > TLB_FLUSH_BATCH_PENDING_LARGE) {
            // Prevent `pending' from catching up with `flushed' because of overflow.
            const std::uint64_t old = c.cpu.cmpxchg(batched, batch, 1, 4, Category::KernelMemory);
            if (old != batch) {
                batch = old;
                continue;
            }
        } else {
            c.cpu.fetch_add(batched, 1, 4, Category::KernelMemory);
        }
        break;
    }
    // If the PTE was dirty then it's best to assume it's writable. The caller must use
    // try_to_unmap_flush_dirty() or try_to_unmap_flush() before the page is freed.
    if (a.pte_dirty(pteval))
        tlb_ubc.writable = true;
}

// mm/rmap.c should_defer_flush(): returns true if the TLB flush should be deferred to the end of a batch
// of unmap operations to reduce IPIs (kernel.defer_flush off: CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH unset)
bool should_defer_flush(Ctx& c, mm_struct& mm, ttu_flags flags)
{
    if (!(flags & TTU_BATCH_FLUSH) || !c.k.config().switches.defer_flush)
        return false;
    return c.k.arch().arch_tlbbatch_should_defer(c, mm);
}

} // namespace

// mm/rmap.c try_to_unmap_flush(): flush TLB entries for recently unmapped pages from remote CPUs
void try_to_unmap_flush(Ctx& c)
{
    const PhaseScope phase(c, "try_to_unmap_flush");
    tlbflush_unmap_batch& tlb_ubc = c.k.tlb_ubc(c);
    if (!tlb_ubc.flush_required)
        return;
    c.k.arch().arch_tlbbatch_flush(c, tlb_ubc.arch);
    tlb_ubc.flush_required = false;
    tlb_ubc.writable = false;
}

// mm/rmap.c try_to_unmap_flush_dirty(): flush iff there are potentially writable TLB entries
void try_to_unmap_flush_dirty(Ctx& c)
{
    const PhaseScope phase(c, "try_to_unmap_flush_dirty");
    if (c.k.tlb_ubc(c).writable)
        try_to_unmap_flush(c);
}

// mm/rmap.c flush_tlb_batched_pending(): reclaim unmapped pages of this mm with a deferred flush and another
// path is about to change the page tables: complete the flush first.
void flush_tlb_batched_pending(Ctx& c, mm_struct& mm)
{
    const PAddr batched = mm.addr + MM_OFF_TLB_FLUSH_BATCHED;
    const std::uint64_t batch = c.cpu.load(batched, 4, Category::KernelMemory);
    const std::uint64_t pending = batch & TLB_FLUSH_BATCH_PENDING_MASK;
    const std::uint64_t flushed = batch >> TLB_FLUSH_BATCH_FLUSHED_SHIFT;
    if (pending != flushed) {
        c.k.arch().flush_tlb_mm(c, mm);
        // If the new TLB flushing is pending during flushing, leave mm->tlb_flush_batched as is, to avoid
        // losing flushing.
        c.cpu.cmpxchg(batched, batch, pending | (pending << TLB_FLUSH_BATCH_FLUSHED_SHIFT), 4, Category::KernelMemory);
    }
}

// ---- the rmap walk and try_to_unmap_one() ----

namespace {

// mm/rmap.c folio_unmap_pte_batch(): how many PTEs from pvmw.pte map consecutive pages of the folio and can
// be unmapped together. Before the batched anon unmap series (kernel.anon_unmap_batch off) a swap-backed
// anon folio is not batched ("only lazyfree or file folios for now").
long folio_unmap_pte_batch(Ctx& c, Folio folio, struct page_vma_mapped_walk& pvmw, ttu_flags flags, pte_t pte)
{
    const vm_area_struct& vma = *pvmw.vma;
    if (flags & TTU_HWPOISON)
        return 1;
    if (!folio_test_large(c, folio))
        return 1;
    if (!c.k.config().switches.anon_unmap_batch && folio_test_anon(c, folio) &&
        folio_test_flag(c, folio, PG_swapbacked))
        return 1;
    // We may only batch within a single VMA and a single page table.
    const std::uint64_t pmd_size = hpage_pmd_size(c);
    const Addr pmd_end = std::min<Addr>((pvmw.address & ~(pmd_size - 1)) + pmd_size, vma.vm_end); // pmd_addr_end()
    const unsigned max_nr = static_cast<unsigned>((pmd_end - pvmw.address) >> c.k.page_shift());
    return folio_pte_batch_flags(c, folio, pvmw.vma, pvmw.pte, &pte, max_nr,
                                 FPB_RESPECT_WRITE | FPB_RESPECT_SOFT_DIRTY);
}

// mm/rmap.c ttu_lazyfree_folio() (v4 03/12 of the series): whether a lazyfree folio may be discarded. Before
// the series the same checks are inline in try_to_unmap_one(); the port shares this body.
bool ttu_lazyfree_folio(Ctx& c, vm_area_struct& vma, Folio folio)
{
    // Synchronize with gup_pte_range():
    // - clear PTE; barrier; read refcount
    // - inc refcount; barrier; read PTE
    smp_mb(c);
    const int ref_count = folio_ref_count(c, folio);
    const int map_count = folio_mapcount(c, folio);
    // Order reads for page refcount and dirty flag (see comments in __remove_mapping()).
    smp_rmb(c);
    if (folio_test_flag(c, folio, PG_dirty) && !(vma.vm_flags & VM_DROPPABLE)) {
        // redirtied either using the page table or a previously obtained GUP reference.
        folio_set_flag(c, folio, PG_swapbacked); // folio_set_swapbacked()
        return false;
    }
    // Additional reference. Could be a GUP reference or any speculative reference. GUP users must mark the
    // folio dirty if there was a modification. This folio cannot be reclaimed right now either way, so act
    // just like nothing happened. We'll come back here later and detect if the folio was dirtied when the
    // additional reference is gone.
    return ref_count == 1 + map_count;
}

// The swap PTE of page `i` of a batch whose first entry is `entry` (swp_entry() + the offset: the slots of a
// swap-cache folio are consecutive).
pte_t make_swp_pte(const Arch& a, swp_entry_t entry, unsigned long i, bool anon_exclusive, pte_t pteval)
{
    pte_t swp_pte = a.swp_entry_to_pte(swp_entry(swp_type(entry), swp_offset(entry) + i));
    if (anon_exclusive)
        swp_pte = a.pte_swp_mkexclusive(swp_pte);
    // soft-dirty from the old entry: pte_soft_dirty() if it was present, pte_swp_soft_dirty() if not (a
    // device-exclusive entry keeps it in its swap form)
    if (a.pte_present(pteval) ? a.pte_soft_dirty(pteval) : a.pte_swp_soft_dirty(pteval))
        swp_pte = a.pte_swp_mksoft_dirty(swp_pte);
    return swp_pte;
}

// mm/rmap.c try_to_unmap_one(): unmaps the folio's PTEs in one VMA; false stops the rmap walk (the folio
// stays mapped: mlocked, pinned, redirtied lazyfree, swap-count failure).
bool try_to_unmap_one(Ctx& c, Folio folio, vm_area_struct& vma, Addr address, ttu_flags flags)
{
    const PhaseScope phase(c, "try_to_unmap_one");
    mm_struct& mm = *vma.vm_mm;
    Arch& a = c.k.arch();
    const std::uint64_t psize = c.k.page_size();
    const bool series = c.k.config().switches.anon_unmap_batch;
    const unsigned long folio_nr = folio_nr_pages(c, folio);
    struct page_vma_mapped_walk pvmw;
    pvmw.pfn = folio_pfn(folio);
    pvmw.nr_pages = folio_nr;
    pvmw.vma = &vma;
    pvmw.address = address;
    pvmw.pgoff = c.cpu.load(page_addr(c, folio.pfn) + PAGE_OFF_INDEX, 8, Category::StructPage); // folio_pgoff()
    if (flags & TTU_SYNC)
        pvmw.flags = PVMW_SYNC;
    bool ret = true;
    // Signed, as patch 1 of the batched anon unmap series makes it (upstream: unsigned long).
    long nr_pages = 1;
    unsigned long ptes = 0;
    // No mmu notifiers in the port (mmu_notifier_invalidate_range_start/end).
    while (page_vma_mapped_walk(c, pvmw)) {
        // "mm/rmap: initialize nr_pages to 1 at loop start in try_to_unmap_one" (a CVE fix): a batch size
        // left over from an earlier folio_unmap_pte_batch() must not be reused by a PTE that is not batched
        // (the device-exclusive entry below).
        nr_pages = 1;
        // Unless we're told to ignore mlock, the folio stays mapped in a VM_LOCKED VMA (mlock_vma_folio()
        // itself is not modelled).
        if ((vma.vm_flags & VM_LOCKED) && !(flags & TTU_IGNORE_MLOCK)) {
            ptes++;
            ret = false;
            // Only mlock fully mapped folios
            if (ptes != pvmw.nr_pages)
                continue;
            page_vma_mapped_walk_done(c, pvmw);
            break;
        }
        if (!pvmw.pte) { // PMD-mapped: the port splits no PMD here (TTU_SPLIT_HUGE_PMD not modelled)
            ret = false;
            page_vma_mapped_walk_done(c, pvmw);
            break;
        }
        // Handle PFN swap PTEs, such as device-exclusive ones, that actually map pages.
        pte_t pteval = ptep_get(c, pvmw.pte);
        const bool present = a.pte_present(pteval);
        const pfn_t pfn = present ? a.pte_pfn(pteval) : softleaf_to_pfn(softleaf_from_pte(a, pteval));
        const pfn_t subpage = folio_page(folio, pfn - folio_pfn(folio));
        address = pvmw.address;
        const bool anon = folio_test_anon(c, folio);
        bool anon_exclusive = anon && PageAnonExclusive(c, subpage);

        if (present) {
            nr_pages = folio_unmap_pte_batch(c, folio, pvmw, flags, pteval);
            const Addr end_addr = address + static_cast<Addr>(nr_pages) * psize;
            // Nuke the page table entries. When having to clear PTE_ACCESSIBLE, make sure the flush is
            // deferred or done now.
            if (nr_pages == 1 && !series) {
                // mainline before the series: one PTE at a time
                if (should_defer_flush(c, mm, flags)) {
                    pteval = ptep_get_and_clear(c, mm, address, pvmw.pte);
                    set_tlb_ubc_flush_pending(c, mm, pteval, address, end_addr);
                } else {
                    pteval = ptep_clear_flush(c, vma, address, pvmw.pte);
                }
            } else if (should_defer_flush(c, mm, flags)) {
                pteval = get_and_clear_ptes(c, mm, address, pvmw.pte, static_cast<unsigned>(nr_pages));
                set_tlb_ubc_flush_pending(c, mm, pteval, address, end_addr);
            } else {
                pteval = get_and_clear_ptes(c, mm, address, pvmw.pte, static_cast<unsigned>(nr_pages));
                a.flush_tlb_range(c, vma, address, end_addr);
            }
            // Set the dirty flag on the folio now the PTEs are gone.
            if (a.pte_dirty(pteval))
                folio_set_flag(c, folio, PG_dirty); // folio_mark_dirty()
        } else {
            // A device-exclusive entry: no TLB holds it, nothing to flush; nr_pages stays 1.
            pte_clear(c, mm, address, pvmw.pte);
        }
        // (pte_install_uffd_wp_if_needed(): no userfaultfd; update_hiwater_rss(): not modelled)

        if (anon) {
            const bool swapbacked = folio_test_flag(c, folio, PG_swapbacked);
            if (swapbacked != folio_test_swapcache(c, folio)) {
                // WARN_ON_ONCE: a swap-backed folio reclaim did not add to the swap cache
                set_ptes(c, mm, address, pvmw.pte, pteval, static_cast<unsigned>(nr_pages));
                ret = false;
                page_vma_mapped_walk_done(c, pvmw);
                break;
            }
            // MADV_FREE page check
            if (!swapbacked) {
                if (!ttu_lazyfree_folio(c, vma, folio)) {
                    set_ptes(c, mm, address, pvmw.pte, pteval, static_cast<unsigned>(nr_pages));
                    ret = false;
                    page_vma_mapped_walk_done(c, pvmw);
                    break;
                }
                add_mm_counter(c, mm, MM_ANONPAGES, -nr_pages);
            } else {
                const swp_entry_t entry = page_swap_entry(c, folio, subpage);
                if (folio_dup_swap(c, folio, subpage, static_cast<unsigned>(nr_pages)) < 0) {
                    set_ptes(c, mm, address, pvmw.pte, pteval, static_cast<unsigned>(nr_pages));
                    ret = false;
                    page_vma_mapped_walk_done(c, pvmw);
                    break;
                }
                // arch_unmap_one(): sparc ADI only. Then, per sub-batch of uniform anon-exclusivity (the
                // series' last patch; one sub-batch of one page before it): See folio_try_share_anon_rmap():
                // clear PTE first.
                long done = 0;
                bool failed = false;
                while (done < nr_pages) {
                    const pfn_t page = subpage + static_cast<pfn_t>(done);
                    anon_exclusive = PageAnonExclusive(c, page);
                    const unsigned len =
                        nr_pages == 1 ? 1
                                      : page_anon_exclusive_sub_batch(c, static_cast<unsigned>(done),
                                                                      static_cast<unsigned>(nr_pages - done),
                                                                      subpage, anon_exclusive);
                    const int err = !anon_exclusive ? 0
                                    : series        ? folio_try_share_anon_rmap_ptes(c, folio, page, static_cast<int>(len))
                                                    : folio_try_share_anon_rmap_pte(c, folio, page);
                    if (err) {
                        // -EBUSY: the folio may be pinned. Give back the slots not converted and restore
                        // their PTEs; the converted sub-batches stay unmapped.
                        const unsigned rest = static_cast<unsigned>(nr_pages - done);
                        folio_put_swap(c, folio, page, rest);
                        set_ptes(c, mm, address + static_cast<Addr>(done) * psize, pte_offset(pvmw.pte, done),
                                 done ? a.pte_advance_pfn(pteval, static_cast<unsigned long>(done)) : pteval, rest);
                        failed = true;
                        break;
                    }
                    for (unsigned i = 0; i < len; ++i)
                        set_pte_at(c, mm, address + (static_cast<Addr>(done) + i) * psize,
                                   pte_offset(pvmw.pte, done + i),
                                   make_swp_pte(a, entry, static_cast<unsigned long>(done) + i, anon_exclusive, pteval));
                    done += len;
                }
                // swapoff's mmlist (init_mm.mmlist under mmlist_lock) is not modelled.
                if (done) {
                    add_mm_counter(c, mm, MM_ANONPAGES, -done);
                    add_mm_counter(c, mm, MM_SWAPENTS, done);
                }
                if (failed) {
                    // the series' partial-success accounting: rmap and references of what was converted
                    if (done) {
                        folio_remove_rmap_ptes(c, folio, subpage, static_cast<int>(done), vma);
                        if (folio_ref_sub_and_test(c, folio, static_cast<int>(done)))
                            __folio_put(c, folio);
                    }
                    ret = false;
                    page_vma_mapped_walk_done(c, pvmw);
                    break;
                }
            }
        } else {
            // file folios: not in the port
            add_mm_counter(c, mm, MM_FILEPAGES, -nr_pages);
        }
        // finish_unmap:
        folio_remove_rmap_ptes(c, folio, subpage, static_cast<int>(nr_pages), vma);
        // mlock_drain_local(): no mlock batches in the port
        if (folio_ref_sub_and_test(c, folio, static_cast<int>(nr_pages))) // folio_put_refs()
            __folio_put(c, folio);
        // Bail out early if the whole folio was unmapped.
        if (static_cast<unsigned long>(nr_pages) == folio_nr) {
            page_vma_mapped_walk_done(c, pvmw);
            break;
        }
        // The series: a batch shorter than the folio is skipped past in the walk.
        if (nr_pages > 1) {
            pvmw.pte = pte_offset(pvmw.pte, nr_pages - 1);
            pvmw.address += static_cast<Addr>(nr_pages - 1) * psize;
        }
    }
    return ret;
}

// mm/rmap.c folio_not_mapped(): rmap_walk_control.done of try_to_unmap()
bool folio_not_mapped(Ctx& c, Folio folio) { return !folio_mapped(c, folio); }

// The anon_vma a folio->mapping names (host side: upstream follows the pointer). A mapped folio's anon_vma
// is chained to a VMA that maps it, so the VMAs' chains find it.
anon_vma* anon_vma_at(Ctx& c, PAddr pa)
{
    for (const auto& mm : c.k.mms())
        for (auto& [start, vma] : mm->vmas)
            for (const auto& avc : vma.anon_vma_chain.list)
                if (avc->av->addr == pa)
                    return avc->av.get();
    return nullptr;
}

// mm/internal.h vma_address(): the folio's first address in the VMA (the VMA's start when the folio begins
// before it), or nullopt (-EFAULT) when the VMA does not cover it
std::optional<Addr> vma_address(Ctx& c, const vm_area_struct& vma, std::uint64_t pgoff, unsigned long nr_pages)
{
    c.cpu.load(vma.addr + VMA_OFF_PGOFF, 8, kAv);
    c.cpu.load(vma.addr + VMA_OFF_VM_START, 8, kAv);
    if (pgoff >= vma.vm_pgoff) {
        const Addr address = vma.vm_start + ((pgoff - vma.vm_pgoff) << c.k.page_shift());
        c.cpu.load(vma.addr + VMA_OFF_VM_END, 8, kAv);
        // Check for address beyond vma (or wrapped through 0?)
        if (address < vma.vm_start || address >= vma.vm_end)
            return std::nullopt;
        return address;
    }
    if (pgoff + nr_pages - 1 >= vma.vm_pgoff)
        return vma.vm_start;
    return std::nullopt;
}

// mm/rmap.c rmap_walk_anon(): every VMA on the folio's anon_vma whose pages cover the folio's
// (anon_vma_interval_tree_foreach() over [pgoff_start, pgoff_end]), under the root's rwsem for reading
// (folio_lock_anon_vma_read(): the folio must still be mapped). The tree is host-side: each node the walk
// looks at costs the loads of avc->rb_subtree_last and avc->vma, the VMA's vm_pgoff/vm_start/vm_end
// (avc_start_pgoff(), avc_last_pgoff(), vma_address()) and software.vma_lookup (an estimate of one
// interval-tree step).
template <typename RmapOne>
void rmap_walk_anon(Ctx& c, Folio folio, bool locked, RmapOne&& rmap_one)
{
    const std::uint64_t mapping = folio_mapping_raw(c, folio);
    if (!(mapping & PAGE_MAPPING_ANON))
        return;
    const PAddr av_addr = mapping & ~PAGE_MAPPING_ANON; // folio_anon_vma()
    if (!locked && !folio_mapped(c, folio))
        return; // folio_lock_anon_vma_read(): an unmapped folio's anon_vma may be gone
    anon_vma* av = anon_vma_at(c, av_addr);
    if (!av)
        return;
    const PAddr rwsem = av->root->addr + ANON_VMA_OFF_RWSEM;
    if (!locked) {
        c.cpu.load(av->addr + ANON_VMA_OFF_ROOT, 8, kAv); // READ_ONCE(anon_vma->root)
        c.cpu.fetch_add(rwsem, RWSEM_READER_BIAS, 8, Category::Lock); // down_read_trylock()
    }
    const std::uint64_t pgoff_start =
        c.cpu.load(page_addr(c, folio.pfn) + PAGE_OFF_INDEX, 8, Category::StructPage); // folio_pgoff()
    const unsigned long nr = folio_nr_pages(c, folio);
    const std::uint64_t pgoff_end = pgoff_start + nr - 1;
    std::vector<std::pair<vm_area_struct*, Addr>> found; // anon_vma_interval_tree_foreach()
    for (auto it = av->rb_root.begin(); it != av->rb_root.end() && it->first <= pgoff_end; ++it) {
        const anon_vma_chain& avc = *it->second;
        c.k.charge_sw(c, c.k.config().software.vma_lookup);
        c.cpu.load(avc.addr + AVC_OFF_RB_SUBTREE_LAST, 8, kAv);
        c.cpu.load(avc.addr + AVC_OFF_VMA, 8, kAv);
        vm_area_struct& vma = *avc.vma;
        const std::uint64_t last = vma.vm_pgoff + ((vma.vm_end - vma.vm_start) >> c.k.page_shift()) - 1;
        if (last < pgoff_start)
            continue;
        const std::optional<Addr> address = vma_address(c, vma, pgoff_start, nr);
        if (!address)
            throw std::logic_error("rmap_walk_anon: a VMA on the anon_vma does not cover the folio");
        found.emplace_back(&vma, *address);
    }
    for (auto& [vma, address] : found) {
        if (!rmap_one(*vma, address))
            break;
        if (folio_not_mapped(c, folio))
            break;
    }
    if (!locked)
        c.cpu.fetch_sub(rwsem, RWSEM_READER_BIAS, 8, Category::Lock); // anon_vma_unlock_read()
}

} // namespace

// mm/rmap.c try_to_unmap(): try to remove all page table mappings to a folio. It is the caller's
// responsibility to check if the folio is still mapped if needed (use TTU_SYNC to prevent accounting
// races). Context: Caller must hold the folio lock.
void try_to_unmap(Ctx& c, Folio folio, ttu_flags flags)
{
    const PhaseScope phase(c, "try_to_unmap");
    rmap_walk_anon(c, folio, flags & TTU_RMAP_LOCKED,
                   [&](vm_area_struct& vma, Addr address) { return try_to_unmap_one(c, folio, vma, address, flags); });
}

namespace {

// mm/pagewalk.c folio_walk_start() at PTE level, as make_device_exclusive() uses it: the page a present PTE
// maps at addr (vm_normal_page()), with the PTE table's lock held on success (folio_walk_end() drops it).
// A PMD leaf is refused by name: FOLL_SPLIT_PMD's split of a PMD-mapped THP is not ported.
struct folio_walk {
    pfn_t page = 0;
    PtePtr ptep = 0;
    pte_t pte;
    PAddr ptl = 0;
};
std::optional<Folio> folio_walk_start(Ctx& c, folio_walk& fw, vm_area_struct& vma, Addr addr)
{
    const Arch& a = c.k.arch();
    const PtePtr pmd = pmd_offset_lookup(c, *vma.vm_mm, addr);
    if (!pmd)
        return std::nullopt;
    const pte_t pmdval{c.cpu.load(pmd, kPteBytes, Category::PteLoad)}; // pmdp_get_lockless()
    if (a.pmd_trans_huge(pmdval))
        throw std::logic_error("make_device_exclusive: a PMD-mapped THP (FOLL_SPLIT_PMD) is not ported");
    const PtePtr ptep = pte_offset_map(c, pmd, addr);
    if (!ptep)
        return std::nullopt;
    const PAddr ptl = pte_lockptr(c, ptep); // pte_offset_map_lock()
    hw::SpinLock(ptl).lock(c.cpu);
    const pte_t pte = ptep_get(c, ptep);
    const std::optional<pfn_t> page = a.pte_present(pte) ? vm_normal_page(c, vma, addr, pte) : std::nullopt;
    if (!page) { // a none or non-present entry, or the zero page: not_found
        hw::SpinLock(ptl).unlock(c.cpu);
        return std::nullopt;
    }
    fw.page = *page;
    fw.ptep = ptep;
    fw.pte = pte;
    fw.ptl = ptl;
    return page_folio(c, *page);
}
// include/linux/pagewalk.h folio_walk_end()
void folio_walk_end(Ctx& c, folio_walk& fw) { hw::SpinLock(fw.ptl).unlock(c.cpu); }

} // namespace

// mm/rmap.c make_device_exclusive() (CONFIG_DEVICE_PRIVATE). No mmu notifiers in the port (the
// MMU_NOTIFY_EXCLUSIVE range a driver filters).
int make_device_exclusive(Ctx& c, mm_struct& mm, Addr addr, pfn_t& pagep, Folio& foliop)
{
    const PhaseScope phase(c, "make_device_exclusive");
    const Arch& a = c.k.arch();
    addr &= ~(c.k.page_size() - 1); // PAGE_ALIGN_DOWN()
    // Fault in the page writable and try to lock it; note that if the address would already be marked for
    // exclusive use by a device, the GUP call would undo that first by triggering a fault.
    for (int attempt = 0;; ++attempt) { // retry:
        if (attempt == 64) // upstream retries without bound; here a loop that never ends is a port bug
            throw std::logic_error("make_device_exclusive: the page at " + std::to_string(addr) +
                                   " never stays mapped writable");
        // get_user_page_vma_remote(mm, addr, FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD, &vma)
        std::vector<pfn_t> pages;
        const long got = get_user_pages_remote(c, mm, addr, 1, FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD, pages);
        if (got < 0)
            return static_cast<int>(got);
        const pfn_t page = pages.front();
        Folio folio = page_folio(c, page);
        vm_area_struct* vma = mm.vma_at(addr); // vma_lookup()
        if (!vma) {
            folio_put(c, folio);
            return -EINVAL;
        }
        // (folio_test_hugetlb(): no hugetlb in the port)
        if (!folio_test_anon(c, folio)) {
            folio_put(c, folio);
            return -EOPNOTSUPP;
        }
        folio_lock(c, folio); // folio_lock_killable(): no signals in the port
        // Let's do a second walk and make sure we still find the same page mapped writable. Note that any page
        // of an anonymous folio can only be mapped writable using exactly one PTE ("exclusive"), so there
        // cannot be other mappings.
        folio_walk fw;
        const std::optional<Folio> fw_folio = folio_walk_start(c, fw, *vma, addr);
        if (fw_folio != folio || fw.page != page || !a.pte_write(fw.pte)) {
            if (fw_folio)
                folio_walk_end(c, fw);
            folio_unlock(c, folio);
            folio_put(c, folio);
            continue;
        }
        // Nuke the page table entry so we get the uptodate dirty bit.
        fw.pte = ptep_clear_flush(c, *vma, addr, fw.ptep);
        // Set the dirty flag on the folio now the PTE is gone.
        if (a.pte_dirty(fw.pte))
            folio_set_flag(c, folio, PG_dirty); // folio_mark_dirty()
        // Store the pfn of the page in a special device-exclusive PFN swap PTE. do_swap_page() will trigger the
        // conversion back while holding the folio lock.
        pte_t swp_pte = a.swp_entry_to_pte(make_device_exclusive_entry(page));
        if (a.pte_soft_dirty(fw.pte))
            swp_pte = a.pte_swp_mksoft_dirty(swp_pte);
        // The pte is writable, uffd-wp does not apply.
        set_pte_at(c, mm, addr, fw.ptep, swp_pte);
        folio_walk_end(c, fw);
        foliop = folio;
        pagep = page;
        return 0;
    }
}

std::vector<std::pair<vm_area_struct*, Addr>> rmap_walk_anon_vmas(Ctx& c, Folio folio)
{
    std::vector<std::pair<vm_area_struct*, Addr>> out;
    rmap_walk_anon(c, folio, false, [&](vm_area_struct& vma, Addr address) {
        out.emplace_back(&vma, address);
        return true;
    });
    return out;
}

} // namespace mmusim::mm
