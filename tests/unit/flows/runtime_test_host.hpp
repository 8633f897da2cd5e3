#pragma once
// A flow runtime over the real rooms, for the runtime's tests: the real
// storage-sqlite plugin and database, the inbound pipeline and outbox of the
// messaging room (never started: outbound messages stay queued rows, which is
// what the tests read), a FlowLibrary and a FlowRuntime with a manual clock.
// One organization "org", one workspace "ws" (time zone from the options)
// and two sandbox profiles "p1" and "p2". Contacts are named by phone.
//
// restart() builds a new library and runtime on the same database, as a
// process restart would (flows installed with install() are installed again;
// a flows directory is read again).
//
// Threads: driven by the test's thread; say() may be called from several.
#include "core/event_bus.hpp"
#include "flows/execution_repository.hpp"
#include "flows/flow_library.hpp"
#include "flows/flow_runtime.hpp"
#include "messaging/messaging.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "support/store_test_host.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sb::test {

constexpr int64_t kT0 = 1'795'428'000'000;  // 2026-11-23T10:00:00Z, a Monday
constexpr const char* kWorkspace = "ws";

struct RuntimeHostOptions {
  std::string timezone = "UTC";
  bool watch_flows_dir = false;  // FlowRuntimeOptions::flows_dir = flows_dir()
  flows::EngineLimits limits;
  unsigned workers = 2;
  int max_event_depth = 4;
  size_t max_steps_kept = 500;
};

struct Inbound {
  std::string message_id;
  std::string conversation_id;
};

class RuntimeHost {
 public:
  explicit RuntimeHost(RuntimeHostOptions options = {});
  ~RuntimeHost();
  RuntimeHost(const RuntimeHost&) = delete;
  RuntimeHost& operator=(const RuntimeHost&) = delete;

  // Installs a flow (kind by the file name's extension); the test fails
  // when it does not validate. Remembered for restart().
  void install(const std::string& file_name, const std::string& text);
  // <dir>/flows: the runtime's flows directory (with watch_flows_dir).
  std::filesystem::path flows_dir() const;
  // Writes <flows_dir>/ws/<file_name> and moves its modification time
  // forward, so that a rescan sees the change even within one clock tick.
  void write_flow_file(const std::string& file_name, const std::string& text);

  void start();
  void stop();
  void restart();  // stop, then a new library and runtime on the same database, started

  // The contact `phone` sends `text` (through the inbound pipeline, as a
  // channel would). Returns when the message is stored and published; the
  // runtime handles it on its own threads.
  Inbound say(const std::string& phone, const std::string& text, const std::string& profile = "p1");
  // Waits until the runtime is idle (fails the test after 15 s).
  void settle();
  // Moves the manual clock forward by `ms`, has the runtime check its
  // deadlines and schedules, and settles.
  void advance(int64_t ms);
  void advance_to(int64_t at_ms);
  // Moves the manual clock only (for a stopped runtime).
  void set_clock(int64_t at_ms) { clock_->store(at_ms); }
  int64_t now() const { return clock_->load(); }

  // Texts of the outbound messages of the contact's conversations (every
  // profile), in the order they were enqueued.
  std::vector<std::string> sent_to(const std::string& phone);
  std::vector<std::string> sent_in(const std::string& conversation_id);
  int64_t outbound_count();
  bool handled(const std::string& message_id);
  std::optional<store::Contact> contact(const std::string& phone);
  std::optional<store::Conversation> conversation(const std::string& conversation_id);
  nlohmann::json tags(const std::string& phone);  // sorted
  // Executions of the workspace, newest first; "" = every flow / status.
  std::vector<flows::ExecutionRecord> executions(const std::string& flow_id = "", const std::string& status = "");
  // The only execution of `flow_id`; fails the test when there is not exactly one.
  flows::ExecutionRecord only_execution(const std::string& flow_id);

  flows::FlowRuntime& runtime() { return *runtime_; }
  flows::FlowLibrary& library() { return *library_; }
  store::Database& db() { return *db_; }
  EventBus& bus() { return bus_; }

 private:
  void build_runtime();

  RuntimeHostOptions options_;
  StoreTestHost store_;
  EventBus bus_;
  std::shared_ptr<std::atomic<int64_t>> clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<messaging::Messaging> messaging_;
  std::unique_ptr<flows::FlowLibrary> library_;
  std::unique_ptr<flows::FlowRuntime> runtime_;
  std::vector<std::pair<std::string, std::string>> installed_;
  std::atomic<uint64_t> inbound_count_{0};
};

// A Lua flow that sends `reply` to whatever starts it; `trigger` is a Lua
// table constructor: lua_reply_flow("menu", R"({type = "keyword", keywords = {"menu"}})", "the menu").
std::string lua_reply_flow(const std::string& id, const std::string& trigger, const std::string& reply);

// A graph document (switchboard.flow/1): `nodes` as [{id, type, config}]
// (typeVersion 1 unless given), the first one the start; `edges` as
// {"node.port", "to"}.
std::string graph_flow(const std::string& id, const nlohmann::json& trigger, nlohmann::json nodes,
                       const std::vector<std::pair<std::string, std::string>>& edges, int rev = 1);

}  // namespace sb::test
