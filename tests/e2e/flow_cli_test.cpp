// `switchboard flow test` and `flow run`, run as a real process. (Every
// example fixture is also played by its own ctest entry: ctest -L flows.)
#include "support/temp_dir.hpp"

#include "support/run_cli.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace {

sb::test::CliOutput run(const std::string& args, const std::string& shell_input = "") {
  return sb::test::run_switchboard(args, shell_input);
}

std::string example(const std::string& name) { return std::string(SB_SOURCE_DIR) + "/examples/flows/" + name; }

std::string write(const sb::test::TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("flow test plays an example conversation, prints the transcript and passes", "[e2e][flows]") {
  const auto out = run("flow test " + example("opening-hours.flow.json") + " --conversation " +
                       example("opening-hours.conversation.json"));
  INFO(out.text);
  CHECK(out.status == 0);
  CHECK(has(out.text, "> contact: When are you open?"));
  CHECK(has(out.text, "< bot: Yes, we're open now! Today we're here until 17:30 (Berlin time)."));
  CHECK(has(out.text, "… advanced 8h (now Mon 2026-11-23 19:00 Europe/Berlin)"));
  CHECK(has(out.text, "✓ execution completed"));
  CHECK(has(out.text, "PASS " + example("opening-hours.conversation.json") + " (14 steps)"));
}

TEST_CASE("flow test stops at the first expectation that does not hold, says what came, and exits 1",
          "[e2e][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto fixture = write(dir, "wrong.conversation.json", R"({
    "contact": {"phone": "+15550100003", "name": "Linus"},
    "timezone": "Europe/Berlin",
    "start_time": "2026-11-23T10:00:00Z",
    "steps": [
      {"say": "When are you open?"},
      {"expect": {"contains": "closed"}},
      {"expect_execution": "completed"}
    ]
  })");
  const auto out = run("flow test " + example("opening-hours.flow.json") + " --conversation " + fixture);
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK(has(out.text, "✗ expected containing \"closed\""));
  CHECK(has(out.text, "got text \"Yes, we're open now! Today we're here until 17:30 (Berlin time).\""));
  CHECK(has(out.text, "FAIL " + fixture + " at step 2"));
  CHECK_FALSE(has(out.text, "✓ execution completed"));  // nothing runs after the failure
}

TEST_CASE("flow test fails a reply that never came and an HTTP request that does not match the script",
          "[e2e][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto silent = write(dir, "silent.conversation.json", R"({
    "steps": [{"say": "nothing triggers on this"}, {"expect": "a reply"}]
  })");
  auto out = run("flow test " + example("opening-hours.flow.json") + " --conversation " + silent);
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK(has(out.text, "got nothing (no further message was sent)"));

  const auto wrong_body = write(dir, "crm.conversation.json", R"({
    "start_time": "2026-11-23T10:00:00Z",
    "http": [{"method": "POST", "path": "/leads", "status": 201, "json": {"id": "lead_1"},
              "expect_json": {"email": "someone@else.example"}}],
    "resources": {"leads_api": {"base_url": "{{http}}"}},
    "steps": [
      {"say": "lead"}, {"say": "Ada"}, {"say": "ada@example.com"}, {"say": "Pricing", "reply_id": "pricing"},
      {"expect_tags": ["lead"]}
    ]
  })");
  out = run("flow test " + example("lead-capture.flow.json") + " --conversation " + wrong_body);
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK(has(out.text, "✗ HTTP request 1 (POST /leads): expected the JSON body to hold {\"email\":\"someone@else.example\"}"));
  CHECK(has(out.text, "FAIL " + wrong_body + " at step 4"));
}

TEST_CASE("flow test exits 2 for a flow that does not load, naming each problem", "[e2e][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto flow = write(dir, "broken.flow.json", R"({
    "schema": "switchboard.flow/1", "id": "broken", "rev": 1, "name": "Broken",
    "trigger": {"type": "message"}, "start": "a",
    "nodes": [{"id": "a", "type": "send_telegram", "typeVersion": 1, "config": {}}],
    "edges": []
  })");
  const auto fixture = write(dir, "broken.conversation.json", R"({"steps": [{"say": "hi"}]})");
  const auto out = run("flow test " + flow + " --conversation " + fixture);
  INFO(out.text);
  CHECK(out.status == 2);
  CHECK(has(out.text, flow + ": /nodes/0/type: "));
  CHECK_FALSE(has(out.text, "PASS"));
}

TEST_CASE("flow test exits 2 for a fixture with a step it does not know, before anything runs", "[e2e][flows]") {
  sb::test::TempDir dir("sb-flow-cli");
  const auto fixture = write(dir, "typo.conversation.json", R"({"steps": [{"say": "hi"}, {"expect_var": {"a": 1}}]})");
  const auto out = run("flow test " + example("opening-hours.flow.json") + " --conversation " + fixture);
  INFO(out.text);
  CHECK(out.status == 2);
  CHECK(has(out.text, "steps[1]: unknown step \"expect_var\""));
  CHECK_FALSE(has(out.text, "> contact: hi"));

  const auto missing = run("flow test " + example("opening-hours.flow.json"));
  INFO(missing.text);
  CHECK(missing.status == 2);
  CHECK(has(missing.text, "--conversation"));
}

TEST_CASE("flow run chats with a flow over stdin, taps buttons by title and shows the variables", "[e2e][flows]") {
  const auto out = run("flow run " + example("welcome-menu.flow.json") + " " + example("lead-capture.flow.json") +
                           " --name Grace --timezone Europe/Berlin",
                       "printf 'hi\\nopening hours\\n/vars\\n/quit\\nnot read\\n'");
  INFO(out.text);
  CHECK(out.status == 0);
  CHECK(has(out.text, "< bot: Hi Grace! I'm the Switchboard demo bot. What can I do for you? [Opening hours]"));
  CHECK(has(out.text, "< bot: We're open Monday to Friday"));
  CHECK(has(out.text, "welcome-menu completed"));
  CHECK(has(out.text, "\"choice\":\"hours\""));
  CHECK_FALSE(has(out.text, "not read"));
}

TEST_CASE("flow run prints replies a delay sends later, while it waits for input", "[e2e][flows]") {
  const auto out = run("flow run " + example("order-status.lua"), "printf 'order\\n12346\\n'; sleep 3; printf '/quit\\n'");
  INFO(out.text);
  CHECK(out.status == 0);
  CHECK(has(out.text, "< bot: Thanks! Checking order 12346..."));
  CHECK(has(out.text, "< bot: Order 12346 has shipped and should arrive within 2 working days."));
}

TEST_CASE("flow run moves its clock with /advance", "[e2e][flows]") {
  const auto out = run("flow run " + example("order-status.lua"), "printf 'order\\n/advance 11m\\n/quit\\n'");
  INFO(out.text);
  CHECK(out.status == 0);
  CHECK(has(out.text, "… advanced 11m"));
  CHECK(has(out.text, "< bot: No problem. Write \"order\" again when you have your order number at hand."));
}
