// SPDX-License-Identifier: GPL-2.0-only
// Byte streams for trace readers: plain files, standard input, gzip (zlib) and xz (liblzma), chosen by the
// file name's suffix. Reads in large blocks; readers parse lines out of the blocks themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mmusim::traces {

class InputStream {
public:
    virtual ~InputStream() = default;
    // Reads up to n bytes into buf; returns bytes read, 0 at end. Throws TraceError (line 0) on an I/O error
    // or a truncated/corrupt compressed stream ("truncated gzip stream").
    virtual std::size_t read(char* buf, std::size_t n) = 0;
    virtual std::uint64_t bytes_consumed() const = 0; // raw (compressed) bytes consumed
    virtual std::uint64_t size_hint() const = 0;      // raw size if known (regular file), else 0
    const std::string& name() const { return name_; }

protected:
    std::string name_;
};

// "-" opens standard input. A name ending in .gz or .xz is decompressed. Throws TraceError if it can't open.
std::unique_ptr<InputStream> open_input(const std::string& path);

} // namespace mmusim::traces
