// SPDX-License-Identifier: GPL-2.0-only
#include "util/config_node.hh"

#include <cerrno>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace mmusim {

struct ConfigNode::Shared {
    std::string file;
    YAML::Node root;
    std::set<std::string> consumed;
    std::map<std::string, std::string> overrides; // full key path -> "--set k=v"
};

namespace {

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : a + "." + b; }

bool is_index(const std::string& s)
{
    return !s.empty() && s.size() < 9 && s.find_first_not_of("0123456789") == std::string::npos;
}

} // namespace

std::uint64_t parse_size(const std::string& text)
{
    if (text.empty())
        throw std::invalid_argument("empty size");
    std::size_t pos = 0;
    std::uint64_t v = 0;
    const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    if (hex)
        pos = 2;
    const std::size_t digits_start = pos;
    for (; pos < text.size(); ++pos) {
        const char c = text[pos];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = unsigned(c - '0');
        else if (hex && c >= 'a' && c <= 'f')
            d = unsigned(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F')
            d = unsigned(c - 'A' + 10);
        else
            break;
        const unsigned base = hex ? 16 : 10;
        if (v > (UINT64_MAX - d) / base)
            throw std::invalid_argument("size '" + text + "' is too large");
        v = v * base + d;
    }
    if (pos == digits_start)
        throw std::invalid_argument("'" + text + "' is not a size (expected e.g. 4096, 4K, 2M, 1G)");
    std::uint64_t mul = 1;
    if (pos < text.size()) {
        std::string suf = text.substr(pos);
        if (suf.size() == 2 && (suf[1] == 'B' || suf[1] == 'b'))
            suf.pop_back();
        if (suf == "K" || suf == "k")
            mul = KiB;
        else if (suf == "M" || suf == "m")
            mul = MiB;
        else if (suf == "G" || suf == "g")
            mul = GiB;
        else if (suf == "T" || suf == "t")
            mul = 1024 * GiB;
        else
            throw std::invalid_argument("'" + text + "' has an unknown size suffix (use K, M, G or T)");
    }
    if (v > UINT64_MAX / mul)
        throw std::invalid_argument("size '" + text + "' is too large");
    return v * mul;
}

std::string format_size(std::uint64_t bytes)
{
    static const char* suffix[] = {"", "K", "M", "G", "T"};
    int i = 0;
    while (i < 4 && bytes >= 1024 && bytes % 1024 == 0) {
        bytes /= 1024;
        ++i;
    }
    return std::to_string(bytes) + suffix[i];
}

ConfigNode::ConfigNode(std::shared_ptr<Shared> s, YAML::Node n, std::string path)
    : shared_(std::move(s)), node_(std::move(n)), path_(std::move(path))
{
}

ConfigNode ConfigNode::load_file(const std::string& path)
{
    std::ifstream in(path);
    if (!in)
        throw ConfigError(path + ": cannot open: " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    return from_string(ss.str(), path);
}

ConfigNode ConfigNode::from_string(const std::string& text, const std::string& origin)
{
    auto s = std::make_shared<Shared>();
    s->file = origin;
    try {
        s->root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw ConfigError(origin + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
    }
    if (s->root.IsNull())
        s->root = YAML::Node(YAML::NodeType::Map);
    if (!s->root.IsMap())
        throw ConfigError(origin + ":1: the document must be a map of keys");
    YAML::Node root = s->root;
    return ConfigNode(s, root, "");
}

std::string ConfigNode::origin_file() const { return shared_->file; }

std::string ConfigNode::full(const std::string& key) const { return join(path_, key); }

std::string ConfigNode::where(const std::string& key) const
{
    const std::string fk = full(key);
    // The nearest override at or above this key wins: it is where the value came from.
    for (std::string p = fk;;) {
        auto it = shared_->overrides.find(p);
        if (it != shared_->overrides.end())
            return it->second + ": " + fk;
        const auto dot = p.rfind('.');
        if (dot == std::string::npos)
            break;
        p.resize(dot);
    }
    YAML::Mark m = node_.Mark();
    if (!key.empty() && node_.IsMap() && node_[key])
        m = node_[key].Mark();
    const std::string line = m.is_null() ? "" : ":" + std::to_string(m.line + 1);
    return shared_->file + line + ": " + (fk.empty() ? "(top level)" : fk);
}

void ConfigNode::fail(const std::string& key, const std::string& msg) const { throw ConfigError(where(key) + ": " + msg); }

void ConfigNode::mark(const std::string& key) const { shared_->consumed.insert(full(key)); }

YAML::Node ConfigNode::get(const std::string& key, bool required) const
{
    mark(key);
    if (!node_.IsMap()) {
        if (required)
            fail("", "expected a map with key '" + key + "'");
        return YAML::Node();
    }
    YAML::Node n = node_[key];
    if (!n || n.IsNull()) {
        if (required)
            fail("", "missing required key '" + full(key) + "'");
        return YAML::Node();
    }
    return n;
}

bool ConfigNode::has(const std::string& key) const { return node_.IsMap() && node_[key] && !node_[key].IsNull(); }

ConfigNode ConfigNode::child(const std::string& key) const
{
    YAML::Node n = get(key, true);
    if (!n.IsMap())
        fail(key, "expected a map");
    return ConfigNode(shared_, n, full(key));
}

std::vector<ConfigNode> ConfigNode::list(const std::string& key) const
{
    YAML::Node n = get(key, true);
    if (!n.IsSequence())
        fail(key, "expected a list");
    std::vector<ConfigNode> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string p = full(key) + "." + std::to_string(i);
        shared_->consumed.insert(p);
        out.push_back(ConfigNode(shared_, n[i], p));
    }
    return out;
}

std::vector<std::string> ConfigNode::keys() const
{
    std::vector<std::string> out;
    if (node_.IsMap())
        for (const auto& kv : node_)
            out.push_back(kv.first.as<std::string>());
    return out;
}

std::string ConfigNode::scalar(const std::string& key, const YAML::Node& n) const
{
    if (!n.IsScalar())
        fail(key, "expected a single value, not a " + std::string(n.IsMap() ? "map" : "list"));
    return n.Scalar();
}

std::string ConfigNode::str(const std::string& key) const { return scalar(key, get(key, true)); }

std::string ConfigNode::str(const std::string& key, const std::string& def) const
{
    YAML::Node n = get(key, false);
    return n ? scalar(key, n) : def;
}

std::uint64_t ConfigNode::u64(const std::string& key, std::uint64_t min, std::uint64_t max) const
{
    const std::string s = str(key);
    std::uint64_t v;
    try {
        v = parse_size(s); // accepts plain integers, hex and K/M/G
    } catch (const std::invalid_argument&) {
        fail(key, "expected a non-negative integer, got '" + s + "'");
    }
    if (v < min || v > max)
        fail(key, s + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return v;
}

std::uint64_t ConfigNode::u64(const std::string& key, std::uint64_t def, std::uint64_t min, std::uint64_t max) const
{
    return has(key) ? u64(key, min, max) : (mark(key), def);
}

double ConfigNode::real(const std::string& key, double min, double max) const
{
    const std::string s = str(key);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(v))
        fail(key, "expected a number, got '" + s + "'");
    if (v < min || v > max)
        fail(key, s + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return v;
}

double ConfigNode::real(const std::string& key, double def, double min, double max) const
{
    return has(key) ? real(key, min, max) : (mark(key), def);
}

bool ConfigNode::boolean(const std::string& key) const
{
    const std::string s = str(key);
    if (s == "true" || s == "yes" || s == "on")
        return true;
    if (s == "false" || s == "no" || s == "off")
        return false;
    fail(key, "expected true or false, got '" + s + "'");
}

bool ConfigNode::boolean(const std::string& key, bool def) const { return has(key) ? boolean(key) : (mark(key), def); }

std::uint64_t ConfigNode::size(const std::string& key) const
{
    const std::string s = str(key);
    try {
        return parse_size(s);
    } catch (const std::invalid_argument& e) {
        fail(key, e.what());
    }
}

std::uint64_t ConfigNode::size(const std::string& key, std::uint64_t def) const
{
    return has(key) ? size(key) : (mark(key), def);
}

std::vector<std::uint64_t> ConfigNode::size_list(const std::string& key) const
{
    YAML::Node n = get(key, true);
    std::vector<std::uint64_t> out;
    auto one = [&](const std::string& s) {
        try {
            out.push_back(parse_size(s));
        } catch (const std::invalid_argument& e) {
            fail(key, e.what());
        }
    };
    if (n.IsSequence()) {
        for (const auto& e : n)
            one(scalar(key, e));
    } else {
        // "4K,64K" also works, which is what --set can express.
        std::stringstream ss(scalar(key, n));
        for (std::string part; std::getline(ss, part, ',');)
            one(part);
    }
    if (out.empty())
        fail(key, "expected a non-empty list of sizes");
    return out;
}

std::string ConfigNode::choice(const std::string& key, const std::vector<std::string>& allowed) const
{
    const std::string s = str(key);
    for (const auto& a : allowed)
        if (a == s)
            return s;
    std::string all;
    for (const auto& a : allowed)
        all += (all.empty() ? "" : ", ") + a;
    fail(key, "'" + s + "' is not one of: " + all);
}

std::string ConfigNode::choice(const std::string& key, const std::vector<std::string>& allowed, const std::string& def) const
{
    return has(key) ? choice(key, allowed) : (mark(key), def);
}

std::vector<std::pair<std::string, std::string>> ConfigNode::scalars_except(const std::set<std::string>& skip) const
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& k : keys())
        if (!skip.count(k))
            out.emplace_back(k, str(k));
    return out;
}

void ConfigNode::finish() const
{
    std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& p) {
        if (n.IsMap()) {
            for (const auto& kv : n) {
                const std::string k = join(p, kv.first.as<std::string>());
                if (!shared_->consumed.count(k)) {
                    ConfigNode at(shared_, n, p);
                    throw ConfigError(at.where(kv.first.as<std::string>()) + ": unknown key");
                }
                walk(kv.second, k);
            }
        } else if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i)
                walk(n[i], p + "." + std::to_string(i));
        }
    };
    walk(node_, path_);
}

void ConfigNode::apply_override(const std::string& assignment)
{
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError("--set " + assignment + ": expected KEY=VALUE (e.g. mmu.l1d.entries=64)");
    const std::string key = assignment.substr(0, eq);
    const std::string value = assignment.substr(eq + 1);
    std::vector<std::string> parts;
    std::stringstream ss(key);
    for (std::string part; std::getline(ss, part, '.');) {
        if (part.empty())
            throw ConfigError("--set " + assignment + ": empty component in key '" + key + "'");
        parts.push_back(part);
    }
    // yaml-cpp nodes are handles: walk down by reassigning copies that refer into the tree.
    std::vector<YAML::Node> chain{node_};
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        YAML::Node cur = chain.back();
        YAML::Node next;
        if (cur.IsSequence()) {
            if (!is_index(parts[i]) || std::stoul(parts[i]) >= cur.size())
                throw ConfigError("--set " + assignment + ": '" + parts[i] + "' is not an index of the list " +
                                  join(path_, key.substr(0, key.find(parts[i]) - 1)));
            next = cur[std::stoul(parts[i])];
        } else {
            if (!cur[parts[i]] || cur[parts[i]].IsNull())
                cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
            next = cur[parts[i]];
        }
        if (!next.IsMap() && !next.IsSequence())
            throw ConfigError("--set " + assignment + ": '" + parts[i] + "' holds a value, not a map");
        chain.push_back(next);
    }
    YAML::Node parent = chain.back();
    if (parent.IsSequence()) {
        if (!is_index(parts.back()) || std::stoul(parts.back()) >= parent.size())
            throw ConfigError("--set " + assignment + ": '" + parts.back() + "' is not an index of the list");
        parent[std::stoul(parts.back())] = value;
    } else {
        // A list value may be given as "[4K, 64K]".
        if (!value.empty() && value.front() == '[') {
            try {
                parent[parts.back()] = YAML::Load(value);
            } catch (const YAML::Exception& e) {
                throw ConfigError("--set " + assignment + ": bad list value: " + e.msg);
            }
        } else {
            parent[parts.back()] = value;
        }
    }
    shared_->overrides[join(path_, key)] = "--set " + assignment;
}

} // namespace mmusim
