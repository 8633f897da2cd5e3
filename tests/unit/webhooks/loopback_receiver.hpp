#pragma once
// A webhook endpoint on loopback for the webhook tests (unit and e2e): it
// records every POST and answers what its script says (a status, or a hang
// longer than the sender's timeout). Also the test's own Standard Webhooks
// verifier, written here with OpenSSL's HMAC and a base64 of its own so
// that it shares nothing with host/webhooks/signature.cpp.
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

inline std::string b64_encode(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

inline std::string b64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) continue;  // padding
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// "v1,<base64 HMAC-SHA256>" of "<id>.<timestamp>.<body>"; a whsec_ secret
// is base64-decoded first, any other used as given.
inline std::string independent_signature(const std::string& secret, const std::string& id,
                                         const std::string& timestamp, const std::string& body) {
  const std::string key = secret.rfind("whsec_", 0) == 0 ? b64_decode(secret.substr(6)) : secret;
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &len);
  return "v1," + b64_encode(std::string(reinterpret_cast<char*>(mac), len));
}

struct Received {
  std::string id, timestamp, signature, body;
  nlohmann::json json;
  std::string type() const { return json.value("type", ""); }
};

class LoopbackReceiver {
 public:
  // What to answer: an HTTP status, or kHang to answer 200 only after
  // hang_ms (longer than the sender's timeout).
  static constexpr int kHang = -1;
  using Script = std::function<int(const Received&)>;

  LoopbackReceiver() {
    server_.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      Received r{req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                 req.get_header_value("webhook-signature"), req.body,
                 nlohmann::json::parse(req.body, nullptr, false)};
      int status = 200;
      {
        std::lock_guard<std::mutex> lock(mu_);
        got_.push_back(r);
        if (script_) status = script_(r);
      }
      if (status == kHang) {
        std::this_thread::sleep_for(std::chrono::milliseconds(hang_ms));
        status = 200;
      }
      res.status = status;
      res.set_content(status >= 200 && status < 300 ? "ok" : "receiver says " + std::to_string(status),
                      "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LoopbackReceiver() {
    server_.stop();
    thread_.join();
  }
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  void script(Script s) {
    std::lock_guard<std::mutex> lock(mu_);
    script_ = std::move(s);
  }
  std::string url(const std::string& path = "/hooks") const {
    return std::string("http://127.0.0.1:").append(std::to_string(port_)).append(path);
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_.size();
  }
  int hang_ms = 1500;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  Script script_;
  std::vector<Received> got_;
};

}  // namespace sb::test
