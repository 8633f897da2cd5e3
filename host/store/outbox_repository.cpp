#include "store/outbox_repository.hpp"

namespace sb::store {

namespace {

constexpr const char* kColumns =
    "id, organization_id, workspace_id, profile_id, conversation_id, message_id, seq, state, attempts, "
    "next_attempt_at, claimed_at, last_error, idempotency_key, kind, campaign_id, created_at, updated_at";

OutboxRow from_row(const Row& r) {
  OutboxRow o;
  o.id = r.text("id");
  o.organization_id = r.text("organization_id");
  o.workspace_id = r.text("workspace_id");
  o.profile_id = r.text("profile_id");
  o.conversation_id = r.text("conversation_id");
  o.message_id = r.text("message_id");
  o.seq = r.integer("seq");
  o.state = r.text("state");
  o.attempts = r.integer("attempts");
  o.next_attempt_at = r.integer("next_attempt_at");
  o.claimed_at = r.optional_integer("claimed_at");
  o.last_error = r.optional_text("last_error");
  o.idempotency_key = r.text("idempotency_key");
  o.kind = r.text("kind");
  o.campaign_id = r.optional_text("campaign_id");
  o.created_at = r.integer("created_at");
  o.updated_at = r.integer("updated_at");
  return o;
}

}  // namespace

namespace outbox {

int64_t insert(Connection& c, const OutboxRow& row) {
  // seq is the row's integer key: the database assigns the next one.
  c.execute(
      "INSERT INTO outbox (id, organization_id, workspace_id, profile_id, conversation_id, message_id, state, "
      "attempts, next_attempt_at, claimed_at, last_error, idempotency_key, kind, campaign_id, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, NULL, NULL, ?, ?, ?, ?, ?)",
      {row.id, row.organization_id, row.workspace_id, row.profile_id, row.conversation_id, row.message_id,
       row.next_attempt_at, row.idempotency_key, row.kind, row.campaign_id, row.created_at, row.updated_at});
  return c.last_insert_id();
}

std::optional<OutboxRow> find(Connection& c, const std::string& id) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM outbox WHERE id = ?";
  auto row = c.query_one(sql, {id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<OutboxRow> find_by_message(Connection& c, const std::string& message_id) {
  static const std::string sql = std::string("SELECT ") + kColumns + " FROM outbox WHERE message_id = ?";
  auto row = c.query_one(sql, {message_id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::vector<OutboxRow> claim_due(Connection& c, const std::string& profile_id, const std::string& kind, int64_t now,
                                 int64_t limit) {
  // An earlier row of the same conversation that is in flight, or pending
  // but not yet due, holds the later ones back. Earlier rows that are due
  // sort first and are claimed in the same batch.
  static const std::string sql = std::string("SELECT ") + kColumns +
                                 " FROM outbox o WHERE o.profile_id = ? AND o.state = 'pending' "
                                 "AND o.next_attempt_at <= ? AND o.kind = ? "
                                 // One probe per state, each an index range on
                                 // (conversation_id, state, seq): an OR of states
                                 // would walk every sent row of the conversation.
                                 "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id "
                                 "AND p.state = 'sending' AND p.seq < o.seq) "
                                 "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.conversation_id = o.conversation_id "
                                 "AND p.state = 'pending' AND p.seq < o.seq AND p.next_attempt_at > ?) "
                                 "ORDER BY o.seq LIMIT ?";
  std::vector<OutboxRow> rows;
  for (const Row& r : c.query(sql, {profile_id, now, kind, now, limit})) rows.push_back(from_row(r));
  for (OutboxRow& row : rows) {
    c.execute("UPDATE outbox SET state = 'sending', claimed_at = ?, updated_at = ? WHERE id = ?",
              {now, now, row.id});
    row.state = "sending";
    row.claimed_at = now;
  }
  return rows;
}

void mark_sent(Connection& c, const std::string& id, int64_t attempts, int64_t now) {
  c.execute("UPDATE outbox SET state = 'sent', attempts = ?, last_error = NULL, updated_at = ? WHERE id = ?",
            {attempts, now, id});
}

void mark_failed(Connection& c, const std::string& id, int64_t attempts, const std::string& error, int64_t now) {
  c.execute("UPDATE outbox SET state = 'failed', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?",
            {attempts, error, now, id});
}

void reschedule(Connection& c, const std::string& id, int64_t attempts, int64_t next_attempt_at,
                const std::optional<std::string>& error, int64_t now) {
  c.execute(
      "UPDATE outbox SET state = 'pending', attempts = ?, next_attempt_at = ?, claimed_at = NULL, "
      "last_error = COALESCE(?, last_error), updated_at = ? WHERE id = ?",
      {attempts, next_attempt_at, error, now, id});
}

int64_t recover_sending(Connection& c, int64_t now) {
  return c.execute(
      "UPDATE outbox SET state = 'pending', next_attempt_at = ?, claimed_at = NULL, updated_at = ? "
      "WHERE state = 'sending'",
      {now, now});
}

bool has_due(Connection& c, const std::string& profile_id, const std::string& kind, int64_t now) {
  return c
      .query_one("SELECT 1 AS x FROM outbox WHERE profile_id = ? AND state = 'pending' AND kind = ? "
                 "AND next_attempt_at <= ? LIMIT 1",
                 {profile_id, kind, now})
      .has_value();
}

int64_t count_sent_since(Connection& c, const std::string& profile_id, const std::string& kind, int64_t since) {
  auto row = c.query_one(
      "SELECT COUNT(*) AS n FROM outbox WHERE profile_id = ? AND kind = ? AND state = 'sent' AND updated_at >= ?",
      {profile_id, kind, since});
  return row ? row->integer("n") : 0;
}

std::vector<std::string> withdraw_pending(Connection& c, const std::string& campaign_id) {
  std::vector<std::string> ids;
  for (const Row& r :
       c.query("SELECT message_id FROM outbox WHERE campaign_id = ? AND state = 'pending'", {campaign_id}))
    ids.push_back(r.text("message_id"));
  c.execute("DELETE FROM outbox WHERE campaign_id = ? AND state = 'pending'", {campaign_id});
  return ids;
}

std::vector<std::string> profiles_with_pending(Connection& c) {
  std::vector<std::string> out;
  for (const Row& r : c.query("SELECT DISTINCT profile_id FROM outbox WHERE state = 'pending'"))
    out.push_back(r.text("profile_id"));
  return out;
}

std::optional<int64_t> next_due_after(Connection& c, const std::string& profile_id, int64_t after) {
  auto row = c.query_one(
      "SELECT MIN(next_attempt_at) AS due FROM outbox WHERE profile_id = ? AND state = 'pending' "
      "AND next_attempt_at > ?",
      {profile_id, after});
  if (!row) return std::nullopt;
  return row->optional_integer("due");
}

int64_t count_in_state(Connection& c, const std::string& profile_id, const std::string& state) {
  auto row = c.query_one("SELECT COUNT(*) AS n FROM outbox WHERE profile_id = ? AND state = ?", {profile_id, state});
  return row ? row->integer("n") : 0;
}

}  // namespace outbox

std::optional<OutboxRow> OutboxRepository::find(const std::string& id) {
  return db_.read([&](Connection& c) { return outbox::find(c, id); });
}
std::optional<OutboxRow> OutboxRepository::find_by_message(const std::string& message_id) {
  return db_.read([&](Connection& c) { return outbox::find_by_message(c, message_id); });
}
std::vector<std::string> OutboxRepository::profiles_with_pending() {
  return db_.read([&](Connection& c) { return outbox::profiles_with_pending(c); });
}
int64_t OutboxRepository::count_in_state(const std::string& profile_id, const std::string& state) {
  return db_.read([&](Connection& c) { return outbox::count_in_state(c, profile_id, state); });
}

}  // namespace sb::store
