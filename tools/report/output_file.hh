// SPDX-License-Identifier: GPL-2.0-only
// The report files of one run (--json, --csv). Every path is checked and prepared before the simulation, so a
// bad path fails at once (ConfigError, exit 2) instead of after a long run; the reports are written together
// once the run has succeeded, so a failure leaves none of them written.
//
// How a path is written (docs/REPORT.md, "Output files"):
//   - a regular file, or a new one: a temporary beside it, renamed into place (atomic replace);
//   - a symbolic link: followed; its final target is treated by its own type, so the link survives;
//   - a character device, FIFO or socket: written through (opened, written, never replaced);
//   - /dev/stdout, /dev/fd/N, /proc/self/fd/N: the process's descriptor N, written at its current offset;
//   - a directory or a block device: an error.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace mmusim::tools {

class OutputFile {
public:
    // Checks `path`, given as `option`, and prepares it. Throws ConfigError naming both and the reason.
    OutputFile(std::string option, std::string path);
    OutputFile(OutputFile&&) noexcept;
    OutputFile& operator=(OutputFile&&) noexcept;
    ~OutputFile(); // removes a temporary that was never renamed into place

    const std::string& option() const { return option_; }
    const std::string& path() const { return path_; }
    bool same_target(const OutputFile& other) const;
    // Whether commit() replaces a file (rename) rather than writing into an existing object.
    bool replaces() const;

    // Regular files: writes `text` to the temporary. Others: keeps it for commit(). Throws std::runtime_error.
    void stage(std::string text);
    // Renames the temporary into place, or writes the kept text through. Throws std::runtime_error.
    void commit();

private:
    struct State;
    std::string option_;
    std::string path_;
    std::unique_ptr<State> s_;
};

// The outputs of one command, keyed by option.
class OutputSet {
public:
    // Prepares `path` for `option`; the same file given for two options is a ConfigError.
    void add(const std::string& option, const std::string& path);
    bool has(const std::string& option) const;
    void set_text(const std::string& option, std::string text);
    // Writes every output, as close to all-or-none as the system allows: every temporary is written first,
    // then the write-through outputs (which cannot be undone), then the temporaries are renamed into place.
    void write_all();

private:
    OutputFile& find(const std::string& option);
    std::vector<OutputFile> files_;
    std::vector<std::string> texts_;
};

} // namespace mmusim::tools
