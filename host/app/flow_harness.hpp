#pragma once
// A private, throw-away host for trying flows offline (`switchboard flow test`
// and `flow run`, docs/flows.md "Testing a flow offline"): a temporary data
// directory, the real plugins, database, messaging (outbox and the
// channel-sandbox session) and flow runtime, one workspace with one sandbox
// profile and one contact. Nothing of it outlives the object; the data
// directory is removed by the destructor.
//
//   FlowHarness harness(options);
//   harness.install("support.flow.json", text);  // problems, or empty
//   harness.start();
//   harness.say("hi");                           // returns once the flow is idle
//   for (auto& m : harness.take_outbound()) ...  // what the flow sent since
//
// Threads: a FlowHarness is driven by one thread (the CLI's); the rooms it
// owns run their own threads as they document.
#include "app/service_rooms.hpp"
#include "flows/execution_repository.hpp"
#include "flows/flow_document.hpp"
#include "store/message_repository.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sb::app {

struct FlowHarnessOptions {
  std::vector<std::filesystem::path> plugin_paths;  // empty: default_plugin_paths()
  std::string timezone = "UTC";                     // the workspace's IANA time zone
  // The clock of executions. A manual clock starts here and moves only with
  // advance(); nullopt: the system clock, which advance() moves ahead too
  // (by an offset that stays).
  std::optional<int64_t> manual_clock_start_ms;
  std::string contact_phone = "+15550100001";  // E.164
  std::string contact_name = "Ada";
};

class FlowHarness {
 public:
  // Creates the data directory, loads the plugins, opens and seeds the
  // database (organization, workspace and profile "harness", the profile
  // bound to channel-sandbox). Throws sb::Error(unavailable) when a needed
  // plugin is missing, invalid_argument for a bad time zone.
  explicit FlowHarness(FlowHarnessOptions options);
  ~FlowHarness();  // stops everything, then removes the data directory
  FlowHarness(const FlowHarness&) = delete;
  FlowHarness& operator=(const FlowHarness&) = delete;

  // Validates `text` (kind by `file_name`'s extension) and, when valid,
  // makes it a current flow of the workspace (see FlowLibrary::
  // install_source). Call before start().
  flows::ParseResult install(const std::string& file_name, std::string_view text);

  // Starts the flow runtime and messaging.
  void start();

  // Creates the knowledge base `name` of the workspace (the local AI
  // provider, `settings` as its settings) and ingests `files` into it;
  // returns once every file is ready. Call after start(). Throws
  // sb::Error(invalid_argument) naming a file that cannot be read or used.
  // Returns {"documents", "chunks"}.
  nlohmann::json add_knowledge_base(const std::string& name, const std::vector<std::filesystem::path>& files,
                                    const nlohmann::json& settings = nlohmann::json::object());

  // The contact sends a text (`reply_id`: the button or list row it
  // answers); returns once the runtime has handled it and is idle again.
  void say(const std::string& text, const std::string& reply_id = "");
  // Starts `flow_id` now in the contact's conversation (opened when there
  // is none), as the `manual` trigger does; returns once idle.
  void start_manual(const std::string& flow_id);
  // Moves the clock forward by `ms`, stopping at every deadline of a
  // waiting execution on the way so that waits come due in their order;
  // returns once the runtime is idle.
  void advance(int64_t ms);
  // Waits until the runtime has nothing to do (timers may still be armed).
  void settle();

  // Outbound messages of the contact's conversations not returned before,
  // in the order they were enqueued.
  std::vector<store::Message> take_outbound();

  // The workspace's most recent execution, if any.
  std::optional<flows::ExecutionRecord> latest_execution();
  // The contact's tags (sorted), [] before the contact exists.
  nlohmann::json contact_tags();
  // The mode ("bot" | "human") of the contact's latest conversation; "" when none.
  std::string conversation_mode();

  int64_t now() const;
  const std::string& workspace_id() const;
  const std::filesystem::path& data_dir() const { return data_dir_; }

 private:
  void set_clock(int64_t at);
  void remember_conversation(const std::string& conversation_id);
  // Every deadline of a waiting execution of the workspace, ascending.
  std::vector<int64_t> pending_deadlines();

  FlowHarnessOptions options_;
  std::filesystem::path data_dir_;
  // The manual clock's time, or the system clock's offset; shared with the runtime.
  std::shared_ptr<std::atomic<int64_t>> clock_ms_;
  std::unique_ptr<ServiceRooms> rooms_;
  uint64_t inbound_count_ = 0;
  std::vector<std::string> conversations_;  // the contact's, in the order seen
  std::set<std::string> taken_;             // outbound message ids already returned
};

// One outbound message as the transcript shows it (without the "< bot: "):
// the text; buttons as "[Title]"; a list's button and rows; media as
// "[image URL] caption".
std::string describe_message(const store::Message& message);
// The text an `expect` compares: the text, an interactive message's body,
// or a media caption.
std::string text_of(const store::Message& message);
// Button titles / list row titles of an interactive message, in order.
std::vector<std::string> button_titles(const store::Message& message);
std::vector<std::string> row_titles(const store::Message& message);

// "2026-11-23T10:00:00Z" (or with ".123", or "+01:00") -> epoch ms.
// invalid_argument for anything else.
int64_t parse_iso8601_ms(const std::string& text);
// "30s", "10m", "2h", "1d", "90" (seconds) -> ms; invalid_argument otherwise.
int64_t parse_duration_ms(const std::string& text);
// 7'200'000 -> "2h", 90'000 -> "1m30s".
std::string format_duration(int64_t ms);

}  // namespace sb::app
