// The node library: each node type is a Lua file plus its entry
// (<type>[@<n>].lua + .schema.json), checked when the catalog is built, with
// its config schema compiled for the flow validator.
#include "flows/node_catalog.hpp"

#include "core/error.hpp"
#include "test_node_types.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::ErrorCode;
using sb::flows::NodeCatalog;
using sb::flows::Problem;
using sb::test::node_entry;
using sb::test::node_type_files;
using sb::test::NodeFiles;
using sb::test::test_catalog;
using sb::test::test_node_files;

namespace {

// The message of the sb::Error that building a catalog from `files` throws.
std::string build_error(const NodeFiles& files) {
  try {
    NodeCatalog::from_files(files);
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    return e.what();
  }
  FAIL("the catalog should have been refused");
  return "";
}

json say_entry(int version = 1) {
  return node_entry("say", version, {"next"}, {{"text", {{"type", "string"}}}}, {"text"});
}

}  // namespace

TEST_CASE("the embedded node library loads without error", "[flows][catalog]") {
  std::shared_ptr<const NodeCatalog> catalog;
  REQUIRE_NOTHROW(catalog = NodeCatalog::embedded());
  REQUIRE(catalog);
  CHECK(catalog == NodeCatalog::embedded());  // built once
  for (const auto& type : catalog->types()) {
    INFO(type.type);
    CHECK_FALSE(type.lua_source.empty());
    CHECK(type.config_schema.at("type") == "object");
  }
}

TEST_CASE("a node type's entry is read with its Lua source, ports, refs and chunk name", "[flows][catalog]") {
  const auto catalog = test_catalog();
  const auto* wait = catalog->find("wait", 1);
  REQUIRE(wait);
  CHECK(wait->title == "wait");
  CHECK(wait->description == "a test node");
  CHECK(wait->waits);
  CHECK(wait->ports == std::vector<std::string>{"reply", "timeout"});
  CHECK(wait->chunk_name == "=node:wait");
  CHECK(wait->lua_source == "return function(ctx, config) return 'next' end");
  CHECK_FALSE(wait->case_ports);

  const auto* pick = catalog->find("pick", 1);
  REQUIRE(pick);
  REQUIRE(pick->case_ports);
  CHECK(pick->case_ports->config_field == "cases");
  CHECK(pick->case_ports->key == "id");
  CHECK(pick->case_ports->prefix == "match:");

  const auto* fetch = catalog->find("fetch", 1);
  REQUIRE(fetch);
  REQUIRE(fetch->refs.size() == 2);
  CHECK(fetch->refs.at("api").type == "http");
  CHECK(fetch->refs.at("api").required);
  CHECK(fetch->refs.at("cache").type == "kv");
  CHECK_FALSE(fetch->refs.at("cache").required);  // "required" defaults to false
}

TEST_CASE("later versions come from <type>@<n> files and are listed in ascending order", "[flows][catalog]") {
  const auto catalog = test_catalog();
  CHECK(catalog->versions("say") == std::vector<int>{1, 2});
  CHECK(catalog->versions("nope").empty());
  const auto* v2 = catalog->find("say", 2);
  REQUIRE(v2);
  CHECK(v2->version == 2);
  CHECK(v2->chunk_name == "=node:say@2");
  CHECK(catalog->find("say", 3) == nullptr);
  CHECK(catalog->find("nope", 1) == nullptr);
}

TEST_CASE("files outside nodes/ are not node types", "[flows][catalog]") {
  NodeFiles files = node_type_files("say", say_entry());
  files.push_back({"schema/flow-1.schema.json", "{}"});
  files.push_back({"runtime/prelude.lua", "return {}"});
  const auto catalog = NodeCatalog::from_files(files);
  CHECK(catalog->types().size() == 1);
}

TEST_CASE("a Lua file without its entry, or an entry without its Lua file, is refused", "[flows][catalog]") {
  const auto lonely_lua = build_error({{"nodes/say.lua", "return function() end"}});
  CHECK_THAT(lonely_lua, Contains("nodes/say.lua has no nodes/say.schema.json"));

  const auto lonely_entry = build_error({{"nodes/say.schema.json", say_entry().dump()}});
  CHECK_THAT(lonely_entry, Contains("nodes/say.schema.json has no nodes/say.lua"));
}

TEST_CASE("a typeVersion that does not match the file name is refused", "[flows][catalog]") {
  CHECK_THAT(build_error(node_type_files("say", say_entry(2))), Contains("/typeVersion") && Contains("file name"));
  CHECK_THAT(build_error(node_type_files("say@3", say_entry(2))), Contains("nodes/say@3.schema.json"));
  auto wrong_type = say_entry();
  wrong_type["type"] = "shout";
  CHECK_THAT(build_error(node_type_files("say", wrong_type)), Contains("/type") && Contains("shout"));
}

TEST_CASE("an entry that breaks the node-type schema is refused with every problem named", "[flows][catalog]") {
  auto entry = say_entry();
  entry.erase("ports");
  entry["waits"] = "yes";
  entry["colour"] = "blue";
  const auto message = build_error(node_type_files("say", entry));
  CHECK_THAT(message, Contains("/ports") && Contains("/waits") && Contains("/colour"));
}

TEST_CASE("an entry that lists the implicit error port or a broken config schema is refused", "[flows][catalog]") {
  auto with_error = say_entry();
  with_error["ports"] = {"next", "error"};
  CHECK_THAT(build_error(node_type_files("say", with_error)), Contains("error"));

  auto bad_case_field = say_entry();
  bad_case_field["case_ports"] = {{"config", "cases"}, {"key", "id"}, {"prefix", "match:"}};
  CHECK_THAT(build_error(node_type_files("say", bad_case_field)), Contains("/case_ports/config"));

  auto bad_schema = say_entry();
  bad_schema["config"]["properties"]["text"] = {{"type", 42}};
  CHECK_THAT(build_error(node_type_files("say", bad_schema)), Contains("/config"));
}

TEST_CASE("a file name that is not <type>.lua, <type>.schema.json or <type>@<n>.* is refused", "[flows][catalog]") {
  CHECK_THAT(build_error({{"nodes/say.json", "{}"}}), Contains("nodes/say.json") && Contains("not a node file"));
  CHECK_THAT(build_error({{"nodes/say@two.lua", ""}}), Contains("nodes/say@two.lua"));
}

TEST_CASE("the ports of a node are its fixed ports, one per case, and error", "[flows][catalog]") {
  const auto catalog = test_catalog();
  const auto* pick = catalog->find("pick", 1);
  REQUIRE(pick);
  const json config = {{"cases", {{{"id", "yes"}}, {{"id", "no"}}, {{"id", "yes"}}}}};
  CHECK(catalog->ports_of(*pick, config) == std::vector<std::string>{"default", "match:yes", "match:no", "error"});
  CHECK(catalog->ports_of(*pick, json::object()) == std::vector<std::string>{"default", "error"});
  CHECK(catalog->ports_of(*catalog->find("say", 1), json::object()) == std::vector<std::string>{"next", "error"});
}

TEST_CASE("a config is checked against its type's schema with paths under the given one", "[flows][catalog]") {
  const auto catalog = test_catalog();
  const auto& say = *catalog->find("say", 1);
  std::vector<Problem> problems;
  catalog->validate_config(say, {{"text", "hi"}}, "/nodes/0/config", problems);
  CHECK(problems.empty());

  catalog->validate_config(say, {{"delay_ms", "soon"}, {"colour", "blue"}}, "/nodes/3/config", problems);
  std::map<std::string, std::string> by_path;
  for (const auto& p : problems) by_path[p.path] = p.message;
  CHECK(by_path.size() == 3);
  CHECK(by_path["/nodes/3/config/text"] == "required property 'text' is missing");
  CHECK(by_path["/nodes/3/config/delay_ms"] == "must be an integer (it is a string)");
  CHECK(by_path["/nodes/3/config/colour"] == "unknown property 'colour'");
}

TEST_CASE("every unknown key of a config is named, not only the first", "[flows][catalog]") {
  const auto catalog = test_catalog();
  std::vector<Problem> problems;
  catalog->validate_config(*catalog->find("say", 1), {{"text", "hi"}, {"a", 1}, {"b", 2}, {"c", 3}}, "", problems);
  std::vector<std::string> paths;
  for (const auto& p : problems) paths.push_back(p.path);
  std::sort(paths.begin(), paths.end());
  CHECK(paths == std::vector<std::string>{"/a", "/b", "/c"});
}
