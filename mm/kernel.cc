// SPDX-License-Identifier: GPL-2.0-only
#include "mm/kernel.hh"

#include "mm/page_table_check.hh"
#include "mm/swap.hh"
#include "mm/swapfile.hh"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace mmusim::mm {

// Boot (mm/mm_init.c): memblock hands memory to the buddy, vmemmap covers every base page with a 64-byte
// struct page, the zero page is reserved (mm/memory.c), then the architecture and the page allocator.
// Boot-time memory is fresh, so it reads as zero; no core runs yet, so nothing here is timed.
Kernel::Kernel(hw::Platform& platform, KernelConfig cfg)
    : platform_(platform), cfg_(std::move(cfg)), phys_(platform.config().memory.size)
{
    const std::uint64_t pages = platform_.config().memory.size >> page_shift();
    vmemmap_ = phys_.alloc(pages * kStructPageBytes, page_size());
    zero_pfn_ = phys_.alloc(page_size(), page_size()) >> page_shift();
    tlb_ubc_.resize(platform_.cores()); // fixed size: references to a core's batch stay valid
    arch_ = make_arch(*this);
    page_alloc_ = std::make_unique<PageAllocator>(*this, phys_);
    lruvec_ = phys_.alloc(LRUVEC_BYTES, 64);
    lruvec_init(platform_.memory().memory(), lruvec_);
    if (cfg_.swap_size)
        swap_ = std::make_unique<Swap>(*this, phys_, cfg_.swap_size); // swapon at boot
    if (platform_.checked())
        ptc_ = std::make_unique<PageTableCheck>(*this);
}

Kernel::~Kernel() = default;

Swap& Kernel::swap()
{
    if (!swap_)
        throw std::logic_error("no swap device: kernel.swap_size is 0");
    return *swap_;
}

// include/linux/slab.h kzalloc(): slab objects come from the buddy here, 64-byte granular; zeroed through
// the caches by the core that allocates them.
PAddr Kernel::kmalloc(Ctx& c, std::uint64_t bytes)
{
    const std::uint64_t size = std::max<std::uint64_t>((bytes + 63) & ~std::uint64_t{63}, 64);
    const PAddr pa = phys_.alloc(size, 64);
    c.cpu.clear_page(pa, size, hw::Category::KernelMemory);
    return pa;
}

// mm/slub.c kfree()
void Kernel::kfree(Ctx&, PAddr pa, std::uint64_t bytes)
{
    const std::uint64_t size = std::max<std::uint64_t>((bytes + 63) & ~std::uint64_t{63}, 64);
    phys_.free(pa, size, 64);
}

// kernel/fork.c mm_alloc() -> mm_init(): the mm_struct (counters zero, page_table_lock unlocked), pgd_alloc(),
// and an ASID (arm64 assigns it at first switch_mm, x86 a PCID per CPU; one per mm here, never reused, so no
// rollover flush is needed).
mm_struct& Kernel::mm_alloc(Ctx& c)
{
    if (next_asid_ == std::numeric_limits<Asid>::max())
        throw std::runtime_error("out of ASIDs: the simulated kernel does not recycle them");
    auto mm = std::make_unique<mm_struct>();
    mm->addr = kmalloc(c, MM_STRUCT_BYTES);
    mm->pgd = page_alloc_->pagetable_alloc(c, 0);
    mm->asid = next_asid_++;
    mm->mm_id = next_mm_id_++; // mm_alloc_id(): an IDA upstream; never reused here
    mms_.push_back(std::move(mm));
    return *mms_.back();
}

// kernel/fork.c __mmdrop(): mm_free_pgd() and free_mm()
void Kernel::mm_free(Ctx& c, mm_struct& mm)
{
    if (!mm.vmas.empty())
        throw std::logic_error("mm_free: the mm still has VMAs (exit_mmap() first)");
    const auto it = std::find_if(mms_.begin(), mms_.end(), [&](const auto& p) { return p.get() == &mm; });
    if (it == mms_.end())
        throw std::logic_error("mm_free: not an mm of this kernel");
    page_alloc_->pagetable_free(c, mm.pgd, 0);
    kfree(c, mm.addr, MM_STRUCT_BYTES);
    mms_.erase(it);
}

tlbflush_unmap_batch& Kernel::tlb_ubc(const Ctx& c)
{
    return tlb_ubc_.at(c.cpu.id());
}

void Kernel::phase_enter(Ctx& c, const char* name)
{
    if (phases_.size() <= c.cpu.id())
        phases_.resize(c.cpu.id() + 1);
    phases_[c.cpu.id()].push_back({name, c.cpu.now(), 0});
    if (hw::Timeline* t = c.cpu.timeline())
        t->begin(c.cpu.id(), c.cpu.time(), name);
}

void Kernel::phase_exit(Ctx& c)
{
    auto& stack = phases_[c.cpu.id()];
    const PhaseFrame f = stack.back();
    stack.pop_back();
    const Cycles total = c.cpu.now() - f.start;
    stats_.phases[f.name] += total - f.children;
    if (hw::Timeline* t = c.cpu.timeline())
        t->end(c.cpu.id(), c.cpu.time());
    if (!stack.empty())
        stack.back().children += total;
}

} // namespace mmusim::mm
