#include "store/conversation_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"

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

void require_status(const std::string& status) {
  if (status != "open" && status != "pending" && status != "resolved") {
    throw Error(ErrorCode::invalid_argument,
                "\"" + status + "\" is not a conversation status (open, pending or resolved)");
  }
}

void require_mode(const std::string& mode) {
  if (mode != "bot" && mode != "human") {
    throw Error(ErrorCode::invalid_argument, "\"" + mode + "\" is not a conversation mode (bot or human)");
  }
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

Page<Conversation> search(Connection& c, const std::string& workspace_id, const ConversationQuery& q,
                          const PageRequest& page) {
  // Pages walk the index conversations_by_workspace_updated (migration
  // 006); the filters are checked on the workspace's rows only. At most 48
  // statement texts, each cached by the connection.
  std::string sql = std::string(kSelect) + "WHERE workspace_id = ?";
  Params params{workspace_id};
  if (q.status) {
    require_status(*q.status);
    sql += " AND status = ?";
    params.emplace_back(*q.status);
  }
  if (q.assignee) {
    if (q.assignee->empty()) {
      sql += " AND assignee IS NULL";
    } else {
      sql += " AND assignee = ?";
      params.emplace_back(*q.assignee);
    }
  }
  if (q.mode) {
    require_mode(*q.mode);
    sql += " AND mode = ?";
    params.emplace_back(*q.mode);
  }
  if (q.profile_id) {
    sql += " AND profile_id = ?";
    params.emplace_back(*q.profile_id);
  }
  if (q.contact_id) {
    sql += " AND contact_id = ?";
    params.emplace_back(*q.contact_id);
  }
  keyset::append_page_desc(sql, params, "updated_at", "id", page);
  std::vector<Conversation> rows;
  for (const Row& r : c.query(sql, params)) rows.push_back(from_row(r));
  return keyset::cut(std::move(rows), page, [](const Conversation& cv) { return Cursor{cv.updated_at, cv.id}; });
}

std::optional<Conversation> assign(Connection& c, const std::string& workspace_id, const std::string& id,
                                   const std::optional<std::string>& assignee, int64_t now) {
  // An empty assignee is stored as none, so that the query's "" (unassigned)
  // finds it.
  std::optional<std::string> stored = assignee && !assignee->empty() ? assignee : std::nullopt;
  if (c.execute("UPDATE conversations SET assignee = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
                {stored, now, workspace_id, id}) == 0) {
    return std::nullopt;
  }
  return find(c, workspace_id, id);
}

std::optional<Conversation> set_status(Connection& c, const std::string& workspace_id, const std::string& id,
                                       const std::string& status, int64_t now) {
  require_status(status);
  auto conversation = find(c, workspace_id, id);
  if (!conversation || conversation->status == status) return conversation;
  // Reopening: at most one conversation per (profile, contact) may be
  // active; say which one instead of failing on the index.
  if (conversation->status == "resolved") {
    auto active = find_active(c, conversation->profile_id, conversation->contact_id);
    if (active && active->id != conversation->id) {
      throw Error(ErrorCode::conflict,
                  "conversation " + id + " cannot be reopened: conversation " + active->id +
                      " with the same contact on the same profile is active; resolve it first",
                  {{"conversation_id", active->id}});
    }
  }
  c.execute("UPDATE conversations SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
            {status, now, workspace_id, id});
  conversation->status = status;
  conversation->updated_at = now;
  return conversation;
}

std::optional<Conversation> set_mode(Connection& c, const std::string& workspace_id, const std::string& id,
                                     const std::string& mode, int64_t now) {
  require_mode(mode);
  auto conversation = find(c, workspace_id, id);
  if (!conversation || conversation->mode == mode) return conversation;
  c.execute("UPDATE conversations SET mode = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
            {mode, now, workspace_id, id});
  conversation->mode = mode;
  conversation->updated_at = now;
  return conversation;
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
Page<Conversation> ConversationRepository::search(const std::string& workspace_id, const ConversationQuery& q,
                                                  const PageRequest& page) {
  return db_.read([&](Connection& c) { return conversations::search(c, workspace_id, q, page); });
}
std::optional<Conversation> ConversationRepository::assign(const std::string& workspace_id, const std::string& id,
                                                           const std::optional<std::string>& assignee) {
  return db_.write([&](Connection& c) { return conversations::assign(c, workspace_id, id, assignee, now_ms()); });
}
std::optional<Conversation> ConversationRepository::set_status(const std::string& workspace_id,
                                                               const std::string& id, const std::string& status) {
  return db_.write([&](Connection& c) { return conversations::set_status(c, workspace_id, id, status, now_ms()); });
}
std::optional<Conversation> ConversationRepository::set_mode(const std::string& workspace_id, const std::string& id,
                                                             const std::string& mode) {
  return db_.write([&](Connection& c) { return conversations::set_mode(c, workspace_id, id, mode, now_ms()); });
}

}  // namespace sb::store
