#pragma once
// Reading and checking flows: graph documents (switchboard.flow/1 JSON) and
// Lua flows. Every problem is reported at once, each with a path (see
// docs/flows.md, "Validation"); nothing partial is ever returned.
#include "flows/flow_definition.hpp"
#include "flows/node_catalog.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sb::flows {

struct ParseResult {
  FlowPtr flow;                   // set when problems is empty
  std::vector<Problem> problems;  // every problem found, in document order
  bool ok() const { return flow != nullptr; }
};

// A graph document: JSON syntax, the document schema
// (flows/schema/flow-1.schema.json), node types and versions, each node's
// config against its type's schema (defaults filled in), ids, start, edges
// and ports, refs and resources, reachability from start, cycles without a
// waiting node, and the trigger (check_trigger).
ParseResult parse_flow_json(std::string_view text, std::shared_ptr<const NodeCatalog> catalog,
                            const std::string& source_path = "");

// A Lua flow: loaded in a scratch sandbox (same limits as at run time) to
// read its table; checks that it returns a table with a valid `trigger` and
// a `main` function, and takes `id` (default: `default_id`) and `name`.
ParseResult parse_flow_lua(std::string_view text, const std::string& default_id,
                           const std::string& source_path = "");

// By file name: *.json -> graph, *.lua -> Lua flow (id defaults to the file
// name without extension, and without a trailing ".flow"). Unreadable files
// and other extensions are one problem at path "".
ParseResult parse_flow_file(const std::filesystem::path& file, std::shared_ptr<const NodeCatalog> catalog);

// Checks a trigger object (shared by both kinds); appends problems under
// `path` ("/trigger"), and fills defaults (match: exact, case_sensitive:
// false, priority: 0). Checks regexes compile (PCRE2), cron expressions
// parse and webhook secrets are 16+ characters.
void check_trigger(nlohmann::json& trigger, const std::string& path, std::vector<Problem>& problems);

// "path: message" lines, one per problem, for the CLI and logs.
std::string format_problems(const std::vector<Problem>& problems);

}  // namespace sb::flows
