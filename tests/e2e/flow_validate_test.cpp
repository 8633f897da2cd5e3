// `switchboard flow validate FILE...`, run as a real process against the
// embedded node library: one line per valid file, one line per problem, and
// the exit status says whether everything was valid (0), something was not
// (1), or the command was misused (2).
#include "support/temp_dir.hpp"

#include "support/run_cli.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

using Catch::Matchers::Contains;

namespace {

sb::test::CliOutput run(const std::string& args, const std::string& shell_input = "") {
  return sb::test::run_switchboard(args, shell_input);
}

std::string write_file(const sb::test::TempDir& dir, const std::string& name, const std::string& content) {
  const auto path = dir / name;
  std::ofstream(path) << content;
  return path.string();
}

// Uses only send_text and end, the most basic types of the node library.
constexpr const char* kValidGraph = R"({
  "schema": "switchboard.flow/1", "id": "hello", "rev": 4, "name": "Hello",
  "trigger": {"type": "keyword", "keywords": ["hello"]},
  "start": "greet",
  "nodes": [
    {"id": "greet", "type": "send_text", "typeVersion": 1, "config": {"text": "Hello {{contact.name}}!"}},
    {"id": "done", "type": "end", "typeVersion": 1, "config": {}}
  ],
  "edges": [{"id": "e1", "from": {"node": "greet", "port": "next"}, "to": {"node": "done"}}],
  "resources": []
})";

constexpr const char* kBrokenGraph = R"({
  "schema": "switchboard.flow/1", "id": "broken", "name": "Broken",
  "trigger": {"type": "schedule", "cron": "0 25 * * *"},
  "start": "nowhere",
  "nodes": [{"id": "greet", "type": "shout", "typeVersion": 1, "config": {}}]
})";

constexpr const char* kValidLua = R"(
return {
  name = "Order status",
  trigger = {type = "keyword", keywords = {"order"}, match = "starts_with"},
  main = function(ctx) ctx.send("ok") end,
}
)";

}  // namespace

TEST_CASE("flow validate says ok for a valid graph and a valid Lua flow and exits 0", "[e2e][cli][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto graph = write_file(dir, "hello.json", kValidGraph);
  const auto lua = write_file(dir, "order-status.flow.lua", kValidLua);
  const auto out = run("flow validate " + graph + " " + lua);
  INFO(out.text);
  CHECK(out.status == 0);
  CHECK(out.text == graph + ": ok (flow hello rev 4, 2 nodes)\n" + lua + ": ok (Lua flow order-status)\n");
}

TEST_CASE("flow validate prints every problem as FILE: /path: message and exits 1", "[e2e][cli][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto broken = write_file(dir, "broken.json", kBrokenGraph);
  const auto out = run("flow validate " + broken);
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK_THAT(out.text, Contains(broken + ": /trigger/cron: cron: hour"));
  CHECK_THAT(out.text, Contains(broken + ": /start: no node 'nowhere'"));
  CHECK_THAT(out.text, Contains(broken + ": /nodes/0/type: unknown node type 'shout'"));
}

TEST_CASE("flow validate checks every file even after a bad one", "[e2e][cli][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto broken = write_file(dir, "broken.json", kBrokenGraph);
  const auto graph = write_file(dir, "hello.json", kValidGraph);
  const auto syntax = write_file(dir, "typo.lua", "return {\n  trigger = {type = 'manual'},\n  main = function(ctx) end\n");
  const auto missing = (dir / "missing.json").string();
  const auto out = run("flow validate " + broken + " " + graph + " " + syntax + " " + missing);
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK_THAT(out.text, Contains(graph + ": ok"));
  CHECK_THAT(out.text, Contains(syntax + ": typo.lua:"));  // Lua's message, with the line
  CHECK_THAT(out.text, Contains(missing + ": cannot read"));
}

TEST_CASE("flow validate without files, with an unknown option, or an unknown flow command exits 2",
          "[e2e][cli][flows]") {
  const auto none = run("flow validate");
  CHECK(none.status == 2);
  CHECK_THAT(none.text, Contains("usage"));
  CHECK(run("flow validate --strict x.json").status == 2);
  const auto unknown = run("flow frobnicate");
  CHECK(unknown.status == 2);
  CHECK_THAT(unknown.text, Contains("unknown command `flow frobnicate`"));
  CHECK(run("flow").status == 2);
}

TEST_CASE("help lists flow validate", "[e2e][cli][flows]") {
  const auto out = run("help");
  CHECK(out.status == 0);
  CHECK_THAT(out.text, Contains("switchboard flow validate FILE..."));
}
