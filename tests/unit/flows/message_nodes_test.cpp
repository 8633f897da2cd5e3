// The message nodes beyond text, media, buttons and list: send_location,
// send_contact, send_poll, send_reaction, send_template and send_media's
// sticker. Each runs in a graph against the embedded node library; the send
// effect is the message ctx.send checked through messaging::check_outgoing
// (the host's shape), and a bad value fails the run with a message naming
// the node and the value.
#include "flows/engine.hpp"
#include "flows/flow_document.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace sb::flows;
using nlohmann::json;

namespace {

class FakeHost final : public EngineHost {
 public:
  FlowPtr current_flow(const std::string&, const std::string&) override { return nullptr; }
  FlowPtr flow_revision(const std::string&, const std::string&, const std::string&) override { return nullptr; }
  std::optional<json> kv_get(const std::string&, const std::string&) override { return std::nullopt; }
};

ParseResult parse_one(const json& node) {
  json n = node;
  n["id"] = "a";
  n["typeVersion"] = 1;
  json doc = {{"schema", "switchboard.flow/1"}, {"id", "t"}, {"rev", 1}, {"name", "t"},
              {"trigger", {{"type", "manual"}}}, {"start", "a"}, {"resources", json::array()},
              {"nodes", json::array({n})}, {"edges", json::array()}};
  return parse_flow_json(doc.dump(), NodeCatalog::embedded());
}

FlowPtr one_node(const std::string& type, json config) {
  ParseResult r = parse_one({{"type", type}, {"config", std::move(config)}});
  INFO(format_problems(r.problems));
  REQUIRE(r.ok());
  return r.flow;
}

json context() {
  return {{"message", {{"id", "msg_1"}, {"type", "text"}, {"text", "hi"}, {"payload", json::object()}}},
          {"contact", {{"id", "con_1"}, {"phone", "+15550100001"}, {"name", "Ada"}, {"tags", json::array()},
                       {"metadata", {{"lang", "de"}, {"city", "Berlin"}}}}},
          {"conversation", {{"id", "cnv_1"}, {"status", "open"}, {"mode", "bot"}, {"profile_id", "p"}}},
          {"trigger", {{"type", "message"}}},
          {"workspace", {{"id", "ws"}, {"timezone", "Europe/Berlin"}}}};
}

struct Run {
  FakeHost host;
  FlowEngine engine{NodeCatalog::embedded(), host};
  RunOutcome start(FlowPtr flow, json ctx = context(), json vars = json::object()) {
    RunInput in;
    in.flow = std::move(flow);
    in.workspace_id = "ws";
    in.context = std::move(ctx);
    in.initial_vars = std::move(vars);
    in.now_ms = 1'700'000'000'000;
    return engine.run(in);
  }
};

// The one message the run sent.
json sent(const RunOutcome& o) {
  INFO(o.error);
  REQUIRE(o.status == RunOutcome::Status::completed);
  std::vector<json> messages;
  for (const auto& e : o.effects)
    if (e.kind == Effect::Kind::send) messages.push_back(e.data["message"]);
  REQUIRE(messages.size() == 1);
  return messages[0];
}

// The run failed with an error containing `part`.
void fails_with(const RunOutcome& o, const std::string& part) {
  INFO(o.error);
  CHECK(o.status == RunOutcome::Status::failed);
  CHECK(o.error.find(part) != std::string::npos);
  for (const auto& e : o.effects) CHECK(e.kind != Effect::Kind::send);
}

}  // namespace

TEST_CASE("send_location sends numbers and templates that come out as numbers", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node("send_location", {{"latitude", 52.52}, {"longitude", "{{vars.lng}}"},
                                                   {"name", "Shop {{contact.metadata.city}}"},
                                                   {"address", "Unter den Linden 1"}}),
                        context(), {{"lng", "13.405"}}));
  CHECK(m["type"] == "location");
  CHECK(m["latitude"].get<double>() == Approx(52.52));
  CHECK(m["longitude"].get<double>() == Approx(13.405));
  CHECK(m["name"] == "Shop Berlin");
  CHECK(m["address"] == "Unter den Linden 1");

  json bare = sent(r.start(one_node("send_location", {{"latitude", -33.9}, {"longitude", 18.4}, {"name", "{{vars.none}}"}})));
  CHECK_FALSE(bare.contains("name"));
  CHECK_FALSE(bare.contains("address"));
}

TEST_CASE("send_location refuses a coordinate that is not a number in range", "[flows][nodes]") {
  Run r;
  fails_with(r.start(one_node("send_location", {{"latitude", "{{vars.lat}}"}, {"longitude", 13}}), context(),
                     {{"lat", "north"}}),
             "send_location: the latitude \"north\" is not a number between -90 and 90");
  fails_with(r.start(one_node("send_location", {{"latitude", 10}, {"longitude", 200}})),
             "the longitude \"200\" is not a number between -180 and 180");
  CHECK_FALSE(parse_one({{"type", "send_location"}, {"config", {{"latitude", 1}, {"longitude", 2}, {"zoom", 3}}}}).ok());
  CHECK_FALSE(parse_one({{"type", "send_location"}, {"config", {{"latitude", 1}}}}).ok());
}

TEST_CASE("send_contact sends cards with phones and emails, leaving out empty values", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node(
      "send_contact",
      {{"contacts", json::array({{{"name", "Berlin branch"}, {"phones", {"+49 30 123456", "{{vars.none}}"}},
                                  {"organization", "Switchboard"}},
                                 {{"name", "{{contact.name}}'s advisor"}, {"emails", {"advisor@example.com"}}}})}})));
  CHECK(m["type"] == "contact");
  REQUIRE(m["contacts"].size() == 2);
  CHECK(m["contacts"][0]["name"] == "Berlin branch");
  CHECK(m["contacts"][0]["phones"] == json::array({{{"phone", "+49 30 123456"}}}));
  CHECK(m["contacts"][0]["organization"] == "Switchboard");
  CHECK_FALSE(m["contacts"][0].contains("emails"));
  CHECK(m["contacts"][1]["name"] == "Ada's advisor");
  CHECK(m["contacts"][1]["emails"] == json::array({{{"email", "advisor@example.com"}}}));
}

TEST_CASE("send_contact refuses a card without a phone or an email and a bad phone", "[flows][nodes]") {
  Run r;
  fails_with(r.start(one_node("send_contact", {{"contacts", json::array({{{"name", "Nobody"}, {"phones", {"{{vars.x}}"}}}})}})),
             "send_contact: contact \"Nobody\" has no phone and no email");
  fails_with(r.start(one_node("send_contact", {{"contacts", json::array({{{"name", "Bob"}, {"phones", {"call me"}}}})}})),
             "send_contact: \"call me\" (a phone of contact \"Bob\") is not a phone number");
  CHECK_FALSE(parse_one({{"type", "send_contact"}, {"config", {{"contacts", json::array()}}}}).ok());
}

TEST_CASE("send_poll sends a question with its options", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node("send_poll", {{"question", "Which day suits you, {{contact.name}}?"},
                                               {"options", {"Monday", "Tuesday", "{{vars.day}}"}},
                                               {"multiple", true}}),
                        context(), {{"day", "Friday"}}));
  CHECK(m["type"] == "poll");
  CHECK(m["poll"] == json{{"question", "Which day suits you, Ada?"},
                          {"options", {"Monday", "Tuesday", "Friday"}},
                          {"multiple", true}});
  json single = sent(r.start(one_node("send_poll", {{"question", "Yes?"}, {"options", {"Yes", "No"}}})));
  CHECK(single["poll"]["multiple"] == false);
}

TEST_CASE("send_poll refuses options that are the same or empty and fewer than two", "[flows][nodes]") {
  Run r;
  fails_with(r.start(one_node("send_poll", {{"question", "Q"}, {"options", {"A", "{{vars.a}}"}}}), context(), {{"a", "A"}}),
             "send_poll: the option \"A\" is there twice");
  fails_with(r.start(one_node("send_poll", {{"question", "Q"}, {"options", {"A", "{{vars.none}}"}}})),
             "send_poll: option 2 is empty");
  CHECK_FALSE(parse_one({{"type", "send_poll"}, {"config", {{"question", "Q"}, {"options", {"A"}}}}}).ok());
}

TEST_CASE("send_reaction reacts to the message that started the execution or to a given id", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node("send_reaction", {{"emoji", "👍"}})));
  CHECK(m["type"] == "reaction");
  CHECK(m["reaction"] == json{{"message_id", "msg_1"}, {"emoji", "👍"}});

  json by_id = sent(r.start(one_node("send_reaction", {{"emoji", "❤️"}, {"message_id", "{{vars.order}}"}}), context(),
                            {{"order", "msg_42"}}));
  CHECK(by_id["reaction"] == json{{"message_id", "msg_42"}, {"emoji", "❤️"}});

  json external = sent(r.start(one_node("send_reaction", {{"emoji", ""}, {"message_id", "wamid.X"}, {"external", true}})));
  CHECK(external["reaction"] == json{{"external_id", "wamid.X"}, {"emoji", ""}});
}

TEST_CASE("send_reaction without a message to react to, or with more than an emoji, fails clearly", "[flows][nodes]") {
  Run r;
  json ctx = context();
  ctx.erase("message");
  fails_with(r.start(one_node("send_reaction", {{"emoji", "👍"}}), ctx), "send_reaction: there is no message to react to");
  fails_with(r.start(one_node("send_reaction", {{"emoji", "thumbs up"}})), "send_reaction: the emoji \"thumbs up\" is not one emoji");
  fails_with(r.start(one_node("send_reaction", {{"emoji", "👍"}, {"message_id", "{{vars.none}}"}})),
             "send_reaction: the message_id is empty");
}

TEST_CASE("send_template sends the body's values, and header and button values as components", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node("send_template", {{"name", "appointment_reminder"}, {"language", "{{contact.metadata.lang}}"},
                                                   {"parameters", {"{{contact.name}}", "{{vars.at}}"}}}),
                        context(), {{"at", "10:00"}}));
  CHECK(m["type"] == "template");
  CHECK(m["template"] == json{{"name", "appointment_reminder"}, {"language", "de"}, {"parameters", {"Ada", "10:00"}}});

  json full = sent(r.start(one_node("send_template",
                                    {{"name", "order_shipped"}, {"language", "en_US"}, {"parameters", {"{{contact.name}}"}},
                                     {"header_parameters", {"#{{vars.order}}"}},
                                     {"buttons", json::array({{{"sub_type", "url"}, {"index", 0}, {"value", "{{vars.order}}"}},
                                                              {{"sub_type", "quick_reply"}, {"index", 1}, {"value", "stop"}}})}}),
                           context(), {{"order", "A17"}}));
  const json& c = full["template"]["components"];
  REQUIRE(c.size() == 4);
  CHECK(c[0] == json{{"type", "header"}, {"parameters", {{{"type", "text"}, {"text", "#A17"}}}}});
  CHECK(c[1] == json{{"type", "body"}, {"parameters", {{{"type", "text"}, {"text", "Ada"}}}}});
  CHECK(c[2] == json{{"type", "button"}, {"sub_type", "url"}, {"index", "0"}, {"parameters", {{{"type", "text"}, {"text", "A17"}}}}});
  CHECK(c[3] == json{{"type", "button"}, {"sub_type", "quick_reply"}, {"index", "1"},
                     {"parameters", {{{"type", "payload"}, {"payload", "stop"}}}}});
  CHECK_FALSE(full["template"].contains("parameters"));
}

TEST_CASE("send_template refuses an empty value, a bad language and a bad name", "[flows][nodes]") {
  Run r;
  fails_with(r.start(one_node("send_template", {{"name", "x"}, {"language", "en"}, {"parameters", {"ok", "{{vars.none}}"}}})),
             "send_template: body parameter 2 is empty");
  fails_with(r.start(one_node("send_template", {{"name", "x"}, {"language", "{{vars.l}}"}}), context(), {{"l", "en US!"}}),
             "send_template: the language \"en US!\" is not a language code");
  CHECK_FALSE(parse_one({{"type", "send_template"}, {"config", {{"name", "Hello World"}, {"language", "en"}}}}).ok());
}

TEST_CASE("send_media sends a sticker by URL, without a caption", "[flows][nodes]") {
  Run r;
  json m = sent(r.start(one_node("send_media", {{"media_type", "sticker"}, {"url", "https://example.com/s.webp"}})));
  CHECK(m["type"] == "sticker");
  CHECK(m["url"] == "https://example.com/s.webp");
  CHECK_FALSE(parse_one({{"type", "send_media"},
                         {"config", {{"media_type", "sticker"}, {"url", "https://example.com/s.webp"}, {"caption", "hi"}}}})
                  .ok());
}
