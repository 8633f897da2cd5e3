#include "flows/execution_repository.hpp"

#include "core/error.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/keyset.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <string_view>

namespace sb::flows {

using store::Connection;
using store::Row;

namespace {

constexpr const char* kSelectExecution =
    "SELECT id, organization_id, workspace_id, flow_id, flow_rev, flow_hash, profile_id, conversation_id, "
    "contact_id, status, wait_kind, deadline_at, state_json, trigger_json, steps_json, error, version, "
    "created_at, updated_at, finished_at FROM flow_executions ";

constexpr std::array<std::string_view, 5> kExecutionStatuses = {"running", "waiting", "completed", "failed",
                                                                 "cancelled"};

template <class T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

// JSON text for a column. Values that came out of Lua may hold bytes that
// are not UTF-8, which JSON cannot carry: refuse them with a sentence
// rather than nlohmann's type_error, and never store a mangled copy.
std::string json_text(const nlohmann::json& value, const std::string& what) {
  try {
    return value.dump();
  } catch (const nlohmann::json::type_error&) {
    throw Error(ErrorCode::invalid_argument, what + " holds text that is not valid UTF-8 and cannot be stored");
  }
}

void require_execution_status(const std::string& status) {
  if (std::find(kExecutionStatuses.begin(), kExecutionStatuses.end(), status) == kExecutionStatuses.end()) {
    throw Error(ErrorCode::invalid_argument, "\"" + status +
                                                 "\" is not an execution status (running, waiting, completed, "
                                                 "failed or cancelled)");
  }
}

ExecutionRecord execution_from(const Row& r) {
  ExecutionRecord e;
  e.id = r.text("id");
  e.organization_id = r.text("organization_id");
  e.workspace_id = r.text("workspace_id");
  e.flow_id = r.text("flow_id");
  e.flow_rev = r.integer("flow_rev");
  e.flow_hash = r.text("flow_hash");
  e.profile_id = r.optional_text("profile_id");
  e.conversation_id = r.optional_text("conversation_id");
  e.contact_id = r.optional_text("contact_id");
  e.status = r.text("status");
  e.wait_kind = r.optional_text("wait_kind");
  e.deadline_at = r.optional_integer("deadline_at");
  e.state = r.json("state_json");
  e.trigger = r.json("trigger_json");
  e.steps = r.json("steps_json");
  e.error = r.optional_text("error");
  e.version = r.integer("version");
  e.created_at = r.integer("created_at");
  e.updated_at = r.integer("updated_at");
  e.finished_at = r.optional_integer("finished_at");
  return e;
}

std::vector<ExecutionRecord> executions_from(const std::vector<Row>& rows) {
  std::vector<ExecutionRecord> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(execution_from(r));
  return out;
}

}  // namespace

nlohmann::json to_json(const ExecutionRecord& e) {
  // Times are epoch ms numbers, as in every store::to_json.
  nlohmann::json wait = nullptr;
  if (e.wait_kind) wait = {{"kind", *e.wait_kind}, {"deadline_at", or_null(e.deadline_at)}};
  return {{"id", e.id},
          {"flow_id", e.flow_id},
          {"flow_rev", e.flow_rev},
          {"flow_hash", e.flow_hash},
          {"profile_id", or_null(e.profile_id)},
          {"conversation_id", or_null(e.conversation_id)},
          {"contact_id", or_null(e.contact_id)},
          {"status", e.status},
          {"wait", wait},
          {"state", e.state},
          {"trigger", e.trigger},
          {"steps", e.steps},
          {"error", or_null(e.error)},
          {"created_at", e.created_at},
          {"updated_at", e.updated_at},
          {"finished_at", or_null(e.finished_at)}};
}

namespace executions {

void insert(Connection& c, const ExecutionRecord& e) {
  require_execution_status(e.status);
  const std::string what = "execution " + e.id;
  c.execute(
      "INSERT INTO flow_executions (id, organization_id, workspace_id, flow_id, flow_rev, flow_hash, profile_id, "
      "conversation_id, contact_id, status, wait_kind, deadline_at, state_json, trigger_json, steps_json, error, "
      "version, created_at, updated_at, finished_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {e.id, e.organization_id, e.workspace_id, e.flow_id, e.flow_rev, e.flow_hash, e.profile_id, e.conversation_id,
       e.contact_id, e.status, e.wait_kind, e.deadline_at, json_text(e.state, what + ": its state"),
       json_text(e.trigger, what + ": its trigger"), json_text(e.steps, what + ": its step log"), e.error,
       e.version, e.created_at, e.updated_at, e.finished_at});
}

bool update(Connection& c, const ExecutionRecord& e, int64_t expected_version) {
  require_execution_status(e.status);
  const std::string what = "execution " + e.id;
  int64_t changed = c.execute(
      "UPDATE flow_executions SET status = ?, wait_kind = ?, deadline_at = ?, state_json = ?, steps_json = ?, "
      "error = ?, updated_at = ?, finished_at = ?, version = ? "
      "WHERE workspace_id = ? AND id = ? AND version = ?",
      {e.status, e.wait_kind, e.deadline_at, json_text(e.state, what + ": its state"),
       json_text(e.steps, what + ": its step log"), e.error, e.updated_at, e.finished_at, expected_version + 1,
       e.workspace_id, e.id, expected_version});
  return changed == 1;
}

std::optional<ExecutionRecord> find(Connection& c, const std::string& workspace_id, const std::string& id) {
  static const std::string sql = std::string(kSelectExecution) + "WHERE workspace_id = ? AND id = ?";
  auto row = c.query_one(sql, {workspace_id, id});
  if (!row) return std::nullopt;
  return execution_from(*row);
}

std::optional<ExecutionRecord> find_waiting_reply(Connection& c, const std::string& conversation_id) {
  // The status and wait_kind terms are literals so that SQLite can use the
  // partial index flow_executions_waiting_reply.
  static const std::string sql = std::string(kSelectExecution) +
                                 "WHERE conversation_id = ? AND status = 'waiting' AND wait_kind = 'reply' "
                                 "ORDER BY created_at DESC, id DESC LIMIT 1";
  auto row = c.query_one(sql, {conversation_id});
  if (!row) return std::nullopt;
  return execution_from(*row);
}

std::vector<ExecutionRecord> list_waiting(Connection& c, int64_t limit, int64_t after_created_at,
                                          const std::string& after_id) {
  // Keyset paging over the partial index flow_executions_waiting.
  static const std::string sql = std::string(kSelectExecution) +
                                 "WHERE status = 'waiting' "
                                 "AND (created_at > ? OR (created_at = ? AND id > ?)) "
                                 "ORDER BY created_at, id LIMIT ?";
  return executions_from(c.query(sql, {after_created_at, after_created_at, after_id, limit}));
}

std::vector<ExecutionRecord> list(Connection& c, const std::string& workspace_id, const std::string& flow_id,
                                  const std::string& status, int64_t limit) {
  // At most four statement texts, each cached by the connection.
  std::string sql = std::string(kSelectExecution) + "WHERE workspace_id = ?";
  store::Params params{workspace_id};
  if (!flow_id.empty()) {
    sql += " AND flow_id = ?";
    params.emplace_back(flow_id);
  }
  if (!status.empty()) {
    sql += " AND status = ?";
    params.emplace_back(status);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT ?";
  params.emplace_back(limit);
  return executions_from(c.query(sql, params));
}

store::Page<ExecutionRecord> page(Connection& c, const std::string& workspace_id, const ExecutionQuery& q,
                                  const store::PageRequest& request) {
  // At most four statement texts, as list().
  std::string sql = std::string(kSelectExecution) + "WHERE workspace_id = ?";
  store::Params params{workspace_id};
  if (q.flow_id) {
    sql += " AND flow_id = ?";
    params.emplace_back(*q.flow_id);
  }
  if (q.status) {
    require_execution_status(*q.status);
    sql += " AND status = ?";
    params.emplace_back(*q.status);
  }
  store::keyset::append_page_desc(sql, params, "created_at", "id", request);
  return store::keyset::cut(executions_from(c.query(sql, params)), request,
                            [](const ExecutionRecord& e) { return store::Cursor{e.created_at, e.id}; });
}

int64_t count_by_status(Connection& c, const std::string& workspace_id, const std::string& status) {
  auto row = c.query_one("SELECT COUNT(*) AS n FROM flow_executions WHERE workspace_id = ? AND status = ?",
                         {workspace_id, status});
  return row ? row->integer("n") : 0;
}

int64_t purge_finished_before(Connection& c, int64_t before_ms, int64_t limit) {
  // DELETE ... LIMIT is not standard SQL (and optional in SQLite builds):
  // pick the ids in a subquery instead, oldest first, over the partial
  // index flow_executions_finished.
  return c.execute(
      "DELETE FROM flow_executions WHERE id IN ("
      "SELECT id FROM flow_executions WHERE finished_at IS NOT NULL AND finished_at < ? "
      "ORDER BY finished_at LIMIT ?)",
      {before_ms, limit});
}

}  // namespace executions

namespace flow_revisions {

void save(Connection& c, const FlowRevision& r) {
  // A revision is immutable: its hash names its content, so an existing row
  // is already right.
  c.execute(
      "INSERT INTO flow_revisions (organization_id, workspace_id, flow_id, hash, rev, kind, source, source_path, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (workspace_id, flow_id, hash) DO NOTHING",
      {r.organization_id, r.workspace_id, r.flow_id, r.hash, r.rev, r.kind, r.source, r.source_path,
       r.created_at});
}

std::optional<FlowRevision> find(Connection& c, const std::string& workspace_id, const std::string& flow_id,
                                 const std::string& hash) {
  auto row = c.query_one(
      "SELECT organization_id, workspace_id, flow_id, hash, rev, kind, source, source_path, created_at "
      "FROM flow_revisions WHERE workspace_id = ? AND flow_id = ? AND hash = ?",
      {workspace_id, flow_id, hash});
  if (!row) return std::nullopt;
  FlowRevision r;
  r.organization_id = row->text("organization_id");
  r.workspace_id = row->text("workspace_id");
  r.flow_id = row->text("flow_id");
  r.hash = row->text("hash");
  r.rev = row->integer("rev");
  r.kind = row->text("kind");
  r.source = row->text("source");
  r.source_path = row->text("source_path");
  r.created_at = row->integer("created_at");
  return r;
}

}  // namespace flow_revisions

namespace flow_kv {

std::optional<nlohmann::json> get(Connection& c, const std::string& workspace_id, const std::string& key) {
  auto row = c.query_one("SELECT value_json FROM flow_kv WHERE workspace_id = ? AND key = ?", {workspace_id, key});
  if (!row) return std::nullopt;
  return row->json("value_json");
}

void set(Connection& c, const std::string& organization_id, const std::string& workspace_id, const std::string& key,
         const nlohmann::json& value, int64_t now) {
  c.execute(
      "INSERT INTO flow_kv (organization_id, workspace_id, key, value_json, updated_at) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (workspace_id, key) DO UPDATE SET value_json = excluded.value_json, "
      "updated_at = excluded.updated_at",
      {organization_id, workspace_id, key, json_text(value, "the value of key \"" + key + "\""), now});
}

void remove(Connection& c, const std::string& workspace_id, const std::string& key) {
  c.execute("DELETE FROM flow_kv WHERE workspace_id = ? AND key = ?", {workspace_id, key});
}

}  // namespace flow_kv

namespace flow_schedules {

std::optional<int64_t> next_at(Connection& c, const std::string& workspace_id, const std::string& flow_id) {
  auto row = c.query_one("SELECT next_at FROM flow_schedules WHERE workspace_id = ? AND flow_id = ?",
                         {workspace_id, flow_id});
  if (!row) return std::nullopt;
  return row->integer("next_at");
}

void set_next_at(Connection& c, const std::string& workspace_id, const std::string& flow_id, const std::string& cron,
                 int64_t next_at, int64_t now) {
  // The row's organization comes from its workspace, since the caller does
  // not pass it. (SQLite needs the WHERE to parse INSERT ... SELECT ... ON
  // CONFLICT; it is there anyway.)
  int64_t written = c.execute(
      "INSERT INTO flow_schedules (organization_id, workspace_id, flow_id, cron, next_at, updated_at) "
      "SELECT organization_id, id, ?, ?, ?, ? FROM workspaces WHERE id = ? "
      "ON CONFLICT (workspace_id, flow_id) DO UPDATE SET cron = excluded.cron, next_at = excluded.next_at, "
      "updated_at = excluded.updated_at",
      {flow_id, cron, next_at, now, workspace_id});
  if (written == 0) throw Error(ErrorCode::not_found, "workspace " + workspace_id + " does not exist");
}

}  // namespace flow_schedules

namespace flow_effects {

namespace {

std::set<std::string> tag_set(const nlohmann::json& tags) {
  // Only strings are tags; anything else in the column is not kept.
  std::set<std::string> out;
  if (!tags.is_array()) return out;
  for (const auto& t : tags) {
    if (t.is_string()) out.insert(t.get<std::string>());
  }
  return out;
}

store::Contact contact_or_throw(Connection& c, const std::string& workspace_id, const std::string& contact_id) {
  auto contact = store::contacts::find(c, workspace_id, contact_id);
  if (!contact) throw Error(ErrorCode::not_found, "contact " + contact_id + " does not exist");
  return std::move(*contact);
}

store::Conversation conversation_or_throw(Connection& c, const std::string& workspace_id,
                                          const std::string& conversation_id) {
  auto conversation = store::conversations::find(c, workspace_id, conversation_id);
  if (!conversation) throw Error(ErrorCode::not_found, "conversation " + conversation_id + " does not exist");
  return std::move(*conversation);
}

void require_tag(const std::string& tag) {
  if (tag.empty()) throw Error(ErrorCode::invalid_argument, "a tag must not be empty");
}

void write_tags(Connection& c, const store::Contact& contact, const std::set<std::string>& tags, int64_t now) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& t : tags) array.push_back(t);  // std::set iterates sorted
  c.execute("UPDATE contacts SET tags_json = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
            {json_text(array, "the tags of contact " + contact.id), now, contact.workspace_id, contact.id});
}

}  // namespace

bool add_tag(Connection& c, const std::string& workspace_id, const std::string& contact_id, const std::string& tag,
             int64_t now) {
  require_tag(tag);
  auto contact = contact_or_throw(c, workspace_id, contact_id);
  auto tags = tag_set(contact.tags);
  if (!tags.insert(tag).second) return false;
  write_tags(c, contact, tags, now);
  return true;
}

bool remove_tag(Connection& c, const std::string& workspace_id, const std::string& contact_id,
                const std::string& tag, int64_t now) {
  require_tag(tag);
  auto contact = contact_or_throw(c, workspace_id, contact_id);
  auto tags = tag_set(contact.tags);
  if (tags.erase(tag) == 0) return false;
  write_tags(c, contact, tags, now);
  return true;
}

std::string set_mode(Connection& c, const std::string& workspace_id, const std::string& conversation_id,
                     const std::string& mode, int64_t now) {
  if (mode != "bot" && mode != "human") {
    throw Error(ErrorCode::invalid_argument, "\"" + mode + "\" is not a conversation mode (bot or human)");
  }
  auto conversation = conversation_or_throw(c, workspace_id, conversation_id);
  if (conversation.mode != mode) {
    c.execute("UPDATE conversations SET mode = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
              {mode, now, workspace_id, conversation_id});
  }
  return conversation.mode;
}

void set_status(Connection& c, const std::string& workspace_id, const std::string& conversation_id,
                const std::string& status, int64_t now) {
  if (status != "open" && status != "pending" && status != "resolved") {
    throw Error(ErrorCode::invalid_argument,
                "\"" + status + "\" is not a conversation status (open, pending or resolved)");
  }
  auto conversation = conversation_or_throw(c, workspace_id, conversation_id);
  if (conversation.status == status) return;
  // Reopening: at most one conversation per (profile, contact) may be
  // active (index conversations_one_active); say so instead of failing on
  // the index.
  if (conversation.status == "resolved") {
    auto active = store::conversations::find_active(c, conversation.profile_id, conversation.contact_id);
    if (active && active->id != conversation.id) {
      throw Error(ErrorCode::conflict, "conversation " + conversation_id + " cannot be reopened: conversation " +
                                           active->id + " with the same contact on the same profile is active");
    }
  }
  c.execute("UPDATE conversations SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?",
            {status, now, workspace_id, conversation_id});
}

std::vector<std::string> contacts_with_tag(Connection& c, const std::string& workspace_id, const std::string& tag,
                                           int64_t limit, const std::string& after_id) {
  // SQLite's json_each; the PostgreSQL plugin will need its twin, e.g.
  // `contacts.tags_json::jsonb ? $tag`. Pages walk the index
  // contacts_by_workspace_id, so each page reads on from the last id only.
  std::vector<std::string> out;
  for (const Row& r : c.query("SELECT id FROM contacts WHERE workspace_id = ? AND id > ? "
                              "AND EXISTS (SELECT 1 FROM json_each(contacts.tags_json) WHERE value = ?) "
                              "ORDER BY id LIMIT ?",
                              {workspace_id, after_id, tag, limit})) {
    out.push_back(r.text("id"));
  }
  return out;
}

}  // namespace flow_effects

}  // namespace sb::flows
