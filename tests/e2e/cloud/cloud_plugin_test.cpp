// channel-whatsapp-cloud loaded in-process by the real plugin registry, with
// host services whose state and blob stores the test owns: the parts the
// end-to-end tests cannot reach deterministically — a re-send after a crash
// answered from kv state, the optional operations (ABI 1.1 call), a host
// that refuses an event — and the blob store itself.
#include "fakes/fake_graph_api.hpp"
#include "store/blob_store.hpp"
#include "support/temp_dir.hpp"
#include "unit/plugins/plugin_test_host.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <mutex>

using nlohmann::json;
using sb::test::FakeGraphApi;
using sb::test::PluginTestHost;
using sb::test::TempDir;

namespace {

constexpr const char* kAppSecret = "in-process-app-secret";

class MapState final : public sb::plugins::PluginStateStore {
 public:
  std::optional<std::string> get(const std::string& p, const std::string& i, const std::string& k) override {
    std::lock_guard lock(mu_);
    auto it = kv_.find(p + "/" + i + "/" + k);
    if (it == kv_.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& p, const std::string& i, const std::string& k, const std::string& v) override {
    std::lock_guard lock(mu_);
    kv_[p + "/" + i + "/" + k] = v;
  }
  void erase(const std::string& p, const std::string& i, const std::string& k) override {
    std::lock_guard lock(mu_);
    kv_.erase(p + "/" + i + "/" + k);
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return kv_.size();
  }
  // Replaces every value that contains `needle` (a crash "before the answer
  // was recorded" in tests).
  void replace_values_with(const std::string& needle, const std::string& value) {
    std::lock_guard lock(mu_);
    for (auto& [k, v] : kv_)
      if (v.find(needle) != std::string::npos) v = value;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> kv_;
};

// Every instance in one workspace, on the real BlobStore.
class OneWorkspaceBlobs final : public sb::plugins::PluginBlobStore {
 public:
  explicit OneWorkspaceBlobs(sb::store::BlobStore& blobs) : blobs_(blobs) {}
  std::string put(const std::string&, const std::string&, std::string_view type, std::string_view data) override {
    return blobs_.put("ws-test", type, data).ref;
  }
  std::optional<sb::plugins::PluginBlob> get(const std::string&, const std::string&, std::string_view ref) override {
    sb::plugins::PluginBlob b;
    auto info = blobs_.get("ws-test", ref, &b.data);
    if (!info) return std::nullopt;
    b.meta = info->to_json();
    return b;
  }

 private:
  sb::store::BlobStore& blobs_;
};

struct Fixture {
  TempDir dir{"sb-cloud-plugin"};
  FakeGraphApi graph;
  MapState state;
  sb::store::BlobStore blobs{dir.path() / "blobs"};
  OneWorkspaceBlobs plugin_blobs{blobs};
  PluginTestHost host{{SB_PLUGIN_DIR, sb::test::test_plugin_dir()}};

  Fixture() {
    host.services.set_state_store(&state);
    host.services.set_blob_store(&plugin_blobs);
  }
  ~Fixture() {
    host.services.set_blob_store(nullptr);
    host.services.set_state_store(nullptr);
  }

  json config() const {
    return {{"phone_number_id", graph.phone_number_id()}, {"access_token", graph.access_token()},
            {"app_secret", kAppSecret},                  {"verify_token", "vt"},
            {"graph_base_url", graph.base_url()},        {"timeout_ms", 3000}};
  }
  std::unique_ptr<sb::plugins::ChannelInstance> channel(const std::string& id = "cloud-p") {
    return host.registry.create_channel("channel-whatsapp-cloud", id, config());
  }
  sb::plugins::HookResponse webhook(const std::string& instance, const json& body) {
    const std::string text = body.dump();
    return host.hook("channel-whatsapp-cloud", instance, "POST", "webhook", text,
                     {{"content-type", "application/json"},
                      {"x-hub-signature-256", sb::test::meta_signature(kAppSecret, text)}});
  }
};

json text_message(const std::string& id, const std::string& body) {
  return {{"id", id}, {"from", "15551230001"}, {"type", "text"}, {"text", {{"body", body}}}};
}

}  // namespace

TEST_CASE("cloud plugin: a re-send of an idempotency key already answered is answered from kv, not sent again",
          "[cloud]") {
  Fixture f;
  const json msg = {{"message_id", "msg_1"}, {"idempotency_key", "obx_1"}, {"to", "+15551230001"},
                    {"type", "text"},        {"text", "once only"}};
  std::string first;
  {
    auto ch = f.channel();
    first = ch->send(msg)["external_id"];
    CHECK(f.graph.sent_count() == 1);
    CHECK(ch->send(msg)["external_id"] == first);  // the outbox retried after losing the answer
    CHECK(f.graph.sent_count() == 1);
  }
  // A new instance on the same state (the host restarted): still answered from kv.
  auto again = f.channel();
  const json answer = again->send(msg);
  CHECK(answer["external_id"] == first);
  CHECK(answer["duplicate"] == true);
  CHECK(f.graph.sent_count() == 1);
  json other = msg;
  other["idempotency_key"] = "obx_2";
  CHECK(again->send(other)["external_id"] != first);
  CHECK(f.graph.sent_count() == 2);
}

TEST_CASE("cloud plugin: a send cut off by a crash is recognised by its status webhook and not sent again",
          "[cloud][idempotency]") {
  Fixture f;
  const json msg = {{"message_id", "msg_9"}, {"idempotency_key", "obx_9"}, {"to", "+15551230001"},
                    {"type", "text"},        {"text", "exactly once"}};
  std::string wamid;
  {
    auto ch = f.channel();
    wamid = ch->send(msg)["external_id"];
  }
  REQUIRE(f.graph.sent_count() == 1);
  // Meta gets our key with the message and echoes it in the statuses.
  CHECK(f.graph.sent().back()["biz_opaque_callback_data"] == "obx_9");
  // The host died after Meta took the message but before the wamid was
  // recorded: only the attempt's marker is left.
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  f.state.replace_values_with("obx_9", json{{"key", "obx_9"}, {"pending_since", now_ms}}.dump());

  auto ch = f.channel();
  // The re-send does not guess: it waits (transient) for the status webhook.
  bool transient = false;
  try {
    ch->send(msg);
  } catch (const sb::plugins::PluginError& e) {
    transient = e.transient();
  }
  CHECK(transient);
  CHECK(f.graph.sent_count() == 1);

  const json status = {{"id", wamid}, {"status", "sent"}, {"timestamp", "1763910000"},
                       {"recipient_id", "15551230001"}, {"biz_opaque_callback_data", "obx_9"}};
  auto res = f.webhook("cloud-p", sb::test::cloud_notification(f.graph.phone_number_id(), json::array(),
                                                                json::array({status})));
  CHECK(res.status == 200);
  const json answer = ch->send(msg);
  CHECK(answer["external_id"] == wamid);
  CHECK(answer["duplicate"] == true);
  CHECK(f.graph.sent_count() == 1);
}

TEST_CASE("cloud plugin: a send cut off by a crash with no status after the wait is sent again", "[cloud][idempotency]") {
  Fixture f;
  const json msg = {{"message_id", "msg_8"}, {"idempotency_key", "obx_8"}, {"to", "+15551230001"},
                    {"type", "text"},        {"text", "lost?"}};
  f.state.put("channel-whatsapp-cloud", "cloud-p", "unrelated", "{}");
  json config = f.config();
  config["ambiguous_send_wait_ms"] = 0;
  auto ch = f.host.registry.create_channel("channel-whatsapp-cloud", "cloud-p", config);
  ch->send(msg);
  f.state.replace_values_with("obx_8", json{{"key", "obx_8"}, {"pending_since", 1}}.dump());
  CHECK_FALSE(ch->send(msg)["external_id"].get<std::string>().empty());
  CHECK(f.graph.sent_count() == 2);  // at least once: the status never came
}

TEST_CASE("cloud plugin: the table of remembered sends is bounded", "[cloud]") {
  Fixture f;
  json config = f.config();
  config["idempotency_slots"] = 4;
  auto ch = f.host.registry.create_channel("channel-whatsapp-cloud", "cloud-b", config);
  for (int i = 0; i < 40; ++i) {
    ch->send({{"idempotency_key", std::string("k").append(std::to_string(i))}, {"to", "+15551230001"},
              {"type", "text"}, {"text", "x"}});
  }
  CHECK(f.graph.sent_count() == 40);
  CHECK(f.state.size() <= 4);
}

TEST_CASE("cloud plugin: mark_read and media.upload through call, and groups and 1.0 plugins are not supported", "[cloud]") {
  Fixture f;
  auto ch = f.channel();
  CHECK(ch->call("mark_read", {{"external_id", "wamid.IN9"}}).is_object());
  REQUIRE(f.graph.marked_read() == std::vector<std::string>{"wamid.IN9"});

  const std::string bytes = std::string("%PDF-1.4\0\xff binary", 17);
  const std::string ref = f.blobs.put("ws-test", "application/pdf", bytes).ref;
  const json up = ch->call("media.upload", {{"blob", ref}, {"filename", "a.pdf"}});
  REQUIRE(up["media_id"].is_string());
  CHECK(f.graph.uploaded(up["media_id"]) == bytes);
  CHECK(f.graph.uploaded_type(up["media_id"]) == "application/pdf");
  // The uploaded id is then sendable.
  CHECK(ch->send({{"to", "+15551230001"}, {"type", "document"}, {"media_id", up["media_id"]}})["external_id"]
            .is_string());

  auto unsupported = [](sb::plugins::ChannelInstance& c, const std::string& op) {
    try {
      c.call(op, json::object());
      FAIL("expected " << op << " to be refused");
    } catch (const sb::plugins::PluginError& e) {
      CHECK(e.status() == SB_ERR_UNSUPPORTED);
      CHECK(e.code() == sb::ErrorCode::invalid_argument);
      CHECK(std::string(e.what()).find("not supported by this channel") != std::string::npos);
    }
  };
  unsupported(*ch, "group.list");
  unsupported(*ch, "group.create");
  // A plugin built for ABI 1.0 has no call slot at all.
  auto old = f.host.registry.create_channel("good-c-channel", "old-1", json::object());
  unsupported(*old, "mark_read");

  CHECK_THROWS_AS(ch->call("mark_read", json::object()), sb::plugins::PluginError);  // no external_id
  CHECK_THROWS_AS(ch->call("media.upload", {{"blob", "blob:" + std::string(64, 'a')}}), sb::plugins::PluginError);
}

TEST_CASE("cloud plugin: several messages of one POST are each emitted, and a host that refuses for now gets Meta a 503",
          "[cloud]") {
  Fixture f;
  auto ch = f.channel("cloud-w");
  json body = sb::test::cloud_notification(
      f.graph.phone_number_id(), json::array({text_message("wamid.1", "a"), text_message("wamid.2", "b")}));
  // A second entry with a third message, as Meta batches.
  body["entry"].push_back(sb::test::cloud_notification(f.graph.phone_number_id(),
                                                       json::array({text_message("wamid.3", "c")}))["entry"][0]);
  auto ok = f.webhook("cloud-w", body);
  CHECK(ok.status == 200);
  const auto inbound = f.host.sink.events_of("message.inbound");
  REQUIRE(inbound.size() == 3);
  CHECK(inbound[0].event["external_id"] == "wamid.1");
  CHECK(inbound[2].event["external_id"] == "wamid.3");
  CHECK(inbound[2].event["from"] == "+15551230001");

  f.host.sink.refuse_with(sb::Error(sb::ErrorCode::unavailable, "database busy"));
  CHECK(f.webhook("cloud-w", body).status == 503);  // Meta retries; the host dedupes
  f.host.sink.refuse_with(sb::Error(sb::ErrorCode::invalid_argument, "\"from\" is not a phone number"));
  CHECK(f.webhook("cloud-w", body).status == 200);  // retrying would not help
}

TEST_CASE("cloud plugin: a sender reported by a user id is filed under the contact's wa_id, and the ids are kept",
          "[cloud]") {
  Fixture f;
  auto ch = f.channel("cloud-u");
  json body = sb::test::cloud_notification(f.graph.phone_number_id(), json::array());
  json& value = body["entry"][0]["changes"][0]["value"];
  value["contacts"] = json::array({{{"profile", {{"name", "Uma"}}}, {"wa_id", "4915112345678"}, {"user_id", "DE.998877"}}});
  value["messages"] = json::array({{{"id", "wamid.U1"}, {"from", "DE.998877"}, {"timestamp", "1763910000"},
                                    {"type", "text"}, {"text", {{"body", "hallo"}}}},
                                   {{"id", "wamid.U2"}, {"from", "XX.nobody"}, {"timestamp", "1763910000"},
                                    {"type", "text"}, {"text", {{"body", "who"}}}}});
  CHECK(f.webhook("cloud-u", body).status == 200);
  const auto inbound = f.host.sink.events_of("message.inbound");
  REQUIRE(inbound.size() == 1);  // the second has no number to file it under: logged and skipped
  const json& e = inbound[0].event;
  CHECK(e["from"] == "+4915112345678");
  CHECK(e["from_name"] == "Uma");
  CHECK(e["wa_id"] == "4915112345678");
  bool bsuid = false;
  for (const auto& id : e["identities"]) bsuid |= id["kind"] == "bsuid" && id["value"] == "DE.998877";
  CHECK(bsuid);
}

TEST_CASE("blob store: content-addressed, durable files per workspace, and no workspace reads another's", "[cloud][blobs]") {
  TempDir dir("sb-blobs");
  sb::store::BlobStore blobs(dir.path());
  const std::string bytes("\0\1binary\xff", 9);
  const auto a = blobs.put("ws-a", "image/png", bytes);
  CHECK(a.ref.rfind("blob:", 0) == 0);
  CHECK(a.ref.size() == 5 + 64);
  CHECK(a.size == bytes.size());
  CHECK(blobs.put("ws-a", "image/png", bytes).ref == a.ref);  // same bytes, same ref
  std::string data;
  auto got = blobs.get("ws-a", a.ref, &data);
  REQUIRE(got);
  CHECK(data == bytes);
  CHECK(got->content_type == "image/png");
  CHECK_FALSE(blobs.get("ws-b", a.ref));  // another tenant never sees it
  CHECK(std::filesystem::exists(dir.path() / "ws-a" / a.sha256));
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "ws-a"))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);  // no temporary left
  CHECK_THROWS_AS(blobs.get("ws-a", "blob:../../etc/passwd"), sb::Error);
  CHECK_THROWS_AS(blobs.get("ws-a", "sha256:" + a.sha256), sb::Error);
  CHECK_THROWS_AS(blobs.put("../ws-a", "text/plain", "x"), sb::Error);
  CHECK(blobs.put("ws-a", "", "").content_type == "application/octet-stream");
}

TEST_CASE("the fake Graph API refuses what the real one refuses, with Graph error bodies", "[cloud][fake]") {
  FakeGraphApi graph;
  httplib::Client c("127.0.0.1", std::stoi(graph.base_url().substr(graph.base_url().rfind(':') + 1)));
  const std::string path = "/v21.0/" + graph.phone_number_id() + "/messages";
  const httplib::Headers auth = {{"Authorization", "Bearer " + graph.access_token()}};
  auto post = [&](const json& body, const httplib::Headers& h) {
    auto r = c.Post(path.c_str(), h, body.dump(), "application/json");
    REQUIRE(r);
    return std::make_pair(r->status, json::parse(r->body, nullptr, false));
  };
  const json text = {{"messaging_product", "whatsapp"}, {"to", "+15551230001"}, {"type", "text"}, {"text", {{"body", "hi"}}}};
  auto [s1, b1] = post(text, {});
  CHECK(s1 == 401);
  CHECK(b1["error"]["code"] == 190);
  CHECK(b1["error"]["fbtrace_id"].is_string());
  auto [s2, b2] = post(text, auth);
  CHECK(s2 == 200);
  CHECK(b2["messages"][0]["id"].get<std::string>().rfind("wamid.", 0) == 0);
  CHECK(b2["contacts"][0]["wa_id"] == "15551230001");
  json four = {{"messaging_product", "whatsapp"}, {"to", "+15551230001"}, {"type", "interactive"},
               {"interactive", {{"type", "button"}, {"body", {{"text", "x"}}}, {"action", {{"buttons", json::array()}}}}}};
  for (int i = 0; i < 4; ++i)
    four["interactive"]["action"]["buttons"].push_back({{"type", "reply"}, {"reply", {{"id", std::to_string(i)}, {"title", "t"}}}});
  auto [s3, b3] = post(four, auth);
  CHECK(s3 == 400);
  CHECK(b3["error"]["code"] == 100);
  auto [s4, b4] = post({{"messaging_product", "whatsapp"}, {"to", "+15551230001"}, {"type", "image"}, {"image", {{"id", "nope"}}}}, auth);
  CHECK(s4 == 400);
  auto [s5, b5] = post({{"to", "+15551230001"}, {"type", "text"}, {"text", {{"body", "no product"}}}}, auth);
  CHECK(s5 == 400);
  graph.fail_next(FakeGraphApi::Failure::rate_limit);
  auto [s6, b6] = post(text, auth);
  CHECK(s6 == 400);
  CHECK(b6["error"]["code"] == 130429);
  CHECK(graph.sent_count() == 1);
}
