#include "chat_completion.hpp"

#include "api_error.hpp"

#include <switchboard/plugin.hpp>

#include <cctype>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void invalid(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

std::string string_or_empty(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

[[noreturn]] void not_a_completion(std::string_view server, std::string_view what, std::string_view body) {
  const std::string start(body.substr(0, 120));
  throw Error(SB_ERR_PERMANENT, std::string(server) + " answered something that is not a " + std::string(what) +
                                    (start.empty() ? std::string(" (an empty body)") : ": " + start));
}

}  // namespace

json chat_request_body(const json& request, const ProviderConfig& config, bool stream) {
  if (!request.is_object()) invalid("the chat request must be a JSON object");
  auto messages = request.find("messages");
  if (messages == request.end() || !messages->is_array() || messages->empty()) {
    invalid("the chat request needs \"messages\": [{\"role\", \"content\"}, ...]");
  }
  for (const auto& m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      invalid("each chat message needs a \"role\" and a \"content\" string");
    }
  }
  json body = {{"model", config.chat_model}, {"messages", *messages}, {"temperature", config.temperature},
               {"max_tokens", config.max_tokens}};
  if (auto t = request.find("temperature"); t != request.end() && !t->is_null()) {
    if (!t->is_number() || t->get<double>() < 0 || t->get<double>() > 2) invalid("temperature must be a number from 0 to 2");
    body["temperature"] = *t;
  }
  if (auto n = request.find("max_tokens"); n != request.end() && !n->is_null()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 1) invalid("max_tokens must be a positive integer");
    body["max_tokens"] = *n;
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return body;
}

ChatAnswer parse_chat_completion(std::string_view body, std::string_view server) {
  const json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) not_a_completion(server, "chat completion", body);
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    not_a_completion(server, "chat completion", body);
  }
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) not_a_completion(server, "chat completion", body);
  auto content = message->find("content");
  // null content is a model that answered with a tool call or a refusal: no text.
  if (content != message->end() && !content->is_string() && !content->is_null()) {
    not_a_completion(server, "chat completion", body);
  }
  ChatAnswer answer;
  if (content != message->end() && content->is_string()) answer.text = content->get<std::string>();
  answer.model = string_or_empty(doc, "model");
  answer.finish_reason = string_or_empty(choice, "finish_reason");
  if (auto usage = doc.find("usage"); usage != doc.end() && usage->is_object()) answer.usage = *usage;
  return answer;
}

void ChatStream::add(std::string_view data) {
  const json chunk = json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (!chunk.is_object()) not_a_completion(server_, "chat completion chunk", data);
  if (auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
    const ServerError e = parse_error_body(std::string(data));
    throw Error(SB_ERR_UNAVAILABLE, server_ + " reported an error in the middle of its answer: " + e.message);
  }
  auto choices = chunk.find("choices");
  // The usage chunk has empty choices; any other chunk needs the array.
  if (choices != chunk.end() && !choices->is_array()) not_a_completion(server_, "chat completion chunk", data);
  if (auto model = chunk.find("model"); model != chunk.end() && model->is_string() && answer_.model.empty()) {
    answer_.model = model->get<std::string>();
  }
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) answer_.usage = *usage;
  if (choices == chunk.end()) return;
  for (const auto& choice : *choices) {
    if (!choice.is_object()) not_a_completion(server_, "chat completion chunk", data);
    // Only one answer is asked for: other choices would be another answer.
    if (auto index = choice.find("index"); index != choice.end() && index->is_number_integer() && *index != 0) continue;
    if (auto reason = choice.find("finish_reason"); reason != choice.end() && reason->is_string()) {
      answer_.finish_reason = reason->get<std::string>();
    }
    auto delta = choice.find("delta");
    if (delta == choice.end() || !delta->is_object()) continue;
    auto content = delta->find("content");
    if (content == delta->end() || !content->is_string()) continue;
    const auto& piece = content->get_ref<const std::string&>();
    if (piece.empty()) continue;
    answer_.text += piece;
    on_piece_(piece);
  }
}

std::vector<std::string> cited_ids(std::string_view text, const json& context) {
  std::vector<std::string> ids;
  if (!context.is_array()) return ids;
  auto cite = [&](size_t n) {
    if (n < 1 || n > context.size()) return;
    const json& passage = context[n - 1];
    if (!passage.is_object() || !passage.contains("id")) return;
    const json& id = passage["id"];
    std::string text_id = id.is_string() ? id.get<std::string>() : id.is_number() ? id.dump() : std::string();
    if (text_id.empty()) return;
    for (const auto& seen : ids)
      if (seen == text_id) return;
    ids.push_back(std::move(text_id));
  };
  // A marker is "[" digits ("," digits)* "]", with spaces allowed around commas.
  for (size_t open = text.find('['); open != std::string_view::npos; open = text.find('[', open + 1)) {
    std::vector<size_t> numbers;
    size_t i = open + 1;
    bool ok = false;
    while (i < text.size()) {
      while (i < text.size() && text[i] == ' ') ++i;
      size_t n = 0, digits = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 6) {
        n = n * 10 + static_cast<size_t>(text[i] - '0');
        ++i;
        ++digits;
      }
      if (digits == 0) break;
      numbers.push_back(n);
      while (i < text.size() && text[i] == ' ') ++i;
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      ok = i < text.size() && text[i] == ']';
      break;
    }
    if (ok)
      for (size_t n : numbers) cite(n);
  }
  return ids;
}

json chat_result(const ChatAnswer& answer, const json& request, const ProviderConfig& config) {
  const json context = request.is_object() && request.contains("context") ? request["context"] : json::array();
  return {{"text", answer.text},
          {"citations", cited_ids(answer.text, context)},
          {"model", "ai-openai/" + (answer.model.empty() ? config.chat_model : answer.model)},
          {"finish_reason", answer.finish_reason},
          {"usage", answer.usage}};
}

}  // namespace openai
