// channel-sandbox, loaded by the real loader: a simulated WhatsApp number
// driven through its hook routes and the channel table.
#include "plugin_test_host.hpp"

#include "plugins/plugin_error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using sb::test::PluginTestHost;
using sb::test::RecordedEvent;
using sb::test::sandbox_plugin_dir;

namespace {

constexpr const char* kSandbox = "channel-sandbox";

json text_message(const std::string& key, const std::string& to = "+15551234567") {
  return {{"message_id", "msg-" + key},
          {"idempotency_key", key},
          {"to", to},
          {"conversation_id", "conv-1"},
          {"type", "text"},
          {"text", "hello " + key}};
}

json outbound(PluginTestHost& host, const std::string& profile, json query = json::object()) {
  auto r = host.hook(kSandbox, profile, "GET", "outbound", "", json::object(), std::move(query));
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("messages");
}

std::vector<std::string> session_statuses(PluginTestHost& host) {
  std::vector<std::string> out;
  for (auto& e : host.sink.events_of("session.status")) out.push_back(e.event.at("status"));
  return out;
}

}  // namespace

TEST_CASE("the sandbox loads and fills its config defaults", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  REQUIRE(host.registry.loaded(kSandbox));
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  CHECK(channel->config() ==
        json{{"phone", "+15550000000"}, {"receipt_delay_ms", 50}, {"auto_pair", false}, {"fail_to", json::array()}});
  auto status = channel->status();
  CHECK(status.at("status") == "DISCONNECTED");
  CHECK(status.at("phone") == "+15550000000");
  CHECK(status.at("profile_id") == "p1");
}

TEST_CASE("the sandbox refuses unknown config keys", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  CHECK_THROWS_WITH(host.registry.create_channel(kSandbox, "p1", {{"phone_number", "+1555"}}),
                    Contains("phone_number"));
}

TEST_CASE("the sandbox can send every message type and has groups", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto caps = channel->capabilities();
  std::vector<std::string> types = caps.at("message_types");
  std::sort(types.begin(), types.end());
  CHECK(types == std::vector<std::string>{"audio", "contact", "document", "image", "interactive", "location", "poll",
                                          "reaction", "sticker", "template", "text", "video"});
  CHECK(caps.at("groups") == true);
}

TEST_CASE("an injected inbound message is emitted and answered with the host's result", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto r = host.post_json(kSandbox, "p1", "inbound", {{"from", "+15551234567"}, {"name", "Ana"}, {"text", "hi"}});
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  CHECK(body.at("accepted") == true);
  CHECK_THAT(body.at("external_id").get<std::string>(), StartsWith("sbx-in-"));
  CHECK(body.at("message_id") == "msg-1");
  CHECK(body.at("conversation_id") == "conv-1");
  CHECK(body.at("duplicate") == false);

  auto events = host.sink.events_of("message.inbound");
  REQUIRE(events.size() == 1);
  const json& e = events[0].event;
  CHECK(events[0].plugin_id == kSandbox);
  CHECK(events[0].instance_id == "p1");
  CHECK(e.at("external_id") == body.at("external_id"));
  CHECK(e.at("from") == "+15551234567");
  CHECK(e.at("from_name") == "Ana");
  CHECK(e.at("type") == "text");
  CHECK(e.at("text") == "hi");
  CHECK(e.at("timestamp").is_number_integer());
}

TEST_CASE("an inbound message keeps the external id it was given", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto r = host.post_json(kSandbox, "p1", "inbound", {{"from", "15551234567"}, {"text", "hi"}, {"id", "wamid.1"}});
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("external_id") == "wamid.1");
  CHECK(host.sink.events_of("message.inbound").at(0).event.at("external_id") == "wamid.1");
}

TEST_CASE("a malformed inbound message is refused with the error shape", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto refused = [&](const json& body) {
    auto r = host.post_json(kSandbox, "p1", "inbound", body);
    INFO(body.dump() << " -> " << r.body);
    CHECK(r.status == 400);
    CHECK(json::parse(r.body).at("error").at("code") == "invalid_argument");
  };
  refused(json::array());
  refused({{"text", "hi"}});
  refused({{"from", "not a phone"}, {"text", "hi"}});
  refused({{"from", "+15551234567"}});
  refused({{"from", "+15551234567"}, {"text", ""}});
  refused({{"from", "+15551234567"}, {"text", "hi"}, {"type", "hologram"}});

  auto not_json = host.hook(kSandbox, "p1", "POST", "inbound", "{", {{"content-type", "application/json"}});
  CHECK(not_json.status == 400);
  CHECK(host.sink.events_of("message.inbound").empty());
}

TEST_CASE("an inbound message that is not application/json is answered 415", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  const std::string body = json{{"from", "+15551234567"}, {"text", "hi"}}.dump();
  auto form = host.hook(kSandbox, "p1", "POST", "inbound", body, {{"content-type", "text/plain"}});
  CHECK(form.status == 415);
  CHECK(json::parse(form.body).at("error").at("code") == "unsupported_media_type");
  auto charset = host.hook(kSandbox, "p1", "POST", "inbound", body, {{"content-type", "application/json; charset=utf-8"}});
  CHECK(charset.status == 200);
}

TEST_CASE("a host refusal of an inbound message is passed on with a matching status", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  host.sink.refuse_with(sb::Error(sb::ErrorCode::rate_limited, "slow down"));
  auto r = host.post_json(kSandbox, "p1", "inbound", {{"from", "+15551234567"}, {"text", "hi"}});
  CHECK(r.status == 429);
  auto error = json::parse(r.body).at("error");
  CHECK(error.at("code") == "rate_limited");
  CHECK(error.at("message") == "slow down");

  host.sink.refuse_with(sb::Error(sb::ErrorCode::unavailable, "database down"));
  CHECK(host.post_json(kSandbox, "p1", "inbound", {{"from", "+15551234567"}, {"text", "hi"}}).status == 503);
}

TEST_CASE("a sent message is recorded and then delivered and read", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", {{"receipt_delay_ms", 10}});
  auto result = channel->send(text_message("k1"));
  const std::string external_id = result.at("external_id");
  CHECK_THAT(external_id, StartsWith("sbx-out-"));

  REQUIRE(host.sink.wait_for_count("message.status", 2));
  auto receipts = host.sink.events_of("message.status");
  CHECK(receipts[0].event.at("external_id") == external_id);
  CHECK(receipts[0].event.at("status") == "delivered");
  CHECK(receipts[1].event.at("status") == "read");
  CHECK(receipts[1].event.at("timestamp").is_number_integer());

  auto messages = outbound(host, "p1");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].at("external_id") == external_id);
  CHECK(messages[0].at("status") == "read");
  CHECK(messages[0].at("to") == "+15551234567");
  CHECK(messages[0].at("text") == "hello k1");
  CHECK(messages[0].at("message_id") == "msg-k1");
  CHECK(messages[0].at("sent_at").is_number_integer());
}

TEST_CASE("a repeated idempotency key is answered like the first send and recorded once", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto first = channel->send(text_message("same"));
  auto again = channel->send(text_message("same"));
  auto other = channel->send(text_message("other"));
  CHECK(first == again);
  CHECK(first != other);
  CHECK(outbound(host, "p1").size() == 2);
}

TEST_CASE("GET outbound?limit=N shows the newest N, newest last", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  for (auto key : {"a", "b", "c"}) channel->send(text_message(key));
  auto last_two = outbound(host, "p1", {{"limit", "2"}});
  REQUIRE(last_two.size() == 2);
  CHECK(last_two[0].at("message_id") == "msg-b");
  CHECK(last_two[1].at("message_id") == "msg-c");
  CHECK(host.hook(kSandbox, "p1", "GET", "outbound", "", json::object(), {{"limit", "zero"}}).status == 400);
}

TEST_CASE("a recipient in fail_to is refused permanently and recorded as failed", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", {{"fail_to", {"+15559999999"}}});
  try {
    channel->send(text_message("k1", "+15559999999"));
    FAIL("send should have been refused");
  } catch (const sb::plugins::PluginError& e) {
    CHECK(e.status() == SB_ERR_PERMANENT);
    CHECK_FALSE(e.transient());
    CHECK_THAT(e.what(), Contains("+15559999999"));
  }
  // Retrying the same message fails the same way and records nothing new.
  CHECK_THROWS_AS(channel->send(text_message("k1", "+15559999999")), sb::plugins::PluginError);
  auto messages = outbound(host, "p1");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].at("status") == "failed");
  CHECK(messages[0].at("external_id").is_null());
  CHECK(host.sink.events_of("message.status").empty());
}

TEST_CASE("a message the sandbox cannot send is an invalid argument", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto invalid = [&](json message) {
    INFO(message.dump());
    try {
      channel->send(message);
      FAIL("send should have been refused");
    } catch (const sb::plugins::PluginError& e) {
      CHECK(e.status() == SB_ERR_INVALID_ARGUMENT);
    }
  };
  const json m = text_message("k");
  json no_to = m;
  no_to.erase("to");
  invalid(no_to);
  json bad_type = m;
  bad_type["type"] = "hologram";
  invalid(bad_type);
  json empty_text = m;
  empty_text["text"] = "";
  invalid(empty_text);
  CHECK(outbound(host, "p1").empty());
}

TEST_CASE("POST pair walks CONNECTING, QR_READY and CONNECTED", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  auto r = host.post_json(kSandbox, "p1", "pair", json::object());
  CHECK(r.status == 202);
  CHECK(json::parse(r.body) == json{{"status", "CONNECTING"}});

  REQUIRE(host.sink.wait_for_count("session.status", 3));
  CHECK(session_statuses(host) == std::vector<std::string>{"CONNECTING", "QR_READY", "CONNECTED"});
  auto qr = host.sink.events_of("session.status").at(1).event.at("qr").get<std::string>();
  CHECK_THAT(qr, StartsWith("sandbox-qr:p1:"));

  auto status = json::parse(host.hook(kSandbox, "p1", "GET", "status").body);
  CHECK(status.at("status") == "CONNECTED");
  CHECK(host.post_json(kSandbox, "p1", "pair", json::object()).status == 200);
}

TEST_CASE("connect with auto_pair is CONNECTED at once", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", {{"auto_pair", true}});
  channel->connect();
  CHECK(channel->status().at("status") == "CONNECTED");
  REQUIRE(host.sink.wait_for_count("session.status", 1));
  CHECK(session_statuses(host) == std::vector<std::string>{"CONNECTED"});

  channel->disconnect();
  CHECK(channel->status().at("status") == "DISCONNECTED");
  REQUIRE(host.sink.wait_for_count("session.status", 2));
  CHECK(session_statuses(host).back() == "DISCONNECTED");
}

TEST_CASE("connect without auto_pair waits at QR_READY for the scan", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", json::object());
  channel->connect();
  REQUIRE(host.sink.wait_for_count("session.status", 2));
  CHECK(session_statuses(host) == std::vector<std::string>{"CONNECTING", "QR_READY"});
  auto status = channel->status();
  CHECK(status.at("status") == "QR_READY");
  CHECK_THAT(status.at("qr").get<std::string>(), StartsWith("sandbox-qr:p1:"));
}

TEST_CASE("a destroyed sandbox leaves no hooks and no receipts behind", "[plugins][sandbox]") {
  PluginTestHost host({sandbox_plugin_dir()});
  auto channel = host.registry.create_channel(kSandbox, "p1", {{"receipt_delay_ms", 200}});
  channel->send(text_message("k1"));
  channel.reset();
  CHECK_THROWS_AS(host.hook(kSandbox, "p1", "GET", "status"), sb::Error);
  CHECK_FALSE(host.sink.wait_for_count("message.status", 1, std::chrono::milliseconds(400)));
}
