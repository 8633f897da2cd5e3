// The outgoing message shape, type by type: what passes, how the Cloud API
// spelling of the flow nodes is rewritten into the host's, and that every
// mistake is refused naming its field.
#include "core/error.hpp"
#include "messaging/message_types.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::messaging::check_outgoing;
using sb::messaging::check_outgoing_object;
using sb::messaging::MessageContent;

namespace {

MessageContent msg(const std::string& type, json payload, const std::string& text = "") {
  return MessageContent{type, text, std::move(payload)};
}

// The field an invalid message is refused for ("" when it passes).
std::string refused_field(const MessageContent& m) {
  try {
    check_outgoing(m);
  } catch (const sb::Error& e) {
    CHECK(e.code() == sb::ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find(e.details().value("field", "?")) != std::string::npos);
    return e.details().value("field", "?");
  }
  return "";
}

std::string refusal(const MessageContent& m) {
  try {
    check_outgoing(m);
  } catch (const sb::Error& e) {
    return e.what();
  }
  return "";
}

json button(const std::string& id, const std::string& title) { return {{"id", id}, {"title", title}}; }

json list_of_rows(int n, const std::string& prefix = "r") {
  json rows = json::array();
  for (int i = 0; i < n; ++i)
    rows.push_back({{"id", std::string(prefix).append(std::to_string(i))}, {"title", "Row"}});
  return rows;
}

}  // namespace

TEST_CASE("message types: a valid message of every type passes in the host's shape", "[messaging][types]") {
  CHECK(check_outgoing(msg("text", json::object(), "hello")).payload == json::object());
  CHECK(check_outgoing(msg("text", {{"preview_url", true}}, "see https://x.io")).payload["preview_url"] == true);

  for (const char* type : {"image", "video", "document"}) {
    auto out = check_outgoing(msg(type, {{"url", "https://example.com/a.bin"}, {"caption", "look"}}));
    CHECK(out.payload == json{{"url", "https://example.com/a.bin"}, {"caption", "look"}});
  }
  CHECK(check_outgoing(msg("audio", {{"media_id", "1234567890"}})).payload == json{{"media_id", "1234567890"}});
  const std::string blob = "blob:" + std::string(64, 'a');
  CHECK(check_outgoing(msg("sticker", {{"blob", blob}})).payload == json{{"blob", blob}});
  auto doc = check_outgoing(msg("document", {{"url", "http://example.com/r.pdf"}, {"filename", "report.pdf"},
                                             {"mime_type", "application/pdf"}}));
  CHECK(doc.payload["filename"] == "report.pdf");

  auto loc = check_outgoing(msg("location", {{"latitude", 38.7}, {"longitude", -9.1}, {"name", "Lisbon"},
                                             {"address", "Praça do Comércio"}}));
  CHECK(loc.payload["latitude"] == 38.7);
  CHECK(loc.payload["address"] == "Praça do Comércio");

  auto contact = check_outgoing(msg("contact", {{"contacts", {{{"name", "Ana"}, {"phones", {{{"phone", "+15551234567"}, {"type", "CELL"}}}}}}}}));
  CHECK(contact.payload["contacts"][0]["phones"][0]["phone"] == "+15551234567");

  auto poll = check_outgoing(msg("poll", {{"poll", {{"question", "Lunch?"}, {"options", {"Pizza", "Sushi"}}}}}));
  CHECK(poll.payload["poll"] == json{{"question", "Lunch?"}, {"options", {"Pizza", "Sushi"}}, {"multiple", false}});

  auto buttons = check_outgoing(
      msg("interactive", {{"interactive", {{"type", "button"}, {"body", "Pick one"},
                                           {"buttons", {button("yes", "Yes"), button("no", "No"), button("later", "Later")}}}}}));
  CHECK(buttons.payload["interactive"]["buttons"].size() == 3);

  auto list = check_outgoing(msg(
      "interactive",
      {{"interactive", {{"type", "list"}, {"body", "Our menu"}, {"button", "Open"}, {"footer", "thanks"},
                        {"sections", {{{"title", "Food"}, {"rows", list_of_rows(4)}},
                                      {{"title", "Drinks"}, {"rows", {{{"id", "d1"}, {"title", "Tea"}, {"description", "hot"}}}}}}}}}}));
  CHECK(list.payload["interactive"]["sections"][1]["rows"][0]["description"] == "hot");

  auto reaction = check_outgoing(msg("reaction", {{"reaction", {{"message_id", "msg_1"}, {"emoji", "👍"}}}}));
  CHECK(reaction.payload["reaction"]["emoji"] == "👍");
  CHECK(refused_field(msg("reaction", {{"reaction", {{"external_id", "wamid.1"}, {"emoji", ""}}}})).empty());

  auto tpl = check_outgoing(msg("template", {{"template", {{"name", "order_update"}, {"language", "en_US"},
                                                          {"parameters", {"Ana", 42}}}}}));
  CHECK(tpl.payload["template"]["language"] == "en_US");
  auto cloud_tpl = check_outgoing(msg(
      "template", {{"template", {{"name", "hello_world"}, {"language", {{"code", "en"}}},
                                 {"components", {{{"type", "body"}, {"parameters", {{{"type", "text"}, {"text", "Ana"}}}}}}}}}}));
  CHECK(cloud_tpl.payload["template"]["language"] == "en");
}

TEST_CASE("message types: the text becomes a caption or a body when those are not given", "[messaging][types]") {
  CHECK(check_outgoing(msg("image", {{"url", "https://example.com/a.png"}}, "a caption")).payload["caption"] ==
        "a caption");
  CHECK_FALSE(check_outgoing(msg("audio", {{"url", "https://example.com/a.ogg"}}, "ignored")).payload.contains("caption"));
  auto b = check_outgoing(msg("interactive", {{"interactive", {{"type", "button"}, {"buttons", {button("a", "A")}}}}},
                              "Choose"));
  CHECK(b.payload["interactive"]["body"] == "Choose");
  CHECK(b.text == "Choose");
}

TEST_CASE("message types: the flow nodes' Cloud API spelling is rewritten into the host's", "[messaging][types]") {
  // What flows/nodes/send_buttons.lua and send_list.lua send.
  json from_buttons = {{"type", "interactive"},
                       {"text", "Pick"},
                       {"interactive",
                        {{"type", "button"},
                         {"body", {{"text", "Pick"}}},
                         {"header", {{"type", "text"}, {"text", "Menu"}}},
                         {"footer", {{"text", "bye"}}},
                         {"action", {{"buttons", {{{"type", "reply"}, {"reply", {{"id", "a"}, {"title", "A"}}}}}}}}}}};
  json out = check_outgoing_object(from_buttons);
  CHECK(out["interactive"] == json{{"type", "button"}, {"body", "Pick"}, {"header", "Menu"}, {"footer", "bye"},
                                   {"buttons", {{{"id", "a"}, {"title", "A"}}}}});
  CHECK(out["type"] == "interactive");
  CHECK(out["text"] == "Pick");

  json from_list = {{"type", "interactive"},
                    {"interactive",
                     {{"type", "list"},
                      {"body", {{"text", "Menu"}}},
                      {"action", {{"button", "Open"}, {"sections", {{{"rows", list_of_rows(2)}}}}}}}}};
  json list = check_outgoing_object(from_list);
  CHECK(list["interactive"]["button"] == "Open");
  CHECK(list["interactive"]["sections"][0]["rows"].size() == 2);

  // What send_media.lua sends.
  CHECK(check_outgoing_object({{"type", "document"}, {"url", "https://x.io/f.pdf"}, {"filename", "f.pdf"}})["filename"] ==
        "f.pdf");
  CHECK(check_outgoing_object({{"text", "plain"}}) == json{{"type", "text"}, {"text", "plain"}});
}

TEST_CASE("message types: every mistake is refused naming its field", "[messaging][types]") {
  CHECK(refused_field(msg("hologram", json::object(), "x")) == "type");
  CHECK(refused_field(msg("text", json::object())) == "text");
  CHECK(refused_field(msg("text", json::object(), "   ")) == "text");
  CHECK(refused_field(msg("text", json::object(), std::string(4097, 'x'))) == "text");
  CHECK(refused_field(msg("text", {{"captoin", "x"}}, "hi")) == "payload.captoin");

  // Media.
  CHECK(refused_field(msg("image", json::object())) == "payload.url");
  CHECK(refused_field(msg("image", {{"url", "ftp://example.com/a.png"}})) == "payload.url");
  CHECK(refused_field(msg("image", {{"url", "https://example.com/a b.png"}})) == "payload.url");
  CHECK(refused_field(msg("image", {{"url", "https://example.com/a.png"}, {"media_id", "1"}})) == "payload.url");
  CHECK(refused_field(msg("video", {{"blob", "blob:1234"}})) == "payload.blob");
  CHECK(refused_field(msg("video", {{"media_id", ""}})) == "payload.media_id");
  CHECK(refused_field(msg("audio", {{"url", "https://example.com/a.ogg"}, {"caption", "no"}})) == "payload.caption");
  CHECK(refused_field(msg("image", {{"url", "https://example.com/a.png"}, {"caption", std::string(1025, 'c')}})) ==
        "payload.caption");
  CHECK(refused_field(msg("document", {{"url", "https://example.com/a"}, {"filename", "../etc/passwd"}})) ==
        "payload.filename");

  // Location.
  CHECK(refused_field(msg("location", {{"longitude", 1}})) == "payload.latitude");
  CHECK(refused_field(msg("location", {{"latitude", 91}, {"longitude", 1}})) == "payload.latitude");
  CHECK(refused_field(msg("location", {{"latitude", 1}, {"longitude", "east"}})) == "payload.longitude");

  // Contacts.
  CHECK(refused_field(msg("contact", json::object())) == "payload.contacts");
  CHECK(refused_field(msg("contact", {{"contacts", json::array()}})) == "payload.contacts");
  CHECK(refused_field(msg("contact", {{"contacts", {{{"phones", {{{"phone", "+1555"}}}}}}}})) ==
        "payload.contacts[0].name");
  CHECK(refused_field(msg("contact", {{"contacts", {{{"name", "Ana"}}}}})) == "payload.contacts[0].phones");

  // Poll.
  CHECK(refused_field(msg("poll", {{"poll", {{"question", "Q"}, {"options", {"only"}}}}})) == "payload.poll.options");
  CHECK(refused_field(msg("poll", {{"poll", {{"question", "Q"}, {"options", {"a", "a"}}}}})) ==
        "payload.poll.options[1]");
  CHECK(refused_field(msg("poll", {{"poll", {{"options", {"a", "b"}}}}})) == "payload.poll.question");
  CHECK(refused_field(msg("poll", {{"poll", {{"question", "Q"}, {"options", {"a", "b"}}, {"multiple", "yes"}}}})) ==
        "payload.poll.multiple");

  // Buttons.
  const auto buttons = [](json list) {
    return msg("interactive", {{"interactive", {{"type", "button"}, {"body", "Pick"}, {"buttons", std::move(list)}}}});
  };
  CHECK(refused_field(buttons(json::array())) == "payload.interactive.buttons");
  CHECK(refused_field(buttons({button("a", "A"), button("b", "B"), button("c", "C"), button("d", "D")})) ==
        "payload.interactive.buttons");
  CHECK(refusal(buttons({button("a", "A"), button("b", "B"), button("c", "C"), button("d", "D")}))
            .find("at most 3") != std::string::npos);
  CHECK(refused_field(buttons({button("a", std::string(21, 't'))})) == "payload.interactive.buttons[0].title");
  CHECK(refused_field(buttons({button("a", "A"), button("a", "B")})) == "payload.interactive.buttons[1].id");
  CHECK(refused_field(msg("interactive", {{"interactive", {{"type", "button"}, {"buttons", {button("a", "A")}}}}})) ==
        "payload.interactive.body");
  CHECK(refused_field(msg("interactive", {{"interactive", {{"type", "carousel"}, {"body", "x"}}}})) ==
        "payload.interactive.type");

  // Lists.
  const auto list = [](json sections) {
    return msg("interactive", {{"interactive", {{"type", "list"}, {"body", "Menu"}, {"button", "Open"},
                                                {"sections", std::move(sections)}}}});
  };
  CHECK(refused_field(list({{{"title", "A"}, {"rows", list_of_rows(6)}}, {{"title", "B"}, {"rows", list_of_rows(5, "s")}}})) ==
        "payload.interactive.sections[1].rows[4]");
  CHECK(refused_field(list({{{"rows", list_of_rows(11)}}})) == "payload.interactive.sections[0].rows");
  CHECK(refused_field(list({{{"rows", list_of_rows(1)}}, {{"title", "B"}, {"rows", {{{"id", "x"}, {"title", "X"}}}}}})) ==
        "payload.interactive.sections[0].title");
  CHECK(refused_field(list({{{"rows", {{{"id", "x"}, {"title", std::string(25, 'x')}}}}}})) ==
        "payload.interactive.sections[0].rows[0].title");
  CHECK(refused_field(msg("interactive", {{"interactive", {{"type", "list"}, {"body", "M"}, {"sections", {{{"rows", list_of_rows(1)}}}}}}})) ==
        "payload.interactive.button");

  // Reactions and templates.
  CHECK(refused_field(msg("reaction", {{"reaction", {{"emoji", "👍"}}}})) == "payload.reaction.message_id");
  CHECK(refused_field(msg("reaction", {{"reaction", {{"message_id", "msg_1"}}}})) == "payload.reaction.emoji");
  CHECK(refused_field(msg("reaction", {{"reaction", {{"message_id", "msg_1"}, {"emoji", "not an emoji at all"}}}})) ==
        "payload.reaction.emoji");
  CHECK(refused_field(msg("template", {{"template", {{"language", "en"}}}})) == "payload.template.name");
  CHECK(refused_field(msg("template", {{"template", {{"name", "Order Update"}, {"language", "en"}}}})) ==
        "payload.template.name");
  CHECK(refused_field(msg("template", {{"template", {{"name", "order"}}}})) == "payload.template.language");
  CHECK(refused_field(msg("template", {{"template", {{"name", "order"}, {"language", "en"}, {"parameters", "Ana"}}}})) ==
        "payload.template.parameters");
  CHECK(refused_field(msg("template", {{"template", {{"name", "order"}, {"language", "en"},
                                                      {"components", {{{"type", "sidebar"}}}}}}})) ==
        "payload.template.components[0].type");
}

TEST_CASE("message types: errors in a flow's message name fields without the API's prefix", "[messaging][types]") {
  try {
    check_outgoing_object({{"type", "image"}, {"url", "not a url"}});
    FAIL("an image without a usable url passed");
  } catch (const sb::Error& e) {
    CHECK(e.details()["field"] == "url");
  }
}

TEST_CASE("message types: a channel's capabilities decide which types it sends", "[messaging][types]") {
  const json caps = {{"message_types", {"text", "image"}}};
  CHECK(sb::messaging::channel_sends(caps, "image"));
  CHECK_FALSE(sb::messaging::channel_sends(caps, "poll"));
  CHECK(sb::messaging::channel_sends(json::object(), "text"));
  CHECK_FALSE(sb::messaging::channel_sends(json::object(), "image"));
  try {
    sb::messaging::require_channel_sends(caps, "poll", "channel-x");
    FAIL("a poll passed a channel that sends no polls");
  } catch (const sb::Error& e) {
    CHECK(std::string(e.what()).find("this channel does not send poll") != std::string::npos);
    CHECK(e.details()["reason"] == "unsupported");
    CHECK(e.details()["field"] == "type");
  }
}
