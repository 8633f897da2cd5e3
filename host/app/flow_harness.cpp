#include "app/flow_harness.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/cron.hpp"
#include "flows/flow_runtime.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/database.hpp"
#include "store/outbox_repository.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace sb::app {
namespace {

constexpr const char* kTenant = "harness";  // organization, workspace and profile id
constexpr const char* kChannel = "channel-sandbox";
constexpr auto kIdleTimeout = std::chrono::seconds(60);

std::filesystem::path make_data_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "switchboard-flow-XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    throw Error(ErrorCode::unavailable, "cannot create a temporary directory under " +
                                            std::filesystem::temp_directory_path().string());
  }
  return pattern;
}

void seed(store::Database& db, const std::string& timezone) {
  db.write([&](store::Connection& c) {
    const int64_t now = now_ms();
    c.execute("INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)", {kTenant, "Flow harness", now});
    c.execute("INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES (?, ?, ?, ?, ?)",
              {kTenant, kTenant, "Flow harness", timezone, now});
    // auto_pair: the session is CONNECTED at once, so sends go out without a QR step.
    c.execute(
        "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, config_json, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, '{\"auto_pair\": true}', 'DISCONNECTED', ?, ?)",
        {kTenant, kTenant, kTenant, "Flow harness sandbox number", kChannel, now, now});
  });
}

}  // namespace

FlowHarness::FlowHarness(FlowHarnessOptions options)
    : options_(std::move(options)), clock_ms_(std::make_shared<std::atomic<int64_t>>(0)) {
  if (!flows::is_valid_timezone(options_.timezone)) {
    throw Error(ErrorCode::invalid_argument, "unknown time zone \"" + options_.timezone + "\" (use an IANA name like Europe/Berlin)");
  }
  if (options_.manual_clock_start_ms) clock_ms_->store(*options_.manual_clock_start_ms);
  if (options_.plugin_paths.empty()) options_.plugin_paths = default_plugin_paths();
  data_dir_ = make_data_dir();
  try {
    ServiceRoomsOptions rooms;
    rooms.plugin_paths = options_.plugin_paths;
    rooms.required_plugins = {kChannel};
    rooms.storage = {{"path", (data_dir_ / "switchboard.db").string()}};
    rooms.db_readers = 2;
    rooms.seed = [timezone = options_.timezone](store::Database& db) { seed(db, timezone); };
    rooms.flows.workers = 2;
    rooms.flows.http_threads = 2;
    if (options_.manual_clock_start_ms) {
      rooms.flows.clock = [clock = clock_ms_] { return clock->load(); };
      rooms.flows.reload_interval = std::chrono::hours(24);  // no flows directory; advance() pokes the timers
    } else {
      rooms.flows.clock = [offset = clock_ms_] { return now_ms() + offset->load(); };
    }
    rooms_ = ServiceRooms::open(rooms);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    throw;
  }
}

FlowHarness::~FlowHarness() {
  if (rooms_) rooms_->stop();
  rooms_.reset();
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

flows::ParseResult FlowHarness::install(const std::string& file_name, std::string_view text) {
  return rooms_->library->install_source(kTenant, file_name, text);
}

void FlowHarness::start() {
  rooms_->start();
}

nlohmann::json FlowHarness::add_knowledge_base(const std::string& name, const std::vector<std::filesystem::path>& files,
                                               const nlohmann::json& settings) {
  auto& kb = *rooms_->knowledge;
  const auto base = kb.create(kTenant, kTenant, {{"name", name}, {"settings", settings}});
  std::vector<knowledge::DocumentUpload> uploads;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::invalid_argument, file.string() + ": cannot read the file");
    std::stringstream bytes;
    bytes << in.rdbuf();
    uploads.push_back({file.filename().string(), "", bytes.str()});
  }
  kb.add_files(kTenant, base.id, uploads, {});
  if (!kb.wait_until_idle(kIdleTimeout)) {
    throw Error(ErrorCode::timeout, "knowledge base " + name + ": the documents were not ingested in time");
  }
  int64_t chunks = 0;
  const auto docs = kb.documents(kTenant, base.id, std::nullopt, store::PageRequest{200, std::nullopt});
  for (const auto& d : docs.items) {
    if (d.status != "ready") {
      throw Error(ErrorCode::invalid_argument, d.name + ": " + d.error.value_or("not ingested (" + d.status + ")"));
    }
    chunks += d.chunk_count;
  }
  return {{"documents", docs.items.size()}, {"chunks", chunks}};
}

void FlowHarness::say(const std::string& text, const std::string& reply_id) {
  nlohmann::json event = {{"external_id", "harness-in-" + std::to_string(++inbound_count_)},
                          {"from", options_.contact_phone},
                          {"from_name", options_.contact_name},
                          {"type", "text"},
                          {"text", text}};
  if (!reply_id.empty()) event["reply_id"] = reply_id;
  // The real pipeline: stored, then message.received on the bus, which the
  // runtime takes from there exactly as in a served host.
  const auto stored = rooms_->messaging->inbound().receive_message(kChannel, kTenant, event);
  remember_conversation(stored.value("conversation_id", ""));
  settle();
}

void FlowHarness::start_manual(const std::string& flow_id) {
  auto& r = *rooms_;
  const std::string conversation_id = r.db->write([&](store::Connection& c) {
    const int64_t now = now_ms();
    store::ContactSighting seen{kTenant, kTenant, options_.contact_phone, options_.contact_name, std::nullopt};
    const auto contact = store::contacts::upsert_seen(c, seen, now).contact;
    return store::conversations::find_or_open(c, kTenant, kTenant, kTenant, contact.id, now).conversation.id;
  });
  remember_conversation(conversation_id);
  r.flows->start_flow(kTenant, flow_id, conversation_id);  // how it went shows in latest_execution()
  settle();
}

void FlowHarness::settle() {
  if (!rooms_->flows->wait_until_idle(kIdleTimeout)) {
    throw Error(ErrorCode::timeout, "the flow runtime was still busy after 60 s (a flow waiting on a slow HTTP call?)");
  }
}

std::vector<int64_t> FlowHarness::pending_deadlines() {
  auto rows = rooms_->db->read(
      [](store::Connection& c) { return flows::executions::list(c, kTenant, "", "waiting", 10'000); });
  std::vector<int64_t> out;
  for (const auto& e : rows) {
    if (e.deadline_at) out.push_back(*e.deadline_at);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlowHarness::set_clock(int64_t at) {
  if (options_.manual_clock_start_ms) {
    clock_ms_->store(at);
  } else {
    clock_ms_->store(at - now_ms());
  }
}

void FlowHarness::advance(int64_t ms) {
  if (ms < 0) throw Error(ErrorCode::invalid_argument, "the clock cannot move backwards");
  auto& runtime = *rooms_->flows;
  const int64_t target = now() + ms;
  // One deadline at a time, so that a wait armed by an earlier one (a delay
  // then an ask with a timeout) comes due at its own time within the jump.
  // A deadline the runtime has fired leaves the waiting set (its execution
  // resumed and moved on); the timer thread fires asynchronously, so look
  // until it has.
  const auto give_up = std::chrono::steady_clock::now() + kIdleTimeout;
  for (;;) {
    const auto deadlines = pending_deadlines();
    const int64_t current = now();
    const auto next = std::find_if(deadlines.begin(), deadlines.end(), [&](int64_t d) { return d <= target; });
    if (next == deadlines.end()) break;
    if (*next > current) set_clock(*next);
    runtime.check_timers(kIdleTimeout);
    settle();
    if (*next <= current && std::chrono::steady_clock::now() > give_up) {
      throw Error(ErrorCode::timeout, "a wait that came due was not resumed within 60 s");
    }
  }
  if (target > now()) set_clock(target);
  // Schedules (cron triggers) are not in the waiting set: one look at the
  // final time.
  runtime.check_timers(kIdleTimeout);
  settle();
}

void FlowHarness::remember_conversation(const std::string& conversation_id) {
  if (conversation_id.empty()) return;
  if (std::find(conversations_.begin(), conversations_.end(), conversation_id) == conversations_.end()) {
    conversations_.push_back(conversation_id);
  }
}

std::vector<store::Message> FlowHarness::take_outbound() {
  auto& r = *rooms_;
  // A flow may also have opened a conversation (a schedule or webhook run).
  const auto active = r.db->read([&](store::Connection& c) -> std::optional<std::string> {
    auto contact = store::contacts::find_by_phone(c, kTenant, options_.contact_phone);
    if (!contact) return std::nullopt;
    auto conversation = store::conversations::find_active(c, kTenant, contact->id);
    return conversation ? std::optional<std::string>(conversation->id) : std::nullopt;
  });
  if (active) remember_conversation(*active);

  std::vector<std::pair<int64_t, store::Message>> fresh;
  r.db->read([&](store::Connection& c) {
    constexpr int64_t kPage = 500;
    for (const auto& conversation_id : conversations_) {
      for (int64_t offset = 0;; offset += kPage) {
        auto page = store::messages::list_by_conversation(c, kTenant, conversation_id, kPage, offset);
        for (auto& m : page) {
          if (m.direction != "out" || taken_.count(m.id)) continue;
          // created_at ties within a millisecond are broken by a random id;
          // the outbox's seq is the order the flow sent them in.
          auto row = store::outbox::find_by_message(c, m.id);
          fresh.emplace_back(row ? row->seq : INT64_MAX, std::move(m));
        }
        if (static_cast<int64_t>(page.size()) < kPage) break;
      }
    }
  });
  std::stable_sort(fresh.begin(), fresh.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<store::Message> out;
  for (auto& [seq, m] : fresh) {
    taken_.insert(m.id);
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<flows::ExecutionRecord> FlowHarness::latest_execution() {
  auto rows = rooms_->db->read([](store::Connection& c) { return flows::executions::list(c, kTenant, "", "", 1); });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

nlohmann::json FlowHarness::contact_tags() {
  auto contact = rooms_->db->read(
      [&](store::Connection& c) { return store::contacts::find_by_phone(c, kTenant, options_.contact_phone); });
  nlohmann::json tags = contact && contact->tags.is_array() ? contact->tags : nlohmann::json::array();
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string FlowHarness::conversation_mode() {
  if (conversations_.empty()) return "";
  auto conversation = rooms_->db->read(
      [&](store::Connection& c) { return store::conversations::find(c, kTenant, conversations_.back()); });
  return conversation ? conversation->mode : "";
}

int64_t FlowHarness::now() const {
  return options_.manual_clock_start_ms ? clock_ms_->load() : now_ms() + clock_ms_->load();
}

const std::string& FlowHarness::workspace_id() const {
  static const std::string kWorkspace = kTenant;
  return kWorkspace;
}

// ---- Messages as the transcript shows them ---------------------------------------

namespace {

const nlohmann::json& interactive_of(const store::Message& m) {
  static const nlohmann::json kNone = nlohmann::json::object();
  if (m.payload.is_object() && m.payload.contains("interactive") && m.payload["interactive"].is_object()) {
    return m.payload["interactive"];
  }
  return kNone;
}

std::string string_at(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

std::string text_of(const store::Message& m) {
  if (m.text && !m.text->empty()) return *m.text;
  const auto& interactive = interactive_of(m);
  if (interactive.contains("body") && interactive["body"].is_string()) return interactive["body"].get<std::string>();
  if (interactive.contains("body")) return string_at(interactive["body"], "text");
  return string_at(m.payload, "caption");
}

std::vector<std::string> button_titles(const store::Message& m) {
  std::vector<std::string> out;
  const auto& interactive = interactive_of(m);
  // The host's shape (messaging/message_types.hpp) keeps them at the top;
  // the Cloud API's in "action".
  const auto& holder = interactive.contains("action") && interactive["action"].is_object() ? interactive["action"]
                                                                                             : interactive;
  if (!holder.is_object()) return out;
  const auto& buttons = holder.value("buttons", nlohmann::json::array());
  for (const auto& b : buttons) {
    out.push_back(b.contains("reply") ? string_at(b["reply"], "title") : string_at(b, "title"));
  }
  return out;
}

std::vector<std::string> row_titles(const store::Message& m) {
  std::vector<std::string> out;
  const auto& interactive = interactive_of(m);
  const auto& holder = interactive.contains("action") && interactive["action"].is_object() ? interactive["action"]
                                                                                             : interactive;
  if (!holder.is_object()) return out;
  for (const auto& section : holder.value("sections", nlohmann::json::array())) {
    for (const auto& row : section.value("rows", nlohmann::json::array())) out.push_back(string_at(row, "title"));
  }
  return out;
}

std::string describe_message(const store::Message& m) {
  std::string out;
  if (m.type == "text" || m.type == "interactive") {
    out = text_of(m);
  } else {
    const std::string url = string_at(m.payload, "url");
    out = "[" + m.type + (url.empty() ? "" : " " + url) + "]";
    const std::string text = text_of(m);
    if (!text.empty()) out += " " + text;
  }
  for (const auto& title : button_titles(m)) out += " [" + title + "]";
  const auto rows = row_titles(m);
  if (!rows.empty()) {
    const auto& interactive = interactive_of(m);
    out += " (list \"" + string_at(interactive.value("action", nlohmann::json::object()), "button") + "\":";
    for (size_t i = 0; i < rows.size(); ++i) out += (i ? " | " : " ") + rows[i];
    out += ")";
  }
  return out;
}

// ---- Times and durations --------------------------------------------------------

int64_t parse_iso8601_ms(const std::string& text) {
  auto bad = [&]() -> Error {
    return Error(ErrorCode::invalid_argument,
                 "\"" + text + "\" is not an ISO 8601 time (like 2026-11-23T10:00:00Z)");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 ||
      consumed != 19) {
    throw bad();
  }
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 60) throw bad();
  int64_t ms = duration_cast<milliseconds>(sys_days{date}.time_since_epoch()).count() +
               ((h * 60 + mi) * 60 + s) * int64_t{1000};
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    int64_t scale = 100;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      ms += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  const std::string zone = text.substr(i);
  if (zone == "Z" || zone == "z") return ms;
  int oh = 0, om = 0;
  if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') &&
      std::sscanf(zone.c_str() + 1, "%2d:%2d%n", &oh, &om, &consumed) == 2 && consumed == 5) {
    const int64_t offset = (oh * 60 + om) * int64_t{60'000};
    return zone[0] == '+' ? ms - offset : ms + offset;
  }
  throw bad();
}

int64_t parse_duration_ms(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used ? text.substr(used) : "";
  int64_t scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  if (used == 0 || scale == 0 || value < 0) {
    throw Error(ErrorCode::invalid_argument,
                "\"" + text + "\" is not a duration (like \"30s\", \"10m\", \"2h\", \"1d\" or a number of seconds)");
  }
  return static_cast<int64_t>(value * static_cast<double>(scale) + 0.5);
}

std::string format_duration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  const std::pair<int64_t, const char*> units[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

}  // namespace sb::app
