// End to end through a real `switchboard serve` process on a free loopback
// port: real plugins loaded from disk, a real SQLite file, real HTTP.
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/host_process.hpp"
#include "support/temp_dir.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

using sb::test::eventually;

constexpr std::chrono::seconds kHostWait{15};  // a real process on a shared 2-core machine
using sb::test::HostProcess;
using sb::test::TempDir;
using nlohmann::json;
using sb::test::count;

namespace {

json outbound(httplib::Client& c) {
  auto res = c.Get("/hooks/channel-sandbox/demo/outbound");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return json::parse(res->body)["messages"];
}

void require_error_shape(const httplib::Result& res, int status, const std::string& code) {
  REQUIRE(res);
  INFO("body: " << res->body);
  CHECK(res->status == status);
  const auto body = json::parse(res->body, nullptr, false);
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  CHECK(body["error"]["code"] == code);
  CHECK_FALSE(body["error"]["message"].get<std::string>().empty());
}

}  // namespace

TEST_CASE("an inbound message is stored once even when delivered twice, and the demo ping flow's reply reaches read",
          "[e2e]") {
  TempDir dir("sb-e2e");
  HostProcess host(dir.path());
  host.start();
  auto c = host.client();

  const json msg = {{"from", "+15551234567"}, {"name", "Ana"}, {"text", "ping"}, {"id", "wamid-e2e-1"}};
  auto first = sb::test::post_inbound(*c, msg);
  REQUIRE(first);
  INFO(first->body);
  REQUIRE(first->status == 200);
  const auto a = json::parse(first->body);
  CHECK(a["duplicate"] == false);

  auto second = sb::test::post_inbound(*c, msg);
  REQUIRE(second);
  REQUIRE(second->status == 200);
  const auto b = json::parse(second->body);
  CHECK(b["duplicate"] == true);
  CHECK(b["message_id"] == a["message_id"]);

  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE external_id = 'wamid-e2e-1'") == 1);
  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM contacts WHERE phone = '+15551234567'") == 1);

  // The reply goes through the outbox to the channel, then receipts arrive.
  REQUIRE(eventually([&] {
    const auto out = outbound(*c);
    return out.size() == 1 && out[0]["status"] == "read";
  }, kHostWait));
  const auto out = outbound(*c);
  CHECK(out[0]["text"] == "pong");
  CHECK(out[0]["to"] == "+15551234567");
  REQUIRE(eventually([&] {
    return count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'read'") == 1;
  }, kHostWait));
  // Any other message gets the demo's welcome menu (a flow with buttons).
  auto other = sb::test::post_inbound(*c, {{"from", "+15551234567"}, {"text", "hello"}});
  REQUIRE(other);
  CHECK(other->status == 200);
  REQUIRE(eventually([&] { return outbound(*c).size() == 2; }, kHostWait));
  CHECK(outbound(*c)[1]["type"] == "interactive");
  host.stop();
}

TEST_CASE("bad input is answered with a 4xx and the error shape, and nothing is written", "[e2e]") {
  TempDir dir("sb-e2e-bad");
  {
    std::ofstream cfg(dir / "config.json");
    // Channel webhooks take max_upload_bytes, the API's JSON max_body_bytes.
    cfg << R"({"max_body_bytes": 4096, "max_upload_bytes": 8192})";
  }
  HostProcess host(dir.path(), {{"SWITCHBOARD_CONFIG", (dir / "config.json").string()}});
  host.start();
  auto c = host.client();
  const std::string inbound = "/hooks/channel-sandbox/demo/inbound";

  require_error_shape(c->Post(inbound.c_str(), "{not json", "application/json"), 400, "invalid_argument");
  require_error_shape(c->Post(inbound.c_str(), "[1,2]", "application/json"), 400, "invalid_argument");
  require_error_shape(c->Post(inbound.c_str(), R"({"text":"hi"})", "application/json"), 400, "invalid_argument");
  require_error_shape(c->Post(inbound.c_str(), R"({"from":"+15551234567"})", "application/json"), 400,
                      "invalid_argument");
  require_error_shape(c->Post(inbound.c_str(), R"({"from":"not a phone","text":"hi"})", "application/json"), 400,
                      "invalid_argument");
  require_error_shape(c->Post(inbound.c_str(), R"({"from":"+15551234567","text":"hi"})", "text/plain"), 415,
                      "unsupported_media_type");
  require_error_shape(c->Post("/hooks/channel-sandbox/nobody/inbound", R"({"from":"+15551234567","text":"hi"})",
                              "application/json"),
                      404, "not_found");
  require_error_shape(c->Post("/hooks/no-such-plugin/demo/inbound", R"({"from":"+15551234567","text":"hi"})",
                              "application/json"),
                      404, "not_found");
  const std::string big = json{{"from", "+15551234567"}, {"text", std::string(10000, 'x')}}.dump();
  require_error_shape(c->Post(inbound.c_str(), big, "application/json"), 413, "payload_too_large");
  require_error_shape(c->Delete(inbound.c_str()), 405, "method_not_allowed");
  require_error_shape(c->Get("/no/such/route"), 404, "not_found");

  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM messages") == 0);
  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM contacts") == 0);

  // The host is still healthy and takes good input.
  auto health = c->Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ready = c->Get("/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto ok = sb::test::post_inbound(*c, {{"from", "+15551234567"}, {"text", "hi"}});
  REQUIRE(ok);
  CHECK(ok->status == 200);
  // Inbound only: the demo's welcome flow may already have stored its reply.
  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == 1);
  host.stop();
}

TEST_CASE("kill -9 mid-stream loses no acknowledged message, stores none twice, and sends each reply once",
          "[e2e][crash]") {
  TempDir dir("sb-e2e-crash");
  HostProcess host(dir.path());
  host.start();

  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::vector<std::thread> senders;
  for (int t = 0; t < 8; ++t) {
    senders.emplace_back([&, t] {
      auto c = host.client();
      for (int i = 0; !stop.load() && i < 100000; ++i) {
        const std::string id = "crash-" + std::to_string(t) + "-" + std::to_string(i);
        const json body = {{"from", "+1555000" + std::to_string(1000 + t)}, {"text", "ping " + std::to_string(i)},
                           {"id", id}};
        sent.fetch_add(1);
        auto res = sb::test::post_inbound(*c, body);
        if (!res) continue;  // the host died under us: not acknowledged
        if (res->status == 200) {
          std::lock_guard lock(mu);
          acknowledged.insert(id);
        }
      }
    });
  }
  // Let a few hundred messages through, then crash the host mid-stream.
  REQUIRE(eventually([&] {
    std::lock_guard lock(mu);
    return acknowledged.size() >= 300;
  }, kHostWait));
  host.kill9();
  stop.store(true);
  for (auto& s : senders) s.join();
  INFO("sent " << sent.load() << ", acknowledged " << acknowledged.size());

  host.start();
  {
    SQLite::Database d(host.db_path().string(), SQLite::OPEN_READONLY);
    d.setBusyTimeout(5000);
    SQLite::Statement q(d, "SELECT COUNT(*) FROM messages WHERE external_id = ?");
    for (const auto& id : acknowledged) {
      q.bind(1, id);
      REQUIRE(q.executeStep());
      INFO("message " << id);
      CHECK(q.getColumn(0).getInt64() == 1);
      q.reset();
    }
    CHECK(d.execAndGet("SELECT COUNT(*) FROM (SELECT external_id FROM messages WHERE external_id IS NOT NULL "
                       "GROUP BY profile_id, external_id HAVING COUNT(*) > 1)")
              .getInt64() == 0);
  }
  // Every stored ping gets exactly one pong, including those whose reply
  // had not been enqueued when the host died.
  const int64_t inbound = count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'in'");
  CHECK(inbound >= static_cast<int64_t>(acknowledged.size()));
  REQUIRE(eventually(
      [&] {
        return count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status <> 'queued'") ==
               inbound;
      },
      std::chrono::seconds(30)));
  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'out'") == inbound);
  CHECK(count(host.db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND handled = 0") == 0);
  host.stop();
}
