// A channel that records every send durably, for the campaign tests: one
// JSON line per send {"idempotency_key","external_id","to","text","type",
// "at_ms"} appended to the configured file and fsync'd before send()
// returns, so a kill -9 of the host right after cannot lose it. At create
// it reads the file back: a send whose idempotency key is recorded is
// answered with the first external id and not appended again (that is what
// "the channel supports an idempotency key" means to the outbox).
// Routes: POST status {external_id, status, error?} and POST inbound
// {from, text, id} emit a receipt or an inbound message to the host.
// Written against the public SDK only.
#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

namespace {

using nlohmann::json;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class RecordingChannel final : public switchboard::Channel {
 public:
  RecordingChannel(switchboard::Host host, std::string_view config_json) : Channel(host) {
    json config = json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (!config.is_object() || !config.contains("file") || !config["file"].is_string())
      throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "config must be {\"file\": path}");
    path_ = config["file"].get<std::string>();
    {
      std::ifstream in(path_);
      std::string line;
      while (std::getline(in, line)) {
        json j = json::parse(line, nullptr, false);
        // A torn last line (a crash mid-write, before fsync) was never answered.
        if (!j.is_object() || !j.contains("idempotency_key")) continue;
        seen_.emplace(j["idempotency_key"].get<std::string>(), j.value("external_id", std::string()));
      }
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd_ < 0) throw switchboard::Error(SB_ERR_UNAVAILABLE, "cannot open " + path_);
    route("POST", "status", [this](const switchboard::Request& q, switchboard::Response& r) {
      json body = json::parse(q.body.begin(), q.body.end(), nullptr, false);
      if (!body.is_object()) return r.json(400, R"({"error":"a JSON object"})");
      try {
        r.json(200, this->host().emit(SB_EVENT_MESSAGE_STATUS, body.dump()));
      } catch (const switchboard::Error& e) {
        r.json(400, json{{"error", e.what()}}.dump());
      }
    });
    route("POST", "inbound", [this](const switchboard::Request& q, switchboard::Response& r) {
      json body = json::parse(q.body.begin(), q.body.end(), nullptr, false);
      if (!body.is_object()) return r.json(400, R"({"error":"a JSON object"})");
      json event = {{"external_id", body.value("id", std::string("in-") + std::to_string(now_ms()))},
                    {"from", body.value("from", std::string())},
                    {"from_name", body.value("name", std::string())},
                    {"type", "text"},
                    {"text", body.value("text", std::string())},
                    {"timestamp", now_ms() / 1000}};
      try {
        r.json(200, this->host().emit(SB_EVENT_MESSAGE_INBOUND, event.dump()));
      } catch (const switchboard::Error& e) {
        r.json(400, json{{"error", e.what()}}.dump());
      }
    });
  }
  ~RecordingChannel() override {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string capabilities() override {
    return R"({"message_types":["text","image","video","audio","document","location","contact","poll","interactive","reaction","template"]})";
  }

  std::string send(std::string_view message_json) override {
    json message = json::parse(message_json.begin(), message_json.end(), nullptr, false);
    if (!message.is_object()) throw switchboard::Error(SB_ERR_INVALID_ARGUMENT, "the message is not an object");
    const std::string key = message.value("idempotency_key", std::string());
    std::lock_guard<std::mutex> lock(mu_);
    if (!key.empty()) {
      auto it = seen_.find(key);
      if (it != seen_.end()) return json{{"external_id", it->second}}.dump();
    }
    const std::string external_id = "rec-" + std::to_string(++count_) + "-" + std::to_string(now_ms());
    json line = {{"idempotency_key", key},
                 {"external_id", external_id},
                 {"to", message.value("to", std::string())},
                 {"type", message.value("type", std::string())},
                 {"text", message.value("text", std::string())},
                 {"at_ms", now_ms()}};
    const std::string text = line.dump() + "\n";
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n <= 0) throw switchboard::Error(SB_ERR_UNAVAILABLE, "cannot write " + path_);
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd_) != 0) throw switchboard::Error(SB_ERR_UNAVAILABLE, "cannot fsync " + path_);
    if (!key.empty()) seen_.emplace(key, external_id);
    return json{{"external_id", external_id}}.dump();
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
  std::map<std::string, std::string> seen_;
  uint64_t count_ = 0;
};

}  // namespace

SWITCHBOARD_CHANNEL_PLUGIN(RecordingChannel, "recording-channel", "1.0.0")
