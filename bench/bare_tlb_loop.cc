// SPDX-License-Identifier: GPL-2.0-only
// The replay benchmark's ceiling: a plain C++ loop, no SystemC and no mmusim code, that parses valgrind
// lackey lines and looks each access up in LRU TLBs of the same geometry as the benchmarked platform's L1s
// (separate instruction and data TLBs; a modify is a load and a store). Prints "bare: N records in T s
// (R records/s)". Built by CMake as bench/bare_tlb_loop; run by bench/replay_bench.sh.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

struct Lru {
    Lru(unsigned entries, unsigned ways) : ways(ways), sets(entries / ways), tags(entries, ~0ULL), stamp(entries, 0) {}
    bool access(std::uint64_t vpn)
    {
        const std::size_t base = (vpn % sets) * ways;
        std::size_t victim = base;
        for (std::size_t i = base; i < base + ways; ++i) {
            if (tags[i] == vpn) {
                stamp[i] = ++clock;
                return true;
            }
            if (stamp[i] < stamp[victim])
                victim = i;
        }
        tags[victim] = vpn;
        stamp[victim] = ++clock;
        return false;
    }
    unsigned ways, sets;
    std::vector<std::uint64_t> tags, stamp;
    std::uint64_t clock = 0;
};

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: bare_tlb_loop LACKEY_FILE [ENTRIES WAYS]\n");
        return 2;
    }
    const unsigned entries = argc > 3 ? unsigned(std::atoi(argv[2])) : 64;
    const unsigned ways = argc > 3 ? unsigned(std::atoi(argv[3])) : 4;
    std::FILE* f = std::fopen(argv[1], "rb");
    if (!f) {
        std::perror(argv[1]);
        return 2;
    }
    Lru itlb(entries, ways), dtlb(entries, ways);
    std::uint64_t records = 0, misses = 0;
    std::vector<char> buf(1 << 20);
    std::size_t have = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        const std::size_t n = std::fread(buf.data() + have, 1, buf.size() - have, f);
        have += n;
        if (have == 0)
            break;
        std::size_t pos = 0;
        for (;;) {
            const char* line = buf.data() + pos;
            const char* nl = static_cast<const char*>(std::memchr(line, '\n', have - pos));
            if (!nl)
                break;
            pos = std::size_t(nl - buf.data()) + 1;
            // "I  addr,size", " L addr,size", " S ...", " M ..."; anything else is skipped.
            char op = line[0] == 'I' ? 'I' : line[1];
            if ((line[0] != 'I' && line[0] != ' ') || (op != 'I' && op != 'L' && op != 'S' && op != 'M'))
                continue;
            std::uint64_t addr = 0;
            for (const char* p = line + 3; p < nl && *p != ','; ++p)
                addr = addr * 16 + std::uint64_t(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
            const std::uint64_t vpn = addr >> 12;
            if (op == 'I') {
                misses += !itlb.access(vpn);
                ++records;
            } else {
                misses += !dtlb.access(vpn);
                ++records;
                if (op == 'M') {
                    misses += !dtlb.access(vpn);
                    ++records;
                }
            }
        }
        std::memmove(buf.data(), buf.data() + pos, have - pos);
        have -= pos;
        if (n == 0)
            break;
    }
    std::fclose(f);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("bare: %llu records in %.6f s (%.2f M records/s), %llu misses\n", static_cast<unsigned long long>(records),
                secs, double(records) / secs / 1e6, static_cast<unsigned long long>(misses));
    return 0;
}
