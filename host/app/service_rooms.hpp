#pragma once
// The rooms every host composition needs below the HTTP server — scheduler,
// event bus, plugins, database, messaging, knowledge, flows — built in dependency
// order and taken down in reverse. Application (the server) and FlowHarness
// (`switchboard flow test/run`) both compose them through here.
#include "core/event_bus.hpp"
#include "core/scheduler.hpp"
#include "flows/flow_library.hpp"
#include "flows/flow_runtime.hpp"
#include "knowledge/knowledge_bases.hpp"
#include "messaging/messaging.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/blob_store.hpp"
#include "store/database.hpp"
#include "store/plugin_state_store.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sb::app {

struct ServiceRoomsOptions {
  std::vector<std::filesystem::path> plugin_paths;
  unsigned scheduler_threads = 2;
  std::string storage_plugin = "storage-sqlite";
  nlohmann::json storage = nlohmann::json::object();  // the storage plugin's config, with "path"
  unsigned db_readers = 4;
  // The blob store's directory (<data_dir>/blobs); when empty, "blobs" next
  // to the storage config's "path", and no blob store without either.
  std::filesystem::path blob_dir;
  // Plugins that must have loaded (the storage plugin always must).
  std::vector<std::string> required_plugins;
  // Runs once the database is open and migrated, before messaging and the
  // flows are built (seeding tenants).
  std::function<void(store::Database&)> seed;
  flows::FlowRuntimeOptions flows;
  // Knowledge bases; index_dir defaults to "knowledge" next to the
  // storage config's "path".
  knowledge::KnowledgeOptions knowledge;
};

struct ServiceRooms {
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<plugins::HostServices> services;
  std::unique_ptr<plugins::PluginRegistry> registry;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::PluginStateStore> state;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<store::PluginBlobs> plugin_blobs;
  std::unique_ptr<messaging::Messaging> messaging;
  std::unique_ptr<knowledge::KnowledgeBases> knowledge;
  std::unique_ptr<flows::FlowLibrary> library;
  std::unique_ptr<flows::FlowRuntime> flows;

  // Builds every room; nothing is started. Throws sb::Error(unavailable)
  // naming a required plugin that did not load, and whatever opening the
  // database throws; what was built is taken down again.
  static std::unique_ptr<ServiceRooms> open(const ServiceRoomsOptions& options);
  ~ServiceRooms();  // stop()

  // Starts the knowledge bases' ingestion, the flow runtime (recovery
  // included) and then messaging.
  void start();
  // Stops the flows and messaging, unhooks the host services, and destroys
  // every room in reverse order of construction. Safe to call twice.
  void stop();

 private:
  ServiceRooms() = default;
  bool started_ = false;
};

}  // namespace sb::app
