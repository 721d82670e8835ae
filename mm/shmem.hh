// SPDX-License-Identifier: GPL-2.0-only
// Shared anonymous memory (mm/shmem.c, with the page-cache helpers of mm/filemap.c it uses): a
// MAP_SHARED | MAP_ANONYMOUS mapping gets a shmem object (shmem_zero_setup()): a struct file, its inode and
// its address_space in simulated memory, whose page cache (i_pages) is an xarray of simulated nodes. A fault
// finds the folio there or allocates, zeroes and adds one (shmem_fault() -> shmem_get_folio_gfp()); the last
// VMA's fput() evicts the inode (shmem_evict_inode() -> shmem_undo_range()), every cached folio going back to
// the allocator.
//
// Simplifications (each said where it is made):
//  - huge= policy: the folio order is the VMA's mTHP order (vm_area_struct::folio_order), falling back to
//    order 0 when the aligned range does not fit the VMA or the file, or some index in it is cached already.
//  - the xarray has a fixed height, from i_size at creation (a shared anonymous object never grows), and a
//    large folio occupies each of its indexes with the folio pointer (upstream: one multi-index entry with
//    sibling entries); nodes are freed when the inode goes (xas_delete_node() of an emptied node is not
//    modelled: nothing but eviction removes entries).
//  - no swap: shmem folios are never reclaimed (MADV_PAGEOUT / MADV_COLD refuse shared VMAs), no shmem
//    accounting (shmem_inode_acct_blocks(), vm_enough_memory), no memcg, no userfaultfd, no fallocate.
#pragma once

#include "mm/kernel.hh"
#include "mm/memory.hh"

#include <memory>
#include <optional>

namespace mmusim::mm {

// Simulated layout of the shmem object: struct file (f_count), the inode (i_size) and its address_space
// (i_pages' xa_lock and xa_head, nrpages), the fields the ported paths touch, from shmem_file::addr.
constexpr unsigned SHMEM_OFF_F_COUNT = 0, SHMEM_OFF_I_SIZE = 64, SHMEM_OFF_XA_LOCK = 128,
                   SHMEM_OFF_XA_HEAD = 136, SHMEM_OFF_NRPAGES = 144, SHMEM_FILE_BYTES = 192;
// include/linux/xarray.h struct xa_node (64-bit, XA_CHUNK_SHIFT 6): shift, offset, count, nr_values, parent,
// array, private_list, slots[64], marks[3]
constexpr unsigned XA_CHUNK_SHIFT = 6, XA_CHUNK_SIZE = 1u << XA_CHUNK_SHIFT;
constexpr unsigned XA_NODE_OFF_SHIFT = 0, XA_NODE_OFF_OFFSET = 1, XA_NODE_OFF_COUNT = 2, XA_NODE_OFF_PARENT = 8,
                   XA_NODE_OFF_ARRAY = 16, XA_NODE_OFF_SLOTS = 40, XA_NODE_BYTES = 576;

struct shmem_file {
    PAddr addr = 0;             // simulated struct file / inode / address_space
    std::uint64_t nr_pages = 0; // i_size in pages (host copy of the simulated i_size)
    unsigned top_shift = 0;     // shift of the xarray's root node (fixed height)
};

// mm/shmem.c shmem_zero_setup() -> shmem_kernel_file_setup(): a new object of `size` bytes with no
// reference yet; the VMA that gets it takes the first (vma_insert_copy() -> get_file()).
std::shared_ptr<shmem_file> shmem_zero_setup(Ctx& c, std::uint64_t size);
// include/linux/fs.h get_file(): atomic_long_inc(&f->f_count)
void get_file(Ctx& c, shmem_file& f);
// fs/file_table.c fput(): the last reference evicts the inode (__fput() -> iput() -> shmem_evict_inode())
void fput(Ctx& c, const std::shared_ptr<shmem_file>& f);

// mm/shmem.c shmem_fault(): vmf.page is the faulting page of a folio found in or added to the page cache,
// returned locked with a reference (VM_FAULT_LOCKED), or VM_FAULT_SIGBUS beyond i_size / VM_FAULT_OOM.
vm_fault_t shmem_fault(Ctx& c, vm_fault& vmf);

// mm/filemap.c filemap_get_entry() without the reference: the folio cached at `index`, if any (the xarray
// walk's timed loads). For tests and the report.
std::optional<Folio> shmem_lookup(Ctx& c, shmem_file& f, std::uint64_t index);
// The file's nrpages (mapping->nrpages)
std::uint64_t shmem_nrpages(Ctx& c, shmem_file& f);

// include/linux/mm.h mm_counter_file(): MM_SHMEMPAGES for a swap-backed (shmem) folio, else MM_FILEPAGES
MmCounter mm_counter_file(Ctx& c, Folio folio);

} // namespace mmusim::mm
