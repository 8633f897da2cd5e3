// A registered dashboard receives its agency's events at its URL, signed
// the Standard Webhooks way with its webhookSecret; the signature is checked
// here with OpenSSL directly, not with the host's code.
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>
#include <mutex>
#include <set>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::eventually;
using sb::test::TempDir;

namespace {

struct Delivery {
  std::string id, timestamp, signature, body;
};

class Receiver {
 public:
  Receiver() {
    server_.Post("/hooks", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      got_.push_back({req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                      req.get_header_value("webhook-signature"), req.body});
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Delivery> got_;
};

std::string expected_signature(const std::string& secret, const Delivery& d) {
  const std::string content = d.id + "." + d.timestamp + "." + d.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len);
  unsigned char b64[128];
  const int n = EVP_EncodeBlock(b64, mac, static_cast<int>(len));
  return "v1," + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("a dashboard gets its agency's events signed with its webhook secret, and no other agency's", "[api]") {
  TempDir dir("sb-api-dashboard-events");
  ApiHost api(dir.path());
  Receiver acme_hooks, globex_hooks;
  const std::string secret = "acme-webhook-secret-with-32-or-more-characters";
  const sb::test::Headers psk = {{"Authorization", std::string("PSK ") + ApiHost::kPsk}};
  auto reg = api.call("POST", "/v1/internal/dashboard/register",
                      {{"agencyId", "acme"}, {"dashboardName", "Acme"},
                       {"dashboardUrl", "http://127.0.0.1:" + std::to_string(acme_hooks.port()) + "/hooks"},
                       {"webhookSecret", secret}},
                      psk);
  REQUIRE(reg.status == 200);
  REQUIRE(api.call("POST", "/v1/internal/dashboard/register",
                   {{"agencyId", "globex"}, {"dashboardName", "Globex"},
                    {"dashboardUrl", "http://127.0.0.1:" + std::to_string(globex_hooks.port()) + "/hooks"},
                    {"webhookSecret", std::string(40, 'g')}},
                   psk)
              .status == 200);
  const sb::test::Headers key = {{"X-API-Key", reg.body["apiKey"].get<std::string>()}};
  REQUIRE(api.call("POST", "/api/v1/organizations/acme/workspaces", {{"id", "t1"}, {"name", "T1"}}, key).status == 201);
  auto profile = api.call("POST", "/api/v1/sessions?agencyId=acme&tenantId=t1",
                          {{"id", "acme-number"}, {"name", "Acme number"}, {"channel_plugin", "channel-sandbox"},
                           {"connect", true}},
                          key);
  INFO(profile.raw);
  REQUIRE(profile.status == 201);
  {
    auto c = api.host().client();
    REQUIRE(sb::test::post_inbound(*c, {{"from", "+15550009999"}, {"text", "hello acme"}}, "acme-number")->status == 200);
  }
  REQUIRE(eventually([&] {
    for (const auto& d : acme_hooks.deliveries())
      if (json::parse(d.body)["type"] == "message.received") return true;
    return false;
  }));
  const auto got = acme_hooks.deliveries();
  bool saw_session = false;
  for (const auto& d : got) {
    INFO(d.body);
    CHECK(d.signature == expected_signature(secret, d));
    CHECK(d.id.rfind("msg_", 0) == 0);  // the delivery's webhook-id (host/webhooks)
    CHECK(std::abs(std::stoll(d.timestamp) - std::time(nullptr)) < 60);
    const json body = json::parse(d.body);
    CHECK(body["agencyId"] == "acme");
    CHECK(body["tenantId"] == "t1");
    saw_session = saw_session || body["type"] == "session.status";
    if (body["type"] == "message.received") CHECK(body["data"]["text"] == "hello acme");
  }
  CHECK(saw_session);
  // Every delivery has its own id.
  std::set<std::string> ids;
  for (const auto& d : got) ids.insert(d.id);
  CHECK(ids.size() == got.size());
  // Globex's dashboard heard nothing of Acme's, and the demo workspace (no dashboard) reached nobody.
  {
    auto c = api.host().client();
    REQUIRE(sb::test::post_inbound(*c, {{"from", "+15550008888"}, {"text", "demo"}})->status == 200);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(globex_hooks.deliveries().empty());
  for (const auto& d : acme_hooks.deliveries()) CHECK(json::parse(d.body)["tenantId"] == "t1");
}
