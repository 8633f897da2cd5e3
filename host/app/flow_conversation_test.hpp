#pragma once
// `switchboard flow test FLOW --conversation FIXTURE.json`: plays a scripted
// conversation (the fixture format is in docs/flows.md, "Testing a flow
// offline") against the flow in a FlowHarness with a manual clock, printing
// the transcript as it goes:
//
//   # A new contact says hi and picks opening hours
//   > contact: hi
//   < bot: Hi Ada! What do you need? [Opening hours] [Talk to us]
//     ✓ interactive, text "Hi Ada! What do you need?", buttons [Opening hours] [Talk to us]
//   > contact: Opening hours  [reply_id hours]
//     ⇄ HTTP POST /leads -> 201
//   < bot: We're open until 17:30.
//     ✓ containing "open"
//   … advanced 2h (now Mon 2026-11-23 13:00 Europe/Berlin)
//     ✗ expected vars {"choice":"hours"}
//       got {"choice":"human"}
//   FAIL support.conversation.json at step 6: {"expect_vars":{"choice":"hours"}}
//
// and "PASS FIXTURE (N steps)" when every expectation held.
#include <cstdio>
#include <filesystem>
#include <vector>

namespace sb::app {

struct ConversationTestOptions {
  std::filesystem::path flow_file;
  std::filesystem::path fixture_file;
  std::vector<std::filesystem::path> plugin_paths;  // empty: default_plugin_paths()
};

// Returns the exit status: 0 when every expectation held, 1 at the first one
// that did not (or an HTTP request the script did not expect, or scripted
// requests that never came), 2 when the fixture or a flow does not load
// (their problems printed to `out`). Throws sb::Error for what stops the
// harness itself (a plugin missing, a runtime that does not settle).
int run_conversation_test(const ConversationTestOptions& options, std::FILE* out = stdout);

}  // namespace sb::app
