#pragma once
// The plugin loader: finds every plugin.json under the plugin directories,
// checks each manifest before loading any code, loads the libraries with
// Boost.DLL, negotiates the ABI and creates instances with validated
// configs. A broken plugin is recorded with its reason and skipped; the host
// goes on with the others. Thread-safe after discover().
#include "plugins/host_services.hpp"
#include "plugins/manifest.hpp"
#include "plugins/plugin_error.hpp"

#include <boost/dll/shared_library.hpp>
#include <nlohmann/json.hpp>
#include <switchboard/plugin.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sb::plugins {

// What `switchboard plugins list` shows for each plugin found.
struct PluginInfo {
  std::string id;             // from the manifest, or the folder name if unreadable
  std::string kind;           // "channel", ... ("?" if unknown)
  std::string version;
  std::string abi;            // manifest ABI, e.g. "1.0"
  std::filesystem::path manifest_file;
  bool loaded = false;
  std::string error;          // why it did not load; names the file and reason
};

class PluginRegistry;

// An instance of a plugin. Destroying it removes its routes and timers and
// then calls the plugin's destroy.
class PluginInstance {
 public:
  virtual ~PluginInstance();
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  const std::string& plugin_id() const { return plugin_id_; }
  const std::string& instance_id() const { return instance_id_; }
  const nlohmann::json& config() const { return config_; }  // validated, defaults filled

 protected:
  PluginInstance(HostServices& services, std::shared_ptr<void> library, std::string plugin_id,
                 std::string instance_id, nlohmann::json config, nlohmann::json schema);
  // Throws PluginError (message prefixed with the plugin id and `what`)
  // unless `status` is SB_OK.
  void check(sb_status status, std::string_view what) const;
  // Parses a plugin's JSON result; throws PluginError(plugin_error) naming
  // the plugin and the call when it is malformed or not an object.
  nlohmann::json parse_result(const std::string& text, std::string_view what) const;

  HostServices& services_;
  std::shared_ptr<void> library_;  // keeps the library loaded while the instance lives
  sb_host_ctx* ctx_ = nullptr;
  void* handle_ = nullptr;         // the plugin's instance pointer
  void (*destroy_)(void*) = nullptr;

 private:
  std::string plugin_id_;
  std::string instance_id_;
  nlohmann::json config_;
  friend class PluginRegistry;
};

class ChannelInstance : public PluginInstance {
 public:
  void connect();
  void disconnect();
  // Sends one message (host message shape); returns {"external_id": ...}.
  nlohmann::json send(const nlohmann::json& message);
  nlohmann::json status();
  nlohmann::json capabilities();
  // ABI 1.1: an optional operation (SB_OP_*, see plugin.h) with a JSON
  // object request; returns the plugin's JSON object. Throws
  // PluginError(SB_ERR_UNSUPPORTED) with "... not supported by this channel"
  // when the plugin's table has no call slot (a 1.0 plugin), leaves it NULL
  // or answers SB_ERR_UNSUPPORTED; PluginError otherwise like send.
  nlohmann::json call(const std::string& op, const nlohmann::json& request);

 private:
  using PluginInstance::PluginInstance;
  const sb_channel_api* api_ = nullptr;
  friend class PluginRegistry;
};

// An AI provider instance (embeddings, answers, classification); the
// request and result shapes are plugin.h's. Thread-safe as the plugin is
// (plugin.h requires AI instances to take concurrent calls). Each call
// throws PluginError with the plugin's status and message when it fails
// (transient(): unavailable, busy, timeout) and when it answers malformed
// JSON.
class AiInstance : public PluginInstance {
 public:
  nlohmann::json embed(const nlohmann::json& request);
  nlohmann::json chat(const nlohmann::json& request);
  // chat, with each piece of the answer handed to `on_delta` as it comes
  // (the whole text as one piece when the plugin streams nothing or its
  // table has no chat_stream slot).
  nlohmann::json chat_stream(const nlohmann::json& request, const std::function<void(std::string_view)>& on_delta);
  nlohmann::json classify(const nlohmann::json& request);

 private:
  using PluginInstance::PluginInstance;
  nlohmann::json invoke(sb_status (*fn)(void*, sb_str, sb_sink*), const nlohmann::json& request,
                        std::string_view what);
  const sb_ai_api* api_ = nullptr;
  friend class PluginRegistry;
};

// One storage connection. Not thread-safe: one thread at a time.
class StorageConnection : public PluginInstance {
 public:
  const sb_storage_api* api() const { return api_; }
  void* handle() const { return handle_; }
  using PluginInstance::check;

 private:
  using PluginInstance::PluginInstance;
  const sb_storage_api* api_ = nullptr;
  friend class PluginRegistry;
};

class PluginRegistry {
 public:
  explicit PluginRegistry(HostServices& services);
  ~PluginRegistry();

  // Reads <dir>/*/plugin.json for every dir (a dir that itself holds a
  // plugin.json counts too), then loads each valid plugin. Call once.
  void discover(const std::vector<std::filesystem::path>& dirs);

  std::vector<PluginInfo> list() const;
  // The manifest of a loaded plugin, or nullptr.
  const Manifest* manifest(const std::string& plugin_id) const;
  bool loaded(const std::string& plugin_id) const { return manifest(plugin_id) != nullptr; }

  // Create instances. Throw sb::Error(not_found) for an unknown or unloaded
  // plugin, invalid_argument for a config that fails the schema or a plugin
  // of another kind, and PluginError when the plugin's create fails.
  std::unique_ptr<ChannelInstance> create_channel(const std::string& plugin_id, const std::string& instance_id,
                                                  const nlohmann::json& config);
  std::unique_ptr<AiInstance> create_ai(const std::string& plugin_id, const std::string& instance_id,
                                        const nlohmann::json& config);
  std::unique_ptr<StorageConnection> create_storage(const std::string& plugin_id, const std::string& instance_id,
                                                    const nlohmann::json& config);

  // Creates an instance of any kind with `config`, asks a channel for its
  // status and capabilities, and destroys it again: what
  // `switchboard plugins check` reports. Throws like create_channel.
  nlohmann::json probe(const std::string& plugin_id, const nlohmann::json& config);

  HostServices& services() { return services_; }

 private:
  struct Loaded;
  // The loaded plugin `plugin_id`; throws not_found naming why it is not.
  const Loaded& find_loaded(const std::string& plugin_id) const;
  // The same, also of kind `kind` (invalid_argument otherwise).
  const Loaded& require(const std::string& plugin_id, PluginKind kind) const;
  // Validates `config`, creates the plugin's instance and wraps it in
  // Instance, whose kind table is Table.
  template <class Instance, class Table>
  std::unique_ptr<Instance> create_typed(PluginKind kind, const std::string& plugin_id, const std::string& instance_id,
                                         const nlohmann::json& config);
  void load(Loaded& entry);

  HostServices& services_;
  std::vector<std::unique_ptr<Loaded>> plugins_;
};

}  // namespace sb::plugins
