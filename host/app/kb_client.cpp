#include "app/kb_client.hpp"

#include "core/error.hpp"

#include <httplib.h>

#include <cctype>
#include <exception>

namespace sb::app {
namespace {

using nlohmann::json;

// Unreserved characters (RFC 3986) stay; every other byte is %XX.
std::string percent_encode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The SSE stream cut into events: "event: NAME\ndata: ...\n\n" (lines may
// end in \r\n; several data lines are joined with \n).
class EventStreamParser {
 public:
  using Handler = std::function<void(const std::string&, const json&)>;
  explicit EventStreamParser(Handler handler) : handler_(std::move(handler)) {}

  void feed(std::string_view bytes) {
    buffer_.append(bytes);
    size_t start = 0;
    for (size_t end; (end = buffer_.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = buffer_.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      take_line(line);
    }
    buffer_.erase(0, start);
  }

  // The stream ended: an event not closed by a blank line still counts.
  void finish() {
    if (!buffer_.empty()) take_line(buffer_);
    buffer_.clear();
    take_line("");
  }

 private:
  void take_line(const std::string& line) {
    if (line.empty()) {
      if (!data_.empty() || !event_.empty()) {
        json data = json::parse(data_, nullptr, false);
        if (data.is_discarded()) data = data_;
        handler_(event_.empty() ? "message" : event_, data);
      }
      event_.clear();
      data_.clear();
      return;
    }
    if (line[0] == ':') return;  // a comment (keep-alive)
    const size_t colon = line.find(':');
    const std::string field = line.substr(0, colon);
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    if (field == "event") {
      event_ = value;
    } else if (field == "data") {
      if (!data_.empty()) data_ += "\n";
      data_ += value;
    }
  }

  Handler handler_;
  std::string buffer_;
  std::string event_;
  std::string data_;
};

httplib::Headers auth_headers(const KbConnection& c) {
  httplib::Headers h{{"Accept", "application/json"}};
  if (!c.api_key.empty()) h.emplace("X-API-Key", c.api_key);
  return h;
}

}  // namespace

KbClient::KbClient(KbConnection connection) : connection_(std::move(connection)) {
  std::string url = connection_.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if ((scheme != "http" && scheme != "https") || url.size() == scheme_end + 3) {
    throw Error(ErrorCode::invalid_argument,
                "--url must be http://HOST[:PORT] or https://HOST[:PORT] (got \"" + connection_.url + "\")");
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  origin_ = url.substr(0, path_start);
  path_prefix_ = path_start == std::string::npos ? "" : url.substr(path_start);
  connection_.url = url;
  http_ = std::make_unique<httplib::Client>(origin_);
  if (!http_->is_valid()) {
    throw Error(ErrorCode::invalid_argument, "--url " + connection_.url + " is not a URL this client can use");
  }
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive(true);
  // Paths are percent-encoded here, segment by segment.
  http_->set_url_encode(false);
  http_->set_connection_timeout(5);
  // An upload is checked and parsed before the host answers, and an answer
  // waits for the provider: both may take a while.
  http_->set_read_timeout(300);
  http_->set_write_timeout(120);
}

KbClient::~KbClient() = default;

std::string KbClient::path_segment(std::string_view text) { return percent_encode(text); }

std::string KbClient::knowledge_bases_path(const std::string& suffix) const {
  return path_prefix_ + "/api/v1/workspaces/" + percent_encode(connection_.workspace) + "/knowledge-bases" + suffix;
}

void KbClient::fail_transport(const std::string& what_was_done, int error) const {
  const auto e = static_cast<httplib::Error>(error);
  std::string message;
  switch (e) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      message = "cannot reach the Switchboard host at " + connection_.url +
                (e == httplib::Error::Connection ? " (no connection)" : " (the connection timed out)") +
                ": is `switchboard serve` running? (set the address with --url or SWITCHBOARD_URL)";
      break;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      message = "cannot open a TLS connection to " + connection_.url + " (" + httplib::to_string(e) + ")";
      break;
    case httplib::Error::Read:
      message = "the host at " + connection_.url + " did not answer " + what_was_done +
                " (the connection was closed or timed out while reading)";
      break;
    default:
      message = "the request " + what_was_done + " to " + connection_.url + " failed (" + httplib::to_string(e) + ")";
  }
  throw KbApiError(message, 0);
}

void KbClient::fail_status(int status, const std::string& body) const {
  std::string code, message, field;
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
    const json& e = parsed["error"];
    code = e.value("code", "");
    message = e.value("message", "");
    if (e.contains("details") && e["details"].is_object()) field = e["details"].value("field", "");
  }
  if (status == 401) {
    const std::string why = message.empty() ? "" : " (" + message + ")";
    if (connection_.api_key.empty()) {
      throw KbApiError("the host needs an API key" + why +
                           ": pass --api-key KEY or set SWITCHBOARD_API_KEY (or ENGINE_API_KEY, the host's master key)",
                       status, code, field);
    }
    throw KbApiError("the host refused the API key" + why +
                         ": check --api-key, SWITCHBOARD_API_KEY or ENGINE_API_KEY (the host's master key)",
                     status, code, field);
  }
  if (status == 404 && field == "workspace_id") {
    throw KbApiError(message + " (choose the workspace with --workspace or SWITCHBOARD_WORKSPACE)", status, code,
                     field);
  }
  if (message.empty()) {
    // Not the API's error shape: a proxy, or not a Switchboard host at all.
    std::string excerpt = body.substr(0, 200);
    for (char& c : excerpt) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    message = "the host at " + connection_.url + " answered HTTP " + std::to_string(status) +
              (excerpt.empty() ? "" : ": " + excerpt);
    if (status == 404) message += " (is this a Switchboard host?)";
  }
  throw KbApiError(message, status, code, field);
}

json KbClient::parse_success(int status, const std::string& body) const {
  if (status < 200 || status > 299) fail_status(status, body);
  if (body.empty()) return nullptr;
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    throw KbApiError("the host at " + connection_.url + " answered HTTP " + std::to_string(status) +
                         " with a body that is not JSON (is this a Switchboard host?)",
                     status);
  }
  return parsed;
}

json KbClient::get(const std::string& path) {
  auto res = http_->Get(path.c_str(), auth_headers(connection_));
  if (!res) fail_transport("GET " + path, static_cast<int>(res.error()));
  return parse_success(res->status, res->body);
}

json KbClient::post(const std::string& path, const json& body) {
  auto res = http_->Post(path.c_str(), auth_headers(connection_), body.dump(), "application/json");
  if (!res) fail_transport("POST " + path, static_cast<int>(res.error()));
  return parse_success(res->status, res->body);
}

void KbClient::del(const std::string& path) {
  auto res = http_->Delete(path.c_str(), auth_headers(connection_));
  if (!res) fail_transport("DELETE " + path, static_cast<int>(res.error()));
  parse_success(res->status, res->body);
}

json KbClient::post_form(const std::string& path, const std::vector<KbUploadFile>& files,
                         const std::vector<std::pair<std::string, std::string>>& fields) {
  httplib::MultipartFormDataItems items;
  for (const auto& f : files) items.push_back({"file", f.bytes, f.name, f.content_type});
  for (const auto& [name, value] : fields) items.push_back({name, value, "", ""});
  auto res = http_->Post(path.c_str(), auth_headers(connection_), items);
  if (!res) fail_transport("POST " + path, static_cast<int>(res.error()));
  return parse_success(res->status, res->body);
}

void KbClient::post_events(const std::string& path, const json& body,
                           const std::function<void(const std::string&, const json&)>& on_event) {
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.headers = auth_headers(connection_);
  req.headers.erase("Accept");
  req.headers.emplace("Accept", "text/event-stream");
  req.headers.emplace("Content-Type", "application/json");
  req.body = body.dump();
  int status = 0;
  std::string error_body;  // a non-2xx answer is read whole, then reported
  EventStreamParser parser(on_event);
  // A handler's exception must not unwind through httplib: it is kept and
  // rethrown once the request has been abandoned.
  std::exception_ptr handler_error;
  req.response_handler = [&](const httplib::Response& response) {
    status = response.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    if (status < 200 || status > 299) {
      error_body.append(data, len);
      return true;
    }
    try {
      parser.feed(std::string_view(data, len));
      return true;
    } catch (...) {
      handler_error = std::current_exception();
      return false;
    }
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = http_->send(req, res, err);
  if (handler_error) std::rethrow_exception(handler_error);
  if (!sent) fail_transport("POST " + path, static_cast<int>(err));
  if (res.status < 200 || res.status > 299) fail_status(res.status, error_body.empty() ? res.body : error_body);
  parser.finish();
}

}  // namespace sb::app
