#include "openai_client.hpp"

#include "sse_parser.hpp"

#include <algorithm>
#include <thread>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

// The host's client refuses longer per-request timeouts.
constexpr int64_t kHostMaxTimeoutMs = 300000;

json parse_or_null(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json(nullptr) : j;
}

bool is_success(int status) { return status >= 200 && status < 300; }

std::string attempts_note(int attempts) {
  return attempts > 1 ? " (gave up after " + std::to_string(attempts) + " attempts)" : std::string();
}

}  // namespace

OpenAiClient::OpenAiClient(switchboard::Host host, ProviderConfig config, std::string api_key)
    : host_(host), config_(std::move(config)), api_key_(std::move(api_key)), server_("the server at " + config_.base_url) {}

json OpenAiClient::http_request(std::string_view path, const json& body, int64_t timeout_ms, bool stream) const {
  const std::string token = api_key_.empty() ? std::string(kNoKeyToken) : api_key_;
  return {{"method", "POST"},
          {"url", config_.endpoint(path)},
          {"headers",
           {{"Authorization", "Bearer " + token},
            {"Content-Type", "application/json"},
            {"Accept", stream ? "text/event-stream" : "application/json"}}},
          {"body", body.dump(-1, ' ', false, json::error_handler_t::replace)},
          {"timeout_ms", std::clamp<int64_t>(timeout_ms, 1, kHostMaxTimeoutMs)}};
}

Failure OpenAiClient::no_answer(sb_status host_status, int64_t elapsed_ms, int64_t timeout_ms, bool had_head) const {
  Failure f;
  if (host_status == SB_ERR_INVALID_ARGUMENT) {
    f.status = SB_ERR_INVALID_ARGUMENT;
    f.message = "the host could not send a request to " + config_.base_url + " (is base_url a valid http(s) URL?)";
    return f;
  }
  // The host reports a read that failed as a timeout, whether the wait ran
  // out or the server closed the connection early: only the clock tells.
  const bool waited_it_out = host_status == SB_ERR_TIMEOUT && elapsed_ms * 10 >= timeout_ms * 9;
  if (waited_it_out) {
    f.status = SB_ERR_TIMEOUT;
    f.message = server_ + (had_head ? " stopped sending its answer" : " did not answer") + " within " +
                std::to_string(timeout_ms) + " ms";
    return f;
  }
  f.status = SB_ERR_UNAVAILABLE;
  f.retryable = true;
  f.message = had_head ? server_ + " broke off its answer before it was complete"
                       : "could not reach " + server_;
  return f;
}

void OpenAiClient::with_retries(const Deadline& deadline, std::string_view what, const Attempt& attempt) const {
  const int max_attempts = static_cast<int>(config_.max_retries) + 1;
  for (int tries = 1;; ++tries) {
    const int64_t timeout_ms = deadline.remaining_ms();
    if (timeout_ms <= 0) {
      throw Error(SB_ERR_TIMEOUT, "no answer from " + server_ + " within the " +
                                      std::to_string(deadline.budget().count()) + " ms limit");
    }
    std::optional<Failure> failure = attempt(timeout_ms);
    if (!failure) return;
    const std::string message = redacted(failure->message);
    if (!failure->retryable || tries >= max_attempts) throw Error(failure->status, message + attempts_note(tries));
    const Millis wait = failure->retry_after ? *failure->retry_after : backoff_delay(tries - 1);
    // A retry needs time for the wait and for the answer after it.
    if (wait.count() >= deadline.remaining_ms()) {
      throw Error(failure->status, message + " (no time left to retry within the " +
                                       std::to_string(deadline.budget().count()) + " ms limit)");
    }
    host_.warn(std::string(what) + ": " + message + "; retrying in " + std::to_string(wait.count()) + " ms (attempt " +
               std::to_string(tries + 1) + " of " + std::to_string(max_attempts) + ")");
    std::this_thread::sleep_for(wait);
  }
}

std::string OpenAiClient::post(std::string_view path, const json& body, const Deadline& deadline,
                               std::string_view what) const {
  std::string answer;
  with_retries(deadline, what, [&](int64_t timeout_ms) -> std::optional<Failure> {
    const auto started = Clock::now();
    json response;
    try {
      response = parse_or_null(host_.http(http_request(path, body, timeout_ms, false).dump()));
    } catch (const Error& e) {
      const auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - started).count();
      return no_answer(e.status(), elapsed, timeout_ms, false);
    }
    if (!response.is_object() || !response.contains("status") || !response["status"].is_number_integer()) {
      return Failure{SB_ERR_INTERNAL, "the host's HTTP client answered something unexpected", false, std::nullopt};
    }
    const int status = response["status"].get<int>();
    const std::string text = response.value("body", std::string());
    if (!is_success(status)) {
      return failure_for_response(status, text, response.value("headers", json::object()), server_);
    }
    answer = text;
    return std::nullopt;
  });
  return answer;
}

OpenAiClient::StreamEnd OpenAiClient::post_stream(std::string_view path, const json& body, const Deadline& deadline,
                                                  std::string_view what,
                                                  const std::function<void(std::string_view)>& on_event) const {
  StreamEnd end;
  with_retries(deadline, what, [&](int64_t timeout_ms) -> std::optional<Failure> {
    // Everything the callbacks learn; they must not throw through the host.
    int status = 0;
    bool head_seen = false, event_stream = false, done = false, delivered = false, out_of_time = false;
    json headers = json::object();
    std::string plain;  // an error body, or a 2xx answer that is not an event stream
    std::optional<Error> event_error;
    SseParser parser([&](std::string_view data) {
      if (done || event_error) return;
      if (data == "[DONE]") {
        done = true;
        return;
      }
      delivered = true;
      try {
        on_event(data);
      } catch (const Error& e) {
        event_error = e;
      } catch (const std::exception& e) {
        event_error = Error(SB_ERR_INTERNAL, e.what());
      }
    });
    auto on_head = [&](std::string_view text) {
      const json head = parse_or_null(text);
      head_seen = true;
      if (!head.is_object()) return;  // status 0: answered as a failure below
      if (auto it = head.find("status"); it != head.end() && it->is_number_integer()) status = it->get<int>();
      if (auto it = head.find("headers"); it != head.end() && it->is_object()) headers = *it;
      const std::string type = header_value(headers, "content-type").value_or("");
      event_stream = is_success(status) && type.find("text/event-stream") != std::string::npos;
    };
    auto on_body = [&](std::string_view piece) {
      if (done || event_error || out_of_time) return;
      // Past the deadline nothing more is passed on (the host also cuts
      // the stream off then).
      if (deadline.passed()) {
        out_of_time = true;
        return;
      }
      if (event_stream) {
        parser.feed(piece);
      } else {
        plain.append(piece);
      }
    };

    const auto started = Clock::now();
    std::optional<sb_status> broke;
    try {
      // The host cuts the whole stream off at the deadline (ABI 1.2's
      // total_timeout_ms); timeout_ms bounds each wait for more.
      json request = http_request(path, body, timeout_ms, true);
      request["total_timeout_ms"] = std::clamp<int64_t>(timeout_ms, 1, kHostMaxTimeoutMs);
      host_.http_stream(request.dump(), on_head, on_body);
    } catch (const Error& e) {
      broke = e.status();
    }
    const auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - started).count();

    if (event_error) throw *event_error;
    if (out_of_time) {
      return Failure{SB_ERR_TIMEOUT,
                     server_ + " did not finish its answer within the " + std::to_string(deadline.budget().count()) +
                         " ms limit",
                     false, std::nullopt};
    }
    if (head_seen && !is_success(status)) return failure_for_response(status, plain, headers, server_);
    if (broke && !done) {
      Failure f = no_answer(*broke, elapsed, timeout_ms, head_seen);
      if (head_seen && f.status == SB_ERR_UNAVAILABLE) f.message = server_ + " broke off its answer stream before [DONE]";
      f.retryable = f.retryable && !delivered;
      return f;
    }
    if (!event_stream) {
      end = StreamEnd{false, std::move(plain)};
      return std::nullopt;
    }
    if (!done) {
      parser.finish();
      if (event_error) throw *event_error;
    }
    if (!done) {
      return Failure{SB_ERR_UNAVAILABLE, server_ + " ended its answer stream without [DONE]", !delivered, std::nullopt};
    }
    end = StreamEnd{true, {}};
    return std::nullopt;
  });
  return end;
}

}  // namespace openai
