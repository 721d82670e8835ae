// SPDX-License-Identifier: GPL-2.0-only
// mmusim formats: the registered page-table formats, their options, and the geometry of each variant.
#include "tools/commands/commands.hh"

#include "hw/pgtable/format_registry.hh"
#include "traces/trace_reader.hh"
#include "util/config_node.hh"

#include <iostream>

namespace mmusim::tools {

namespace {

int list_formats(bool verbose)
{
    std::cout << "Page-table formats (platform key page_table.format):\n";
    for (const hw::FormatInfo* f : hw::FormatRegistry::instance().all()) {
        std::cout << "  " << f->name << ": " << f->description << "\n";
        for (const auto& o : f->options)
            std::cout << "      " << o.key << ": " << o.values << " (default " << o.default_value << ")\n";
        if (!verbose)
            continue;
        auto fmt = f->make({});
        std::cout << "      default variant: " << fmt->variant() << "\n";
        for (int d = 0; d < fmt->levels(); ++d) {
            const hw::LevelInfo& l = fmt->level(d);
            std::cout << "        " << l.name << ": VA bits " << (l.shift + l.index_bits - 1) << ":" << l.shift
                      << (l.leaf_allowed ? ", leaf " + format_size(std::uint64_t{1} << l.shift) : std::string())
                      << (l.contig_entries > 1 ? ", contiguous run " + std::to_string(l.contig_entries) + " entries" : std::string())
                      << "\n";
        }
    }
    std::cout << "\nTrace formats (replay --format):\n";
    for (const traces::ReaderInfo* r : traces::ReaderRegistry::instance().all())
        std::cout << "  " << r->name << ": " << r->description << "\n";
    return 0;
}

} // namespace

CommandFn add_formats(CLI::App& app)
{
    auto verbose = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("formats", "List the registered page-table and trace formats");
    cmd->add_flag("--verbose,-v", *verbose, "Show each format's level geometry");
    return [verbose]() { return list_formats(*verbose); };
}

} // namespace mmusim::tools
