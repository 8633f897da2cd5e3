#pragma once
// The host services table (sb_host_api) handed to every plugin, and the
// seams through which the rooms above provide what it needs: the inbound
// pipeline (PluginEventSink), durable plugin state (PluginStateStore) and the
// HTTP hook routes (dispatched by the api room).
#include "core/scheduler.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

struct sb_host_ctx;

namespace sb::plugins {

// Receives what plugins emit. Implemented by the messaging room.
class PluginEventSink {
 public:
  virtual ~PluginEventSink() = default;
  // Makes the event durable and returns the JSON result handed back to the
  // plugin. Throws sb::Error on bad input or failure.
  virtual nlohmann::json on_plugin_event(const std::string& plugin_id, const std::string& instance_id,
                                         std::string_view type, const nlohmann::json& event) = 0;
};

// Durable per-instance key-value state. Implemented by the store room.
class PluginStateStore {
 public:
  virtual ~PluginStateStore() = default;
  virtual std::optional<std::string> get(const std::string& plugin_id, const std::string& instance_id,
                                         const std::string& key) = 0;
  virtual void put(const std::string& plugin_id, const std::string& instance_id, const std::string& key,
                   const std::string& value) = 0;
  virtual void erase(const std::string& plugin_id, const std::string& instance_id, const std::string& key) = 0;
};

// A blob as the host services hand it to a plugin.
struct PluginBlob {
  nlohmann::json meta;  // {"ref","content_type","size","sha256"}
  std::string data;
};

// The blob store behind ABI 1.1's blob_put / blob_get, per workspace of the
// instance. Implemented by the store room (store::PluginBlobs).
class PluginBlobStore {
 public:
  virtual ~PluginBlobStore() = default;
  // Stores the bytes durably; returns the reference "blob:<sha256>". Throws
  // sb::Error (not_found when the instance has no workspace).
  virtual std::string put(const std::string& plugin_id, const std::string& instance_id, std::string_view content_type,
                          std::string_view data) = 0;
  // The blob of the instance's workspace, or nullopt. Throws
  // sb::Error(invalid_argument) for a malformed reference.
  virtual std::optional<PluginBlob> get(const std::string& plugin_id, const std::string& instance_id,
                                        std::string_view ref) = 0;
};

struct HookRequest {
  std::string method;
  std::string path;  // relative to /hooks/<plugin>/<instance>/
  nlohmann::json query = nlohmann::json::object();    // name -> string
  nlohmann::json headers = nlohmann::json::object();  // lower-case name -> string
  std::string body;
  std::string request_id;
};

struct HookResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HostServices {
 public:
  explicit HostServices(Scheduler& scheduler);
  ~HostServices();
  HostServices(const HostServices&) = delete;
  HostServices& operator=(const HostServices&) = delete;

  // Set once at start-up, before any instance is created.
  void set_event_sink(PluginEventSink* sink) { sink_ = sink; }
  void set_state_store(PluginStateStore* store) { state_ = store; }
  void set_blob_store(PluginBlobStore* blobs) { blobs_ = blobs; }

  const sb_host_api* api() const { return &api_; }

  // A context for one instance (or, with instance_id "", the plugin itself).
  // `config` and `schema` provide secret_get. Before an instance's destroy,
  // close_context() removes its routes (waiting for requests in flight) and
  // cancels (and waits for) its timers; after destroy, free_context().
  sb_host_ctx* make_context(const std::string& plugin_id, const std::string& instance_id,
                            nlohmann::json config = nlohmann::json::object(),
                            nlohmann::json schema = nlohmann::json::object());
  void close_context(sb_host_ctx* ctx);
  static void free_context(sb_host_ctx* ctx);

  // The error a plugin recorded with set_error during the last call on this
  // thread; cleared by begin_call().
  static void begin_call();
  static std::string take_error();

  // Calls the route a plugin registered for (plugin, instance, method, path).
  // Throws sb::Error(not_found) when there is none (method_not_allowed when
  // only the method differs).
  HookResponse dispatch_hook(const std::string& plugin_id, const std::string& instance_id,
                             const HookRequest& request);

  // Used by the C trampolines (public for them, not for other rooms).
  struct Route {
    sb_route_fn fn;
    void* user;
    sb_host_ctx* ctx;
  };
  PluginEventSink* event_sink() const { return sink_; }
  PluginStateStore* state_store() const { return state_; }
  PluginBlobStore* blob_store() const { return blobs_; }
  Scheduler& scheduler() { return scheduler_; }
  void add_route(sb_host_ctx* ctx, std::string method, std::string path, sb_route_fn fn, void* user);

 private:
  static std::string route_key(const std::string& plugin, const std::string& instance);

  Scheduler& scheduler_;
  sb_host_api api_{};
  PluginEventSink* sink_ = nullptr;
  PluginStateStore* state_ = nullptr;
  PluginBlobStore* blobs_ = nullptr;
  std::shared_mutex routes_mu_;
  // "<plugin>/<instance>" -> "<METHOD> <path>" -> route
  std::map<std::string, std::map<std::string, Route>> routes_;
};

}  // namespace sb::plugins
