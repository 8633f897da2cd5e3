// Lua flows are read by running the file in a scratch sandbox and checking the
// table it returns; files are told apart by their extension.
#include "flows/flow_document.hpp"

#include "support/temp_dir.hpp"
#include "test_node_types.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::flows::FlowDefinition;
using sb::flows::parse_flow_file;
using sb::flows::parse_flow_lua;
using sb::flows::ParseResult;

namespace {

constexpr const char* kOrderStatus = R"(
local greeting = "Your order number?"
return {
  id = "order-status",
  name = "Order status",
  trigger = {type = "keyword", keywords = {"order"}, match = "starts_with"},
  main = function(ctx) ctx.ask(greeting, {timeout = 600}) end,
}
)";

std::string listing(const ParseResult& r) { return sb::flows::format_problems(r.problems); }

}  // namespace

TEST_CASE("a Lua flow's table gives its id, name and trigger with defaults filled", "[flows][document][lua]") {
  const auto result = parse_flow_lua(kOrderStatus, "from-file-name", "/flows/order.lua");
  INFO(listing(result));
  REQUIRE(result.ok());
  const auto& flow = *result.flow;
  CHECK(flow.kind == FlowDefinition::Kind::lua);
  CHECK(flow.id == "order-status");
  CHECK(flow.name == "Order status");
  CHECK(flow.rev == 1);
  CHECK(flow.trigger == json{{"type", "keyword"},
                             {"keywords", {"order"}},
                             {"match", "starts_with"},
                             {"case_sensitive", false},
                             {"priority", 0}});
  CHECK(flow.source == kOrderStatus);
  CHECK(flow.source_path == "/flows/order.lua");
  CHECK(flow.hash.size() == 64);
  CHECK(flow.nodes.empty());
}

TEST_CASE("a Lua flow without id takes the default id, and its name defaults to the id", "[flows][document][lua]") {
  const auto result =
      parse_flow_lua("return {trigger = {type = 'manual'}, main = function(ctx) end}", "nightly-report");
  INFO(listing(result));
  REQUIRE(result.ok());
  CHECK(result.flow->id == "nightly-report");
  CHECK(result.flow->name == "nightly-report");
}

TEST_CASE("a Lua syntax error is one problem at the root with Lua's message and line", "[flows][document][lua]") {
  const auto result = parse_flow_lua("return {\n  trigger = {type = 'manual'},\n  main = function(ctx) end\n",
                                     "broken", "/flows/broken.lua");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].path.empty());
  CHECK_THAT(result.problems[0].message, Contains("broken.lua:4:"));
}

TEST_CASE("a Lua flow that fails or runs away while loading is refused with the reason", "[flows][document][lua]") {
  const auto failed = parse_flow_lua("error('no config here')", "x");
  REQUIRE(failed.problems.size() == 1);
  CHECK_THAT(failed.problems[0].message, Contains("no config here"));

  const auto runaway = parse_flow_lua("while true do end", "x");
  REQUIRE(runaway.problems.size() == 1);
  CHECK_THAT(runaway.problems[0].message, Contains("budget"));
}

TEST_CASE("a Lua flow must return a table with a trigger and a main function", "[flows][document][lua]") {
  const auto not_table = parse_flow_lua("return 42", "x");
  REQUIRE(not_table.problems.size() == 1);
  CHECK_THAT(not_table.problems[0].message, Contains("must return a table") && Contains("number"));

  const auto empty = parse_flow_lua("return {}", "x");
  INFO(listing(empty));
  REQUIRE(empty.problems.size() == 2);
  CHECK(empty.problems[0].path == "/trigger");
  CHECK(empty.problems[1].path == "/main");

  const auto wrong = parse_flow_lua("return {trigger = {type = 'keyword'}, main = 'go', id = 'Bad Id', name = 3}", "x");
  INFO(listing(wrong));
  std::vector<std::string> paths;
  for (const auto& p : wrong.problems) paths.push_back(p.path);
  CHECK(paths == std::vector<std::string>{"/id", "/name", "/trigger/keywords", "/main"});
}

TEST_CASE("a file name that is no valid flow id must be overridden by id in the file", "[flows][document][lua]") {
  const auto result = parse_flow_lua("return {trigger = {type = 'manual'}, main = function() end}", "Order Status");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].path == "/id");
  CHECK_THAT(result.problems[0].message, Contains("'Order Status'"));
}

TEST_CASE("files are read by extension: .json as a graph, .lua (and .flow.lua) as a Lua flow", "[flows][document]") {
  sb::test::TempDir dir("sb-flow-file");
  std::ofstream(dir / "nightly.flow.lua") << "return {trigger = {type = 'manual'}, main = function() end}";
  std::ofstream(dir / "hello.json")
      << R"({"schema": "switchboard.flow/1", "id": "hello", "name": "Hello", "trigger": {"type": "manual"},
            "start": "a", "nodes": [{"id": "a", "type": "say", "typeVersion": 1, "config": {"text": "hi"}}]})";
  std::ofstream(dir / "notes.yaml") << "id: x";

  const auto lua = parse_flow_file(dir / "nightly.flow.lua", sb::test::test_catalog());
  INFO(listing(lua));
  REQUIRE(lua.ok());
  CHECK(lua.flow->id == "nightly");
  CHECK(lua.flow->source_path == (dir / "nightly.flow.lua").string());

  const auto graph = parse_flow_file(dir / "hello.json", sb::test::test_catalog());
  INFO(listing(graph));
  REQUIRE(graph.ok());
  CHECK(graph.flow->kind == FlowDefinition::Kind::graph);
  CHECK(graph.flow->source_path == (dir / "hello.json").string());

  const auto yaml = parse_flow_file(dir / "notes.yaml", sb::test::test_catalog());
  REQUIRE(yaml.problems.size() == 1);
  CHECK_THAT(yaml.problems[0].message, Contains("not a flow file"));

  const auto missing = parse_flow_file(dir / "missing.json", sb::test::test_catalog());
  REQUIRE(missing.problems.size() == 1);
  CHECK(missing.problems[0].path.empty());
  CHECK_THAT(missing.problems[0].message, Contains("cannot read") && Contains("missing.json"));
}
