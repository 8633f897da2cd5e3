// Outbound webhooks against a real host: a loopback receiver that fails
// (500, a timeout) and recovers; retries, pausing and resuming, order per
// conversation, the delivery log, replay, a restart (and a kill -9 in the
// middle of a delivery), and tenant isolation. Signatures are checked with
// the tests' own HMAC (unit/webhooks/loopback_receiver.hpp), not the host's.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"
#include "unit/webhooks/loopback_receiver.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <mutex>
#include <set>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::LoopbackReceiver;
using sb::test::Received;
using sb::test::TempDir;
using namespace std::chrono_literals;

namespace {

// Fast retries, a short timeout, pausing after four failures in a row and
// resuming only through the API.
std::map<std::string, std::string> fast_env(const std::string& schedule = "0,300,300,300,300,300,300,300",
                                            const std::string& timeout_ms = "700") {
  return {{"SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE", schedule},
          {"SWITCHBOARD_WEBHOOK_TIMEOUT_MS", timeout_ms},
          {"SWITCHBOARD_WEBHOOK_PAUSE_AFTER", "4"},
          {"SWITCHBOARD_WEBHOOK_PAUSE_WINDOW_MS", "0"},
          {"SWITCHBOARD_WEBHOOK_RESUME_AFTER_MS", "0"}};
}

const json kLimits = {{"user_rate", 10000}, {"user_burst", 10000}, {"key_rate", 10000}, {"key_burst", 10000}};

void connect_number(ApiHost& api, const sb::test::Tenant& t, const std::string& profile) {
  auto res = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/profiles",
                      {{"id", profile}, {"name", profile}, {"channel_plugin", "channel-sandbox"}, {"connect", true}},
                      t.owner_auth());
  INFO(res.raw);
  REQUIRE(res.status == 201);
}

void inbound(ApiHost& api, const std::string& profile, const std::string& from, const std::string& text) {
  auto c = api.host().client();
  auto res = sb::test::post_inbound(*c, {{"from", from}, {"text", text}}, profile);
  REQUIRE(res);
  REQUIRE(res->status == 200);
}

std::string text_of(const Received& r) { return r.json["data"].value("text", std::string()); }

// The texts of the deliveries answered 200, in the order they arrived.
std::vector<std::string> delivered_texts(const std::vector<Received>& got, const std::vector<int>& answers) {
  std::vector<std::string> out;
  for (size_t i = 0; i < got.size() && i < answers.size(); ++i)
    if (answers[i] == 200) out.push_back(text_of(got[i]));
  return out;
}

}  // namespace

TEST_CASE("deliveries are retried through 500s and a timeout, in order per conversation, with a log and replay",
          "[webhooks]") {
  TempDir dir("sb-webhooks-retry");
  ApiHost api(dir.path(), kLimits, fast_env());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  LoopbackReceiver hooks;
  // The answers, in the order of hooks.received(): 500, 500, a timeout, then 200.
  std::mutex answers_mu;
  std::vector<int> answers;
  hooks.script([&](const Received&) {
    std::lock_guard<std::mutex> lock(answers_mu);
    const size_t n = answers.size();
    answers.push_back(n < 2 ? 500 : n == 2 ? LoopbackReceiver::kHang : 200);
    return answers.back();
  });
  auto delivered = [&] {
    const auto got = hooks.received();
    std::lock_guard<std::mutex> lock(answers_mu);
    return delivered_texts(got, answers);
  };

  auto sub = api.call("POST", W + "/webhooks",
                      {{"url", hooks.url()}, {"events", {"message.received"}}, {"description", "crm"}}, a.owner_auth());
  INFO(sub.raw);
  REQUIRE(sub.status == 201);
  const std::string secret = sub.body["secret"];
  const std::string webhook_id = sub.body["id"];
  CHECK(secret.rfind("whsec_", 0) == 0);
  CHECK(sub.body["state"] == "active");
  // The secret is shown once: never in a read or a list.
  auto read = api.call("GET", W + "/webhooks/" + webhook_id, nullptr, a.owner_auth());
  REQUIRE(read.status == 200);
  CHECK_FALSE(read.body.contains("secret"));
  CHECK(read.raw.find(secret) == std::string::npos);
  CHECK(api.call("GET", W + "/webhooks", nullptr, a.owner_auth()).raw.find(secret) == std::string::npos);

  connect_number(api, a, "a-number");
  for (int i = 1; i <= 5; ++i) inbound(api, "a-number", "+15550001111", std::string("m").append(std::to_string(i)));

  // One conversation's messages arrive in order, though the first one took four attempts.
  REQUIRE(eventually([&] { return delivered().size() == 5; }, 20s));
  CHECK(delivered() == std::vector<std::string>{"m1", "m2", "m3", "m4", "m5"});
  inbound(api, "a-number", "+15550002222", "other");
  REQUIRE(eventually([&] { return delivered().size() == 6; }));
  const auto got = hooks.received();
  REQUIRE(got.size() == 9);
  for (const auto& r : got) {
    INFO(r.body);
    CHECK(r.signature == sb::test::independent_signature(secret, r.id, r.timestamp, r.body));
    CHECK(std::abs(std::stoll(r.timestamp) - std::time(nullptr)) < 60);
    CHECK(r.type() == "message.received");
    CHECK(r.json["workspace_id"] == a.workspace_id);
  }
  CHECK(text_of(got[0]) == "m1");
  CHECK(got[0].id == got[3].id);  // the retries of m1 carry its webhook-id

  // The delivery log shows each attempt's answer.
  auto list = api.call("GET", W + "/webhook-deliveries?state=delivered&event=message.received", nullptr, a.owner_auth());
  REQUIRE(list.status == 200);
  CHECK(list.body["data"].size() == 6);
  auto one = api.call("GET", W + "/webhook-deliveries/" + got[0].id, nullptr, a.owner_auth());
  INFO(one.raw);
  REQUIRE(one.status == 200);
  CHECK(one.body["state"] == "delivered");
  CHECK(one.body["attempts"] == 4);
  CHECK(one.body["webhook_id"] == webhook_id);
  const json& log = one.body["attempt_log"];
  REQUIRE(log.size() == 4);
  CHECK(log[0]["response_status"] == 500);
  CHECK(log[1]["response_status"] == 500);
  CHECK(log[2]["response_status"].is_null());  // the timeout
  CHECK_FALSE(log[2]["error"].is_null());
  CHECK(log[3]["response_status"] == 200);
  CHECK(log[3]["response_excerpt"] == "ok");
  // Pages: two at a time, every delivery once.
  std::set<std::string> paged;
  std::string cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = api.call("GET", W + "/webhook-deliveries?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), nullptr,
                         a.owner_auth());
    REQUIRE(page.status == 200);
    for (const auto& d : page.body["data"]) paged.insert(d["id"].get<std::string>());
    if (page.body["next_cursor"].is_null()) break;
    cursor = page.body["next_cursor"];
  }
  CHECK(paged.size() == 6);
  sb::test::require_error(api.call("GET", W + "/webhook-deliveries?state=lost", nullptr, a.owner_auth()), 400,
                          "invalid_argument");

  // Replay one: the same webhook-id again.
  const size_t before = hooks.count();
  auto replay = api.call("POST", W + "/webhook-deliveries/" + got[0].id + "/replay", json::object(), a.owner_auth());
  INFO(replay.raw);
  REQUIRE(replay.status == 200);
  REQUIRE(eventually([&] { return hooks.count() == before + 1; }));
  CHECK(hooks.received().back().id == got[0].id);
  REQUIRE(eventually([&] {
    auto d = api.call("GET", W + "/webhook-deliveries/" + got[0].id, nullptr, a.owner_auth());
    return d.body["state"] == "delivered" && d.body["attempts"] == 5;
  }));
  // Replay a time range: everything since the subscription was made.
  auto range = api.call("POST", W + "/webhook-deliveries/replay",
                        {{"from", sub.body["created_at"]}, {"to", 4102444800000LL}},  // 2100
                        a.owner_auth());
  INFO(range.raw);
  REQUIRE(range.status == 200);
  CHECK(range.body["replayed"] == 6);
  REQUIRE(eventually([&] { return hooks.count() == before + 7; }));

  // A test ping.
  auto ping = api.call("POST", W + "/webhooks/" + webhook_id + "/test", json::object(), a.owner_auth());
  REQUIRE(ping.status == 201);
  REQUIRE(eventually([&] { return hooks.received().back().type() == "webhook.test"; }));
  sb::test::require_error(api.call("POST", W + "/webhooks", {{"url", "ftp://x"}}, a.owner_auth()), 400, "invalid_argument");
  sb::test::require_error(api.call("POST", W + "/webhooks", {{"url", hooks.url()}, {"events", {"message.lost"}}},
                                   a.owner_auth()),
                          400, "invalid_argument");
}

TEST_CASE("an endpoint that keeps failing is paused and its deliveries wait until it is resumed", "[webhooks]") {
  TempDir dir("sb-webhooks-pause");
  ApiHost api(dir.path(), kLimits, fast_env());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  LoopbackReceiver hooks;
  std::atomic<bool> up{false};
  hooks.script([&](const Received&) { return up ? 204 : 503; });
  auto sub = api.call("POST", W + "/webhooks", {{"url", hooks.url()}, {"events", {"message.received"}}}, a.owner_auth());
  REQUIRE(sub.status == 201);
  const std::string id = sub.body["id"];
  connect_number(api, a, "a-number");
  inbound(api, "a-number", "+15550001111", "one");
  inbound(api, "a-number", "+15550003333", "two");

  REQUIRE(eventually([&] {
    return api.call("GET", W + "/webhooks/" + id, nullptr, a.owner_auth()).body["state"] == "paused";
  }, 20s));
  auto paused = api.call("GET", W + "/webhooks/" + id, nullptr, a.owner_auth());
  CHECK(paused.body["paused_by"] == "failures");
  CHECK(paused.body["consecutive_failures"] >= 4);
  CHECK_FALSE(paused.body["state_reason"].is_null());
  // Nothing goes out while it is paused, though the retries are due every 300 ms.
  const size_t tried = hooks.count();
  std::this_thread::sleep_for(1500ms);
  CHECK(hooks.count() == tried);
  auto waiting = api.call("GET", W + "/webhook-deliveries?state=failed", nullptr, a.owner_auth());
  CHECK(waiting.body["data"].size() == 2);

  up = true;
  auto resumed = api.call("POST", W + "/webhooks/" + id + "/resume", json::object(), a.owner_auth());
  REQUIRE(resumed.status == 200);
  CHECK(resumed.body["state"] == "active");
  REQUIRE(eventually([&] {
    return api.call("GET", W + "/webhook-deliveries?state=delivered", nullptr, a.owner_auth()).body["data"].size() == 2;
  }));
  CHECK(api.call("GET", W + "/webhooks/" + id, nullptr, a.owner_auth()).body["consecutive_failures"] == 0);

  // Paused through the API, it stays paused (no cool-down applies) until resumed.
  REQUIRE(api.call("POST", W + "/webhooks/" + id + "/pause", json::object(), a.owner_auth()).status == 200);
  inbound(api, "a-number", "+15550001111", "three");
  std::this_thread::sleep_for(800ms);
  const size_t at_pause = hooks.count();
  CHECK(api.call("GET", W + "/webhook-deliveries?state=pending", nullptr, a.owner_auth()).body["data"].size() == 1);
  REQUIRE(api.call("POST", W + "/webhooks/" + id + "/resume", json::object(), a.owner_auth()).status == 200);
  REQUIRE(eventually([&] { return hooks.count() == at_pause + 1; }));
  CHECK(text_of(hooks.received().back()) == "three");
}

TEST_CASE("queued deliveries survive a restart, and one cut off by kill -9 is delivered after it", "[webhooks]") {
  TempDir dir("sb-webhooks-restart");
  ApiHost api(dir.path(), kLimits, fast_env("0,1500,1500,1500,1500", "10000"));
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  LoopbackReceiver hooks;
  std::atomic<int> mode{503};  // 503, 200 or kHang
  hooks.hang_ms = 4000;
  hooks.script([&](const Received&) { return mode.load(); });
  auto sub = api.call("POST", W + "/webhooks", {{"url", hooks.url()}, {"events", {"message.received"}}}, a.owner_auth());
  REQUIRE(sub.status == 201);
  const std::string secret = sub.body["secret"];
  connect_number(api, a, "a-number");

  // Failed once, waiting for its retry: then the host stops.
  inbound(api, "a-number", "+15550001111", "before-stop");
  REQUIRE(eventually([&] { return hooks.count() >= 1; }));
  api.host().stop();
  mode = 200;
  api.host().start();
  REQUIRE(eventually([&] {
    auto d = api.call("GET", W + "/webhook-deliveries?state=delivered", nullptr, a.owner_auth());
    return d.status == 200 && d.body["data"].size() == 1;
  }, 15s));
  CHECK(text_of(hooks.received().back()) == "before-stop");

  // Killed while the receiver holds the request: the row was left delivering.
  mode = LoopbackReceiver::kHang;
  const size_t before = hooks.count();
  inbound(api, "a-number", "+15550001111", "cut-off");
  REQUIRE(eventually([&] { return hooks.count() == before + 1; }));
  const std::string cut_id = hooks.received().back().id;
  api.host().kill9();
  mode = 200;
  api.host().start();
  REQUIRE(eventually([&] {
    auto d = api.call("GET", W + "/webhook-deliveries/" + cut_id, nullptr, a.owner_auth());
    return d.status == 200 && d.body["state"] == "delivered";
  }, 15s));
  const auto got = hooks.received();
  CHECK(got.back().id == cut_id);  // the same webhook-id: the receiver can drop a duplicate
  CHECK(got.back().signature == sb::test::independent_signature(secret, got.back().id, got.back().timestamp,
                                                                got.back().body));
}

TEST_CASE("a workspace never sees another's webhooks or deliveries", "[webhooks]") {
  TempDir dir("sb-webhooks-isolation");
  ApiHost api(dir.path(), kLimits, fast_env());
  auto a = api.make_tenant("a");
  auto b = api.make_tenant("b");
  const std::string WA = "/api/v1/workspaces/" + a.workspace_id, WB = "/api/v1/workspaces/" + b.workspace_id;
  LoopbackReceiver a_hooks, b_hooks;
  auto sub = api.call("POST", WA + "/webhooks", {{"url", a_hooks.url()}}, a.owner_auth());
  REQUIRE(sub.status == 201);
  REQUIRE(api.call("POST", WB + "/webhooks", {{"url", b_hooks.url()}}, b.owner_auth()).status == 201);
  const std::string id = sub.body["id"];
  connect_number(api, a, "a-number");
  inbound(api, "a-number", "+15550001111", "for a only");
  REQUIRE(eventually([&] {
    for (const auto& r : a_hooks.received())
      if (r.type() == "message.received") return true;
    return false;
  }));
  const std::string delivery = a_hooks.received().back().id;

  // B's lists hold only B's; A's ids through B's workspace or with B's credentials are 404.
  auto b_list = api.call("GET", WB + "/webhooks", nullptr, b.owner_auth());
  REQUIRE(b_list.body["data"].size() == 1);
  CHECK(b_list.body["data"][0]["id"] != id);
  for (const auto& d : api.call("GET", WB + "/webhook-deliveries", nullptr, b.owner_auth()).body["data"])
    CHECK(d["workspace_id"] == b.workspace_id);
  sb::test::require_error(api.call("GET", WB + "/webhooks/" + id, nullptr, b.owner_auth()), 404, "not_found");
  sb::test::require_error(api.call("GET", WB + "/webhook-deliveries/" + delivery, nullptr, b.owner_auth()), 404,
                          "not_found");
  sb::test::require_error(api.call("POST", WB + "/webhook-deliveries/" + delivery + "/replay", json::object(),
                                   b.owner_auth()),
                          404, "not_found");
  sb::test::require_error(api.call("GET", WA + "/webhooks", nullptr, b.owner_auth()), 404, "not_found");
  sb::test::require_error(api.call("GET", WA + "/webhook-deliveries", nullptr, b.key_auth()), 404, "not_found");
  // B heard nothing of A's message (only its own workspace's events reach it).
  for (const auto& r : b_hooks.received()) CHECK(r.json["workspace_id"] == b.workspace_id);
  // A viewer of A may not manage webhooks.
  const std::string viewer = api.add_member(a, "viewer@a.example.com", "viewer");
  sb::test::require_error(api.call("GET", WA + "/webhooks", nullptr, {{"Authorization", "Bearer " + viewer}}), 403,
                          "forbidden");
}
