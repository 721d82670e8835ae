// SPDX-License-Identifier: GPL-2.0-only
// One record of a trace, as every reader produces it: a memory access, or a memory system call of the traced
// process (mmap, munmap, mprotect, madvise; native traces only, docs/TRACES.md "System call records").
//
// 16 bytes whatever the type, so that the hot access path moves no more data than before the system calls:
//
//   addr  8  access: the virtual address;       system call: ADDR (4 KiB aligned)
//   size  4  access: bytes;                      system call: LEN in 4 KiB units (kLenUnit)
//   kind  1  access: the AccessKind;             system call: its argument byte (arg(), below)
//   type  1  RecordType: Access (0) or the system call
//   core  2  the issuing core (or, in an experiment, the process's thread)
//
// A system call's argument byte: mprotect: the PROT_* bits; madvise: the MADV_* number; mmap: the PROT_* bits
// in bits 0-2 and log2 of the VMA's folio size in bits 3-7 (0: the kernel configuration's folio_size). The
// numbers are Linux's uapi values (include/uapi/asm-generic/mman-common.h), so they pass to the kernel as they are.
#pragma once

#include "hw/common/types.hh"

#include <cstddef>
#include <cstdint>
#include <string>

namespace mmusim::traces {

enum class RecordType : std::uint8_t { Access = 0, Mmap, Munmap, Mprotect, Madvise };
inline constexpr std::size_t kRecordTypes = 5;
inline constexpr std::size_t kSyscallTypes = kRecordTypes - 1; // indexed by syscall_index()

// The record keyword in native traces ("mmap", ...); "access" for an access.
const char* to_string(RecordType t);
inline std::size_t syscall_index(RecordType t) { return static_cast<std::size_t>(t) - 1; }

// Linux's uapi values of the arguments a record can carry.
namespace sys {
inline constexpr std::uint8_t kProtRead = 0x1, kProtWrite = 0x2, kProtExec = 0x4, kProtMask = 0x7;
inline constexpr std::uint8_t kMadvDontneed = 4, kMadvFree = 8, kMadvCold = 20, kMadvPageout = 21;
inline constexpr std::uint64_t kLenUnit = 4096; // LEN and ADDR granule of a system call record
inline constexpr unsigned kFolioShiftBits = 3;  // mmap: log2(folio) above the PROT bits

// mmap's argument byte from PROT bits and log2 of the folio size (0: the kernel configuration's).
inline constexpr std::uint8_t mmap_arg(std::uint8_t prot, unsigned folio_log2)
{
    return static_cast<std::uint8_t>((prot & kProtMask) | (folio_log2 << kFolioShiftBits));
}
inline constexpr std::uint8_t mmap_prot(std::uint8_t arg) { return arg & kProtMask; }
inline constexpr unsigned mmap_folio_log2(std::uint8_t arg) { return arg >> kFolioShiftBits; }
// The largest folio_log2 the argument byte holds.
inline constexpr unsigned kMaxFolioLog2 = 0xffu >> kFolioShiftBits;
} // namespace sys

struct TraceRecord {
    Addr addr = 0;
    std::uint32_t size = 1; // access: bytes (an access crossing a page boundary is split by the replayer)
    AccessKind kind = AccessKind::Read;
    RecordType type = RecordType::Access;
    std::uint16_t core = 0;

    bool is_access() const { return type == RecordType::Access; }
    // System call records: the argument byte (kept in `kind`'s byte), and LEN in bytes.
    std::uint8_t arg() const { return static_cast<std::uint8_t>(kind); }
    void set_arg(std::uint8_t a) { kind = static_cast<AccessKind>(a); }
    std::uint64_t len() const { return std::uint64_t{size} * sys::kLenUnit; }
};
static_assert(sizeof(TraceRecord) == 16, "a trace record is 16 bytes: batches and the replay loop depend on it");

// A system call record as its native trace line would show it ("mprotect 0x10000 0x2000 r @1"), for messages.
std::string describe(const TraceRecord& r);

} // namespace mmusim::traces
