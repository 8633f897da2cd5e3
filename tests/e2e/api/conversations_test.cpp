// Conversations and messages through the HTTP API of a real host: lists and
// filters, assignment, resolve/reopen, handoff/handback (and the bot staying
// quiet meanwhile), sending through the outbox to the sandbox channel, bad
// input, tenancy and permissions.
//
// The happy paths use the demo workspace and its sandbox profile "demo" with
// the master key (until profiles can be created over the API); isolation
// uses make_tenant() tenants, who own none of demo's rows.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <set>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::TempDir;

namespace {

constexpr std::chrono::seconds kWait{15};  // a real process on a shared 2-core machine
const std::string kDemo = "/api/v1/workspaces/demo";

struct Inbound {
  std::string conversation_id;
  std::string message_id;
};

// A contact writes in on the demo number.
Inbound inject(ApiHost& api, const std::string& from, const std::string& text) {
  auto c = api.host().client();
  auto res = sb::test::post_inbound(*c, {{"from", from}, {"name", "Contact " + from}, {"text", text}});
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
  const auto body = json::parse(res->body);
  return {body["conversation_id"], body["message_id"]};
}

// What the sandbox channel was asked to send, oldest first.
json outbound(ApiHost& api) {
  auto c = api.host().client();
  auto res = c->Get("/hooks/channel-sandbox/demo/outbound");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body)["messages"];
}

bool sandbox_sent(ApiHost& api, const std::string& to, const std::string& text) {
  for (const auto& m : outbound(api))
    if (m["to"] == to && m["text"] == text) return true;
  return false;
}

// A user of the demo workspace with `role`, invited by the master key:
// {token, user id}.
std::pair<std::string, std::string> demo_member(ApiHost& api, const std::string& email, const std::string& role) {
  auto inv = api.call("POST", kDemo + "/invitations", {{"email", email}, {"role", role}}, api.master());
  INFO(inv.raw);
  REQUIRE(inv.status == 201);
  auto accepted = api.call("POST", "/api/v1/auth/invitations/accept",
                           {{"token", inv.body["token"]}, {"name", email}, {"password", "member-password"}});
  INFO(accepted.raw);
  REQUIRE(accepted.status == 200);
  const std::string token = accepted.body["access_token"];
  auto me = api.call("GET", "/api/v1/me", nullptr, {{"Authorization", "Bearer " + token}});
  REQUIRE(me.status == 200);
  return {token, me.body["id"]};
}

Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string demo_key(ApiHost& api, const json& scopes) {
  auto key = api.call("POST", kDemo + "/api-keys", {{"name", "scoped"}, {"scopes", scopes}}, api.master());
  INFO(key.raw);
  REQUIRE(key.status == 201);
  return key.body["key"];
}

void require_field_error(const ApiResult& r, int status, const std::string& code, const std::string& field) {
  require_error(r, status, code);
  INFO(r.raw);
  CHECK(r.body["error"]["details"]["field"] == field);
}

void require_bad(const ApiResult& r, const std::string& field) {
  require_field_error(r, 400, "invalid_argument", field);
}

json data_of(const ApiResult& r) {
  INFO(r.raw);
  REQUIRE(r.status == 200);
  return r.body["data"];
}

std::set<std::string> ids_of(const json& data) {
  std::set<std::string> out;
  for (const auto& item : data) out.insert(item["id"].get<std::string>());
  return out;
}

size_t outbound_in_api(ApiHost& api) {
  return data_of(api.call("GET", kDemo + "/messages?direction=out&limit=200", nullptr, api.master())).size();
}

}  // namespace

TEST_CASE("conversations: list with filters and paging, one with its contact", "[api]") {
  TempDir dir("sb-api-conv");
  ApiHost api(dir.path());
  const auto a = inject(api, "+15551110001", "hello");
  const auto b = inject(api, "+15551110002", "hello");
  const auto c = inject(api, "+15551110003", "hello");
  const std::string base = kDemo + "/conversations";
  // The demo's welcome flow answers each: its replies move the
  // conversations' updated_at, the sort key of the pages, so they must all
  // be in before paging (a row updated between two pages may move past the
  // cursor). A reply is queued in the write that touches its conversation,
  // so once the sandbox has sent all three, nothing moves any more.
  REQUIRE(sb::test::eventually([&] { return outbound(api).size() >= 3; }));

  auto all = data_of(api.call("GET", base, nullptr, api.master()));
  CHECK(ids_of(all) == std::set<std::string>{a.conversation_id, b.conversation_id, c.conversation_id});

  // Pages of two: every conversation once, then no cursor.
  auto first = api.call("GET", base + "?limit=2", nullptr, api.master());
  REQUIRE(first.status == 200);
  REQUIRE(first.body["data"].size() == 2);
  REQUIRE(first.body["next_cursor"].is_string());
  auto second = api.call("GET", base + "?limit=2&cursor=" + first.body["next_cursor"].get<std::string>(), nullptr,
                         api.master());
  REQUIRE(second.status == 200);
  REQUIRE(second.body["data"].size() == 1);
  CHECK(second.body["next_cursor"].is_null());
  auto paged = ids_of(first.body["data"]);
  paged.merge(ids_of(second.body["data"]));
  CHECK(paged.size() == 3);

  CHECK(data_of(api.call("GET", base + "?status=open", nullptr, api.master())).size() == 3);
  CHECK(data_of(api.call("GET", base + "?status=resolved", nullptr, api.master())).empty());
  CHECK(data_of(api.call("GET", base + "?mode=bot", nullptr, api.master())).size() == 3);
  CHECK(data_of(api.call("GET", base + "?mode=human", nullptr, api.master())).empty());
  CHECK(data_of(api.call("GET", base + "?assignee=", nullptr, api.master())).size() == 3);
  CHECK(data_of(api.call("GET", base + "?assignee=usr_nobody", nullptr, api.master())).empty());
  CHECK(data_of(api.call("GET", base + "?profile_id=demo", nullptr, api.master())).size() == 3);
  CHECK(data_of(api.call("GET", base + "?profile_id=other", nullptr, api.master())).empty());

  auto one = api.call("GET", base + "/" + b.conversation_id, nullptr, api.master());
  INFO(one.raw);
  REQUIRE(one.status == 200);
  CHECK(one.body["id"] == b.conversation_id);
  CHECK(one.body["status"] == "open");
  CHECK(one.body["mode"] == "bot");
  CHECK(one.body["assignee"].is_null());
  CHECK(one.body["contact"]["phone"] == "+15551110002");
  const std::string contact_id = one.body["contact"]["id"];
  CHECK(one.body["contact_id"] == contact_id);
  auto by_contact = data_of(api.call("GET", base + "?contact_id=" + contact_id, nullptr, api.master()));
  REQUIRE(by_contact.size() == 1);
  CHECK(by_contact[0]["id"] == b.conversation_id);

  // Bad filters name the parameter.
  require_field_error(api.call("GET", base + "?status=closed", nullptr, api.master()), 400, "invalid_argument",
                      "status");
  require_field_error(api.call("GET", base + "?mode=robot", nullptr, api.master()), 400, "invalid_argument", "mode");
  require_field_error(api.call("GET", base + "?state=open", nullptr, api.master()), 400, "invalid_argument", "state");
  require_field_error(api.call("GET", base + "?profile_id=", nullptr, api.master()), 400, "invalid_argument",
                      "profile_id");
  require_field_error(api.call("GET", base + "?limit=0", nullptr, api.master()), 400, "invalid_argument", "limit");
  require_field_error(api.call("GET", base + "?cursor=garbage", nullptr, api.master()), 400, "invalid_argument",
                      "cursor");
  require_field_error(api.call("GET", base + "/cnv_nope", nullptr, api.master()), 404, "not_found", "conversation_id");

  // A conversation's messages, newest first.
  inject(api, "+15551110001", "second message");
  REQUIRE(eventually([&] {
    auto msgs = data_of(api.call("GET", base + "/" + a.conversation_id + "/messages", nullptr, api.master()));
    return msgs.size() >= 2;
  }, kWait));
  auto msgs = data_of(api.call("GET", base + "/" + a.conversation_id + "/messages", nullptr, api.master()));
  for (size_t i = 1; i < msgs.size(); ++i) CHECK(msgs[i - 1]["created_at"] >= msgs[i]["created_at"]);
  bool saw_second = false;
  for (const auto& m : msgs) {
    CHECK(m["conversation_id"] == a.conversation_id);
    saw_second = saw_second || m["text"] == "second message";
  }
  CHECK(saw_second);
  auto page1 = api.call("GET", base + "/" + a.conversation_id + "/messages?limit=1", nullptr, api.master());
  REQUIRE(page1.status == 200);
  CHECK(page1.body["data"].size() == 1);
  CHECK(page1.body["next_cursor"].is_string());
  require_field_error(api.call("GET", base + "/cnv_nope/messages", nullptr, api.master()), 404, "not_found",
                      "conversation_id");
}

TEST_CASE("conversations: assign, handoff, handback, resolve and reopen; the bot is quiet while a human has it",
          "[api]") {
  TempDir dir("sb-api-conv-change");
  ApiHost api(dir.path());
  const auto [operator_token, operator_id] = demo_member(api, "agent@demo.example.com", "operator");
  const auto outsider = api.make_tenant("out");
  const auto outsider_id =
      api.call("GET", "/api/v1/me", nullptr, outsider.owner_auth()).body["id"].get<std::string>();
  const auto in = inject(api, "+15552220001", "hello");
  const std::string conv = kDemo + "/conversations/" + in.conversation_id;
  // The welcome menu answers first.
  REQUIRE(eventually([&] { return outbound(api).size() == 1; }, kWait));

  // Assigning to a member hands the conversation to that person.
  auto assigned = api.call("POST", conv + "/assign", {{"assignee", operator_id}}, api.master());
  INFO(assigned.raw);
  REQUIRE(assigned.status == 200);
  CHECK(assigned.body["assignee"] == operator_id);
  CHECK(assigned.body["mode"] == "human");
  CHECK(assigned.body["contact"]["phone"] == "+15552220001");
  CHECK(data_of(api.call("GET", kDemo + "/conversations?assignee=" + operator_id, nullptr, api.master())).size() == 1);
  CHECK(data_of(api.call("GET", kDemo + "/conversations?assignee=", nullptr, api.master())).empty());
  CHECK(data_of(api.call("GET", kDemo + "/conversations?mode=human", nullptr, api.master())).size() == 1);

  // Someone outside the workspace cannot be assigned; bad bodies name the field.
  require_field_error(api.call("POST", conv + "/assign", {{"assignee", outsider_id}}, api.master()), 400,
                      "invalid_argument", "assignee");
  require_field_error(api.call("POST", conv + "/assign", {{"assignee", "usr_nobody"}}, api.master()), 400,
                      "invalid_argument", "assignee");
  require_field_error(api.call("POST", conv + "/assign", json::object(), api.master()), 400, "invalid_argument",
                      "assignee");
  require_field_error(api.call("POST", conv + "/assign", {{"assignee", 5}}, api.master()), 400, "invalid_argument",
                      "assignee");
  require_field_error(api.call("POST", conv + "/assign", {{"assignee", ""}}, api.master()), 400, "invalid_argument",
                      "assignee");
  require_field_error(api.call("POST", conv + "/assign", {{"assignee", nullptr}, {"note", "x"}}, api.master()), 400,
                      "invalid_argument", "note");
  require_field_error(api.call("POST", kDemo + "/conversations/cnv_nope/assign", {{"assignee", operator_id}},
                               api.master()),
                      404, "not_found", "conversation_id");
  CHECK(api.call("GET", conv, nullptr, api.master()).body["assignee"] == operator_id);

  // While a human has it, a message gets no bot answer.
  const auto quiet = inject(api, "+15552220001", "ping");
  REQUIRE(eventually([&] {
    for (const auto& m : data_of(api.call("GET", conv + "/messages", nullptr, api.master())))
      if (m["id"] == quiet.message_id) return m["handled"] == true;
    return false;
  }, kWait));
  CHECK(outbound(api).size() == 1);

  // Unassigning keeps the human mode; handing back gives it to the bot.
  auto unassigned = api.call("POST", conv + "/assign", {{"assignee", nullptr}}, bearer(operator_token));
  REQUIRE(unassigned.status == 200);
  CHECK(unassigned.body["assignee"].is_null());
  CHECK(unassigned.body["mode"] == "human");
  auto back = api.call("POST", conv + "/handback", nullptr, bearer(operator_token));
  INFO(back.raw);
  REQUIRE(back.status == 200);
  CHECK(back.body["mode"] == "bot");
  auto again = api.call("POST", conv + "/handback", nullptr, bearer(operator_token));
  REQUIRE(again.status == 200);  // nothing to change: still 200
  CHECK(again.body["mode"] == "bot");
  // (The welcome menu still waits for a button: it answers "not understood"
  // and asks again.)
  inject(api, "+15552220001", "hello again");
  REQUIRE(eventually([&] { return outbound(api).size() >= 2; }, kWait));

  auto taken = api.call("POST", conv + "/handoff", nullptr, api.master());
  REQUIRE(taken.status == 200);
  CHECK(taken.body["mode"] == "human");
  require_field_error(api.call("POST", conv + "/handoff", {{"mode", "human"}}, api.master()), 400, "invalid_argument",
                      "mode");

  // Resolve, reopen.
  auto resolved = api.call("POST", conv + "/resolve", nullptr, api.master());
  INFO(resolved.raw);
  REQUIRE(resolved.status == 200);
  CHECK(resolved.body["status"] == "resolved");
  CHECK(data_of(api.call("GET", kDemo + "/conversations?status=resolved", nullptr, api.master())).size() == 1);
  CHECK(api.call("POST", conv + "/resolve", nullptr, api.master()).status == 200);
  auto reopened = api.call("POST", conv + "/reopen", nullptr, api.master());
  REQUIRE(reopened.status == 200);
  CHECK(reopened.body["status"] == "open");

  // A new message after resolving opens a new conversation; the old one
  // cannot be reopened next to it.
  REQUIRE(api.call("POST", conv + "/resolve", nullptr, api.master()).status == 200);
  const auto fresh = inject(api, "+15552220001", "new topic");
  CHECK(fresh.conversation_id != in.conversation_id);
  require_error(api.call("POST", conv + "/reopen", nullptr, api.master()), 409, "conflict");
  CHECK(api.call("GET", conv, nullptr, api.master()).body["status"] == "resolved");
  for (const char* action : {"resolve", "reopen", "handback", "handoff"})
    require_field_error(api.call("POST", kDemo + "/conversations/cnv_nope/" + action, nullptr, api.master()), 404,
                        "not_found", "conversation_id");

  // Each change reached the event stream once, as conversation.updated.
  auto c = api.host().client();
  httplib::Headers h = {{"X-API-Key", ApiHost::kMasterKey}, {"Last-Event-ID", "999999999"}};
  std::string stream;
  auto res = c->Get("/api/v1/events?workspace_id=demo", h, [&](const char* data, size_t len) {
    stream.append(data, len);
    return stream.find(fresh.message_id) == std::string::npos;  // the last event of interest
  });
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = stream.find(needle); at != std::string::npos; at = stream.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count("\"change\":\"assigned\"") == 2);
  CHECK(count("\"change\":\"handoff\"") == 1);
  CHECK(count("\"change\":\"handoff_released\"") == 1);
  CHECK(count("\"change\":\"resolved\"") == 2);
  CHECK(count("\"change\":\"reopened\"") == 1);
}

TEST_CASE("messages: sent through the outbox reach the sandbox; listed and searched", "[api]") {
  TempDir dir("sb-api-send");
  ApiHost api(dir.path());
  const auto in = inject(api, "+15553330001", "hello");
  const std::string conv = kDemo + "/conversations/" + in.conversation_id;

  auto sent = api.call("POST", conv + "/messages", {{"text", "an agent writes"}}, api.master());
  INFO(sent.raw);
  REQUIRE(sent.status == 202);
  CHECK(sent.body["status"] == "queued");
  CHECK(sent.body["conversation_id"] == in.conversation_id);
  const std::string message_id = sent.body["message_id"];
  REQUIRE(eventually([&] { return sandbox_sent(api, "+15553330001", "an agent writes"); }, kWait));
  REQUIRE(eventually([&] {
    auto m = data_of(api.call("GET", kDemo + "/messages?conversation_id=" + in.conversation_id, nullptr, api.master()));
    for (const auto& x : m)
      if (x["id"] == message_id) return x["status"] == "read" && x["direction"] == "out";
    return false;
  }, kWait));

  // Other types carry their fields in payload; 4096 characters are allowed.
  auto image = api.call("POST", conv + "/messages",
                        {{"type", "image"}, {"text", "a caption"}, {"payload", {{"url", "https://example.com/a.png"}}}},
                        api.master());
  INFO(image.raw);
  REQUIRE(image.status == 202);
  std::string long_text;
  for (int i = 0; i < 4096; ++i) long_text += "\xC3\xA9";  // é: 2 bytes, 1 character
  REQUIRE(api.call("POST", conv + "/messages", {{"text", long_text}}, api.master()).status == 202);
  REQUIRE(eventually([&] {
    for (const auto& m : outbound(api))
      if (m["type"] == "image") return m["url"] == "https://example.com/a.png" && m["text"] == "a caption";
    return false;
  }, kWait));

  // To a phone without naming the conversation: the contact and a
  // conversation are made as needed; then again by contact id.
  auto by_phone = api.call("POST", kDemo + "/messages",
                           {{"profile_id", "demo"}, {"to", "+1 (555) 333-0002"}, {"text", "first contact"}},
                           api.master());
  INFO(by_phone.raw);
  REQUIRE(by_phone.status == 202);
  const std::string new_conv = by_phone.body["conversation_id"];
  const std::string contact_id = by_phone.body["contact_id"];
  CHECK(new_conv != in.conversation_id);
  auto by_contact = api.call("POST", kDemo + "/messages",
                             {{"profile_id", "demo"}, {"contact_id", contact_id}, {"text", "second"}}, api.master());
  INFO(by_contact.raw);
  REQUIRE(by_contact.status == 202);
  CHECK(by_contact.body["conversation_id"] == new_conv);
  REQUIRE(eventually([&] { return sandbox_sent(api, "+15553330002", "second"); }, kWait));
  CHECK(sandbox_sent(api, "+15553330002", "first contact"));
  auto opened = api.call("GET", kDemo + "/conversations/" + new_conv, nullptr, api.master());
  CHECK(opened.body["contact"]["phone"] == "+15553330002");

  // Search.
  auto outs =
      data_of(api.call("GET", kDemo + "/messages?direction=out&contact_id=" + contact_id, nullptr, api.master()));
  REQUIRE(outs.size() == 2);
  CHECK(std::set<std::string>{outs[0]["text"], outs[1]["text"]} == std::set<std::string>{"first contact", "second"});
  CHECK(outs[0]["created_at"] >= outs[1]["created_at"]);  // newest first
  auto ins = data_of(api.call("GET", kDemo + "/messages?direction=in&profile_id=demo", nullptr, api.master()));
  REQUIRE(ins.size() == 1);
  CHECK(ins[0]["id"] == in.message_id);
  CHECK(data_of(api.call("GET", kDemo + "/messages?status=received", nullptr, api.master())).size() == 1);
  require_field_error(api.call("GET", kDemo + "/messages?direction=sideways", nullptr, api.master()), 400,
                      "invalid_argument", "direction");
  require_field_error(api.call("GET", kDemo + "/messages?status=lost", nullptr, api.master()), 400, "invalid_argument",
                      "status");
  require_field_error(api.call("GET", kDemo + "/messages?text=x", nullptr, api.master()), 400, "invalid_argument",
                      "text");
  auto page = api.call("GET", kDemo + "/messages?limit=2", nullptr, api.master());
  REQUIRE(page.status == 200);
  CHECK(page.body["data"].size() == 2);
  CHECK(page.body["next_cursor"].is_string());

  // A resolved conversation takes no message until it is reopened.
  REQUIRE(api.call("POST", conv + "/resolve", nullptr, api.master()).status == 200);
  require_error(api.call("POST", conv + "/messages", {{"text", "too late"}}, api.master()), 409, "conflict");
}

TEST_CASE("messages: bad input and opted-out contacts are refused naming the field, and nothing is queued", "[api]") {
  TempDir dir("sb-api-send-bad");
  ApiHost api(dir.path());
  const auto in = inject(api, "+15554440001", "hello");
  const std::string conv = kDemo + "/conversations/" + in.conversation_id;
  REQUIRE(eventually([&] { return outbound_in_api(api) == 1; }, kWait));  // the welcome menu
  const auto m = api.master();
  const std::string send = conv + "/messages";
  const std::string ws_send = kDemo + "/messages";

  require_bad(api.call("POST", send, {{"text", ""}}, m), "text");
  require_bad(api.call("POST", send, json::object(), m), "text");
  require_bad(api.call("POST", send, {{"text", 7}}, m), "text");
  require_bad(api.call("POST", send, {{"text", std::string(4097, 'x')}}, m), "text");
  require_bad(api.call("POST", send, {{"type", "hologram"}, {"text", "x"}}, m), "type");
  require_bad(api.call("POST", send, {{"type", "image"}}, m), "payload");
  require_bad(api.call("POST", send, {{"text", "x"}, {"payload", "url"}}, m), "payload");
  require_bad(api.call("POST", send, {{"text", "x"}, {"to", "+15550000000"}}, m), "to");
  require_field_error(api.call("POST", kDemo + "/conversations/cnv_nope/messages", {{"text", "x"}}, m), 404,
                      "not_found", "conversation_id");
  auto c = api.host().client();
  httplib::Headers h = {{"X-API-Key", ApiHost::kMasterKey}};
  for (const std::string& path : {send, ws_send}) {
    auto res = c->Post(path.c_str(), h, "{\"text\": ", "application/json");
    REQUIRE(res);
    CHECK(res->status == 400);
    auto arr = c->Post(path.c_str(), h, "[1]", "application/json");
    REQUIRE(arr);
    CHECK(arr->status == 400);
  }

  const json to_new = {{"profile_id", "demo"}, {"to", "+15554440002"}, {"text", "x"}};
  auto with = [&](json body, const char* field, json value) {
    if (value.is_null()) body.erase(field);
    else body[field] = std::move(value);
    return body;
  };
  require_bad(api.call("POST", ws_send, with(to_new, "profile_id", nullptr), m), "profile_id");
  require_field_error(api.call("POST", ws_send, with(to_new, "profile_id", "nope"), m), 404, "not_found",
                      "profile_id");
  require_bad(api.call("POST", ws_send, with(to_new, "to", nullptr), m), "to");
  require_bad(api.call("POST", ws_send, with(to_new, "to", "555"), m), "to");
  require_bad(api.call("POST", ws_send, with(to_new, "contact_id", "ct_x"), m), "to");
  require_field_error(api.call("POST", ws_send, with(with(to_new, "to", nullptr), "contact_id", "ct_nope"), m), 404,
                      "not_found", "contact_id");
  require_bad(api.call("POST", ws_send, with(to_new, "text", ""), m), "text");
  require_bad(api.call("POST", ws_send, with(to_new, "type", "hologram"), m), "type");
  require_bad(api.call("POST", ws_send, with(to_new, "priority", "high"), m), "priority");

  // An opted-out contact gets nothing, by conversation, phone or contact id.
  const std::string contact_id = api.call("GET", conv, nullptr, m).body["contact_id"];
  // Opted out in the database file: this test must not depend on the
  // contacts routes, and the host reads the flag from the row on every send.
  {
    SQLite::Database db(api.host().db_path().string(), SQLite::OPEN_READWRITE);
    db.setBusyTimeout(5000);
    db.exec("UPDATE contacts SET opted_out = 1 WHERE id = '" + contact_id + "'");
  }
  auto refused = api.call("POST", send, {{"text", "promo"}}, m);
  require_error(refused, 409, "conflict");
  CHECK(refused.body["error"]["message"].get<std::string>().find("opted out") != std::string::npos);
  require_error(api.call("POST", ws_send, {{"profile_id", "demo"}, {"to", "+15554440001"}, {"text", "promo"}}, m), 409,
                "conflict");
  require_error(api.call("POST", ws_send, {{"profile_id", "demo"}, {"contact_id", contact_id}, {"text", "promo"}}, m),
                409, "conflict");

  // Nothing was queued, and no contact was made for the refused phone.
  CHECK(outbound_in_api(api) == 1);
  CHECK(outbound(api).size() == 1);
  SQLite::Database db(api.host().db_path().string(), SQLite::OPEN_READONLY);
  CHECK(db.execAndGet("SELECT COUNT(*) FROM contacts").getInt64() == 1);
  CHECK(db.execAndGet("SELECT COUNT(*) FROM outbox").getInt64() == 1);
}

TEST_CASE("conversations: another tenant's ids are not found on every route", "[api]") {
  TempDir dir("sb-api-conv-tenancy");
  ApiHost api(dir.path());
  const auto b = api.make_tenant("b");
  const auto in = inject(api, "+15555550001", "hello");
  const std::string id = in.conversation_id;
  const std::string mine = "/api/v1/workspaces/" + b.workspace_id;

  struct Route {
    std::string method, suffix;
    json body;
  };
  const std::vector<Route> routes = {
      {"GET", "/conversations", nullptr},
      {"GET", "/conversations/" + id, nullptr},
      {"POST", "/conversations/" + id + "/assign", {{"assignee", nullptr}}},
      {"POST", "/conversations/" + id + "/resolve", nullptr},
      {"POST", "/conversations/" + id + "/reopen", nullptr},
      {"POST", "/conversations/" + id + "/handback", nullptr},
      {"POST", "/conversations/" + id + "/handoff", nullptr},
      {"GET", "/conversations/" + id + "/messages", nullptr},
      {"POST", "/conversations/" + id + "/messages", {{"text", "x"}}},
      {"GET", "/messages", nullptr},
      {"POST", "/messages", {{"profile_id", "demo"}, {"to", "+15555550001"}, {"text", "x"}}},
  };
  for (const auto& r : routes) {
    INFO(r.method << " " << r.suffix);
    // The demo workspace itself: not B's to see.
    require_error(api.call(r.method, kDemo + r.suffix, r.body, b.owner_auth()), 404, "not_found");
    require_error(api.call(r.method, kDemo + r.suffix, r.body, b.key_auth()), 404, "not_found");
    // Demo's ids in B's own workspace.
    if (r.suffix != "/conversations" && r.suffix != "/messages")
      require_error(api.call(r.method, mine + r.suffix, r.body, b.owner_auth()), 404, "not_found");
  }
  const json to_demo_profile = {{"profile_id", "demo"}, {"to", "+15555550001"}, {"text", "x"}};
  require_field_error(api.call("POST", mine + "/messages", to_demo_profile, b.owner_auth()), 404, "not_found",
                      "profile_id");
  CHECK(data_of(api.call("GET", mine + "/conversations", nullptr, b.owner_auth())).empty());
  CHECK(data_of(api.call("GET", mine + "/messages?conversation_id=" + id, nullptr, b.owner_auth())).empty());

  // Nothing changed in demo's conversation, and nothing was sent.
  auto conv = api.call("GET", kDemo + "/conversations/" + id, nullptr, api.master());
  CHECK(conv.body["status"] == "open");
  CHECK(conv.body["mode"] == "bot");
  for (const auto& msg : data_of(api.call("GET", kDemo + "/messages?direction=out", nullptr, api.master())))
    CHECK(msg["text"] != "x");
}

TEST_CASE("conversations: a viewer and a read key may list but not send; operators and send keys may", "[api]") {
  TempDir dir("sb-api-conv-roles");
  ApiHost api(dir.path());
  const auto in = inject(api, "+15556660001", "hello");
  const std::string conv = kDemo + "/conversations/" + in.conversation_id;
  const auto viewer = bearer(demo_member(api, "viewer@demo.example.com", "viewer").first);
  const auto agent = bearer(demo_member(api, "agent@demo.example.com", "operator").first);
  const Headers read_key = {{"X-API-Key", demo_key(api, {"read"})}};
  const Headers send_key = {{"X-API-Key", demo_key(api, {"send"})}};
  const json text = {{"text", "from the API"}};
  const json to_phone = {{"profile_id", "demo"}, {"to", "+15556660001"}, {"text", "from the API"}};

  for (const auto& who : {viewer, read_key}) {
    CHECK(data_of(api.call("GET", kDemo + "/conversations", nullptr, who)).size() == 1);
    CHECK(api.call("GET", conv, nullptr, who).status == 200);
    CHECK(api.call("GET", conv + "/messages", nullptr, who).status == 200);
    CHECK(api.call("GET", kDemo + "/messages", nullptr, who).status == 200);
    require_error(api.call("POST", conv + "/messages", text, who), 403, "forbidden");
    require_error(api.call("POST", kDemo + "/messages", to_phone, who), 403, "forbidden");
    require_error(api.call("POST", conv + "/resolve", nullptr, who), 403, "forbidden");
    require_error(api.call("POST", conv + "/assign", {{"assignee", nullptr}}, who), 403, "forbidden");
  }
  // A send key sends, but handling conversations needs the manage scope.
  CHECK(api.call("POST", conv + "/messages", text, send_key).status == 202);
  CHECK(api.call("POST", kDemo + "/messages", to_phone, send_key).status == 202);
  require_error(api.call("POST", conv + "/handoff", nullptr, send_key), 403, "forbidden");
  // An operator does both.
  CHECK(api.call("POST", conv + "/messages", text, agent).status == 202);
  CHECK(api.call("POST", conv + "/handoff", nullptr, agent).status == 200);
  REQUIRE(eventually([&] {
    size_t n = 0;
    for (const auto& m : outbound(api)) n += m["text"] == "from the API" ? 1 : 0;
    return n == 3;
  }, kWait));
}
