// SPDX-License-Identifier: GPL-2.0-only
#include "tools/replay/replayer.hh"

#include "mm/debug_vm.hh"
#include "mm/huge_memory.hh"
#include "mm/madvise.hh"
#include "mm/memory.hh"
#include "mm/mmap.hh"

#include <stdexcept>
#include <string>

namespace mmusim::tools {

namespace {

traces::RecordLimits record_limits(const hw::Platform& platform)
{
    traces::RecordLimits l;
    l.cores = platform.cores();
    l.max_cores = kMaxCores;
    l.va_last = platform.format().user_va_last();
    l.va_space = platform.format().name() + " " + platform.format().variant();
    l.page_size = platform.format().page_size();
    return l;
}

} // namespace

Replayer::Replayer(hw::Platform& platform, mm::KernelConfig kernel, traces::TraceReader& reader, ProgressFn progress,
                   ReplayOptions options)
    : platform_(platform), kernel_(std::make_unique<mm::Kernel>(platform, std::move(kernel))),
      driver_((reader.set_limits(record_limits(platform)),
               std::make_unique<TraceDriver>(platform, *kernel_, reader, platform.cores(), std::move(progress)))),
      per_core_(platform.cores()), options_(options)
{
}

Replayer::~Replayer() = default;

const mm::mm_struct& Replayer::mm() const
{
    if (!mm_)
        throw std::logic_error("Replayer::mm(): the process is created by run()");
    return *mm_;
}

// exec() of the traced program, as far as its memory goes: the mm, and one anonymous private mapping over the
// whole user address range (the trace's addresses are all the program's memory), in the VMA's mTHP order; at
// the PMD size, madvise(MADV_HUGEPAGE) so that faults map PMD-sized THPs.
void Replayer::start_process(hw::Core& core)
{
    const Cycles start = core.now();
    mm::Ctx c{*kernel_, core};
    mm::mm_struct& mm = kernel_->mm_alloc(c);
    mm_ = &mm;
    if (!options_.premap) {
        per_core_[core.id()].startup_cycles += core.now() - start;
        return;
    }
    const hw::PageTableFormat& fmt = platform_.format();
    const std::uint64_t len = fmt.user_va_last() + 1;
    const std::uint64_t folio = kernel_->config().folio_size;
    const bool pmd_thp = folio == mm::hpage_pmd_size(c);
    int order = 0;
    for (std::uint64_t s = folio / fmt.page_size(); s > 1; s >>= 1)
        ++order;
    // A PMD-sized THP is mapped by a PMD; smaller mTHP orders are off then (a failed THP falls back to order 0).
    mm::vm_mmap_pgoff(c, mm, 0, len, mm::PROT_READ | mm::PROT_WRITE | mm::PROT_EXEC,
                      mm::MAP_PRIVATE | mm::MAP_ANONYMOUS | mm::MAP_FIXED, pmd_thp ? 0 : order);
    if (pmd_thp && mm::do_madvise(c, mm, 0, len, mm::MADV_HUGEPAGE) != 0)
        throw std::logic_error("replay: madvise(MADV_HUGEPAGE) of the process's mapping failed");
    per_core_[core.id()].startup_cycles += core.now() - start;
}

void Replayer::run()
{
    platform_.core(0).set_work([this](hw::Core& core) { start_process(core); });
    platform_.run();
    // Every core runs the process: switch_mm() loads its ASID and root table, and the core joins mm_cpumask.
    for (unsigned i = 0; i < platform_.cores(); ++i) {
        hw::Core& c = platform_.core(i);
        c.mmu().set_context(mm_->asid, mm_->pgd);
        mm_->cpumask.set(i);
        c.set_work([this](hw::Core& core) { driver_->run_lane(core, core.id()); });
    }
    driver_->set_mm(*mm_);
    platform_.run();
    for (unsigned i = 0; i < platform_.cores(); ++i) {
        const Cycles startup = per_core_[i].startup_cycles;
        per_core_[i] = driver_->counters(i);
        per_core_[i].startup_cycles = startup;
    }
    if (platform_.checked()) {
        check(0, platform_.format().user_va_last());
        mm::check_mm_state(*kernel_, "end of the replay");
    }
}

void Replayer::check(Addr first, Addr last) { platform_.oracle().require_clean(first, last, mm_->asid, mm_->pgd); }

ReplayCounters Replayer::total() const
{
    ReplayCounters t;
    for (const ReplayCounters& c : per_core_)
        t.add(c);
    return t;
}

} // namespace mmusim::tools
