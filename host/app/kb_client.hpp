#pragma once
// The HTTP side of `switchboard kb ...`: calls a running host's
// /api/v1/workspaces/<ws>/knowledge-bases routes with the caller's API key,
// and turns every failure into one message a person at a terminal
// understands (the host is not running, the key is refused, the workspace
// does not exist, or the server's own error message).
//
// Threads: a KbClient is used by one thread (the command's).
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace httplib {
class Client;
}

namespace sb::app {

// Where the host is and who is asking.
struct KbConnection {
  std::string url;        // "http://127.0.0.1:8080", maybe with a path prefix ("https://x/switchboard")
  std::string api_key;    // sent as X-API-Key; empty: none is sent
  std::string workspace;  // workspace id
};

// A call that did not succeed. `what()` is the message to print; `status`
// is the HTTP status (0 when the host was not reached) and `code` the
// error code of the API's error shape ({"error": {"code", "message"}}),
// "" when there was none. `field` is the error's details.field, if any.
class KbApiError : public std::runtime_error {
 public:
  KbApiError(const std::string& message, int status, std::string code = {}, std::string field = {})
      : std::runtime_error(message), status_(status), code_(std::move(code)), field_(std::move(field)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }

 private:
  int status_;
  std::string code_;
  std::string field_;
};

// One file part of a multipart/form-data upload.
struct KbUploadFile {
  std::string name;          // the file name sent with the part
  std::string content_type;  // e.g. "text/markdown"
  std::string bytes;
};

class KbClient {
 public:
  // Throws sb::Error(invalid_argument) for a URL that is not http(s)://host[:port][/prefix].
  explicit KbClient(KbConnection connection);
  ~KbClient();
  KbClient(const KbClient&) = delete;
  KbClient& operator=(const KbClient&) = delete;

  const KbConnection& connection() const { return connection_; }

  // "/api/v1/workspaces/<ws>/knowledge-bases" + `suffix`, with the
  // workspace percent-encoded; `suffix` is taken as it is (encode its
  // parts with path_segment()).
  std::string knowledge_bases_path(const std::string& suffix = "") const;
  // One path segment, percent-encoded ("my base" -> "my%20base").
  static std::string path_segment(std::string_view text);

  // JSON in and out. A 2xx answer returns its body (null when empty);
  // anything else throws KbApiError.
  nlohmann::json get(const std::string& path);
  nlohmann::json post(const std::string& path, const nlohmann::json& body);
  void del(const std::string& path);
  // multipart/form-data: each file as a part "file", plus the text parts
  // in `fields` (name, value).
  nlohmann::json post_form(const std::string& path, const std::vector<KbUploadFile>& files,
                           const std::vector<std::pair<std::string, std::string>>& fields);
  // POST `body` and read the answer as Server-Sent Events, calling
  // `on_event(name, data)` for each as it arrives (data parsed as JSON; an
  // event whose data is not JSON arrives as a JSON string). A non-2xx
  // answer throws KbApiError, as above.
  void post_events(const std::string& path, const nlohmann::json& body,
                   const std::function<void(const std::string& event, const nlohmann::json& data)>& on_event);

 private:
  // Throws KbApiError for a transport failure or a non-2xx status.
  [[noreturn]] void fail_transport(const std::string& what_was_done, int error) const;
  [[noreturn]] void fail_status(int status, const std::string& body) const;
  nlohmann::json parse_success(int status, const std::string& body) const;

  KbConnection connection_;
  std::string origin_;       // scheme://host[:port]
  std::string path_prefix_;  // "" or "/prefix"
  std::unique_ptr<httplib::Client> http_;
};

}  // namespace sb::app
