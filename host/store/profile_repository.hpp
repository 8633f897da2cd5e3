#pragma once
// Profiles: one WhatsApp number each, bound to a channel plugin, inside a
// workspace. The channel session's state (status, detail, QR code) is kept
// here so that the dashboard sees it after a restart.
//
// The free functions in `profiles::` take a Connection so that services can
// compose them inside one write job (or one read); ProfileRepository wraps
// each over a Database. Stateless: usable from any thread.
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::store {

// DISCONNECTED, CONNECTING, QR_READY, CONNECTED, FAILED, LOGGED_OUT.
bool is_profile_status(std::string_view status);

struct Profile {
  std::string id;  // "prf_..." unless given
  std::string organization_id;
  std::string workspace_id;
  std::string name;
  std::string channel_plugin;                        // plugin id, e.g. "channel-sandbox"
  nlohmann::json config = nlohmann::json::object();  // the channel's config; may hold secrets
  std::string status = "DISCONNECTED";
  std::optional<std::string> status_detail;
  std::optional<std::string> qr;                     // the pairing code while QR_READY
  // Answers from a knowledge base without a flow (migration 011):
  // {"enabled", "knowledge_base", "min_score", "fallback_text", "no_answer_text", "handoff"}; {} is off.
  nlohmann::json auto_reply = nlohmann::json::object();
  int64_t created_at = 0;                            // Unix ms
  int64_t updated_at = 0;
};

// Everything but `config`, which may hold secrets: the caller adds a
// redacted copy (sb::redact_config with the plugin's schema) if it wants one.
// {"id","organization_id","workspace_id","name","channel_plugin","status",
//  "status_detail","qr","auto_reply","created_at","updated_at"}
nlohmann::json to_json(const Profile& profile);

// The fields update() changes; nullopt leaves a field as it is.
struct ProfilePatch {
  std::optional<std::string> name;
  std::optional<nlohmann::json> config;  // replaces the config; the caller validates it against the plugin's schema
  std::optional<nlohmann::json> auto_reply;  // replaces auto_reply; the caller validates it
};

namespace profiles {

// Inserts `profile` (id generated when empty, created_at/updated_at = now).
// Throws sb::Error: not_found when the workspace does not exist in the
// profile's organization; invalid_argument for an empty name or
// channel_plugin, an unknown status or a config that is not an object;
// conflict when the id is taken.
Profile create(Connection& c, Profile profile, int64_t now);
// Any profile by id: for the engine (channel events, start-up).
std::optional<Profile> get(Connection& c, const std::string& id);
// The profile only if it belongs to `workspace_id`.
std::optional<Profile> get(Connection& c, const std::string& workspace_id, const std::string& id);
// Every profile (the engine connects them all at start), oldest first.
std::vector<Profile> list(Connection& c);
// A workspace's profiles, oldest first.
std::vector<Profile> list(Connection& c, const std::string& workspace_id);
// Records the channel session's state. False when there is no such
// profile; throws sb::Error(invalid_argument) for an unknown status.
bool update_status(Connection& c, const std::string& id, const std::string& status,
                   const std::optional<std::string>& detail, const std::optional<std::string>& qr, int64_t now);

// A workspace's profiles by (created_at, id), newest first. Throws
// sb::Error(invalid_argument) for a page limit outside 1..1000.
Page<Profile> page(Connection& c, const std::string& workspace_id, const PageRequest& request);

// Applies `patch` (updated_at = now unless the patch is empty) and returns
// the profile as stored; nullopt when the workspace has no such profile.
// Throws sb::Error(invalid_argument) for an empty name or a config that is
// not an object.
std::optional<Profile> update(Connection& c, const std::string& workspace_id, const std::string& id,
                              const ProfilePatch& patch, int64_t now);

// Deletes the profile and everything that hangs on it, in the caller's
// job (so all or nothing): its outbox rows and parked receipts, its
// conversations' messages, the flow executions of the profile or of its
// conversations, its conversations, and its channel instance's
// plugin_state. Contacts stay: they belong to the workspace. The caller
// stops the profile's channel session first. False when the workspace has
// no such profile.
bool remove(Connection& c, const std::string& workspace_id, const std::string& id);

}  // namespace profiles

class ProfileRepository {
 public:
  explicit ProfileRepository(Database& db) : db_(db) {}

  Profile create(Profile profile);
  std::optional<Profile> get(const std::string& id);
  std::optional<Profile> get(const std::string& workspace_id, const std::string& id);
  std::vector<Profile> list();
  std::vector<Profile> list(const std::string& workspace_id);
  bool update_status(const std::string& id, const std::string& status, const std::optional<std::string>& detail,
                     const std::optional<std::string>& qr);
  Page<Profile> page(const std::string& workspace_id, const PageRequest& request);
  std::optional<Profile> update(const std::string& workspace_id, const std::string& id, const ProfilePatch& patch);
  bool remove(const std::string& workspace_id, const std::string& id);

 private:
  Database& db_;
};

}  // namespace sb::store
