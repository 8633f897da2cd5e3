#include "app/service_rooms.hpp"

#include "core/error.hpp"

#include <spdlog/spdlog.h>

namespace sb::app {

std::unique_ptr<ServiceRooms> ServiceRooms::open(const ServiceRoomsOptions& options) {
  std::unique_ptr<ServiceRooms> rooms(new ServiceRooms());
  auto& r = *rooms;
  r.scheduler = std::make_unique<Scheduler>(options.scheduler_threads);
  r.bus = std::make_unique<EventBus>();
  r.services = std::make_unique<plugins::HostServices>(*r.scheduler);
  r.registry = std::make_unique<plugins::PluginRegistry>(*r.services);
  r.registry->discover(options.plugin_paths);
  size_t loaded = 0;
  for (const auto& p : r.registry->list()) loaded += p.loaded ? 1 : 0;
  spdlog::info("{} plugin(s) loaded from {} director{}", loaded, options.plugin_paths.size(),
               options.plugin_paths.size() == 1 ? "y" : "ies");
  std::vector<std::string> required = options.required_plugins;
  required.insert(required.begin(), options.storage_plugin);
  for (const auto& id : required) {
    if (!r.registry->loaded(id)) {
      std::string where;
      for (const auto& p : options.plugin_paths) {
        if (!where.empty()) where += ':';
        where += p.string();
      }
      throw Error(ErrorCode::unavailable, "the plugin " + id + " is not loaded (searched " + where +
                                              "); run `switchboard plugins list` to see why");
    }
  }

  store::DatabaseOptions db_options;
  db_options.plugin_id = options.storage_plugin;
  db_options.config = options.storage;
  db_options.readers = options.db_readers;
  r.db = store::Database::open(*r.registry, db_options);
  r.state = std::make_unique<store::PluginStateStore>(*r.db);
  r.services->set_state_store(r.state.get());
  std::filesystem::path blob_dir = options.blob_dir;
  if (blob_dir.empty() && options.storage.contains("path") && options.storage["path"].is_string()) {
    blob_dir = std::filesystem::path(options.storage["path"].get<std::string>()).parent_path() / "blobs";
  }
  if (!blob_dir.empty()) {
    r.blobs = std::make_unique<store::BlobStore>(blob_dir);
    r.plugin_blobs = std::make_unique<store::PluginBlobs>(*r.db, *r.blobs);
    r.services->set_blob_store(r.plugin_blobs.get());
  }
  spdlog::info("database {} at schema version {}", db_options.config.value("path", std::string("?")),
               r.db->schema_version());
  if (options.seed) options.seed(*r.db);

  r.messaging = std::make_unique<messaging::Messaging>(*r.registry, *r.db, *r.bus, *r.scheduler);
  r.services->set_event_sink(&r.messaging->event_sink());
  flows::FlowRuntimeOptions flow_options = options.flows;
  knowledge::KnowledgeOptions knowledge_options = options.knowledge;
  if (knowledge_options.index_dir.empty()) {
    const std::string db_path = options.storage.value("path", std::string());
    knowledge_options.index_dir =
        (db_path.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(db_path).parent_path()) /
        "knowledge";
  }
  r.knowledge = std::make_unique<knowledge::KnowledgeBases>(*r.db, *r.registry, *r.bus, knowledge_options);
  // ctx.ai_reply / ctx.ai_classify: answered by the knowledge bases on the
  // runtime's call threads.
  knowledge::KnowledgeBases* kb = r.knowledge.get();
  flow_options.calls["ai"] = flows::CallKind{
      [kb](const flows::CallContext& call, const nlohmann::json& request) {
        return kb->flow_call(call.workspace_id, call.conversation_id, request);
      },
      4};
  r.library = std::make_unique<flows::FlowLibrary>(*r.db, flows::NodeCatalog::embedded());
  r.flows = std::make_unique<flows::FlowRuntime>(*r.db, *r.bus, r.messaging->outbox(), *r.library, flow_options);
  return rooms;
}

ServiceRooms::~ServiceRooms() { stop(); }

void ServiceRooms::start() {
  if (started_) return;
  started_ = true;
  if (knowledge) knowledge->start();
  flows->start();
  messaging->start();
}

void ServiceRooms::stop() {
  if (flows) flows->stop();
  if (knowledge) knowledge->stop();
  if (messaging) messaging->stop();
  if (services) {
    services->set_event_sink(nullptr);
    services->set_state_store(nullptr);
    services->set_blob_store(nullptr);
  }
  flows.reset();
  library.reset();
  knowledge.reset();
  messaging.reset();
  plugin_blobs.reset();
  blobs.reset();
  state.reset();
  db.reset();
  registry.reset();
  services.reset();
  bus.reset();
  if (scheduler) scheduler->stop();
  scheduler.reset();
}

}  // namespace sb::app
