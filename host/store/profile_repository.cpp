#include "store/profile_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"
#include "store/plugin_state_store.hpp"

#include <array>

namespace sb::store {

namespace {

constexpr std::array<std::string_view, 6> kStatuses = {"DISCONNECTED", "CONNECTING", "QR_READY",
                                                       "CONNECTED",    "FAILED",     "LOGGED_OUT"};

constexpr const char* kSelect =
    "SELECT id, organization_id, workspace_id, name, channel_plugin, config_json, status, status_detail, qr, "
    "ai_auto_reply_json, created_at, updated_at FROM profiles ";

Profile from_row(const Row& r) {
  Profile p;
  p.id = r.text("id");
  p.organization_id = r.text("organization_id");
  p.workspace_id = r.text("workspace_id");
  p.name = r.text("name");
  p.channel_plugin = r.text("channel_plugin");
  p.config = r.is_null("config_json") ? nlohmann::json::object() : r.json("config_json");
  p.status = r.text("status");
  p.status_detail = r.optional_text("status_detail");
  p.qr = r.optional_text("qr");
  p.auto_reply = r.is_null("ai_auto_reply_json") ? nlohmann::json::object() : r.json("ai_auto_reply_json");
  if (!p.auto_reply.is_object()) p.auto_reply = nlohmann::json::object();
  p.created_at = r.integer("created_at");
  p.updated_at = r.integer("updated_at");
  return p;
}

void require_status(const std::string& status) {
  if (!is_profile_status(status)) {
    throw Error(ErrorCode::invalid_argument,
                "unknown profile status \"" + status +
                    "\" (expected DISCONNECTED, CONNECTING, QR_READY, CONNECTED, FAILED or LOGGED_OUT)");
  }
}

nlohmann::json optional_json(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

}  // namespace

bool is_profile_status(std::string_view status) {
  for (std::string_view s : kStatuses) {
    if (s == status) return true;
  }
  return false;
}

nlohmann::json to_json(const Profile& p) {
  return {{"id", p.id},
          {"organization_id", p.organization_id},
          {"workspace_id", p.workspace_id},
          {"name", p.name},
          {"channel_plugin", p.channel_plugin},
          {"status", p.status},
          {"status_detail", optional_json(p.status_detail)},
          {"qr", optional_json(p.qr)},
          {"auto_reply", p.auto_reply},
          {"created_at", p.created_at},
          {"updated_at", p.updated_at}};
}

namespace profiles {

Profile create(Connection& c, Profile p, int64_t now) {
  if (p.name.empty()) throw Error(ErrorCode::invalid_argument, "a profile's name must not be empty");
  if (p.channel_plugin.empty()) throw Error(ErrorCode::invalid_argument, "a profile needs a channel plugin");
  if (!p.config.is_object()) throw Error(ErrorCode::invalid_argument, "a profile's config must be a JSON object");
  require_status(p.status);
  // The workspace must exist and belong to the organization the profile
  // claims: tenant ids are never taken on trust.
  auto ws = c.query_one("SELECT id FROM workspaces WHERE organization_id = ? AND id = ?",
                        {p.organization_id, p.workspace_id});
  if (!ws) {
    throw Error(ErrorCode::not_found,
                "workspace " + p.workspace_id + " does not exist in organization " + p.organization_id);
  }
  if (p.id.empty()) p.id = new_id("prf");
  p.created_at = now;
  p.updated_at = now;
  try {
    c.execute(
        "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, config_json, status, "
        "status_detail, qr, ai_auto_reply_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {p.id, p.organization_id, p.workspace_id, p.name, p.channel_plugin, p.config.dump(), p.status, p.status_detail,
         p.qr, p.auto_reply.dump(), p.created_at, p.updated_at});
  } catch (const Error& e) {
    if (e.code() == ErrorCode::conflict) throw Error(ErrorCode::conflict, "profile " + p.id + " already exists");
    throw;
  }
  return p;
}

std::optional<Profile> get(Connection& c, const std::string& id) {
  static const std::string sql = std::string(kSelect) + "WHERE id = ?";
  auto row = c.query_one(sql, {id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Profile> get(Connection& c, const std::string& workspace_id, const std::string& id) {
  static const std::string sql = std::string(kSelect) + "WHERE workspace_id = ? AND id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::vector<Profile> list(Connection& c) {
  static const std::string sql = std::string(kSelect) + "ORDER BY created_at, id";
  std::vector<Profile> out;
  for (const Row& row : c.query(sql)) out.push_back(from_row(row));
  return out;
}

std::vector<Profile> list(Connection& c, const std::string& workspace_id) {
  static const std::string sql = std::string(kSelect) + "WHERE workspace_id = ? ORDER BY created_at, id";
  std::vector<Profile> out;
  for (const Row& row : c.query(sql, {workspace_id})) out.push_back(from_row(row));
  return out;
}

bool update_status(Connection& c, const std::string& id, const std::string& status,
                   const std::optional<std::string>& detail, const std::optional<std::string>& qr, int64_t now) {
  require_status(status);
  return c.execute("UPDATE profiles SET status = ?, status_detail = ?, qr = ?, updated_at = ? WHERE id = ?",
                   {status, detail, qr, now, id}) > 0;
}

Page<Profile> page(Connection& c, const std::string& workspace_id, const PageRequest& request) {
  // Over profiles_by_workspace_created (migration 006).
  std::string sql = std::string(kSelect) + "WHERE workspace_id = ?";
  Params params{workspace_id};
  keyset::append_page_desc(sql, params, "created_at", "id", request);
  std::vector<Profile> rows;
  for (const Row& row : c.query(sql, params)) rows.push_back(from_row(row));
  return keyset::cut(std::move(rows), request, [](const Profile& p) { return Cursor{p.created_at, p.id}; });
}

std::optional<Profile> update(Connection& c, const std::string& workspace_id, const std::string& id,
                              const ProfilePatch& patch, int64_t now) {
  if (patch.name && patch.name->empty()) {
    throw Error(ErrorCode::invalid_argument, "a profile's name must not be empty");
  }
  if (patch.config && !patch.config->is_object()) {
    throw Error(ErrorCode::invalid_argument, "a profile's config must be a JSON object");
  }
  if (patch.auto_reply && !patch.auto_reply->is_object()) {
    throw Error(ErrorCode::invalid_argument, "a profile's auto_reply must be a JSON object");
  }
  auto profile = get(c, workspace_id, id);
  if (!profile || (!patch.name && !patch.config && !patch.auto_reply)) return profile;
  if (patch.name) profile->name = *patch.name;
  if (patch.config) profile->config = *patch.config;
  if (patch.auto_reply) profile->auto_reply = *patch.auto_reply;
  profile->updated_at = now;
  c.execute(
      "UPDATE profiles SET name = ?, config_json = ?, ai_auto_reply_json = ?, updated_at = ? WHERE workspace_id = ? AND "
      "id = ?",
      {profile->name, profile->config.dump(), profile->auto_reply.dump(), now, workspace_id, id});
  return profile;
}

bool remove(Connection& c, const std::string& workspace_id, const std::string& id) {
  auto profile = get(c, workspace_id, id);
  if (!profile) return false;
  // Children before parents, so that every foreign key holds at each
  // step. The tables that reference profiles, conversations or messages
  // (migrations 002 and 003): outbox -> messages, conversations, profiles;
  // message_receipts -> profiles; messages -> conversations, profiles;
  // flow_executions -> conversations, profiles; conversations -> profiles.
  // A conversation's rows all name its profile, but the conversation terms
  // are there too so that nothing pointing at one of its conversations is
  // left behind whatever profile_id it holds. A rare admin action: the
  // message terms read the workspace's messages once (messages_by_workspace).
  const std::string of_its_conversations =
      "conversation_id IN (SELECT id FROM conversations WHERE workspace_id = ? AND profile_id = ?)";
  const std::string its_messages = "workspace_id = ? AND (profile_id = ? OR " + of_its_conversations + ")";
  const Params two{workspace_id, id, workspace_id, id};
  c.execute("DELETE FROM outbox WHERE workspace_id = ? AND (profile_id = ? OR " + of_its_conversations +
                " OR message_id IN (SELECT id FROM messages WHERE " + its_messages + "))",
            {workspace_id, id, workspace_id, id, workspace_id, id, workspace_id, id});
  c.execute("DELETE FROM message_receipts WHERE workspace_id = ? AND profile_id = ?", {workspace_id, id});
  c.execute("DELETE FROM flow_executions WHERE workspace_id = ? AND (profile_id = ? OR " + of_its_conversations + ")",
            two);
  c.execute("DELETE FROM messages WHERE " + its_messages, two);
  c.execute("DELETE FROM conversations WHERE workspace_id = ? AND profile_id = ?", {workspace_id, id});
  // The channel instance's durable state (instance id = profile id).
  plugin_state::erase_instance(c, profile->channel_plugin, id);
  c.execute("DELETE FROM profile_sending_rules WHERE workspace_id = ? AND profile_id = ?", {workspace_id, id});
  return c.execute("DELETE FROM profiles WHERE workspace_id = ? AND id = ?", {workspace_id, id}) > 0;
}

}  // namespace profiles

Profile ProfileRepository::create(Profile profile) {
  return db_.write([&](Connection& c) { return profiles::create(c, profile, now_ms()); });
}

std::optional<Profile> ProfileRepository::get(const std::string& id) {
  return db_.read([&](Connection& c) { return profiles::get(c, id); });
}

std::optional<Profile> ProfileRepository::get(const std::string& workspace_id, const std::string& id) {
  return db_.read([&](Connection& c) { return profiles::get(c, workspace_id, id); });
}

std::vector<Profile> ProfileRepository::list() {
  return db_.read([](Connection& c) { return profiles::list(c); });
}

std::vector<Profile> ProfileRepository::list(const std::string& workspace_id) {
  return db_.read([&](Connection& c) { return profiles::list(c, workspace_id); });
}

bool ProfileRepository::update_status(const std::string& id, const std::string& status,
                                      const std::optional<std::string>& detail, const std::optional<std::string>& qr) {
  return db_.write([&](Connection& c) { return profiles::update_status(c, id, status, detail, qr, now_ms()); });
}

Page<Profile> ProfileRepository::page(const std::string& workspace_id, const PageRequest& request) {
  return db_.read([&](Connection& c) { return profiles::page(c, workspace_id, request); });
}

std::optional<Profile> ProfileRepository::update(const std::string& workspace_id, const std::string& id,
                                                 const ProfilePatch& patch) {
  return db_.write([&](Connection& c) { return profiles::update(c, workspace_id, id, patch, now_ms()); });
}

bool ProfileRepository::remove(const std::string& workspace_id, const std::string& id) {
  return db_.write([&](Connection& c) { return profiles::remove(c, workspace_id, id); });
}

}  // namespace sb::store
