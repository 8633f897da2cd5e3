#pragma once
// `switchboard flow run FLOW [FLOW...]`: chat with a flow in the terminal.
// The flows run in a FlowHarness on the real clock; every line read is a
// message from the contact, and the bot's replies are printed as they come,
// also those a delay or a timeout sends later. A line equal to a button or
// list row title of the bot's last interactive message taps it (the message
// carries its reply_id, as WhatsApp reports a tap).
//
//   /vars          the latest execution's status and variables
//   /advance 10m   moves the clock ahead (waits that come due fire)
//   /quit          ends (as does the end of the input)
#include <cstdio>
#include <filesystem>
#include <istream>
#include <string>
#include <vector>

namespace sb::app {

struct FlowChatOptions {
  std::filesystem::path flow_file;                  // the flow to chat with
  std::vector<std::filesystem::path> other_flows;  // installed too (subflows)
  std::vector<std::filesystem::path> plugin_paths;  // empty: default_plugin_paths()
  std::string contact_phone = "+15550100001";
  std::string contact_name = "Ada";
  std::string timezone = "UTC";
  bool echo_input = false;  // print "> contact: ..." for each line (input not typed at a terminal)
};

// Returns the exit status: 0 after /quit or the end of `in`, 2 when a flow
// does not load (its problems printed to `out`).
int run_flow_chat(const FlowChatOptions& options, std::istream& in, std::FILE* out = stdout);

}  // namespace sb::app
