#include "runtime_test_host.hpp"

#include "core/ids.hpp"
#include "flows/flow_document.hpp"
#include "store/message_repository.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

namespace sb::test {
namespace {

constexpr auto kSettleTimeout = std::chrono::seconds(15);

void seed(store::Database& db, const std::string& timezone) {
  db.write([&](store::Connection& c) {
    const int64_t now = now_ms();
    c.execute("INSERT INTO organizations (id, name, created_at) VALUES ('org', 'Org', ?)", {now});
    c.execute("INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES (?, 'org', 'WS', ?, ?)",
              {kWorkspace, timezone, now});
    for (const char* profile : {"p1", "p2"}) {
      c.execute(
          "INSERT INTO profiles (id, organization_id, workspace_id, name, channel_plugin, config_json, status, "
          "created_at, updated_at) VALUES (?, 'org', ?, ?, 'channel-sandbox', '{}', 'DISCONNECTED', ?, ?)",
          {profile, kWorkspace, profile, now, now});
    }
  });
}

}  // namespace

RuntimeHost::RuntimeHost(RuntimeHostOptions options)
    : options_(std::move(options)), clock_(std::make_shared<std::atomic<int64_t>>(kT0)) {
  db_ = store_.open();
  seed(*db_, options_.timezone);
  messaging_ = std::make_unique<messaging::Messaging>(store_.registry, *db_, bus_, store_.scheduler);
  build_runtime();
}

RuntimeHost::~RuntimeHost() {
  if (runtime_) runtime_->stop();
  runtime_.reset();
  library_.reset();
  messaging_.reset();
  db_.reset();
}

void RuntimeHost::build_runtime() {
  library_ = std::make_unique<flows::FlowLibrary>(*db_, flows::NodeCatalog::embedded());
  for (const auto& [file, text] : installed_) {
    const auto result = library_->install_source(kWorkspace, file, text);
    INFO(flows::format_problems(result.problems));
    REQUIRE(result.ok());
  }
  flows::FlowRuntimeOptions o;
  if (options_.watch_flows_dir) o.flows_dir = flows_dir();
  o.workers = options_.workers;
  o.http_threads = 2;
  o.limits = options_.limits;
  o.max_event_depth = options_.max_event_depth;
  o.max_steps_kept = options_.max_steps_kept;
  o.reload_interval = std::chrono::hours(1);  // tests rescan with reload()
  o.clock = [clock = clock_] { return clock->load(); };
  runtime_ = std::make_unique<flows::FlowRuntime>(*db_, bus_, messaging_->outbox(), *library_, o);
}

void RuntimeHost::install(const std::string& file_name, const std::string& text) {
  const auto result = library_->install_source(kWorkspace, file_name, text);
  INFO(file_name << ":\n" << flows::format_problems(result.problems));
  REQUIRE(result.ok());
  installed_.erase(std::remove_if(installed_.begin(), installed_.end(),
                                  [&](const auto& entry) { return entry.first == file_name; }),
                   installed_.end());
  installed_.emplace_back(file_name, text);
}

std::filesystem::path RuntimeHost::flows_dir() const { return store_.dir / "flows"; }

void RuntimeHost::write_flow_file(const std::string& file_name, const std::string& text) {
  const auto dir = flows_dir() / kWorkspace;
  std::filesystem::create_directories(dir);
  const auto path = dir / file_name;
  const bool existed = std::filesystem::exists(path);
  const auto before = existed ? std::filesystem::last_write_time(path) : std::filesystem::file_time_type{};
  std::ofstream(path, std::ios::trunc) << text;
  if (existed) std::filesystem::last_write_time(path, before + std::chrono::seconds(1));
}

void RuntimeHost::start() { runtime_->start(); }

void RuntimeHost::stop() { runtime_->stop(); }

void RuntimeHost::restart() {
  runtime_->stop();
  runtime_.reset();
  library_.reset();
  build_runtime();
  runtime_->start();
}

Inbound RuntimeHost::say(const std::string& phone, const std::string& text, const std::string& profile) {
  const nlohmann::json event = {{"external_id", "in-" + std::to_string(++inbound_count_)},
                                {"from", phone},
                                {"from_name", "Contact " + phone},
                                {"type", "text"},
                                {"text", text}};
  const auto stored = messaging_->inbound().receive_message("channel-sandbox", profile, event);
  return {stored.at("message_id").get<std::string>(), stored.at("conversation_id").get<std::string>()};
}

void RuntimeHost::settle() { REQUIRE(runtime_->wait_until_idle(kSettleTimeout)); }

void RuntimeHost::advance(int64_t ms) { advance_to(now() + ms); }

void RuntimeHost::advance_to(int64_t at_ms) {
  clock_->store(at_ms);
  REQUIRE(runtime_->check_timers(kSettleTimeout));
  settle();
}

std::vector<std::string> RuntimeHost::sent_in(const std::string& conversation_id) {
  return db_->read([&](store::Connection& c) {
    std::vector<std::string> out;
    for (const auto& row : c.query("SELECT m.text FROM outbox o JOIN messages m ON m.id = o.message_id "
                                   "WHERE o.conversation_id = ? ORDER BY o.seq",
                                   {conversation_id})) {
      out.push_back(row.text("text"));
    }
    return out;
  });
}

std::vector<std::string> RuntimeHost::sent_to(const std::string& phone) {
  return db_->read([&](store::Connection& c) {
    std::vector<std::string> out;
    for (const auto& row : c.query("SELECT m.text FROM outbox o JOIN messages m ON m.id = o.message_id "
                                   "JOIN contacts k ON k.id = m.contact_id WHERE k.phone = ? ORDER BY o.seq",
                                   {phone})) {
      out.push_back(row.text("text"));
    }
    return out;
  });
}

int64_t RuntimeHost::outbound_count() {
  return db_->read([](store::Connection& c) {
    return c.query_one("SELECT COUNT(*) AS n FROM messages WHERE direction = 'out'")->integer("n");
  });
}

bool RuntimeHost::handled(const std::string& message_id) {
  auto m = db_->read([&](store::Connection& c) { return store::messages::find(c, kWorkspace, message_id); });
  REQUIRE(m);
  return m->handled;
}

std::optional<store::Contact> RuntimeHost::contact(const std::string& phone) {
  return db_->read([&](store::Connection& c) { return store::contacts::find_by_phone(c, kWorkspace, phone); });
}

std::optional<store::Conversation> RuntimeHost::conversation(const std::string& conversation_id) {
  return db_->read([&](store::Connection& c) { return store::conversations::find(c, kWorkspace, conversation_id); });
}

nlohmann::json RuntimeHost::tags(const std::string& phone) {
  auto k = contact(phone);
  nlohmann::json tags = k && k->tags.is_array() ? k->tags : nlohmann::json::array();
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::vector<flows::ExecutionRecord> RuntimeHost::executions(const std::string& flow_id, const std::string& status) {
  return db_->read([&](store::Connection& c) { return flows::executions::list(c, kWorkspace, flow_id, status, 10'000); });
}

flows::ExecutionRecord RuntimeHost::only_execution(const std::string& flow_id) {
  auto all = executions(flow_id);
  INFO("executions of " << flow_id);
  REQUIRE(all.size() == 1);
  return all.front();
}

std::string lua_reply_flow(const std::string& id, const std::string& trigger, const std::string& reply) {
  return "return {\n  id = \"" + id + "\",\n  trigger = " + trigger +
         ",\n  main = function(ctx) ctx.send(\"" + reply + "\") end,\n}\n";
}

std::string graph_flow(const std::string& id, const nlohmann::json& trigger, nlohmann::json nodes,
                       const std::vector<std::pair<std::string, std::string>>& edges, int rev) {
  for (auto& n : nodes) {
    if (!n.contains("typeVersion")) n["typeVersion"] = 1;
    if (!n.contains("config")) n["config"] = nlohmann::json::object();
  }
  nlohmann::json doc = {{"schema", "switchboard.flow/1"}, {"id", id},       {"rev", rev},
                        {"name", id},                     {"trigger", trigger}, {"start", nodes.at(0).at("id")},
                        {"nodes", nodes},                 {"edges", nlohmann::json::array()}};
  int i = 0;
  for (const auto& [from, to] : edges) {
    const auto dot = from.find('.');
    doc["edges"].push_back({{"id", "e" + std::to_string(++i)},
                            {"from", {{"node", from.substr(0, dot)}, {"port", from.substr(dot + 1)}}},
                            {"to", {{"node", to}}}});
  }
  return doc.dump(2);
}

}  // namespace sb::test
