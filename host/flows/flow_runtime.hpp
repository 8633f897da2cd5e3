#pragma once
// The flow runtime: turns inbound messages, timers, HTTP responses, events,
// schedules and webhooks into execution segments run by the FlowEngine, and
// commits each segment's effects together with the execution's state.
//
// Ordering: work is queued per *lane* — the conversation, or the execution
// when it has none. A lane is handled by one worker at a time and stays busy
// until the segment's write has committed, so the messages of one
// conversation are handled in order, while different conversations run in
// parallel on the worker pool (each worker owns a FlowEngine and its Lua
// state).
//
// Durability: an inbound message stays unhandled in the database until the
// write that records what its flow did (execution row, outbox rows, tags,
// the message's handled flag) commits; start() re-dispatches unhandled
// messages, re-arms the deadlines of waiting executions and re-issues
// their calls (HTTP, AI). Timer and HTTP resumptions carry the execution's
// version: one that finds the execution moved on (a reply came first) does
// nothing, so each wait ends exactly once.
//
// Threads: public members are thread-safe. Internally: workers (lanes),
// one timer thread (deadlines, schedules, hot reload, retention), call
// threads per call kind (ctx.http, ctx.ai), and commit callbacks on the
// database writer.
#include "core/event_bus.hpp"
#include "flows/engine.hpp"
#include "flows/flow_library.hpp"
#include "messaging/outbox.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sb::flows {

// A call an execution waits for, made on the runtime's call threads while
// no worker is held: "http" (ctx.http) is built in; other kinds come from
// FlowRuntimeOptions::calls (the app adds "ai", answered by the knowledge
// bases). A handler returns the value the waiting ctx call gets back; it
// should not throw (a throw becomes {"error": message}).
struct CallContext {
  std::string workspace_id;
  std::string execution_id;
  std::optional<std::string> conversation_id;
};
struct CallKind {
  std::function<nlohmann::json(const CallContext&, const nlohmann::json& request)> handler;
  unsigned threads = 4;
};

struct FlowRuntimeOptions {
  std::optional<std::filesystem::path> flows_dir;  // watched for flow files
  unsigned workers = 4;
  unsigned http_threads = 4;
  std::map<std::string, CallKind> calls;  // call wait kinds besides "http", e.g. "ai"
  EngineLimits limits;
  std::chrono::milliseconds reload_interval{1000};
  std::chrono::milliseconds retention{std::chrono::hours(24 * 30)};  // finished executions kept this long
  size_t max_steps_kept = 500;  // step log entries kept per execution (the newest)
  int max_event_depth = 4;      // flows started by events that flows caused, at most this deep
  // The clock of executions (deadlines, ctx.now). Default: the system clock.
  std::function<int64_t()> clock;
};

class FlowRuntime {
 public:
  FlowRuntime(store::Database& db, EventBus& bus, messaging::Outbox& outbox, FlowLibrary& library,
              FlowRuntimeOptions options = {});
  ~FlowRuntime();  // stop()
  FlowRuntime(const FlowRuntime&) = delete;
  FlowRuntime& operator=(const FlowRuntime&) = delete;

  // Loads the flows directory, subscribes to the bus, recovers waiting
  // executions and unhandled messages, and starts the threads.
  void start();
  // Stops taking work, finishes the segments under way (their writes
  // commit), and joins every thread. Queued work stays in the database
  // (unhandled messages, waiting executions) for the next start().
  void stop();

  // Starts `flow_id` now (trigger "manual", or whatever `trigger` says) in
  // `conversation_id` (empty: none). Returns the execution as committed
  // after its first segment: {"execution_id", "status", "error"}. Throws
  // sb::Error: not_found for no such flow or conversation, conflict when a
  // human has the conversation (any trigger but "manual"), unavailable when
  // the runtime is not running or stops first.
  nlohmann::json start_flow(const std::string& workspace_id, const std::string& flow_id,
                            const std::string& conversation_id, nlohmann::json vars = nlohmann::json::object(),
                            nlohmann::json trigger = {{"type", "manual"}});

  // POST /hooks/flows/<flow-id>: the flow whose webhook trigger has this
  // secret (compared in constant time) starts with the body; see
  // docs/flows.md. unauthorized for a wrong secret, not_found for no such
  // webhook flow or profile, invalid_argument for a bad body, conflict when
  // a human has the contact's conversation.
  nlohmann::json handle_webhook(const std::string& flow_id, const std::string& secret, const nlohmann::json& body);

  // A human gives the conversation back to the bot: mode "bot", and the
  // event "handoff.released". And resolving one: status "resolved",
  // "conversation.resolved".
  void release_handoff(const std::string& workspace_id, const std::string& conversation_id);
  void resolve_conversation(const std::string& workspace_id, const std::string& conversation_id);

  // Checks deadlines and schedules now (after a test clock moved).
  void poke_timers();
  // The same, and waits until the timer thread has made that check and
  // queued what came due, so that a wait_until_idle() after it covers the
  // work. False on timeout, or when the runtime is not running.
  bool check_timers(std::chrono::milliseconds timeout);
  // Rescans the flows directory now; true when flows changed.
  bool reload();
  // Waits until no lane has work, no write is pending and no call is in
  // flight (timers may still be armed). False on timeout.
  bool wait_until_idle(std::chrono::milliseconds timeout);

  struct Stats {
    uint64_t segments = 0;      // engine runs
    uint64_t steps = 0;         // node steps
    uint64_t failed = 0;        // executions that failed
    uint64_t commit_errors = 0; // segment writes that failed
    size_t armed_timers = 0;
  };
  Stats stats() const;

  FlowLibrary& library() { return library_; }
  int64_t now() const { return clock_(); }

 private:
  struct Task;
  struct Lane {
    std::deque<std::shared_ptr<Task>> tasks;
    bool busy = false;
  };
  struct Worker;
  struct TimerEntry {
    std::string workspace_id, execution_id, lane, wait_kind;
    int64_t version = 0;
  };
  struct Snapshot;
  class Host;

  void enqueue(std::shared_ptr<Task> task);
  void worker_loop(Worker& worker);
  void finish_lane(const std::string& lane);
  void process(Worker& worker, Task& task, bool& lane_released);
  void process_message(Worker& worker, Task& task, bool& lane_released);
  void process_resume(Worker& worker, Task& task, bool& lane_released);
  void process_start(Worker& worker, Task& task, bool& lane_released);
  struct Segment;
  void run_and_commit(Worker& worker, Segment segment, bool& lane_released);
  void after_commit(const Segment& segment, uint64_t steps);
  void arm_timer(int64_t at, TimerEntry entry);
  void timer_loop();
  void fire_due();
  void rebuild_schedules();
  void fire_schedule(const std::string& workspace_id, const std::string& flow_id, int64_t at);
  // Whether executions waiting for `kind` wait for a call (and which).
  bool is_call(const std::string& kind) const;
  void queue_call(const std::string& kind, const std::string& workspace_id, const std::string& execution_id,
                  const std::string& lane, const std::optional<std::string>& conversation_id, int64_t version,
                  nlohmann::json request);
  void call_loop(const std::string& kind);
  void on_event(const Event& event);
  void recover();
  void sweep_unhandled();
  std::string timezone_of(const std::string& workspace_id);

  store::Database& db_;
  EventBus& bus_;
  messaging::Outbox& outbox_;
  FlowLibrary& library_;
  const FlowRuntimeOptions options_;
  std::function<int64_t()> clock_;
  std::unique_ptr<Host> host_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::unordered_map<std::string, Lane> lanes_;
  std::deque<std::string> ready_;
  size_t pending_writes_ = 0;
  size_t calls_in_flight_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;

  std::multimap<int64_t, TimerEntry> timers_;             // deadline -> wait
  std::map<std::pair<std::string, std::string>, int64_t> schedules_;  // (workspace, flow) -> next fire
  uint64_t schedules_generation_ = ~uint64_t{0};
  std::condition_variable timer_cv_;
  bool timers_poked_ = false;
  uint64_t checks_requested_ = 0;  // check_timers() calls so far
  uint64_t checks_done_ = 0;       // the requests the timer thread has served
  std::thread timer_thread_;

  struct CallJob {
    std::string workspace_id, execution_id, lane;
    std::optional<std::string> conversation_id;
    int64_t version = 0;
    nlohmann::json request;
  };
  std::map<std::string, std::deque<CallJob>> call_queues_;  // call kind -> jobs
  std::condition_variable calls_cv_;
  std::vector<std::thread> call_threads_;

  std::map<std::string, std::string> timezones_;  // workspace -> IANA zone
  EventBus::Subscription received_sub_, tagged_sub_, resolved_sub_, released_sub_;
  Stats stats_;
};

}  // namespace sb::flows
