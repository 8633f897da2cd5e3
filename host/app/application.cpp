#include "app/application.hpp"

#include "api/http_server.hpp"
#include "core/error.hpp"
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "flows/embedded_files.hpp"
#include "flows/flow_library.hpp"
#include "flows/flow_runtime.hpp"
#include "messaging/messaging.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"
#include "store/plugin_state_store.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace sb::app {
namespace {

constexpr const char* kDemoOrganization = "demo";
constexpr const char* kDemoWorkspace = "demo";
constexpr const char* kDemoProfile = "demo";

// The demo tenant: organization and workspace "demo" and the sandbox profile
// "demo". Rows that exist are left as they are, so an operator's edits
// survive restarts. Its flows are seeded by seed_demo_flows().
void seed_demo(store::Database& db) {
  db.write([](store::Connection& c) {
    const int64_t now = now_ms();
    c.execute("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
              {kDemoOrganization, "Demo organization", now});
    c.execute(
        "INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES (?, ?, ?, 'UTC', ?) "
        "ON CONFLICT DO NOTHING",
        {kDemoWorkspace, kDemoOrganization, "Demo workspace", now});
    c.execute(
        "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, config_json, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, 'channel-sandbox', '{}', 'DISCONNECTED', ?, ?) "
        "ON CONFLICT DO NOTHING",
        {kDemoProfile, kDemoOrganization, kDemoWorkspace, "Demo sandbox number", now, now});
  });
}

// The demo workspace's flows, written into <flows_dir>/demo/ when that
// folder does not exist yet (an operator's edits and deletions survive):
// the welcome menu (examples/flows/welcome-menu.flow.json, embedded), which
// answers any message, and "ping", which answers ping with pong.
void seed_demo_flows(const std::filesystem::path& flows_dir) {
  const auto dir = flows_dir / kDemoWorkspace;
  if (std::filesystem::exists(dir)) return;
  std::filesystem::create_directories(dir);
  for (const auto& file : flows::embedded_flow_files()) {
    if (file.path == "../examples/flows/welcome-menu.flow.json") {
      std::ofstream(dir / "welcome-menu.flow.json") << file.content;
    }
  }
  std::ofstream(dir / "ping.flow.json") << R"({
  "schema": "switchboard.flow/1",
  "id": "ping",
  "rev": 1,
  "name": "Ping",
  "trigger": {"type": "keyword", "keywords": ["ping"], "match": "contains"},
  "start": "pong",
  "nodes": [
    {"id": "pong", "type": "send_text", "typeVersion": 1, "name": "Pong", "config": {"text": "pong"},
     "ui": {"x": 0, "y": 0}}
  ],
  "edges": []
}
)";
}

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

}  // namespace

struct Application::Rooms {
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<plugins::HostServices> services;
  std::unique_ptr<plugins::PluginRegistry> registry;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::PluginStateStore> state;
  std::unique_ptr<flows::FlowLibrary> library;
  std::unique_ptr<flows::FlowRuntime> flows;
  std::unique_ptr<messaging::Messaging> messaging;
  std::unique_ptr<api::HttpServer> http;
};

Application::Application(Config config) : config_(std::move(config)), rooms_(std::make_unique<Rooms>()) {}

Application::~Application() { stop(); }

void Application::start() {
  auto& r = *rooms_;
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    throw Error(ErrorCode::unavailable,
                "cannot create the data directory " + config_.data_dir.string() + ": " + ec.message());
  }
  if (config_.plugin_paths.empty()) config_.plugin_paths = default_plugin_paths();

  r.scheduler = std::make_unique<Scheduler>(config_.scheduler_threads);
  r.bus = std::make_unique<EventBus>();
  r.services = std::make_unique<plugins::HostServices>(*r.scheduler);
  r.registry = std::make_unique<plugins::PluginRegistry>(*r.services);
  r.registry->discover(config_.plugin_paths);
  size_t loaded = 0;
  for (const auto& p : r.registry->list()) loaded += p.loaded ? 1 : 0;
  spdlog::info("{} plugin(s) loaded from {} director{}", loaded, config_.plugin_paths.size(),
               config_.plugin_paths.size() == 1 ? "y" : "ies");

  store::DatabaseOptions db_options;
  db_options.plugin_id = config_.storage_plugin;
  db_options.config = config_.storage;
  if (!db_options.config.contains("path")) db_options.config["path"] = (config_.data_dir / "switchboard.db").string();
  db_options.readers = config_.db_readers;
  if (!r.registry->loaded(config_.storage_plugin)) {
    throw Error(ErrorCode::unavailable, "the storage plugin " + config_.storage_plugin +
                                            " is not loaded; run `switchboard plugins list` to see why");
  }
  r.db = store::Database::open(*r.registry, db_options);
  r.state = std::make_unique<store::PluginStateStore>(*r.db);
  r.services->set_state_store(r.state.get());
  spdlog::info("database {} at schema version {}", db_options.config["path"].get<std::string>(), r.db->schema_version());

  if (config_.demo) seed_demo(*r.db);

  r.messaging = std::make_unique<messaging::Messaging>(*r.registry, *r.db, *r.bus, *r.scheduler);
  r.services->set_event_sink(&r.messaging->event_sink());

  const auto flows_dir = config_.flows_dir.value_or(config_.data_dir / "flows");
  if (config_.demo) seed_demo_flows(flows_dir);
  r.library = std::make_unique<flows::FlowLibrary>(*r.db, flows::NodeCatalog::embedded());
  flows::FlowRuntimeOptions flow_options;
  flow_options.flows_dir = flows_dir;
  flow_options.workers = config_.flow_workers;
  flow_options.limits.instructions = config_.flow_instructions;
  flow_options.limits.wall = std::chrono::milliseconds(config_.flow_time_ms);
  flow_options.limits.memory_bytes = size_t{config_.flow_memory_mib} << 20;
  flow_options.retention = std::chrono::hours(24 * config_.flow_retention_days);
  r.flows = std::make_unique<flows::FlowRuntime>(*r.db, *r.bus, r.messaging->outbox(), *r.library, flow_options);
  r.flows->start();
  r.messaging->start();

  api::ServerOptions http_options;
  http_options.host = config_.listen_host;
  http_options.port = config_.listen_port;
  http_options.threads = config_.http_threads;
  http_options.max_body_bytes = config_.max_body_bytes;
  r.http = std::make_unique<api::HttpServer>(http_options, *r.services);
  flows::FlowRuntime* runtime = r.flows.get();
  r.http->route("POST", "/hooks/flows/:flow", [runtime](const api::ApiRequest& req) {
    nlohmann::json body = req.body.empty() ? nlohmann::json::object() : req.json_body();
    return api::ApiResponse::json(200, runtime->handle_webhook(req.path_params.at("flow"), req.header("x-flow-secret"), body));
  });
  r.http->route("GET", "/health", [](const api::ApiRequest&) {
    return api::ApiResponse::json(200, {{"status", "ok"}, {"version", SWITCHBOARD_VERSION}});
  });
  store::Database* db = r.db.get();
  r.http->route("GET", "/ready", [db](const api::ApiRequest&) {
    bool storage_ok = false;
    try {
      storage_ok = db->ping();
    } catch (const std::exception& e) {
      spdlog::warn("readiness: storage check failed: {}", e.what());
    }
    if (!storage_ok) {
      throw Error(ErrorCode::unavailable, "not ready: the database does not answer",
                  nlohmann::json{{"checks", {{"storage", "failing"}}}});
    }
    return api::ApiResponse::json(200, {{"status", "ready"}, {"checks", {{"storage", "ok"}}}});
  });
  r.http->start();
  spdlog::info("Switchboard {} listening on http://{}:{}", SWITCHBOARD_VERSION, config_.listen_host, r.http->port());
}

void Application::wait_for_signal() {
  g_signal.store(0);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (g_signal.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

void Application::stop() {
  if (!rooms_) return;
  auto& r = *rooms_;
  if (r.http) r.http->stop();
  if (r.flows) r.flows->stop();
  if (r.messaging) r.messaging->stop();
  if (r.services) {
    r.services->set_event_sink(nullptr);
    r.services->set_state_store(nullptr);
  }
  r.flows.reset();
  r.library.reset();
  r.messaging.reset();
  r.http.reset();
  r.state.reset();
  r.db.reset();
  r.registry.reset();
  r.services.reset();
  r.bus.reset();
  if (r.scheduler) r.scheduler->stop();
  r.scheduler.reset();
}

uint16_t Application::port() const { return rooms_ && rooms_->http ? rooms_->http->port() : 0; }

}  // namespace sb::app
