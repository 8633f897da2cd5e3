#include "webhooks/dashboard_notifier.hpp"

#include "core/ids.hpp"
#include "plugins/http_client.hpp"
#include "store/tenancy_repository.hpp"
#include "tenancy/crypto.hpp"

#include <openssl/hmac.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

namespace sb::webhooks {
namespace {

std::string base64(const unsigned char* data, size_t n) {
  std::string out(sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::string signing_key(const std::string& secret) {
  if (secret.rfind("whsec_", 0) == 0) {
    const std::string b64 = secret.substr(6);
    std::string raw(b64.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), b64.data(), b64.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0) {
      raw.resize(len);
      return raw;
    }
  }
  return secret;
}

std::string public_type(const Event& e) {
  if (e.type == "message.status") return "message." + e.data.value("status", std::string("status"));
  return e.type;
}

}  // namespace

std::string standard_webhook_signature(const std::string& secret, const std::string& id, int64_t timestamp,
                                       const std::string& body) {
  const std::string key = signing_key(secret);
  const std::string content = id + "." + std::to_string(timestamp) + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), digest, &len);
  return "v1," + base64(digest, len);
}

DashboardNotifier::DashboardNotifier(store::Database& db, EventBus& bus, tenancy::Dashboards& dashboards,
                                     NotifierOptions options)
    : db_(db), dashboards_(dashboards), options_(options) {
  sub_ = bus.subscribe("*", [this](const Event& e) { on_event(e); });
  thread_ = std::thread([this] { sender_loop(); });
}

DashboardNotifier::~DashboardNotifier() { stop(); }

void DashboardNotifier::stop() {
  sub_ = EventBus::Subscription();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DashboardNotifier::Stats DashboardNotifier::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void DashboardNotifier::on_event(const Event& event) {
  // A host with no dashboard (a small business on its own) pays nothing here.
  if (event.workspace_id.empty() || dashboards_.none_registered()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= options_.max_queue) {
      queue_.pop_front();
      ++stats_.dropped;
    }
    queue_.push_back({event, new_id("evt"), 0, std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
}

std::optional<tenancy::Dashboard> DashboardNotifier::dashboard_for(const std::string& workspace_id,
                                                                   std::string& organization_id) {
  const auto now = std::chrono::steady_clock::now();
  auto it = cache_.find(workspace_id);
  if (it == cache_.end() || now - it->second.at > options_.cache_ttl) {
    Cached c;
    c.at = now;
    auto ws = db_.read([&](store::Connection& conn) { return store::tenancy::get_workspace(conn, workspace_id); });
    if (ws) {
      c.organization_id = ws->organization_id;
      auto d = dashboards_.find(ws->organization_id);
      if (d && d->status == "active") c.dashboard = d;
    }
    if (cache_.size() > 10000) cache_.clear();
    it = cache_.insert_or_assign(workspace_id, std::move(c)).first;
  }
  organization_id = it->second.organization_id;
  return it->second.dashboard;
}

bool DashboardNotifier::deliver(Pending& p) {
  std::string organization_id;
  const auto dashboard = dashboard_for(p.event.workspace_id, organization_id);
  if (!dashboard) return true;  // no dashboard for this agency: nothing to do
  const int64_t ts = now_ms() / 1000;
  const nlohmann::json payload = {{"type", public_type(p.event)},
                                  {"timestamp", iso8601(p.event.at_ms ? p.event.at_ms : now_ms())},
                                  {"agencyId", organization_id},
                                  {"tenantId", p.event.workspace_id},
                                  {"data", p.event.data}};
  const std::string body = payload.dump();
  std::string secret;
  try {
    secret = dashboards_.webhook_secret(*dashboard);
  } catch (const std::exception& e) {
    spdlog::error("dashboard of agency {}: cannot open its webhook secret: {}", organization_id, e.what());
    return true;
  }
  const nlohmann::json request = {
      {"method", "POST"},
      {"url", dashboard->url},
      {"headers",
       {{"content-type", "application/json"},
        {"webhook-id", p.id},
        {"webhook-timestamp", std::to_string(ts)},
        {"webhook-signature", standard_webhook_signature(secret, p.id, ts, body)}}},
      {"body", body},
      {"timeout_ms", options_.timeout.count()}};
  try {
    const auto res = plugins::perform_http_request(request);
    const int status = res.value("status", 0);
    if (status >= 200 && status < 300) return true;
    spdlog::warn("dashboard of agency {}: event {} answered HTTP {}", organization_id, p.id, status);
  } catch (const std::exception& e) {
    spdlog::warn("dashboard of agency {}: event {} not delivered: {}", organization_id, p.id, e.what());
  }
  return false;
}

void DashboardNotifier::sender_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) return;
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    // The queue is in arrival order except for retries pushed to the back
    // with a later due time: take the first that is due.
    const auto now = std::chrono::steady_clock::now();
    auto due = std::find_if(queue_.begin(), queue_.end(), [&](const Pending& p) { return p.due <= now; });
    if (due == queue_.end()) {
      auto earliest = std::min_element(queue_.begin(), queue_.end(),
                                       [](const Pending& a, const Pending& b) { return a.due < b.due; });
      cv_.wait_until(lock, earliest->due);
      continue;
    }
    Pending p = std::move(*due);
    queue_.erase(due);
    lock.unlock();
    const bool done = deliver(p);
    lock.lock();
    if (done) {
      ++stats_.delivered;
    } else if (++p.attempt >= options_.attempts) {
      ++stats_.failed;
    } else {
      auto delay = options_.first_retry;
      for (int i = 1; i < p.attempt; ++i) delay *= 5;
      p.due = std::chrono::steady_clock::now() + delay;
      queue_.push_back(std::move(p));
    }
  }
}

}  // namespace sb::webhooks
