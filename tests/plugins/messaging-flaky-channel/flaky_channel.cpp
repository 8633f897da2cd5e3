// A channel that fails transiently before it succeeds, for the outbox's
// retry tests. Written against the public SDK only.
#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class FlakyChannel final : public switchboard::Channel {
 public:
  FlakyChannel(switchboard::Host host, std::string_view config_json) : Channel(host) {
    json config = json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (!config.is_object()) throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "config must be an object");
    failures_ = config.value("transient_failures", 2);
    const std::string status = config.value("failure_status", std::string("UNAVAILABLE"));
    failure_status_ = status == "BUSY" ? SB_ERR_BUSY : status == "TIMEOUT" ? SB_ERR_TIMEOUT : SB_ERR_UNAVAILABLE;
    route("GET", "sends", [this](const switchboard::Request&, switchboard::Response& resp) {
      std::lock_guard<std::mutex> lock(mu_);
      resp.json(200, json{{"sends", sends_}}.dump());
    });
  }

  std::string send(std::string_view message_json) override {
    json message = json::parse(message_json.begin(), message_json.end(), nullptr, false);
    if (!message.is_object()) throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "the message is not an object");
    const std::string key = message.value("idempotency_key", std::string());
    std::lock_guard<std::mutex> lock(mu_);
    const int attempt = ++attempts_[key];
    const bool fail = attempt <= failures_;
    sends_.push_back({{"idempotency_key", key},
                      {"to", message.value("to", std::string())},
                      {"text", message.value("text", std::string())},
                      {"attempt", attempt},
                      {"outcome", fail ? "transient" : "sent"},
                      {"at_ms", now_ms()}});
    if (fail)
      throw switchboard::Error(failure_status_, "flaky channel: attempt " + std::to_string(attempt) + " fails on purpose");
    return json{{"external_id", "flaky-" + key}}.dump();
  }

 private:
  int failures_ = 2;
  sb_status failure_status_ = SB_ERR_UNAVAILABLE;
  std::mutex mu_;
  std::map<std::string, int> attempts_;
  std::vector<json> sends_;
};

}  // namespace

SWITCHBOARD_CHANNEL_PLUGIN(FlakyChannel, "messaging-flaky-channel", "1.0.0")
