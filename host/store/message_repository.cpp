#include "store/message_repository.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/keyset.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace sb::store {

namespace {

constexpr const char* kSelect =
    "SELECT id, organization_id, workspace_id, profile_id, conversation_id, contact_id, direction, external_id, "
    "type, text, payload_json, status, error, handled, created_at, updated_at FROM messages ";

Message from_row(const Row& r) {
  Message m;
  m.id = r.text("id");
  m.organization_id = r.text("organization_id");
  m.workspace_id = r.text("workspace_id");
  m.profile_id = r.text("profile_id");
  m.conversation_id = r.text("conversation_id");
  m.contact_id = r.text("contact_id");
  m.direction = r.text("direction");
  m.external_id = r.optional_text("external_id");
  m.type = r.text("type");
  m.text = r.optional_text("text");
  m.payload = r.is_null("payload_json") ? nlohmann::json::object() : r.json("payload_json");
  m.status = r.text("status");
  m.error = r.optional_text("error");
  m.handled = r.integer("handled") != 0;
  m.created_at = r.integer("created_at");
  m.updated_at = r.integer("updated_at");
  return m;
}

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

constexpr std::array<std::string_view, 6> kStatuses = {"queued", "sent", "delivered", "read", "failed", "received"};

std::vector<Message> messages_from(const std::vector<Row>& rows) {
  std::vector<Message> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(from_row(r));
  return out;
}

Cursor key_of(const Message& m) { return Cursor{m.created_at, m.id}; }

}  // namespace

Message new_message(const Conversation& conversation, std::string direction, std::string status, int64_t now) {
  Message m;
  m.id = new_id("msg");
  m.organization_id = conversation.organization_id;
  m.workspace_id = conversation.workspace_id;
  m.profile_id = conversation.profile_id;
  m.conversation_id = conversation.id;
  m.contact_id = conversation.contact_id;
  m.direction = std::move(direction);
  m.status = std::move(status);
  m.created_at = now;
  m.updated_at = now;
  return m;
}

nlohmann::json to_json(const Message& m) {
  return {{"id", m.id},
          {"organization_id", m.organization_id},
          {"workspace_id", m.workspace_id},
          {"profile_id", m.profile_id},
          {"conversation_id", m.conversation_id},
          {"contact_id", m.contact_id},
          {"direction", m.direction},
          {"external_id", or_null(m.external_id)},
          {"type", m.type},
          {"text", or_null(m.text)},
          {"payload", m.payload},
          {"status", m.status},
          {"error", or_null(m.error)},
          {"handled", m.handled},
          {"created_at", m.created_at},
          {"updated_at", m.updated_at}};
}

namespace messages {

void insert(Connection& c, const Message& m) {
  c.execute(
      "INSERT INTO messages (id, organization_id, workspace_id, profile_id, conversation_id, contact_id, direction, "
      "external_id, type, text, payload_json, status, error, handled, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {m.id, m.organization_id, m.workspace_id, m.profile_id, m.conversation_id, m.contact_id, m.direction,
       m.external_id, m.type, m.text, m.payload.dump(), m.status, m.error, m.handled, m.created_at, m.updated_at});
}

std::optional<std::pair<Message, std::string>> find_with_phone(Connection& c, const std::string& workspace_id,
                                                               const std::string& id) {
  // One query where find() + contacts::find() took two: the sender runs
  // this for every message it claims.
  static const std::string sql =
      "SELECT m.id, m.organization_id, m.workspace_id, m.profile_id, m.conversation_id, m.contact_id, m.direction, "
      "m.external_id, m.type, m.text, m.payload_json, m.status, m.error, m.handled, m.created_at, m.updated_at, "
      "ct.phone AS phone FROM messages m JOIN contacts ct ON ct.id = m.contact_id AND ct.workspace_id = m.workspace_id "
      "WHERE m.workspace_id = ? AND m.id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return std::make_pair(from_row(*row), row->text("phone"));
}

std::optional<Message> find(Connection& c, const std::string& workspace_id, const std::string& id) {
  static const std::string sql = std::string(kSelect) + "WHERE workspace_id = ? AND id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Message> find_by_external_id(Connection& c, const std::string& profile_id,
                                           const std::string& external_id) {
  static const std::string sql = std::string(kSelect) + "WHERE profile_id = ? AND external_id = ?";
  auto row = c.query_one(sql, {profile_id, external_id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

void set_status(Connection& c, const std::string& id, const std::string& status,
                const std::optional<std::string>& error, int64_t now) {
  c.execute("UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE id = ?", {status, error, now, id});
}

void mark_sent(Connection& c, const std::string& id, const std::string& external_id, int64_t now) {
  c.execute("UPDATE messages SET external_id = ?, status = 'sent', error = NULL, updated_at = ? WHERE id = ?",
            {external_id, now, id});
}

bool mark_handled(Connection& c, const std::string& id, int64_t now) {
  return c.execute("UPDATE messages SET handled = 1, updated_at = ? WHERE id = ? AND handled = 0", {now, id}) > 0;
}

std::vector<Message> unhandled_inbound(Connection& c, int64_t after_created_at, const std::string& after_id,
                                       int64_t limit) {
  // The WHERE terms repeat the partial index messages_unhandled's condition.
  static const std::string sql = std::string(kSelect) +
                                 "WHERE handled = 0 AND direction = 'in' "
                                 "AND (created_at > ? OR (created_at = ? AND id > ?)) "
                                 "ORDER BY created_at, id LIMIT ?";
  std::vector<Message> out;
  for (const Row& r : c.query(sql, {after_created_at, after_created_at, after_id, limit})) out.push_back(from_row(r));
  return out;
}

std::vector<Message> list_by_conversation(Connection& c, const std::string& workspace_id,
                                          const std::string& conversation_id, int64_t limit, int64_t offset) {
  static const std::string sql = std::string(kSelect) +
                                 "WHERE workspace_id = ? AND conversation_id = ? "
                                 "ORDER BY created_at, id LIMIT ? OFFSET ?";
  std::vector<Message> out;
  for (const Row& r : c.query(sql, {workspace_id, conversation_id, limit, offset})) out.push_back(from_row(r));
  return out;
}

Page<Message> page_by_conversation(Connection& c, const std::string& workspace_id,
                                   const std::string& conversation_id, const PageRequest& page) {
  // Over messages_by_conversation (conversation_id, workspace_id,
  // created_at; migration 006): another tenant's conversation id is empty.
  std::string sql = std::string(kSelect) + "WHERE conversation_id = ? AND workspace_id = ?";
  Params params{conversation_id, workspace_id};
  keyset::append_page_desc(sql, params, "created_at", "id", page);
  return keyset::cut(messages_from(c.query(sql, params)), page, key_of);
}

Page<Message> search(Connection& c, const std::string& workspace_id, const MessageQuery& q, const PageRequest& page) {
  if (q.direction && *q.direction != "in" && *q.direction != "out") {
    throw Error(ErrorCode::invalid_argument, "\"" + *q.direction + "\" is not a message direction (in or out)");
  }
  if (q.status && std::find(kStatuses.begin(), kStatuses.end(), *q.status) == kStatuses.end()) {
    throw Error(ErrorCode::invalid_argument, "\"" + *q.status +
                                                 "\" is not a message status (queued, sent, delivered, read, "
                                                 "failed or received)");
  }
  // With a conversation the rows come from messages_by_conversation
  // (conversation, workspace, created_at), without one from
  // messages_by_workspace (both migration 006).
  std::string sql = std::string(kSelect);
  Params params;
  if (q.conversation_id) {
    sql += "WHERE conversation_id = ? AND workspace_id = ?";
    params = {*q.conversation_id, workspace_id};
  } else {
    sql += "WHERE workspace_id = ?";
    params = {workspace_id};
  }
  if (q.contact_id) {
    sql += " AND contact_id = ?";
    params.emplace_back(*q.contact_id);
  }
  if (q.profile_id) {
    sql += " AND profile_id = ?";
    params.emplace_back(*q.profile_id);
  }
  if (q.direction) {
    sql += " AND direction = ?";
    params.emplace_back(*q.direction);
  }
  if (q.status) {
    sql += " AND status = ?";
    params.emplace_back(*q.status);
  }
  keyset::append_page_desc(sql, params, "created_at", "id", page);
  return keyset::cut(messages_from(c.query(sql, params)), page, key_of);
}

void park_receipt(Connection& c, const std::string& organization_id, const std::string& workspace_id,
                  const std::string& profile_id, const std::string& external_id, const Receipt& receipt,
                  int64_t now) {
  c.execute(
      "INSERT INTO message_receipts (organization_id, workspace_id, profile_id, external_id, status, error, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {organization_id, workspace_id, profile_id, external_id, receipt.status, receipt.error, now});
}

std::vector<Receipt> take_receipts(Connection& c, const std::string& profile_id, const std::string& external_id) {
  std::vector<Receipt> out;
  for (const Row& r : c.query("SELECT status, error FROM message_receipts WHERE profile_id = ? AND external_id = ? "
                              "ORDER BY created_at",
                              {profile_id, external_id})) {
    out.push_back({r.text("status"), r.optional_text("error")});
  }
  if (!out.empty()) {
    c.execute("DELETE FROM message_receipts WHERE profile_id = ? AND external_id = ?", {profile_id, external_id});
  }
  return out;
}

int64_t drop_receipts_before(Connection& c, int64_t cutoff) {
  return c.execute("DELETE FROM message_receipts WHERE created_at < ?", {cutoff});
}

}  // namespace messages

std::optional<Message> MessageRepository::find(const std::string& workspace_id, const std::string& id) {
  return db_.read([&](Connection& c) { return messages::find(c, workspace_id, id); });
}
std::optional<Message> MessageRepository::find_by_external_id(const std::string& profile_id,
                                                              const std::string& external_id) {
  return db_.read([&](Connection& c) { return messages::find_by_external_id(c, profile_id, external_id); });
}
std::vector<Message> MessageRepository::list_by_conversation(const std::string& workspace_id,
                                                             const std::string& conversation_id, int64_t limit,
                                                             int64_t offset) {
  return db_.read(
      [&](Connection& c) { return messages::list_by_conversation(c, workspace_id, conversation_id, limit, offset); });
}
Page<Message> MessageRepository::page_by_conversation(const std::string& workspace_id,
                                                     const std::string& conversation_id, const PageRequest& page) {
  return db_.read([&](Connection& c) { return messages::page_by_conversation(c, workspace_id, conversation_id, page); });
}
Page<Message> MessageRepository::search(const std::string& workspace_id, const MessageQuery& q,
                                        const PageRequest& page) {
  return db_.read([&](Connection& c) { return messages::search(c, workspace_id, q, page); });
}

}  // namespace sb::store
