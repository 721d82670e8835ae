// SPDX-License-Identifier: GPL-2.0-only
// System call records of the native format (mmap, munmap, mprotect, madvise): every form, every error, the
// record's 16-byte layout and its argument byte.
#include "tests/traces/trace_test_util.hh"

namespace mmusim::traces {
namespace {

using test::parse_error;
using test::parse_file;

TraceRecord sys_rec(RecordType t, Addr a, std::uint32_t units, std::uint8_t arg, std::uint16_t core = 0)
{
    TraceRecord r;
    r.type = t;
    r.addr = a;
    r.size = units;
    r.set_arg(arg);
    r.core = core;
    return r;
}

constexpr std::uint8_t kRw = sys::kProtRead | sys::kProtWrite;

TEST(NativeSyscall, RecordIsSixteenBytes)
{
    EXPECT_EQ(sizeof(TraceRecord), 16u);
    // The argument byte round-trips through the kind byte; mmap packs PROT and log2(folio).
    TraceRecord r;
    r.set_arg(sys::mmap_arg(sys::kProtRead, 16));
    EXPECT_EQ(sys::mmap_prot(r.arg()), sys::kProtRead);
    EXPECT_EQ(sys::mmap_folio_log2(r.arg()), 16u);
    EXPECT_EQ(sys::mmap_folio_log2(sys::mmap_arg(0x7, sys::kMaxFolioLog2)), sys::kMaxFolioLog2);
}

TEST(NativeSyscall, EveryForm)
{
    struct Form {
        const char* line;
        TraceRecord want;
    };
    const Form forms[] = {
        {"mmap 0x10000000 8M", sys_rec(RecordType::Mmap, 0x10000000, 2048, sys::mmap_arg(kRw, 0))},
        {"mmap 0x10000000 4096 r", sys_rec(RecordType::Mmap, 0x10000000, 1, sys::mmap_arg(sys::kProtRead, 0))},
        {"mmap 0x10000000 4K none", sys_rec(RecordType::Mmap, 0x10000000, 1, sys::mmap_arg(0, 0))},
        {"mmap 0x10000000 4K rwx folio=64K @2",
         sys_rec(RecordType::Mmap, 0x10000000, 1, sys::mmap_arg(0x7, 16), 2)},
        {"mmap 0x10000000 2M folio=2M", sys_rec(RecordType::Mmap, 0x10000000, 512, sys::mmap_arg(kRw, 21))},
        {"mmap 268435456 0x2000 rw # comment", sys_rec(RecordType::Mmap, 0x10000000, 2, sys::mmap_arg(kRw, 0))},
        {"munmap 0x10000000 8M", sys_rec(RecordType::Munmap, 0x10000000, 2048, 0)},
        {"munmap\t0x10000000\t4K\t@1", sys_rec(RecordType::Munmap, 0x10000000, 1, 0, 1)},
        {"mprotect 0x10000000 4M r", sys_rec(RecordType::Mprotect, 0x10000000, 1024, sys::kProtRead)},
        {"mprotect 0x10000000 4K none @3", sys_rec(RecordType::Mprotect, 0x10000000, 1, 0, 3)},
        {"mprotect 0x10000000 4K rwx", sys_rec(RecordType::Mprotect, 0x10000000, 1, 0x7)},
        {"madvise 0x10000000 2M dontneed", sys_rec(RecordType::Madvise, 0x10000000, 512, sys::kMadvDontneed)},
        {"madvise 0x10000000 4K free", sys_rec(RecordType::Madvise, 0x10000000, 1, sys::kMadvFree)},
        {"madvise 0x10000000 4K cold", sys_rec(RecordType::Madvise, 0x10000000, 1, sys::kMadvCold)},
        {"madvise 0x10000000 4K pageout @1#c", sys_rec(RecordType::Madvise, 0x10000000, 1, sys::kMadvPageout, 1)},
        {"munmap 0x0 0xffffffff000", sys_rec(RecordType::Munmap, 0, 0xffffffffu, 0)},
    };
    for (const auto& f : forms) {
        SCOPED_TRACE(f.line);
        test::expect_records(parse_file("native", std::string(f.line) + "\n"), {f.want});
    }
}

TEST(NativeSyscall, MixedWithAccessesInOrder)
{
    const auto got = parse_file("native", "mmap 0x100000 1M\nW 0x100008 8\nmunmap 0x100000 1M @1\nR 0x10\n");
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[0].type, RecordType::Mmap);
    EXPECT_TRUE(got[1].is_access());
    EXPECT_EQ(got[1].kind, AccessKind::Write);
    EXPECT_EQ(got[2].type, RecordType::Munmap);
    EXPECT_EQ(got[2].core, 1u);
    EXPECT_TRUE(got[3].is_access()); // a record reused after a system call is an access again
    EXPECT_EQ(got[3].kind, AccessKind::Read);
    EXPECT_EQ(describe(got[2]), "munmap 0x100000 0x100000 @1");
}

TEST(NativeSyscall, EveryErrorNamesFileLineAndField)
{
    struct Bad {
        const char* line;
        const char* message;
    };
    const Bad bads[] = {
        {"mmapp 0x1000 4K", "expected R, W, X or a system call (mmap, munmap, mprotect, madvise), got 'mmapp'"},
        {"MMAP 0x1000 4K", "got 'MMAP'"},
        {"fork", "got 'fork'"},
        {"mmap", "mmap: missing ADDR"},
        {"munmap @1", "munmap: missing ADDR"},
        {"mmap 0x1000", "mmap: missing LEN"},
        {"mprotect 0x1000 # c", "mprotect: missing LEN"},
        {"madvise 0x1000 @1", "madvise: missing LEN"},
        {"mmap 0x1001 4K", "mmap: ADDR '0x1001' is not a multiple of 4K"},
        {"mmap 0xg000 4K", "mmap: bad ADDR '0xg000'"},
        {"mmap 0x1000 4097", "mmap: LEN '4097' is not a multiple of 4K"},
        {"munmap 0x1000 1K", "munmap: LEN '1K' is not a multiple of 4K"},
        {"munmap 0x1000 0", "munmap: LEN must be > 0"},
        {"munmap 0x1000 4Q", "munmap: bad LEN '4Q'"},
        {"munmap 0x1000 0x100000000000", "munmap: LEN '0x100000000000' too large (at most 2^32-1 times 4K)"},
        {"mmap 0x1000 4K rx", "mmap: bad PROT 'rx' (expected none, r, rw or rwx)"},
        {"mprotect 0x1000 4K", "mprotect: missing PROT"},
        {"mprotect 0x1000 4K w", "mprotect: bad PROT 'w'"},
        {"madvise 0x1000 4K", "madvise: missing ADVICE"},
        {"madvise 0x1000 4K willneed", "madvise: bad ADVICE 'willneed' (expected dontneed, free, cold or pageout)"},
        {"mmap 0x1000 4K folio=3K", "mmap: bad folio 'folio=3K' (expected folio=SIZE, a power of two from 4K to 2G)"},
        {"mmap 0x1000 4K folio=2K", "mmap: bad folio 'folio=2K'"},
        {"mmap 0x1000 4K folio=", "mmap: bad folio 'folio='"},
        {"mmap 0x1000 4K folio=4G", "mmap: bad folio 'folio=4G'"},
        {"mmap 0x1000 4K rw rw", "mmap: trailing garbage 'rw'"},
        {"munmap 0x1000 4K r", "munmap: trailing garbage 'r'"},
        {"munmap 0x1000 4K @x", "munmap: bad core '@x'"},
        {"munmap 0x1000 4K @70000", "munmap: core '@70000' out of range (max 65535)"},
        {"munmap 0xfffffffffffff000 8K", "munmap: range of 0x2000 bytes at 0xfffffffffffff000 wraps past the top"},
    };
    for (const Bad& b : bads) {
        SCOPED_TRACE(b.line);
        const std::string err = parse_error("native", "R 0x10\n" + std::string(b.line) + "\n");
        EXPECT_NE(err.find("bad.trace:2: "), std::string::npos) << err;
        EXPECT_NE(err.find(b.message), std::string::npos) << err;
    }
}

TEST(NativeSyscall, PlatformLimitsAreErrorsOnTheLine)
{
    test::ScratchDir dir;
    const auto error_with = [&](const std::string& text, const RecordLimits& l) -> std::string {
        auto r = ReaderRegistry::instance().open("native", dir.write("l.trace", text));
        r->set_limits(l);
        std::vector<TraceRecord> b;
        try {
            while (r->next_batch(b, 64)) {
            }
        } catch (const TraceError& e) {
            return e.what();
        }
        return "";
    };
    RecordLimits l;
    l.page_size = 65536;
    l.va_last = (Addr{1} << 48) - 1;
    l.cores = 2;
    EXPECT_NE(error_with("mmap 0x1000 64K\n", l).find("l.trace:1: mmap: ADDR 0x1000 is not a multiple of the page size (65536 bytes)"),
              std::string::npos);
    EXPECT_NE(error_with("munmap 0x10000 4K\n", l).find("l.trace:1: munmap: LEN 0x1000 is not a multiple of the page size"),
              std::string::npos);
    EXPECT_NE(error_with("mmap 0x10000 64K folio=16K\n", l).find("l.trace:1: mmap: folio '16K' is smaller than the page size (65536 bytes)"),
              std::string::npos);
    EXPECT_NE(error_with("munmap 0xffffffff0000 128K\n", l).find("ends outside the user address range"), std::string::npos);
    EXPECT_NE(error_with("munmap 0x10000 64K @2\n", l).find("record for core 2 but the platform has 2 core(s)"),
              std::string::npos);
    EXPECT_EQ(error_with("mmap 0x10000 64K folio=64K @1\n", l), "");
}

} // namespace
} // namespace mmusim::traces
