// SPDX-License-Identifier: GPL-2.0-only
// Checked access to a YAML config: every read names its dotted key path, every error says
// "FILE:LINE: KEY: what is wrong", and finish() rejects any key nobody asked for, so a simulation never
// silently ignores a misspelt key. Values set with --set carry the origin "--set KEY=VALUE" instead.
#pragma once

#include "util/units.hh"
#include "util/config_error.hh"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace mmusim {

class ConfigNode {
public:
    // Loads a YAML file holding one document and checks its structure once (docs/CONFIG.md, "YAML rules"):
    // unique plain keys without '.', no NUL, bounded size and nesting with aliases expanded, so that no
    // later walk can blow up. Throws ConfigError naming the file (and line where there is one).
    static ConfigNode load_file(const std::string& path);
    static ConfigNode from_string(const std::string& text, const std::string& origin);

    // Applies "a.b.c=value" (creating the key if absent; list elements by index). The key must then be
    // consumed by the reader like any other, so a misspelt path is an error. Throws ConfigError.
    void apply_override(const std::string& assignment);

    bool has(const std::string& key) const;
    ConfigNode child(const std::string& key) const;          // required map/list
    std::vector<ConfigNode> list(const std::string& key) const; // required sequence
    std::vector<std::string> keys() const;                   // map keys, in file order

    // Scalars. A missing required key is an error; `def` forms mark the key as known even when absent.
    std::string str(const std::string& key) const;
    std::string str(const std::string& key, const std::string& def) const;
    std::uint64_t u64(const std::string& key, std::uint64_t min = 0, std::uint64_t max = UINT64_MAX) const;
    std::uint64_t u64(const std::string& key, std::uint64_t def, std::uint64_t min, std::uint64_t max) const;
    double real(const std::string& key, double min, double max) const;
    double real(const std::string& key, double def, double min, double max) const;
    bool boolean(const std::string& key) const;
    bool boolean(const std::string& key, bool def) const;
    // Sizes: 4096, 4K, 64K, 2M, 1G (binary multiples).
    std::uint64_t size(const std::string& key) const;
    std::uint64_t size(const std::string& key, std::uint64_t def) const;
    std::vector<std::uint64_t> size_list(const std::string& key) const;
    // A list of integers in [min, max] (a YAML sequence, or "0,1" as --set writes it); may be empty.
    std::vector<std::uint64_t> u64_list(const std::string& key, std::uint64_t min, std::uint64_t max) const;
    // A list of strings (a YAML sequence of scalars); may be empty.
    std::vector<std::string> str_list(const std::string& key) const;
    std::string choice(const std::string& key, const std::vector<std::string>& allowed) const;
    std::string choice(const std::string& key, const std::vector<std::string>& allowed, const std::string& def) const;
    // Every scalar of a map as strings (for plugin options); marks them all consumed.
    std::vector<std::pair<std::string, std::string>> scalars_except(const std::set<std::string>& skip) const;

    // Throws ConfigError for the first key present in the document that no reader consumed.
    void finish() const;

    // "FILE:LINE: path" for messages about this node or one of its keys.
    std::string where(const std::string& key = "") const;
    [[noreturn]] void fail(const std::string& key, const std::string& msg) const;
    const std::string& path() const { return path_; }
    std::string origin_file() const;

private:
    struct Shared;
    ConfigNode(std::shared_ptr<Shared> s, YAML::Node n, std::string path);
    YAML::Node get(const std::string& key, bool required) const;
    std::string full(const std::string& key) const;
    std::string scalar(const std::string& key, const YAML::Node& n) const;
    void mark(const std::string& key) const;
    // Calls `one` with each item of a list: a YAML sequence of scalars, or "a,b,c" as --set writes it.
    void each_item(const std::string& key, const std::function<void(const std::string&)>& one) const;

    std::shared_ptr<Shared> shared_;
    YAML::Node node_;
    std::string path_;
};

// "4K" -> 4096. Throws std::invalid_argument with a message.
std::uint64_t parse_size(const std::string& text);
std::string format_size(std::uint64_t bytes); // 65536 -> "64K"

} // namespace mmusim
