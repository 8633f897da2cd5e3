// Answers grounded in a knowledge base: retrieve, and when a passage is
// close enough to the question, ask the provider with the numbered passages
// and the recent conversation; keep the answer only when it cites what it
// used, and write the citations in the base's style. Also classification,
// and the flow runtime's ctx.ai calls.
#include "knowledge/knowledge_bases.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "plugins/plugin_error.hpp"
#include "store/message_repository.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <regex>
#include <set>

namespace sb::knowledge {

namespace {

using nlohmann::json;

constexpr const char* kNoAnswer = "NO_ANSWER";
constexpr size_t kMaxAnswerLength = 4000;  // WhatsApp takes 4096 characters in a text
constexpr size_t kMaxLabels = 50;

std::string default_instructions(const repo::KnowledgeBase& kb) {
  return "You answer customers' questions on WhatsApp for \"" + kb.name +
         "\". Answer only from the numbered passages below, never from anything else you know. After each sentence, "
         "cite the passages it comes from by their numbers in square brackets, like [1] or [2][3]. Keep the answer "
         "short, plain and friendly. If the passages do not answer the question, reply with exactly " +
         std::string(kNoAnswer) + " and nothing else.";
}

// "Title > Section" for a citation; a heading path that starts with the
// title (a Markdown document's "# Title") is not repeated.
std::string source_label(const SearchHit& h) {
  const std::string title = h.document_title.empty() ? h.document_name : h.document_title;
  if (h.heading.empty() || h.heading == title) return title;
  if (h.heading.rfind(title + " > ", 0) == 0) return h.heading;
  return title + " > " + h.heading;
}

// The passage numbers [n] (also [1, 2] and [1][2]) cited in `text` that
// exist (1..count), in order of first use.
std::vector<int> cited_numbers(const std::string& text, size_t count) {
  static const std::regex kMarker(R"(\[(\d+(?:\s*,\s*\d+)*)\])");
  std::vector<int> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kMarker); it != std::sregex_iterator(); ++it) {
    const std::string inside = (*it)[1].str();
    static const std::regex kNumber(R"(\d+)");
    for (auto n = std::sregex_iterator(inside.begin(), inside.end(), kNumber); n != std::sregex_iterator(); ++n) {
      const std::string digits = (*n)[0].str();
      int v = 0;
      // A number too large for int (a provider's garbage) cites nothing.
      if (std::from_chars(digits.data(), digits.data() + digits.size(), v).ec != std::errc{}) continue;
      if (v >= 1 && static_cast<size_t>(v) <= count && std::find(out.begin(), out.end(), v) == out.end()) {
        out.push_back(v);
      }
    }
  }
  return out;
}

// The answer with its markers written in `style`: footnote keeps [n] and
// lists the sources after the text; inline names the source in place of
// each marker; none drops the markers.
std::string styled(const std::string& text, const std::string& style, const std::vector<SearchHit>& passages,
                   const std::vector<int>& cited) {
  static const std::regex kMarker(R"(\s*\[(\d+(?:\s*,\s*\d+)*)\])");
  std::string out;
  if (style == "footnote") {
    out = text;
    std::string sources;
    for (int n : cited) {
      sources += "\n[" + std::to_string(n) + "] " + source_label(passages[static_cast<size_t>(n - 1)]);
    }
    if (!sources.empty()) out += "\n\nSources:" + sources;
  } else if (style == "inline") {
    std::string rest = text;
    std::smatch m;
    while (std::regex_search(rest, m, kMarker)) {
      out += m.prefix().str();
      std::vector<std::string> names;
      for (int n : cited_numbers(m[0].str(), passages.size())) {
        const SearchHit& h = passages[static_cast<size_t>(n - 1)];
        const std::string name = h.document_title.empty() ? h.document_name : h.document_title;
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
      if (!names.empty()) {
        out += " (";
        for (size_t i = 0; i < names.size(); ++i) out += (i ? "; " : "") + names[i];
        out += ")";
      }
      rest = m.suffix().str();
    }
    out += rest;
  } else {
    out = std::regex_replace(text, kMarker, "");
  }
  if (out.size() > kMaxAnswerLength) {
    // Cut at the last sentence end that fits, else at a space.
    size_t cut = out.find_last_of(".!?", kMaxAnswerLength - 2);
    if (cut == std::string::npos || cut < kMaxAnswerLength / 2) cut = out.find_last_of(' ', kMaxAnswerLength - 2);
    if (cut == std::string::npos || cut < kMaxAnswerLength / 2) {
      // No break to cut at (a script without spaces): at the limit, on a
      // character boundary.
      cut = kMaxAnswerLength - 2;
      while (cut > 0 && (static_cast<unsigned char>(out[cut + 1]) & 0xC0) == 0x80) --cut;
    }
    out = out.substr(0, cut + 1) + "…";
  }
  return std::string(trim_ascii(out));
}

json citation_json(int n, const SearchHit& h) {
  return {{"n", n},
          {"chunk_id", h.chunk_id},
          {"document_id", h.document_id},
          {"document_name", h.document_name},
          {"title", h.document_title},
          {"heading", h.heading},
          {"position", h.position}};
}

json checked_labels(const json& labels) {
  if (!labels.is_array() || labels.empty() || labels.size() > kMaxLabels) {
    throw Error(ErrorCode::invalid_argument, "\"labels\" must list 1 to " + std::to_string(kMaxLabels) + " labels",
                {{"field", "labels"}});
  }
  json out = json::array();
  std::set<std::string> names;
  for (const auto& l : labels) {
    json label;
    if (l.is_string()) {
      label = {{"label", l}};
    } else if (l.is_object() && l.contains("label") && l["label"].is_string()) {
      label = {{"label", l["label"]}};
      if (l.contains("description")) {
        if (!l["description"].is_string()) throw Error(ErrorCode::invalid_argument, "a label's description must be a string", {{"field", "labels"}});
        label["description"] = l["description"];
      }
      if (l.contains("examples")) {
        if (!l["examples"].is_array()) throw Error(ErrorCode::invalid_argument, "a label's examples must be an array of strings", {{"field", "labels"}});
        for (const auto& e : l["examples"])
          if (!e.is_string()) throw Error(ErrorCode::invalid_argument, "a label's examples must be strings", {{"field", "labels"}});
        label["examples"] = l["examples"];
      }
    } else {
      throw Error(ErrorCode::invalid_argument, "a label is a string or {\"label\", \"description\", \"examples\"}",
                  {{"field", "labels"}});
    }
    const std::string name = label["label"].get<std::string>();
    if (name.empty() || name.size() > 64) throw Error(ErrorCode::invalid_argument, "a label must be 1 to 64 characters", {{"field", "labels"}});
    if (!names.insert(name).second) throw Error(ErrorCode::invalid_argument, "the label \"" + name + "\" is given twice", {{"field", "labels"}});
    out.push_back(std::move(label));
  }
  return out;
}

}  // namespace

Answer KnowledgeBases::answer(const std::string& workspace_id, const std::string& kb_id, const AnswerRequest& request,
                              const std::function<void(std::string_view)>& on_delta) {
  return answer_base(require_base(workspace_id, kb_id), request, on_delta);
}

Answer KnowledgeBases::answer_base(const repo::KnowledgeBase& kb, const AnswerRequest& request,
                                   const std::function<void(std::string_view)>& on_delta) {
  const KnowledgeSettings settings = parse_settings(kb.settings);
  const double min_score = request.min_score.value_or(settings.retrieval.min_score);
  const std::string style = request.citation_style.value_or(settings.answer.citation_style);
  if (style != "footnote" && style != "inline" && style != "none") {
    throw Error(ErrorCode::invalid_argument, "citation_style must be footnote, inline or none", {{"field", "citation_style"}});
  }
  const int max_chunks = std::clamp(request.max_chunks.value_or(settings.answer.max_chunks), 1, 20);

  Answer out;
  out.provider = kb.provider;
  out.retrieved = search_base(kb, SearchRequest{request.question, max_chunks, request.tags});
  const auto& hits = out.retrieved.hits;
  if (hits.empty() || out.retrieved.best_similarity < min_score) {
    char why[160];
    std::snprintf(why, sizeof why, "no passage is close enough to the question (best similarity %.3f, needed %.3f)",
                  out.retrieved.best_similarity, min_score);
    out.reason = hits.empty() ? "the knowledge base has no passage about this" : why;
    return out;
  }

  std::string system = settings.answer.system_prompt.empty() ? default_instructions(kb) : settings.answer.system_prompt;
  system += "\n\nPassages:";
  json context = json::array();
  for (size_t i = 0; i < hits.size(); ++i) {
    system += "\n\n[" + std::to_string(i + 1) + "] " + source_label(hits[i]) + "\n" + hits[i].text;
    context.push_back({{"id", std::to_string(hits[i].chunk_id)},
                       {"title", hits[i].document_title},
                       {"heading", hits[i].heading},
                       {"text", hits[i].text},
                       {"source", hits[i].document_name}});
  }
  json messages = json::array({{{"role", "system"}, {"content", system}}});
  if (request.history.is_array()) {
    const size_t keep = static_cast<size_t>(settings.answer.history_messages);
    const size_t from = request.history.size() > keep ? request.history.size() - keep : 0;
    for (size_t i = from; i < request.history.size(); ++i) {
      const json& m = request.history[i];
      if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) continue;
      const std::string role = m.value("role", "user") == "assistant" ? "assistant" : "user";
      messages.push_back({{"role", role}, {"content", m["content"]}});
    }
  }
  messages.push_back({{"role", "user"}, {"content", request.question}});
  out.prompt = messages;

  const json chat_request = {{"messages", messages},
                             {"context", context},
                             {"max_tokens", settings.answer.max_tokens},
                             {"temperature", settings.answer.temperature},
                             {"timeout_ms", settings.timeout_ms}};
  auto provider = provider_of(kb);
  const json reply = on_delta ? provider->chat_stream(chat_request, on_delta) : provider->chat(chat_request);
  const auto text_it = reply.find("text");
  if (text_it == reply.end() || !text_it->is_string()) {
    throw plugins::PluginError(SB_ERR_PERMANENT, kb.provider, "plugin " + kb.provider + ": chat answered no \"text\"");
  }
  out.model = reply.value("model", "");
  out.usage = reply.value("usage", json(nullptr));
  const std::string text(trim_ascii(text_it->get_ref<const std::string&>()));
  if (text.empty() || text.find(kNoAnswer) != std::string::npos) {
    out.reason = "the provider found no answer in the passages";
    return out;
  }
  std::vector<int> cited = cited_numbers(text, hits.size());
  // A provider may also name the passages it used by id (the context's
  // "id", a string; ai-local gives it back as a number).
  for (const auto& cited_id : reply.value("citations", json::array())) {
    std::string id;
    if (cited_id.is_string()) {
      id = cited_id.get<std::string>();
    } else if (cited_id.is_number_integer()) {
      id = std::to_string(cited_id.get<int64_t>());
    } else {
      continue;
    }
    for (size_t i = 0; i < hits.size(); ++i) {
      const int n = static_cast<int>(i + 1);
      if (id == std::to_string(hits[i].chunk_id) && std::find(cited.begin(), cited.end(), n) == cited.end()) {
        cited.push_back(n);
      }
    }
  }
  if (cited.empty() && settings.answer.require_citation) {
    out.reason = "the provider's answer cites none of the passages";
    return out;
  }
  for (int n : cited) out.citations.push_back(citation_json(n, hits[static_cast<size_t>(n - 1)]));
  out.text = styled(text, style, hits, cited);
  out.answered = !out.text.empty();
  if (!out.answered) out.reason = "the answer is empty once its citation markers are removed";
  return out;
}

json KnowledgeBases::classify(const std::string& workspace_id, const std::string& kb_id, const std::string& text,
                              const json& labels) {
  if (text.empty()) throw Error(ErrorCode::invalid_argument, "the text to classify is empty", {{"field", "text"}});
  const json checked = checked_labels(labels);
  std::shared_ptr<plugins::AiInstance> provider;
  int64_t timeout_ms = 30'000;
  std::string provider_id = options_.default_provider;
  if (!kb_id.empty()) {
    const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
    timeout_ms = parse_settings(kb.settings).timeout_ms;
    provider = provider_of(kb);
    provider_id = kb.provider;
  } else {
    provider = default_provider();
  }
  json result = provider->classify({{"text", text}, {"labels", checked}, {"timeout_ms", timeout_ms}});
  const std::string label = result.value("label", "");
  bool known = label.empty();
  for (const auto& l : checked) known = known || l["label"] == label;
  if (!known) {
    throw plugins::PluginError(SB_ERR_PERMANENT, provider_id,
                               "plugin " + provider_id + ": classify answered \"" + label + "\", which is not one of the labels");
  }
  return {{"label", label},
          {"score", result.value("score", 0.0)},
          {"scores", result.value("scores", json::object())},
          {"provider", provider_id}};
}

json KnowledgeBases::flow_call(const std::string& workspace_id, const std::optional<std::string>& conversation_id,
                               const json& request) {
  try {
    const std::string op = request.value("op", "");
    const std::string kb = request.value("knowledge_base", "");
    if (op == "reply") {
      if (kb.empty()) throw Error(ErrorCode::invalid_argument, "ai_reply needs a knowledge_base");
      AnswerRequest a;
      a.question = request.value("question", "");
      if (a.question.empty()) throw Error(ErrorCode::invalid_argument, "ai_reply: the question is empty (the message had no text)");
      if (request.contains("tags")) a.tags = checked_tags(request["tags"]);
      if (request.contains("min_score") && request["min_score"].is_number()) a.min_score = request["min_score"].get<double>();
      if (request.contains("citation_style") && request["citation_style"].is_string()) {
        a.citation_style = request["citation_style"].get<std::string>();
      }
      if (request.contains("max_chunks") && request["max_chunks"].is_number_integer()) a.max_chunks = request["max_chunks"].get<int>();
      const repo::KnowledgeBase base = require_base(workspace_id, kb);
      const int history = parse_settings(base.settings).answer.history_messages;
      if (conversation_id && history > 0) {
        // The conversation before the question, oldest first, without the
        // message that asked it.
        const std::string asked = request.value("message_id", "");
        auto page = db_.read([&](store::Connection& c) {
          return store::messages::page_by_conversation(c, workspace_id, *conversation_id,
                                                       store::PageRequest{history + 1, std::nullopt});
        });
        std::vector<json> recent;
        for (const auto& m : page.items) {
          if (m.id == asked || !m.text || m.text->empty()) continue;
          recent.push_back({{"role", m.direction == "out" ? "assistant" : "user"}, {"content", *m.text}});
        }
        if (asked.empty() && !recent.empty() && recent.front()["content"] == a.question) recent.erase(recent.begin());
        if (recent.size() > static_cast<size_t>(history)) recent.resize(static_cast<size_t>(history));
        std::reverse(recent.begin(), recent.end());
        a.history = recent;
      }
      Answer answer = answer_base(base, a);
      return {{"answered", answer.answered},
              {"text", answer.text},
              {"reason", answer.reason},
              {"citations", answer.citations},
              {"best_score", answer.retrieved.best_similarity},
              {"provider", answer.provider},
              {"model", answer.model}};
    }
    if (op == "classify") {
      return classify(workspace_id, kb, request.value("text", ""), request.value("labels", json()));
    }
    throw Error(ErrorCode::invalid_argument, "ctx.ai: unknown op \"" + op + "\" (reply or classify)");
  } catch (const std::exception& e) {
    spdlog::warn("knowledge: a flow's AI call in workspace {} failed: {}", workspace_id, e.what());
    return {{"error", e.what()}};
  }
}

}  // namespace sb::knowledge
