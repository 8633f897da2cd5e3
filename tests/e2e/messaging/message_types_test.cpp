// Every message type end to end through a real host: sent over the API,
// read back from the sandbox channel's outbound log in the host's shape;
// bad messages refused naming the reason with nothing queued; statuses
// queued -> sent -> delivered -> read on the message and as events, and a
// channel's failures (transient: retried; permanent: failed with the
// reason); groups on the sandbox, and "not supported" on a channel without.
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <regex>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::Tenant;
using sb::test::TempDir;

namespace {

constexpr std::chrono::seconds kWait{20};  // a real process on a shared 2-core machine
// The tests poll the API: its rate limits are not what is tested here.
const json kNoLimits = {{"user_rate", 10000}, {"user_burst", 10000}, {"key_rate", 10000}, {"key_burst", 10000}};

std::string ws_path(const Tenant& t) { return "/api/v1/workspaces/" + t.workspace_id; }

// A sandbox number of `t`'s, connected at once, with quick receipts.
void make_sandbox(ApiHost& api, const Tenant& t, const std::string& id, int receipt_delay_ms = 20) {
  auto made = api.call("POST", ws_path(t) + "/profiles",
                       {{"id", id},
                        {"name", "Number " + id},
                        {"channel_plugin", "channel-sandbox"},
                        {"config", {{"auto_pair", true}, {"receipt_delay_ms", receipt_delay_ms}}},
                        {"connect", true}},
                       t.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
}

ApiResult send(ApiHost& api, const Tenant& t, const std::string& profile, const std::string& to, const json& message) {
  json body = message;
  body["profile_id"] = profile;
  body["to"] = to;
  return api.call("POST", ws_path(t) + "/messages", body, t.key_auth());
}

// What the sandbox number `profile` was asked to send, oldest first.
json outbound(ApiHost& api, const std::string& profile) {
  auto c = api.host().client();
  auto res = c->Get(("/hooks/channel-sandbox/" + profile + "/outbound").c_str());
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body)["messages"];
}

// The sandbox's record of our message `message_id`, or null.
json sent_record(ApiHost& api, const std::string& profile, const std::string& message_id) {
  for (const auto& m : outbound(api, profile))
    if (m.value("message_id", "") == message_id) return m;
  return nullptr;
}

json wait_for_record(ApiHost& api, const std::string& profile, const std::string& message_id) {
  json record;
  const bool seen = eventually([&] {
    record = sent_record(api, profile, message_id);
    return !record.is_null();
  }, kWait);
  INFO("message " << message_id);
  REQUIRE(seen);
  return record;
}

json message_of(ApiHost& api, const Tenant& t, const std::string& message_id) {
  auto list = api.call("GET", ws_path(t) + "/messages?direction=out&limit=200", nullptr, t.key_auth());
  REQUIRE(list.status == 200);
  for (const auto& m : list.body["data"])
    if (m["id"] == message_id) return m;
  return nullptr;
}

void tell_sandbox_to_fail(ApiHost& api, const std::string& profile, const json& plan) {
  auto c = api.host().client();
  auto res = c->Post(("/hooks/channel-sandbox/" + profile + "/fail").c_str(), plan.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

int64_t outbound_rows(ApiHost& api) {
  return sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out'") +
         sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM outbox");
}

void require_refused(const ApiResult& r, int status, const std::string& field, const std::string& words) {
  INFO("expected a refusal naming " << field << ": " << r.raw);
  REQUIRE(r.status == status);
  REQUIRE(r.body.is_object());
  CHECK(r.body["error"]["details"]["field"] == field);
  CHECK(r.body["error"]["message"].get<std::string>().find(words) != std::string::npos);
}

// Reads an event stream on its own thread until destroyed.
class EventStream {
 public:
  EventStream(uint16_t port, const Headers& headers) {
    thread_ = std::thread([this, port, headers] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      httplib::Headers h;
      for (const auto& [k, v] : headers) h.emplace(k, v);
      c.Get("/api/v1/events", h, [&](const char* data, size_t n) {
        std::lock_guard<std::mutex> lock(mu_);
        raw_.append(data, n);
        return !stop_.load();
      });
    });
  }
  ~EventStream() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool open() {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_.find(": heartbeat") != std::string::npos || raw_.find("event: ") != std::string::npos;
  }
  std::string raw() {
    std::lock_guard<std::mutex> lock(mu_);
    return raw_;
  }
  // {type, the event's data} of every complete event so far.
  std::vector<std::pair<std::string, json>> events() {
    std::string text;
    {
      std::lock_guard<std::mutex> lock(mu_);
      text = raw_;
    }
    static const std::regex kBlock(R"(id: \d+\nevent: ([^\n]+)\ndata: ([^\n]+)\n\n)");
    std::vector<std::pair<std::string, json>> out;
    for (std::sregex_iterator it(text.begin(), text.end(), kBlock), end; it != end; ++it)
      out.emplace_back((*it)[1], json::parse((*it)[2].str()).value("data", json::object()));
    return out;
  }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::string raw_;
  std::atomic<bool> stop_{false};
};

}  // namespace

TEST_CASE("every message type goes through the API to the sandbox in the host's shape", "[messaging][types]") {
  TempDir dir("sb-msg-types");
  ApiHost api(dir.path(), kNoLimits);
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");
  const std::string to = "+15557770001";

  // A first text, so that there is a sent message to react to.
  auto first = send(api, a, "a-num", to, {{"text", "hello"}});
  INFO(first.raw);
  REQUIRE(first.status == 202);
  const std::string first_id = first.body["message_id"];
  const json first_record = wait_for_record(api, "a-num", first_id);
  CHECK(first_record["type"] == "text");
  CHECK(first_record["text"] == "hello");
  REQUIRE(eventually([&] { return message_of(api, a, first_id)["external_id"].is_string(); }, kWait));
  const std::string first_external = message_of(api, a, first_id)["external_id"];

  const std::string blob = "blob:" + std::string(64, 'f');
  // type, text, payload as sent; then what the channel must have been given.
  struct Case {
    std::string type;
    std::string text;
    json payload;
    json expected;  // fields of the channel's message
  };
  const std::vector<Case> cases = {
      {"text", "with a link https://example.com", {{"preview_url", true}}, {{"preview_url", true}}},
      {"image", "", {{"url", "https://example.com/a.png"}, {"caption", "a photo"}},
       {{"url", "https://example.com/a.png"}, {"caption", "a photo"}}},
      {"image", "from the text", {{"media_id", "1234567890"}}, {{"media_id", "1234567890"}, {"caption", "from the text"}}},
      {"video", "", {{"url", "https://example.com/v.mp4"}}, {{"url", "https://example.com/v.mp4"}}},
      {"audio", "", {{"blob", blob}, {"mime_type", "audio/ogg"}}, {{"blob", blob}, {"mime_type", "audio/ogg"}}},
      {"document", "", {{"url", "https://example.com/r.pdf"}, {"filename", "report.pdf"}},
       {{"url", "https://example.com/r.pdf"}, {"filename", "report.pdf"}}},
      {"sticker", "", {{"url", "https://example.com/s.webp"}}, {{"url", "https://example.com/s.webp"}}},
      {"location", "", {{"latitude", 38.7223}, {"longitude", -9.1393}, {"name", "Lisbon"}},
       {{"latitude", 38.7223}, {"longitude", -9.1393}, {"name", "Lisbon"}}},
      {"contact", "", {{"contacts", {{{"name", "Ana Silva"}, {"phones", {{{"phone", "+15551234567"}}}}}}}},
       {{"contacts", {{{"name", "Ana Silva"}, {"phones", {{{"phone", "+15551234567"}}}}}}}}},
      {"poll", "", {{"poll", {{"question", "Lunch?"}, {"options", {"Pizza", "Sushi", "Salad"}}, {"multiple", true}}}},
       {{"poll", {{"question", "Lunch?"}, {"options", {"Pizza", "Sushi", "Salad"}}, {"multiple", true}}}}},
      {"interactive", "Pick one",
       {{"interactive", {{"type", "button"}, {"buttons", {{{"id", "yes"}, {"title", "Yes"}}, {{"id", "no"}, {"title", "No"}}}}}}},
       {{"interactive", {{"type", "button"}, {"body", "Pick one"},
                         {"buttons", {{{"id", "yes"}, {"title", "Yes"}}, {{"id", "no"}, {"title", "No"}}}}}}}},
      // The Cloud API spelling is accepted and rewritten.
      {"interactive", "",
       {{"interactive", {{"type", "list"}, {"body", {{"text", "Menu"}}},
                         {"action", {{"button", "Open"}, {"sections", {{{"title", "Food"}, {"rows", {{{"id", "f1"}, {"title", "Soup"}, {"description", "hot"}}}}}}}}}}}},
       {{"interactive", {{"type", "list"}, {"body", "Menu"}, {"button", "Open"},
                         {"sections", {{{"title", "Food"}, {"rows", {{{"id", "f1"}, {"title", "Soup"}, {"description", "hot"}}}}}}}}}}},
      {"reaction", "", {{"reaction", {{"message_id", first_id}, {"emoji", "👍"}}}},
       {{"reaction", {{"message_id", first_id}, {"external_id", first_external}, {"emoji", "👍"}}}}},
      {"template", "", {{"template", {{"name", "order_update"}, {"language", "en_US"}, {"parameters", {"Ana", "42"}}}}},
       {{"template", {{"name", "order_update"}, {"language", "en_US"}, {"parameters", {"Ana", "42"}}}}}},
  };
  std::vector<std::string> ids;
  for (const Case& c : cases) {
    json body = {{"type", c.type}, {"payload", c.payload}};
    if (!c.text.empty()) body["text"] = c.text;
    auto r = send(api, a, "a-num", to, body);
    INFO(c.type << ": " << r.raw);
    REQUIRE(r.status == 202);
    CHECK(r.body["status"] == "queued");
    ids.push_back(r.body["message_id"]);
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const json record = wait_for_record(api, "a-num", ids[i]);
    INFO(cases[i].type << ": " << record.dump());
    CHECK(record["type"] == cases[i].type);
    CHECK(record["to"] == to);
    for (const auto& [field, value] : cases[i].expected.items()) CHECK(record[field] == value);
    // The payload is stored as the channel got it.
    const json stored = message_of(api, a, ids[i]);
    for (const auto& [field, value] : cases[i].expected.items()) CHECK(stored["payload"][field] == value);
  }
}

TEST_CASE("bad messages are refused with a 4xx naming the reason, and nothing is queued", "[messaging][types]") {
  TempDir dir("sb-msg-bad");
  ApiHost api(dir.path(), kNoLimits,
              {{"SWITCHBOARD_PLUGIN_PATH",
                std::string(SB_PLUGIN_DIR) + ":" + (std::filesystem::path(SB_TEST_PLUGIN_DIR) / "config-channel").string()}});
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");
  const std::string to = "+15557770002";
  const int64_t before = outbound_rows(api);

  const json four_buttons = {{{"id", "1"}, {"title", "A"}}, {{"id", "2"}, {"title", "B"}}, {{"id", "3"}, {"title", "C"}},
                             {{"id", "4"}, {"title", "D"}}};
  require_refused(send(api, a, "a-num", to, {{"type", "interactive"}, {"payload", {{"interactive", {{"type", "button"}, {"body", "x"}, {"buttons", four_buttons}}}}}}),
                  400, "payload.interactive.buttons", "at most 3");
  require_refused(send(api, a, "a-num", to, {{"type", "interactive"}, {"payload", {{"interactive", {{"type", "button"}, {"body", "x"}, {"buttons", {{{"id", "1"}, {"title", "A title that is far too long"}}}}}}}}}),
                  400, "payload.interactive.buttons[0].title", "longer than 20");
  json rows = json::array();
  for (int i = 0; i < 11; ++i) rows.push_back({{"id", std::string("r").append(std::to_string(i))}, {"title", "Row"}});
  require_refused(send(api, a, "a-num", to, {{"type", "interactive"}, {"payload", {{"interactive", {{"type", "list"}, {"body", "x"}, {"button", "Open"}, {"sections", {{{"rows", rows}}}}}}}}}),
                  400, "payload.interactive.sections[0].rows", "at most 10");
  require_refused(send(api, a, "a-num", to, {{"type", "image"}, {"payload", {{"caption", "no file"}}}}), 400,
                  "payload.url", "\"url\", \"media_id\" or \"blob\"");
  require_refused(send(api, a, "a-num", to, {{"type", "image"}, {"payload", {{"url", "file:///etc/passwd"}}}}), 400,
                  "payload.url", "http");
  require_refused(send(api, a, "a-num", to, {{"type", "location"}, {"payload", {{"latitude", 100}, {"longitude", 0}}}}),
                  400, "payload.latitude", "between");
  require_refused(send(api, a, "a-num", to, {{"type", "poll"}, {"payload", {{"poll", {{"question", "Q"}, {"options", {"only one"}}}}}}}),
                  400, "payload.poll.options", "at least 2");
  require_refused(send(api, a, "a-num", to, {{"type", "contact"}, {"payload", {{"contacts", {{{"name", "Ana"}}}}}}}), 400,
                  "payload.contacts[0].phones", "phone or an email");
  require_refused(send(api, a, "a-num", to, {{"type", "template"}, {"payload", {{"template", {{"name", "Bad Name"}, {"language", "en"}}}}}}),
                  400, "payload.template.name", "lower-case");
  require_refused(send(api, a, "a-num", to, {{"type", "text"}, {"text", "hi"}, {"payload", {{"captoin", "x"}}}}), 400,
                  "payload.captoin", "not a field");
  require_refused(send(api, a, "a-num", to, {{"type", "reaction"}, {"payload", {{"reaction", {{"message_id", "msg_nope"}, {"emoji", "👍"}}}}}}),
                  404, "payload.reaction.message_id", "not found");

  // A channel that sends text only refuses the rest before anything is queued.
  auto made = api.call("POST", ws_path(a) + "/profiles",
                       {{"id", "a-text"}, {"name", "Text only"}, {"channel_plugin", "config-channel"},
                        {"config", {{"api_token", "tok-0123456789"}}}, {"connect", true}},
                       a.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  auto refused = send(api, a, "a-text", to, {{"type", "image"}, {"payload", {{"url", "https://example.com/a.png"}}}});
  require_refused(refused, 400, "type", "this channel does not send image messages");
  CHECK(refused.body["error"]["details"]["reason"] == "unsupported");

  CHECK(outbound_rows(api) == before);
  CHECK(outbound(api, "a-num").empty());
}

TEST_CASE("a message's status moves queued -> sent -> delivered -> read, on the message and as events",
          "[messaging][status]") {
  TempDir dir("sb-msg-status");
  json security = kNoLimits;
  security["sse_heartbeat_ms"] = 200;
  ApiHost api(dir.path(), security);
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num", 300);  // receipts slow enough to see each step
  EventStream stream(api.host().port(), a.owner_auth());
  REQUIRE(eventually([&] { return stream.open(); }, kWait));

  auto r = send(api, a, "a-num", "+15557770003", {{"text", "track me"}});
  INFO(r.raw);
  REQUIRE(r.status == 202);
  const std::string id = r.body["message_id"];
  CHECK(r.body["status"] == "queued");

  // Every step is seen on the message itself.
  std::vector<std::string> seen;
  REQUIRE(eventually([&] {
    const std::string status = message_of(api, a, id).value("status", "");
    if (seen.empty() || seen.back() != status) seen.push_back(status);
    return status == "read";
  }, kWait));
  for (size_t i = 1; i < seen.size(); ++i) {
    INFO(seen[i - 1] << " -> " << seen[i]);
    const std::vector<std::string> order = {"queued", "sent", "delivered", "read"};
    CHECK(std::find(order.begin(), order.end(), seen[i - 1]) < std::find(order.begin(), order.end(), seen[i]));
  }
  CHECK(std::find(seen.begin(), seen.end(), "delivered") != seen.end());

  // And as events, in order, each saying whose message it is.
  std::vector<std::string> statuses;
  REQUIRE(eventually([&] {
    statuses.clear();
    for (const auto& [type, data] : stream.events())
      if (type == "message.status" && data.value("message_id", "") == id) statuses.push_back(data["status"]);
    return statuses.size() >= 3;
  }, kWait));
  CHECK(statuses == std::vector<std::string>{"sent", "delivered", "read"});
  for (const auto& [type, data] : stream.events()) {
    if (type != "message.status" || data.value("message_id", "") != id) continue;
    CHECK(data["workspace_id"] == a.workspace_id);
    CHECK(data["organization_id"] == a.organization_id);
    CHECK(data["external_id"].is_string());
    CHECK(data["conversation_id"] == r.body["conversation_id"]);
    CHECK(data["contact_id"] == r.body["contact_id"]);
    CHECK(data["at"].is_number_integer());
    CHECK(data["error"].is_null());
  }
}

TEST_CASE("a permanent channel failure marks the message failed with its reason, and a transient one is retried",
          "[messaging][status]") {
  TempDir dir("sb-msg-fail");
  ApiHost api(dir.path(), kNoLimits);
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");

  tell_sandbox_to_fail(api, "a-num", {{"mode", "permanent"}, {"error", "recipient has blocked this number"}});
  auto r = send(api, a, "a-num", "+15557770004", {{"text", "you will not get this"}});
  REQUIRE(r.status == 202);
  const std::string failed_id = r.body["message_id"];
  REQUIRE(eventually([&] { return message_of(api, a, failed_id).value("status", "") == "failed"; }, kWait));
  const json failed = message_of(api, a, failed_id);
  INFO(failed.dump());
  CHECK(failed["error"].get<std::string>().find("recipient has blocked this number") != std::string::npos);
  CHECK(wait_for_record(api, "a-num", failed_id)["status"] == "failed");

  // Twice unavailable, then through: the outbox retries with the same key.
  tell_sandbox_to_fail(api, "a-num", {{"mode", "transient"}, {"count", 2}});
  auto again = send(api, a, "a-num", "+15557770005", {{"text", "eventually"}});
  REQUIRE(again.status == 202);
  const std::string retried_id = again.body["message_id"];
  REQUIRE(eventually([&] { return message_of(api, a, retried_id).value("status", "") == "read"; }, kWait));
  CHECK(wait_for_record(api, "a-num", retried_id)["text"] == "eventually");
  int copies = 0;
  for (const auto& m : outbound(api, "a-num")) copies += m.value("message_id", "") == retried_id ? 1 : 0;
  CHECK(copies == 1);
  CHECK(sb::test::count(api.host().db_path(),
                        "SELECT attempts FROM outbox WHERE message_id = '" + retried_id + "'") == 3);
}

TEST_CASE("groups round trip on the sandbox, and a channel without groups says so", "[messaging][groups]") {
  TempDir dir("sb-msg-groups");
  ApiHost api(dir.path(), kNoLimits,
              {{"SWITCHBOARD_PLUGIN_PATH",
                std::string(SB_PLUGIN_DIR) + ":" + (std::filesystem::path(SB_TEST_PLUGIN_DIR) / "config-channel").string()}});
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");
  const std::string groups = ws_path(a) + "/profiles/a-num/groups";
  const auto auth = a.key_auth();

  auto created = api.call("POST", groups, {{"subject", "Support team"}, {"participants", {"+15551110001", "+15551110002"}}}, auth);
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const std::string gid = created.body["group_id"];
  CHECK(gid.find("@g.us") != std::string::npos);
  CHECK(created.body["subject"] == "Support team");
  CHECK(created.body["size"] == 3);  // the number itself is the first admin

  auto list = api.call("GET", groups, nullptr, auth);
  REQUIRE(list.status == 200);
  REQUIRE(list.body["data"].size() == 1);
  CHECK(list.body["data"][0]["group_id"] == gid);

  auto renamed = api.call("PATCH", groups + "/" + gid, {{"subject", "Support"}}, auth);
  INFO(renamed.raw);
  REQUIRE(renamed.status == 200);
  CHECK(renamed.body["subject"] == "Support");

  auto added = api.call("POST", groups + "/" + gid + "/participants",
                        {{"action", "add"}, {"participants", {"+15551110003", "+15551110001"}}}, auth);
  INFO(added.raw);
  REQUIRE(added.status == 200);
  CHECK(added.body["results"][0]["ok"] == true);
  CHECK(added.body["results"][1]["ok"] == false);  // already in it
  REQUIRE(api.call("POST", groups + "/" + gid + "/participants", {{"action", "promote"}, {"participants", {"+15551110003"}}}, auth).status == 200);
  REQUIRE(api.call("POST", groups + "/" + gid + "/participants", {{"action", "remove"}, {"participants", {"+15551110002"}}}, auth).status == 200);
  auto info = api.call("GET", groups + "/" + gid, nullptr, auth);
  REQUIRE(info.status == 200);
  CHECK(info.body["subject"] == "Support");
  std::map<std::string, std::string> roles;
  for (const auto& p : info.body["participants"]) roles[p["id"]] = p["role"];
  CHECK(roles == std::map<std::string, std::string>{
                     {"+15550000000", "admin"}, {"+15551110001", "member"}, {"+15551110003", "admin"}});

  // A message to the group: queued, then on the channel with the group's id.
  auto sent = api.call("POST", groups + "/" + gid + "/messages", {{"text", "hello team"}}, auth);
  INFO(sent.raw);
  REQUIRE(sent.status == 202);
  const json record = wait_for_record(api, "a-num", sent.body["message_id"]);
  CHECK(record["group_id"] == gid);
  CHECK(record["to"] == gid);
  CHECK(record["text"] == "hello team");
  REQUIRE(eventually([&] { return message_of(api, a, sent.body["message_id"]).value("status", "") == "read"; }, kWait));

  // Bad input, unknown groups.
  auto bad_action = api.call("POST", groups + "/" + gid + "/participants", {{"action", "kick"}, {"participants", {"+15551110003"}}}, auth);
  require_error(bad_action, 400, "invalid_argument");
  CHECK(bad_action.body["error"]["details"]["field"] == "action");
  require_error(api.call("GET", groups + "/120363000000000000@g.us", nullptr, auth), 404, "not_found");
  require_error(api.call("POST", groups + "/120363000000000000@g.us/messages", {{"text", "x"}}, auth), 404, "not_found");
  require_error(api.call("POST", groups, {{"subject", ""}}, auth), 400, "invalid_argument");
  require_error(api.call("GET", ws_path(a) + "/profiles/nope/groups", nullptr, auth), 404, "not_found");

  // A channel without groups.
  REQUIRE(api.call("POST", ws_path(a) + "/profiles",
                   {{"id", "a-text"}, {"name", "Text only"}, {"channel_plugin", "config-channel"},
                    {"config", {{"api_token", "tok-0123456789"}}}, {"connect", true}},
                   a.owner_auth())
              .status == 201);
  auto unsupported = api.call("GET", ws_path(a) + "/profiles/a-text/groups", nullptr, auth);
  require_error(unsupported, 400, "invalid_argument");
  CHECK(unsupported.body["error"]["details"]["reason"] == "unsupported");
  CHECK(unsupported.body["error"]["message"].get<std::string>().find("not supported by this channel") != std::string::npos);
  require_error(api.call("POST", ws_path(a) + "/profiles/a-text/groups", {{"subject", "x"}}, auth), 400, "invalid_argument");
}

TEST_CASE("the sandbox's groups outlive a restart of the host", "[messaging][groups]") {
  TempDir dir("sb-msg-groups-restart");
  std::string gid;
  Tenant a;
  {
    ApiHost api(dir.path(), kNoLimits);
    a = api.make_tenant("a");
    make_sandbox(api, a, "a-num");
    auto created = api.call("POST", ws_path(a) + "/profiles/a-num/groups", {{"subject", "Durable"}}, a.key_auth());
    REQUIRE(created.status == 201);
    gid = created.body["group_id"];
  }
  ApiHost api(dir.path(), kNoLimits);
  REQUIRE(eventually([&] {
    auto info = api.call("GET", ws_path(a) + "/profiles/a-num/groups/" + gid, nullptr, a.key_auth());
    return info.status == 200 && info.body["subject"] == "Durable";
  }, kWait));
}

TEST_CASE("the sandbox injects inbound messages of every type, stored with their fields", "[messaging][types]") {
  TempDir dir("sb-msg-inbound");
  ApiHost api(dir.path(), kNoLimits);
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");
  const std::vector<json> messages = {
      {{"type", "text"}, {"text", "hi"}},
      {{"type", "image"}, {"text", "look"}, {"media", {{"url", "https://example.com/a.jpg"}, {"mime_type", "image/jpeg"}}}},
      {{"type", "sticker"}, {"media", {{"url", "https://example.com/s.webp"}}}},
      {{"type", "location"}, {"from_name", "Ana"}, {"latitude", 38.7}, {"longitude", -9.1}, {"name", "Lisbon"}},
      {{"type", "contact"}, {"contacts", {{{"name", "Ana"}, {"phones", {{{"phone", "+15551234567"}}}}}}}},
      {{"type", "interactive"}, {"text", "Yes"}, {"reply_id", "yes"}},
      {{"type", "reaction"}, {"reaction", {{"external_id", "sbx-out-1"}, {"emoji", "❤"}}}},
      {{"type", "poll"}, {"poll", {{"question", "Lunch?"}, {"options", {"A", "B"}}}}},
  };
  auto c = api.host().client();
  std::vector<std::string> ids;
  for (const json& m : messages) {
    json body = m;
    body["from"] = "+15557770010";
    auto res = sb::test::post_inbound(*c, body, "a-num");
    REQUIRE(res);
    INFO(m.dump() << " -> " << res->body);
    REQUIRE(res->status == 200);
    ids.push_back(json::parse(res->body)["message_id"]);
  }
  auto list = api.call("GET", ws_path(a) + "/messages?direction=in&limit=50", nullptr, a.key_auth());
  REQUIRE(list.status == 200);
  for (size_t i = 0; i < messages.size(); ++i) {
    json stored;
    for (const auto& m : list.body["data"])
      if (m["id"] == ids[i]) stored = m;
    INFO(messages[i].dump() << " stored as " << stored.dump());
    REQUIRE(stored.is_object());
    CHECK(stored["type"] == messages[i]["type"]);
    for (const auto& [field, value] : messages[i].items()) {
      if (field == "type" || field == "from_name") continue;
      if (field == "text") CHECK(stored["text"] == value);
      else CHECK(stored["payload"][field] == value);
    }
  }
}

TEST_CASE("a flow's message is checked like an API send: a bad one fails the run naming the field, nothing is queued",
          "[messaging][types]") {
  TempDir dir("sb-msg-flow");
  ApiHost api(dir.path(), kNoLimits);
  const Tenant a = api.make_tenant("a");
  make_sandbox(api, a, "a-num");
  const std::string lua =
      "return {trigger = {type = \"keyword\", keywords = {\"menu\"}}, main = function(ctx)\n"
      "  ctx.send({type = \"interactive\", text = \"Pick\", interactive = {type = \"button\", buttons = {\n"
      "    {id = \"a\", title = \"A\"}, {id = \"b\", title = \"B\"}, {id = \"c\", title = \"C\"}, {id = \"d\", title = \"D\"}}}})\n"
      "end}";
  auto flow = api.call("POST", ws_path(a) + "/flows", {{"id", "menu"}, {"lua", lua}}, a.owner_auth());
  INFO(flow.raw);
  REQUIRE(flow.status == 201);
  auto c = api.host().client();
  auto in = sb::test::post_inbound(*c, {{"from", "+15557770020"}, {"text", "menu"}}, "a-num");
  REQUIRE(in);
  REQUIRE(in->status == 200);
  json failed;
  REQUIRE(eventually([&] {
    auto ex = api.call("GET", ws_path(a) + "/executions?status=failed", nullptr, a.key_auth());
    if (ex.status != 200 || ex.body["data"].empty()) return false;
    failed = ex.body["data"][0];
    return true;
  }, kWait));
  INFO(failed.dump());
  CHECK(failed["error"].get<std::string>().find("interactive.buttons") != std::string::npos);
  CHECK(failed["error"].get<std::string>().find("at most 3") != std::string::npos);
  CHECK(sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out'") == 0);
  CHECK(outbound(api, "a-num").empty());
}
