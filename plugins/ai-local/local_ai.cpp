#include "local_ai.hpp"

#include "base64.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace ai_local {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void invalid(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

json parse_object(std::string_view text, std::string_view what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) invalid("the " + std::string(what) + " is not valid JSON");
  if (!doc.is_object()) invalid("the " + std::string(what) + " must be a JSON object, not " + doc.type_name());
  return doc;
}

// The string member `key` of `object`, "" when absent or null.
std::string optional_string(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) invalid(where + "\"" + key + "\" must be a string, not " + it->type_name());
  return it->get<std::string>();
}

// ---- embed ----

enum class VectorEncoding { floats, base64 };

VectorEncoding parse_encoding(const json& request) {
  const std::string encoding = optional_string(request, "encoding", "");
  if (encoding.empty() || encoding == "float") return VectorEncoding::floats;
  if (encoding == "base64") return VectorEncoding::base64;
  invalid("\"encoding\" must be \"float\" or \"base64\", not \"" + encoding + "\"");
}

void append_float(float value, std::string& out) {
  char buf[32];
  // Shortest text that reads back as the same float: the float and base64
  // encodings carry exactly the same values.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) throw std::runtime_error("cannot format a vector component");
  out.append(buf, end);
}

void append_vector_base64(const std::vector<float>& vector, std::string& out) {
  std::vector<unsigned char> bytes(vector.size() * 4);
  for (std::size_t i = 0; i < vector.size(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, &vector[i], sizeof bits);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<unsigned char>(bits >> (8 * b));  // little-endian
  }
  out.push_back('"');
  append_base64(bytes.data(), bytes.size(), out);
  out.push_back('"');
}

// ---- chat ----

// The text of a message's "content": a string, or OpenAI-style parts
// [{"type": "text", "text": "..."}] joined by spaces.
std::string message_text(const json& content, const std::string& where) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {
    std::string text;
    for (const json& part : content) {
      if (!part.is_object() || !part.contains("text") || !part["text"].is_string()) continue;
      if (!text.empty()) text.push_back(' ');
      text += part["text"].get<std::string>();
    }
    return text;
  }
  invalid(where + "\"content\" must be a string, not " + content.type_name());
}

// The question: the content of the last "user" message.
std::string question_of(const json& request) {
  const auto messages = request.find("messages");
  if (messages == request.end() || !messages->is_array()) {
    invalid("\"messages\" must be an array of {\"role\", \"content\"} holding at least one user message");
  }
  for (std::size_t i = messages->size(); i-- > 0;) {
    const json& m = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]: ";
    if (!m.is_object()) invalid(where + "a message must be an object, not " + m.type_name());
    if (optional_string(m, "role", where) != "user") continue;
    if (!m.contains("content")) invalid(where + "the user message has no \"content\"");
    return message_text(m["content"], where);
  }
  invalid("\"messages\" holds no user message to answer");
}

struct Context {
  std::vector<PassageText> passages;
  std::vector<json> ids;  // each passage's "id", as given
};

Context context_of(const json& request) {
  Context context;
  const auto it = request.find("context");
  if (it == request.end() || it->is_null()) return context;
  if (!it->is_array()) invalid("\"context\" must be an array of passages, not " + std::string(it->type_name()));
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& passage = (*it)[i];
    const std::string where = "context[" + std::to_string(i) + "]: ";
    if (!passage.is_object()) invalid(where + "a passage must be an object, not " + passage.type_name());
    const auto id = passage.find("id");
    if (id == passage.end() || !(id->is_string() || id->is_number_integer())) {
      invalid(where + "a passage needs an \"id\" (a string or an integer) to be cited by");
    }
    context.ids.push_back(*id);
    context.passages.push_back(PassageText{optional_string(passage, "title", where),
                                           optional_string(passage, "text", where)});
  }
  return context;
}

// ---- classify ----

std::vector<LabelDefinition> labels_of(const json& request) {
  const auto it = request.find("labels");
  if (it == request.end() || !it->is_array() || it->empty()) {
    invalid("\"labels\" must be a non-empty array of labels (strings or {\"label\", \"description\", \"examples\"})");
  }
  std::vector<LabelDefinition> labels;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& item = (*it)[i];
    const std::string where = "labels[" + std::to_string(i) + "]: ";
    LabelDefinition label;
    if (item.is_string()) {
      label.label = item.get<std::string>();
    } else if (item.is_object()) {
      label.label = optional_string(item, "label", where);
      label.description = optional_string(item, "description", where);
      const auto examples = item.find("examples");
      if (examples != item.end() && !examples->is_null()) {
        if (!examples->is_array()) invalid(where + "\"examples\" must be an array of strings");
        for (const json& example : *examples) {
          if (!example.is_string()) invalid(where + "\"examples\" must be an array of strings, not hold a " +
                                            example.type_name());
          label.examples.push_back(example.get<std::string>());
        }
      }
    } else {
      invalid(where + "a label must be a string or an object, not " + item.type_name());
    }
    if (label.label.empty()) invalid(where + "the label name is empty");
    labels.push_back(std::move(label));
  }
  return labels;
}

}  // namespace

LocalAiConfig LocalAiConfig::parse(std::string_view config_json) {
  LocalAiConfig config;
  const json doc = parse_object(config_json, "config");
  auto integer = [&](const char* key, int min, int max, int& field) {
    const auto it = doc.find(key);
    if (it == doc.end() || it->is_null()) return;
    if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max) {
      invalid(std::string("config \"") + key + "\" must be an integer from " + std::to_string(min) + " to " +
              std::to_string(max) + ", got " + it->dump());
    }
    field = it->get<int>();
  };
  integer("dimension", HashingEmbedder::kMinDimension, HashingEmbedder::kMaxDimension, config.dimension);
  integer("max_sentences", 1, 10, config.answers.max_sentences);
  if (const auto it = doc.find("min_sentence_score"); it != doc.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 1) {
      invalid("config \"min_sentence_score\" must be a number from 0 to 1, got " + it->dump());
    }
    config.answers.min_sentence_score = it->get<double>();
  }
  return config;
}

LocalAi::LocalAi(switchboard::Host host, std::string_view config_json)
    : Ai(host),
      config_(LocalAiConfig::parse(config_json)),
      embedder_(config_.dimension),
      answerer_(embedder_, config_.answers),
      classifier_(embedder_) {}

std::string LocalAi::embed(std::string_view request_json) {
  const json request = parse_object(request_json, "embed request");
  const auto texts = request.find("texts");
  if (texts == request.end() || !texts->is_array()) invalid("\"texts\" must be an array of strings");
  for (std::size_t i = 0; i < texts->size(); ++i) {
    if (!(*texts)[i].is_string()) {
      invalid("\"texts\" must be an array of strings, but texts[" + std::to_string(i) + "] is " +
              (*texts)[i].type_name());
    }
  }
  const VectorEncoding encoding = parse_encoding(request);

  // Written by hand rather than through nlohmann::json: a batch of vectors
  // is most of the bytes, and this keeps them to one pass.
  std::string out = "{\"model\":\"" + embedder_.model_name() + "\",\"dimension\":" +
                    std::to_string(embedder_.dimension()) +
                    (encoding == VectorEncoding::base64 ? ",\"vectors_base64\":[" : ",\"vectors\":[");
  HashingEmbedder::Scratch scratch;
  std::vector<float> vector(static_cast<std::size_t>(embedder_.dimension()));
  for (std::size_t i = 0; i < texts->size(); ++i) {
    if (i > 0) out.push_back(',');
    embedder_.embed((*texts)[i].get_ref<const std::string&>(), vector.data(), scratch);
    if (encoding == VectorEncoding::base64) {
      append_vector_base64(vector, out);
      continue;
    }
    out.push_back('[');
    for (std::size_t d = 0; d < vector.size(); ++d) {
      if (d > 0) out.push_back(',');
      append_float(vector[d], out);
    }
    out.push_back(']');
  }
  out += "]}";
  return out;
}

std::string LocalAi::answer(std::string_view request_json, const std::function<void(std::string_view)>* delta) {
  const json request = parse_object(request_json, "chat request");
  const std::string question = question_of(request);
  const Context context = context_of(request);
  const ExtractiveAnswer answer = answerer_.answer(question, context.passages);
  if (delta) {
    for (const std::string& piece : answer.pieces) (*delta)(piece);
  }
  json citations = json::array();
  for (std::size_t passage : answer.cited) citations.push_back(context.ids[passage]);
  const json result = {
      {"text", answer.text},
      {"citations", std::move(citations)},
      {"model", answerer_.model_name()},
      {"finish_reason", "stop"},
      {"usage", {{"sentences_scored", answer.sentences_scored}, {"best_score", answer.best_score}}},
  };
  return result.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string LocalAi::chat(std::string_view request_json) { return answer(request_json, nullptr); }

std::string LocalAi::chat_stream(std::string_view request_json, const std::function<void(std::string_view)>& delta) {
  return answer(request_json, &delta);
}

std::string LocalAi::classify(std::string_view request_json) {
  const json request = parse_object(request_json, "classify request");
  const auto text = request.find("text");
  if (text == request.end() || !text->is_string()) invalid("\"text\" must be the string to classify");
  const std::vector<LabelDefinition> labels = labels_of(request);
  const Classification result = classifier_.classify(text->get_ref<const std::string&>(), labels);
  json scores = json::object();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    // A label named twice keeps its better score.
    auto& slot = scores[labels[i].label];
    if (slot.is_null() || slot.get<double>() < result.scores[i]) slot = result.scores[i];
  }
  return json{{"label", result.label}, {"score", result.score}, {"scores", std::move(scores)}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

}  // namespace ai_local

SWITCHBOARD_AI_PLUGIN(ai_local::LocalAi, "ai-local", "1.0.0")
