#pragma once
// The ai-openai plugin's instance: sb_ai_api's embed, chat, chat_stream and
// classify answered by an OpenAI-compatible server (see README.md).
//
// Each call has a deadline: the request's "timeout_ms", else the config's;
// the whole call, retries included, ends by then (SB_ERR_TIMEOUT past it).
// The API key is read once, at create, through Host::secret("api_key"); no
// message that leaves the instance (errors, log lines) contains it.
//
// Immutable after construction; calls may run on several host threads at
// once and share nothing but the immutable client.
#include "openai_client.hpp"

#include <nlohmann/json.hpp>
#include <switchboard/plugin.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace openai {

class OpenAiProvider : public switchboard::Ai {
 public:
  OpenAiProvider(switchboard::Host host, std::string_view config_json);

  std::string embed(std::string_view request_json) override;
  std::string chat(std::string_view request_json) override;
  std::string chat_stream(std::string_view request_json,
                          const std::function<void(std::string_view)>& delta) override;
  std::string classify(std::string_view request_json) override;

 private:
  Deadline deadline_for(const nlohmann::json& request) const;
  // Runs `fn`, rethrowing any failure with the API key taken out of its message.
  template <class Fn>
  std::string without_key(Fn&& fn) const;

  OpenAiClient client_;
};

}  // namespace openai
