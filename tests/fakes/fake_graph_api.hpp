#pragma once
// A stand-in for Meta's Graph API (WhatsApp Cloud API), on loopback, for the
// channel-whatsapp-cloud tests. It speaks the wire format of the real one:
//
//   GET  /{version}/{phone-number-id}            the number (credentials check)
//   POST /{version}/{phone-number-id}/messages   send / mark as read
//   POST /{version}/{phone-number-id}/media      multipart upload -> {"id"}
//   GET  /{version}/{media-id}                   {"url","mime_type","sha256","file_size","id"}
//   GET  /download/{media-id}                    the bytes (bearer token required, like lookaside URLs)
//   GET  /{version}/{waba-id}/message_templates  the templates, paged (limit, after; paging.cursors/next)
//
// It checks what it receives as the real API does — the bearer token, the
// JSON shape of each message type and its limits — and refuses with Graph
// error bodies {"error":{"message","type","code","error_subcode",
// "error_data":{"details"},"fbtrace_id"}}: code 190 for a bad token, 100 for
// a malformed parameter, 132001 for an unknown template. Failures can be
// programmed (rate limit, outside the 24-hour window, invalid recipient,
// expired token, 500) for the next N sends or for one recipient. Every
// request is recorded.
//
// With deliver_statuses() it also behaves like Meta after it accepts a
// message: a background thread POSTs a signed `sent` status webhook for the
// wamid (with the send's biz_opaque_callback_data and recipient_id) to the
// host, retrying with backoff (100 ms doubling to 1 s) until the host answers
// 200 — the host may be down at that moment, and Meta retries too.
//
// Thread-safe: the server's threads and the test's thread share `mu_`; the
// delivery thread and the server's threads share `deliver_mu_`.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sb::test {

struct GraphRequest {
  std::string method;
  std::string path;
  std::string authorization;
  std::string content_type;
  std::string body;
  nlohmann::json json;  // the parsed body when it is JSON, else null
  int status = 0;       // what the fake answered
};

class FakeGraphApi {
 public:
  enum class Failure {
    rate_limit,         // 130429, throughput reached
    pair_rate,          // 131056, too many to the same user
    outside_window,     // 131047, more than 24 h since the user wrote
    invalid_recipient,  // 131026, cannot receive
    unknown_template,   // 132001, template does not exist
    expired_token,      // 190 (HTTP 401), subcode 463
    server_error,       // HTTP 500 without a Graph body
  };

  explicit FakeGraphApi(std::string access_token = "graph-test-token", std::string phone_number_id = "1099887766",
                        std::string version = "v21.0");
  ~FakeGraphApi();
  FakeGraphApi(const FakeGraphApi&) = delete;
  FakeGraphApi& operator=(const FakeGraphApi&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& phone_number_id() const { return phone_number_id_; }
  const std::string& access_token() const { return token_; }

  // The next `times` message sends (to `to` only, when given) fail so.
  void fail_next(Failure failure, int times = 1, const std::string& to = "");
  // Every send to `to` fails so until clear_failures().
  void fail_always(const std::string& to, Failure failure);
  void clear_failures();

  // The next `times` media lookups (GET /{version}/{media-id}) answer 500.
  void fail_media_lookups(int times);

  // Media the fake serves for downloads; returns its media id.
  std::string add_media(const std::string& bytes, const std::string& mime_type);
  // Bytes uploaded under `media_id` ("" if none), and their type.
  std::string uploaded(const std::string& media_id) const;
  std::string uploaded_type(const std::string& media_id) const;

  std::vector<GraphRequest> requests() const;
  // Accepted message sends (bodies), oldest first; mark-as-read excluded.
  std::vector<nlohmann::json> sent() const;
  // The message ids marked read.
  std::vector<std::string> marked_read() const;
  size_t sent_count() const;

  // From now on every accepted send gets a `sent` status webhook POSTed to
  // `host_url` + `hook_path` (e.g. "/hooks/channel-whatsapp-cloud/<profile>/webhook"),
  // signed with `app_secret`, retried until a 200. Calling it again retargets
  // the deliveries still pending (a host restarted on another port).
  void deliver_statuses(std::string host_url, std::string hook_path, std::string app_secret);
  // Each accepted send is answered only after `latency` (default 0): like
  // Meta, it has taken the message (recorded) before its answer reaches the
  // caller — a host killed meanwhile never hears it, and learns the wamid
  // only from the status webhook, which follows the answer.
  void set_send_latency(std::chrono::milliseconds latency);
  // Status webhooks the host answered 200 / deliveries still waiting for one.
  size_t statuses_delivered() const;
  size_t statuses_pending() const;

  // Templates of the WABA (default: hello_world and order_update, en_US,
  // APPROVED). A template send must name an APPROVED (name, language).
  struct Template {
    std::string name, language = "en_US", status = "APPROVED";
  };
  void add_template(const std::string& name, const std::string& language = "en_US",
                    const std::string& status = "APPROVED");
  void set_templates(std::vector<Template> templates);
  const std::string& waba_id() const { return waba_id_; }
  // The next `times` template listings answer 500.
  void fail_template_listings(int times);
  // At most this many templates per listing page (default 100).
  void set_template_page_size(int size);
  // Template listing requests received (answered or not).
  size_t template_listings() const;

 private:
  struct Programmed {
    Failure failure;
    int times;  // < 0: always
    std::string to;
  };

  void route();
  bool authorized(const httplib::Request& req, httplib::Response& res);
  void answer(const httplib::Request& req, httplib::Response& res, int status, const nlohmann::json& body);
  void on_messages(const httplib::Request& req, httplib::Response& res);
  void on_upload(const httplib::Request& req, httplib::Response& res);
  void on_templates(const httplib::Request& req, httplib::Response& res);
  // A failure programmed for a send to `to`, consumed.
  std::optional<Failure> take_failure(const std::string& to);
  void queue_status(const std::string& wamid, const std::string& recipient, const std::string& opaque);
  void deliver_loop();

  const std::string token_;
  const std::string phone_number_id_;
  const std::string version_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::vector<GraphRequest> requests_;
  std::vector<nlohmann::json> sent_;
  std::vector<std::string> read_;
  std::vector<Programmed> failures_;
  std::vector<Template> templates_{{"hello_world"}, {"order_update"}};
  const std::string waba_id_ = "2233445566";
  int template_failures_ = 0;
  int template_page_size_ = 100;
  std::chrono::milliseconds send_latency_{0};
  size_t template_listings_ = 0;
  struct Media {
    std::string bytes, mime_type;
  };
  std::map<std::string, Media> media_;
  uint64_t next_id_ = 1;
  bool token_expired_ = false;
  int media_failures_ = 0;  // set by an expired_token failure: later calls are refused too

  // Status webhooks (deliver_statuses).
  struct Delivery {
    std::string body;  // the notification, as POSTed
    std::chrono::steady_clock::time_point due;
    std::chrono::milliseconds backoff{100};
  };
  mutable std::mutex deliver_mu_;
  std::condition_variable deliver_cv_;
  bool delivering_ = false, deliver_stop_ = false;
  std::string deliver_url_, deliver_path_, deliver_secret_;
  std::vector<Delivery> deliveries_;
  size_t delivered_ = 0, in_flight_ = 0;
  std::thread deliver_thread_;
};

// Meta's X-Hub-Signature-256 for `body` ("sha256=<hex>"), computed here with
// OpenSSL, independently of the plugin's code.
std::string meta_signature(const std::string& app_secret, const std::string& body);

// POSTs `body` to `path` (e.g. "/hooks/channel-whatsapp-cloud/<profile>/webhook")
// as Meta does: JSON, signed with `app_secret` unless `signature` is given
// ("" sends no signature header).
httplib::Result post_signed_webhook(httplib::Client& client, const std::string& path, const std::string& body,
                                    const std::string& app_secret, const std::string* signature = nullptr);

// A notification envelope like Meta's for one change of `phone_number_id`,
// with `messages` (each gets "from"/"timestamp" if missing), the contact
// {profile.name, wa_id} of each sender, and `statuses`.
nlohmann::json cloud_notification(const std::string& phone_number_id, const nlohmann::json& messages,
                                  const nlohmann::json& statuses = nlohmann::json::array(),
                                  const std::string& sender_name = "Ana");

}  // namespace sb::test
