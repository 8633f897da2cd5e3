#pragma once
// The outbox: every outbound message becomes a durable row first, and a
// sender turns due rows into ChannelInstance::send calls. The row, not
// memory, is the truth: after a crash, rows left in `sending` go back to
// pending and are sent again with the same idempotency key, which the
// channel dedupes, so nothing is sent twice.
//
// enqueue() runs inside the caller's write job (so a reply commits together
// with whatever caused it) and wakes the sender. The sender:
//   - claims due pending rows of one profile in a batch (one write job marks
//     them sending), oldest first, never overtaking an earlier unsent row of
//     the same conversation, and of each kind (reply, cold) only as many as
//     the profile's sending rules allow now (messaging/sending_rules.hpp);
//     a cold row whose contact opted out fails here, unsent;
//   - sends them one by one in that order;
//   - records the results in one write job: external id and status sent;
//     a transient PluginError -> pending again after exponential backoff with
//     jitter (failed once max_attempts is reached); any other error -> failed
//     with the channel's message on the message;
//   - publishes "message.status" {"message_id","external_id","conversation_id",
//     "contact_id","status","error"} for each message sent or failed.
// A transient failure stops the rest of that batch (the channel is likely
// down): unsent rows go back to pending, due with the failed row's retry.
// A profile with no channel session fails every row of the batch
// transiently, so they all retry (and give up) together.
//
// Threads: enqueue()/wake() run on any thread. A pool of sender threads
// (OutboxOptions::sender_threads) works through profiles; one profile is
// worked on by at most one thread at a time, which keeps a conversation's
// order. `mu_` guards the scheduling state below it (slots_, ready_,
// stopping_); rows live in the database only.
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "messaging/channel_sessions.hpp"
#include "messaging/sending_rules.hpp"
#include "store/database.hpp"
#include "store/conversation_repository.hpp"
#include "store/contact_repository.hpp"
#include "store/profile_repository.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::messaging {

struct OutboxOptions {
  int64_t batch_size = 128;                             // rows claimed per write job
  int64_t max_attempts = 8;                             // transient failures before failed
  std::chrono::milliseconds base_backoff{1000};         // first retry after ~this
  std::chrono::milliseconds max_backoff{5 * 60 * 1000};  // retries never wait longer
  unsigned sender_threads = 2;
  // The time the outbox goes by (epoch ms): due times, budgets, quiet hours.
  // Tests pass a movable clock and call wake() after moving it.
  std::function<int64_t()> clock;  // empty: core/ids.hpp now_ms()
};

// One outbound message. `profile_id` is required; the recipient is
// `contact_id` or, when empty, `to` (an E.164 phone; the contact is created
// if new); `conversation_id` empty means the active conversation of
// (profile, contact), opened when there is none.
struct OutgoingMessage {
  std::string profile_id;
  std::string conversation_id;
  std::string contact_id;
  std::string to;
  std::string type = "text";
  std::string text;
  nlohmann::json payload = nlohmann::json::object();  // type-specific fields, sent along
  std::string message_id;  // the id to store the message under; empty: a new one
  // "reply" (inside a conversation the contact wrote to in the last 24
  // hours) or "cold" (outreach: campaigns, first messages); they have
  // separate budgets in the sending rules. Empty: decided from the
  // conversation. A cold message to an opted-out contact is refused.
  std::string kind;
  std::string campaign_id;         // set by campaigns: cancel withdraws what is still queued
  std::optional<int64_t> not_before;  // epoch ms: not sent before this (campaign pacing)
};

struct EnqueuedMessage {
  std::string message_id;
  std::string outbox_id;
  std::string conversation_id;
  std::string contact_id;
  std::string workspace_id;
  std::string kind;  // "reply" or "cold", as decided
};

// The delay before retry number `attempts` (1-based): base * 2^(attempts-1),
// capped at max_backoff, then drawn uniformly from [delay/2, delay].
std::chrono::milliseconds retry_delay(const OutboxOptions& options, int64_t attempts);

class Outbox {
 public:
  Outbox(store::Database& db, ChannelSessions& sessions, EventBus& bus, OutboxOptions options = {});
  ~Outbox();  // stop()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Inside the caller's write job: inserts the outbound message (status
  // queued) and its outbox row (idempotency key = outbox id), and wakes the
  // sender for the profile. Throws sb::Error(invalid_argument) for a bad
  // message, not_found for an unknown profile, contact or conversation.
  EnqueuedMessage enqueue(store::Connection& c, const OutgoingMessage& message);
  // The same, for a caller that already holds the conversation (the inbound
  // write job): no lookups; profile, contact and tenant come from it, and
  // `message`'s own ids are ignored.
  EnqueuedMessage enqueue(store::Connection& c, const store::Conversation& conversation,
                          const OutgoingMessage& message);
  // The same in a write job of its own; returns after commit.
  EnqueuedMessage enqueue(const OutgoingMessage& message);

  // "reply" or "cold", as enqueue() decides it for `message` into
  // `conversation`: the message's own kind when given, cold for a
  // campaign's, else reply when the contact wrote in the conversation within
  // the last 24 hours (WhatsApp's customer-service window). Reads only; in
  // the caller's job. The API uses it to refuse a send the channel would
  // refuse outside the window.
  std::string send_kind(store::Connection& c, const store::Conversation& conversation,
                        const OutgoingMessage& message) const;

  // Inside the caller's write job: removes the rows of `campaign_id` that
  // are still pending (never handed to the channel) together with their
  // queued messages, and returns those messages' ids. Rows being sent
  // finish as usual.
  std::vector<std::string> withdraw_campaign(store::Connection& c, const std::string& campaign_id);

  // Rows a dead process left in `sending` go back to pending (call before
  // start()). Returns how many.
  int64_t recover();

  // Starts the sender threads and wakes every profile that has pending rows.
  void start();
  // Stops claiming; a batch in flight finishes the send under way, returns
  // its unsent rows to pending and records what it did; joins the threads.
  void stop();

  // Asks the sender to look at `profile_id` soon.
  void wake(const std::string& profile_id);

  // A profile's sending rules and their live state:
  // {"profile_id", "rules": {...}, "state": {...}} (docs/api.md "Sending
  // rules"). Throws sb::Error(not_found) for an unknown profile.
  nlohmann::json sending_rules(const std::string& profile_id);
  // Validates and stores `rules` (sb::Error(invalid_argument) naming the
  // field), applies them at once and answers as sending_rules(). Turning the
  // warm-up on starts the ramp now unless it had started before.
  nlohmann::json set_sending_rules(const std::string& profile_id, const nlohmann::json& rules);
  // The live state of every profile whose rules are loaded, for metrics.
  std::vector<std::pair<std::string, nlohmann::json>> rule_states();

  const OutboxOptions& options() const { return options_; }

 private:
  struct Slot {
    bool queued = false;   // in ready_
    bool running = false;  // a sender thread works on it
    bool rerun = false;    // woken while running: look again afterwards
    std::optional<int64_t> due_at;  // wake at this time (epoch ms)
  };
  struct BatchOutcome {
    bool more = false;                  // a full batch: there may be more due now
    std::optional<int64_t> next_due_at;  // when the earliest remaining row is due
  };

  void sender_loop();
  // Takes the next profile to work on, or "" when stopping. Needs `lock`.
  std::string next_profile(std::unique_lock<std::mutex>& lock);
  BatchOutcome send_batch(const std::string& profile_id);
  void schedule_wake(const std::string& profile_id, int64_t at);
  int64_t now() const { return options_.clock ? options_.clock() : now_ms(); }

  // One profile's rules. `mu` guards `gate`: the sender thread working on
  // the profile and API readers both take it.
  struct Gate {
    std::mutex mu;
    std::optional<RuleGate> gate;
    std::string workspace_id;
  };
  std::shared_ptr<Gate> gate_for(const std::string& profile_id);
  void persist_breaker(const std::string& profile_id, RuleGate& gate);

  store::Database& db_;
  ChannelSessions& sessions_;
  EventBus& bus_;
  const OutboxOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Slot> slots_;
  std::deque<std::string> ready_;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::thread> threads_;

  std::mutex gates_mu_;  // guards gates_ (the map, not the gates)
  std::unordered_map<std::string, std::shared_ptr<Gate>> gates_;
};

}  // namespace sb::messaging
