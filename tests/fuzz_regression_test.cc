// SPDX-License-Identifier: GPL-2.0-only
// Replays the fuzz targets (fuzz/targets.hh, the bodies of the libFuzzer harnesses) in the normal test build, no
// clang needed: every file under tests/fuzz_regressions/<harness>/ (the crashes tools/fuzz.sh found, each fixed
// since), the shipped samples and configs the fuzzers are seeded with, and hand-made nasty inputs. A target
// returns when the code under test accepts the input or rejects it with a documented error (ConfigError,
// TraceError); any other exception fails the test, and a crash or hang fails the test binary.
#include "fuzz/targets.hh"
#include "traces/input_stream.hh"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace mmusim::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = MMUSIM_SOURCE_DIR;

std::string slurp_bytes(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> files_in(const fs::path& dir)
{
    std::vector<fs::path> out;
    if (fs::is_directory(dir))
        for (const auto& e : fs::recursive_directory_iterator(dir))
            if (e.is_regular_file())
                out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

Target target(const std::string& name)
{
    for (const NamedTarget& t : all_targets())
        if (name == t.name)
            return t.fn;
    ADD_FAILURE() << "no fuzz target " << name;
    return nullptr;
}

void feed(const std::string& harness, const std::string& input, const std::string& what)
{
    const Target fn = target(harness);
    ASSERT_NE(fn, nullptr);
    EXPECT_NO_THROW(fn(reinterpret_cast<const std::uint8_t*>(input.data()), input.size())) << harness << ": " << what;
}

// gzip framing of `text` (what gzip(1) writes).
std::string gzip(const std::string& text)
{
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, text.size()) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string garbage(std::size_t n, std::uint32_t seed)
{
    std::string s(n, '\0');
    for (char& c : s) {
        seed = seed * 1664525u + 1013904223u; // a fixed LCG: the same bytes every run
        c = static_cast<char>(seed >> 24);
    }
    return s;
}

std::string repeat(const std::string& s, std::size_t n)
{
    std::string out;
    for (std::size_t i = 0; i < n; ++i)
        out += s;
    return out;
}

// Inputs every harness gets.
std::vector<std::pair<std::string, std::string>> common_nasties()
{
    return {{"empty", ""},
            {"one NUL", std::string(1, '\0')},
            {"binary garbage", garbage(4096, 1)},
            {"a 1 MiB line", std::string(1 << 20, '7')},
            {"lone CR", "\r"},
            {"UTF-8 BOM", "\xEF\xBB\xBF"},
            {"invalid UTF-8", "\xC3\x28\xA0\xA1\xE2\x28\xA1\n"}};
}

std::vector<std::pair<std::string, std::string>> yaml_nasties()
{
    return {{"deeply nested flow sequences", repeat("[", 100000) + repeat("]", 100000)},
            {"deeply nested flow maps", repeat("{a: ", 5000) + "1" + repeat("}", 5000)},
            {"deeply nested block maps", [] {
                 std::string s;
                 for (int i = 0; i < 300; ++i)
                     s += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
                 return s;
             }()},
            {"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                           "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                           "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                           "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                           "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"},
            {"self alias", "a: &a {b: *a}\n"},
            {"two documents", "a: 1\n---\nb: 2\n"},
            {"unterminated quote", "a: \"abc\n"},
            {"tab indentation", "a:\n\tb: 1\n"},
            {"merge key", "a: &a {x: 1}\nb: {<<: *a}\n"},
            {"non-scalar key", "? [a, b]\n: 1\n"},
            {"NUL in a scalar", std::string("a: b\0c\n", 7)}};
}

// Replaces every run of digits in `text` by `number` (huge numbers where the schema expects small ones).
std::string with_numbers(const std::string& text, const std::string& number)
{
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (std::isdigit(static_cast<unsigned char>(text[i]))) {
            while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])))
                ++i;
            out += number;
        } else {
            out += text[i++];
        }
    }
    return out;
}

// The seeds tools/fuzz.sh gives each harness (kept in step with its seed_dirs()).
std::map<std::string, std::vector<fs::path>> seeds()
{
    std::map<std::string, std::vector<fs::path>> s;
    s["native_reader"] = {kSource / "traces/samples/native_example.txt", kSource / "traces/samples/program_syscalls.txt"};
    s["lackey_reader"] = {};
    s["compressed_input"] = {kSource / "traces/samples/lackey_true.txt.xz"};
    s["platform_config"] = files_in(kSource / "configs/platforms");
    s["kernel_config"] = files_in(kSource / "configs/kernels");
    s["experiment"] = files_in(kSource / "configs/experiments");
    for (const fs::path& p : files_in(kSource / "configs/sweeps"))
        (p.parent_path().filename() == "experiments" ? s["experiment"] : s["sweep"]).push_back(p);
    s["set_override"] = {};
    for (auto& [harness, files] : s) // and the hand-written ones
        if (fs::is_directory(kSource / "fuzz/seeds" / harness))
            for (const fs::path& p : files_in(kSource / "fuzz/seeds" / harness))
                files.push_back(p);
    return s;
}

// The lackey sample, decompressed, up to `max` bytes (tools/fuzz.sh seeds the lackey harness with its head).
std::string lackey_sample(std::size_t max)
{
    auto in = traces::open_input((kSource / "traces/samples/lackey_true.txt.xz").string());
    std::string out(max, '\0');
    std::size_t got = 0;
    while (got < max) {
        const std::size_t n = in->read(out.data() + got, max - got);
        if (n == 0)
            break;
        got += n;
    }
    out.resize(got);
    return out;
}

// Per harness: hand-made inputs beyond the common ones.
std::vector<std::pair<std::string, std::string>> nasties(const std::string& harness)
{
    std::vector<std::pair<std::string, std::string>> v = common_nasties();
    const std::string xz = slurp_bytes(kSource / "traces/samples/lackey_true.txt.xz");
    const std::string huge = "999999999999999999999999999999";
    if (harness == "native_reader" || harness == "lackey_reader") {
        v.push_back({"huge numbers", "R 0x" + huge + " " + huge + " @" + huge + "\nI  " + huge + "," + huge + "\n"});
        v.push_back({"top of the address space", "W 0xffffffffffffffff 8\nR 0xfffffffffffffff8 8 @3\n S ffffffffffffffff,8\n"});
        v.push_back({"zero and negative sizes", "R 0x1000 0\nR 0x1000 -1\n L 1000,0\n L 1000,-8\n"});
        v.push_back({"no final newline", "R 0x1000 8"});
        v.push_back({"system calls", "mmap 0x1000 0x" + huge + " rw\nmunmap 0xfffffffffffff000 0x2000\nmadvise 0 0 free\n"});
        v.push_back({"the other format's sample", harness == "lackey_reader"
                                                      ? slurp_bytes(kSource / "traces/samples/native_example.txt")
                                                      : xz});
    } else if (harness == "compressed_input") {
        const std::string text = slurp_bytes(kSource / "traces/samples/native_example.txt");
        const std::string gz = gzip(text);
        v.push_back({"whole xz", xz});
        v.push_back({"truncated xz (half)", xz.substr(0, xz.size() / 2)});
        v.push_back({"truncated xz (header only)", xz.substr(0, 12)});
        v.push_back({"xz with a flipped byte", [&] { std::string s = xz; s[s.size() / 2] ^= 0x40; return s; }()});
        v.push_back({"two xz streams", xz + xz});
        v.push_back({"xz then garbage", xz + "garbage"});
        v.push_back({"whole gzip", gz});
        v.push_back({"truncated gzip", gz.substr(0, gz.size() - 5)});
        v.push_back({"gzip header only", gz.substr(0, 10)});
        v.push_back({"two gzip members", gz + gz});
        v.push_back({"gzip then garbage", gz + "garbage"});
        v.push_back({"gzip bomb", gzip(std::string(std::size_t{16} << 20, '\0'))});
    } else if (harness == "set_override") {
        v.push_back({"assignments", "=\n==\n.=1\na..b=1\ncores=\ncores=" + huge + "\ncores=-1\ncores=0x10\n"
                                    "tlb.l1d.0.entries=" + huge + "\nkernel.folio_size=" + huge + "K\n"
                                    "kernel.folio_size=1Z\nkernel.software.fault_entry=1e400\n"
                                    "processes." + huge + ".name=x\nworkload.99999.kind=fork\nworkload.0=\n"
                                    "experiment.set.0=experiment.set.0=x\nx=[[[[\nx={a: *b}\nx=&a [*a]\n"});
        v.push_back({"one deep key", repeat("a.", 10000) + "a=1\n"});
        v.push_back({"list indices", "tlb.0=1\ntlb.-1=1\ntlb.4294967296=1\ntlb.18446744073709551616.x=1\n"});
    } else {
        for (const auto& [name, text] : yaml_nasties())
            v.push_back({name, text});
        const auto all_seeds = seeds(); // a named map: a loop over a temporary's member would dangle
        for (const fs::path& p : all_seeds.at(harness)) {
            const std::string text = slurp_bytes(p);
            v.push_back({p.filename().string() + " with huge numbers", with_numbers(text, huge)});
            v.push_back({p.filename().string() + " with zeros", with_numbers(text, "0")});
            v.push_back({p.filename().string() + " cut in half", text.substr(0, text.size() / 2)});
        }
    }
    return v;
}

class FuzzRegression : public ::testing::TestWithParam<std::string> {};

TEST_P(FuzzRegression, SavedCrashInputs)
{
    for (const fs::path& p : files_in(kSource / "tests/fuzz_regressions" / GetParam()))
        feed(GetParam(), slurp_bytes(p), p.string());
}

TEST_P(FuzzRegression, Seeds)
{
    const auto all_seeds = seeds(); // a named map: a loop over a temporary's member would dangle
    for (const fs::path& p : all_seeds.at(GetParam())) {
        ASSERT_TRUE(fs::is_regular_file(p)) << p;
        feed(GetParam(), slurp_bytes(p), p.string());
    }
    if (GetParam() == "lackey_reader")
        feed(GetParam(), lackey_sample(64 << 10), "the head of traces/samples/lackey_true.txt.xz");
}

TEST_P(FuzzRegression, HandMadeInputs)
{
    for (const auto& [what, input] : nasties(GetParam()))
        feed(GetParam(), input, what);
}

INSTANTIATE_TEST_SUITE_P(Harnesses, FuzzRegression, ::testing::ValuesIn([] {
                             std::vector<std::string> names;
                             for (const NamedTarget& t : all_targets())
                                 names.push_back(t.name);
                             return names;
                         }()),
                         [](const auto& info) { return info.param; });

// Every folder of saved inputs belongs to a harness (a misnamed one would silently never run).
TEST(FuzzRegressionFolders, NameAHarness)
{
    for (const auto& e : fs::directory_iterator(kSource / "tests/fuzz_regressions"))
        if (e.is_directory()) {
            const std::string name = e.path().filename().string();
            EXPECT_TRUE(std::any_of(all_targets().begin(), all_targets().end(),
                                    [&](const NamedTarget& t) { return name == t.name; }))
                << e.path() << " names no harness in fuzz/targets.cc";
        }
}

} // namespace
} // namespace mmusim::fuzz
