// The durable queue with a clock the test moves: fan-out, signatures,
// retries on the schedule, order per conversation, pausing and probing,
// 410, dead deliveries, and recovery of rows a killed process left behind.
#include "unit/webhooks/dispatcher_fixture.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::DispatcherFixture;
using sb::test::LoopbackReceiver;
using sb::test::Received;
namespace repo = sb::webhooks::repo;

namespace {

json received(const std::string& conversation, const std::string& text) {
  return {{"id", "m_" + text}, {"conversation_id", conversation}, {"text", text}};
}

std::vector<std::string> texts(const std::vector<Received>& got) {
  std::vector<std::string> out;
  for (const auto& r : got) out.push_back(r.json["data"].value("text", r.type()));
  return out;
}

}  // namespace

TEST_CASE("an event reaches the matching subscriptions of its own workspace, signed with each one's secret",
          "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver all, received_only, other_tenant;
  const auto [sub_all, secret_all] = f.subscribe("a-ws", all.url());
  const auto [sub_rx, secret_rx] = f.subscribe("a-ws", received_only.url(), json{"message.received"});
  f.subscribe("b-ws", other_tenant.url());

  f.publish("message.received", "a-ws", received("c1", "hello"));
  // The bus publishes a status change under both names; webhooks take message.<status> only.
  f.publish("message.status", "a-ws", {{"message_id", "m2"}, {"conversation_id", "c1"}, {"status", "delivered"}});
  f.publish("message.delivered", "a-ws", {{"message_id", "m2"}, {"conversation_id", "c1"}, {"status", "delivered"}});
  f.publish("session.status", "a-ws", {{"profile_id", "p1"}, {"status", "QR_READY"}, {"qr", "2@abc"}});
  f.publish("contact.tagged", "a-ws", {{"contact_id", "x"}});  // not a webhook event
  CHECK(f.dispatcher->deliver_due() == 5);

  const auto got = all.received();
  REQUIRE(got.size() == 4);
  // In order per conversation (c1) and per profile (the session); the two are independent.
  std::vector<std::string> types;
  for (const auto& r : got) types.push_back(r.type());
  auto at = [&](const char* t) { return std::find(types.begin(), types.end(), t) - types.begin(); };
  CHECK(at("message.received") < at("message.delivered"));
  CHECK(at("session.status") < at("session.qr"));
  CHECK(at("session.qr") < 4);
  CHECK(at("message.delivered") < 4);
  CHECK(got[static_cast<size_t>(at("session.qr"))].json["data"]["qr"] == "2@abc");
  for (const auto& r : got) {
    INFO(r.body);
    CHECK(r.id.rfind("msg_", 0) == 0);
    CHECK(r.signature == sb::test::independent_signature(secret_all, r.id, r.timestamp, r.body));
    CHECK(r.signature != sb::test::independent_signature(secret_rx, r.id, r.timestamp, r.body));
    CHECK(std::stoll(r.timestamp) == f.clock.load() / 1000);
    CHECK(r.json["workspace_id"] == "a-ws");
    CHECK(r.json["organization_id"] == "a-org");
    CHECK_FALSE(r.json.contains("agencyId"));
  }
  const auto rx = received_only.received();
  REQUIRE(rx.size() == 1);
  CHECK(rx[0].json["data"]["text"] == "hello");
  CHECK(rx[0].signature == sb::test::independent_signature(secret_rx, rx[0].id, rx[0].timestamp, rx[0].body));
  CHECK(rx[0].id != got[0].id);  // one webhook-id per (event, endpoint)
  CHECK(other_tenant.count() == 0);
  CHECK(f.deliveries("b-ws").empty());
  for (const auto& d : f.deliveries("a-ws")) CHECK(d.state == "delivered");
}

TEST_CASE("a failing endpoint is retried on the schedule and every attempt is in the log", "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver hooks;
  int answers = 0;
  hooks.script([&](const Received&) { return ++answers <= 2 ? 500 : 204; });
  f.subscribe("a-ws", hooks.url());
  f.publish("message.received", "a-ws", received("c1", "hi"));

  CHECK(f.dispatcher->deliver_due() == 1);  // at once: 500
  CHECK(f.dispatcher->deliver_due() == 0);  // the retry is not due yet
  auto d = f.deliveries("a-ws").at(0);
  CHECK(d.state == "failed");
  CHECK(d.last_status == 500);
  CHECK(d.next_attempt_at >= f.clock.load() + 4'500);
  CHECK(d.next_attempt_at <= f.clock.load() + 5'500);
  f.clock += 4'000;
  CHECK(f.dispatcher->deliver_due() == 0);
  f.clock += 1'600;
  CHECK(f.dispatcher->deliver_due() == 1);  // after ~5 s: 500 again
  f.clock += 4 * 60'000;
  CHECK(f.dispatcher->deliver_due() == 0);
  f.clock += 2 * 60'000;                    // after ~5 min
  CHECK(f.dispatcher->deliver_due() == 1);

  const auto got = hooks.received();
  REQUIRE(got.size() == 3);
  CHECK(got[0].id == got[2].id);            // the same webhook-id on every retry
  CHECK(got[0].timestamp != got[2].timestamp);
  d = f.deliveries("a-ws").at(0);
  CHECK(d.state == "delivered");
  CHECK(d.attempts == 3);
  const auto log = f.db->read([&](sb::store::Connection& c) { return repo::attempts_of(c, d.id); });
  REQUIRE(log.size() == 3);
  CHECK(log[0].response_status == 500);
  CHECK(log[0].response_excerpt == "receiver says 500");
  CHECK(log[1].response_status == 500);
  CHECK(log[2].response_status == 204);
  CHECK_FALSE(log[2].error.has_value());
  CHECK(f.subscription(d.target_id).consecutive_failures == 0);
}

TEST_CASE("a delivery is dead after the last attempt of the schedule, and replay queues it again", "[webhooks]") {
  sb::webhooks::DispatcherOptions o;
  o.schedule = sb::webhooks::RetrySchedule::parse("0,1000,1000");
  DispatcherFixture f(o);
  LoopbackReceiver hooks;
  bool up = false;
  hooks.script([&](const Received&) { return up ? 200 : 503; });
  f.subscribe("a-ws", hooks.url());
  f.publish("contact.created", "a-ws", {{"id", "ct_1"}});
  for (int i = 0; i < 5; ++i) {
    f.dispatcher->deliver_due();
    f.clock += 1'200;
  }
  CHECK(hooks.count() == 3);
  auto d = f.deliveries("a-ws").at(0);
  CHECK(d.state == "dead");
  CHECK(d.attempts == 3);
  CHECK(f.dispatcher->stats().dead == 1);

  up = true;
  REQUIRE(f.db->write([&](sb::store::Connection& c) { return repo::replay(c, d, f.clock.load()); }));
  CHECK(f.dispatcher->deliver_due() == 1);
  d = f.deliveries("a-ws").at(0);
  CHECK(d.state == "delivered");
  CHECK(d.attempts == 4);
  CHECK(hooks.received().back().id == d.id);
}

TEST_CASE("deliveries of one conversation keep their order while the first one is retried", "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver hooks;
  int first_tries = 0;
  hooks.script([&](const Received& r) {
    if (r.json["data"].value("text", "") == "c1-1" && ++first_tries == 1) return 500;
    return 200;
  });
  f.subscribe("a-ws", hooks.url());
  f.publish("message.received", "a-ws", received("c1", "c1-1"));
  f.publish("message.received", "a-ws", received("c1", "c1-2"));
  f.publish("message.received", "a-ws", received("c2", "c2-1"));
  f.publish("message.received", "a-ws", received("c1", "c1-3"));

  f.dispatcher->deliver_due();
  // c1-1 failed: c1's later events wait behind it; c2 is not held up.
  CHECK(texts(hooks.received()) == std::vector<std::string>{"c1-1", "c2-1"});
  f.clock += 6'000;
  f.dispatcher->deliver_due();
  CHECK(texts(hooks.received()) == std::vector<std::string>{"c1-1", "c2-1", "c1-1", "c1-2", "c1-3"});
}

TEST_CASE("an endpoint that keeps failing is paused, its deliveries wait, and it is probed after the cool-down",
          "[webhooks]") {
  sb::webhooks::DispatcherOptions o;
  o.pause_after_failures = 3;
  o.pause_window = std::chrono::milliseconds(10'000);
  o.resume_after = std::chrono::milliseconds(60'000);
  DispatcherFixture f(o);
  LoopbackReceiver hooks;
  bool up = false;
  hooks.script([&](const Received&) { return up ? 200 : 500; });
  const auto sub = f.subscribe("a-ws", hooks.url()).first;
  for (int i = 0; i < 4; ++i) f.publish("contact.created", "a-ws", {{"id", std::string("ct_").append(std::to_string(i))}});

  // Four failures within a second: many, but not yet for 10 s.
  CHECK(f.dispatcher->deliver_due() == 4);
  CHECK(f.subscription(sub.id).state == "active");
  CHECK(f.subscription(sub.id).consecutive_failures == 4);
  f.clock += 11'000;  // every retry is due, and the streak is 11 s old
  CHECK(f.dispatcher->deliver_due() == 1);  // the first failure of them pauses it
  auto s = f.subscription(sub.id);
  CHECK(s.state == "paused");
  CHECK(s.paused_by == "failures");
  CHECK(f.dispatcher->stats().paused == 1);
  f.clock += 30'000;
  CHECK(f.dispatcher->deliver_due() == 0);  // paused: nothing goes out
  // New events still queue while it is paused.
  f.publish("contact.created", "a-ws", {{"id", "ct_new"}});
  CHECK(f.deliveries("a-ws").size() == 5);

  // After the cool-down one probe goes out; it fails, so it is paused again at once.
  f.clock += 31'000;
  CHECK(f.dispatcher->deliver_due() == 1);
  CHECK(f.subscription(sub.id).state == "paused");

  // The endpoint recovers: the next probe succeeds and everything waiting is delivered.
  up = true;
  f.clock += 400'000;  // past the cool-down and every row's next retry
  CHECK(f.dispatcher->deliver_due() == 5);
  s = f.subscription(sub.id);
  CHECK(s.state == "active");
  CHECK(s.consecutive_failures == 0);
  for (const auto& d : f.deliveries("a-ws")) CHECK(d.state == "delivered");
}

TEST_CASE("an endpoint that answers 410 Gone is disabled and gets no new deliveries", "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver hooks;
  hooks.script([](const Received&) { return 410; });
  const auto sub = f.subscribe("a-ws", hooks.url()).first;
  f.publish("contact.created", "a-ws", {{"id", "ct_1"}});
  CHECK(f.dispatcher->deliver_due() == 1);
  CHECK(f.subscription(sub.id).state == "disabled");
  CHECK(f.deliveries("a-ws").at(0).state == "dead");
  f.publish("contact.created", "a-ws", {{"id", "ct_2"}});
  CHECK(f.deliveries("a-ws").size() == 1);
}

TEST_CASE("a timeout is a failed attempt with no status, retried like any other", "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver hooks;
  hooks.hang_ms = 1'200;  // the fixture's timeout is 500 ms
  int n = 0;
  hooks.script([&](const Received&) { return ++n == 1 ? LoopbackReceiver::kHang : 200; });
  f.subscribe("a-ws", hooks.url());
  f.publish("contact.created", "a-ws", {{"id", "ct_1"}});
  CHECK(f.dispatcher->deliver_due() == 1);
  auto d = f.deliveries("a-ws").at(0);
  CHECK(d.state == "failed");
  CHECK_FALSE(d.last_status.has_value());
  REQUIRE(d.last_error.has_value());
  f.clock += 6'000;
  CHECK(f.dispatcher->deliver_due() == 1);
  CHECK(f.deliveries("a-ws").at(0).state == "delivered");
}

TEST_CASE("rows a killed process left delivering are pending again when the dispatcher starts", "[webhooks]") {
  DispatcherFixture f;
  LoopbackReceiver hooks;
  f.subscribe("a-ws", hooks.url());
  f.publish("contact.created", "a-ws", {{"id", "ct_1"}});
  // A sender claimed it and died before recording anything.
  const auto claimed = f.db->write([&](sb::store::Connection& c) { return repo::claim_due(c, f.clock.load(), 10); });
  REQUIRE(claimed.size() == 1);
  f.dispatcher.reset();
  CHECK(f.deliveries("a-ws").at(0).state == "delivering");
  f.start();
  CHECK(f.deliveries("a-ws").at(0).state == "pending");
  CHECK(f.dispatcher->deliver_due() == 1);
  CHECK(hooks.count() == 1);
  CHECK(f.deliveries("a-ws").at(0).state == "delivered");
}

TEST_CASE("claiming takes one row per (endpoint, conversation) at a time, in queue order", "[webhooks]") {
  DispatcherFixture f;
  f.dispatcher->stop();
  const auto sub = f.subscribe("a-ws", "http://127.0.0.1:1/x").first;
  const auto other = f.subscribe("a-ws", "http://127.0.0.1:1/y").first;
  const int64_t now = f.clock.load();
  auto add = [&](const std::string& target, const std::string& key) {
    repo::Delivery d;
    d.id = sb::new_id("msg");
    d.organization_id = "a-org";
    d.workspace_id = "a-ws";
    d.target_kind = "subscription";
    d.target_id = target;
    d.event_id = sb::new_id("evt");
    d.event_type = "message.received";
    d.payload = "{}";
    d.ordering_key = key;
    d.next_attempt_at = now;
    d.created_at = now;
    f.db->write([&](sb::store::Connection& c) { repo::insert_delivery(c, d); });
    return d.id;
  };
  const auto c1a = add(sub.id, "c1"), c1b = add(sub.id, "c1"), c2a = add(sub.id, "c2"), o1 = add(other.id, "c1");
  auto claim = [&](int64_t limit) {
    std::vector<std::string> ids;
    for (const auto& d : f.db->write([&](sb::store::Connection& c) { return repo::claim_due(c, now, limit); }))
      ids.push_back(d.id);
    return ids;
  };
  // c1a, c2a and the other endpoint's c1: c1b waits behind c1a.
  CHECK(claim(10) == std::vector<std::string>{c1a, c2a, o1});
  CHECK(claim(10).empty());  // all in flight
  // c1a failed with a retry later: c1b still waits (order, not just one in flight).
  f.db->write([&](sb::store::Connection& c) {
    repo::finish_attempt(c, c1a, "failed", 1, 500, std::string("HTTP 500"), now + 5'000, now);
  });
  CHECK(claim(10).empty());
  // A replay of a delivered row does not go out beside a row of its chain in flight.
  f.db->write([&](sb::store::Connection& c) {
    repo::finish_attempt(c, c2a, "delivered", 1, 200, std::nullopt, now, now);
  });
  const auto c2b = add(sub.id, "c2");
  CHECK(claim(10) == std::vector<std::string>{c2b});
  auto delivered_c2a = f.db->read([&](sb::store::Connection& c) { return repo::find_delivery(c, "a-ws", c2a); });
  REQUIRE(f.db->write([&](sb::store::Connection& c) { return repo::replay(c, *delivered_c2a, now); }));
  CHECK(claim(10).empty());
  // Paused endpoints are skipped.
  f.db->write([&](sb::store::Connection& c) {
    auto s = *repo::find_subscription_by_id(c, other.id);
    s.state = "paused";
    repo::update_subscription(c, s);
    repo::finish_attempt(c, o1, "failed", 1, 500, std::string("HTTP 500"), now, now);
  });
  CHECK(claim(10).empty());
  // Once c1a is delivered, c1b is next.
  f.db->write([&](sb::store::Connection& c) {
    repo::finish_attempt(c, c1a, "delivered", 2, 200, std::nullopt, now, now);
  });
  CHECK(claim(10) == std::vector<std::string>{c1b});
}
