#include "app/application.hpp"

#include "app/api_rooms.hpp"
#include "app/service_rooms.hpp"
#include "tenancy/plugin_secrets.hpp"

#include "api/http_server.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "flows/embedded_files.hpp"
#include "flows/flow_runtime.hpp"
#include "store/database.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

namespace sb::app {

std::string_view demo_ping_flow() {
  return R"({
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
// the example flows embedded from examples/flows/ — the welcome menu, which
// answers any message, with the lead-capture form it calls and the
// opening-hours answer — and "ping", which answers ping with pong.
void seed_demo_flows(const std::filesystem::path& flows_dir) {
  const auto dir = flows_dir / kDemoWorkspace;
  if (std::filesystem::exists(dir)) return;
  std::filesystem::create_directories(dir);
  for (const auto& file : flows::embedded_flow_files()) {
    const std::string_view prefix = "../examples/flows/";
    if (file.path.substr(0, prefix.size()) == prefix) {
      std::ofstream(dir / std::string(file.path.substr(prefix.size()))) << file.content;
    }
  }
  std::ofstream(dir / "ping.flow.json") << demo_ping_flow();
}

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal.store(sig); }

}  // namespace

struct Application::Rooms {
  std::unique_ptr<ServiceRooms> rooms;
  ApiRooms api;
  std::unique_ptr<api::HttpServer> http;
};

Application::Application(Config config) : config_(std::move(config)), rooms_(std::make_unique<Rooms>()) {}

Application::~Application() { stop(); }

void Application::start() {
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec) {
    throw Error(ErrorCode::unavailable,
                "cannot create the data directory " + config_.data_dir.string() + ": " + ec.message());
  }
  if (config_.plugin_paths.empty()) config_.plugin_paths = default_plugin_paths();

  ServiceRoomsOptions options;
  options.plugin_paths = config_.plugin_paths;
  options.scheduler_threads = config_.scheduler_threads;
  options.storage_plugin = config_.storage_plugin;
  options.storage = config_.storage;
  if (!options.storage.contains("path")) options.storage["path"] = (config_.data_dir / "switchboard.db").string();
  options.db_readers = config_.db_readers;
  options.blob_dir = config_.data_dir / "blobs";
  const auto flows_dir = config_.flows_dir.value_or(config_.data_dir / "flows");
  if (config_.demo) {
    options.seed = [flows_dir](store::Database& db) {
      seed_demo(db);
      seed_demo_flows(flows_dir);
    };
  }
  options.flows.flows_dir = flows_dir;
  options.flows.workers = config_.flow_workers;
  options.flows.limits.instructions = config_.flow_instructions;
  options.flows.limits.wall = std::chrono::milliseconds(config_.flow_time_ms);
  options.flows.limits.memory_bytes = size_t{config_.flow_memory_mib} << 20;
  options.flows.retention = std::chrono::hours(24 * config_.flow_retention_days);
  options.knowledge.index_dir = config_.data_dir / "knowledge";
  options.knowledge.ingest_threads = config_.knowledge.ingest_threads;
  options.knowledge.embed_batch = config_.knowledge.embed_batch;
  options.knowledge.max_document_chunks = config_.knowledge.max_document_chunks;
  options.knowledge.max_document_bytes = config_.max_upload_bytes;
  options.knowledge.index.exact_until = config_.knowledge.exact_until;
  options.knowledge.index.approximate = config_.knowledge.approximate;
  auto& r = *rooms_;
  // Profiles' secrets are sealed at rest: the sessions open them with the
  // secret box, which therefore exists before any session does.
  r.api.secrets = ApiRooms::open_secret_box(config_);
  r.rooms = ServiceRooms::open(options);
  {
    const tenancy::SecretBox* box = r.api.secrets.get();
    const plugins::PluginRegistry* registry = r.rooms->registry.get();
    r.rooms->messaging->sessions().set_config_opener([box, registry](const std::string& plugin, const nlohmann::json& stored) {
      return tenancy::transform_plugin_secrets(*registry, plugin, stored, *box, false);
    });
    // AI providers' keys are sealed at rest the same way.
    if (r.rooms->knowledge) {
      r.rooms->knowledge->set_config_codec(
          [box, registry](const std::string& plugin, const nlohmann::json& config) {
            return tenancy::transform_plugin_secrets(*registry, plugin, config, *box, true);
          },
          [box, registry](const std::string& plugin, const nlohmann::json& stored) {
            return tenancy::transform_plugin_secrets(*registry, plugin, stored, *box, false);
          });
    }
  }
  r.rooms->start();
  r.api.open(config_, *r.rooms);

  api::ServerOptions http_options;
  http_options.host = config_.listen_host;
  http_options.port = config_.listen_port;
  http_options.threads = config_.http_threads;
  http_options.max_body_bytes = config_.max_body_bytes;
  http_options.max_upload_bytes = std::max(config_.max_upload_bytes, config_.max_body_bytes);
  {
    api::Metrics* metrics = r.api.metrics.get();
    http_options.observe = [metrics](const std::string& method, const std::string& route, int status, double s) {
      metrics->observe_request(method, route, status, s);
    };
    tenancy::Dashboards* dashboards = r.api.dashboards.get();
    const std::vector<std::string> origins = config_.security.cors_origins;
    http_options.cors_allowed = [dashboards, origins](const std::string& origin) {
      for (const auto& o : origins)
        if (o == origin || o == "*") return true;
      return dashboards->is_active_origin(origin);
    };
  }
  r.http = std::make_unique<api::HttpServer>(http_options, *r.rooms->services);
  r.api.add_routes(*r.http);
  flows::FlowRuntime* runtime = r.rooms->flows.get();
  r.http->route("POST", "/hooks/flows/:flow", [runtime](const api::ApiRequest& req) {
    nlohmann::json body = req.body.empty() ? nlohmann::json::object() : req.json_body();
    return api::ApiResponse::json(200, runtime->handle_webhook(req.path_params.at("flow"), req.header("x-flow-secret"), body));
  });
  r.http->route("GET", "/health", [](const api::ApiRequest&) {
    return api::ApiResponse::json(200, {{"status", "ok"}, {"version", SWITCHBOARD_VERSION}});
  });
  store::Database* db = r.rooms->db.get();
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
  r.api.shutdown();  // open event streams end, so the server's workers can
  if (r.http) r.http->stop();
  r.http.reset();  // before the host services its hook routes dispatch to
  r.api = ApiRooms{};
  if (r.rooms) r.rooms->stop();
  r.rooms.reset();
}

uint16_t Application::port() const { return rooms_ && rooms_->http ? rooms_->http->port() : 0; }

}  // namespace sb::app
