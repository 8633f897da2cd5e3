#include "store/conversation_repository.hpp"

#include "core/ids.hpp"

namespace sb::store {

namespace {

constexpr const char* kSelect =
    "SELECT id, organization_id, workspace_id, profile_id, contact_id, status, mode, assignee, last_message_at, "
    "created_at, updated_at FROM conversations ";

Conversation from_row(const Row& r) {
  Conversation c;
  c.id = r.text("id");
  c.organization_id = r.text("organization_id");
  c.workspace_id = r.text("workspace_id");
  c.profile_id = r.text("profile_id");
  c.contact_id = r.text("contact_id");
  c.status = r.text("status");
  c.mode = r.text("mode");
  c.assignee = r.optional_text("assignee");
  c.last_message_at = r.optional_integer("last_message_at");
  c.created_at = r.integer("created_at");
  c.updated_at = r.integer("updated_at");
  return c;
}

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const Conversation& c) {
  return {{"id", c.id},
          {"organization_id", c.organization_id},
          {"workspace_id", c.workspace_id},
          {"profile_id", c.profile_id},
          {"contact_id", c.contact_id},
          {"status", c.status},
          {"mode", c.mode},
          {"assignee", or_null(c.assignee)},
          {"last_message_at", or_null(c.last_message_at)},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at}};
}

namespace conversations {

std::optional<Conversation> find(Connection& c, const std::string& workspace_id, const std::string& id) {
  static const std::string sql = std::string(kSelect) + "WHERE workspace_id = ? AND id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Conversation> find_active(Connection& c, const std::string& profile_id,
                                        const std::string& contact_id) {
  // Matches the partial unique index conversations_one_active.
  static const std::string sql =
      std::string(kSelect) + "WHERE profile_id = ? AND contact_id = ? AND status <> 'resolved'";
  auto row = c.query_one(sql, {profile_id, contact_id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

Opened find_or_open(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                    const std::string& profile_id, const std::string& contact_id, int64_t now) {
  if (auto active = find_active(c, profile_id, contact_id)) return {std::move(*active), false};
  Conversation conv;
  conv.id = new_id("conv");
  conv.organization_id = organization_id;
  conv.workspace_id = workspace_id;
  conv.profile_id = profile_id;
  conv.contact_id = contact_id;
  conv.created_at = now;
  conv.updated_at = now;
  c.execute(
      "INSERT INTO conversations (id, organization_id, workspace_id, profile_id, contact_id, status, mode, "
      "assignee, last_message_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', 'bot', NULL, NULL, ?, ?)",
      {conv.id, organization_id, workspace_id, profile_id, contact_id, now, now});
  return {std::move(conv), true};
}

void touch(Connection& c, const std::string& id, int64_t at) {
  c.execute(
      "UPDATE conversations SET last_message_at = ?, updated_at = ? "
      "WHERE id = ? AND (last_message_at IS NULL OR last_message_at < ?)",
      {at, at, id, at});
}

std::vector<Conversation> list(Connection& c, const std::string& workspace_id, int64_t limit, int64_t offset) {
  static const std::string sql = std::string(kSelect) +
                                 "WHERE workspace_id = ? ORDER BY last_message_at DESC, id DESC LIMIT ? OFFSET ?";
  std::vector<Conversation> out;
  for (const Row& r : c.query(sql, {workspace_id, limit, offset})) out.push_back(from_row(r));
  return out;
}

}  // namespace conversations

std::optional<Conversation> ConversationRepository::find(const std::string& workspace_id, const std::string& id) {
  return db_.read([&](Connection& c) { return conversations::find(c, workspace_id, id); });
}
std::optional<Conversation> ConversationRepository::find_active(const std::string& profile_id,
                                                                const std::string& contact_id) {
  return db_.read([&](Connection& c) { return conversations::find_active(c, profile_id, contact_id); });
}
std::vector<Conversation> ConversationRepository::list(const std::string& workspace_id, int64_t limit,
                                                       int64_t offset) {
  return db_.read([&](Connection& c) { return conversations::list(c, workspace_id, limit, offset); });
}

}  // namespace sb::store
