#pragma once
// bench_inbound's flow side: which flows answer the benchmark's messages (the
// demo workspace's flows folder, prepared before the host starts), how the
// probe recognises their reply, and what the host's database says once the
// load has stopped (replies sent, executions, how long the flows lagged).
//
// Everything here runs on bench_inbound's main thread.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace bench {

// What <data_dir>/flows/demo/ holds when the host starts.
enum class FlowsMode {
  demo,     // nothing prepared: the host seeds the welcome menu and "ping"
  none,     // an empty folder: messages are stored and marked handled, no reply
  ping,     // only "ping": keyword "ping" (contains) -> send_text "pong"
  welcome,  // only the welcome menu: every message gets buttons (and a wait)
  silent,   // a flow that answers nothing: any message -> one set node; the
            // runtime's cost (read, engine, execution row) without replies
};

// "demo" | "none" | "ping" | "welcome" | "silent"; nullopt for anything else.
std::optional<FlowsMode> parse_flows_mode(const std::string& text);
const char* to_string(FlowsMode mode);

// Creates <data_dir>/flows/demo/ with the mode's flows (nothing for demo).
// Throws std::runtime_error when a file cannot be written.
void prepare_demo_flows(const std::filesystem::path& data_dir, FlowsMode mode);

// A text that the mode's reply to any "ping ..." message contains; empty for
// none (no reply is expected).
std::string expected_reply(FlowsMode mode);

// Counts read from the host's SQLite database (opened read-only; the host's
// WAL lets it keep writing meanwhile).
struct DatabaseCounts {
  int64_t inbound = 0;
  int64_t unhandled = 0;       // inbound the automations have not taken yet
  int64_t outbound = 0;
  int64_t replies_waiting = 0; // outbox rows pending or sending
  std::map<std::string, int64_t> executions;  // status -> count
  int64_t last_sent_at = 0;       // epoch ms of the newest outbox send (0: none)
  int64_t last_execution_at = 0;  // epoch ms of the newest execution update (0: none)
};
// Throws std::runtime_error when the database cannot be read.
DatabaseCounts read_counts(const std::filesystem::path& database);

// Polls read_counts() until every inbound message is handled and no reply
// waits in the outbox, or until `timeout`. Returns the last counts and
// whether the host drained; times are told relative to `load_stopped_ms`
// (epoch ms, the host's clock is the same system clock).
struct Drain {
  DatabaseCounts counts;
  bool drained = false;
  double waited_seconds = 0;
  int64_t load_stopped_ms = 0;
};
Drain wait_for_drain(const std::filesystem::path& database, std::chrono::milliseconds timeout,
                     int64_t load_stopped_ms);

// The drain as lines for the report, and as JSON for --json.
std::string describe(const Drain& drain);
nlohmann::json to_json(const Drain& drain);

}  // namespace bench
