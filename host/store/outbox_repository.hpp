#pragma once
// The outbox: one durable row per outbound message, the truth about what is
// still to be sent. A row goes pending -> sending (claimed by a sender) ->
// sent | failed, or back to pending to be retried later. Rows of one
// conversation are sent in the order they were enqueued (`seq`).
//
// Free functions take a Connection (compose inside one write job). They are
// internal to the messaging room's sender, so they look rows up by id and
// profile rather than by workspace.
#include "store/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::store {

struct OutboxRow {
  std::string id;
  std::string organization_id;
  std::string workspace_id;
  std::string profile_id;
  std::string conversation_id;
  std::string message_id;
  int64_t seq = 0;
  std::string state = "pending";  // pending | sending | sent | failed
  int64_t attempts = 0;
  int64_t next_attempt_at = 0;
  std::optional<int64_t> claimed_at;
  std::optional<std::string> last_error;
  std::string idempotency_key;
  std::string kind = "reply";  // reply | cold (messaging/sending_rules.hpp)
  std::optional<std::string> campaign_id;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

namespace outbox {

// Inserts `row` in state pending; assigns and returns its seq (after every
// row enqueued before it). `row.seq` is ignored.
int64_t insert(Connection& c, const OutboxRow& row);

std::optional<OutboxRow> find(Connection& c, const std::string& id);
std::optional<OutboxRow> find_by_message(Connection& c, const std::string& message_id);

// Claims up to `limit` due pending rows of `profile_id` in seq order and
// marks them sending (claimed_at = now). A row is not due while an earlier
// row of its conversation is still being sent or waits for a retry, so a
// conversation's messages go out in order.
// Only rows of `kind` ("reply" or "cold").
std::vector<OutboxRow> claim_due(Connection& c, const std::string& profile_id, const std::string& kind, int64_t now,
                                 int64_t limit);
// Whether `profile_id` has a pending row of `kind` due at `now`.
bool has_due(Connection& c, const std::string& profile_id, const std::string& kind, int64_t now);
// Rows of `kind` sent by `profile_id` at or after `since` (today's budget
// after a restart).
int64_t count_sent_since(Connection& c, const std::string& profile_id, const std::string& kind, int64_t since);
// Deletes the pending rows of `campaign_id`; returns their message ids.
std::vector<std::string> withdraw_pending(Connection& c, const std::string& campaign_id);

void mark_sent(Connection& c, const std::string& id, int64_t attempts, int64_t now);
void mark_failed(Connection& c, const std::string& id, int64_t attempts, const std::string& error, int64_t now);
// Back to pending, due at `next_attempt_at`.
void reschedule(Connection& c, const std::string& id, int64_t attempts, int64_t next_attempt_at,
                const std::optional<std::string>& error, int64_t now);

// Rows a dead process left in sending go back to pending, due now. Returns
// how many.
int64_t recover_sending(Connection& c, int64_t now);

// Profiles that have pending rows (due or not).
std::vector<std::string> profiles_with_pending(Connection& c);
// The earliest retry time of a pending row of `profile_id` later than
// `after` (rows due by then are claimed or held back by one that is not).
std::optional<int64_t> next_due_after(Connection& c, const std::string& profile_id, int64_t after);

int64_t count_in_state(Connection& c, const std::string& profile_id, const std::string& state);

}  // namespace outbox

class OutboxRepository {
 public:
  explicit OutboxRepository(Database& db) : db_(db) {}
  std::optional<OutboxRow> find(const std::string& id);
  std::optional<OutboxRow> find_by_message(const std::string& message_id);
  std::vector<std::string> profiles_with_pending();
  int64_t count_in_state(const std::string& profile_id, const std::string& state);

 private:
  Database& db_;
};

}  // namespace sb::store
