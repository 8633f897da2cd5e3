#pragma once
// A host for plugin tests: scheduler, host services and registry, with an
// event sink that records what plugins emit and answers like the inbound
// pipeline would. Members are destroyed in reverse order: the registry
// first, the scheduler last.
#include "core/error.hpp"
#include "core/scheduler.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::test {

struct RecordedEvent {
  std::string plugin_id;
  std::string instance_id;
  std::string type;
  nlohmann::json event;
};

class RecordingSink : public plugins::PluginEventSink {
 public:
  nlohmann::json on_plugin_event(const std::string& plugin_id, const std::string& instance_id,
                                 std::string_view type, const nlohmann::json& event) override {
    std::optional<Error> refusal;
    nlohmann::json result = nlohmann::json::object();
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back({plugin_id, instance_id, std::string(type), event});
      refusal = refusal_;
      if (type == "message.inbound") {
        result = {{"message_id", "msg-" + std::to_string(events_.size())},
                  {"conversation_id", "conv-1"},
                  {"duplicate", false}};
      }
    }
    cv_.notify_all();
    if (refusal) throw *refusal;
    return result;
  }

  // Every later event is recorded and then refused with `error`.
  void refuse_with(Error error) {
    std::lock_guard<std::mutex> lock(mu_);
    refusal_ = std::move(error);
  }

  std::vector<RecordedEvent> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

  std::vector<RecordedEvent> events_of(const std::string& type) const {
    std::vector<RecordedEvent> out;
    for (auto& e : events())
      if (e.type == type) out.push_back(e);
    return out;
  }

  // Waits until `pred(events)` holds; false after `timeout`.
  bool wait_for(const std::function<bool(const std::vector<RecordedEvent>&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(events_); });
  }

  // Waits until at least `n` events of `type` arrived.
  bool wait_for_count(const std::string& type, std::size_t n,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return wait_for(
        [&](const std::vector<RecordedEvent>& events) {
          std::size_t count = 0;
          for (auto& e : events) count += e.type == type ? 1 : 0;
          return count >= n;
        },
        timeout);
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordedEvent> events_;
  std::optional<Error> refusal_;
};

struct PluginTestHost {
  explicit PluginTestHost(const std::vector<std::filesystem::path>& dirs) {
    services.set_event_sink(&sink);
    registry.discover(dirs);
  }

  std::optional<plugins::PluginInfo> info(const std::string& id) const {
    for (auto& p : registry.list())
      if (p.id == id) return p;
    return std::nullopt;
  }

  plugins::HookResponse hook(const std::string& plugin, const std::string& instance, const std::string& method,
                             const std::string& path, const std::string& body = "",
                             nlohmann::json headers = nlohmann::json::object(),
                             nlohmann::json query = nlohmann::json::object()) {
    plugins::HookRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    req.headers = std::move(headers);
    req.query = std::move(query);
    req.request_id = "req-test";
    return services.dispatch_hook(plugin, instance, req);
  }

  plugins::HookResponse post_json(const std::string& plugin, const std::string& instance, const std::string& path,
                                  const nlohmann::json& body) {
    return hook(plugin, instance, "POST", path, body.dump(), {{"content-type", "application/json"}});
  }

  Scheduler scheduler{2};
  RecordingSink sink;
  plugins::HostServices services{scheduler};
  plugins::PluginRegistry registry{services};
};

inline std::filesystem::path test_plugin_dir() { return SB_TEST_PLUGIN_DIR; }
inline std::filesystem::path sandbox_plugin_dir() { return std::filesystem::path(SB_PLUGIN_DIR) / "channel-sandbox"; }

}  // namespace sb::test
