// Graph documents (switchboard.flow/1): a valid one compiles into indexes with
// defaults filled in; an invalid one is refused with every problem at once,
// each at its JSON path (docs/flows.md, "Validation"). Only the test node
// library of test_node_types.hpp is used.
#include "flows/flow_document.hpp"

#include "test_node_types.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::Contains;
using nlohmann::json;
using sb::flows::FlowDefinition;
using sb::flows::parse_flow_json;
using sb::flows::ParseResult;
using sb::flows::Problem;
using sb::test::test_catalog;

namespace {

// greet -> menu (waits) -> route -> match:yes -> call -> ok/error -> bye;
// route's default loops back to greet through the waiting menu.
json valid_document() {
  return json::parse(R"({
    "schema": "switchboard.flow/1",
    "id": "welcome",
    "name": "Welcome",
    "description": "says hello",
    "trigger": {"type": "keyword", "keywords": ["hi", "hello"]},
    "start": "greet",
    "nodes": [
      {"id": "greet", "type": "say", "typeVersion": 1, "name": "Greet", "config": {"text": "Hi!"},
       "ui": {"x": 10, "y": 20, "collapsed": true}},
      {"id": "menu", "type": "wait", "typeVersion": 1, "config": {}},
      {"id": "route", "type": "pick", "typeVersion": 1, "config": {"cases": [{"id": "yes"}, {"id": "no"}]}},
      {"id": "call", "type": "fetch", "typeVersion": 1, "config": {}, "refs": {"api": "crm_api"}},
      {"id": "bye", "type": "say", "typeVersion": 2, "config": {"text": "Bye"}, "disabled": false}
    ],
    "edges": [
      {"id": "e1", "from": {"node": "greet", "port": "next"}, "to": {"node": "menu"}},
      {"id": "e2", "from": {"node": "menu", "port": "reply"}, "to": {"node": "route"}},
      {"id": "e3", "from": {"node": "route", "port": "match:yes"}, "to": {"node": "call"}},
      {"id": "e4", "from": {"node": "route", "port": "default"}, "to": {"node": "greet"}},
      {"id": "e5", "from": {"node": "call", "port": "ok"}, "to": {"node": "bye"}},
      {"id": "e6", "from": {"node": "call", "port": "error"}, "to": {"node": "bye"}}
    ],
    "resources": [{"id": "crm_api", "type": "http", "config": {"base_url": "https://crm.example.com"}}]
  })");
}

ParseResult parse(const json& doc) { return parse_flow_json(doc.dump(), test_catalog()); }

std::string listing(const std::vector<Problem>& problems) { return sb::flows::format_problems(problems); }

// The problems of `doc`, which must be refused.
std::vector<Problem> problems_of(const json& doc) {
  const auto result = parse(doc);
  INFO(doc.dump(2));
  CHECK_FALSE(result.ok());
  CHECK(result.flow == nullptr);
  return result.problems;
}

// The message of the one problem at `path`; fails unless exactly one is there.
std::string problem_at(const std::vector<Problem>& problems, const std::string& path) {
  std::vector<std::string> found;
  for (const auto& p : problems) {
    if (p.path == path) found.push_back(p.message);
  }
  INFO("looking for " << path << " in:\n" << listing(problems));
  REQUIRE(found.size() == 1);
  return found.front();
}

}  // namespace

TEST_CASE("a valid document compiles with next maps, defaults filled and resources kept", "[flows][document]") {
  const auto result = parse(valid_document());
  INFO(listing(result.problems));
  REQUIRE(result.ok());
  const FlowDefinition& flow = *result.flow;
  CHECK(flow.kind == FlowDefinition::Kind::graph);
  CHECK(flow.id == "welcome");
  CHECK(flow.rev == 1);  // "rev" defaults to 1
  CHECK(flow.name == "Welcome");
  CHECK(flow.catalog == test_catalog());
  REQUIRE(flow.nodes.size() == 5);
  CHECK(flow.start == flow.node_index("greet"));
  CHECK(flow.node_index("nope") == -1);

  const auto& greet = flow.nodes[static_cast<size_t>(flow.node_index("greet"))];
  CHECK(greet.name == "Greet");
  CHECK(greet.type == test_catalog()->find("say", 1));
  CHECK(greet.config == json{{"text", "Hi!"}, {"delay_ms", 0}});
  CHECK(greet.next.at("next") == flow.node_index("menu"));
  CHECK(greet.next.size() == 1);

  const auto& menu = flow.nodes[static_cast<size_t>(flow.node_index("menu"))];
  CHECK(menu.config == json{{"timeout", 60}});

  const auto& route = flow.nodes[static_cast<size_t>(flow.node_index("route"))];
  CHECK(route.config.at("cases")[0] == json{{"id", "yes"}, {"equals", ""}});  // defaults inside array items
  CHECK(route.next.at("match:yes") == flow.node_index("call"));
  CHECK(route.next.at("default") == flow.node_index("greet"));
  CHECK_FALSE(route.next.count("match:no"));

  const auto& call = flow.nodes[static_cast<size_t>(flow.node_index("call"))];
  CHECK(call.refs == std::map<std::string, std::string>{{"api", "crm_api"}});
  CHECK(call.next.at("error") == flow.node_index("bye"));
  CHECK(flow.nodes[static_cast<size_t>(flow.node_index("bye"))].type->version == 2);

  CHECK(flow.resources.at("crm_api") ==
        json{{"type", "http"}, {"config", {{"base_url", "https://crm.example.com"}}}});
  CHECK(flow.trigger == json{{"type", "keyword"},
                             {"keywords", {"hi", "hello"}},
                             {"match", "exact"},
                             {"case_sensitive", false},
                             {"priority", 0}});
  CHECK(flow.source == valid_document().dump());
}

TEST_CASE("the hash is the lower-case hex SHA-256 of the text: stable, and changed by any edit", "[flows][document]") {
  const std::string text =
      R"({"schema": "switchboard.flow/1", "id": "hello", "name": "Hello", "trigger": {"type": "manual"}, )"
      R"("start": "a", "nodes": [{"id": "a", "type": "say", "typeVersion": 1, "config": {"text": "hi"}}]})";
  const auto first = parse_flow_json(text, test_catalog());
  REQUIRE(first.ok());
  CHECK(first.flow->hash == "d2827997832d95a10059a7fec2e67dbdcdbc6c7279ac3ed2e871baea2f07cc72");
  CHECK(parse_flow_json(text, test_catalog()).flow->hash == first.flow->hash);
  const auto spaced = parse_flow_json(text + "\n", test_catalog());
  REQUIRE(spaced.ok());
  CHECK(spaced.flow->hash != first.flow->hash);
}

TEST_CASE("text that is not JSON is one problem at the root, with where it broke", "[flows][document]") {
  const auto result = parse_flow_json(R"({"schema": "switchboard.flow/1", )", test_catalog());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].path.empty());
  CHECK_THAT(result.problems[0].message, Contains("not valid JSON") && Contains("line 1"));
}

TEST_CASE("schema violations are reported at their paths", "[flows][document]") {
  auto doc = valid_document();
  doc["schema"] = "switchboard.flow/2";
  doc["id"] = "Welcome Flow";
  doc["rev"] = 0;
  doc["colour"] = "blue";
  doc["nodes"][1].erase("typeVersion");
  doc["nodes"][2]["ui"]["x"] = "left";
  doc["edges"][0]["from"].erase("port");
  doc["resources"][0]["config"] = "https://crm.example.com";
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/schema") == "must be \"switchboard.flow/1\"");
  CHECK_THAT(problem_at(problems, "/id"), Contains("pattern"));
  CHECK(problem_at(problems, "/rev") == "must be at least 1");
  CHECK(problem_at(problems, "/colour") == "unknown property 'colour'");
  CHECK(problem_at(problems, "/nodes/1/typeVersion") == "required property 'typeVersion' is missing");
  CHECK(problem_at(problems, "/nodes/2/ui/x") == "must be a number (it is a string)");
  CHECK(problem_at(problems, "/edges/0/from/port") == "required property 'port' is missing");
  CHECK(problem_at(problems, "/resources/0/config") == "must be an object (it is a string)");
}

TEST_CASE("a document that is not an object is refused at the root", "[flows][document]") {
  const auto problems = problems_of(json::array());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path.empty());
  CHECK_THAT(problems[0].message, Contains("object"));
}

TEST_CASE("an unknown node type is reported at its type", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"][0]["type"] = "shout";
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/nodes/0/type") == "unknown node type 'shout'");
}

TEST_CASE("an unknown version of a known type is reported with the versions there are", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"][0]["typeVersion"] = 7;
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/nodes/0/typeVersion") == "node type 'say' has no version 7 (known: 1, 2)");
}

TEST_CASE("a config that breaks its type's schema is reported inside the config", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"][0]["config"] = {{"delay_ms", "soon"}, {"volume", 11}};
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/nodes/0/config/text") == "required property 'text' is missing");
  CHECK(problem_at(problems, "/nodes/0/config/delay_ms") == "must be an integer (it is a string)");
  CHECK(problem_at(problems, "/nodes/0/config/volume") == "unknown property 'volume'");
}

TEST_CASE("two cases with one id are refused: each case is a port", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"][2]["config"]["cases"] = {{{"id", "yes"}}, {{"id", "yes"}}};
  CHECK_THAT(problem_at(problems_of(doc), "/nodes/2/config/cases/1/id"), Contains("duplicate case id 'yes'"));
}

TEST_CASE("duplicate node and edge ids are reported at the second one", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"].push_back({{"id", "menu"}, {"type", "say"}, {"typeVersion", 1}, {"config", {{"text", "again"}}}});
  doc["edges"].push_back({{"id", "e1"}, {"from", {{"node", "bye"}, {"port", "next"}}}, {"to", {{"node", "greet"}}}});
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/nodes/5/id") == "duplicate node id 'menu' (also /nodes/1)");
  CHECK(problem_at(problems, "/edges/6/id") == "duplicate edge id 'e1' (also /edges/0)");
}

TEST_CASE("a start that names no node is reported at /start", "[flows][document]") {
  auto doc = valid_document();
  doc["start"] = "hello";
  const auto problems = problems_of(doc);
  CHECK_THAT(problem_at(problems, "/start"), Contains("no node 'hello'"));
  // Without a start, reachability is not judged: no node is called unreachable.
  for (const auto& p : problems) CHECK_THAT(p.message, !Contains("cannot be reached"));
}

TEST_CASE("an edge from or to a node that does not exist is reported at that end", "[flows][document]") {
  auto doc = valid_document();
  doc["edges"][0]["from"]["node"] = "ghost";
  doc["edges"][1]["to"]["node"] = "phantom";
  const auto problems = problems_of(doc);
  CHECK_THAT(problem_at(problems, "/edges/0/from/node"), Contains("no node 'ghost'"));
  CHECK_THAT(problem_at(problems, "/edges/1/to/node"), Contains("no node 'phantom'"));
}

TEST_CASE("an edge from a port the node does not have is reported with the ports it has", "[flows][document]") {
  auto doc = valid_document();
  doc["edges"][0]["from"]["port"] = "reply";
  doc["edges"][2]["from"]["port"] = "match:maybe";
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/edges/0/from/port") == "node 'greet' (say) has no port 'reply' (its ports: next, error)");
  CHECK(problem_at(problems, "/edges/2/from/port") ==
        "node 'route' (pick) has no port 'match:maybe' (its ports: default, match:yes, match:no, error)");
}

TEST_CASE("two edges from the same node and port are refused at the second", "[flows][document]") {
  auto doc = valid_document();
  doc["edges"].push_back({{"id", "e7"}, {"from", {{"node", "greet"}, {"port", "next"}}}, {"to", {{"node", "bye"}}}});
  CHECK(problem_at(problems_of(doc), "/edges/6/from") ==
        "a second edge from node 'greet' port 'next' (the first is /edges/0): a port leads to one node");
}

TEST_CASE("refs must name a declared slot and an existing resource of the slot's type", "[flows][document]") {
  SECTION("a slot the type does not declare") {
    auto doc = valid_document();
    doc["nodes"][3]["refs"]["db"] = "crm_api";
    CHECK(problem_at(problems_of(doc), "/nodes/3/refs/db") == "node type 'fetch' has no ref slot 'db' (its slots: api, cache)");
  }
  SECTION("a resource that does not exist") {
    auto doc = valid_document();
    doc["nodes"][3]["refs"]["api"] = "leads_api";
    CHECK(problem_at(problems_of(doc), "/nodes/3/refs/api") == "no resource 'leads_api' in this flow's resources");
  }
  SECTION("a resource of the wrong type") {
    auto doc = valid_document();
    doc["nodes"][3]["refs"]["cache"] = "crm_api";
    CHECK(problem_at(problems_of(doc), "/nodes/3/refs/cache") ==
          "resource 'crm_api' is of type 'http' but slot 'cache' takes a 'kv' resource");
  }
  SECTION("a required ref left out") {
    auto doc = valid_document();
    doc["nodes"][3].erase("refs");
    CHECK(problem_at(problems_of(doc), "/nodes/3/refs/api") == "required ref 'api' (a 'http' resource) is missing");
  }
  SECTION("a ref on a type that takes none") {
    auto doc = valid_document();
    doc["nodes"][0]["refs"] = {{"api", "crm_api"}};
    CHECK(problem_at(problems_of(doc), "/nodes/0/refs/api") == "node type 'say' has no ref slot 'api' (it takes no refs)");
  }
}

TEST_CASE("a node that cannot be reached from start is reported at the node", "[flows][document]") {
  auto doc = valid_document();
  doc["nodes"].push_back({{"id", "orphan"}, {"type", "say"}, {"typeVersion", 1}, {"config", {{"text", "?"}}}});
  CHECK(problem_at(problems_of(doc), "/nodes/5") == "node 'orphan' cannot be reached from the start node 'greet'");
}

TEST_CASE("a cycle without a waiting node is reported once, at one of its nodes, naming the loop",
          "[flows][document]") {
  auto doc = valid_document();
  // route -> call -> bye -> route: none of them waits.
  doc["edges"].push_back({{"id", "e7"}, {"from", {{"node", "bye"}, {"port", "next"}}}, {"to", {{"node", "route"}}}});
  const auto problems = problems_of(doc);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].path == "/nodes/2");
  CHECK_THAT(problems[0].message, Contains("route -> call -> bye -> route") && Contains("no waiting node"));
}

TEST_CASE("a self-loop is a cycle too", "[flows][document]") {
  auto doc = valid_document();
  doc["edges"].push_back({{"id", "e7"}, {"from", {{"node", "bye"}, {"port", "next"}}}, {"to", {{"node", "bye"}}}});
  CHECK_THAT(problem_at(problems_of(doc), "/nodes/4"), Contains("bye -> bye"));
}

TEST_CASE("a cycle through a waiting node is fine, unless that node is disabled", "[flows][document]") {
  REQUIRE(parse(valid_document()).ok());  // greet -> menu -> route -> greet waits at menu
  auto doc = valid_document();
  doc["nodes"][1]["disabled"] = true;
  CHECK_THAT(problem_at(problems_of(doc), "/nodes/0"), Contains("greet -> menu -> route -> greet"));
}

TEST_CASE("every cycle without a wait is reported, one problem each", "[flows][document]") {
  auto doc = valid_document();
  doc["edges"].push_back({{"id", "e7"}, {"from", {{"node", "bye"}, {"port", "next"}}}, {"to", {{"node", "bye"}}}});
  doc["nodes"].push_back({{"id", "x"}, {"type", "say"}, {"typeVersion", 1}, {"config", {{"text", "x"}}}});
  doc["nodes"].push_back({{"id", "y"}, {"type", "say"}, {"typeVersion", 1}, {"config", {{"text", "y"}}}});
  doc["edges"].push_back({{"id", "e8"}, {"from", {{"node", "call"}, {"port", "ok"}}}, {"to", {{"node", "x"}}}});
  doc["edges"][4]["from"]["port"] = "error";  // call's ok now leads to x
  doc["edges"].erase(5);
  doc["edges"].push_back({{"id", "e9"}, {"from", {{"node", "x"}, {"port", "next"}}}, {"to", {{"node", "y"}}}});
  doc["edges"].push_back({{"id", "e10"}, {"from", {{"node", "y"}, {"port", "next"}}}, {"to", {{"node", "x"}}}});
  const auto problems = problems_of(doc);
  INFO(listing(problems));
  REQUIRE(problems.size() == 2);
  CHECK_THAT(problem_at(problems, "/nodes/4"), Contains("bye -> bye"));
  CHECK_THAT(problem_at(problems, "/nodes/5"), Contains("x -> y -> x"));
}

TEST_CASE("a bad trigger is reported under /trigger", "[flows][document]") {
  auto doc = valid_document();
  doc["trigger"] = {{"type", "keyword"}, {"keywords", json::array()}, {"colour", "blue"}};
  const auto problems = problems_of(doc);
  CHECK(problem_at(problems, "/trigger/keywords") == "must list at least one keyword");
  CHECK_THAT(problem_at(problems, "/trigger/colour"), Contains("unknown property 'colour'"));

  doc["trigger"] = {{"type", "sometimes"}};
  CHECK_THAT(problem_at(problems_of(doc), "/trigger/type"), Contains("unknown trigger type \"sometimes\""));
}

TEST_CASE("every problem of a document is reported at once, in document order", "[flows][document]") {
  auto doc = valid_document();
  doc["trigger"] = {{"type", "schedule"}};                       // no cron
  doc["start"] = "nowhere";                                      // no such node
  doc["nodes"][0]["type"] = "shout";                             // unknown type
  doc["nodes"][1]["typeVersion"] = 9;                            // unknown version
  doc["nodes"][2]["config"] = json::object();                    // cases missing
  doc["nodes"][3]["refs"] = {{"api", "nope"}};                   // unknown resource
  doc["nodes"][4]["id"] = "call";                                // duplicate id
  doc["edges"][4]["to"]["node"] = "void";                        // no such node
  doc["edges"][5]["to"]["node"] = "greet";                       // (bye's id is taken)
  doc["edges"].push_back({{"id", "e1"}, {"from", {{"node", "call"}, {"port", "sideways"}}},
                          {"to", {{"node", "greet"}}}});          // duplicate id, unknown port
  doc["resources"][0]["colour"] = "red";                         // schema
  const auto problems = problems_of(doc);
  const std::vector<std::string> expected = {
      "/trigger/cron",   "/start",           "/nodes/0/type",      "/nodes/1/typeVersion", "/nodes/2/config/cases",
      "/nodes/3/refs/api", "/nodes/4/id",    "/edges/4/to/node",   "/edges/6/id",          "/edges/6/from/port",
      "/resources/0/colour"};
  std::vector<std::string> paths;
  for (const auto& p : problems) paths.push_back(p.path);
  INFO(listing(problems));
  CHECK(paths == expected);
}

TEST_CASE("format_problems gives one 'path: message' line per problem", "[flows][document]") {
  const std::vector<Problem> problems = {{"", "not valid JSON: x"}, {"/start", "no node 'a'"}};
  CHECK(sb::flows::format_problems(problems) == "not valid JSON: x\n/start: no node 'a'\n");
}
