#pragma once
// The built-in keyword auto-reply, until the flow runtime replaces it.
//
// Each profile carries rules in profiles.auto_reply_json:
//   [{"keyword": "ping", "reply": "pong"}, ...]
// An inbound text message whose text contains a rule's keyword (ignoring
// ASCII case) is answered with that rule's reply; the first matching rule
// wins. Conversations handed to a human (mode "human") get no bot reply.
//
// It listens to "message.received" on the event bus, but never works on the
// publisher's thread (an HTTP worker that already waited for its own
// commit): events go into a bounded queue drained by one worker thread.
// For each message ONE write job enqueues the reply through the outbox AND
// sets the message's handled flag, so the reply is enqueued exactly once.
// Nothing is lost: on start, and whenever the queue overflowed or
// request_sweep() is called, the worker re-reads every inbound message with
// handled = 0 from the database (a kill -9 between an inbound commit and its
// reply loses no reply; an event dropped from a full queue is found again).
//
// Threads: on_received() runs on publishers' threads and only touches the
// queue under `mu_`; everything else runs on the worker thread.
#include "core/event_bus.hpp"
#include "messaging/inbound_pipeline.hpp"
#include "messaging/outbox.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sb::messaging {

struct AutoReplyOptions {
  size_t queue_capacity = 10000;  // events waiting for the worker; more trigger a sweep
  size_t batch_size = 64;         // messages handled per write job
  int64_t sweep_page = 500;       // unhandled messages read per page by a sweep
};

class AutoReply {
 public:
  AutoReply(store::Database& db, EventBus& bus, Outbox& outbox, AutoReplyOptions options = {});
  ~AutoReply();  // stop()
  AutoReply(const AutoReply&) = delete;
  AutoReply& operator=(const AutoReply&) = delete;

  // Answers new messages inside the inbound write job (see
  // InboundPipeline::set_inline_automation) instead of from the bus: the
  // reply commits with the message, and no second write job is needed. The
  // worker then only sweeps messages left unhandled (from before a crash,
  // or whose inline reply failed). Call before start().
  void attach_inline(InboundPipeline& pipeline);

  // Subscribes to "message.received" (unless attached inline), starts the
  // worker and has it re-dispatch every unhandled inbound message first.
  void start();
  // Unsubscribes and joins the worker. Messages still queued stay
  // unhandled in the database and are re-dispatched by the next start().
  void stop();

  // Asks the worker to re-read unhandled inbound messages from the database.
  void request_sweep();

  // Waits until the queue is empty, no sweep is pending and the worker is
  // idle; false on timeout. For tests and orderly shutdowns.
  bool wait_until_idle(std::chrono::milliseconds timeout);

  // The reply the first rule matching `text` gives, if any. Rules that are
  // not {"keyword": string, "reply": string} are skipped.
  static std::optional<std::string> match(const nlohmann::json& rules, std::string_view text);

 private:
  struct Item {
    std::string workspace_id;
    std::string message_id;
  };

  void on_received(const Event& event);
  void worker_loop();
  void sweep();
  // Handles `items` in one write job; if that fails, each in a job of its own.
  void handle(const std::vector<Item>& items);
  // Rules read during one write job, by profile id.
  using RulesCache = std::map<std::string, store::Profile>;  // profiles by id, for one batch
  void handle_one(store::Connection& c, const Item& item, int64_t now, RulesCache& rules);
  // Enqueues in `c` the reply `rules` give to `text`, unless a human has
  // the conversation.
  void reply(store::Connection& c, const store::Conversation& conversation, const nlohmann::json& rules,
             const std::string& text);

  store::Database& db_;
  EventBus& bus_;
  Outbox& outbox_;
  const AutoReplyOptions options_;

  bool inline_ = false;  // new messages are answered by the inbound pipeline
  EventBus::Subscription subscription_;
  std::mutex mu_;
  std::condition_variable cv_;       // work arrived / stop
  std::condition_variable idle_cv_;  // the worker went idle
  std::deque<Item> queue_;
  bool sweep_requested_ = false;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace sb::messaging
