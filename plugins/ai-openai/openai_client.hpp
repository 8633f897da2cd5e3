#pragma once
// The HTTP side of ai-openai: JSON POSTs to <base_url>/v1/... through the
// host's HTTP client (sb_host_api.http_request / http_stream; the plugin
// opens no socket of its own), with the API key as a Bearer token, retries
// and the call's deadline.
//
// Retries: a 429, a 408 or 5xx, a failed connection or one that broke off
// is tried again up to max_retries times, after the server's Retry-After
// when it sent one, else after an exponential backoff with jitter
// (retry_policy.hpp). Every attempt gets the time left until the deadline
// as its timeout, and no wait goes past the deadline: a call that cannot be
// retried in time fails at once with its last error. A stream is retried
// only while none of its events has been handed on.
//
// Errors are thrown as switchboard::Error with the ABI status of
// api_error.hpp, SB_ERR_TIMEOUT when the deadline passed; messages name the
// server and never contain the API key.
//
// Immutable after construction: thread-safe.
#include "api_error.hpp"
#include "provider_config.hpp"
#include "retry_policy.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace openai {

// The Bearer token sent when no API key is configured: Ollama wants an
// Authorization header although it ignores the key, and servers without
// keys (llama.cpp, vLLM) ignore it. llama.cpp's own examples use this value.
inline constexpr std::string_view kNoKeyToken = "sk-no-key-required";

class OpenAiClient {
 public:
  OpenAiClient(switchboard::Host host, ProviderConfig config, std::string api_key);

  // POSTs `body` to /v1/<path> and returns the body of the 2xx answer.
  // `what` names the operation in log lines ("chat", "embed").
  std::string post(std::string_view path, const nlohmann::json& body, const Deadline& deadline,
                   std::string_view what) const;

  // What a streamed POST produced besides its events.
  struct StreamEnd {
    bool event_stream = true;  // false: the server answered 2xx with a plain body instead
    std::string body;          // that plain body
  };
  // POSTs `body` to /v1/<path> and reads the answer as Server-Sent Events,
  // handing the data of each event to `on_event` as it arrives, until
  // "data: [DONE]". An exception thrown by on_event (a malformed chunk)
  // ends the call with that error, without a retry. A stream that ends or
  // breaks off before [DONE] fails with SB_ERR_UNAVAILABLE.
  StreamEnd post_stream(std::string_view path, const nlohmann::json& body, const Deadline& deadline,
                        std::string_view what, const std::function<void(std::string_view)>& on_event) const;

  const ProviderConfig& config() const { return config_; }
  // "the server at <base_url>", for messages.
  const std::string& server() const { return server_; }
  // `message` without the API key in it.
  std::string redacted(std::string message) const { return redact(std::move(message), api_key_); }

 private:
  // One try with `timeout_ms`: nullopt when it succeeded.
  using Attempt = std::function<std::optional<Failure>(int64_t timeout_ms)>;
  void with_retries(const Deadline& deadline, std::string_view what, const Attempt& attempt) const;

  nlohmann::json http_request(std::string_view path, const nlohmann::json& body, int64_t timeout_ms,
                              bool stream) const;
  // The failure when the host got no (complete) answer: `host_status` as
  // the host reported it, after `elapsed_ms` of an attempt allowed
  // `timeout_ms`.
  Failure no_answer(sb_status host_status, int64_t elapsed_ms, int64_t timeout_ms, bool had_head) const;

  switchboard::Host host_;
  ProviderConfig config_;
  std::string api_key_;
  std::string server_;
};

}  // namespace openai
