#pragma once
// Chat completions in both directions: the host's chat request (plugin.h,
// sb_ai_api.chat) turned into a /v1/chat/completions body, and the server's
// answer — one JSON document, or a stream of chat.completion.chunk events —
// turned into the host's result with its citations.
#include "provider_config.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace openai {

// The request body: "messages" as the host gave them (the host already wrote
// the numbered context into the system message), the chat model, and
// "temperature" / "max_tokens" from the request or else the config. A
// streamed one adds "stream": true and "stream_options":
// {"include_usage": true}. Throws switchboard::Error(SB_ERR_INVALID_ARGUMENT)
// for messages that are not [{"role", "content"}, ...].
nlohmann::json chat_request_body(const nlohmann::json& request, const ProviderConfig& config, bool stream);

struct ChatAnswer {
  std::string text;
  std::string model;          // as the server named it ("" if it did not)
  std::string finish_reason;  // "stop", "length", ... ("" if not given)
  nlohmann::json usage = nlohmann::json::object();
};

// A non-streamed answer; throws switchboard::Error(SB_ERR_PERMANENT) when
// `body` is not a chat completion. `server` names the server for messages.
ChatAnswer parse_chat_completion(std::string_view body, std::string_view server);

// Collects a streamed answer chunk by chunk, handing each piece of content
// to `on_piece` as it comes. Used on the one thread that reads the stream.
class ChatStream {
 public:
  ChatStream(std::string server, std::function<void(std::string_view)> on_piece)
      : server_(std::move(server)), on_piece_(std::move(on_piece)) {}

  // One event's data (a chat.completion.chunk). Throws switchboard::Error:
  // SB_ERR_PERMANENT for data that is not a chunk, SB_ERR_UNAVAILABLE for an
  // error the server reports in the middle of the stream.
  void add(std::string_view data);
  const ChatAnswer& answer() const { return answer_; }

 private:
  std::string server_;
  std::function<void(std::string_view)> on_piece_;
  ChatAnswer answer_;
};

// The context ids cited by [n] markers in `text` ([1], [2, 3], [1][4]): the
// id of context[n-1], each once, in order of first mention; markers outside
// the context are ignored. A numeric id is given as its decimal text.
std::vector<std::string> cited_ids(std::string_view text, const nlohmann::json& context);

// The host's chat result: {"text","citations","model","finish_reason","usage"}.
nlohmann::json chat_result(const ChatAnswer& answer, const nlohmann::json& request, const ProviderConfig& config);

}  // namespace openai
