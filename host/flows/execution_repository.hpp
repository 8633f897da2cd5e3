#pragma once
// Durable flow state: executions (with their step logs), the revisions they
// run, the per-workspace key-value store, schedule bookkeeping, and the
// contact/conversation changes flows make (tags, handoff). Tables in
// host/store/migrations/003_flows.sql.
//
// Every function runs inside the caller's job on `c` (a write job for the
// writes) and filters on workspace where it takes one. JSON that cannot be
// stored (text that is not UTF-8, as Lua strings may hold) is refused with
// sb::Error(invalid_argument).
#include "store/database.hpp"
#include "store/page.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::flows {

struct ExecutionRecord {
  std::string id;  // "exe_..."
  std::string organization_id;
  std::string workspace_id;
  std::string flow_id;
  std::string flow_hash;  // the revision it runs (flow_revisions.hash)
  int64_t flow_rev = 0;
  std::optional<std::string> profile_id;
  std::optional<std::string> conversation_id;
  std::optional<std::string> contact_id;
  std::string status = "running";  // running | waiting | completed | failed | cancelled
  std::optional<std::string> wait_kind;  // reply | delay | http, while waiting
  std::optional<int64_t> deadline_at;    // epoch ms the wait ends (timeout / delay), if any
  nlohmann::json state = nlohmann::json::object();    // runtime-defined: node, stack, vars, journal, wait
  nlohmann::json trigger = nlohmann::json::object();  // what started it
  nlohmann::json steps = nlohmann::json::array();     // the step log so far
  std::optional<std::string> error;
  int64_t version = 0;  // bumped by every update (optimistic concurrency)
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> finished_at;
};

nlohmann::json to_json(const ExecutionRecord& execution);

// What executions::page() keeps; nullopt: any.
struct ExecutionQuery {
  std::optional<std::string> flow_id;
  std::optional<std::string> status;  // running | waiting | completed | failed | cancelled
};

namespace executions {

// Inserts `e` as given (id, version and times included). Its revision must
// have been saved first (flow_revisions::save): the row references it.
// invalid_argument for an unknown status or a missing revision.
void insert(store::Connection& c, const ExecutionRecord& e);
// Writes every mutable field of `e` (status, wait, deadline, state, steps,
// error, updated_at, finished_at) if the row still has version
// `expected_version`, and sets version = expected_version + 1. False when
// the row changed meanwhile, or is not in e.workspace_id (nothing written).
bool update(store::Connection& c, const ExecutionRecord& e, int64_t expected_version);
std::optional<ExecutionRecord> find(store::Connection& c, const std::string& workspace_id, const std::string& id);
// The execution of this conversation waiting for a reply, if any (the most
// recent when, against the rules, there are several).
std::optional<ExecutionRecord> find_waiting_reply(store::Connection& c, const std::string& conversation_id);
// Every waiting execution, all workspaces, oldest first, `limit` per page
// after (created_at, id) — for recovery at start.
std::vector<ExecutionRecord> list_waiting(store::Connection& c, int64_t limit, int64_t after_created_at = 0,
                                          const std::string& after_id = "");
// Executions of a workspace, newest first; flow_id "" = every flow;
// status "" = every status.
std::vector<ExecutionRecord> list(store::Connection& c, const std::string& workspace_id, const std::string& flow_id,
                                  const std::string& status, int64_t limit = 50);
// A workspace's executions matching `q` (step logs included), by
// (created_at, id) newest first, over flow_executions_by_flow or
// flow_executions_by_workspace. One execution by id: find() above.
// Throws sb::Error(invalid_argument) for an unknown status or a page limit
// outside 1..1000.
store::Page<ExecutionRecord> page(store::Connection& c, const std::string& workspace_id, const ExecutionQuery& q,
                                  const store::PageRequest& request);
int64_t count_by_status(store::Connection& c, const std::string& workspace_id, const std::string& status);
// Deletes up to `limit` executions that finished before `before_ms`;
// returns how many.
int64_t purge_finished_before(store::Connection& c, int64_t before_ms, int64_t limit = 1000);

}  // namespace executions

// One stored revision of a flow: what an execution needs to finish on the
// revision it started with, even after the file changed or the host restarted.
struct FlowRevision {
  std::string organization_id, workspace_id, flow_id, hash;
  int64_t rev = 0;
  std::string kind;  // graph | lua
  std::string source;
  std::string source_path;
  int64_t created_at = 0;
};

namespace flow_revisions {
// Inserts unless (workspace, flow, hash) exists already.
void save(store::Connection& c, const FlowRevision& revision);
std::optional<FlowRevision> find(store::Connection& c, const std::string& workspace_id, const std::string& flow_id,
                                 const std::string& hash);
}  // namespace flow_revisions

namespace flow_kv {
std::optional<nlohmann::json> get(store::Connection& c, const std::string& workspace_id, const std::string& key);
void set(store::Connection& c, const std::string& organization_id, const std::string& workspace_id,
         const std::string& key, const nlohmann::json& value, int64_t now);
void remove(store::Connection& c, const std::string& workspace_id, const std::string& key);
}  // namespace flow_kv

namespace flow_schedules {
// When the schedule trigger of (workspace, flow) fires next, as last stored.
std::optional<int64_t> next_at(store::Connection& c, const std::string& workspace_id, const std::string& flow_id);
// Inserts or replaces; the row's organization is the workspace's.
// not_found for an unknown workspace.
void set_next_at(store::Connection& c, const std::string& workspace_id, const std::string& flow_id,
                 const std::string& cron, int64_t next_at, int64_t now);
}  // namespace flow_schedules

// Changes flows make to contacts and conversations.
namespace flow_effects {
// Adds / removes `tag` in contacts.tags_json (kept sorted and unique).
// Returns true when the tags changed (updated_at is set to `now` only
// then). not_found for an unknown contact, invalid_argument for an empty tag.
bool add_tag(store::Connection& c, const std::string& workspace_id, const std::string& contact_id,
             const std::string& tag, int64_t now);
bool remove_tag(store::Connection& c, const std::string& workspace_id, const std::string& contact_id,
                const std::string& tag, int64_t now);
// Sets conversations.mode ("bot" | "human"); returns the previous mode.
// not_found for an unknown conversation, invalid_argument for another mode.
std::string set_mode(store::Connection& c, const std::string& workspace_id, const std::string& conversation_id,
                     const std::string& mode, int64_t now);
// Sets conversations.status ("open" | "pending" | "resolved"). not_found for
// an unknown conversation, invalid_argument for another status, conflict
// when reopening it while another conversation of the same (profile,
// contact) is active.
void set_status(store::Connection& c, const std::string& workspace_id, const std::string& conversation_id,
                const std::string& status, int64_t now);
// Contacts of a workspace carrying `tag`, with their ids (for schedule
// triggers with a tag), in id order, `limit` per page after `after_id`.
std::vector<std::string> contacts_with_tag(store::Connection& c, const std::string& workspace_id,
                                           const std::string& tag, int64_t limit, const std::string& after_id = "");
}  // namespace flow_effects

}  // namespace sb::flows
