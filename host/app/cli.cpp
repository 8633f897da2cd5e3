#include "app/cli.hpp"

#include "app/application.hpp"
#include "app/flow_commands.hpp"
#include "app/kb_commands.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "plugins/registry.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace sb::app {
namespace {

constexpr const char* kUsage = R"(Switchboard — self-hosted WhatsApp automation platform

Usage:
  switchboard serve [--config FILE]
      Start the host. With no configuration it uses ./data, listens on
      127.0.0.1:8080 and loads the plugins built next to the executable.
  switchboard plugins list [--plugin-path DIRS] [--json]
      Show every plugin found: id, kind, version, ABI, loaded or why not.
  switchboard plugins check ID [--config JSON] [--plugin-path DIRS]
      Load plugin ID, create an instance with the given config (default {}),
      report its status, and destroy it. Exit status 0 when it worked.
  switchboard version
  switchboard help

Environment: SWITCHBOARD_CONFIG, SWITCHBOARD_DATA_DIR, SWITCHBOARD_LISTEN
(host:port), SWITCHBOARD_PLUGIN_PATH (dir:dir), SWITCHBOARD_LOG_LEVEL,
SWITCHBOARD_LOG_FORMAT (human|json). See docs/operations.md.
)";

struct Args {
  std::vector<std::string> positional;
  std::optional<std::string> config_file;
  std::optional<std::string> plugin_path;
  std::optional<std::string> config_json;
  bool json = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) throw Error(ErrorCode::invalid_argument, std::string(name) + " needs a value");
      return argv[++i];
    };
    if (arg == "--config") {
      // `serve --config FILE` names a config file; `plugins check --config JSON` an instance config.
      if (!a.positional.empty() && a.positional[0] == "plugins") {
        a.config_json = value("--config");
      } else {
        a.config_file = value("--config");
      }
    } else if (arg == "--plugin-path") {
      a.plugin_path = value("--plugin-path");
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "-h" || arg == "--help") {
      a.positional.insert(a.positional.begin(), "help");
    } else if (arg.rfind("--", 0) == 0) {
      throw Error(ErrorCode::invalid_argument, "unknown option " + arg + " (see `switchboard help`)");
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

Config config_for(const Args& args) {
  Config config = load_config(args.config_file ? std::optional<std::filesystem::path>(*args.config_file) : std::nullopt);
  if (args.plugin_path) {
    config.plugin_paths.clear();
    std::stringstream ss(*args.plugin_path);
    std::string part;
    while (std::getline(ss, part, ':')) {
      if (!part.empty()) config.plugin_paths.emplace_back(part);
    }
  }
  if (config.plugin_paths.empty()) config.plugin_paths = default_plugin_paths();
  return config;
}

int serve(const Args& args) {
  Config config = config_for(args);
  init_logging(config.log);
  Application app(std::move(config));
  app.start();
  app.wait_for_signal();
  spdlog::info("shutting down");
  app.stop();
  return 0;
}

int plugins_list(const Args& args) {
  Config config = config_for(args);
  // Loader messages go to the log only at warn and above; the list says it all.
  LogOptions log = config.log;
  if (log.level == "info") log.level = "off";
  init_logging(log);
  Scheduler scheduler(1);
  plugins::HostServices services(scheduler);
  plugins::PluginRegistry registry(services);
  registry.discover(config.plugin_paths);
  const auto list = registry.list();
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : list) {
      out.push_back({{"id", p.id}, {"kind", p.kind}, {"version", p.version}, {"abi", p.abi},
                     {"manifest", p.manifest_file.string()}, {"loaded", p.loaded}, {"error", p.error}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("%-28s %-8s %-10s %-5s %s\n", "ID", "KIND", "VERSION", "ABI", "STATUS");
  for (const auto& p : list) {
    std::printf("%-28s %-8s %-10s %-5s %s\n", p.id.c_str(), p.kind.c_str(), p.version.empty() ? "-" : p.version.c_str(),
                p.abi.empty() ? "-" : p.abi.c_str(), p.loaded ? "loaded" : ("NOT LOADED: " + p.error).c_str());
  }
  if (list.empty()) {
    std::printf("(no plugins found in:");
    for (const auto& d : config.plugin_paths) std::printf(" %s", d.string().c_str());
    std::printf(")\n");
  }
  return 0;
}

int plugins_check(const Args& args) {
  if (args.positional.size() < 3) throw Error(ErrorCode::invalid_argument, "usage: switchboard plugins check ID");
  Config config = config_for(args);
  init_logging(config.log);
  nlohmann::json instance_config = nlohmann::json::object();
  if (args.config_json) {
    try {
      instance_config = nlohmann::json::parse(*args.config_json);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(ErrorCode::invalid_argument, std::string("--config is not valid JSON: ") + e.what());
    }
  }
  Scheduler scheduler(1);
  plugins::HostServices services(scheduler);
  plugins::PluginRegistry registry(services);
  registry.discover(config.plugin_paths);
  const auto report = registry.probe(args.positional[2], instance_config);
  std::cout << report.dump(2) << "\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  try {
    // The flow subcommands parse their own options.
    if (argc > 1 && std::string(argv[1]) == "flow") return run_flow_command({argv + 2, argv + argc});
    if (argc > 1 && std::string(argv[1]) == "kb") return run_kb_command({argv + 2, argv + argc});
    const Args args = parse_args(argc, argv);
    const std::string command = args.positional.empty() ? "help" : args.positional[0];
    if (command == "serve") return serve(args);
    if (command == "plugins") {
      const std::string sub = args.positional.size() > 1 ? args.positional[1] : "list";
      if (sub == "list") return plugins_list(args);
      if (sub == "check") return plugins_check(args);
      throw Error(ErrorCode::invalid_argument, "unknown command `plugins " + sub + "` (see `switchboard help`)");
    }
    if (command == "version" || command == "--version") {
      std::printf("switchboard %s (plugin ABI %d.%d)\n", SWITCHBOARD_VERSION, SB_ABI_VERSION_MAJOR, SB_ABI_VERSION_MINOR);
      return 0;
    }
    if (command == "help") {
      std::string usage = kUsage;
      usage.insert(usage.find("  switchboard version"), std::string(kFlowUsage) + kKbUsage);
      std::fputs(usage.c_str(), stdout);
      return 0;
    }
    throw Error(ErrorCode::invalid_argument, "unknown command `" + command + "` (see `switchboard help`)");
  } catch (const Error& e) {
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "switchboard: unexpected error: %s\n", e.what());
    return 1;
  }
}

}  // namespace sb::app
