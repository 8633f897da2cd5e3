// The outbox and its sender, against the real sandbox channel and the flaky
// fixture channel: queued -> sent -> delivered -> read, permanent and
// transient failures, ordering, and recovery after a crash.
#include "messaging_test_host.hpp"
#include "store/outbox_repository.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

sb::messaging::OutgoingMessage text_to(const std::string& profile, const std::string& to, const std::string& text) {
  sb::messaging::OutgoingMessage m;
  m.profile_id = profile;
  m.to = to;
  m.text = text;
  return m;
}

std::string message_status(MessagingHost& host, const std::string& id) {
  auto row = host.row("SELECT status FROM messages WHERE id = ?", {id});
  return row ? row->text("status") : "";
}

// The statuses published for one message, in order.
std::vector<std::string> published_statuses(const EventRecorder& recorder, const std::string& message_id) {
  std::vector<std::string> out;
  for (const auto& e : recorder.of_type("message.status"))
    if (e.data["message_id"] == message_id) out.push_back(e.data["status"].get<std::string>());
  return out;
}

// The flaky channel's attempts for one idempotency key.
std::vector<json> attempts_for(MessagingHost& host, const std::string& profile, const std::string& key) {
  std::vector<json> out;
  const json sends = host.get_hook("messaging-flaky-channel", profile, "sends")["sends"];
  for (const json& s : sends)
    if (s["idempotency_key"] == key) out.push_back(s);
  return out;
}

}  // namespace

TEST_CASE("an enqueued message is queued with a durable outbox row until the sender runs", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"message.status"});

  auto queued = host.messaging->outbox().enqueue(text_to("p1", "+1 555 222 3333", "hello"));
  CHECK(message_status(host, queued.message_id) == "queued");
  auto row = host.row("SELECT * FROM outbox WHERE id = ?", {queued.outbox_id});
  REQUIRE(row);
  CHECK(row->text("state") == "pending");
  CHECK(row->integer("attempts") == 0);
  CHECK(row->text("idempotency_key") == queued.outbox_id);
  CHECK(row->text("message_id") == queued.message_id);
  CHECK(row->text("workspace_id") == sb::test::kWorkspace);
  CHECK(host.row("SELECT phone FROM contacts WHERE id = ?", {queued.contact_id})->text("phone") == "+15552223333");

  host.messaging->start();
  // Events are published right after their commit: wait for the last one.
  REQUIRE(eventually([&] { return published_statuses(recorder, queued.message_id).size() == 3; }));
  CHECK(published_statuses(recorder, queued.message_id) == std::vector<std::string>{"sent", "delivered", "read"});
  CHECK(message_status(host, queued.message_id) == "read");
  auto outbound = host.sandbox_outbound("p1");
  REQUIRE(outbound.size() == 1);
  CHECK(outbound[0]["text"] == "hello");
  CHECK(outbound[0]["to"] == "+15552223333");
  CHECK(outbound[0]["idempotency_key"] == queued.outbox_id);
  CHECK(host.row("SELECT external_id FROM messages WHERE id = ?", {queued.message_id})->text("external_id") ==
        outbound[0]["external_id"]);
  CHECK(host.row("SELECT state FROM outbox WHERE id = ?", {queued.outbox_id})->text("state") == "sent");
}

TEST_CASE("enqueue refuses a bad message and writes nothing", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  auto& outbox = host.messaging->outbox();

  auto code_of = [](const std::function<void()>& fn) {
    try {
      fn();
    } catch (const sb::Error& e) {
      return e.code();
    }
    return sb::ErrorCode::internal;
  };
  CHECK(code_of([&] { outbox.enqueue(text_to("nobody", "+15552223333", "hi")); }) == sb::ErrorCode::not_found);
  CHECK(code_of([&] { outbox.enqueue(text_to("p1", "5552223333", "hi")); }) == sb::ErrorCode::invalid_argument);
  CHECK(code_of([&] { outbox.enqueue(text_to("p1", "+15552223333", "")); }) == sb::ErrorCode::invalid_argument);
  auto m = text_to("p1", "+15552223333", "hi");
  m.type = "hologram";
  CHECK(code_of([&] { outbox.enqueue(m); }) == sb::ErrorCode::invalid_argument);
  m = text_to("p1", "", "hi");
  m.contact_id = "ct_missing";
  CHECK(code_of([&] { outbox.enqueue(m); }) == sb::ErrorCode::not_found);
  CHECK(host.count("SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM messages) + "
                   "(SELECT COUNT(*) FROM contacts) AS n") == 0);
}

TEST_CASE("a recipient the channel refuses ends failed with the channel's reason", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1", "channel-sandbox", {{"fail_to", {"+15550001111"}}});
  EventRecorder recorder(host.bus, {"message.status"});
  host.messaging->start();

  auto refused = host.messaging->outbox().enqueue(text_to("p1", "+15550001111", "hello"));
  auto fine = host.messaging->outbox().enqueue(text_to("p1", "+15550002222", "hello"));
  REQUIRE(eventually([&] { return published_statuses(recorder, refused.message_id).size() == 1; }));
  REQUIRE(eventually([&] { return message_status(host, fine.message_id) == "read"; }));

  auto msg = host.row("SELECT * FROM messages WHERE id = ?", {refused.message_id});
  CHECK_THAT(msg->text("error"), Catch::Contains("fail_to"));
  auto row = host.row("SELECT * FROM outbox WHERE id = ?", {refused.outbox_id});
  CHECK(row->text("state") == "failed");
  CHECK(row->integer("attempts") == 1);  // a permanent error is not retried
  CHECK_THAT(row->text("last_error"), Catch::Contains("fail_to"));
  CHECK(published_statuses(recorder, refused.message_id) == std::vector<std::string>{"failed"});
  for (const auto& e : recorder.of_type("message.status"))
    if (e.data["message_id"] == refused.message_id) CHECK_THAT(e.data["error"].get<std::string>(), Catch::Contains("fail_to"));
}

TEST_CASE("a transient failure is retried with growing backoff until the channel takes it", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());  // base backoff 40 ms
  host.seed_profile("flaky", "messaging-flaky-channel", {{"transient_failures", 2}});
  host.messaging->start();

  auto queued = host.messaging->outbox().enqueue(text_to("flaky", "+15552223333", "hello"));
  REQUIRE(eventually([&] { return message_status(host, queued.message_id) == "sent"; }));

  auto attempts = attempts_for(host, "flaky", queued.outbox_id);
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0]["outcome"] == "transient");
  CHECK(attempts[1]["outcome"] == "transient");
  CHECK(attempts[2]["outcome"] == "sent");
  // Retry n waits between base * 2^(n-1) / 2 and base * 2^(n-1).
  CHECK(attempts[1]["at_ms"].get<int64_t>() - attempts[0]["at_ms"].get<int64_t>() >= 20);
  CHECK(attempts[2]["at_ms"].get<int64_t>() - attempts[1]["at_ms"].get<int64_t>() >= 40);

  auto row = host.row("SELECT * FROM outbox WHERE id = ?", {queued.outbox_id});
  CHECK(row->text("state") == "sent");
  CHECK(row->integer("attempts") == 3);
  CHECK(host.row("SELECT external_id FROM messages WHERE id = ?", {queued.message_id})->text("external_id") ==
        "flaky-" + queued.outbox_id);
}

TEST_CASE("a message that keeps failing transiently fails after max_attempts", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());  // max_attempts 5
  host.seed_profile("flaky", "messaging-flaky-channel", {{"transient_failures", 1000}});
  EventRecorder recorder(host.bus, {"message.status"});
  host.messaging->start();

  auto queued = host.messaging->outbox().enqueue(text_to("flaky", "+15552223333", "hello"));
  REQUIRE(eventually([&] { return published_statuses(recorder, queued.message_id).size() == 1; }));
  CHECK(message_status(host, queued.message_id) == "failed");
  CHECK(attempts_for(host, "flaky", queued.outbox_id).size() == 5);
  CHECK_THAT(host.row("SELECT error FROM messages WHERE id = ?", {queued.message_id})->text("error"),
             Catch::Contains("gave up after 5 attempts") && Catch::Contains("fails on purpose"));
  CHECK(host.row("SELECT state FROM outbox WHERE id = ?", {queued.outbox_id})->text("state") == "failed");
  CHECK(published_statuses(recorder, queued.message_id) == std::vector<std::string>{"failed"});
}

TEST_CASE("a conversation's messages go out in order even when the first one must be retried",
          "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("flaky", "messaging-flaky-channel", {{"transient_failures", 1}});
  // Both are enqueued before the sender starts, so they share a batch.
  auto first = host.messaging->outbox().enqueue(text_to("flaky", "+15552223333", "first"));
  auto second = host.messaging->outbox().enqueue(text_to("flaky", "+15552223333", "second"));
  REQUIRE(first.conversation_id == second.conversation_id);
  host.messaging->start();

  REQUIRE(eventually([&] { return message_status(host, second.message_id) == "sent"; }));
  CHECK(message_status(host, first.message_id) == "sent");
  std::vector<std::string> order;
  const json sends = host.get_hook("messaging-flaky-channel", "flaky", "sends")["sends"];
  for (const json& s : sends)
    order.push_back(s["text"].get<std::string>() + ":" + s["outcome"].get<std::string>());
  CHECK(order == std::vector<std::string>{"first:transient", "first:sent", "second:transient", "second:sent"});
}

TEST_CASE("receipts that arrive before the send is recorded still move the status", "[messaging][outbox]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  // Receipts fire at once, racing the sender's own bookkeeping.
  host.seed_profile("p1", "channel-sandbox", {{"receipt_delay_ms", 0}});
  host.messaging->start();

  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(
        host.messaging->outbox().enqueue(text_to("p1", "+1555000100" + std::to_string(i % 10), "hi")).message_id);
  for (const std::string& id : ids) {
    INFO(id);
    CHECK(eventually([&] { return message_status(host, id) == "read"; }));
  }
  CHECK(host.count("SELECT COUNT(*) AS n FROM message_receipts") == 0);
}

TEST_CASE("a status never moves backwards and failed is terminal", "[messaging][outbox][status]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  // No simulated receipts during the test: the test plays the channel.
  host.seed_profile("p1", "channel-sandbox", {{"receipt_delay_ms", 3600000}});
  host.messaging->start();
  auto& sink = host.messaging->event_sink();

  auto a = host.messaging->outbox().enqueue(text_to("p1", "+15552223333", "a"));
  auto b = host.messaging->outbox().enqueue(text_to("p1", "+15552224444", "b"));
  REQUIRE(eventually([&] { return message_status(host, a.message_id) == "sent" && message_status(host, b.message_id) == "sent"; }));
  auto ext = [&](const std::string& id) {
    return host.row("SELECT external_id FROM messages WHERE id = ?", {id})->text("external_id");
  };
  auto receipt = [&](const std::string& id, const std::string& status) {
    return sink.on_plugin_event("channel-sandbox", "p1", "message.status", {{"external_id", ext(id)}, {"status", status}});
  };

  CHECK(receipt(a.message_id, "read")["updated"] == true);
  CHECK(receipt(a.message_id, "delivered")["updated"] == false);
  CHECK(receipt(a.message_id, "sent")["updated"] == false);
  CHECK(receipt(a.message_id, "failed")["updated"] == false);
  CHECK(message_status(host, a.message_id) == "read");

  CHECK(receipt(b.message_id, "failed")["updated"] == true);
  CHECK(receipt(b.message_id, "delivered")["updated"] == false);
  CHECK(receipt(b.message_id, "read")["updated"] == false);
  CHECK(message_status(host, b.message_id) == "failed");

  // A receipt for an id the host never sent is not found (nothing in flight).
  try {
    sink.on_plugin_event("channel-sandbox", "p1", "message.status", {{"external_id", "nope"}, {"status", "read"}});
    FAIL("expected not_found");
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::not_found);
  }
}

TEST_CASE("rows left in sending by a dead process are sent after a restart", "[messaging][outbox][recovery]") {
  TempDir dir("sb-msg");
  std::string message_id;
  {
    MessagingHost first(dir.path());
    first.seed_profile("p1");
    message_id = first.messaging->outbox().enqueue(text_to("p1", "+15552223333", "survives")).message_id;
    // The dead process had claimed it and never recorded the outcome.
    auto claimed = first.db->write(
        [](sb::store::Connection& c) { return sb::store::outbox::claim_due(c, "p1", "cold", sb::now_ms(), 10); });
    REQUIRE(claimed.size() == 1);
  }
  MessagingHost second(dir.path());
  CHECK(second.row("SELECT state FROM outbox WHERE message_id = ?", {message_id})->text("state") == "sending");
  second.messaging->start();
  REQUIRE(eventually([&] { return message_status(second, message_id) == "read"; }));
  auto outbound = second.sandbox_outbound("p1");
  REQUIRE(outbound.size() == 1);
  CHECK(outbound[0]["text"] == "survives");
}

TEST_CASE("a send the channel took just before a crash is not sent twice on recovery",
          "[messaging][outbox][recovery]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  auto& messaging = *host.messaging;
  messaging.sessions().open_all(false);
  auto queued = messaging.outbox().enqueue(text_to("p1", "+15552223333", "once"));

  // The "dead" sender claimed the row and the channel sent it, but the
  // outcome was never recorded.
  host.db->write([](sb::store::Connection& c) { return sb::store::outbox::claim_due(c, "p1", "cold", sb::now_ms(), 10); });
  auto session = messaging.sessions().find("p1");
  REQUIRE(session);
  const json first_send = session->send({{"message_id", queued.message_id},
                                         {"idempotency_key", queued.outbox_id},
                                         {"to", "+15552223333"},
                                         {"type", "text"},
                                         {"text", "once"}});

  CHECK(messaging.outbox().recover() == 1);
  messaging.outbox().start();
  REQUIRE(eventually([&] { return message_status(host, queued.message_id) == "read"; }));
  CHECK(host.sandbox_outbound("p1").size() == 1);
  CHECK(host.row("SELECT external_id FROM messages WHERE id = ?", {queued.message_id})->text("external_id") ==
        first_send["external_id"]);
}
