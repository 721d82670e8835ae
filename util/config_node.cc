// SPDX-License-Identifier: GPL-2.0-only
#include "util/config_node.hh"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_set>

namespace mmusim {

struct ConfigNode::Shared {
    std::string file;
    YAML::Node root;
    std::set<std::string> consumed;
    std::map<std::string, std::string> overrides; // full key path -> "--set k=v"
};

namespace {

// Configs are a few hundred nodes a few levels deep. These bounds only stop broken or hostile input before
// any walk sees it: an alias bomb (aliases share nodes, so the tree a reader walks is exponential in the
// text), an alias inside its own anchor (a cycle), runaway nesting. Every later walk relies on them.
constexpr std::size_t kMaxNodes = 1'000'000;
constexpr std::size_t kMaxTextBytes = 64 * MiB; // key and value text, aliases expanded
constexpr std::size_t kMaxDepth = 256;
constexpr std::size_t kMaxFileBytes = 16 * MiB; // a trace or /dev/zero given as the platform

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : a + "." + b; }

// Canonical decimal only: "00" or "01" must not quietly name element 0 or 1.
bool is_index(const std::string& s)
{
    return !s.empty() && s.size() < 9 && s.find_first_not_of("0123456789") == std::string::npos &&
           (s[0] != '0' || s.size() == 1);
}

// Where parsed text came from: a file (errors say FILE:LINE) or a --set value (no lines to speak of).
struct Source {
    std::string name;
    bool has_lines;

    std::string at(int line) const { return has_lines && line > 0 ? name + ":" + std::to_string(line) : name; }
    std::string at(const YAML::Mark& m) const { return at(m.is_null() ? 0 : m.line + 1); }
};

std::string too_deep() { return "nesting is too deep (more than " + std::to_string(kMaxDepth) + " levels)"; }

// The one structural pass over a freshly parsed document, aliases expanded as the readers will see them:
// map keys are non-empty scalars without '.' (the path separator) and unique (yaml-cpp keeps both pairs
// of a duplicate and lookups find the first), no NUL in any text, and the bounds above.
class Validator {
public:
    Validator(const Source& src, std::string base) : src_(src), base_(std::move(base)) {}
    void run(const YAML::Node& root) { visit(root, 0); }

private:
    void visit(const YAML::Node& n, std::size_t depth);
    void visit_map(const YAML::Node& n, std::size_t depth);
    void count_text(const std::string& s);
    std::string path(const std::string& key) const;
    [[noreturn]] void fail(const YAML::Node& at, const std::string& key, const std::string& msg) const
    {
        throw ConfigError(src_.at(at.Mark()) + ": " + path(key) + ": " + msg);
    }

    const Source& src_;
    std::string base_;
    std::vector<std::string> path_; // keys and indexes from base_ down to the node being visited
    std::size_t nodes_ = 0;
    std::size_t text_bytes_ = 0;
};

void Validator::visit(const YAML::Node& n, std::size_t depth)
{
    if (++nodes_ > kMaxNodes)
        throw ConfigError(src_.name + ": document expands to more than " + std::to_string(kMaxNodes) +
                          " nodes (YAML aliases?)");
    if (depth > kMaxDepth)
        throw ConfigError(src_.at(n.Mark()) + ": " + too_deep() + " (a YAML alias inside its own anchor?)");
    switch (n.Type()) {
    case YAML::NodeType::Scalar:
        count_text(n.Scalar());
        if (n.Scalar().find('\0') != std::string::npos)
            fail(n, "", "NUL character in a value");
        break;
    case YAML::NodeType::Sequence: {
        std::size_t i = 0;
        for (const auto& e : n) {
            path_.push_back(std::to_string(i++));
            visit(e, depth + 1);
            path_.pop_back();
        }
        break;
    }
    case YAML::NodeType::Map: visit_map(n, depth); break;
    default: break;
    }
}

void Validator::visit_map(const YAML::Node& n, std::size_t depth)
{
    std::unordered_set<std::string_view> seen; // views of key text owned by the document
    for (const auto& kv : n) {
        const YAML::Node& k = kv.first;
        if (!k.IsScalar() || k.Scalar().empty())
            fail(k, "", "map keys must be plain names");
        const std::string& key = k.Scalar();
        count_text(key);
        if (key.find('\0') != std::string::npos)
            fail(k, "", "NUL character in a key");
        if (key.find('.') != std::string::npos)
            fail(k, key, "keys may not contain '.'; nest maps instead");
        if (!seen.insert(key).second)
            fail(k, key, "duplicate key");
        path_.push_back(key);
        visit(kv.second, depth + 1);
        path_.pop_back();
    }
}

// A scalar aliased a million times would otherwise cost a million scans of its text.
void Validator::count_text(const std::string& s)
{
    text_bytes_ += s.size();
    if (text_bytes_ > kMaxTextBytes)
        throw ConfigError(src_.name + ": document expands to more than " + format_size(kMaxTextBytes) +
                          " of text (YAML aliases?)");
}

std::string Validator::path(const std::string& key) const
{
    std::string p = base_;
    for (const std::string& c : path_)
        p = join(p, c);
    p = join(p, key);
    return p.empty() ? "(top level)" : p;
}

// Where the second document of a multi-document text starts (its '---'), found by parsing again: the
// nodes LoadAll returns only know where their content starts.
YAML::Mark second_document(const std::string& text)
{
    struct Starts : YAML::EventHandler {
        std::vector<YAML::Mark> marks;
        void OnDocumentStart(const YAML::Mark& m) override { marks.push_back(m); }
        void OnDocumentEnd() override {}
        void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
        void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
        void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
        using Style = YAML::EmitterStyle::value;
        void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, Style) override {}
        void OnSequenceEnd() override {}
        void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, Style) override {}
        void OnMapEnd() override {}
    } starts;
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (starts.marks.size() < 2 && parser.HandleNextDocument(starts)) {
    }
    return starts.marks.size() < 2 ? YAML::Mark::null_mark() : starts.marks[1];
}

// Parses `text` as at most one YAML document and validates it; `base` is the key path it will sit at.
// Returns a null node for an empty text.
YAML::Node parse(const std::string& text, const Source& src, const std::string& base)
{
    // Checked on the raw text: yaml-cpp stops or misreads at a NUL, and it could hide anything after it.
    if (const auto nul = text.find('\0'); nul != std::string::npos)
        throw ConfigError(src.at(1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(nul), '\n'))) +
                          ": NUL byte in the text");
    // Not YAML::LoadAll: on a token it cannot use (a ',' outside [] or {}), yaml-cpp 0.7's parser starts a new,
    // empty document without consuming it, forever (found by fuzzing, docs/CHECKING.md). The first document and
    // where a second one starts are read with a bounded number of documents instead.
    YAML::Node doc;
    YAML::Mark second = YAML::Mark::null_mark();
    try {
        doc = YAML::Load(text);
        second = second_document(text);
    } catch (const YAML::DeepRecursion&) {
        // No line: yaml-cpp's mark is where its scanner had read ahead to, often the end of the file.
        throw ConfigError(src.name + ": " + too_deep());
    } catch (const YAML::Exception& e) {
        throw ConfigError(src.at(e.mark) + ": YAML syntax error: " + e.msg);
    }
    if (!second.is_null())
        throw ConfigError(src.at(second) + ": a second YAML document; a config is one document");
    if (!doc)
        return YAML::Node();
    Validator(src, base).run(doc);
    return doc;
}

std::size_t list_index(const YAML::Node& list, const std::string& part, const std::string& list_path,
                       const std::string& origin)
{
    if (!is_index(part) || std::stoul(part) >= list.size())
        throw ConfigError(origin + ": " + list_path + ": '" + part + "' is not an index of the list (it has " +
                          std::to_string(list.size()) + " elements)");
    return std::stoul(part);
}

// "a.b.c" -> {a, b, c}; every component must be non-empty ("a..b", ".a" and "a." are mistakes).
std::vector<std::string> split_key(const std::string& key, const std::string& origin)
{
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
        const auto dot = key.find('.', start);
        parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (parts.back().empty())
            throw ConfigError(origin + ": empty component in key '" + key + "'");
        if (parts.size() > kMaxDepth)
            throw ConfigError(origin + ": key '" + key + "': " + too_deep());
        if (dot == std::string::npos)
            return parts;
        start = dot + 1;
    }
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
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw ConfigError(path + ": cannot open: " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    // A directory opens fine (std::ifstream then read it as an empty config: "missing required key").
    // Pipes and devices such as /dev/stdin are fine.
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        throw ConfigError(path + ": is a directory, not a config file");
    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw ConfigError(path + ": cannot read: " + std::strerror(errno));
        }
        text.append(buf, std::size_t(n));
        if (text.size() > kMaxFileBytes)
            throw ConfigError(path + ": larger than " + format_size(kMaxFileBytes) + ", not a config file");
    }
    return from_string(text, path);
}

ConfigNode ConfigNode::from_string(const std::string& text, const std::string& origin)
{
    const Source src{origin, true};
    const YAML::Node doc = parse(text, src, "");
    if (!doc.IsNull() && !doc.IsMap())
        throw ConfigError(src.at(doc.Mark()) + ": the document must be a map of keys");
    auto s = std::make_shared<Shared>();
    s->file = origin;
    s->root = doc.IsMap() ? doc : YAML::Node(YAML::NodeType::Map);
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
            out.push_back(kv.first.Scalar()); // validated: every key is a plain scalar
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
    return n && !n.IsNull() ? scalar(key, n) : def; // get() returns a null node for an absent key
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

void ConfigNode::each_item(const std::string& key, const std::function<void(const std::string&)>& one) const
{
    YAML::Node n = get(key, true);
    if (n.IsSequence()) {
        for (const auto& e : n)
            one(scalar(key, e));
        return;
    }
    // "4K,64K" also works, which is what --set can express.
    std::stringstream ss(scalar(key, n));
    for (std::string part; std::getline(ss, part, ',');)
        one(part);
}

std::vector<std::uint64_t> ConfigNode::u64_list(const std::string& key, std::uint64_t min, std::uint64_t max) const
{
    std::vector<std::uint64_t> out;
    each_item(key, [&](const std::string& text) {
        std::size_t used = 0;
        std::uint64_t v = 0;
        try {
            if (text.empty() || text[0] == '-' || text[0] == '+')
                throw std::invalid_argument(text);
            v = std::stoull(text, &used, 10);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != text.size() || used == 0)
            fail(key, "'" + text + "' is not a non-negative integer");
        if (v < min || v > max)
            fail(key, std::to_string(v) + " is out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
        out.push_back(v);
    });
    return out;
}

std::vector<std::string> ConfigNode::str_list(const std::string& key) const
{
    YAML::Node n = get(key, true);
    if (!n.IsSequence())
        fail(key, "expected a list");
    std::vector<std::string> out;
    for (const auto& e : n)
        out.push_back(scalar(key, e));
    return out;
}

std::vector<std::uint64_t> ConfigNode::size_list(const std::string& key) const
{
    std::vector<std::uint64_t> out;
    each_item(key, [&](const std::string& text) {
        try {
            out.push_back(parse_size(text));
        } catch (const std::invalid_argument& e) {
            fail(key, e.what());
        }
    });
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
    // Bounded by the validation at parse time: depth, and nodes visited with aliases expanded. It descends
    // only into consumed keys and lists, so it does no more than the readers already did.
    std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& p) {
        if (n.IsMap()) {
            for (const auto& kv : n) {
                const std::string& key = kv.first.Scalar();
                const std::string k = join(p, key);
                if (!shared_->consumed.count(k))
                    throw ConfigError(ConfigNode(shared_, n, p).where(key) + ": unknown key");
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
    if (assignment.find('\0') != std::string::npos) {
        std::string shown; // the NUL spelt out, so that the message stays one printable string
        for (const char c : assignment)
            shown += c ? std::string(1, c) : "\\0";
        throw ConfigError("--set " + shown + ": NUL byte in the assignment");
    }
    const std::string origin = "--set " + assignment;
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw ConfigError(origin + ": expected KEY=VALUE (e.g. mmu.l1d.entries=64)");
    const std::string key = assignment.substr(0, eq);
    const std::string value = assignment.substr(eq + 1);
    const std::vector<std::string> parts = split_key(key, origin);
    const std::string full_key = join(path_, key);
    // A list value may be given as "[4K, 64K]"; it gets the same checks as a file. Parsed before the walk
    // below changes anything, so that a rejected --set leaves the tree as it was.
    const YAML::Node v = value.empty() || value.front() != '[' ? YAML::Node(value)
                                                               : parse(value, Source{origin, false}, full_key);

    // yaml-cpp nodes are handles, and assigning to one rebinds what it refers to inside the tree: walk down
    // by pushing fresh copies, never by reassigning a cursor.
    std::vector<YAML::Node> chain{node_};
    std::string at = path_;           // path of chain.back()
    std::vector<std::string> created; // maps made on the way down: they come from this --set too
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        YAML::Node cur = chain.back();
        const std::string& part = parts[i];
        if (cur.IsSequence()) {
            chain.push_back(cur[list_index(cur, part, at, origin)]);
        } else {
            if (!cur[part] || cur[part].IsNull()) {
                cur[part] = YAML::Node(YAML::NodeType::Map);
                created.push_back(join(at, part));
            }
            chain.push_back(cur[part]);
        }
        at = join(at, part);
        if (!chain.back().IsMap() && !chain.back().IsSequence())
            throw ConfigError(origin + ": " + at + ": holds a value, not a map or list");
    }
    YAML::Node parent = chain.back();
    if (parent.IsSequence())
        parent[list_index(parent, parts.back(), at, origin)] = v;
    else
        parent[parts.back()] = v;
    for (const std::string& c : created)
        shared_->overrides.emplace(c, origin);
    shared_->overrides[full_key] = origin;
}

} // namespace mmusim
