// SPDX-License-Identifier: GPL-2.0-only
#include "mm/phase.hh"
#include "mm/mmap.hh"
#include "util/ftrace.hh"

#include "mm/memory.hh"
#include "mm/mmap_lock.hh"
#include "mm/mmu_gather.hh"
#include "mm/rmap.hh"
#include "mm/shmem.hh"

#include <stdexcept>

namespace mmusim::mm {

using hw::Category;

namespace {

Addr page_align(const Ctx& c, std::uint64_t len) { return (len + c.k.page_size() - 1) & ~(c.k.page_size() - 1); }

// The VMA's start moves: the tree's key changes, the VMA object stays where it is (vma_set_range()), and
// vm_pgoff moves with it so that every page keeps its linear index.
void vma_set_start(Ctx& c, mm_struct& mm, vm_area_struct& vma, Addr start)
{
    const auto shift = c.k.page_shift();
    auto node = mm.vmas.extract(vma.vm_start);
    node.key() = start;
    vm_area_struct& v = node.mapped();
    v.vm_pgoff = start >= v.vm_start ? v.vm_pgoff + ((start - v.vm_start) >> shift)
                                     : v.vm_pgoff - ((v.vm_start - start) >> shift);
    v.vm_start = start;
    mm.vmas.insert(std::move(node));
}

// The fields a VMA update writes in its object (vm_start, vm_end, vm_flags, vm_pgoff).
void vma_write_fields(Ctx& c, const vm_area_struct& vma)
{
    c.cpu.store(vma.addr + VMA_OFF_VM_START, vma.vm_start, 8, Category::KernelMemory);
    c.cpu.store(vma.addr + VMA_OFF_VM_END, vma.vm_end, 8, Category::KernelMemory);
    c.cpu.store(vma.addr + 32, vma.vm_flags, 8, Category::KernelMemory);
    c.cpu.store(vma.addr + VMA_OFF_PGOFF, vma.vm_pgoff, 8, Category::KernelMemory);
}

std::uint64_t vma_pages(const Ctx& c, const vm_area_struct& vma) { return (vma.vm_end - vma.vm_start) >> c.k.page_shift(); }

// mm/vma.c is_mergeable_anon_vma(): the same anon_vma, or one side without one while the other's chain is
// singular (a forked VMA's is not)
bool is_mergeable_anon_vma(const vm_area_struct& a, const vm_area_struct& b)
{
    if (!a.anon || !b.anon) {
        const vm_area_struct& src = a.anon ? a : b;
        return !src.anon || src.anon_vma_chain.list.size() == 1;
    }
    return a.anon == b.anon;
}

// mm/vma.c is_mergeable_vma() + is_mergeable_anon_vma(): same flags but VM_SOFTDIRTY, same mTHP order,
// anon_vmas that agree (either none, or the same); and can_vma_merge_after()/before()'s contiguous vm_pgoff
// (pgoff: the page offset the VMA must have at `a`'s start). File (shmem) VMAs are checked by file_mergeable().
bool mergeable(const vm_area_struct& a, vm_flags_t flags, unsigned folio_order, const anon_vma* av,
               std::uint64_t pgoff)
{
    if (a.vm_file)
        return false;
    if ((a.vm_flags ^ flags) & ~VM_SOFTDIRTY)
        return false;
    if (a.folio_order != folio_order)
        return false;
    if (a.vm_pgoff != pgoff)
        return false;
    return !a.anon || !av || a.anon == av;
}

// mm/vma.c dup_anon_vma(): an unfaulted VMA that absorbs a faulted one takes its anon_vma and chain
void dup_anon_vma(Ctx& c, vm_area_struct& dst, vm_area_struct& src)
{
    if (src.anon && !dst.anon) {
        dst.anon = src.anon;
        anon_vma_clone(c, dst, src, vma_operation::VMA_OP_MERGE_UNFAULTED);
    }
}

// mm/vma.c is_mergeable_vma() for two adjacent VMAs `lo` below `hi`: the same file, and hi's vm_pgoff
// following lo's pages (can_vma_merge_after()); anonymous VMAs by mergeable()
bool file_mergeable(const Ctx& c, const vm_area_struct& lo, const vm_area_struct& hi)
{
    if ((lo.vm_flags ^ hi.vm_flags) & ~VM_SOFTDIRTY)
        return false;
    return lo.vm_file == hi.vm_file && lo.folio_order == hi.folio_order && !lo.anon && !hi.anon &&
           lo.vm_pgoff + ((lo.vm_end - lo.vm_start) >> c.k.page_shift()) == hi.vm_pgoff;
}

vm_area_struct* vma_ending_at(mm_struct& mm, Addr addr)
{
    if (!addr)
        return nullptr;
    vm_area_struct* v = mm.vma_at(addr - 1);
    return v && v->vm_end == addr ? v : nullptr;
}

vm_area_struct* vma_starting_at(mm_struct& mm, Addr addr)
{
    auto it = mm.vmas.find(addr);
    return it == mm.vmas.end() ? nullptr : &it->second;
}

// mm/vma.c __mmap_region() for an anonymous private mapping: merge with the neighbours (vma_merge_new_range())
// or a new VMA, then VM_SOFTDIRTY (__mmap_complete())
Addr mmap_region(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t len, vm_flags_t vm_flags, unsigned folio_order)
{
    const PhaseScope phase(c, "mmap_region");
    const Addr end = addr + len;
    // Unmap any existing mapping in the area.
    if (!vmas_in_range(mm, addr, end).empty())
        do_munmap(c, mm, addr, len);
    if (vm_flags & VM_SHARED) {
        // __mmap_new_vma() -> shmem_zero_setup(): a new shmem object, so no neighbour shares its file and
        // nothing merges (no VM_ACCOUNT: shmem accounts its own pages, not modelled)
        vm_area_struct proto;
        proto.vm_start = addr;
        proto.vm_end = end;
        proto.vm_flags = vm_flags | VM_SOFTDIRTY;
        proto.vm_page_prot = c.k.arch().vm_get_page_prot(vm_flags); // vma_set_page_prot(): no writenotify
        proto.folio_order = folio_order;
        proto.vm_file = shmem_zero_setup(c, len);
        proto.vm_pgoff = 0;
        vma_insert_copy(c, mm, proto);
        return addr;
    }
    // accountable_mapping(): private writable memory is committed
    if (vm_flags & VM_WRITE)
        vm_flags |= VM_ACCOUNT;

    c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_prev() / vma_next()
    vm_area_struct* prev = vma_ending_at(mm, addr);
    vm_area_struct* next = vma_starting_at(mm, end);
    const std::uint64_t pgoff = addr >> c.k.page_shift(); // do_mmap(): an anonymous mapping's pgoff
    const std::uint64_t pglen = len >> c.k.page_shift();
    const bool can_prev = prev && mergeable(*prev, vm_flags, folio_order, nullptr, pgoff - vma_pages(c, *prev));
    bool can_next = next && mergeable(*next, vm_flags, folio_order, nullptr, pgoff + pglen);
    if (can_prev && can_next && !is_mergeable_anon_vma(*prev, *next))
        can_next = false;

    if (can_prev) {
        c.k.charge_sw(c, c.k.config().software.vma_modify);
        if (can_next) { // prev absorbs the new range and next
            dup_anon_vma(c, *prev, *next);
            const Addr next_end = next->vm_end;
            remove_vma(c, mm, *next);
            anon_vma_interval_tree_pre_update_vma(c, *prev);
            prev->vm_end = next_end;
        } else {
            anon_vma_interval_tree_pre_update_vma(c, *prev);
            prev->vm_end = end;
        }
        prev->vm_flags |= VM_SOFTDIRTY;
        vma_write_fields(c, *prev);
        anon_vma_interval_tree_post_update_vma(c, *prev);
        return addr;
    }
    if (can_next) {
        c.k.charge_sw(c, c.k.config().software.vma_modify);
        anon_vma_interval_tree_pre_update_vma(c, *next);
        vma_set_start(c, mm, *next, addr);
        next->vm_flags |= VM_SOFTDIRTY;
        vma_write_fields(c, *next);
        anon_vma_interval_tree_post_update_vma(c, *next);
        return addr;
    }
    vm_area_struct proto;
    proto.vm_start = addr;
    proto.vm_end = end;
    proto.vm_pgoff = pgoff;
    proto.vm_flags = vm_flags | VM_SOFTDIRTY;
    proto.vm_page_prot = c.k.arch().vm_get_page_prot(vm_flags); // vma_set_page_prot()
    proto.folio_order = folio_order;
    vma_insert_copy(c, mm, proto);
    return addr;
}

} // namespace

// mm/mmap.c get_unmapped_area(): unmapped_area() bottom-up from MMAP_SEARCH_BASE; PMD-aligned for lengths of a
// PMD or more (thp_get_unmapped_area())
Addr get_unmapped_area(Ctx& c, mm_struct& mm, std::uint64_t len, std::uint64_t min_align)
{
    c.k.charge_sw(c, c.k.config().software.vma_lookup);
    const hw::PageTableFormat& fmt = c.k.format();
    const std::uint64_t pmd_size = std::uint64_t{1} << fmt.level(fmt.levels() - 2).shift;
    const std::uint64_t align = std::max(len >= pmd_size ? pmd_size : c.k.page_size(), min_align);
    const auto up = [align](Addr a) { return (a + align - 1) & ~(align - 1); };
    Addr candidate = up(MMAP_SEARCH_BASE);
    for (const auto& [start, vma] : mm.vmas) {
        if (vma.vm_end <= candidate)
            continue;
        if (start >= candidate + len)
            break;
        candidate = up(vma.vm_end);
    }
    if (candidate + len - 1 > fmt.user_va_last())
        throw std::invalid_argument("do_mmap: no free address range of the length asked for");
    return candidate;
}

// include/linux/mman.h calc_vm_prot_bits()
vm_flags_t calc_vm_prot_bits(unsigned prot)
{
    vm_flags_t f = 0;
    if (prot & PROT_READ)
        f |= VM_READ;
    if (prot & PROT_WRITE)
        f |= VM_WRITE;
    if (prot & PROT_EXEC)
        f |= VM_EXEC;
    return f;
}

std::vector<vm_area_struct*> vmas_in_range(mm_struct& mm, Addr start, Addr end)
{
    std::vector<vm_area_struct*> out;
    auto it = mm.vmas.upper_bound(start);
    if (it != mm.vmas.begin())
        --it;
    for (; it != mm.vmas.end() && it->second.vm_start < end; ++it)
        if (it->second.vm_end > start)
            out.push_back(&it->second);
    return out;
}

// mm/vma.c vm_area_dup() + vma_iter_store(): a VMA object of its own, in the tree
vm_area_struct& vma_insert_copy(Ctx& c, mm_struct& mm, const vm_area_struct& proto)
{
    c.k.charge_sw(c, c.k.config().software.vma_modify);
    auto [it, inserted] = mm.vmas.emplace(proto.vm_start, proto);
    if (!inserted)
        throw std::logic_error("vma_insert_copy: a VMA already starts there");
    vm_area_struct& vma = it->second;
    vma.vm_mm = &mm;
    vma.addr = c.k.kmalloc(c, VMA_BYTES);
    if (vma.vm_file) // get_file() of __split_vma(), dup_mmap(), copy_vma(); the first one of shmem_zero_setup()
        get_file(c, *vma.vm_file);
    vma_write_fields(c, vma);
    return vma;
}

// mm/vma.c remove_vma(): vm_area_free() (its anon_vma link dropped if free_pgtables() has not already)
void remove_vma(Ctx& c, mm_struct& mm, vm_area_struct& vma)
{
    const PhaseScope phase(c, "remove_vma");
    unlink_anon_vmas(c, vma);
    if (vma.vm_file) { // fput(): the last VMA of a shmem object evicts its inode
        const std::shared_ptr<shmem_file> file = std::move(vma.vm_file);
        fput(c, file);
    }
    c.k.kfree(c, vma.addr, VMA_BYTES);
    mm.vmas.erase(vma.vm_start);
}

// mm/vma.c __split_vma(): the new VMA gets its part's vm_pgoff and the same anon_vmas (anon_vma_clone()).
// The port's VMA tree is keyed by vm_start, so the old VMA is shrunk before the new one is linked (upstream
// clones first); nothing walks the rmap in between under the mmap_lock held for writing.
vm_area_struct& __split_vma(Ctx& c, mm_struct& mm, vm_area_struct& vma, Addr addr, bool new_below)
{
    const PhaseScope phase(c, "__split_vma");
    if (addr <= vma.vm_start || addr >= vma.vm_end)
        throw std::logic_error("__split_vma: address outside the VMA");
    vm_area_struct proto = vma; // vm_area_dup(): anon_vma copied, chain empty
    if (new_below) {
        proto.vm_end = addr;
    } else {
        proto.vm_start = addr;
        proto.vm_pgoff += (addr - vma.vm_start) >> c.k.page_shift();
    }
    anon_vma_interval_tree_pre_update_vma(c, vma); // vma_prepare()
    if (new_below)
        vma_set_start(c, mm, vma, addr);
    else
        vma.vm_end = addr;
    vma_write_fields(c, vma);
    anon_vma_interval_tree_post_update_vma(c, vma); // vma_complete()
    vm_area_struct& new_vma = vma_insert_copy(c, mm, proto);
    anon_vma_clone(c, new_vma, vma, vma_operation::VMA_OP_SPLIT);
    return new_vma;
}

vm_area_struct& vma_split_to(Ctx& c, mm_struct& mm, vm_area_struct& vma, Addr start, Addr end)
{
    if (vma.vm_start < start)
        __split_vma(c, mm, vma, start, true);
    if (vma.vm_end > end)
        __split_vma(c, mm, vma, end, false);
    return vma;
}

vm_area_struct& vma_merge_neighbours(Ctx& c, mm_struct& mm, vm_area_struct& vma)
{
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_prev() / vma_next()
    if (vm_area_struct* next = vma_starting_at(mm, vma.vm_end);
        next && (vma.vm_file ? file_mergeable(c, vma, *next)
                             : mergeable(*next, vma.vm_flags, vma.folio_order, vma.anon, vma.vm_pgoff + vma_pages(c, vma)) &&
                                   is_mergeable_anon_vma(vma, *next))) {
        c.k.charge_sw(c, c.k.config().software.vma_modify);
        dup_anon_vma(c, vma, *next);
        const Addr next_end = next->vm_end;
        remove_vma(c, mm, *next);
        anon_vma_interval_tree_pre_update_vma(c, vma);
        vma.vm_end = next_end;
        vma_write_fields(c, vma);
        anon_vma_interval_tree_post_update_vma(c, vma);
    }
    if (vm_area_struct* prev = vma_ending_at(mm, vma.vm_start);
        prev && (vma.vm_file ? file_mergeable(c, *prev, vma)
                             : mergeable(*prev, vma.vm_flags, vma.folio_order, vma.anon, vma.vm_pgoff - vma_pages(c, *prev)) &&
                                   is_mergeable_anon_vma(*prev, vma))) {
        c.k.charge_sw(c, c.k.config().software.vma_modify);
        dup_anon_vma(c, *prev, vma);
        const Addr end = vma.vm_end;
        remove_vma(c, mm, vma);
        anon_vma_interval_tree_pre_update_vma(c, *prev);
        prev->vm_end = end;
        vma_write_fields(c, *prev);
        anon_vma_interval_tree_post_update_vma(c, *prev);
        return *prev;
    }
    return vma;
}

// mm/vma.c vma_merge_extend(): the in-place growth of mremap() (the merge is vma_merge_neighbours()'s)
vm_area_struct& vma_merge_extend(Ctx& c, mm_struct& mm, vm_area_struct& vma, std::uint64_t delta)
{
    c.k.charge_sw(c, c.k.config().software.vma_modify); // vma_expand(): the maple-tree store
    anon_vma_interval_tree_pre_update_vma(c, vma);
    vma.vm_end += delta;
    vma_write_fields(c, vma);
    anon_vma_interval_tree_post_update_vma(c, vma);
    return vma_merge_neighbours(c, mm, vma);
}

Addr do_mmap(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t len, unsigned prot, unsigned flags, int folio_order)
{
    if (!(flags & MAP_ANONYMOUS) || !(flags & (MAP_PRIVATE | MAP_SHARED)) ||
        (flags & (MAP_PRIVATE | MAP_SHARED)) == (MAP_PRIVATE | MAP_SHARED))
        throw std::invalid_argument("do_mmap: only anonymous memory is ported, MAP_PRIVATE or MAP_SHARED");
    len = page_align(c, len);
    if (!len)
        throw std::invalid_argument("do_mmap: zero length");
    if (flags & MAP_FIXED) {
        if (addr % c.k.page_size())
            throw std::invalid_argument("do_mmap: MAP_FIXED address not page aligned");
        if (addr + len - 1 > c.k.format().user_va_last())
            throw std::invalid_argument("do_mmap: range beyond the user address space");
    }
    unsigned order = 0;
    if (folio_order >= 0) {
        order = static_cast<unsigned>(folio_order);
    } else {
        for (std::uint64_t s = c.k.config().folio_size / c.k.page_size(); s > 1; s >>= 1)
            ++order;
    }
    if (!(flags & MAP_FIXED)) {
        // shmem_get_unmapped_area(): a shared anonymous mapping of at least one mTHP folio is aligned to the
        // folio size (the highest enabled order, the VMA's here), so whole folios can be PTE-mapped
        const std::uint64_t folio_bytes = c.k.page_size() << order;
        addr = get_unmapped_area(c, mm, len, (flags & MAP_SHARED) && len >= folio_bytes ? folio_bytes : 0);
    }
    vm_flags_t vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    if (flags & MAP_SHARED) // MAP_SHARED of an anonymous object: shmem (shmem_zero_setup() in __mmap_new_vma())
        vm_flags |= VM_SHARED | VM_MAYSHARE;
    return mmap_region(c, mm, addr, len, vm_flags, order);
}

// mm/util.c vm_mmap_pgoff()
Addr vm_mmap_pgoff(Ctx& c, mm_struct& mm, Addr addr, std::uint64_t len, unsigned prot, unsigned flags, int folio_order)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "mmap asid={} addr={:#x} len={:#x} prot={} order={}", mm.asid, addr, len, prot, folio_order);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    const MmapWriteGuard lock(c, mm);
    return do_mmap(c, mm, addr, len, prot, flags, folio_order);
}

// mm/vma.c do_vmi_munmap() -> do_vmi_align_munmap(): split at the edges, detach, then vms_clear_ptes()
// (unmap_vmas() and free_pgtables() between the neighbours, in one mmu_gather) and remove_vma()
int do_munmap(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len)
{
    if (start % c.k.page_size() || !len)
        return -EINVAL;
    len = page_align(c, len);
    const Addr end = start + len;
    c.k.charge_sw(c, c.k.config().software.vma_lookup); // vma_find()
    std::vector<vm_area_struct*> vmas = vmas_in_range(mm, start, end);
    if (vmas.empty())
        return 0;
    if (vmas.front()->vm_start < start)
        __split_vma(c, mm, *vmas.front(), start, true);
    if (vmas.back()->vm_end > end)
        __split_vma(c, mm, *vmas.back(), end, false);
    vmas = vmas_in_range(mm, start, end);

    // The neighbours bound the page tables that may go (vms->unmap_start / unmap_end).
    Addr floor = 0, ceiling = 0; // FIRST_USER_ADDRESS, USER_PGTABLES_CEILING
    {
        auto it = mm.vmas.find(vmas.front()->vm_start);
        if (it != mm.vmas.begin())
            floor = std::prev(it)->second.vm_end;
        auto nx = mm.vmas.lower_bound(end);
        if (nx != mm.vmas.end())
            ceiling = nx->second.vm_start;
    }
    c.k.charge_sw(c, c.k.config().software.vma_modify); // the detach (vma_iter_clear_gfp())

    mmu_gather tlb;
    tlb_gather_mmu(c, tlb, mm);
    unmap_vmas(c, tlb, vmas, start, end);
    free_pgtables(c, tlb, vmas, floor, ceiling);
    tlb_finish_mmu(c, tlb);
    for (vm_area_struct* vma : vmas)
        remove_vma(c, mm, *vma);
    return 0;
}

// mm/mmap.c __vm_munmap()
int __vm_munmap(Ctx& c, mm_struct& mm, Addr start, std::uint64_t len)
{
    MMUSIM_DEBUG_EVENT(c.cpu.time(), c.cpu.id(), "munmap asid={} start={:#x} len={:#x}", mm.asid, start, len);
    c.k.charge_sw(c, c.k.config().software.syscall_entry);
    const MmapWriteGuard lock(c, mm);
    return do_munmap(c, mm, start, len);
}

// mm/mmap.c exit_mmap()
void exit_mmap(Ctx& c, mm_struct& mm)
{
    c.k.retire_asid(mm.asid);
    const MmapWriteGuard lock(c, mm); // mmap_read_lock() for the unmap, mmap_write_lock() for the tables
    std::vector<vm_area_struct*> vmas;
    for (auto& [start, vma] : mm.vmas)
        vmas.push_back(&vma);
    mmu_gather tlb;
    tlb_gather_mmu_fullmm(c, tlb, mm);
    if (!vmas.empty()) {
        unmap_vmas(c, tlb, vmas, 0, ~Addr{0});
        free_pgtables(c, tlb, vmas, 0, 0); // FIRST_USER_ADDRESS, USER_PGTABLES_CEILING
    }
    tlb_finish_mmu(c, tlb);
    for (vm_area_struct* vma : vmas)
        remove_vma(c, mm, *vma);
}

} // namespace mmusim::mm
