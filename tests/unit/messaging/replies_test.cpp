// Replies to inbound messages, made the way the flow runtime makes them: one
// write job marks the inbound message handled and enqueues the reply through
// Outbox::enqueue in the message's conversation, so a message is answered
// exactly once however often it is looked at (an event, a sweep after a
// restart). What a bot answers, and that it stays quiet while a human has
// the conversation, is the flows' business: tests/unit/flows and the
// example conversations in examples/flows.
#include "messaging_test_host.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using nlohmann::json;
using sb::test::EventRecorder;
using sb::test::eventually;
using sb::test::MessagingHost;
using sb::test::TempDir;

namespace {

// Answers the inbound message `message_id` with `text` in one write job:
// marks it handled and enqueues the reply in its conversation. False, and
// nothing enqueued, when the message was handled already.
bool answer(MessagingHost& host, const std::string& message_id, const std::string& text) {
  return host.db->write([&](sb::store::Connection& c) {
    auto message = sb::store::messages::find(c, sb::test::kWorkspace, message_id);
    if (!message) throw std::runtime_error("no message " + message_id);
    if (!sb::store::messages::mark_handled(c, message->id, sb::now_ms())) return false;
    auto conversation = sb::store::conversations::find(c, message->workspace_id, message->conversation_id);
    if (!conversation) throw std::runtime_error("no conversation " + message->conversation_id);
    sb::messaging::OutgoingMessage reply;
    reply.text = text;
    host.messaging->outbox().enqueue(c, *conversation, reply);
    return true;
  });
}

int64_t outbound_messages(MessagingHost& host) {
  return host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'out'");
}

bool handled(MessagingHost& host, const std::string& message_id) {
  return host.row("SELECT handled FROM messages WHERE id = ?", {message_id})->integer("handled") == 1;
}

std::vector<sb::store::Message> unhandled(MessagingHost& host) {
  return host.db->read([](sb::store::Connection& c) { return sb::store::messages::unhandled_inbound(c, 0, "", 1000); });
}

// Waits until the outbox has no row pending or in flight.
void settle(MessagingHost& host) {
  REQUIRE(eventually(
      [&] { return host.count("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')") == 0; }));
}

}  // namespace

TEST_CASE("a reply to an inbound message reaches its sender in its conversation, queued, then sent, delivered, read",
          "[messaging][replies]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  EventRecorder recorder(host.bus, {"message.status"});
  // Sessions only: the sender starts once the queued reply has been looked at.
  host.messaging->sessions().open_all(false);

  auto r = host.inject("p1", {{"from", "+15551234567"}, {"name", "Ana"}, {"text", "Ping!"}, {"id", "in-1"}});
  REQUIRE(r.status == 200);
  const json inbound = json::parse(r.body);
  CHECK_FALSE(handled(host, inbound["message_id"]));  // stored for the flows to answer
  REQUIRE(answer(host, inbound["message_id"], "pong"));
  CHECK(handled(host, inbound["message_id"]));

  auto reply = host.row("SELECT * FROM messages WHERE direction = 'out'");
  REQUIRE(reply);
  CHECK(reply->text("status") == "queued");
  CHECK(reply->text("text") == "pong");
  CHECK(reply->text("conversation_id") == inbound["conversation_id"]);
  CHECK(reply->text("contact_id") == inbound["contact_id"]);
  CHECK(host.row("SELECT state FROM outbox WHERE message_id = ?", {reply->text("id")})->text("state") == "pending");

  host.messaging->outbox().start();
  REQUIRE(eventually([&] {
    auto out = host.sandbox_outbound("p1");
    return out.size() == 1 && out[0]["status"] == "read";
  }));
  auto out = host.sandbox_outbound("p1");
  CHECK(out[0]["text"] == "pong");
  CHECK(out[0]["to"] == "+15551234567");
  CHECK(host.row("SELECT external_id FROM messages WHERE direction = 'out'")->text("external_id") ==
        out[0]["external_id"]);
  std::vector<std::string> statuses;
  REQUIRE(eventually([&] {
    statuses.clear();
    for (const auto& e : recorder.of_type("message.status")) statuses.push_back(e.data["status"].get<std::string>());
    return statuses.size() == 3;
  }));
  CHECK(statuses == std::vector<std::string>{"sent", "delivered", "read"});
  CHECK(host.row("SELECT status FROM messages WHERE direction = 'out'")->text("status") == "read");
  CHECK(outbound_messages(host) == 1);
}

TEST_CASE("a message to a conversation a human has joins it, leaves it the human's, and the agent's reply is sent",
          "[messaging][replies]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1");
  host.messaging->start();

  auto first = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "hello"}}).body);
  const std::string conversation = first["conversation_id"];
  host.db->write([&](sb::store::Connection& c) {
    c.execute("UPDATE conversations SET mode = 'human', assignee = 'agent_1' WHERE id = ?", {conversation});
  });
  EventRecorder recorder(host.bus, {"message.received"});
  auto second = json::parse(host.inject("p1", {{"from", "+15551234567"}, {"text", "ping"}}).body);

  CHECK(second["conversation_id"] == conversation);
  auto row = host.row("SELECT mode, assignee FROM conversations WHERE id = ?", {conversation});
  CHECK(row->text("mode") == "human");
  CHECK(row->text("assignee") == "agent_1");
  // Still news for the flows, which leave it to the human.
  CHECK_FALSE(handled(host, second["message_id"]));
  REQUIRE(recorder.events().size() == 1);
  CHECK(recorder.events()[0].data["conversation_id"] == conversation);
  CHECK(outbound_messages(host) == 0);

  sb::messaging::OutgoingMessage reply;
  reply.profile_id = "p1";
  reply.conversation_id = conversation;
  reply.contact_id = first["contact_id"];
  reply.text = "Hi, Bea here. How can I help?";
  auto queued = host.messaging->outbox().enqueue(reply);
  CHECK(queued.conversation_id == conversation);
  REQUIRE(eventually([&] {
    auto out = host.sandbox_outbound("p1");
    return out.size() == 1 && out[0]["status"] == "read";
  }));
  CHECK(host.sandbox_outbound("p1")[0]["to"] == "+15551234567");
  CHECK(host.row("SELECT mode FROM conversations WHERE id = ?", {conversation})->text("mode") == "human");
}

TEST_CASE("a message stored by a process that died before answering it is answered exactly once after a restart",
          "[messaging][replies][recovery]") {
  TempDir dir("sb-msg");
  std::string ping_id;
  {
    // The first process stores the message and dies before answering it.
    MessagingHost first(dir.path());
    first.seed_profile("p1");
    first.messaging->start();
    ping_id = json::parse(first.inject("p1", {{"from", "+15551234567"}, {"text", "ping"}, {"id", "in-1"}}).body)
        ["message_id"];
    CHECK_FALSE(handled(first, ping_id));
  }
  {
    // The next one finds it unhandled, as the flow runtime's sweep does, and
    // answers it; an event racing the sweep for it finds it handled.
    MessagingHost second(dir.path());
    second.messaging->start();
    auto found = unhandled(second);
    REQUIRE(found.size() == 1);
    CHECK(found[0].id == ping_id);
    CHECK(answer(second, ping_id, "pong"));
    CHECK_FALSE(answer(second, ping_id, "pong"));
    REQUIRE(eventually([&] { return second.sandbox_outbound("p1").size() == 1; }));
    settle(second);
    CHECK(second.sandbox_outbound("p1")[0]["text"] == "pong");
    CHECK(unhandled(second).empty());
    CHECK(outbound_messages(second) == 1);
  }
  {
    // Restarting again finds nothing left to answer or to send.
    MessagingHost third(dir.path());
    third.messaging->start();
    CHECK(unhandled(third).empty());
    settle(third);
    CHECK(outbound_messages(third) == 1);
    CHECK(third.sandbox_outbound("p1").empty());
  }
}

TEST_CASE("many messages from many senders each get exactly one reply, even when each is answered twice",
          "[messaging][replies]") {
  TempDir dir("sb-msg");
  MessagingHost host(dir.path());
  host.seed_profile("p1", "channel-sandbox", {{"receipt_delay_ms", 5}});
  host.messaging->start();
  // Every new message is answered from the bus, as the flow runtime does.
  auto subscription = host.bus.subscribe("message.received", [&](const sb::Event& e) {
    answer(host, e.data["id"].get<std::string>(), "pong to " + e.data["text"].get<std::string>());
  });

  constexpr int kSenders = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kSenders; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        host.inject("p1", {{"from", "+1555000020" + std::to_string(t)}, {"text", "ping " + std::to_string(i)}});
    });
  for (auto& t : threads) t.join();

  // A sweep over every inbound message afterwards answers none of them again.
  int answered_again = 0;
  for (const auto& row : host.db->read([](sb::store::Connection& c) {
         return c.query("SELECT id FROM messages WHERE direction = 'in'");
       }))
    answered_again += answer(host, row.text("id"), "pong again") ? 1 : 0;
  CHECK(answered_again == 0);

  REQUIRE(eventually([&] {
    return host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'out' AND status = 'read'") ==
           kSenders * kEach;
  }));
  settle(host);
  CHECK(host.sandbox_outbound("p1").size() == kSenders * kEach);
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages WHERE direction = 'in' AND handled = 0") == 0);
  // Each conversation has as many replies as messages, each naming its message.
  CHECK(host.count("SELECT COUNT(*) AS n FROM (SELECT conversation_id FROM messages GROUP BY conversation_id "
                   "HAVING SUM(direction = 'in') <> SUM(direction = 'out'))") == 0);
  CHECK(host.count("SELECT COUNT(*) AS n FROM messages o JOIN messages i ON o.conversation_id = i.conversation_id "
                   "AND i.direction = 'in' AND o.text = 'pong to ' || i.text WHERE o.direction = 'out'") ==
        kSenders * kEach);
  CHECK(host.count("SELECT COUNT(*) AS n FROM conversations") == kSenders);
}
