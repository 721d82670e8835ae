// SPDX-License-Identifier: GPL-2.0-only
// Trace parsing benchmark (not part of the CMake build). Generates a lackey-style trace in /tmp, parses it with
// the registered "lackey" reader several times and prints the best rate in lines and records per second.
//
// Build and run from the source root:
//   g++ -std=c++17 -O2 -I. bench/trace_parse_bench.cc hw/common/types.cc traces/*.cc traces/readers/*.cc
//       -lz -llzma -o /tmp/trace_parse_bench        (one command)
//   /tmp/trace_parse_bench                 # 10M generated lines (~145 MB, deleted at the end)
//   /tmp/trace_parse_bench 20000000        # 20M generated lines
//   /tmp/trace_parse_bench 0 FILE [FORMAT] # parse an existing FILE (.gz/.xz too) with FORMAT (default lackey)
#include "traces/trace_reader.hh"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using mmusim::traces::ReaderRegistry;
using mmusim::traces::TraceRecord;

namespace {

// Roughly what lackey prints for ordinary code: mostly fetches, then loads, stores and a few modifies.
void generate(const std::string& path, std::uint64_t lines)
{
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        std::perror(path.c_str());
        std::exit(1);
    }
    std::fputs("==4242== Lackey, an example Valgrind tool\n==4242== Command: ./bench\n==4242== \n", f);
    std::uint64_t x = 88172645463325252ull; // xorshift64
    std::uint64_t pc = 0x0401ab70, sp = 0x1fff000708;
    for (std::uint64_t i = 0; i < lines; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const unsigned r = static_cast<unsigned>(x % 100);
        if (r < 65) {
            const unsigned len = 1 + static_cast<unsigned>((x >> 8) % 7);
            std::fprintf(f, "I  %08llx,%u\n", static_cast<unsigned long long>(pc), len);
            pc += len;
            if ((x >> 20) % 50 == 0)
                pc = 0x0400000 + ((x >> 24) % 0x100000);
        } else {
            const char op = r < 88 ? 'L' : r < 97 ? 'S' : 'M';
            const unsigned size = 1u << ((x >> 12) % 4);
            const std::uint64_t addr = (x >> 30) % 4 == 0 ? 0x4a0000 + ((x >> 32) % 0x40000) : sp - ((x >> 32) % 512);
            std::fprintf(f, " %c %08llx,%u\n", op, static_cast<unsigned long long>(addr), size);
        }
    }
    std::fputs("==4242== \n==4242== Exit code:       0\n", f);
    std::fclose(f);
}

} // namespace

int main(int argc, char** argv)
{
    std::uint64_t lines = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10'000'000;
    std::string path = "/tmp/mmusim_trace_parse_bench.lackey";
    std::string format = "lackey";
    const bool generated = argc <= 2;
    if (argc > 2) {
        path = argv[2];
        if (argc > 3)
            format = argv[3];
    } else {
        std::printf("generating %llu lines in %s ...\n", static_cast<unsigned long long>(lines), path.c_str());
        generate(path, lines);
    }

    double best = 1e100;
    std::uint64_t nlines = 0, nrecords = 0, nbytes = 0;
    std::vector<TraceRecord> batch;
    for (int run = 0; run < 5; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        auto reader = ReaderRegistry::instance().open(format, path);
        std::uint64_t records = 0, check = 0;
        while (reader->next_batch(batch, 4096)) {
            records += batch.size();
            for (const TraceRecord& r : batch)
                check += r.addr + r.size;
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        nlines = reader->line();
        nrecords = records;
        nbytes = reader->bytes_read();
        std::printf("run %d: %.3f s  (checksum %llx)\n", run, secs, static_cast<unsigned long long>(check));
        if (secs < best)
            best = secs;
    }
    std::printf("%s: %llu lines, %llu records, %.1f MB input\n", path.c_str(),
                static_cast<unsigned long long>(nlines), static_cast<unsigned long long>(nrecords), nbytes / 1e6);
    std::printf("best %.3f s: %.1f M lines/s, %.1f M records/s, %.0f MB/s\n", best, nlines / best / 1e6,
                nrecords / best / 1e6, nbytes / best / 1e6);
    if (generated)
        std::remove(path.c_str());
    return 0;
}
