// The built-in keyword auto-reply: inbound "ping" through the sandbox route,
// "pong" out through the outbox, exactly once, even across restarts.
#include "messaging_test_host.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

int64_t outbound_messages(MessagingHost& host) {
  return host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'out'");
}

bool handled(MessagingHost& host, const std::string& message_id) {
  return host.row("SELECT handled FROM messages WHERE id = ?", {message_id})->integer("handled") == 1;
}

// Waits until the auto-reply has nothing left and the outbox has no row
// pending or in flight.
void settle(MessagingHost& host) {
  REQUIRE(host.messaging->auto_reply().wait_until_idle(std::chrono::seconds(10)));
  REQUIRE(eventually([&] { return host.count("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')") == 0; }));
}

}  // namespace

TEST_CASE("ping is answered with pong, whose status goes queued, sent, delivered, read", "[messaging][auto_reply]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"message.status"});
  host.messaging->start();

  auto r = host.inject("p1", {{"from", "+15551234567"}, {"name", "Ana"}, {"text", "Ping!"}, {"id", "in-1"}});
  REQUIRE(r.status == 200);
  const json inbound = json::parse(r.body);

  REQUIRE(eventually([&] {
    auto out = host.sandbox_outbound("p1");
    return out.size() == 1 && out[0]["status"] == "read";
  }));
  auto out = host.sandbox_outbound("p1");
  CHECK(out[0]["text"] == "pong");
  CHECK(out[0]["to"] == "+15551234567");

  auto reply = host.row("SELECT * FROM messages WHERE direction = 'out'");
  REQUIRE(reply);
  CHECK(reply->text("text") == "pong");
  CHECK(reply->text("conversation_id") == inbound["conversation_id"]);
  CHECK(reply->text("contact_id") == inbound["contact_id"]);
  CHECK(reply->text("external_id") == out[0]["external_id"]);
  std::vector<std::string> statuses;
  REQUIRE(eventually([&] {
    statuses.clear();
    for (const auto& e : recorder.of_type("message.status")) statuses.push_back(e.data["status"].get<std::string>());
    return statuses.size() == 3;
  }));
  CHECK(host.row("SELECT status FROM messages WHERE direction = 'out'")->text("status") == "read");
  // Created queued (enqueue), then every later status was published in order.
  CHECK(statuses == std::vector<std::string>{"sent", "delivered", "read"});
  CHECK(handled(host, inbound["message_id"]));
  CHECK(outbound_messages(host) == 1);
}

TEST_CASE("a message that matches no rule is marked handled without a reply", "[messaging][auto_reply]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  auto inbound = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "hello"}}).body);
  REQUIRE(eventually([&] { return handled(host, inbound["message_id"]); }));
  settle(host);
  CHECK(outbound_messages(host) == 0);
}

TEST_CASE("a conversation handed to a human gets no bot reply", "[messaging][auto_reply]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  auto first = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "hello"}}).body);
  host.db->write([&](sb::store::Connection& c) {
    c.execute("UPDATE conversations SET mode = 'human' WHERE id = ?", {first["conversation_id"].get<std::string>()});
  });
  auto second = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "ping"}}).body);
  REQUIRE(eventually([&] { return handled(host, second["message_id"]); }));
  settle(host);
  CHECK(outbound_messages(host) == 0);
}

TEST_CASE("unhandled messages are re-dispatched after a restart and answered exactly once",
          "[messaging][auto_reply][recovery]") {
  TempDir dir("sb-msg");
  std::string ping_id;
  {
    // The first process stores the message and dies before the auto-reply
    // got to it (here: the auto-reply never ran).
    auto options = sb::test::fast_messaging_options();
    options.auto_reply_enabled = false;
    MessagingHost first(dir.path(), options);
    first.seed_profile("p1");
    first.messaging->start();
    ping_id = json::parse(first.inject("p1", {{"from", "+15551234567"}, {"text", "ping"}, {"id", "in-1"}}).body)["message_id"];
    CHECK_FALSE(handled(first, ping_id));
    CHECK(outbound_messages(first) == 0);
  }
  {
    MessagingHost second(dir.path());
    second.messaging->start();
    REQUIRE(eventually([&] { return second.sandbox_outbound("p1").size() == 1; }));
    settle(second);
    CHECK(second.sandbox_outbound("p1")[0]["text"] == "pong");
    CHECK(handled(second, ping_id));
    CHECK(outbound_messages(second) == 1);
  }
  {
    // Restarting again finds nothing left to do.
    MessagingHost third(dir.path());
    third.messaging->start();
    settle(third);
    CHECK(outbound_messages(third) == 1);
    CHECK(third.sandbox_outbound("p1").empty());
  }
}

TEST_CASE("many pings from many senders each get exactly one pong", "[messaging][auto_reply]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1", "channel-sandbox", {{"receipt_delay_ms", 5}});
  host.messaging->start();

  constexpr int kSenders = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kSenders; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        host.inject("p1", {{"from", "+1555000020" + std::to_string(t)}, {"text", "ping " + std::to_string(i)}});
    });
  for (auto& t : threads) t.join();

  REQUIRE(eventually([&] { return host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'out' AND status = 'read'") == kSenders * kEach; }));
  settle(host);
  CHECK(host.sandbox_outbound("p1").size() == kSenders * kEach);
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'in' AND handled = 0") == 0);
}
