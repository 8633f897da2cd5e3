// Durable flow state over a real SQLite database: executions, revisions,
// the key-value store, schedules, and the changes flows make to contacts
// and conversations.
#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/execution_repository.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"
#include "support/error_code.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <tuple>

using sb::ErrorCode;
using sb::flows::ExecutionRecord;
using sb::store::Connection;
using sb::test::code_of;
using nlohmann::json;
namespace executions = sb::flows::executions;
namespace flow_effects = sb::flows::flow_effects;

namespace {

constexpr const char* kHash = "sha256:aaaa";

// Two tenants; the first with a profile, a contact and a conversation, and
// a stored revision of flow "welcome".
struct FlowStore {
  FlowStore() : db(host.open()) {
    db->write([&](Connection& c) {
      sb::store::tenancy::ensure_organization(c, {"org_a", "Agency A", 0}, 1);
      sb::store::tenancy::ensure_workspace(c, {"ws_a", "org_a", "Shop", "UTC", 0}, 1);
      sb::store::tenancy::ensure_organization(c, {"org_b", "Agency B", 0}, 1);
      sb::store::tenancy::ensure_workspace(c, {"ws_b", "org_b", "Other", "UTC", 0}, 1);
      sb::store::Profile p;
      p.organization_id = "org_a";
      p.workspace_id = "ws_a";
      p.name = "Support line";
      p.channel_plugin = "channel-sandbox";
      profile_id = sb::store::profiles::create(c, p, 1).id;
      contact_id = add_contact(c, "+15550000001");
      conversation_id =
          sb::store::conversations::find_or_open(c, "org_a", "ws_a", profile_id, contact_id, 1).conversation.id;
      save_revision(c, "ws_a", "welcome");
    });
  }

  std::string add_contact(Connection& c, const std::string& phone) {
    return sb::store::contacts::upsert_seen(c, {"org_a", "ws_a", phone, "", std::nullopt}, 1).contact.id;
  }

  static void save_revision(Connection& c, const std::string& workspace_id, const std::string& flow_id) {
    sb::flows::FlowRevision r;
    r.organization_id = workspace_id == "ws_a" ? "org_a" : "org_b";
    r.workspace_id = workspace_id;
    r.flow_id = flow_id;
    r.hash = kHash;
    r.rev = 3;
    r.kind = "graph";
    r.source = R"({"schema":"switchboard.flow/1"})";
    r.source_path = "flows/" + flow_id + ".json";
    r.created_at = 1;
    sb::flows::flow_revisions::save(c, r);
  }

  // A running execution of "welcome" in the conversation, created at `at`.
  ExecutionRecord execution(int64_t at, const std::string& flow_id = "welcome") const {
    ExecutionRecord e;
    e.id = sb::new_id("exe");
    e.organization_id = "org_a";
    e.workspace_id = "ws_a";
    e.flow_id = flow_id;
    e.flow_hash = kHash;
    e.flow_rev = 3;
    e.profile_id = profile_id;
    e.conversation_id = conversation_id;
    e.contact_id = contact_id;
    e.created_at = at;
    e.updated_at = at;
    return e;
  }

  ExecutionRecord waiting(int64_t at, const std::string& kind = "reply") const {
    ExecutionRecord e = execution(at);
    e.status = "waiting";
    e.wait_kind = kind;
    return e;
  }

  void insert(const ExecutionRecord& e) {
    db->write([&](Connection& c) { executions::insert(c, e); });
  }
  std::optional<ExecutionRecord> find(const std::string& workspace_id, const std::string& id) {
    return db->read([&](Connection& c) { return executions::find(c, workspace_id, id); });
  }
  sb::store::Contact contact(const std::string& id) {
    return *db->read([&](Connection& c) { return sb::store::contacts::find(c, "ws_a", id); });
  }
  sb::store::Conversation conversation(const std::string& id) {
    return *db->read([&](Connection& c) { return sb::store::conversations::find(c, "ws_a", id); });
  }

  sb::test::StoreTestHost host;
  std::unique_ptr<sb::store::Database> db;  // declared after host: closed before the plugins go
  std::string profile_id, contact_id, conversation_id;
};

std::vector<std::string> ids_of(const std::vector<ExecutionRecord>& list) {
  std::vector<std::string> out;
  for (const auto& e : list) out.push_back(e.id);
  return out;
}

}  // namespace

TEST_CASE("an execution round-trips every field, JSON nulls and empty arrays included", "[flows]") {
  FlowStore s;
  ExecutionRecord e = s.waiting(1000, "delay");
  e.deadline_at = 61000;
  e.state = {{"node", "ask_name"},
             {"vars", {{"nothing", nullptr}, {"empty", json::array()}, {"obj", json::object()}, {"n", 1.5}}},
             {"stack", json::array()}};
  e.trigger = {{"type", "keyword"}, {"message_id", "msg_1"}};
  e.steps = json::array({{{"node", "greet"}, {"port", "next"}, {"ms", 3}}});
  e.error = "not yet";
  e.version = 4;
  e.updated_at = 1500;
  e.finished_at = 2000;
  s.insert(e);

  auto read = s.find("ws_a", e.id);
  REQUIRE(read);
  CHECK(read->id == e.id);
  CHECK(read->organization_id == "org_a");
  CHECK(read->workspace_id == "ws_a");
  CHECK(read->flow_id == "welcome");
  CHECK(read->flow_hash == kHash);
  CHECK(read->flow_rev == 3);
  CHECK(read->profile_id == s.profile_id);
  CHECK(read->conversation_id == s.conversation_id);
  CHECK(read->contact_id == s.contact_id);
  CHECK(read->status == "waiting");
  CHECK(read->wait_kind == "delay");
  CHECK(read->deadline_at == 61000);
  CHECK(read->state == e.state);
  CHECK(read->state["vars"]["nothing"].is_null());
  CHECK(read->state["vars"]["empty"].is_array());
  CHECK(read->state["stack"].is_array());
  CHECK(read->state["vars"]["obj"].is_object());
  CHECK(read->trigger == e.trigger);
  CHECK(read->steps == e.steps);
  CHECK(read->error == "not yet");
  CHECK(read->version == 4);
  CHECK(read->created_at == 1000);
  CHECK(read->updated_at == 1500);
  CHECK(read->finished_at == 2000);
}

TEST_CASE("an execution without conversation, wait or error reads back with those absent", "[flows]") {
  FlowStore s;
  ExecutionRecord e = s.execution(1000);
  e.profile_id.reset();
  e.conversation_id.reset();
  e.contact_id.reset();
  s.insert(e);

  auto read = s.find("ws_a", e.id);
  REQUIRE(read);
  CHECK_FALSE(read->profile_id);
  CHECK_FALSE(read->conversation_id);
  CHECK_FALSE(read->contact_id);
  CHECK_FALSE(read->wait_kind);
  CHECK_FALSE(read->deadline_at);
  CHECK_FALSE(read->error);
  CHECK_FALSE(read->finished_at);
  CHECK(read->state == json::object());
  CHECK(read->steps == json::array());
}

TEST_CASE("to_json gives the API shape: times in ms, the wait as an object or null", "[flows]") {
  FlowStore s;
  ExecutionRecord e = s.waiting(1000);
  e.deadline_at = 5000;
  json j = sb::flows::to_json(e);
  CHECK(j["id"] == e.id);
  CHECK(j["flow_id"] == "welcome");
  CHECK(j["flow_rev"] == 3);
  CHECK(j["flow_hash"] == kHash);
  CHECK(j["profile_id"] == s.profile_id);
  CHECK(j["conversation_id"] == s.conversation_id);
  CHECK(j["contact_id"] == s.contact_id);
  CHECK(j["status"] == "waiting");
  CHECK(j["wait"] == json{{"kind", "reply"}, {"deadline_at", 5000}});
  CHECK(j["state"] == json::object());
  CHECK(j["trigger"] == json::object());
  CHECK(j["steps"] == json::array());
  CHECK(j["error"].is_null());
  CHECK(j["created_at"] == 1000);
  CHECK(j["updated_at"] == 1000);
  CHECK(j["finished_at"].is_null());

  e.wait_kind = std::nullopt;
  e.deadline_at = std::nullopt;
  e.status = "completed";
  e.finished_at = 7000;
  j = sb::flows::to_json(e);
  CHECK(j["wait"].is_null());
  CHECK(j["finished_at"] == 7000);
}

TEST_CASE("an update writes the mutable fields and bumps the version; a stale version is refused", "[flows]") {
  FlowStore s;
  ExecutionRecord e = s.waiting(1000);
  s.insert(e);

  ExecutionRecord next = e;
  next.status = "completed";
  next.wait_kind = std::nullopt;
  next.state = {{"vars", {{"name", "Ada"}}}};
  next.steps = json::array({{{"node", "end"}}});
  next.error = "boom";
  next.updated_at = 3000;
  next.finished_at = 3000;
  CHECK(s.db->write([&](Connection& c) { return executions::update(c, next, 0); }));

  auto read = s.find("ws_a", e.id);
  REQUIRE(read);
  CHECK(read->version == 1);
  CHECK(read->status == "completed");
  CHECK_FALSE(read->wait_kind);
  CHECK(read->state == next.state);
  CHECK(read->steps == next.steps);
  CHECK(read->error == "boom");
  CHECK(read->updated_at == 3000);
  CHECK(read->finished_at == 3000);

  // A second writer that read version 0 loses, and writes nothing.
  ExecutionRecord stale = e;
  stale.status = "failed";
  CHECK_FALSE(s.db->write([&](Connection& c) { return executions::update(c, stale, 0); }));
  CHECK(s.find("ws_a", e.id)->status == "completed");

  CHECK(code_of([&] {
          ExecutionRecord bad = *read;
          bad.status = "sleeping";
          s.db->write([&](Connection& c) { executions::update(c, bad, 1); });
        }) == ErrorCode::invalid_argument);
}

TEST_CASE("find_waiting_reply finds only the execution of that conversation waiting for a reply", "[flows]") {
  FlowStore s;
  std::string other_conversation = s.db->write([&](Connection& c) {
    auto contact = s.add_contact(c, "+15550000002");
    return sb::store::conversations::find_or_open(c, "org_a", "ws_a", s.profile_id, contact, 1).conversation.id;
  });

  ExecutionRecord delaying = s.waiting(1000, "delay");
  ExecutionRecord running = s.execution(1100);
  ExecutionRecord elsewhere = s.waiting(1200);
  elsewhere.conversation_id = other_conversation;
  for (const auto& e : {delaying, running, elsewhere}) s.insert(e);

  auto none = s.db->read([&](Connection& c) { return executions::find_waiting_reply(c, s.conversation_id); });
  CHECK_FALSE(none);

  ExecutionRecord asking = s.waiting(1300);
  s.insert(asking);
  auto found = s.db->read([&](Connection& c) { return executions::find_waiting_reply(c, s.conversation_id); });
  REQUIRE(found);
  CHECK(found->id == asking.id);

  // Against the rules, a newer one waits too: the most recent wins.
  ExecutionRecord newer = s.waiting(1400);
  s.insert(newer);
  found = s.db->read([&](Connection& c) { return executions::find_waiting_reply(c, s.conversation_id); });
  REQUIRE(found);
  CHECK(found->id == newer.id);
}

TEST_CASE("list_waiting pages through the waiting executions of every workspace, oldest first", "[flows]") {
  FlowStore s;
  s.db->write([&](Connection& c) { FlowStore::save_revision(c, "ws_b", "nightly"); });
  std::vector<ExecutionRecord> expected;
  for (int i = 0; i < 5; ++i) {
    ExecutionRecord e = s.waiting(1000 + (i / 2) * 100, i % 2 ? "delay" : "reply");  // pairs share created_at
    s.insert(e);
    expected.push_back(e);
  }
  ExecutionRecord theirs = s.waiting(1050, "http");
  theirs.organization_id = "org_b";
  theirs.workspace_id = "ws_b";
  theirs.flow_id = "nightly";
  theirs.profile_id.reset();
  theirs.conversation_id.reset();
  theirs.contact_id.reset();
  s.insert(theirs);
  expected.push_back(theirs);
  std::sort(expected.begin(), expected.end(), [](const ExecutionRecord& a, const ExecutionRecord& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });
  s.insert(s.execution(900));  // running: not listed
  ExecutionRecord done = s.execution(950);
  done.status = "completed";
  done.finished_at = 960;
  s.insert(done);

  std::vector<std::string> seen;
  int pages = 0;
  int64_t after_at = 0;
  std::string after_id;
  for (;;) {
    auto page = s.db->read([&](Connection& c) { return executions::list_waiting(c, 2, after_at, after_id); });
    if (page.empty()) break;
    ++pages;
    for (const auto& e : page) seen.push_back(e.id);
    after_at = page.back().created_at;
    after_id = page.back().id;
  }
  CHECK(pages == 3);
  CHECK(seen == ids_of(expected));
}

TEST_CASE("list and count filter a workspace's executions by flow and status, newest first", "[flows]") {
  FlowStore s;
  s.db->write([&](Connection& c) { FlowStore::save_revision(c, "ws_a", "survey"); });
  ExecutionRecord a = s.execution(1000);
  ExecutionRecord b = s.waiting(2000);
  ExecutionRecord c = s.execution(3000, "survey");
  for (const auto& e : {a, b, c}) s.insert(e);

  auto all = s.db->read([&](Connection& conn) { return executions::list(conn, "ws_a", "", ""); });
  CHECK(ids_of(all) == std::vector<std::string>{c.id, b.id, a.id});
  auto welcome = s.db->read([&](Connection& conn) { return executions::list(conn, "ws_a", "welcome", ""); });
  CHECK(ids_of(welcome) == std::vector<std::string>{b.id, a.id});
  auto running = s.db->read([&](Connection& conn) { return executions::list(conn, "ws_a", "", "running"); });
  CHECK(ids_of(running) == std::vector<std::string>{c.id, a.id});
  auto both = s.db->read([&](Connection& conn) { return executions::list(conn, "ws_a", "welcome", "running"); });
  CHECK(ids_of(both) == std::vector<std::string>{a.id});
  auto first = s.db->read([&](Connection& conn) { return executions::list(conn, "ws_a", "", "", 1); });
  CHECK(ids_of(first) == std::vector<std::string>{c.id});

  CHECK(s.db->read([&](Connection& conn) { return executions::count_by_status(conn, "ws_a", "running"); }) == 2);
  CHECK(s.db->read([&](Connection& conn) { return executions::count_by_status(conn, "ws_a", "waiting"); }) == 1);
  CHECK(s.db->read([&](Connection& conn) { return executions::count_by_status(conn, "ws_a", "failed"); }) == 0);
}

TEST_CASE("an execution is invisible to another workspace", "[flows]") {
  FlowStore s;
  ExecutionRecord e = s.waiting(1000);
  s.insert(e);

  CHECK_FALSE(s.find("ws_b", e.id));
  CHECK(s.db->read([&](Connection& c) { return executions::list(c, "ws_b", "", ""); }).empty());
  CHECK(s.db->read([&](Connection& c) { return executions::count_by_status(c, "ws_b", "waiting"); }) == 0);

  ExecutionRecord intruder = e;
  intruder.workspace_id = "ws_b";
  intruder.status = "cancelled";
  CHECK_FALSE(s.db->write([&](Connection& c) { return executions::update(c, intruder, 0); }));
  CHECK(s.find("ws_a", e.id)->status == "waiting");
  CHECK_FALSE(s.find("ws_a", "exe_missing"));
}

TEST_CASE("purge deletes executions finished before the cut-off, oldest first, up to the limit", "[flows]") {
  FlowStore s;
  std::vector<std::string> finished;
  for (int i = 0; i < 3; ++i) {
    ExecutionRecord e = s.execution(100);
    e.status = "completed";
    e.finished_at = 1000 + i;
    s.insert(e);
    finished.push_back(e.id);
  }
  ExecutionRecord recent = s.execution(100);
  recent.status = "failed";
  recent.finished_at = 5000;
  ExecutionRecord waiting = s.waiting(100);
  for (const auto& e : {recent, waiting}) s.insert(e);

  CHECK(s.db->write([&](Connection& c) { return executions::purge_finished_before(c, 2000, 2); }) == 2);
  CHECK_FALSE(s.find("ws_a", finished[0]));
  CHECK_FALSE(s.find("ws_a", finished[1]));
  CHECK(s.find("ws_a", finished[2]));
  CHECK(s.db->write([&](Connection& c) { return executions::purge_finished_before(c, 2000); }) == 1);
  CHECK(s.db->write([&](Connection& c) { return executions::purge_finished_before(c, 2000); }) == 0);
  CHECK(s.find("ws_a", recent.id));
  CHECK(s.find("ws_a", waiting.id));
}

TEST_CASE("a revision is stored once per hash and an execution needs its revision stored", "[flows]") {
  FlowStore s;
  auto read = s.db->read([&](Connection& c) { return sb::flows::flow_revisions::find(c, "ws_a", "welcome", kHash); });
  REQUIRE(read);
  CHECK(read->organization_id == "org_a");
  CHECK(read->rev == 3);
  CHECK(read->kind == "graph");
  CHECK(read->source == R"({"schema":"switchboard.flow/1"})");
  CHECK(read->source_path == "flows/welcome.json");
  CHECK(read->created_at == 1);

  CHECK_NOTHROW(s.db->write([&](Connection& c) { FlowStore::save_revision(c, "ws_a", "welcome"); }));
  CHECK_FALSE(s.db->read([&](Connection& c) { return sb::flows::flow_revisions::find(c, "ws_b", "welcome", kHash); }));
  CHECK_FALSE(
      s.db->read([&](Connection& c) { return sb::flows::flow_revisions::find(c, "ws_a", "welcome", "sha256:bbbb"); }));

  ExecutionRecord orphan = s.execution(1000, "never-saved");
  CHECK(code_of([&] { s.insert(orphan); }) == ErrorCode::invalid_argument);
}

TEST_CASE("the key-value store gets, sets, overwrites and removes JSON values per workspace", "[flows]") {
  FlowStore s;
  namespace kv = sb::flows::flow_kv;
  auto get = [&](const std::string& ws, const std::string& key) {
    return s.db->read([&](Connection& c) { return kv::get(c, ws, key); });
  };
  CHECK_FALSE(get("ws_a", "counter"));

  s.db->write([&](Connection& c) { kv::set(c, "org_a", "ws_a", "counter", 1, 10); });
  s.db->write([&](Connection& c) { kv::set(c, "org_a", "ws_a", "list", json::array(), 10); });
  s.db->write([&](Connection& c) { kv::set(c, "org_a", "ws_a", "nothing", nullptr, 10); });
  CHECK(get("ws_a", "counter") == json(1));
  CHECK(get("ws_a", "list") == json::array());
  REQUIRE(get("ws_a", "nothing"));
  CHECK(get("ws_a", "nothing")->is_null());
  CHECK_FALSE(get("ws_b", "counter"));

  s.db->write([&](Connection& c) { kv::set(c, "org_a", "ws_a", "counter", json{{"n", 2}}, 20); });
  CHECK(get("ws_a", "counter") == json{{"n", 2}});

  s.db->write([&](Connection& c) { kv::remove(c, "ws_a", "counter"); });
  CHECK_FALSE(get("ws_a", "counter"));
  CHECK_NOTHROW(s.db->write([&](Connection& c) { kv::remove(c, "ws_a", "counter"); }));
}

TEST_CASE("schedules remember when each flow's trigger fires next", "[flows]") {
  FlowStore s;
  namespace schedules = sb::flows::flow_schedules;
  auto next = [&](const std::string& ws, const std::string& flow) {
    return s.db->read([&](Connection& c) { return schedules::next_at(c, ws, flow); });
  };
  CHECK_FALSE(next("ws_a", "nightly"));

  s.db->write([&](Connection& c) { schedules::set_next_at(c, "ws_a", "nightly", "0 3 * * *", 86400000, 1); });
  CHECK(next("ws_a", "nightly") == 86400000);
  s.db->write([&](Connection& c) { schedules::set_next_at(c, "ws_a", "nightly", "0 4 * * *", 90000000, 2); });
  CHECK(next("ws_a", "nightly") == 90000000);
  CHECK_FALSE(next("ws_b", "nightly"));
  CHECK_FALSE(next("ws_a", "other"));

  auto org = s.db->read([](Connection& c) {
    return c.query_one("SELECT organization_id, cron FROM flow_schedules WHERE workspace_id = 'ws_a'");
  });
  REQUIRE(org);
  CHECK(org->text("organization_id") == "org_a");
  CHECK(org->text("cron") == "0 4 * * *");

  CHECK(code_of([&] {
          s.db->write([&](Connection& c) { schedules::set_next_at(c, "ws_missing", "nightly", "* * * * *", 1, 1); });
        }) == ErrorCode::not_found);
}

TEST_CASE("tags are added and removed idempotently, kept sorted and unique", "[flows]") {
  FlowStore s;
  auto add = [&](const std::string& tag, int64_t now) {
    return s.db->write([&](Connection& c) { return flow_effects::add_tag(c, "ws_a", s.contact_id, tag, now); });
  };
  auto remove = [&](const std::string& tag, int64_t now) {
    return s.db->write([&](Connection& c) { return flow_effects::remove_tag(c, "ws_a", s.contact_id, tag, now); });
  };

  CHECK(add("vip", 100));
  CHECK(add("lead", 200));
  CHECK(add("newsletter", 300));
  CHECK(s.contact(s.contact_id).tags == json::array({"lead", "newsletter", "vip"}));
  CHECK(s.contact(s.contact_id).updated_at == 300);

  CHECK_FALSE(add("vip", 400));
  CHECK(s.contact(s.contact_id).tags == json::array({"lead", "newsletter", "vip"}));
  CHECK(s.contact(s.contact_id).updated_at == 300);  // nothing changed, nothing written

  CHECK(remove("newsletter", 500));
  CHECK_FALSE(remove("newsletter", 600));
  CHECK_FALSE(remove("never", 600));
  CHECK(s.contact(s.contact_id).tags == json::array({"lead", "vip"}));
  CHECK(s.contact(s.contact_id).updated_at == 500);

  CHECK(code_of([&] { add("", 700); }) == ErrorCode::invalid_argument);
}

TEST_CASE("contacts_with_tag pages through the workspace's contacts carrying the tag", "[flows]") {
  FlowStore s;
  std::vector<std::string> tagged;
  s.db->write([&](Connection& c) {
    for (int i = 2; i <= 6; ++i) {
      std::string id = s.add_contact(c, "+1555000000" + std::to_string(i));
      flow_effects::add_tag(c, "ws_a", id, i % 2 ? "odd" : "even", 1);
      if (i % 2 == 0) tagged.push_back(id);
    }
    flow_effects::add_tag(c, "ws_a", s.contact_id, "evening", 1);  // not "even"
  });
  std::sort(tagged.begin(), tagged.end());

  auto page = [&](const std::string& after) {
    return s.db->read([&](Connection& c) { return flow_effects::contacts_with_tag(c, "ws_a", "even", 2, after); });
  };
  auto first = page("");
  REQUIRE(first.size() == 2);
  auto second = page(first.back());
  CHECK(second.size() == 1);
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == tagged);
  CHECK(page(first.back()).empty());
  CHECK(s.db->read([&](Connection& c) { return flow_effects::contacts_with_tag(c, "ws_b", "even", 10); }).empty());
}

TEST_CASE("set_mode hands a conversation over and back, returning the previous mode", "[flows]") {
  FlowStore s;
  auto set_mode = [&](const std::string& mode, int64_t now) {
    return s.db->write(
        [&](Connection& c) { return flow_effects::set_mode(c, "ws_a", s.conversation_id, mode, now); });
  };
  CHECK(set_mode("human", 100) == "bot");
  CHECK(s.conversation(s.conversation_id).mode == "human");
  CHECK(s.conversation(s.conversation_id).updated_at == 100);
  CHECK(set_mode("human", 200) == "human");
  CHECK(set_mode("bot", 300) == "human");
  CHECK(s.conversation(s.conversation_id).mode == "bot");
  CHECK(code_of([&] { set_mode("robot", 400); }) == ErrorCode::invalid_argument);
  CHECK(s.conversation(s.conversation_id).mode == "bot");
}

TEST_CASE("set_status resolves and reopens, unless another conversation took over", "[flows]") {
  FlowStore s;
  auto set_status = [&](const std::string& id, const std::string& status) {
    s.db->write([&](Connection& c) { flow_effects::set_status(c, "ws_a", id, status, 100); });
  };
  set_status(s.conversation_id, "pending");
  CHECK(s.conversation(s.conversation_id).status == "pending");
  set_status(s.conversation_id, "resolved");
  CHECK(s.conversation(s.conversation_id).status == "resolved");
  set_status(s.conversation_id, "open");
  CHECK(s.conversation(s.conversation_id).status == "open");
  CHECK(code_of([&] { set_status(s.conversation_id, "closed"); }) == ErrorCode::invalid_argument);

  // Once resolved, the contact's next message opens a new conversation; the
  // old one cannot become active beside it.
  set_status(s.conversation_id, "resolved");
  std::string newer = s.db->write([&](Connection& c) {
    return sb::store::conversations::find_or_open(c, "org_a", "ws_a", s.profile_id, s.contact_id, 200)
        .conversation.id;
  });
  CHECK(newer != s.conversation_id);
  CHECK(code_of([&] { set_status(s.conversation_id, "open"); }) == ErrorCode::conflict);
  CHECK(s.conversation(s.conversation_id).status == "resolved");
}

TEST_CASE("flow effects answer not_found for unknown ids and for ids of another workspace", "[flows]") {
  FlowStore s;
  auto in_b = [&](auto fn) { return code_of([&] { s.db->write([&](Connection& c) { fn(c); }); }); };
  CHECK(in_b([&](Connection& c) { flow_effects::add_tag(c, "ws_a", "ct_missing", "vip", 1); }) ==
        ErrorCode::not_found);
  CHECK(in_b([&](Connection& c) { flow_effects::add_tag(c, "ws_b", s.contact_id, "vip", 1); }) ==
        ErrorCode::not_found);
  CHECK(in_b([&](Connection& c) { flow_effects::remove_tag(c, "ws_b", s.contact_id, "vip", 1); }) ==
        ErrorCode::not_found);
  CHECK(in_b([&](Connection& c) { flow_effects::set_mode(c, "ws_b", s.conversation_id, "human", 1); }) ==
        ErrorCode::not_found);
  CHECK(in_b([&](Connection& c) { flow_effects::set_status(c, "ws_a", "conv_missing", "resolved", 1); }) ==
        ErrorCode::not_found);
  CHECK(s.contact(s.contact_id).tags == json::array());
  CHECK(s.conversation(s.conversation_id).mode == "bot");
}
