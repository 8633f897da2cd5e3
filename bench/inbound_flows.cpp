#include "inbound_flows.hpp"

#include "app/application.hpp"
#include "flows/embedded_files.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace bench {
namespace {

// Takes every message and sends nothing: what running a flow costs the
// inbound path apart from the replies it sends.
constexpr const char* kSilentFlow = R"({
  "schema": "switchboard.flow/1",
  "id": "silent",
  "rev": 1,
  "name": "Silent",
  "trigger": {"type": "message"},
  "start": "remember",
  "nodes": [
    {"id": "remember", "type": "set", "typeVersion": 1, "name": "Remember the text",
     "config": {"variable": "last_text", "value": "{{message.text}}"}}
  ],
  "edges": []
}
)";

// The welcome menu as the host embeds it (examples/flows/welcome-menu.flow.json).
std::string welcome_flow() {
  for (const auto& file : sb::flows::embedded_flow_files()) {
    if (file.path == "../examples/flows/welcome-menu.flow.json") return std::string(file.content);
  }
  throw std::runtime_error("the welcome menu flow is not embedded in this build");
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DatabasePtr = std::unique_ptr<sqlite3, CloseDatabase>;

// Runs `sql` and calls `row(statement)` for every row.
template <typename RowFn>
void query(sqlite3* db, const char* sql, RowFn row) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("reading the host's database: ") + sqlite3_errmsg(db));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> statement(raw, sqlite3_finalize);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) row(raw);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("reading the host's database: ") + sqlite3_errmsg(db));
}

int64_t single(sqlite3* db, const char* sql) {
  int64_t value = 0;
  query(db, sql, [&](sqlite3_stmt* s) { value = sqlite3_column_int64(s, 0); });
  return value;
}

}  // namespace

std::optional<FlowsMode> parse_flows_mode(const std::string& text) {
  if (text == "demo") return FlowsMode::demo;
  if (text == "none") return FlowsMode::none;
  if (text == "ping") return FlowsMode::ping;
  if (text == "welcome") return FlowsMode::welcome;
  if (text == "silent") return FlowsMode::silent;
  return std::nullopt;
}

const char* to_string(FlowsMode mode) {
  switch (mode) {
    case FlowsMode::demo: return "demo";
    case FlowsMode::none: return "none";
    case FlowsMode::ping: return "ping";
    case FlowsMode::welcome: return "welcome";
    case FlowsMode::silent: return "silent";
  }
  return "?";
}

void prepare_demo_flows(const fs::path& data_dir, FlowsMode mode) {
  if (mode == FlowsMode::demo) return;
  // The host seeds the demo's flows only into a folder that does not exist;
  // an existing one (even empty) is taken as the operator's choice.
  const fs::path dir = data_dir / "flows" / "demo";
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw std::runtime_error("cannot create " + dir.string() + ": " + error.message());
  if (mode == FlowsMode::ping) write_file(dir / "ping.flow.json", std::string(sb::app::demo_ping_flow()));
  if (mode == FlowsMode::welcome) write_file(dir / "welcome-menu.flow.json", welcome_flow());
  if (mode == FlowsMode::silent) write_file(dir / "silent.flow.json", kSilentFlow);
}

std::string expected_reply(FlowsMode mode) {
  switch (mode) {
    case FlowsMode::demo:
    case FlowsMode::ping: return "pong";
    case FlowsMode::welcome: return "What can I do for you?";
    case FlowsMode::none:
    case FlowsMode::silent: return "";
  }
  return "";
}

DatabaseCounts read_counts(const fs::path& database) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(database.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DatabasePtr db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error("cannot open " + database.string() + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 5000);

  DatabaseCounts counts;
  query(raw, "SELECT direction, count(*), sum(handled = 0) FROM messages GROUP BY direction", [&](sqlite3_stmt* s) {
    const std::string direction = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    if (direction == "in") {
      counts.inbound = sqlite3_column_int64(s, 1);
      counts.unhandled = sqlite3_column_int64(s, 2);
    } else {
      counts.outbound = sqlite3_column_int64(s, 1);
    }
  });
  counts.replies_waiting = single(raw, "SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')");
  counts.last_sent_at = single(raw, "SELECT coalesce(max(updated_at), 0) FROM outbox WHERE state = 'sent'");
  query(raw, "SELECT status, count(*), max(updated_at) FROM flow_executions GROUP BY status", [&](sqlite3_stmt* s) {
    counts.executions[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = sqlite3_column_int64(s, 1);
    counts.last_execution_at = std::max<int64_t>(counts.last_execution_at, sqlite3_column_int64(s, 2));
  });
  return counts;
}

Drain wait_for_drain(const fs::path& database, std::chrono::milliseconds timeout, int64_t load_stopped_ms) {
  const auto begin = std::chrono::steady_clock::now();
  Drain drain;
  drain.load_stopped_ms = load_stopped_ms;
  for (;;) {
    drain.counts = read_counts(database);
    drain.waited_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    drain.drained = drain.counts.unhandled == 0 && drain.counts.replies_waiting == 0;
    if (drain.drained || std::chrono::steady_clock::now() - begin >= timeout) return drain;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

namespace {

std::optional<int64_t> after_load(const Drain& drain, int64_t at_ms) {
  if (at_ms <= 0) return std::nullopt;
  return at_ms - drain.load_stopped_ms;
}

std::string seconds_after_load(const Drain& drain, int64_t at_ms) {
  const auto ms = after_load(drain, at_ms);
  if (!ms) return "none";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", static_cast<double>(*ms) / 1000.0);
  return text;
}

}  // namespace

std::string describe(const Drain& drain) {
  const DatabaseCounts& c = drain.counts;
  std::string executions;
  for (const auto& [status, count] : c.executions) {
    executions += (executions.empty() ? "" : ", ") + status + " " + std::to_string(count);
  }
  char waited[32];
  std::snprintf(waited, sizeof waited, "%.1f s", drain.waited_seconds);
  std::string out;
  out += "stored inbound         " + std::to_string(c.inbound) + " (unhandled: " + std::to_string(c.unhandled) + ")\n";
  out += "replies                " + std::to_string(c.outbound) + " (still in the outbox: " +
         std::to_string(c.replies_waiting) + ")\n";
  out += "flow executions        " + (executions.empty() ? std::string("none") : executions) + "\n";
  out += "caught up              " + std::string(drain.drained ? "yes" : "NO") + " after waiting " + waited +
         "; last reply sent " + seconds_after_load(drain, c.last_sent_at) +
         " after the load stopped, last execution update " + seconds_after_load(drain, c.last_execution_at) + "\n";
  return out;
}

nlohmann::json to_json(const Drain& drain) {
  const DatabaseCounts& c = drain.counts;
  auto ms_or_null = [&](int64_t at_ms) {
    const auto ms = after_load(drain, at_ms);
    return ms ? nlohmann::json(*ms) : nlohmann::json(nullptr);
  };
  return {{"drained", drain.drained},
          {"waited_seconds", drain.waited_seconds},
          {"inbound", c.inbound},
          {"unhandled", c.unhandled},
          {"replies", c.outbound},
          {"replies_waiting", c.replies_waiting},
          {"executions", c.executions},
          {"last_reply_after_load_ms", ms_or_null(c.last_sent_at)},
          {"last_execution_after_load_ms", ms_or_null(c.last_execution_at)}};
}

}  // namespace bench
