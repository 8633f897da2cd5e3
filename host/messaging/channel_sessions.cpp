#include "messaging/channel_sessions.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/profile_repository.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

namespace sb::messaging {

ChannelSessions::ChannelSessions(plugins::PluginRegistry& registry, store::Database& db, EventBus& bus)
    : registry_(registry), db_(db), bus_(bus) {}

ChannelSessions::~ChannelSessions() { stop_all(); }

size_t ChannelSessions::open_all(bool connect) {
  const std::vector<store::Profile> profiles = db_.read([](store::Connection& c) { return store::profiles::list(c); });
  size_t opened = 0;
  for (const store::Profile& profile : profiles) {
    try {
      open(profile.id, connect);
      ++opened;
    } catch (const std::exception& e) {
      // Already recorded on the profile by open(); the others go on.
      spdlog::warn("profile {}: no channel session: {}", profile.id, e.what());
    }
  }
  return opened;
}

void ChannelSessions::open(const std::string& profile_id, bool connect) {
  auto profile = db_.read([&](store::Connection& c) { return store::profiles::get(c, profile_id); });
  if (!profile) throw Error(ErrorCode::not_found, "profile " + profile_id + " not found");

  close(profile_id);  // a reopen replaces the old session
  std::shared_ptr<plugins::ChannelInstance> session;
  try {
    const nlohmann::json config = opener_ ? opener_(profile->channel_plugin, profile->config) : profile->config;
    session = registry_.create_channel(profile->channel_plugin, profile->id, config);
  } catch (const std::exception& e) {
    mark_failed(profile_id, e.what());
    throw;
  }
  {
    std::unique_lock lock(mu_);
    sessions_[profile_id] = session;
    failures_.erase(profile_id);
  }
  spdlog::info("profile {}: channel session opened with {}", profile_id, profile->channel_plugin);
  if (!connect) return;
  try {
    session->connect();
  } catch (const std::exception& e) {
    // The session stays: it can still be asked to connect again.
    mark_failed(profile_id, e.what());
    throw;
  }
}

std::shared_ptr<plugins::ChannelInstance> ChannelSessions::find(const std::string& profile_id) const {
  std::shared_lock lock(mu_);
  auto it = sessions_.find(profile_id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::optional<std::string> ChannelSessions::failure(const std::string& profile_id) const {
  std::shared_lock lock(mu_);
  auto it = failures_.find(profile_id);
  if (it == failures_.end()) return std::nullopt;
  return it->second;
}

void ChannelSessions::connect(const std::string& profile_id) {
  auto session = find(profile_id);
  if (!session) throw Error(ErrorCode::not_found, "profile " + profile_id + " has no channel session");
  session->connect();
}

void ChannelSessions::disconnect(const std::string& profile_id) {
  auto session = find(profile_id);
  if (!session) throw Error(ErrorCode::not_found, "profile " + profile_id + " has no channel session");
  session->disconnect();
}

nlohmann::json ChannelSessions::call(const std::string& profile_id, const std::string& op,
                                     const nlohmann::json& request) {
  auto session = find(profile_id);
  if (!session) throw Error(ErrorCode::not_found, "profile " + profile_id + " has no channel session");
  return session->call(op, request);
}

void ChannelSessions::close(const std::string& profile_id) {
  std::shared_ptr<plugins::ChannelInstance> session;
  {
    std::unique_lock lock(mu_);
    auto it = sessions_.find(profile_id);
    if (it == sessions_.end()) return;
    session = std::move(it->second);
    sessions_.erase(it);
  }
  // Destroyed here, outside the lock (unless a send still holds it).
  session.reset();
}

void ChannelSessions::stop_all() {
  std::map<std::string, std::shared_ptr<plugins::ChannelInstance>> sessions;
  {
    std::unique_lock lock(mu_);
    sessions.swap(sessions_);
  }
  sessions.clear();
}

std::vector<std::string> ChannelSessions::profile_ids() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> ids;
  ids.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) ids.push_back(id);
  return ids;
}

void ChannelSessions::mark_failed(const std::string& profile_id, const std::string& reason) {
  spdlog::error("profile {}: channel session failed: {}", profile_id, reason);
  {
    std::unique_lock lock(mu_);
    failures_[profile_id] = reason;
  }
  try {
    const std::string workspace_id = db_.write([&](store::Connection& c) {
      store::profiles::update_status(c, profile_id, "FAILED", reason, std::nullopt, now_ms());
      auto profile = store::profiles::get(c, profile_id);
      return profile ? profile->workspace_id : std::string();
    });
    Event e;
    e.type = "session.status";
    e.workspace_id = workspace_id;
    e.profile_id = profile_id;
    e.at_ms = now_ms();
    e.data = {{"profile_id", profile_id}, {"status", "FAILED"}, {"qr", nullptr}, {"detail", reason}};
    bus_.publish(e);
  } catch (const std::exception& e) {
    spdlog::error("profile {}: could not record the failure: {}", profile_id, e.what());
  }
}

}  // namespace sb::messaging
