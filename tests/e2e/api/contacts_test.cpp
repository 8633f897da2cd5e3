// Contacts through a real host: create/read/update/delete with phones
// normalized to E.164, search and keyset pages, tags as a set (and the
// flows a tag starts), bad input refused naming the field with nothing
// written, tenants kept apart, and who may write.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

using nlohmann::json;
using sb::test::count;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::TempDir;
using sb::test::Tenant;

namespace {

int64_t contacts_in(ApiHost& api, const std::string& workspace_id) {
  return count(api.host().db_path(), "SELECT COUNT(*) FROM contacts WHERE workspace_id = '" + workspace_id + "'");
}

std::string contacts_of(const std::string& workspace_id) { return "/api/v1/workspaces/" + workspace_id + "/contacts"; }

json create_contact(ApiHost& api, const std::string& workspace_id, const Headers& auth, const json& body) {
  auto res = api.call("POST", contacts_of(workspace_id), body, auth);
  INFO(res.raw);
  REQUIRE(res.status == 201);
  return res.body;
}

// A 400 invalid_argument whose details name `field`.
void require_field(const ApiResult& r, const std::string& field) {
  require_error(r, 400, "invalid_argument");
  INFO(r.raw);
  CHECK(r.body["error"]["details"]["field"] == field);
}

// Every id of a list, page by page; fails on a repeated id.
std::vector<std::string> walk(ApiHost& api, const std::string& path, const Headers& auth, size_t* pages = nullptr) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  std::string cursor;
  size_t n = 0;
  for (;;) {
    const std::string sep = path.find('?') == std::string::npos ? "?" : "&";
    auto res = api.call("GET", path + sep + "limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor), nullptr, auth);
    INFO(res.raw);
    REQUIRE(res.status == 200);
    REQUIRE(res.body["data"].size() <= 3);
    ++n;
    for (const auto& c : res.body["data"]) {
      REQUIRE(seen.insert(c["id"].get<std::string>()).second);
      ids.push_back(c["id"]);
    }
    if (res.body["next_cursor"].is_null()) break;
    cursor = res.body["next_cursor"];
    REQUIRE(n < 20);
  }
  if (pages) *pages = n;
  return ids;
}

std::vector<std::string> phones_of(ApiHost& api, const std::string& path, const Headers& auth) {
  auto res = api.call("GET", path, nullptr, auth);
  INFO(res.raw);
  REQUIRE(res.status == 200);
  std::vector<std::string> out;
  for (const auto& c : res.body["data"]) out.push_back(c["phone"]);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("contacts: create, read, update and delete, the phone normalized to E.164", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const std::string base = contacts_of(a.workspace_id);

  const json made = create_contact(api, a.workspace_id, a.owner_auth(),
                                   {{"phone", "+1 (202) 523-4567"},
                                    {"name", "Ana"},
                                    {"email", "ana@example.com"},
                                    {"wa_id", "12025234567"},
                                    {"tags", {"vip", "lead", "vip"}},
                                    {"metadata", {{"plan", "gold"}}}});
  CHECK(made["phone"] == "+12025234567");
  CHECK(made["name"] == "Ana");
  CHECK(made["email"] == "ana@example.com");
  CHECK(made["wa_id"] == "12025234567");
  CHECK(made["tags"] == json({"vip", "lead"}));
  CHECK(made["metadata"] == json({{"plan", "gold"}}));
  CHECK(made["opted_out"] == false);
  CHECK(made["workspace_id"] == a.workspace_id);
  CHECK(made["organization_id"] == a.organization_id);
  const std::string id = made["id"];

  auto got = api.call("GET", base + "/" + id, nullptr, a.key_auth());
  REQUIRE(got.status == 200);
  CHECK(got.body == made);

  // The same number written another way is the same contact.
  auto dup = api.call("POST", base, {{"phone", "+12025234567"}}, a.owner_auth());
  require_error(dup, 409, "conflict");
  CHECK(dup.body["error"]["details"]["contact_id"] == id);

  require_field(api.call("POST", base, {{"phone", "555-1234"}}, a.owner_auth()), "phone");
  require_field(api.call("POST", base, {{"phone", "+1 555 abc 4567"}}, a.owner_auth()), "phone");
  CHECK(contacts_in(api, a.workspace_id) == 1);

  auto patched = api.call("PATCH", base + "/" + id,
                          {{"name", "Ana María"},
                           {"email", nullptr},
                           {"tags", {"customer"}},
                           {"metadata", {{"plan", "silver"}, {"seats", 3}}},
                           {"opted_out", true}},
                          a.owner_auth());
  INFO(patched.raw);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["name"] == "Ana María");
  CHECK(patched.body["email"].is_null());
  CHECK(patched.body["tags"] == json({"customer"}));
  CHECK(patched.body["metadata"] == json({{"plan", "silver"}, {"seats", 3}}));
  CHECK(patched.body["opted_out"] == true);
  CHECK(patched.body["phone"] == "+12025234567");
  CHECK(patched.body["wa_id"] == "12025234567");
  CHECK(api.call("GET", base + "/" + id, nullptr, a.owner_auth()).body == patched.body);

  // An empty patch changes nothing.
  auto same = api.call("PATCH", base + "/" + id, json::object(), a.owner_auth());
  REQUIRE(same.status == 200);
  CHECK(same.body == patched.body);

  auto gone = api.call("DELETE", base + "/" + id, nullptr, a.owner_auth());
  CHECK(gone.status == 204);
  CHECK(gone.raw.empty());
  require_error(api.call("GET", base + "/" + id, nullptr, a.owner_auth()), 404, "not_found");
  require_error(api.call("DELETE", base + "/" + id, nullptr, a.owner_auth()), 404, "not_found");
  CHECK(contacts_in(api, a.workspace_id) == 0);
  CHECK(count(api.host().db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 'contact.deleted' AND target_id = '" +
                                        id + "'") == 1);
}

TEST_CASE("contacts: one with conversations is not deleted (409, the store's reason)", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  auto c = api.host().client();
  auto in = sb::test::post_inbound(*c, {{"from", "+12025001111"}, {"text", "hello"}});
  REQUIRE(in);
  REQUIRE(in->status == 200);
  auto found = api.call("GET", contacts_of("demo") + "?phone=%2B12025001111", nullptr, api.master());
  INFO(found.raw);
  REQUIRE(found.status == 200);
  REQUIRE(found.body["data"].size() == 1);
  const std::string id = found.body["data"][0]["id"];
  auto refused = api.call("DELETE", contacts_of("demo") + "/" + id, nullptr, api.master());
  require_error(refused, 409, "conflict");
  CHECK(refused.body["error"]["message"].get<std::string>().find("conversations") != std::string::npos);
  CHECK(api.call("GET", contacts_of("demo") + "/" + id, nullptr, api.master()).status == 200);
}

TEST_CASE("contacts: search by phone prefix, name, tag and opted_out; pages walk every match exactly once", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();
  const std::string base = contacts_of(a.workspace_id);
  std::set<std::string> berlin;
  for (int i = 1; i <= 7; ++i) {
    const json made = create_contact(api, a.workspace_id, auth,
                                     {{"phone", "+49 30 1234 56" + std::to_string(i)},
                                      {"name", i % 2 ? "Ana Berlin " + std::to_string(i) : "Ben " + std::to_string(i)},
                                      {"tags", i <= 3 ? json({"vip"}) : json::array()},
                                      {"opted_out", i == 7}});
    berlin.insert(made["id"].get<std::string>());
  }
  create_contact(api, a.workspace_id, auth, {{"phone", "+12025000001"}, {"name", "ANABEL"}, {"tags", {"vip", "us"}}});
  create_contact(api, a.workspace_id, auth, {{"phone", "+12025000002"}, {"name", "Carl"}});

  size_t pages = 0;
  const auto all = walk(api, base, auth, &pages);
  CHECK(all.size() == 9);
  CHECK(pages == 3);

  const auto by_prefix = walk(api, base + "?phone=%2B4930", auth, &pages);
  CHECK(std::set<std::string>(by_prefix.begin(), by_prefix.end()) == berlin);
  CHECK(by_prefix.size() == 7);
  CHECK(pages == 3);
  // Typed with separators, without the "+", or with a "+" a query string
  // turned into a space: the same prefix.
  CHECK(walk(api, base + "?phone=%2B49%2030", auth).size() == 7);
  CHECK(walk(api, base + "?phone=4930", auth).size() == 7);
  CHECK(walk(api, base + "?phone=%2049-30", auth).size() == 7);
  CHECK(phones_of(api, base + "?phone=%2B12025", auth) == std::vector<std::string>{"+12025000001", "+12025000002"});
  CHECK(phones_of(api, base + "?phone=%2B12025000002", auth) == std::vector<std::string>{"+12025000002"});
  CHECK(phones_of(api, base + "?phone=%2B44", auth).empty());

  // Contains, case-insensitive: "Ana Berlin 1/3/5/7" and "ANABEL".
  CHECK(walk(api, base + "?name=ana", auth).size() == 5);
  CHECK(walk(api, base + "?name=BERLIN", auth).size() == 4);
  CHECK(phones_of(api, base + "?name=carl", auth) == std::vector<std::string>{"+12025000002"});

  CHECK(walk(api, base + "?tag=vip", auth).size() == 4);
  CHECK(phones_of(api, base + "?tag=us", auth) == std::vector<std::string>{"+12025000001"});
  CHECK(phones_of(api, base + "?tag=nobody", auth).empty());

  CHECK(phones_of(api, base + "?opted_out=true", auth) == std::vector<std::string>{"+49301234567"});
  CHECK(walk(api, base + "?opted_out=false", auth).size() == 8);

  // Filters combine.
  CHECK(phones_of(api, base + "?phone=%2B4930&tag=vip&name=ana", auth) ==
        std::vector<std::string>{"+49301234561", "+49301234563"});

  require_field(api.call("GET", base + "?opted_out=yes", nullptr, auth), "opted_out");
  require_field(api.call("GET", base + "?phone=abc", nullptr, auth), "phone");
  require_field(api.call("GET", base + "?phone=%2B1234567890123456", nullptr, auth), "phone");
  require_field(api.call("GET", base + "?tag=" + std::string(101, 't'), nullptr, auth), "tag");
  require_field(api.call("GET", base + "?limit=0", nullptr, auth), "limit");
  require_field(api.call("GET", base + "?phone_prefix=%2B49", nullptr, auth), "phone_prefix");
  require_field(api.call("GET", base + "?cursor=not-a-cursor", nullptr, auth), "cursor");
}

TEST_CASE("contacts: tags are added as a set and removed one at a time", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();
  const std::string base = contacts_of(a.workspace_id);
  const std::string id = create_contact(api, a.workspace_id, auth, {{"phone", "+12025230001"}, {"tags", {"vip"}}})["id"];
  const std::string tags = base + "/" + id + "/tags";

  auto added = api.call("POST", tags, {{"tags", {"lead", "vip", "lead", "big spender"}}}, auth);
  INFO(added.raw);
  REQUIRE(added.status == 200);
  CHECK(added.body["id"] == id);
  CHECK(added.body["tags"] == json({"vip", "lead", "big spender"}));

  auto removed = api.call("DELETE", tags + "/lead", nullptr, auth);
  REQUIRE(removed.status == 200);
  CHECK(removed.body["tags"] == json({"vip", "big spender"}));
  auto spaced = api.call("DELETE", tags + "/big%20spender", nullptr, auth);
  REQUIRE(spaced.status == 200);
  CHECK(spaced.body["tags"] == json({"vip"}));
  // A tag the contact does not have: nothing to remove, not an error.
  auto absent = api.call("DELETE", tags + "/lead", nullptr, auth);
  REQUIRE(absent.status == 200);
  CHECK(absent.body["tags"] == json({"vip"}));

  require_field(api.call("POST", tags, json::object(), auth), "tags");
  require_field(api.call("POST", tags, {{"tags", json::array()}}, auth), "tags");
  require_field(api.call("POST", tags, {{"tags", "vip"}}, auth), "tags");
  require_field(api.call("POST", tags, {{"tags", {1}}}, auth), "tags");
  require_field(api.call("POST", tags, {{"tags", {""}}}, auth), "tags");
  require_field(api.call("POST", tags, {{"tags", {std::string(101, 'x')}}}, auth), "tags");
  require_field(api.call("POST", tags, {{"tags", {"a"}}, {"tag", "b"}}, auth), "tag");
  // No contact holds more than 50 tags.
  json many = json::array();
  for (int i = 0; i < 49; ++i) many.push_back(std::string("t").append(std::to_string(i)));
  REQUIRE(api.call("POST", tags, {{"tags", many}}, auth).status == 200);
  require_field(api.call("POST", tags, {{"tags", {"one-too-many"}}}, auth), "tags");
  auto now = api.call("GET", base + "/" + id, nullptr, auth);
  CHECK(now.body["tags"].size() == 50);

  require_error(api.call("POST", base + "/ct_nope/tags", {{"tags", {"x"}}}, auth), 404, "not_found");
  require_error(api.call("DELETE", base + "/ct_nope/tags/x", nullptr, auth), 404, "not_found");
}

TEST_CASE("contacts: a tag added through the API starts the flows of that tag, in the contact's conversation",
          "[api]") {
  TempDir dir("sb-api-contacts");
  // The demo workspace reads <data>/flows/demo/ (its own flows are seeded
  // only when the folder does not exist): this flow is its only one.
  const auto flows = dir.path() / "data" / "flows" / "demo";
  std::filesystem::create_directories(flows);
  std::ofstream(flows / "vip.flow.json") << json{
      {"schema", "switchboard.flow/1"},
      {"id", "vip-welcome"},
      {"rev", 1},
      {"name", "VIP welcome"},
      {"trigger", {{"type", "event"}, {"event", "contact.tagged"}, {"tag", "vip"}}},
      {"start", "tell"},
      {"nodes", json::array({{{"id", "tell"}, {"type", "send_text"}, {"typeVersion", 1},
                              {"config", {{"text", "Welcome to VIP, {{contact.phone}}"}}}}})},
      {"edges", json::array()}}.dump(2);
  ApiHost api(dir.path());
  auto c = api.host().client();
  const auto db = api.host().db_path();
  auto tagged_runs = [&] {
    return count(db, "SELECT COUNT(*) FROM flow_executions WHERE workspace_id = 'demo' AND flow_id = 'vip-welcome'");
  };

  auto in = sb::test::post_inbound(*c, {{"from", "+12025002222"}, {"text", "hi"}});
  REQUIRE(in);
  REQUIRE(in->status == 200);
  auto found = api.call("GET", contacts_of("demo") + "?phone=%2B12025002222", nullptr, api.master());
  REQUIRE(found.body["data"].size() == 1);
  const std::string id = found.body["data"][0]["id"];

  // Another tag starts nothing.
  REQUIRE(api.call("POST", contacts_of("demo") + "/" + id + "/tags", {{"tags", {"lead"}}}, api.master()).status == 200);
  REQUIRE(api.call("POST", contacts_of("demo") + "/" + id + "/tags", {{"tags", {"vip"}}}, api.master()).status == 200);
  const bool sent = eventually([&] {
    auto out = c->Get("/hooks/channel-sandbox/demo/outbound");
    if (!out || out->status != 200) return false;
    const json messages = json::parse(out->body)["messages"];
    for (const auto& m : messages)
      if (m.value("to", "") == "+12025002222" && m.value("text", "") == "Welcome to VIP, +12025002222") return true;
    return false;
  });
  INFO(api.host().log_tail());
  CHECK(sent);
  CHECK(tagged_runs() == 1);
  // A tag the contact already has is not "added" again.
  REQUIRE(api.call("POST", contacts_of("demo") + "/" + id + "/tags", {{"tags", {"vip"}}}, api.master()).status == 200);
  // A contact without a conversation: the flow runs without one.
  create_contact(api, "demo", api.master(), {{"phone", "+12025003333"}, {"tags", {"vip"}}});
  CHECK(eventually([&] { return tagged_runs() == 2; }));
  CHECK(count(db, "SELECT COUNT(*) FROM flow_executions WHERE flow_id = 'vip-welcome' AND conversation_id IS NULL") ==
        1);
}

TEST_CASE("contacts: bad input is refused naming the field and writes nothing", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const auto auth = a.owner_auth();
  const std::string base = contacts_of(a.workspace_id);
  auto c = api.host().client();
  httplib::Headers bearer{{"Authorization", "Bearer " + a.owner_token}};

  auto malformed = c->Post(base.c_str(), bearer, "{\"phone\": ", "application/json");
  REQUIRE(malformed);
  CHECK(malformed->status == 400);
  auto not_object = c->Post(base.c_str(), bearer, "[1]", "application/json");
  REQUIRE(not_object);
  CHECK(not_object->status == 400);
  auto not_json = c->Post(base.c_str(), bearer, "phone=+12025234567", "application/x-www-form-urlencoded");
  REQUIRE(not_json);
  CHECK(not_json->status == 415);

  json big = json::object();
  for (int i = 0; i < 20; ++i) big[std::string("k").append(std::to_string(i))] = std::string(1000, 'x');
  json many_tags = json::array();
  for (int i = 0; i < 51; ++i) many_tags.push_back(std::string("t").append(std::to_string(i)));
  struct Case {
    json body;
    std::string field;
  };
  const std::vector<Case> create_cases = {
      {json::object(), "phone"},
      {{{"phone", 15551234567LL}}, "phone"},
      {{{"phone", ""}}, "phone"},
      {{{"phone", "12025234567"}}, "phone"},
      {{{"phone", "+1202"}}, "phone"},
      {{{"phone", "+12025234567"}, {"name", 5}}, "name"},
      {{{"phone", "+12025234567"}, {"name", std::string(201, 'n')}}, "name"},
      {{{"phone", "+12025234567"}, {"email", "not-an-email"}}, "email"},
      {{{"phone", "+12025234567"}, {"email", "ana@localhost"}}, "email"},
      {{{"phone", "+12025234567"}, {"email", "a b@example.com"}}, "email"},
      {{{"phone", "+12025234567"}, {"email", true}}, "email"},
      {{{"phone", "+12025234567"}, {"wa_id", {1}}}, "wa_id"},
      {{{"phone", "+12025234567"}, {"tags", "vip"}}, "tags"},
      {{{"phone", "+12025234567"}, {"tags", {1, 2}}}, "tags"},
      {{{"phone", "+12025234567"}, {"tags", many_tags}}, "tags"},
      {{{"phone", "+12025234567"}, {"tags", {std::string(101, 't')}}}, "tags"},
      {{{"phone", "+12025234567"}, {"metadata", {1, 2}}}, "metadata"},
      {{{"phone", "+12025234567"}, {"metadata", "x"}}, "metadata"},
      {{{"phone", "+12025234567"}, {"metadata", big}}, "metadata"},
      {{{"phone", "+12025234567"}, {"opted_out", "yes"}}, "opted_out"},
      {{{"phone", "+12025234567"}, {"id", "ct_mine"}}, "id"},
      {{{"phone", "+12025234567"}, {"workspace_id", "b-ws"}}, "workspace_id"},
  };
  for (const auto& k : create_cases) {
    INFO("POST " << k.body.dump().substr(0, 200));
    require_field(api.call("POST", base, k.body, auth), k.field);
  }
  CHECK(contacts_in(api, a.workspace_id) == 0);

  // A metadata object just under the limit is fine.
  json fits = json::object();
  fits["k"] = std::string(16 * 1024 - 20, 'x');
  const json made = create_contact(api, a.workspace_id, auth, {{"phone", "+12025234567"}, {"metadata", fits}});
  const std::string item = base + "/" + made["id"].get<std::string>();

  const std::vector<Case> patch_cases = {
      {{{"phone", "+12025654321"}}, "phone"},
      {{{"wa_id", "x"}}, "wa_id"},
      {{{"name", 5}}, "name"},
      {{{"email", "nope"}}, "email"},
      {{{"email", 5}}, "email"},
      {{{"tags", {{{"a", 1}}}}}, "tags"},
      {{{"tags", many_tags}}, "tags"},
      {{{"metadata", {"a"}}}, "metadata"},
      {{{"metadata", big}}, "metadata"},
      {{{"opted_out", 1}}, "opted_out"},
      {{{"name", "fine"}, {"unknown", 1}}, "unknown"},
  };
  for (const auto& k : patch_cases) {
    INFO("PATCH " << k.body.dump().substr(0, 200));
    require_field(api.call("PATCH", item, k.body, auth), k.field);
  }
  auto patch_malformed = c->Patch(item.c_str(), bearer, "{\"name\": ", "application/json");
  REQUIRE(patch_malformed);
  CHECK(patch_malformed->status == 400);
  // A name and a bad field together: the name is not written either.
  require_field(api.call("PATCH", item, {{"name", "Changed"}, {"email", "nope"}}, auth), "email");
  auto after = api.call("GET", item, nullptr, auth);
  CHECK(after.body == made);
  CHECK(contacts_in(api, a.workspace_id) == 1);

  auto unknown = api.call("GET", base + "/ct_does_not_exist", nullptr, auth);
  require_error(unknown, 404, "not_found");
  CHECK(unknown.body["error"]["details"]["field"] == "contact_id");
  require_error(api.call("PATCH", base + "/ct_does_not_exist", {{"name", "x"}}, auth), 404, "not_found");
  require_error(api.call("DELETE", base + "/ct_does_not_exist", nullptr, auth), 404, "not_found");
  CHECK(contacts_in(api, a.workspace_id) == 1);
}

TEST_CASE("contacts: another tenant's contact is not found on every route and lists never cross tenants", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const Tenant b = api.make_tenant("b");
  const json mine = create_contact(api, a.workspace_id, a.owner_auth(), {{"phone", "+12025110001"}, {"tags", {"vip"}}});
  const std::string id = mine["id"];
  create_contact(api, b.workspace_id, b.owner_auth(), {{"phone", "+12025220002"}});

  for (const Headers& auth : {b.owner_auth(), b.key_auth()}) {
    // A's contact id under B's workspace.
    const std::string theirs = contacts_of(b.workspace_id) + "/" + id;
    require_error(api.call("GET", theirs, nullptr, auth), 404, "not_found");
    require_error(api.call("PATCH", theirs, {{"name", "stolen"}}, auth), 404, "not_found");
    require_error(api.call("DELETE", theirs, nullptr, auth), 404, "not_found");
    require_error(api.call("POST", theirs + "/tags", {{"tags", {"x"}}}, auth), 404, "not_found");
    require_error(api.call("DELETE", theirs + "/tags/vip", nullptr, auth), 404, "not_found");
    // A's workspace itself.
    const std::string a_base = contacts_of(a.workspace_id);
    require_error(api.call("GET", a_base, nullptr, auth), 404, "not_found");
    require_error(api.call("POST", a_base, {{"phone", "+12025330003"}}, auth), 404, "not_found");
    require_error(api.call("GET", a_base + "/" + id, nullptr, auth), 404, "not_found");
    require_error(api.call("PATCH", a_base + "/" + id, {{"name", "stolen"}}, auth), 404, "not_found");
    require_error(api.call("DELETE", a_base + "/" + id, nullptr, auth), 404, "not_found");
    require_error(api.call("POST", a_base + "/" + id + "/tags", {{"tags", {"x"}}}, auth), 404, "not_found");
    require_error(api.call("DELETE", a_base + "/" + id + "/tags/vip", nullptr, auth), 404, "not_found");

    for (const char* query : {"", "?phone=%2B12025", "?tag=vip", "?opted_out=false", "?name=%20"}) {
      auto list = api.call("GET", contacts_of(b.workspace_id) + query, nullptr, auth);
      INFO(query << " " << list.raw);
      REQUIRE(list.status == 200);
      for (const auto& c : list.body["data"]) CHECK(c["workspace_id"] == b.workspace_id);
      CHECK(list.raw.find(id) == std::string::npos);
    }
  }
  CHECK(api.call("GET", contacts_of(a.workspace_id) + "/" + id, nullptr, a.owner_auth()).body == mine);
  CHECK(contacts_in(api, a.workspace_id) == 1);
  CHECK(contacts_in(api, b.workspace_id) == 1);
}

TEST_CASE("contacts: a viewer and a read-only API key may list and read but not write", "[api]") {
  TempDir dir("sb-api-contacts");
  ApiHost api(dir.path());
  const Tenant a = api.make_tenant("a");
  const std::string base = contacts_of(a.workspace_id);
  const std::string id = create_contact(api, a.workspace_id, a.owner_auth(), {{"phone", "+12025110001"}})["id"];

  auto key = api.call("POST", "/api/v1/workspaces/" + a.workspace_id + "/api-keys",
                      {{"name", "read only"}, {"scopes", {"read"}}}, a.owner_auth());
  REQUIRE(key.status == 201);
  const Headers viewer = {{"Authorization", "Bearer " + api.add_member(a, "viewer@a.example.com", "viewer")}};
  const Headers reader = {{"X-API-Key", key.body["key"].get<std::string>()}};

  for (const Headers& auth : {viewer, reader}) {
    auto list = api.call("GET", base, nullptr, auth);
    REQUIRE(list.status == 200);
    CHECK(list.body["data"].size() == 1);
    CHECK(api.call("GET", base + "/" + id, nullptr, auth).status == 200);
    require_error(api.call("POST", base, {{"phone", "+12025220002"}}, auth), 403, "forbidden");
    require_error(api.call("PATCH", base + "/" + id, {{"name", "x"}}, auth), 403, "forbidden");
    require_error(api.call("DELETE", base + "/" + id, nullptr, auth), 403, "forbidden");
    require_error(api.call("POST", base + "/" + id + "/tags", {{"tags", {"x"}}}, auth), 403, "forbidden");
    require_error(api.call("DELETE", base + "/" + id + "/tags/x", nullptr, auth), 403, "forbidden");
  }
  CHECK(contacts_in(api, a.workspace_id) == 1);

  // An operator handles conversations, so edits contacts.
  const Headers op = {{"Authorization", "Bearer " + api.add_member(a, "op@a.example.com", "operator")}};
  CHECK(api.call("POST", base, {{"phone", "+12025220002"}}, op).status == 201);
  CHECK(api.call("PATCH", base + "/" + id, {{"name", "Edited"}}, op).status == 200);
}
