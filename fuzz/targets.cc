// SPDX-License-Identifier: GPL-2.0-only
// Fuzz target bodies (see targets.hh). Trace readers get the input from memory, in short reads of varying size
// so that lines cut across reads are exercised; the loaders take paths, so their input is written to a file in a
// scratch directory of this process first.
#include "fuzz/targets.hh"

#include "hw/platform/platform_config.hh"
#include "mm/kernel_config.hh"
#include "tools/commands/commands.hh"
#include "tools/experiment/experiment.hh"
#include "tools/sweep/sweep_spec.hh"
#include "traces/input_stream.hh"
#include "traces/trace_reader.hh"
#include "util/config_error.hh"
#include "util/config_node.hh"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace mmusim::fuzz {

namespace {

namespace fs = std::filesystem;

// A private directory for this process's input files, removed at exit.
class ScratchDir {
public:
    ScratchDir()
    {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mmusim-fuzz-XXXXXX";
        if (!::mkdtemp(tmpl.data()))
            throw std::runtime_error("fuzz: cannot create a scratch directory under " + tmpl);
        dir_ = tmpl;
        // Sweeps name their experiment relative to the sweep file, as the shipped ones do
        // ("experiments/fork.yaml"): make those resolve.
        fs::create_directory_symlink(fs::path(MMUSIM_SOURCE_DIR) / "configs/sweeps/experiments", dir_ / "experiments");
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir()
    {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // Writes the input to DIR/name and returns the path.
    std::string write(const std::string& name, const std::uint8_t* data, std::size_t size) const
    {
        const fs::path p = dir_ / name;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        out.close();
        if (!out)
            throw std::runtime_error("fuzz: cannot write " + p.string());
        return p.string();
    }

private:
    fs::path dir_;
};

const ScratchDir& scratch()
{
    static const ScratchDir dir;
    return dir;
}

// The input in memory, handed out in reads of 1..13 bytes (never more than asked for) so that every line
// boundary case of the readers' line buffer is met.
class MemoryStream final : public traces::InputStream {
public:
    MemoryStream(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) { name_ = "fuzz-input"; }
    std::size_t read(char* buf, std::size_t n) override
    {
        const std::size_t chunk = std::min({n, size_ - pos_, std::size_t{1} + reads_++ % 13});
        std::copy(data_ + pos_, data_ + pos_ + chunk, buf);
        pos_ += chunk;
        return chunk;
    }
    std::uint64_t bytes_consumed() const override { return pos_; }
    std::uint64_t size_hint() const override { return size_; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::size_t reads_ = 0;
};

// Reads every record, once with no limits and once with a small platform's (4 cores, 48-bit VA, 4K pages).
void read_trace(const char* format, const std::uint8_t* data, std::size_t size)
{
    const traces::ReaderInfo* info = traces::ReaderRegistry::instance().find(format);
    if (!info)
        throw std::logic_error(std::string("fuzz: no reader '") + format + "'");
    for (int limited = 0; limited < 2; ++limited) {
        try {
            auto reader = info->make(std::make_unique<MemoryStream>(data, size));
            if (limited) {
                traces::RecordLimits lim;
                lim.cores = 4;
                lim.max_cores = 64;
                lim.va_last = (Addr{1} << 48) - 1;
                lim.va_space = "48-bit VA";
                lim.page_size = 4096;
                reader->set_limits(lim);
            }
            std::vector<traces::TraceRecord> batch;
            while (reader->next_batch(batch, 64))
                if (batch.empty() || batch.size() > 64)
                    throw std::logic_error("fuzz: next_batch returned true with " + std::to_string(batch.size()) +
                                           " records");
        } catch (const traces::TraceError&) {
        }
    }
}

// The shipped platforms, loaded once; the input's size picks one (so that x86, arm64 and riscv checks all run).
const hw::PlatformConfig& some_platform(std::size_t size)
{
    static const std::vector<hw::PlatformConfig> platforms = [] {
        std::vector<hw::PlatformConfig> v;
        for (const std::string& name : tools::shipped_platforms())
            v.push_back(hw::load_platform_file(tools::resolve_platform(name)));
        return v;
    }();
    return platforms.at(size % platforms.size());
}

} // namespace

void native_reader(const std::uint8_t* data, std::size_t size) { read_trace("native", data, size); }

void lackey_reader(const std::uint8_t* data, std::size_t size) { read_trace("lackey", data, size); }

void compressed_input(const std::uint8_t* data, std::size_t size)
{
    constexpr std::size_t kMaxOut = std::size_t{64} << 20; // a decompression bomb is no bug: stop reading
    std::vector<char> buf(std::size_t{1} << 16);
    for (const char* name : {"input.gz", "input.xz"}) {
        try {
            auto in = traces::open_input(scratch().write(name, data, size));
            std::size_t total = 0;
            std::size_t n = 0;
            while (total < kMaxOut && (n = in->read(buf.data(), buf.size())) != 0) {
                if (n > buf.size())
                    throw std::logic_error("fuzz: read returned more than asked for");
                total += n;
            }
            if (in->bytes_consumed() > size)
                throw std::logic_error("fuzz: consumed " + std::to_string(in->bytes_consumed()) + " of " +
                                       std::to_string(size) + " bytes");
        } catch (const traces::TraceError&) {
        }
    }
}

void platform_config(const std::uint8_t* data, std::size_t size)
{
    try {
        (void)hw::load_platform_file(scratch().write("platform.yaml", data, size));
    } catch (const ConfigError&) {
    }
}

void kernel_config(const std::uint8_t* data, std::size_t size)
{
    const hw::PlatformConfig& platform = some_platform(size);
    try {
        (void)mm::load_kernel_file(scratch().write("kernel.yaml", data, size), {}, platform);
    } catch (const ConfigError&) {
    }
}

void experiment(const std::uint8_t* data, std::size_t size)
{
    try {
        const tools::Experiment e = tools::load_experiment(scratch().write("experiment.yaml", data, size));
        tools::check_cores(e, 4);
    } catch (const ConfigError&) {
    }
}

void sweep(const std::uint8_t* data, std::size_t size)
{
    try {
        const tools::SweepSpec s = tools::load_sweep(scratch().write("sweep.yaml", data, size));
        (void)tools::expand_points(s, s.variants.empty() ? std::vector<std::string>{""} : s.variants);
    } catch (const ConfigError&) {
    }
}

// Each line of the input is one --set KEY=VALUE, given where the command line would give it: kernel.* to the
// kernel configuration, experiment keys to a shipped experiment, the rest to the platform.
void set_override(const std::uint8_t* data, std::size_t size)
{
    std::vector<std::string> platform_sets, kernel_sets, experiment_sets;
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (std::size_t pos = 0; pos <= text.size();) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos)
            nl = text.size();
        const std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty())
            continue;
        if (line.rfind("kernel.", 0) == 0)
            kernel_sets.push_back(line);
        else if (tools::is_experiment_override(line))
            experiment_sets.push_back(line);
        else
            platform_sets.push_back(line);
    }
    const std::vector<std::string> names = tools::shipped_platforms();
    try {
        const hw::PlatformConfig p =
            hw::load_platform_file(tools::resolve_platform(names.at(size % names.size())), platform_sets);
        (void)mm::load_kernel_file(tools::resolve_kernel(tools::default_kernel()), kernel_sets, p);
    } catch (const ConfigError&) {
    }
    if (!experiment_sets.empty()) {
        try {
            (void)tools::load_experiment(tools::resolve_experiment("fork-arm64"), experiment_sets);
        } catch (const ConfigError&) {
        }
    }
}

const std::vector<NamedTarget>& all_targets()
{
    static const std::vector<NamedTarget> targets = {
        {"native_reader", native_reader}, {"lackey_reader", lackey_reader}, {"compressed_input", compressed_input},
        {"platform_config", platform_config}, {"kernel_config", kernel_config}, {"experiment", experiment},
        {"sweep", sweep}, {"set_override", set_override}};
    return targets;
}

} // namespace mmusim::fuzz
