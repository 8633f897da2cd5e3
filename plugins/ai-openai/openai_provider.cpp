#include "openai_provider.hpp"

#include "chat_completion.hpp"
#include "classification.hpp"
#include "embeddings.hpp"

#include <algorithm>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

json parse_request(std::string_view text, std::string_view what) {
  json request = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) throw Error(SB_ERR_INVALID_ARGUMENT, "the " + std::string(what) + " request must be a JSON object");
  return request;
}

std::string dump(const json& result) { return result.dump(-1, ' ', false, json::error_handler_t::replace); }

ProviderConfig config_from(std::string_view config_json) { return ProviderConfig::parse(config_json); }

}  // namespace

OpenAiProvider::OpenAiProvider(switchboard::Host host, std::string_view config_json)
    : Ai(host), client_(host, config_from(config_json), host.secret("api_key").value_or("")) {}

Deadline OpenAiProvider::deadline_for(const json& request) const {
  int64_t budget = client_.config().timeout_ms;
  if (auto it = request.find("timeout_ms"); it != request.end() && it->is_number() && it->get<double>() >= 1) {
    budget = static_cast<int64_t>(it->get<double>());
  }
  return Deadline(Millis(budget));
}

template <class Fn>
std::string OpenAiProvider::without_key(Fn&& fn) const {
  try {
    return fn();
  } catch (const Error& e) {
    throw Error(e.status(), client_.redacted(e.what()));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(SB_ERR_INTERNAL, client_.redacted(e.what()));
  }
}

std::string OpenAiProvider::embed(std::string_view request_json) {
  return without_key([&] {
    const json request = parse_request(request_json, "embed");
    const Deadline deadline = deadline_for(request);
    const std::vector<std::string> texts = texts_of(request);
    const auto encoding = request.find("encoding");
    const bool base64 = encoding != request.end() && encoding->is_string() && *encoding == "base64";
    const ProviderConfig& config = client_.config();
    const size_t batch = static_cast<size_t>(config.embedding_batch);

    std::vector<Vector> vectors;
    vectors.reserve(texts.size());
    for (size_t first = 0; first < texts.size(); first += batch) {
      const size_t count = std::min(batch, texts.size() - first);
      const std::string answer =
          client_.post("embeddings", embeddings_request_body(texts, first, count, config), deadline, "embed");
      for (auto& v : parse_embeddings(answer, count, client_.server())) {
        if (!vectors.empty() && v.size() != vectors.front().size()) {
          throw Error(SB_ERR_PERMANENT, client_.server() + " answered embeddings of different dimensions (" +
                                            std::to_string(vectors.front().size()) + " and " +
                                            std::to_string(v.size()) + ")");
        }
        vectors.push_back(std::move(v));
      }
    }
    const size_t dimension = vectors.empty() ? static_cast<size_t>(config.embedding_dimensions) : vectors.front().size();
    if (config.embedding_dimensions > 0 && dimension != static_cast<size_t>(config.embedding_dimensions)) {
      throw Error(SB_ERR_PERMANENT, client_.server() + " answered embeddings of dimension " + std::to_string(dimension) +
                                        " although embedding_dimensions is " +
                                        std::to_string(config.embedding_dimensions) +
                                        " (does the model support shortened embeddings?)");
    }
    return dump(embed_result(embedding_model_name(config), dimension, vectors, base64));
  });
}

std::string OpenAiProvider::chat(std::string_view request_json) {
  return without_key([&] {
    const json request = parse_request(request_json, "chat");
    const Deadline deadline = deadline_for(request);
    const json body = chat_request_body(request, client_.config(), /*stream=*/false);
    const ChatAnswer answer =
        parse_chat_completion(client_.post("chat/completions", body, deadline, "chat"), client_.server());
    return dump(chat_result(answer, request, client_.config()));
  });
}

std::string OpenAiProvider::chat_stream(std::string_view request_json,
                                        const std::function<void(std::string_view)>& delta) {
  return without_key([&] {
    const json request = parse_request(request_json, "chat");
    const Deadline deadline = deadline_for(request);
    const json body = chat_request_body(request, client_.config(), /*stream=*/true);
    ChatStream stream(client_.server(), delta);
    const auto end = client_.post_stream("chat/completions", body, deadline, "chat_stream",
                                         [&](std::string_view data) { stream.add(data); });
    if (!end.event_stream) {
      // A server that ignores "stream" answers one completion: pass it on whole.
      const ChatAnswer answer = parse_chat_completion(end.body, client_.server());
      if (!answer.text.empty()) delta(answer.text);
      return dump(chat_result(answer, request, client_.config()));
    }
    return dump(chat_result(stream.answer(), request, client_.config()));
  });
}

std::string OpenAiProvider::classify(std::string_view request_json) {
  return without_key([&] {
    const json request = parse_request(request_json, "classify");
    const Deadline deadline = deadline_for(request);
    auto text = request.find("text");
    if (text == request.end() || !text->is_string()) {
      throw Error(SB_ERR_INVALID_ARGUMENT, "the classify request needs \"text\"");
    }
    const std::vector<Label> labels = labels_of(request);
    const json chat_request = {{"messages", classification_messages(text->get<std::string>(), labels)},
                               {"temperature", 0}};
    const json body = chat_request_body(chat_request, client_.config(), /*stream=*/false);
    const ChatAnswer answer =
        parse_chat_completion(client_.post("chat/completions", body, deadline, "classify"), client_.server());
    return dump(classification_result(match_label(answer.text, labels), labels, answer.text));
  });
}

}  // namespace openai

SWITCHBOARD_AI_PLUGIN(openai::OpenAiProvider, "ai-openai", "1.0.0")
