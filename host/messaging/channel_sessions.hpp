#pragma once
// Channel sessions: one ChannelInstance per profile (one WhatsApp number),
// created through the plugin registry from the profile's channel_plugin and
// config. A profile whose plugin is missing, whose config fails the
// plugin's schema or whose create fails is marked FAILED with the reason in
// status_detail, and the others go on.
//
// Threads: any thread may look a session up, open, connect or close one.
// `mu_` guards the map only; it is never held while calling into a plugin
// (create, connect and destroy may emit events that come back into the
// host). A session is handed out as a shared_ptr, so a send in flight keeps
// its instance alive even if the session is closed meanwhile: the instance
// is destroyed by whoever lets go of it last.
#include "core/event_bus.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace sb::messaging {

class ChannelSessions {
 public:
  ChannelSessions(plugins::PluginRegistry& registry, store::Database& db, EventBus& bus);
  ~ChannelSessions();  // stop_all()
  ChannelSessions(const ChannelSessions&) = delete;
  ChannelSessions& operator=(const ChannelSessions&) = delete;

  // Opens a session for every profile in the database (and connects it when
  // `connect`). Failures are recorded on their profile, not thrown. Returns
  // how many sessions are open.
  size_t open_all(bool connect = true);

  // Opens (or reopens) the session of one profile from its row, connecting
  // it when `connect`. Throws sb::Error(not_found) for an unknown profile;
  // on any other failure marks the profile FAILED and rethrows.
  void open(const std::string& profile_id, bool connect = true);

  // The profile's session, or nullptr when it has none.
  std::shared_ptr<plugins::ChannelInstance> find(const std::string& profile_id) const;
  // Why the profile has no session, when opening it failed.
  std::optional<std::string> failure(const std::string& profile_id) const;

  // Starts connecting / disconnects a profile's session. Throws
  // sb::Error(not_found) when it has none, PluginError when the plugin fails.
  void connect(const std::string& profile_id);
  void disconnect(const std::string& profile_id);

  // Runs an optional channel operation (ABI 1.1 sb_channel_api.call, ops
  // SB_OP_* of plugin.h: "mark_read", "media.upload", "group.*") on the
  // profile's session and returns its JSON result. Throws
  // sb::Error(not_found) when the profile has no session, and PluginError —
  // with the message "... not supported by this channel" and status
  // SB_ERR_UNSUPPORTED (an invalid_argument Error, so a 400) — when the
  // channel lacks the operation; other PluginErrors as the plugin failed.
  nlohmann::json call(const std::string& profile_id, const std::string& op, const nlohmann::json& request);

  // Destroys one session / every session (routes and timers go with them).
  void close(const std::string& profile_id);
  void stop_all();

  std::vector<std::string> profile_ids() const;

  // Turns a profile's stored config into the one its plugin gets (the app
  // opens secrets sealed at rest here). Set before the first open().
  using ConfigOpener = std::function<nlohmann::json(const std::string& plugin_id, const nlohmann::json& stored)>;
  void set_config_opener(ConfigOpener opener) { opener_ = std::move(opener); }

 private:
  void mark_failed(const std::string& profile_id, const std::string& reason);

  plugins::PluginRegistry& registry_;
  store::Database& db_;
  EventBus& bus_;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<plugins::ChannelInstance>> sessions_;
  std::map<std::string, std::string> failures_;
  ConfigOpener opener_;
};

}  // namespace sb::messaging
