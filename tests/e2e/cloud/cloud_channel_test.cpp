// channel-whatsapp-cloud end to end: a real `switchboard serve` with a
// profile on the Cloud API channel pointed at the fake Graph API
// (tests/fakes/fake_graph_api.hpp). Webhooks are POSTed signed as Meta
// signs them (the signature computed in the fake, not by the plugin's code);
// sends go through the API and the outbox to the fake, which checks each
// request's wire format and answers like the real API, errors included.
#include "fakes/fake_graph_api.hpp"
#include "support/api_host.hpp"
#include "support/db_count.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::FakeGraphApi;
using sb::test::Tenant;
using sb::test::TempDir;

namespace {

constexpr std::chrono::seconds kWait{20};  // a real process on a shared 2-core machine
const json kFastLimits = {{"user_rate", 1000}, {"user_burst", 1000}, {"key_rate", 1000}, {"key_burst", 1000}};
constexpr const char* kAppSecret = "meta-app-secret-for-tests";
constexpr const char* kVerifyToken = "verify-me-please";
constexpr const char* kProfile = "cloud-1";
const std::string kHook = std::string("/hooks/channel-whatsapp-cloud/") + kProfile + "/webhook";

std::string sha256_hex(const std::string& data) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out.push_back(hex[d[i] >> 4]);
    out.push_back(hex[d[i] & 0xF]);
  }
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A host with one tenant and one Cloud API profile on the fake.
struct CloudHost {
  TempDir dir{"sb-cloud"};
  FakeGraphApi graph;
  ApiHost api{dir.path(), kFastLimits};
  Tenant t = api.make_tenant("c");

  CloudHost() {
    auto made = api.call("POST", profiles(),
                         {{"id", kProfile},
                          {"name", "Cloud number"},
                          {"channel_plugin", "channel-whatsapp-cloud"},
                          {"connect", true},
                          {"config",
                           {{"phone_number_id", graph.phone_number_id()},
                            {"access_token", graph.access_token()},
                            {"app_secret", kAppSecret},
                            {"verify_token", kVerifyToken},
                            {"graph_base_url", graph.base_url()},
                            // These tests send to contacts who never wrote, to
                            // see Meta's own answers (131047 included);
                            // cloud_templates_test.cpp covers the window check.
                            {"enforce_customer_service_window", false},
                            {"timeout_ms", 3000}}}},
                         t.owner_auth());
    INFO(made.raw);
    REQUIRE(made.status == 201);
    CHECK(made.body["config"]["graph_version"] == "v21.0");
    CHECK(made.body["config"]["access_token"] != graph.access_token());  // never shown back
    REQUIRE(status_is("CONNECTED"));
  }

  std::string profiles() const { return "/api/v1/workspaces/" + t.workspace_id + "/profiles"; }
  std::string messages() const { return "/api/v1/workspaces/" + t.workspace_id + "/messages"; }

  bool status_is(const std::string& status) {
    return eventually(
        [&] {
          auto r = api.call("GET", profiles() + "/" + kProfile + "/status", nullptr, t.owner_auth());
          if (r.status == 200 && r.body["status"] == status) return true;
          std::this_thread::sleep_for(std::chrono::milliseconds(40));
          return false;
        },
        kWait);
  }

  httplib::Result post(const std::string& body, const std::string* signature = nullptr) {
    auto c = api.host().client();
    c->set_read_timeout(20, 0);
    return sb::test::post_signed_webhook(*c, kHook, body, kAppSecret, signature);
  }
  httplib::Result post(const json& body) { return post(body.dump()); }

  json list(const std::string& query) {
    auto r = api.call("GET", messages() + "?limit=200&" + query, nullptr, t.owner_auth());
    REQUIRE(r.status == 200);
    return r.body["data"];
  }
  json inbound() { return list("direction=in&profile_id=" + std::string(kProfile)); }
  json message(const std::string& id) {
    for (const auto& m : list("profile_id=" + std::string(kProfile)))
      if (m["id"] == id) return m;
    return nullptr;
  }
  json inbound_by_external(const std::string& wamid) {
    for (const auto& m : inbound())
      if (m["external_id"] == wamid) return m;
    return nullptr;
  }

  // Queues a message through the API; returns its id.
  std::string send(const std::string& to, const std::string& type, const std::string& text, json payload = json::object()) {
    json body = {{"profile_id", kProfile}, {"to", to}, {"type", type}};
    if (!text.empty()) body["text"] = text;
    if (!payload.empty()) body["payload"] = std::move(payload);
    auto r = api.call("POST", messages(), body, t.owner_auth());
    INFO(r.raw);
    REQUIRE(r.status == 202);
    return r.body["message_id"];
  }
  bool status_of_becomes(const std::string& id, const std::string& status) {
    return eventually([&] {
      json m = message(id);
      return m.is_object() && m["status"] == status;
    }, kWait);
  }

  int64_t stored_inbound() {
    return sb::test::count(api.host().db_path(), "SELECT COUNT(*) FROM messages WHERE direction = 'in'");
  }
};

json text_message(const std::string& id, const std::string& body, const std::string& from = "15551230001") {
  return {{"id", id}, {"from", from}, {"type", "text"}, {"text", {{"body", body}}}};
}

}  // namespace

TEST_CASE("cloud: the subscription handshake echoes the challenge for the verify token and refuses another", "[cloud]") {
  CloudHost h;
  auto c = h.api.host().client();
  auto ok = c->Get((kHook + "?hub.mode=subscribe&hub.verify_token=" + kVerifyToken + "&hub.challenge=1158201444").c_str());
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(ok->body == "1158201444");
  auto text = c->Get((kHook + "?hub.mode=subscribe&hub.verify_token=" + kVerifyToken + "&hub.challenge=a-Random_str").c_str());
  REQUIRE(text);
  CHECK(text->body == "a-Random_str");  // never parsed as a number
  auto wrong = c->Get((kHook + "?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444").c_str());
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  CHECK(wrong->body.find("1158201444") == std::string::npos);
  auto no_mode = c->Get((kHook + "?hub.verify_token=" + std::string(kVerifyToken) + "&hub.challenge=1").c_str());
  REQUIRE(no_mode);
  CHECK(no_mode->status == 403);
}

TEST_CASE("cloud: a webhook with a bad or missing signature is refused with 401 and stores nothing", "[cloud]") {
  CloudHost h;
  const std::string body = sb::test::cloud_notification(h.graph.phone_number_id(),
                                                        json::array({text_message("wamid.SIG1", "hello")})).dump();
  const std::string none;
  auto missing = h.post(body, &none);
  REQUIRE(missing);
  CHECK(missing->status == 401);
  const std::string other = sb::test::meta_signature("another-app-secret", body);
  auto wrong = h.post(body, &other);
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  // Signed over other bytes: the same JSON re-serialised with a space.
  const std::string reserialised = sb::test::meta_signature(kAppSecret, json::parse(body).dump(1));
  auto moved = h.post(body, &reserialised);
  REQUIRE(moved);
  CHECK(moved->status == 401);
  const std::string garbage = "sha256=zz";
  auto bad = h.post(body, &garbage);
  REQUIRE(bad);
  CHECK(bad->status == 401);
  CHECK(h.stored_inbound() == 0);
  // The log says why, without the body.
  const std::string log = h.api.host().log_tail(20000);
  CHECK(log.find("X-Hub-Signature-256") != std::string::npos);
  CHECK(log.find("hello") == std::string::npos);

  auto good = h.post(body);
  REQUIRE(good);
  CHECK(good->status == 200);
  REQUIRE(eventually([&] { return h.stored_inbound() == 1; }, kWait));
}

TEST_CASE("cloud: a malformed notification is acknowledged with 200 and nothing of it is stored", "[cloud]") {
  CloudHost h;
  // Not JSON at all.
  auto not_json = h.post(std::string("{\"object\":\"whatsapp_business_account\",\"entry\":[{"));
  REQUIRE(not_json);
  CHECK(not_json->status == 200);
  // A good message and a broken one in the same POST: neither is stored.
  json messages = json::array({text_message("wamid.OK1", "fine"), {{"id", "wamid.BAD1"}, {"type", "image"}, {"image", {{"caption", "no id"}}}}});
  auto half = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), messages));
  REQUIRE(half);
  CHECK(half->status == 200);
  CHECK(half->body.find("malformed") != std::string::npos);
  // A location without coordinates, a status without an id, the wrong object.
  auto loc = h.post(sb::test::cloud_notification(
      h.graph.phone_number_id(), json::array({{{"id", "wamid.BAD2"}, {"type", "location"}, {"location", {{"name", "x"}}}}})));
  REQUIRE(loc);
  CHECK(loc->status == 200);
  auto status = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), json::array(),
                                                    json::array({{{"status", "read"}}})));
  REQUIRE(status);
  CHECK(status->status == 200);
  json page = sb::test::cloud_notification(h.graph.phone_number_id(), json::array({text_message("wamid.OK2", "x")}));
  page["object"] = "page";
  auto object = h.post(page);
  REQUIRE(object);
  CHECK(object->status == 200);
  CHECK(h.stored_inbound() == 0);
  auto st = h.api.call("GET", h.profiles() + "/" + kProfile + "/status", nullptr, h.t.owner_auth());
  INFO(st.raw);
  CHECK(h.api.host().log_tail(40000).find("malformed notification") != std::string::npos);

  // Another number's change in the same app is skipped, not stored here.
  auto other = h.post(sb::test::cloud_notification("5550001", json::array({text_message("wamid.OTHER", "x")})));
  REQUIRE(other);
  CHECK(other->status == 200);
  CHECK(h.stored_inbound() == 0);
}

TEST_CASE("cloud: every inbound type is stored in the host's shape, media fetched into the workspace's blob store",
          "[cloud]") {
  CloudHost h;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\1\2\3\xff\xfe binary", 14);
  const std::string image_id = h.graph.add_media(png, "image/png");
  const std::string video_id = h.graph.add_media("fake-mp4-bytes", "video/mp4");
  const std::string audio_id = h.graph.add_media("fake-ogg-bytes", "audio/ogg");
  const std::string doc_id = h.graph.add_media("%PDF-1.4 fake", "application/pdf");
  const std::string sticker_id = h.graph.add_media("RIFFfake-webp", "image/webp");
  const std::string from = "15551230001";
  json messages = json::array({
      text_message("wamid.T", "hi there"),
      {{"id", "wamid.I"}, {"from", from}, {"type", "image"},
       {"image", {{"id", image_id}, {"mime_type", "image/png"}, {"sha256", "abc"}, {"caption", "look"}}}},
      {{"id", "wamid.V"}, {"from", from}, {"type", "video"}, {"video", {{"id", video_id}, {"mime_type", "video/mp4"}}}},
      {{"id", "wamid.A"}, {"from", from}, {"type", "audio"},
       {"audio", {{"id", audio_id}, {"mime_type", "audio/ogg; codecs=opus"}, {"voice", true}}}},
      {{"id", "wamid.D"}, {"from", from}, {"type", "document"},
       {"document", {{"id", doc_id}, {"mime_type", "application/pdf"}, {"filename", "invoice.pdf"}}}},
      {{"id", "wamid.S"}, {"from", from}, {"type", "sticker"},
       {"sticker", {{"id", sticker_id}, {"mime_type", "image/webp"}, {"animated", false}}}},
      {{"id", "wamid.L"}, {"from", from}, {"type", "location"},
       {"location", {{"latitude", 52.52}, {"longitude", 13.405}, {"name", "Office"}, {"address", "Berlin"}}}},
      {{"id", "wamid.C"}, {"from", from}, {"type", "contacts"},
       {"contacts", json::array({{{"name", {{"formatted_name", "Bo Berg"}, {"first_name", "Bo"}}},
                                  {"phones", json::array({{{"phone", "+46 70 123 45 67"}, {"type", "CELL"}, {"wa_id", "46701234567"}}})},
                                  {"org", {{"company", "Berg AB"}}}}})}},
      {{"id", "wamid.B"}, {"from", from}, {"type", "interactive"},
       {"context", {{"from", "15550100000"}, {"id", "wamid.OUT1"}}},
       {"interactive", {{"type", "button_reply"}, {"button_reply", {{"id", "yes"}, {"title", "Yes please"}}}}}},
      {{"id", "wamid.LR"}, {"from", from}, {"type", "interactive"},
       {"interactive", {{"type", "list_reply"}, {"list_reply", {{"id", "row-2"}, {"title", "Tuesday"}, {"description", "10-12"}}}}}},
      {{"id", "wamid.QB"}, {"from", from}, {"type", "button"}, {"button", {{"payload", "STOP_PROMO"}, {"text", "Stop promotions"}}}},
      {{"id", "wamid.R"}, {"from", from}, {"type", "reaction"}, {"reaction", {{"message_id", "wamid.T"}, {"emoji", "\xF0\x9F\x91\x8D"}}}},
  });
  json body = sb::test::cloud_notification(h.graph.phone_number_id(), messages);
  body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = "US.13491208655302741918";
  auto res = h.post(body);
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);  // answered only once all twelve are durable
  CHECK(h.stored_inbound() == 12);

  auto m = [&](const std::string& wamid) {
    json found = h.inbound_by_external(wamid);
    INFO(wamid);
    REQUIRE(found.is_object());
    return found;
  };
  json t = m("wamid.T");
  CHECK(t["type"] == "text");
  CHECK(t["text"] == "hi there");
  CHECK(t["payload"]["wa_id"] == from);
  CHECK(t["payload"]["timestamp"].is_number_integer());
  bool has_bsuid = false;
  for (const auto& id : t["payload"]["identities"]) has_bsuid |= id["kind"] == "bsuid" && id["value"] == "US.13491208655302741918";
  CHECK(has_bsuid);

  json i = m("wamid.I");
  CHECK(i["type"] == "image");
  CHECK(i["text"] == "look");
  json& media = i["payload"]["media"];
  CHECK(media["mime_type"] == "image/png");
  CHECK(media["media_id"] == image_id);
  CHECK(media["size"] == png.size());
  REQUIRE(media["blob"].is_string());
  const std::string sha = sha256_hex(png);
  CHECK(media["blob"] == "blob:" + sha);
  // The bytes are in this workspace's blob store, whole.
  const auto blob_file = h.api.host().data_dir() / "blobs" / h.t.workspace_id / sha;
  CHECK(read_file(blob_file) == png);
  CHECK(json::parse(read_file(blob_file.string() + ".meta"))["content_type"] == "image/png");

  for (const char* w : {"wamid.V", "wamid.A", "wamid.D", "wamid.S"}) {
    json x = m(w);
    INFO(w);
    CHECK(x["payload"]["media"]["blob"].is_string());
  }
  CHECK(m("wamid.A")["payload"]["media"]["voice"] == true);
  CHECK(m("wamid.D")["payload"]["media"]["filename"] == "invoice.pdf");
  CHECK(m("wamid.S")["type"] == "sticker");
  CHECK(read_file(h.api.host().data_dir() / "blobs" / h.t.workspace_id / sha256_hex("%PDF-1.4 fake")) == "%PDF-1.4 fake");

  json l = m("wamid.L");
  CHECK(l["type"] == "location");
  CHECK(l["payload"]["location"]["latitude"] == Approx(52.52));
  CHECK(l["payload"]["location"]["address"] == "Berlin");

  json c = m("wamid.C");
  CHECK(c["type"] == "contact");
  CHECK(c["payload"]["contacts"][0]["name"] == "Bo Berg");
  CHECK(c["payload"]["contacts"][0]["phones"][0]["phone"] == "+46 70 123 45 67");
  CHECK(c["payload"]["contacts"][0]["organization"] == "Berg AB");

  json b = m("wamid.B");
  CHECK(b["type"] == "interactive");
  CHECK(b["text"] == "Yes please");
  CHECK(b["payload"]["interactive"]["type"] == "button_reply");
  CHECK(b["payload"]["interactive"]["id"] == "yes");
  CHECK(b["payload"]["context"]["id"] == "wamid.OUT1");
  json lr = m("wamid.LR");
  CHECK(lr["payload"]["interactive"]["type"] == "list_reply");
  CHECK(lr["payload"]["interactive"]["id"] == "row-2");
  CHECK(lr["payload"]["interactive"]["description"] == "10-12");
  json qb = m("wamid.QB");
  CHECK(qb["type"] == "interactive");
  CHECK(qb["payload"]["interactive"]["payload"] == "STOP_PROMO");
  json r = m("wamid.R");
  CHECK(r["type"] == "reaction");
  CHECK(r["payload"]["reaction"]["external_id"] == "wamid.T");
  CHECK(r["payload"]["reaction"]["emoji"] == "\xF0\x9F\x91\x8D");

  // Meta redelivers: nothing is stored twice.
  auto again = h.post(body);
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(h.stored_inbound() == 12);
}

TEST_CASE("cloud: media the Graph API cannot serve yet gets Meta a 503 and nothing stored, media gone for good keeps "
          "the message",
          "[cloud]") {
  CloudHost h;
  const std::string id = h.graph.add_media("jpeg-bytes", "image/jpeg");
  json messages = json::array({text_message("wamid.M0", "first, in the same POST"),
                               {{"id", "wamid.M1"}, {"from", "15551230001"}, {"type", "image"},
                                {"image", {{"id", id}, {"mime_type", "image/jpeg"}}}}});
  json body = sb::test::cloud_notification(h.graph.phone_number_id(), messages);
  h.graph.fail_media_lookups(1);
  auto busy = h.post(body);
  REQUIRE(busy);
  CHECK(busy->status == 503);  // Meta retries the whole POST
  CHECK(h.stored_inbound() == 0);
  auto retried = h.post(body);
  REQUIRE(retried);
  CHECK(retried->status == 200);
  CHECK(h.stored_inbound() == 2);
  CHECK(h.inbound_by_external("wamid.M1")["payload"]["media"]["blob"] == "blob:" + sha256_hex("jpeg-bytes"));

  // A media id Meta no longer knows: the message is kept, saying why.
  auto gone = h.post(sb::test::cloud_notification(
      h.graph.phone_number_id(), json::array({{{"id", "wamid.M2"}, {"from", "15551230001"}, {"type", "document"},
                                               {"document", {{"id", "deleted-media"}, {"filename", "a.pdf"}}}}})));
  REQUIRE(gone);
  CHECK(gone->status == 200);
  json m2 = h.inbound_by_external("wamid.M2");
  REQUIRE(m2.is_object());
  CHECK_FALSE(m2["payload"]["media"].contains("blob"));
  CHECK(m2["payload"]["media"]["error"].get<std::string>().find("does not exist") != std::string::npos);
}

TEST_CASE("cloud: every outbound type reaches the Graph API in its wire format and gets its wamid", "[cloud]") {
  CloudHost h;
  const std::string to = "+15551230001";
  // The contact writes first (opens the window; a reaction needs a message).
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "blobbytes";
  const std::string inbound_image = h.graph.add_media(png, "image/png");
  auto in = h.post(sb::test::cloud_notification(
      h.graph.phone_number_id(),
      json::array({text_message("wamid.IN1", "hello"),
                   {{"id", "wamid.IN2"}, {"from", "15551230001"}, {"type", "image"},
                    {"image", {{"id", inbound_image}, {"mime_type", "image/png"}}}}})));
  REQUIRE(in);
  REQUIRE(in->status == 200);
  json first = h.inbound_by_external("wamid.IN1");
  REQUIRE(first.is_object());
  const std::string blob = h.inbound_by_external("wamid.IN2")["payload"]["media"]["blob"];

  std::vector<std::string> ids;
  ids.push_back(h.send(to, "text", "plain text"));
  ids.push_back(h.send(to, "image", "a caption", {{"url", "https://example.com/a.png"}}));
  ids.push_back(h.send(to, "image", "", {{"blob", blob}}));
  ids.push_back(h.send(to, "document", "", {{"url", "https://example.com/x.pdf"}, {"filename", "x.pdf"}}));
  ids.push_back(h.send(to, "audio", "", {{"url", "https://example.com/a.ogg"}}));
  ids.push_back(h.send(to, "video", "a clip", {{"url", "https://example.com/v.mp4"}}));
  ids.push_back(h.send(to, "sticker", "", {{"url", "https://example.com/s.webp"}}));
  ids.push_back(h.send(to, "location", "", {{"latitude", 52.5}, {"longitude", 13.4}, {"name", "Office"}}));
  ids.push_back(h.send(to, "contact", "", {{"contacts", json::array({{{"name", "Bo Berg"}, {"phones", json::array({{{"phone", "+46701234567"}}})}}})}}));
  ids.push_back(h.send(to, "interactive", "",
                       {{"interactive", {{"type", "button"}, {"body", "Pick one"},
                                         {"buttons", json::array({{{"id", "a"}, {"title", "A"}}, {{"id", "b"}, {"title", "B"}}})}}}}));
  ids.push_back(h.send(to, "interactive", "",
                       {{"interactive", {{"type", "list"}, {"body", "Choose a day"}, {"button", "Days"},
                                         {"sections", json::array({{{"title", "Week"}, {"rows", json::array({{{"id", "mon"}, {"title", "Monday"}, {"description", "9-5"}}})}}})}}}}));
  ids.push_back(h.send(to, "template", "",
                       {{"template", {{"name", "order_update"}, {"language", "en_US"}, {"parameters", json::array({"Ana", "#42"})}}}}));
  ids.push_back(h.send(to, "reaction", "", {{"reaction", {{"message_id", first["id"]}, {"emoji", "\xE2\x9D\xA4"}}}}));

  for (const auto& id : ids) {
    INFO(id << " " << h.message(id).dump());
    REQUIRE(h.status_of_becomes(id, "sent"));
    CHECK(h.message(id)["external_id"].get<std::string>().rfind("wamid.FAKE", 0) == 0);
  }
  const auto sent = h.graph.sent();
  REQUIRE(sent.size() == ids.size());
  std::map<std::string, std::vector<json>> by_type;
  for (const auto& s : sent) {
    CHECK(s["messaging_product"] == "whatsapp");
    CHECK(s["to"] == to);
    by_type[s["type"]].push_back(s);
  }
  CHECK(by_type["text"].at(0)["text"]["body"] == "plain text");
  REQUIRE(by_type["image"].size() == 2);
  std::set<std::string> image_fields;
  for (const auto& s : by_type["image"]) {
    if (s["image"].contains("link")) {
      CHECK(s["image"]["link"] == "https://example.com/a.png");
      CHECK(s["image"]["caption"] == "a caption");
      image_fields.insert("link");
    } else {
      // The blob was uploaded first, and the message names the upload.
      const std::string media_id = s["image"]["id"];
      CHECK(h.graph.uploaded(media_id) == png);
      CHECK(h.graph.uploaded_type(media_id) == "image/png");
      image_fields.insert("id");
    }
  }
  CHECK(image_fields == std::set<std::string>{"link", "id"});
  CHECK(by_type["document"].at(0)["document"]["filename"] == "x.pdf");
  CHECK(by_type["audio"].at(0)["audio"]["link"] == "https://example.com/a.ogg");
  CHECK(by_type["video"].at(0)["video"]["caption"] == "a clip");
  CHECK(by_type["sticker"].at(0)["sticker"]["link"] == "https://example.com/s.webp");
  CHECK_FALSE(by_type["sticker"].at(0)["sticker"].contains("caption"));
  CHECK(by_type["location"].at(0)["location"]["latitude"] == Approx(52.5));
  CHECK(by_type["contacts"].at(0)["contacts"][0]["name"]["formatted_name"] == "Bo Berg");
  REQUIRE(by_type["interactive"].size() == 2);
  for (const auto& s : by_type["interactive"]) {
    if (s["interactive"]["type"] == "button") {
      CHECK(s["interactive"]["body"]["text"] == "Pick one");
      CHECK(s["interactive"]["action"]["buttons"][1]["reply"]["id"] == "b");
      CHECK(s["interactive"]["action"]["buttons"][1]["type"] == "reply");
    } else {
      CHECK(s["interactive"]["action"]["button"] == "Days");
      CHECK(s["interactive"]["action"]["sections"][0]["rows"][0]["id"] == "mon");
    }
  }
  json tpl = by_type["template"].at(0)["template"];
  CHECK(tpl["name"] == "order_update");
  CHECK(tpl["language"]["code"] == "en_US");
  CHECK(tpl["components"][0]["type"] == "body");
  CHECK(tpl["components"][0]["parameters"][1]["text"] == "#42");
  CHECK(by_type["reaction"].at(0)["reaction"]["message_id"] == "wamid.IN1");
  // Every call carried the bearer token.
  for (const auto& r : h.graph.requests()) CHECK(r.authorization == "Bearer " + h.graph.access_token());
}

TEST_CASE("cloud: statuses move a sent message to delivered and read, never back, and failed carries the reason",
          "[cloud]") {
  CloudHost h;
  const std::string a = h.send("+15551230002", "text", "one");
  const std::string b = h.send("+15551230003", "text", "two");
  REQUIRE(h.status_of_becomes(a, "sent"));
  REQUIRE(h.status_of_becomes(b, "sent"));
  const std::string wa = h.message(a)["external_id"], wb = h.message(b)["external_id"];
  auto st = [&](const std::string& id, const std::string& status, json extra = json::object()) {
    json s = {{"id", id}, {"status", status}, {"timestamp", "1763910000"}, {"recipient_id", "15551230002"}};
    s.update(extra);
    return s;
  };
  auto res = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), json::array(),
                                                 json::array({st(wa, "delivered")})));
  REQUIRE(res);
  CHECK(res->status == 200);
  REQUIRE(h.status_of_becomes(a, "delivered"));
  res = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), json::array(),
                                            json::array({st(wa, "read"), st(wa, "delivered")})));
  REQUIRE(res);
  CHECK(res->status == 200);
  REQUIRE(h.status_of_becomes(a, "read"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(h.message(a)["status"] == "read");  // a late "delivered" does not move it back

  json errors = json::array({{{"code", 131049}, {"title", "This message was not delivered to maintain healthy ecosystem engagement."},
                              {"error_data", {{"details", "held back"}}}}});
  res = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), json::array(),
                                            json::array({st(wb, "failed", {{"errors", errors}})})));
  REQUIRE(res);
  CHECK(res->status == 200);
  REQUIRE(h.status_of_becomes(b, "failed"));
  const std::string why = h.message(b)["error"];
  CHECK(why.find("healthy ecosystem") != std::string::npos);
  CHECK(why.find("131049") != std::string::npos);

  // A receipt for a wamid this host never sent is acknowledged (Meta would retry forever).
  res = h.post(sb::test::cloud_notification(h.graph.phone_number_id(), json::array(),
                                            json::array({st("wamid.UNKNOWN", "read")})));
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("cloud: transient Graph errors are retried by the outbox, and permanent ones fail with the Graph reason",
          "[cloud]") {
  CloudHost h;
  using F = FakeGraphApi::Failure;
  // Transient: throughput (130429), pair rate (131056) and a 500 without a Graph body.
  h.graph.fail_next(F::rate_limit, 1, "+15552220001");
  h.graph.fail_next(F::pair_rate, 1, "+15552220002");
  h.graph.fail_next(F::server_error, 1, "+15552220003");
  const std::string r1 = h.send("+15552220001", "text", "rate limited once");
  const std::string r2 = h.send("+15552220002", "text", "pair rate once");
  const std::string r3 = h.send("+15552220003", "text", "500 once");
  for (const auto& id : {r1, r2, r3}) {
    INFO(h.message(id).dump());
    CHECK(h.status_of_becomes(id, "sent"));
  }
  size_t attempts_r1 = 0;
  for (const auto& r : h.graph.requests())
    if (r.json.is_object() && r.json.value("to", "") == "+15552220001") ++attempts_r1;
  CHECK(attempts_r1 == 2);

  // Permanent: outside the 24-hour window, a recipient who cannot receive,
  // an unknown template: failed at once with Meta's reason, sent once.
  h.graph.fail_always("+15552220004", F::outside_window);
  h.graph.fail_always("+15552220005", F::invalid_recipient);
  const std::string p1 = h.send("+15552220004", "text", "too late");
  const std::string p2 = h.send("+15552220005", "text", "nobody home");
  const std::string p3 = h.send("+15552220006", "template", "", {{"template", {{"name", "no_such_template"}, {"language", "en_US"}}}});
  REQUIRE(h.status_of_becomes(p1, "failed"));
  REQUIRE(h.status_of_becomes(p2, "failed"));
  REQUIRE(h.status_of_becomes(p3, "failed"));
  CHECK(h.message(p1)["error"].get<std::string>().find("131047") != std::string::npos);
  CHECK(h.message(p1)["error"].get<std::string>().find("24 hours") != std::string::npos);
  CHECK(h.message(p2)["error"].get<std::string>().find("131026") != std::string::npos);
  CHECK(h.message(p3)["error"].get<std::string>().find("132001") != std::string::npos);
  size_t attempts_p1 = 0;
  for (const auto& r : h.graph.requests())
    if (r.json.is_object() && r.json.value("to", "") == "+15552220004") ++attempts_p1;
  CHECK(attempts_p1 == 1);

  // An expired token: the message fails, and the profile is FAILED with why.
  h.graph.fail_next(F::expired_token, 1);
  const std::string e1 = h.send("+15552220007", "text", "token gone");
  REQUIRE(h.status_of_becomes(e1, "failed"));
  CHECK(h.message(e1)["error"].get<std::string>().find("190") != std::string::npos);
  REQUIRE(h.status_is("FAILED"));
  auto st = h.api.call("GET", h.profiles() + "/" + kProfile + "/status", nullptr, h.t.owner_auth());
  INFO(st.raw);
  CHECK(st.raw.find("access token") != std::string::npos);
  CHECK(st.raw.find(h.graph.access_token()) == std::string::npos);
  CHECK(h.api.host().log_tail(100000).find(h.graph.access_token()) == std::string::npos);
}

TEST_CASE("cloud: a blob of one workspace cannot be sent from another's profile", "[cloud]") {
  CloudHost h;
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "tenant-a-only";
  const std::string media = h.graph.add_media(png, "image/png");
  auto in = h.post(sb::test::cloud_notification(
      h.graph.phone_number_id(), json::array({{{"id", "wamid.A1"}, {"from", "15551230001"}, {"type", "image"},
                                               {"image", {{"id", media}, {"mime_type", "image/png"}}}}})));
  REQUIRE(in);
  REQUIRE(in->status == 200);
  const std::string blob = h.inbound_by_external("wamid.A1")["payload"]["media"]["blob"];

  // Tenant B, its own number on its own (fake) Graph API.
  FakeGraphApi graph_b("graph-token-b", "2099887766");
  const Tenant b = h.api.make_tenant("b");
  const std::string profiles_b = "/api/v1/workspaces/" + b.workspace_id + "/profiles";
  auto made = h.api.call("POST", profiles_b,
                         {{"id", "cloud-b"},
                          {"name", "B's number"},
                          {"channel_plugin", "channel-whatsapp-cloud"},
                          {"connect", true},
                          {"config",
                           {{"phone_number_id", graph_b.phone_number_id()},
                            {"access_token", graph_b.access_token()},
                            {"app_secret", "b-secret"},
                            {"verify_token", "b-verify"},
                            {"enforce_customer_service_window", false},
                            {"graph_base_url", graph_b.base_url()}}}},
                         b.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  auto sent = h.api.call("POST", "/api/v1/workspaces/" + b.workspace_id + "/messages",
                         {{"profile_id", "cloud-b"}, {"to", "+15551230009"}, {"type", "image"}, {"payload", {{"blob", blob}}}},
                         b.owner_auth());
  INFO(sent.raw);
  REQUIRE(sent.status == 202);
  const std::string id = sent.body["message_id"];
  json m;
  REQUIRE(eventually([&] {
    auto r = h.api.call("GET", "/api/v1/workspaces/" + b.workspace_id + "/messages?direction=out", nullptr, b.owner_auth());
    for (const auto& x : r.body["data"])
      if (x["id"] == id && x["status"] == "failed") {
        m = x;
        return true;
      }
    return false;
  }, kWait));
  CHECK(m["error"].get<std::string>().find("does not exist in this workspace") != std::string::npos);
  CHECK(graph_b.sent_count() == 0);
  for (const auto& r : graph_b.requests()) CHECK(r.path.find("/media") == std::string::npos);  // nothing uploaded
  // The same blob from its own workspace goes out.
  const std::string own = h.send("+15551230001", "image", "", {{"blob", blob}});
  CHECK(h.status_of_becomes(own, "sent"));
}

TEST_CASE("cloud: a profile whose token the Graph API refuses is FAILED with the reason, and the token is never shown",
          "[cloud]") {
  CloudHost h;
  auto made = h.api.call("POST", h.profiles(),
                         {{"id", "cloud-bad"},
                          {"name", "Wrong token"},
                          {"channel_plugin", "channel-whatsapp-cloud"},
                          {"connect", true},
                          {"config",
                           {{"phone_number_id", h.graph.phone_number_id()},
                            {"access_token", "not-the-token-1234"},
                            {"app_secret", kAppSecret},
                            {"verify_token", kVerifyToken},
                            {"graph_base_url", h.graph.base_url()}}}},
                         h.t.owner_auth());
  INFO(made.raw);
  REQUIRE(made.status == 201);
  ApiResult st;
  REQUIRE(eventually([&] {
    st = h.api.call("GET", h.profiles() + "/cloud-bad/status", nullptr, h.t.owner_auth());
    return st.status == 200 && st.body["status"] == "FAILED";
  }, kWait));
  CHECK(st.raw.find("190") != std::string::npos);
  CHECK(st.raw.find("not-the-token-1234") == std::string::npos);
  CHECK(h.api.host().log_tail(100000).find("not-the-token-1234") == std::string::npos);
  // A config without the secrets is refused before any plugin code runs.
  auto missing = h.api.call("POST", h.profiles(),
                            {{"id", "cloud-incomplete"},
                             {"name", "No secrets"},
                             {"channel_plugin", "channel-whatsapp-cloud"},
                             {"config", {{"phone_number_id", "123"}}}},
                            h.t.owner_auth());
  sb::test::require_error(missing, 400, "invalid_argument");
}
