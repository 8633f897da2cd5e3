#include "app/flow_commands.hpp"

#include "app/flow_chat.hpp"
#include "app/flow_conversation_test.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "flows/flow_document.hpp"

#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

namespace sb::app {

const char* const kFlowUsage = R"usage(  switchboard flow validate FILE...
      Check flow files (graphs as .json, Lua flows as .lua) against the
      document format and the node library. Prints "FILE: ok (...)" or each
      problem as "FILE: /path: message". Exit status 0 when every file is
      valid, 1 otherwise.
  switchboard flow test FLOW --conversation FIXTURE.json [--plugin-path DIRS]
      Play a scripted conversation (docs/flows.md, "Testing a flow offline")
      against FLOW in a private, throw-away host with a clock the script
      moves, printing the transcript. Exit status 0 when every expectation
      held, 1 at the first one that did not, 2 when the flow or the fixture
      does not load.
  switchboard flow run FLOW [FLOW...] [--contact PHONE] [--name NAME]
                       [--timezone ZONE] [--plugin-path DIRS]
      Chat with FLOW in the terminal as a contact (default +15550100001,
      Ada; time zone UTC); further FLOWs are installed too (subflows). Each
      line is a message; a button's title taps it; /vars shows the latest
      execution's variables, /advance 10m moves the clock, /quit ends.
)usage";

namespace {

// Files named on the command line; options are refused (none yet).
std::vector<std::string> file_arguments(const std::vector<std::string>& args, const std::string& usage) {
  std::vector<std::string> files;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].size() > 1 && args[i][0] == '-') {
      throw Error(ErrorCode::invalid_argument, "unknown option " + args[i] + " (usage: " + usage + ")");
    }
    files.push_back(args[i]);
  }
  if (files.empty()) throw Error(ErrorCode::invalid_argument, "no file given (usage: " + usage + ")");
  return files;
}

// The value after the option at args[i] (advancing i).
std::string option_value(const std::vector<std::string>& args, size_t& i, const std::string& usage) {
  if (i + 1 >= args.size()) throw Error(ErrorCode::invalid_argument, args[i] + " needs a value (usage: " + usage + ")");
  return args[++i];
}

// Plugin folders: --plugin-path DIRS (colon-separated), else the host's
// configuration (SWITCHBOARD_PLUGIN_PATH, ...), else next to the executable.
// Logs go to stderr at warn unless configured, so the transcript stays clean.
std::vector<std::filesystem::path> plugin_paths_and_quiet_logs(const std::string& option) {
  Config config = load_config(std::nullopt);
  LogOptions log = config.log;
  if (!process_env("SWITCHBOARD_LOG_LEVEL")) log.level = "warn";
  init_logging(log);
  if (!option.empty()) {
    config.plugin_paths.clear();
    std::stringstream parts(option);
    for (std::string part; std::getline(parts, part, ':');) {
      if (!part.empty()) config.plugin_paths.emplace_back(part);
    }
  }
  return config.plugin_paths;  // empty: the harness uses default_plugin_paths()
}

int flow_test(const std::vector<std::string>& args) {
  const std::string usage = "switchboard flow test FLOW --conversation FIXTURE.json";
  ConversationTestOptions options;
  std::vector<std::string> files;
  std::string plugin_path;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--conversation") {
      options.fixture_file = option_value(args, i, usage);
    } else if (args[i] == "--plugin-path") {
      plugin_path = option_value(args, i, usage);
    } else if (args[i].size() > 1 && args[i][0] == '-') {
      throw Error(ErrorCode::invalid_argument, "unknown option " + args[i] + " (usage: " + usage + ")");
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.size() != 1) throw Error(ErrorCode::invalid_argument, "name one flow file (usage: " + usage + ")");
  if (options.fixture_file.empty()) {
    throw Error(ErrorCode::invalid_argument, "--conversation FIXTURE.json is required (usage: " + usage + ")");
  }
  options.flow_file = files[0];
  options.plugin_paths = plugin_paths_and_quiet_logs(plugin_path);
  return run_conversation_test(options);
}

int flow_run(const std::vector<std::string>& args) {
  const std::string usage =
      "switchboard flow run FLOW [FLOW...] [--contact PHONE] [--name NAME] [--timezone ZONE]";
  FlowChatOptions options;
  std::vector<std::string> files;
  std::string plugin_path;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--contact") {
      options.contact_phone = option_value(args, i, usage);
    } else if (args[i] == "--name") {
      options.contact_name = option_value(args, i, usage);
    } else if (args[i] == "--timezone") {
      options.timezone = option_value(args, i, usage);
    } else if (args[i] == "--plugin-path") {
      plugin_path = option_value(args, i, usage);
    } else if (args[i].size() > 1 && args[i][0] == '-') {
      throw Error(ErrorCode::invalid_argument, "unknown option " + args[i] + " (usage: " + usage + ")");
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) throw Error(ErrorCode::invalid_argument, "no flow file given (usage: " + usage + ")");
  options.flow_file = files[0];
  options.other_flows.assign(files.begin() + 1, files.end());
  options.plugin_paths = plugin_paths_and_quiet_logs(plugin_path);
  options.echo_input = !isatty(STDIN_FILENO);  // piped input shows in the transcript
  return run_flow_chat(options, std::cin);
}

int flow_validate(const std::vector<std::string>& args) {
  const auto files = file_arguments(args, "switchboard flow validate FILE...");
  const auto catalog = flows::NodeCatalog::embedded();
  bool all_ok = true;
  for (const auto& file : files) {
    const auto result = flows::parse_flow_file(file, catalog);
    if (result.ok()) {
      const auto& flow = *result.flow;
      if (flow.kind == flows::FlowDefinition::Kind::graph) {
        std::printf("%s: ok (flow %s rev %lld, %zu nodes)\n", file.c_str(), flow.id.c_str(),
                    static_cast<long long>(flow.rev), flow.nodes.size());
      } else {
        std::printf("%s: ok (Lua flow %s)\n", file.c_str(), flow.id.c_str());
      }
      continue;
    }
    all_ok = false;
    for (const auto& p : result.problems) {
      std::printf("%s: %s%s\n", file.c_str(), p.path.empty() ? "" : (p.path + ": ").c_str(), p.message.c_str());
    }
  }
  std::fflush(stdout);
  return all_ok ? 0 : 1;
}

}  // namespace

int run_flow_command(const std::vector<std::string>& args) {
  static const std::map<std::string, std::function<int(const std::vector<std::string>&)>> kCommands = {
      {"validate", flow_validate},
      {"test", flow_test},
      {"run", flow_run},
  };
  if (args.empty()) throw Error(ErrorCode::invalid_argument, "usage: switchboard flow validate|test|run ... (see `switchboard help`)");
  auto command = kCommands.find(args[0]);
  if (command == kCommands.end()) {
    throw Error(ErrorCode::invalid_argument, "unknown command `flow " + args[0] + "` (see `switchboard help`)");
  }
  return command->second(args);
}

}  // namespace sb::app
