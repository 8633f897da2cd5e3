#include "store/campaign_repository.hpp"

#include "core/error.hpp"
#include "store/keyset.hpp"

namespace sb::store {
namespace {

using nlohmann::json;

constexpr const char* kSelect =
    "SELECT id, organization_id, workspace_id, profile_id, name, state, message_json, audience_json, "
    "rate_per_minute, jitter, scheduled_at, started_at, completed_at, pace_origin_at, pace_count, next_seq, "
    "created_at, updated_at FROM campaigns ";

constexpr const char* kSelectRecipient =
    "SELECT campaign_id, seq, contact_id, phone, variables_json, state, reason, message_id, conversation_id, "
    "replied_at, updated_at FROM campaign_recipients ";

Campaign from_row(const Row& r) {
  Campaign c;
  c.id = r.text("id");
  c.organization_id = r.text("organization_id");
  c.workspace_id = r.text("workspace_id");
  c.profile_id = r.text("profile_id");
  c.name = r.text("name");
  c.state = r.text("state");
  c.message = r.json("message_json");
  c.audience = r.json("audience_json");
  c.rate_per_minute = r.integer("rate_per_minute");
  c.jitter = r.real("jitter");
  c.scheduled_at = r.optional_integer("scheduled_at");
  c.started_at = r.optional_integer("started_at");
  c.completed_at = r.optional_integer("completed_at");
  c.pace_origin_at = r.optional_integer("pace_origin_at");
  c.pace_count = r.integer("pace_count");
  c.next_seq = r.integer("next_seq");
  c.created_at = r.integer("created_at");
  c.updated_at = r.integer("updated_at");
  return c;
}

CampaignRecipient recipient_from_row(const Row& r) {
  CampaignRecipient x;
  x.campaign_id = r.text("campaign_id");
  x.seq = r.integer("seq");
  x.contact_id = r.optional_text("contact_id");
  x.phone = r.text("phone");
  x.variables = r.json("variables_json");
  if (!x.variables.is_object()) x.variables = json::object();
  x.state = r.text("state");
  x.reason = r.optional_text("reason");
  x.message_id = r.optional_text("message_id");
  x.conversation_id = r.optional_text("conversation_id");
  x.replied_at = r.optional_integer("replied_at");
  x.updated_at = r.integer("updated_at");
  return x;
}

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

json to_json(const Campaign& c) {
  return {{"id", c.id},
          {"organization_id", c.organization_id},
          {"workspace_id", c.workspace_id},
          {"profile_id", c.profile_id},
          {"name", c.name},
          {"state", c.state},
          {"message", c.message},
          {"audience", c.audience},
          {"rate_per_minute", c.rate_per_minute},
          {"jitter", c.jitter},
          {"scheduled_at", or_null(c.scheduled_at)},
          {"started_at", or_null(c.started_at)},
          {"completed_at", or_null(c.completed_at)},
          {"created_at", c.created_at},
          {"updated_at", c.updated_at}};
}

json to_json(const CampaignRecipient& r) {
  return {{"seq", r.seq},
          {"contact_id", or_null(r.contact_id)},
          {"phone", r.phone},
          {"state", r.state},
          {"reason", or_null(r.reason)},
          {"message_id", or_null(r.message_id)},
          {"conversation_id", or_null(r.conversation_id)},
          {"replied_at", or_null(r.replied_at)},
          {"updated_at", r.updated_at}};
}

namespace campaigns {

void insert(Connection& c, const Campaign& x) {
  c.execute(
      "INSERT INTO campaigns (id, organization_id, workspace_id, profile_id, name, state, message_json, "
      "audience_json, rate_per_minute, jitter, scheduled_at, started_at, completed_at, pace_origin_at, pace_count, "
      "next_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {x.id, x.organization_id, x.workspace_id, x.profile_id, x.name, x.state, x.message.dump(), x.audience.dump(),
       x.rate_per_minute, x.jitter, x.scheduled_at, x.started_at, x.completed_at, x.pace_origin_at, x.pace_count,
       x.next_seq, x.created_at, x.updated_at});
}

std::optional<Campaign> find(Connection& c, const std::string& workspace_id, const std::string& id) {
  auto row = c.query_one(std::string(kSelect) + "WHERE workspace_id = ? AND id = ?", {workspace_id, id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::optional<Campaign> find_any(Connection& c, const std::string& id) {
  auto row = c.query_one(std::string(kSelect) + "WHERE id = ?", {id});
  if (!row) return std::nullopt;
  return from_row(*row);
}

Page<Campaign> page(Connection& c, const std::string& workspace_id, const std::optional<std::string>& state,
                    const PageRequest& request) {
  std::string sql = std::string(kSelect) + "WHERE workspace_id = ?";
  Params params{workspace_id};
  if (state) {
    sql += " AND state = ?";
    params.emplace_back(*state);
  }
  keyset::append_page_desc(sql, params, "created_at", "id", request);
  std::vector<Campaign> rows;
  for (const Row& row : c.query(sql, params)) rows.push_back(from_row(row));
  return keyset::cut(std::move(rows), request, [](const Campaign& x) { return Cursor{x.created_at, x.id}; });
}

void save(Connection& c, const Campaign& x) {
  c.execute(
      "UPDATE campaigns SET name = ?, state = ?, message_json = ?, audience_json = ?, rate_per_minute = ?, "
      "jitter = ?, scheduled_at = ?, started_at = ?, completed_at = ?, pace_origin_at = ?, pace_count = ?, "
      "next_seq = ?, updated_at = ? WHERE id = ?",
      {x.name, x.state, x.message.dump(), x.audience.dump(), x.rate_per_minute, x.jitter, x.scheduled_at,
       x.started_at, x.completed_at, x.pace_origin_at, x.pace_count, x.next_seq, x.updated_at, x.id});
}

std::vector<std::string> ids_in_state(Connection& c, const std::string& state) {
  std::vector<std::string> out;
  for (const Row& r : c.query("SELECT id FROM campaigns WHERE state = ? ORDER BY id", {state}))
    out.push_back(r.text("id"));
  return out;
}

void remove(Connection& c, const std::string& id) {
  c.execute("DELETE FROM campaign_recipients WHERE campaign_id = ?", {id});
  c.execute("DELETE FROM campaigns WHERE id = ?", {id});
}

void insert_recipient(Connection& c, const CampaignRecipient& r) {
  c.execute(
      "INSERT INTO campaign_recipients (campaign_id, seq, contact_id, phone, variables_json, state, reason, "
      "message_id, conversation_id, replied_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {r.campaign_id, r.seq, r.contact_id, r.phone, r.variables.dump(), r.state, r.reason, r.message_id,
       r.conversation_id, r.replied_at, r.updated_at});
}

bool has_contact(Connection& c, const std::string& campaign_id, const std::string& contact_id) {
  return c
      .query_one("SELECT 1 AS x FROM campaign_recipients WHERE campaign_id = ? AND contact_id = ? LIMIT 1",
                 {campaign_id, contact_id})
      .has_value();
}

int64_t count_in_state(Connection& c, const std::string& campaign_id, const std::string& state) {
  return c.query_one("SELECT COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? AND state = ?",
                     {campaign_id, state})
      ->integer("n");
}

std::vector<CampaignRecipient> pending(Connection& c, const std::string& campaign_id, int64_t limit) {
  std::vector<CampaignRecipient> out;
  for (const Row& r : c.query(std::string(kSelectRecipient) +
                                  "WHERE campaign_id = ? AND state = 'pending' ORDER BY seq LIMIT ?",
                              {campaign_id, limit}))
    out.push_back(recipient_from_row(r));
  return out;
}

void mark_queued(Connection& c, const std::string& campaign_id, int64_t seq, const std::string& message_id,
                 const std::string& conversation_id, int64_t now) {
  c.execute(
      "UPDATE campaign_recipients SET state = 'queued', reason = NULL, message_id = ?, conversation_id = ?, "
      "updated_at = ? WHERE campaign_id = ? AND seq = ?",
      {message_id, conversation_id, now, campaign_id, seq});
}

void set_state(Connection& c, const std::string& campaign_id, int64_t seq, const std::string& state,
               const std::optional<std::string>& reason, int64_t now) {
  c.execute("UPDATE campaign_recipients SET state = ?, reason = ?, updated_at = ? WHERE campaign_id = ? AND seq = ?",
            {state, reason, now, campaign_id, seq});
}

int64_t requeue_messages(Connection& c, const std::string& campaign_id, const std::vector<std::string>& message_ids,
                         int64_t now) {
  int64_t n = 0;
  for (const auto& id : message_ids)
    n += c.execute(
        "UPDATE campaign_recipients SET state = 'pending', message_id = NULL, conversation_id = NULL, updated_at = ? "
        "WHERE message_id = ? AND campaign_id = ? AND state = 'queued'",
        {now, id, campaign_id});
  return n;
}

int64_t skip_pending(Connection& c, const std::string& campaign_id, const std::string& reason, int64_t now) {
  return c.execute(
      "UPDATE campaign_recipients SET state = 'skipped', reason = ?, updated_at = ? "
      "WHERE campaign_id = ? AND state = 'pending'",
      {reason, now, campaign_id});
}

int64_t skip_messages(Connection& c, const std::string& campaign_id, const std::vector<std::string>& message_ids,
                      const std::string& reason, int64_t now) {
  int64_t n = 0;
  for (const auto& id : message_ids)
    n += c.execute(
        "UPDATE campaign_recipients SET state = 'skipped', reason = ?, message_id = NULL, conversation_id = NULL, "
        "updated_at = ? WHERE message_id = ? AND campaign_id = ? AND state = 'queued'",
        {reason, now, id, campaign_id});
  return n;
}

std::optional<CampaignRecipient> by_message(Connection& c, const std::string& message_id) {
  auto row = c.query_one(std::string(kSelectRecipient) + "WHERE message_id = ?", {message_id});
  if (!row) return std::nullopt;
  return recipient_from_row(*row);
}

std::vector<CampaignRecipient> by_conversation(Connection& c, const std::string& conversation_id) {
  std::vector<CampaignRecipient> out;
  for (const Row& r : c.query(std::string(kSelectRecipient) + "WHERE conversation_id = ?", {conversation_id}))
    out.push_back(recipient_from_row(r));
  return out;
}

void mark_replied(Connection& c, const std::string& campaign_id, int64_t seq, int64_t at) {
  c.execute(
      "UPDATE campaign_recipients SET replied_at = ?, updated_at = ? "
      "WHERE campaign_id = ? AND seq = ? AND replied_at IS NULL",
      {at, at, campaign_id, seq});
}

std::vector<CampaignRecipient> recipients(Connection& c, const std::string& campaign_id,
                                          const std::optional<std::string>& state, int64_t after_seq, int64_t limit) {
  if (limit < 1 || limit > keyset::kMaxLimit)
    throw Error(ErrorCode::invalid_argument, "a page holds 1 to 1000 rows, not " + std::to_string(limit));
  std::string sql = std::string(kSelectRecipient) + "WHERE campaign_id = ?";
  Params params{campaign_id};
  if (state) {
    sql += " AND state = ?";
    params.emplace_back(*state);
  }
  sql += " AND seq > ? ORDER BY seq LIMIT ?";
  params.emplace_back(after_seq);
  params.emplace_back(limit);
  std::vector<CampaignRecipient> out;
  for (const Row& r : c.query(sql, params)) out.push_back(recipient_from_row(r));
  return out;
}

Counts counts(Connection& c, const std::string& campaign_id) {
  Counts out;
  for (const char* s : {"pending", "queued", "sent", "delivered", "read", "failed", "skipped"}) out.by_state[s] = 0;
  for (const Row& r : c.query("SELECT state, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? GROUP BY state",
                              {campaign_id})) {
    out.by_state[r.text("state")] = r.integer("n");
    out.total += r.integer("n");
  }
  if (out.by_state["skipped"] > 0)
    for (const Row& r : c.query("SELECT reason, COUNT(*) AS n FROM campaign_recipients "
                                "WHERE campaign_id = ? AND state = 'skipped' GROUP BY reason",
                                {campaign_id}))
      out.skipped_by_reason[r.text("reason")] = r.integer("n");
  if (out.by_state["failed"] > 0)
    for (const Row& r : c.query("SELECT reason, COUNT(*) AS n FROM campaign_recipients "
                                "WHERE campaign_id = ? AND state = 'failed' GROUP BY reason",
                                {campaign_id}))
      out.failed_by_reason[r.text("reason")] = r.integer("n");
  out.replied = c.query_one("SELECT COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? AND replied_at IS NOT NULL",
                            {campaign_id})
                    ->integer("n");
  return out;
}

std::vector<Lagging> lagging(Connection& c, const std::string& campaign_id, int64_t limit) {
  std::vector<Lagging> out;
  for (const Row& r : c.query(
           "SELECT r.seq, m.status, m.error FROM campaign_recipients r JOIN messages m ON m.id = r.message_id "
           "WHERE r.campaign_id = ? AND r.state IN ('queued', 'sent', 'delivered') AND m.status <> r.state "
           "AND m.status <> 'queued' LIMIT ?",
           {campaign_id, limit}))
    out.push_back({r.integer("seq"), r.text("status"), r.optional_text("error")});
  return out;
}

}  // namespace campaigns
}  // namespace sb::store
