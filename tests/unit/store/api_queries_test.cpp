// The store-room queries the HTTP API stands on: keyset pages, filters,
// edits and deletes, each confined to its tenant. Over a real database.
#include "core/error.hpp"
#include "core/ids.hpp"
#include "flows/execution_repository.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"
#include "store/outbox_repository.hpp"
#include "store/page.hpp"
#include "store/plugin_state_store.hpp"
#include "store/profile_repository.hpp"
#include "store/tenancy_repository.hpp"
#include "support/error_code.hpp"
#include "support/store_test_host.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

using sb::ErrorCode;
using sb::test::code_of;
using sb::store::Connection;
using sb::store::Contact;
using sb::store::Conversation;
using sb::store::Cursor;
using sb::store::Message;
using sb::store::Page;
using sb::store::PageRequest;
using sb::store::Profile;

namespace {

namespace contacts = sb::store::contacts;
namespace conversations = sb::store::conversations;
namespace messages = sb::store::messages;
namespace profiles = sb::store::profiles;
namespace tenancy = sb::store::tenancy;
namespace executions = sb::flows::executions;

// Two tenants, A and B, each with an organization, a workspace and a
// sandbox profile ("prf_a", "prf_b").
struct Tenants {
  explicit Tenants(sb::store::Database& database) : db(database) {
    db.write([](Connection& c) {
      for (const char* t : {"a", "b"}) {
        const std::string org = std::string("org_") + t;
        const std::string ws = std::string("ws_") + t;
        tenancy::ensure_organization(c, {org, std::string("Agency ") + t, 1}, 1);
        tenancy::ensure_workspace(c, {ws, org, std::string("Shop ") + t, "UTC", 1}, 1);
        Profile p;
        p.id = std::string("prf_") + t;
        p.organization_id = org;
        p.workspace_id = ws;
        p.name = "Line";
        p.channel_plugin = "channel-sandbox";
        profiles::create(c, p, 1);
      }
    });
  }

  // A contact in workspace `t` ("a" | "b"), created at `at`.
  Contact contact(const std::string& t, const std::string& phone, int64_t at, const std::string& name = "",
                  nlohmann::json tags = nlohmann::json::array(), bool opted_out = false) {
    Contact ct;
    ct.organization_id = "org_" + t;
    ct.workspace_id = "ws_" + t;
    ct.phone = phone;
    ct.name = name;
    ct.tags = std::move(tags);
    ct.opted_out = opted_out;
    return db.write([&](Connection& c) { return contacts::create(c, ct, at); });
  }

  // The active conversation of (profile, contact), opened at `at`.
  Conversation conversation(const std::string& profile_id, const Contact& ct, int64_t at) {
    return db.write([&](Connection& c) {
      return conversations::find_or_open(c, ct.organization_id, ct.workspace_id, profile_id, ct.id, at).conversation;
    });
  }

  Message message(const Conversation& conv, const std::string& direction, int64_t at,
                  const std::string& status = "") {
    Message m = sb::store::new_message(conv, direction, status.empty() ? (direction == "in" ? "received" : "queued")
                                                                         : status, at);
    if (direction == "in") m.external_id = "wamid." + m.id;
    db.write([&](Connection& c) {
      messages::insert(c, m);
      conversations::touch(c, conv.id, at);
    });
    return m;
  }

  sb::store::Database& db;
};

// Every item of every page, following `next` from the first page; checks
// that no page holds more than `limit` items and that only the last one
// has no `next`.
template <class T>
std::vector<T> walk(int64_t limit, const std::function<Page<T>(const PageRequest&)>& fetch) {
  std::vector<T> out;
  PageRequest request;
  request.limit = limit;
  for (int pages = 0; pages < 1000; ++pages) {
    Page<T> page = fetch(request);
    CHECK(static_cast<int64_t>(page.items.size()) <= limit);
    out.insert(out.end(), page.items.begin(), page.items.end());
    if (!page.next) return out;
    CHECK(static_cast<int64_t>(page.items.size()) == limit);
    request.after = page.next;
  }
  FAIL("the pages never ended");
  return out;
}

template <class T>
std::vector<std::string> ids_of(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) out.push_back(item.id);
  return out;
}

// Ids sorted as every list sorts: (at, id) descending.
std::vector<std::string> newest_first(std::vector<std::pair<int64_t, std::string>> keys) {
  std::sort(keys.begin(), keys.end(), [](const auto& x, const auto& y) { return x > y; });
  std::vector<std::string> out;
  for (auto& k : keys) out.push_back(k.second);
  return out;
}

PageRequest first(int64_t limit = 50) {
  PageRequest r;
  r.limit = limit;
  return r;
}

std::string phone(int i) { return "+4930" + std::to_string(1000000 + i); }

// Row counts of every table of the schema.
std::map<std::string, int64_t> table_counts(sb::store::Database& db) {
  return db.read([](Connection& c) {
    std::map<std::string, int64_t> out;
    for (const auto& t : c.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
      const std::string name = t.text("name");
      out[name] = c.query_one("SELECT COUNT(*) AS n FROM \"" + name + "\"")->integer("n");
    }
    return out;
  });
}

void save_revision(Connection& c, const std::string& t, const std::string& flow_id) {
  sb::flows::FlowRevision r;
  r.organization_id = "org_" + t;
  r.workspace_id = "ws_" + t;
  r.flow_id = flow_id;
  r.hash = "h1";
  r.rev = 1;
  r.kind = "graph";
  r.source = "{}";
  sb::flows::flow_revisions::save(c, r);
}

sb::flows::ExecutionRecord execution(const std::string& t, const std::string& flow_id, int64_t at,
                                     const std::string& status = "completed") {
  sb::flows::ExecutionRecord e;
  e.id = sb::new_id("exe");
  e.organization_id = "org_" + t;
  e.workspace_id = "ws_" + t;
  e.flow_id = flow_id;
  e.flow_hash = "h1";
  e.flow_rev = 1;
  e.status = status;
  e.steps = nlohmann::json::array({{{"node", "start"}}});
  e.created_at = at;
  e.updated_at = at;
  return e;
}

}  // namespace

TEST_CASE("contact pages walk every contact exactly once, newest first, across ties in created_at",
          "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  std::vector<std::pair<int64_t, std::string>> keys;
  for (int i = 0; i < 23; ++i) {
    auto ct = tenants.contact("a", phone(i), 1000 + i / 5);  // five contacts share each time
    keys.emplace_back(ct.created_at, ct.id);
  }
  tenants.contact("b", phone(0), 1001);  // another tenant's row in the middle of the range
  const auto expected = newest_first(keys);

  for (int64_t limit : {1, 4, 5, 23, 50}) {
    INFO("limit " << limit);
    auto all = walk<Contact>(limit, [&](const PageRequest& r) {
      return db->read([&](Connection& c) { return contacts::search(c, "ws_a", {}, r); });
    });
    CHECK(ids_of(all) == expected);
  }
}

TEST_CASE("a page says there is a next one only when a row follows it", "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  for (int i = 0; i < 10; ++i) tenants.contact("a", phone(i), 1000);
  sb::store::ContactRepository repo(*db);

  auto page = repo.search("ws_a", {}, first(5));
  REQUIRE(page.items.size() == 5);
  REQUIRE(page.next);
  CHECK(page.next->at == page.items.back().created_at);
  CHECK(page.next->id == page.items.back().id);
  PageRequest second = first(5);
  second.after = page.next;
  auto last = repo.search("ws_a", {}, second);
  CHECK(last.items.size() == 5);
  CHECK_FALSE(last.next);  // exactly full, and nothing after it
  CHECK(repo.search("ws_a", {}, first(10)).next == std::nullopt);
  CHECK(repo.search("ws_b", {}, first(10)).items.empty());
}

TEST_CASE("a page limit outside 1..1000 is refused", "[store][api]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  sb::store::ContactRepository repo(*db);
  CHECK(code_of([&] { repo.search("ws_a", {}, first(0)); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { repo.search("ws_a", {}, first(1001)); }) == ErrorCode::invalid_argument);
  CHECK_NOTHROW(repo.search("ws_a", {}, first(1000)));
}

TEST_CASE("contact search filters by phone prefix, name, tag and opt-out, and combines them",
          "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto anna = tenants.contact("a", "+4930111", 10, "Anna Schmidt", nlohmann::json::array({"vip", "berlin"}));
  auto joanne = tenants.contact("a", "+4940222", 11, "JOANNE", nlohmann::json::array({"vip"}), true);
  auto bob = tenants.contact("a", "+15550333", 12, "Bob", nlohmann::json::array({"berlin"}));
  auto percent = tenants.contact("a", "+4930444", 13, "100% Ann_", nlohmann::json::array());
  tenants.contact("b", "+4930111", 14, "Anna in B", nlohmann::json::array({"vip"}));
  sb::store::ContactRepository repo(*db);
  auto ids = [&](const sb::store::ContactQuery& q) { return ids_of(repo.search("ws_a", q, first()).items); };

  sb::store::ContactQuery q;
  q.phone_prefix = "+4930";
  CHECK(ids(q) == std::vector<std::string>{percent.id, anna.id});
  q.phone_prefix = "+49_0";  // LIKE's wildcards are literal in a prefix
  CHECK(ids(q).empty());

  q = {};
  q.name_contains = "ann";
  CHECK(ids(q) == std::vector<std::string>{percent.id, joanne.id, anna.id});
  q.name_contains = "% Ann_";
  CHECK(ids(q) == std::vector<std::string>{percent.id});
  q.name_contains = "a_s";  // "_" is not "any character" (it would match "Anna Schmidt")
  CHECK(ids(q).empty());

  q = {};
  q.tag = "vip";
  CHECK(ids(q) == std::vector<std::string>{joanne.id, anna.id});
  q.tag = "vi";  // whole tags only
  CHECK(ids(q).empty());

  q = {};
  q.opted_out = true;
  CHECK(ids(q) == std::vector<std::string>{joanne.id});
  q.opted_out = false;
  CHECK(ids(q) == std::vector<std::string>{percent.id, bob.id, anna.id});

  q = {};
  q.tag = "berlin";
  q.phone_prefix = "+49";
  q.name_contains = "SCHMIDT";
  q.opted_out = false;
  CHECK(ids(q) == std::vector<std::string>{anna.id});
}

TEST_CASE("a contact is created once per phone in a workspace; a second one is a conflict naming the first",
          "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto first_contact = tenants.contact("a", "+4930111", 10, "Anna", nlohmann::json::array({"vip", "vip", "new"}));
  CHECK(first_contact.id.rfind("ct_", 0) == 0);
  CHECK(first_contact.tags == nlohmann::json::array({"vip", "new"}));
  CHECK(first_contact.created_at == 10);

  try {
    tenants.contact("a", "+4930111", 20, "Anna again");
    FAIL("a second contact with the same phone was created");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
    CHECK(std::string(e.what()).find("+4930111") != std::string::npos);
    CHECK(e.details()["contact_id"] == first_contact.id);
  }
  // The same phone in another workspace is another person's contact.
  CHECK_NOTHROW(tenants.contact("b", "+4930111", 20));
  CHECK(db->read([](Connection& c) { return contacts::count(c, "ws_a"); }) == 1);
}

TEST_CASE("a contact is refused without an E.164 phone, with malformed tags or metadata, or outside its organization",
          "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  sb::store::ContactRepository repo(*db);
  Contact ct;
  ct.organization_id = "org_a";
  ct.workspace_id = "ws_a";
  ct.phone = "4930111";
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::invalid_argument);
  ct.phone = "";
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::invalid_argument);
  ct.phone = "+4930111";
  ct.tags = nlohmann::json::array({"ok", 3});
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::invalid_argument);
  ct.tags = nlohmann::json::array({""});
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::invalid_argument);
  ct.tags = nlohmann::json::array();
  ct.metadata = nlohmann::json::array();
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::invalid_argument);
  ct.metadata = nlohmann::json::object();
  ct.organization_id = "org_b";  // ws_a is not org_b's
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::not_found);
  ct.organization_id = "org_a";
  ct.id = "ct_given";
  CHECK(repo.create(ct).id == "ct_given");
  ct.phone = "+4930999";
  CHECK(code_of([&] { repo.create(ct); }) == ErrorCode::conflict);  // the id is taken
  CHECK(db->read([](Connection& c) { return contacts::count(c, "ws_a"); }) == 1);
}

TEST_CASE("a contact patch changes only the fields it names", "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto ct = tenants.contact("a", "+4930111", 10, "Anna", nlohmann::json::array({"vip"}));
  auto update = [&](const sb::store::ContactPatch& patch, int64_t now) {
    return db->write([&](Connection& c) { return contacts::update(c, "ws_a", ct.id, patch, now); });
  };

  sb::store::ContactPatch patch;
  patch.email = std::optional<std::string>("anna@example.com");
  patch.metadata = nlohmann::json{{"plan", "gold"}};
  auto updated = update(patch, 20);
  REQUIRE(updated);
  CHECK(updated->email == "anna@example.com");
  CHECK(updated->metadata == nlohmann::json{{"plan", "gold"}});
  CHECK(updated->name == "Anna");
  CHECK(updated->tags == nlohmann::json::array({"vip"}));
  CHECK(updated->updated_at == 20);

  patch = {};
  patch.email = std::optional<std::string>();  // clears
  patch.tags = nlohmann::json::array({"a", "b", "a"});
  patch.name = "Anna S.";
  patch.opted_out = true;
  updated = update(patch, 30);
  REQUIRE(updated);
  CHECK_FALSE(updated->email);
  CHECK(updated->tags == nlohmann::json::array({"a", "b"}));
  CHECK(updated->opted_out);
  auto stored = db->read([&](Connection& c) { return contacts::find(c, "ws_a", ct.id); });
  REQUIRE(stored);
  CHECK(sb::store::to_json(*stored) == sb::store::to_json(*updated));

  auto unchanged = update({}, 40);
  REQUIRE(unchanged);
  CHECK(unchanged->updated_at == 30);

  patch = {};
  patch.tags = nlohmann::json{{"not", "an array"}};
  CHECK(code_of([&] { update(patch, 50); }) == ErrorCode::invalid_argument);
  patch = {};
  patch.metadata = "text";
  CHECK(code_of([&] { update(patch, 50); }) == ErrorCode::invalid_argument);
}

TEST_CASE("tags are added and removed as a set that keeps the order they came in", "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto ct = tenants.contact("a", "+4930111", 10, "Anna", nlohmann::json::array({"b", "a"}));
  sb::store::ContactRepository repo(*db);
  auto tags = [&] { return repo.find("ws_a", ct.id)->tags; };

  CHECK(repo.add_tags("ws_a", ct.id, {"c", "a", "d", "c"}));
  CHECK(tags() == nlohmann::json::array({"b", "a", "c", "d"}));
  CHECK(repo.remove_tags("ws_a", ct.id, {"a", "missing"}));
  CHECK(tags() == nlohmann::json::array({"b", "c", "d"}));

  // updated_at moves when the tags change ...
  const int64_t stamped = db->write([&](Connection& c) {
    contacts::add_tags(c, "ws_a", ct.id, {"x"}, 500);
    contacts::remove_tags(c, "ws_a", ct.id, {"x"}, 600);
    return contacts::find(c, "ws_a", ct.id)->updated_at;
  });
  CHECK(stamped == 600);
  // ... and not when there is nothing to change (still true: the contact exists).
  CHECK(db->write([&](Connection& c) { return contacts::add_tags(c, "ws_a", ct.id, {"b"}, 700); }));
  CHECK(db->write([&](Connection& c) { return contacts::remove_tags(c, "ws_a", ct.id, {"zz"}, 800); }));
  CHECK(repo.find("ws_a", ct.id)->updated_at == 600);

  CHECK(code_of([&] { repo.add_tags("ws_a", ct.id, {""}); }) == ErrorCode::invalid_argument);
  CHECK_FALSE(repo.add_tags("ws_a", "ct_missing", {"x"}));
}

TEST_CASE("a contact with conversations is kept; one without is deleted", "[store][api][contacts]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto talked = tenants.contact("a", "+4930111", 10);
  auto conv = tenants.conversation("prf_a", talked, 20);
  tenants.message(conv, "in", 21);
  auto silent = tenants.contact("a", "+4930222", 30);
  // A run that named the silent contact without a conversation.
  auto run = execution("a", "nightly", 40);
  run.contact_id = silent.id;
  db->write([&](Connection& c) {
    save_revision(c, "a", "nightly");
    executions::insert(c, run);
  });
  sb::store::ContactRepository repo(*db);

  try {
    repo.remove("ws_a", talked.id);
    FAIL("a contact with conversations was deleted");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
    CHECK(std::string(e.what()).find("the contact has conversations") == 0);
    CHECK(e.details()["conversation_id"] == conv.id);
  }
  CHECK(repo.find("ws_a", talked.id));

  CHECK(repo.remove("ws_a", silent.id));
  CHECK_FALSE(repo.find("ws_a", silent.id));
  auto kept_run = db->read([&](Connection& c) { return executions::find(c, "ws_a", run.id); });
  REQUIRE(kept_run);
  CHECK_FALSE(kept_run->contact_id);
  CHECK(kept_run->steps == run.steps);
  CHECK_FALSE(repo.remove("ws_a", silent.id));
  CHECK(db->read([](Connection& c) { return c.query("PRAGMA foreign_key_check"); }).empty());
}

TEST_CASE("conversation pages walk every conversation once by updated_at, and filter", "[store][api][conversations]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  db->write([](Connection& c) {
    Profile p;
    p.id = "prf_a2";
    p.organization_id = "org_a";
    p.workspace_id = "ws_a";
    p.name = "Second line";
    p.channel_plugin = "channel-sandbox";
    profiles::create(c, p, 1);
  });
  std::vector<Conversation> all;
  for (int i = 0; i < 12; ++i) {
    auto ct = tenants.contact("a", phone(i), 10);
    all.push_back(tenants.conversation(i % 3 == 0 ? "prf_a2" : "prf_a", ct, 100 + i / 4));  // ties by fours
  }
  auto other = tenants.conversation("prf_b", tenants.contact("b", phone(0), 10), 101);
  sb::store::ConversationRepository repo(*db);

  std::vector<std::pair<int64_t, std::string>> keys;
  for (const auto& cv : all) keys.emplace_back(cv.updated_at, cv.id);
  for (int64_t limit : {1, 3, 4, 7}) {
    INFO("limit " << limit);
    auto walked = walk<Conversation>(limit, [&](const PageRequest& r) { return repo.search("ws_a", {}, r); });
    CHECK(ids_of(walked) == newest_first(keys));
  }

  // Change some and filter.
  REQUIRE(repo.assign("ws_a", all[0].id, std::string("agent_1")));
  REQUIRE(repo.assign("ws_a", all[1].id, std::string("agent_2")));
  REQUIRE(repo.set_status("ws_a", all[1].id, "pending"));
  REQUIRE(repo.set_status("ws_a", all[2].id, "resolved"));
  REQUIRE(repo.set_mode("ws_a", all[2].id, "human"));
  auto ids = [&](const sb::store::ConversationQuery& q) {
    auto found = ids_of(repo.search("ws_a", q, first()).items);
    std::sort(found.begin(), found.end());
    return found;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  sb::store::ConversationQuery q;
  q.assignee = "agent_1";
  CHECK(ids(q) == sorted({all[0].id}));
  q.assignee = "";
  CHECK(ids(q).size() == 10);
  q = {};
  q.status = "pending";
  CHECK(ids(q) == sorted({all[1].id}));
  q.status = "open";
  CHECK(ids(q).size() == 10);
  q = {};
  q.mode = "human";
  CHECK(ids(q) == sorted({all[2].id}));
  q = {};
  q.profile_id = "prf_a2";
  CHECK(ids(q) == sorted({all[0].id, all[3].id, all[6].id, all[9].id}));
  q.contact_id = all[3].contact_id;
  CHECK(ids(q) == sorted({all[3].id}));
  q = {};
  q.profile_id = "prf_b";  // another tenant's profile
  CHECK(ids(q).empty());
  q = {};
  q.status = "closed";
  CHECK(code_of([&] { ids(q); }) == ErrorCode::invalid_argument);
  q = {};
  q.mode = "robot";
  CHECK(code_of([&] { ids(q); }) == ErrorCode::invalid_argument);
  CHECK(ids_of(repo.search("ws_b", {}, first()).items) == std::vector<std::string>{other.id});
}

TEST_CASE("assign, status and mode change a conversation and stamp updated_at", "[store][api][conversations]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto conv = tenants.conversation("prf_a", tenants.contact("a", "+4930111", 10), 20);
  auto run = [&](auto fn) { return db->write([&](Connection& c) { return fn(c); }); };

  auto assigned = run([&](Connection& c) { return conversations::assign(c, "ws_a", conv.id, std::string("u1"), 30); });
  REQUIRE(assigned);
  CHECK(assigned->assignee == "u1");
  CHECK(assigned->updated_at == 30);
  auto cleared = run([&](Connection& c) { return conversations::assign(c, "ws_a", conv.id, std::nullopt, 31); });
  REQUIRE(cleared);
  CHECK_FALSE(cleared->assignee);
  auto blank = run([&](Connection& c) { return conversations::assign(c, "ws_a", conv.id, std::string(""), 32); });
  REQUIRE(blank);
  CHECK_FALSE(blank->assignee);  // "" is stored as unassigned

  auto resolved = run([&](Connection& c) { return conversations::set_status(c, "ws_a", conv.id, "resolved", 40); });
  REQUIRE(resolved);
  CHECK(resolved->status == "resolved");
  CHECK(resolved->updated_at == 40);
  auto same = run([&](Connection& c) { return conversations::set_status(c, "ws_a", conv.id, "resolved", 41); });
  CHECK(same->updated_at == 40);  // no change, no stamp
  CHECK(code_of([&] { run([&](Connection& c) { return conversations::set_status(c, "ws_a", conv.id, "x", 42); }); }) ==
        ErrorCode::invalid_argument);

  auto human = run([&](Connection& c) { return conversations::set_mode(c, "ws_a", conv.id, "human", 50); });
  REQUIRE(human);
  CHECK(human->mode == "human");
  CHECK(code_of([&] { run([&](Connection& c) { return conversations::set_mode(c, "ws_a", conv.id, "x", 51); }); }) ==
        ErrorCode::invalid_argument);
  auto stored = db->read([&](Connection& c) { return conversations::find(c, "ws_a", conv.id); });
  REQUIRE(stored);
  CHECK(sb::store::to_json(*stored) == sb::store::to_json(*human));
}

TEST_CASE("reopening a resolved conversation while a newer one is active is a conflict naming the active one",
          "[store][api][conversations]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto ct = tenants.contact("a", "+4930111", 10);
  auto old_conv = tenants.conversation("prf_a", ct, 20);
  sb::store::ConversationRepository repo(*db);
  REQUIRE(repo.set_status("ws_a", old_conv.id, "resolved"));
  auto new_conv = tenants.conversation("prf_a", ct, 30);  // the next message opened another
  REQUIRE(new_conv.id != old_conv.id);

  for (const char* status : {"open", "pending"}) {
    try {
      repo.set_status("ws_a", old_conv.id, status);
      FAIL("reopened next to an active conversation");
    } catch (const sb::Error& e) {
      CHECK(e.code() == ErrorCode::conflict);
      CHECK(std::string(e.what()).find(new_conv.id) != std::string::npos);
      CHECK(e.details()["conversation_id"] == new_conv.id);
    }
  }
  CHECK(repo.find("ws_a", old_conv.id)->status == "resolved");

  // Once the other is resolved, it reopens; open <-> pending needs no check.
  REQUIRE(repo.set_status("ws_a", new_conv.id, "resolved"));
  CHECK(repo.set_status("ws_a", old_conv.id, "pending")->status == "pending");
  CHECK(repo.set_status("ws_a", old_conv.id, "open")->status == "open");
}

TEST_CASE("message pages walk a conversation or a workspace once, newest first, and filter", "[store][api][messages]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  auto anna = tenants.contact("a", "+4930111", 1);
  auto bob = tenants.contact("a", "+4930222", 1);
  auto conv_anna = tenants.conversation("prf_a", anna, 5);
  auto conv_bob = tenants.conversation("prf_a", bob, 5);
  std::vector<Message> in_anna;
  std::vector<Message> all;
  for (int i = 0; i < 14; ++i) {
    const bool inbound = i % 2 == 0;
    auto m = tenants.message(i % 3 == 0 ? conv_bob : conv_anna, inbound ? "in" : "out", 100 + i / 3,
                             inbound ? "" : (i % 4 == 1 ? "sent" : "queued"));
    all.push_back(m);
    if (m.conversation_id == conv_anna.id) in_anna.push_back(m);
  }
  auto conv_b = tenants.conversation("prf_b", tenants.contact("b", "+4930111", 1), 5);
  tenants.message(conv_b, "in", 101);
  sb::store::MessageRepository repo(*db);

  auto keys_of = [](const std::vector<Message>& ms) {
    std::vector<std::pair<int64_t, std::string>> keys;
    for (const auto& m : ms) keys.emplace_back(m.created_at, m.id);
    return newest_first(keys);
  };
  for (int64_t limit : {1, 2, 3, 5}) {
    INFO("limit " << limit);
    CHECK(ids_of(walk<Message>(limit, [&](const PageRequest& r) {
            return repo.page_by_conversation("ws_a", conv_anna.id, r);
          })) == keys_of(in_anna));
    CHECK(ids_of(walk<Message>(limit, [&](const PageRequest& r) { return repo.search("ws_a", {}, r); })) ==
          keys_of(all));
    sb::store::MessageQuery by_conversation;
    by_conversation.conversation_id = conv_anna.id;
    CHECK(ids_of(walk<Message>(limit, [&](const PageRequest& r) { return repo.search("ws_a", by_conversation, r); })) ==
          keys_of(in_anna));
  }

  auto matching = [&](const std::function<bool(const Message&)>& keep) {
    std::vector<Message> out;
    std::copy_if(all.begin(), all.end(), std::back_inserter(out), keep);
    return keys_of(out);
  };
  auto ids = [&](const sb::store::MessageQuery& q) { return ids_of(repo.search("ws_a", q, first()).items); };
  sb::store::MessageQuery q;
  q.contact_id = bob.id;
  CHECK(ids(q) == matching([&](const Message& m) { return m.contact_id == bob.id; }));
  q = {};
  q.direction = "out";
  CHECK(ids(q) == matching([](const Message& m) { return m.direction == "out"; }));
  q.status = "sent";
  CHECK(ids(q) == matching([](const Message& m) { return m.status == "sent"; }));
  CHECK_FALSE(ids(q).empty());
  q = {};
  q.profile_id = "prf_a";
  q.conversation_id = conv_bob.id;
  q.direction = "in";
  CHECK(ids(q) == matching([&](const Message& m) { return m.conversation_id == conv_bob.id && m.direction == "in"; }));
  q = {};
  q.direction = "sideways";
  CHECK(code_of([&] { ids(q); }) == ErrorCode::invalid_argument);
  q = {};
  q.status = "lost";
  CHECK(code_of([&] { ids(q); }) == ErrorCode::invalid_argument);
}

TEST_CASE("profile, organization and workspace pages walk every row once, newest first", "[store][api][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  std::vector<std::pair<int64_t, std::string>> profile_keys{{1, "prf_a"}};
  std::vector<std::pair<int64_t, std::string>> org_keys{{1, "org_a"}, {1, "org_b"}};
  std::vector<std::pair<int64_t, std::string>> ws_keys{{1, "ws_a"}};
  db->write([&](Connection& c) {
    for (int i = 0; i < 7; ++i) {
      Profile p;
      p.organization_id = "org_a";
      p.workspace_id = "ws_a";
      p.name = "Line " + std::to_string(i);
      p.channel_plugin = "channel-sandbox";
      auto created = profiles::create(c, p, 10 + i / 3);
      profile_keys.emplace_back(created.created_at, created.id);
      auto org = tenancy::create_organization(c, {"", "Org " + std::to_string(i), 0}, 10 + i / 2);
      org_keys.emplace_back(org.created_at, org.id);
      auto ws = tenancy::create_workspace(c, {"", "org_a", "W " + std::to_string(i), "UTC", 0}, 10 + i / 2);
      ws_keys.emplace_back(ws.created_at, ws.id);
      tenancy::create_workspace(c, {"", org.id, "Theirs", "UTC", 0}, 10);  // another organization's
    }
  });
  sb::store::ProfileRepository profile_repo(*db);
  sb::store::TenancyRepository tenancy_repo(*db);
  for (int64_t limit : {1, 2, 3, 8}) {
    INFO("limit " << limit);
    CHECK(ids_of(walk<Profile>(limit, [&](const PageRequest& r) { return profile_repo.page("ws_a", r); })) ==
          newest_first(profile_keys));
    CHECK(ids_of(walk<sb::store::Organization>(
              limit, [&](const PageRequest& r) { return tenancy_repo.page_organizations(r); })) ==
          newest_first(org_keys));
    CHECK(ids_of(walk<sb::store::Workspace>(
              limit, [&](const PageRequest& r) { return tenancy_repo.page_workspaces("org_a", r); })) ==
          newest_first(ws_keys));
  }
  CHECK(ids_of(profile_repo.page("ws_b", first()).items) == std::vector<std::string>{"prf_b"});
  CHECK(tenancy_repo.page_workspaces("org_missing", first()).items.empty());
}

TEST_CASE("profiles, organizations and workspaces are edited in place", "[store][api][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  sb::store::ProfileRepository profile_repo(*db);
  sb::store::TenancyRepository tenancy_repo(*db);

  sb::store::ProfilePatch patch;
  patch.name = "Sales";
  patch.config = nlohmann::json{{"phone", "+4930999"}};
  auto updated = profile_repo.update("ws_a", "prf_a", patch);
  REQUIRE(updated);
  CHECK(updated->name == "Sales");
  CHECK(profile_repo.get("ws_a", "prf_a")->config == nlohmann::json{{"phone", "+4930999"}});
  patch = {};
  patch.name = "";
  CHECK(code_of([&] { profile_repo.update("ws_a", "prf_a", patch); }) == ErrorCode::invalid_argument);
  patch = {};
  patch.config = nlohmann::json::array();
  CHECK(code_of([&] { profile_repo.update("ws_a", "prf_a", patch); }) == ErrorCode::invalid_argument);
  CHECK(profile_repo.update("ws_a", "prf_a", {})->name == "Sales");

  auto renamed = tenancy_repo.rename_organization("org_a", "Agency Prime");
  REQUIRE(renamed);
  CHECK(tenancy_repo.get_organization("org_a")->name == "Agency Prime");
  CHECK(code_of([&] { tenancy_repo.rename_organization("org_a", ""); }) == ErrorCode::invalid_argument);
  CHECK_FALSE(tenancy_repo.rename_organization("org_missing", "X"));

  auto ws = tenancy_repo.update_workspace("org_a", "ws_a", std::nullopt, std::string("Europe/Berlin"));
  REQUIRE(ws);
  CHECK(ws->name == "Shop a");
  CHECK(tenancy_repo.get_workspace("ws_a")->timezone == "Europe/Berlin");
  ws = tenancy_repo.update_workspace("org_a", "ws_a", std::string("Main"), std::nullopt);
  CHECK(tenancy_repo.get_workspace("ws_a")->name == "Main");
  CHECK(tenancy_repo.get_workspace("ws_a")->timezone == "Europe/Berlin");
  CHECK(code_of([&] { tenancy_repo.update_workspace("org_a", "ws_a", std::string(""), std::nullopt); }) ==
        ErrorCode::invalid_argument);
  CHECK(code_of([&] { tenancy_repo.update_workspace("org_a", "ws_a", std::nullopt, std::string("")); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("execution pages walk a workspace's runs once, newest first, with step logs, by flow and status",
          "[store][api][executions]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  std::vector<sb::flows::ExecutionRecord> runs;
  db->write([&](Connection& c) {
    save_revision(c, "a", "welcome");
    save_revision(c, "a", "survey");
    save_revision(c, "b", "welcome");
    for (int i = 0; i < 11; ++i) {
      auto e = execution("a", i % 2 ? "survey" : "welcome", 100 + i / 3, i % 3 ? "completed" : "waiting");
      executions::insert(c, e);
      runs.push_back(e);
    }
    executions::insert(c, execution("b", "welcome", 101));
  });
  auto keys_of = [&](const std::function<bool(const sb::flows::ExecutionRecord&)>& keep) {
    std::vector<std::pair<int64_t, std::string>> keys;
    for (const auto& e : runs) {
      if (keep(e)) keys.emplace_back(e.created_at, e.id);
    }
    return newest_first(keys);
  };
  auto walk_query = [&](const sb::flows::ExecutionQuery& q, int64_t limit) {
    return walk<sb::flows::ExecutionRecord>(
        limit, [&](const PageRequest& r) { return db->read([&](Connection& c) { return executions::page(c, "ws_a", q, r); }); });
  };
  for (int64_t limit : {1, 2, 4}) {
    INFO("limit " << limit);
    auto all = walk_query({}, limit);
    CHECK(ids_of(all) == keys_of([](const auto&) { return true; }));
    for (const auto& e : all) CHECK(e.steps == nlohmann::json::array({{{"node", "start"}}}));
    sb::flows::ExecutionQuery q;
    q.flow_id = "survey";
    CHECK(ids_of(walk_query(q, limit)) == keys_of([](const auto& e) { return e.flow_id == "survey"; }));
    q.status = "waiting";
    CHECK(ids_of(walk_query(q, limit)) ==
          keys_of([](const auto& e) { return e.flow_id == "survey" && e.status == "waiting"; }));
    q.flow_id.reset();
    CHECK(ids_of(walk_query(q, limit)) == keys_of([](const auto& e) { return e.status == "waiting"; }));
  }
  sb::flows::ExecutionQuery bad;
  bad.status = "sleeping";
  CHECK(code_of([&] { walk_query(bad, 5); }) == ErrorCode::invalid_argument);
  auto found = db->read([&](Connection& c) { return executions::find(c, "ws_a", runs[0].id); });
  REQUIRE(found);
  CHECK(found->steps == runs[0].steps);
}

TEST_CASE("every new query answers another workspace's ids as absent and changes nothing there",
          "[store][api][tenancy]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  // Tenant B's rows, asked for by tenant A.
  auto ct_b = tenants.contact("b", "+4930111", 10, "B's", nlohmann::json::array({"vip"}));
  auto conv_b = tenants.conversation("prf_b", ct_b, 20);
  tenants.message(conv_b, "in", 21);
  auto run_b = execution("b", "welcome", 30);
  db->write([&](Connection& c) {
    save_revision(c, "b", "welcome");
    executions::insert(c, run_b);
  });
  const auto before = table_counts(*db);
  const auto b_contact = sb::store::to_json(*sb::store::ContactRepository(*db).find("ws_b", ct_b.id));
  const auto b_conversation = sb::store::to_json(*sb::store::ConversationRepository(*db).find("ws_b", conv_b.id));
  const auto b_profile = sb::store::to_json(*sb::store::ProfileRepository(*db).get("ws_b", "prf_b"));
  const auto b_workspace = sb::store::to_json(*sb::store::TenancyRepository(*db).get_workspace("ws_b"));

  db->write([&](Connection& c) {
    sb::store::ContactQuery cq;
    cq.tag = "vip";
    CHECK(contacts::search(c, "ws_a", cq, first()).items.empty());
    sb::store::ContactPatch patch;
    patch.name = "stolen";
    CHECK_FALSE(contacts::update(c, "ws_a", ct_b.id, patch, 99));
    CHECK_FALSE(contacts::add_tags(c, "ws_a", ct_b.id, {"x"}, 99));
    CHECK_FALSE(contacts::remove_tags(c, "ws_a", ct_b.id, {"vip"}, 99));
    CHECK_FALSE(contacts::remove(c, "ws_a", ct_b.id));

    sb::store::ConversationQuery vq;
    vq.contact_id = ct_b.id;
    CHECK(conversations::search(c, "ws_a", vq, first()).items.empty());
    CHECK_FALSE(conversations::assign(c, "ws_a", conv_b.id, std::string("me"), 99));
    CHECK_FALSE(conversations::set_status(c, "ws_a", conv_b.id, "resolved", 99));
    CHECK_FALSE(conversations::set_mode(c, "ws_a", conv_b.id, "human", 99));

    CHECK(messages::page_by_conversation(c, "ws_a", conv_b.id, first()).items.empty());
    sb::store::MessageQuery mq;
    mq.conversation_id = conv_b.id;
    CHECK(messages::search(c, "ws_a", mq, first()).items.empty());
    mq = {};
    mq.profile_id = "prf_b";
    CHECK(messages::search(c, "ws_a", mq, first()).items.empty());

    CHECK(ids_of(profiles::page(c, "ws_a", first()).items) == std::vector<std::string>{"prf_a"});
    sb::store::ProfilePatch pp;
    pp.name = "stolen";
    CHECK_FALSE(profiles::update(c, "ws_a", "prf_b", pp, 99));
    CHECK_FALSE(profiles::remove(c, "ws_a", "prf_b"));

    CHECK(ids_of(tenancy::page_workspaces(c, "org_a", first()).items) == std::vector<std::string>{"ws_a"});
    CHECK_FALSE(tenancy::update_workspace(c, "org_a", "ws_b", std::string("stolen"), std::nullopt, 99));

    CHECK(executions::page(c, "ws_a", {}, first()).items.empty());
    CHECK_FALSE(executions::find(c, "ws_a", run_b.id));
  });

  CHECK(table_counts(*db) == before);
  CHECK(sb::store::to_json(*sb::store::ContactRepository(*db).find("ws_b", ct_b.id)) == b_contact);
  CHECK(sb::store::to_json(*sb::store::ConversationRepository(*db).find("ws_b", conv_b.id)) == b_conversation);
  CHECK(sb::store::to_json(*sb::store::ProfileRepository(*db).get("ws_b", "prf_b")) == b_profile);
  CHECK(sb::store::to_json(*sb::store::TenancyRepository(*db).get_workspace("ws_b")) == b_workspace);
}

TEST_CASE("deleting a profile deletes everything that hangs on it and nothing of another profile",
          "[store][api][profiles]") {
  sb::test::StoreTestHost host;
  auto db = host.open();
  Tenants tenants(*db);
  db->write([](Connection& c) {
    Profile p;
    p.id = "prf_keep";
    p.organization_id = "org_a";
    p.workspace_id = "ws_a";
    p.name = "Kept line";
    p.channel_plugin = "channel-sandbox";
    profiles::create(c, p, 1);
    save_revision(c, "a", "welcome");
  });
  auto anna = tenants.contact("a", "+4930111", 10);
  auto bob = tenants.contact("a", "+4930222", 10);

  // The same shape of rows for the profile that goes and one that stays:
  // two conversations (one resolved), messages both ways, outbox rows,
  // a parked receipt, executions by profile and by conversation only, and
  // the channel instance's state.
  struct Made {
    int64_t conversations = 0, messages = 0, outbox = 0, receipts = 0, executions = 0, state = 0;
  };
  auto populate = [&](const std::string& profile_id) {
    Made made;
    auto first_conv = tenants.conversation(profile_id, anna, 20);
    db->write([&](Connection& c) { conversations::set_status(c, "ws_a", first_conv.id, "resolved", 21); });
    auto second_conv = tenants.conversation(profile_id, anna, 30);
    auto third_conv = tenants.conversation(profile_id, bob, 30);
    made.conversations = 3;
    for (const auto& conv : {first_conv, second_conv, third_conv}) {
      tenants.message(conv, "in", 40);
      auto out = tenants.message(conv, "out", 41);
      made.messages += 2;
      db->write([&](Connection& c) {
        sb::store::OutboxRow row;
        row.id = sb::new_id("obx");
        row.organization_id = "org_a";
        row.workspace_id = "ws_a";
        row.profile_id = profile_id;
        row.conversation_id = conv.id;
        row.message_id = out.id;
        row.next_attempt_at = 41;
        row.idempotency_key = row.id;
        row.created_at = 41;
        row.updated_at = 41;
        sb::store::outbox::insert(c, row);
      });
      made.outbox += 1;
    }
    db->write([&](Connection& c) {
      messages::park_receipt(c, "org_a", "ws_a", profile_id, "wamid.early", {"delivered", std::nullopt}, 50);
      auto by_profile = execution("a", "welcome", 60);
      by_profile.profile_id = profile_id;
      executions::insert(c, by_profile);
      auto by_conversation = execution("a", "welcome", 61, "waiting");
      by_conversation.conversation_id = second_conv.id;  // no profile_id on the row
      by_conversation.contact_id = anna.id;
      executions::insert(c, by_conversation);
      sb::store::plugin_state::put(c, "channel-sandbox", profile_id, "creds", "secret", 70);
      sb::store::plugin_state::put(c, "channel-sandbox", profile_id, "keys", "k", 70);
    });
    made.receipts = 1;
    made.executions = 2;
    made.state = 2;
    return made;
  };
  const Made gone = populate("prf_a");
  const Made kept = populate("prf_keep");
  // Another plugin's state under the same instance id is not the channel's.
  db->write([](Connection& c) { sb::store::plugin_state::put(c, "storage-other", "prf_a", "k", "v", 70); });
  const auto before = table_counts(*db);

  sb::store::ProfileRepository repo(*db);
  REQUIRE(repo.remove("ws_a", "prf_a"));

  auto expected = before;
  expected["profiles"] -= 1;
  expected["conversations"] -= gone.conversations;
  expected["messages"] -= gone.messages;
  expected["outbox"] -= gone.outbox;
  expected["message_receipts"] -= gone.receipts;
  expected["flow_executions"] -= gone.executions;
  expected["plugin_state"] -= gone.state;
  CHECK(table_counts(*db) == expected);  // every other table (contacts, flow_revisions, ...) as it was

  db->read([&](Connection& c) {
    CHECK(c.query("PRAGMA foreign_key_check").empty());
    for (const char* table : {"conversations", "messages", "outbox", "message_receipts", "flow_executions"}) {
      INFO(table);
      CHECK(c.query_one(std::string("SELECT COUNT(*) AS n FROM ") + table + " WHERE profile_id = 'prf_a'")
                ->integer("n") == 0);
      CHECK(c.query_one(std::string("SELECT COUNT(*) AS n FROM ") + table + " WHERE profile_id = 'prf_keep'")
                ->integer("n") > 0);
    }
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM conversations WHERE profile_id = 'prf_keep'")->integer("n") ==
          kept.conversations);
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM flow_executions")->integer("n") == kept.executions);
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM plugin_state WHERE instance_id = 'prf_keep'")->integer("n") ==
          kept.state);
    CHECK(c.query_one("SELECT COUNT(*) AS n FROM plugin_state WHERE plugin_id = 'storage-other'")->integer("n") == 1);
    CHECK(contacts::count(c, "ws_a") == 2);
  });
  CHECK_FALSE(repo.get("prf_a"));
  CHECK_FALSE(repo.remove("ws_a", "prf_a"));
}
