#include "app/flow_commands.hpp"

#include "core/error.hpp"
#include "flows/flow_document.hpp"

#include <cstdio>
#include <functional>
#include <map>

namespace sb::app {

const char* const kFlowUsage = R"usage(  switchboard flow validate FILE...
      Check flow files (graphs as .json, Lua flows as .lua) against the
      document format and the node library. Prints "FILE: ok (...)" or each
      problem as "FILE: /path: message". Exit status 0 when every file is
      valid, 1 otherwise.
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
  };
  if (args.empty()) throw Error(ErrorCode::invalid_argument, "usage: switchboard flow validate FILE...");
  auto command = kCommands.find(args[0]);
  if (command == kCommands.end()) {
    throw Error(ErrorCode::invalid_argument, "unknown command `flow " + args[0] + "` (see `switchboard help`)");
  }
  return command->second(args);
}

}  // namespace sb::app
