#include "knowledge/knowledge_settings.hpp"

#include "core/error.hpp"

#include <set>

namespace sb::knowledge {
namespace {

using nlohmann::json;

// Reads the members of one settings object, refusing unknown ones.
class SettingsReader {
 public:
  SettingsReader(const json& parent, const std::string& name, const std::string& path) : path_(path + "." + name) {
    auto it = parent.find(name);
    if (it == parent.end() || it->is_null()) return;
    if (!it->is_object()) throw Error(ErrorCode::invalid_argument, path_ + " must be an object", {{"field", path_}});
    obj_ = *it;
  }
  explicit SettingsReader(const json& root) : path_("settings"), obj_(root) {
    if (!root.is_object()) throw Error(ErrorCode::invalid_argument, "settings must be an object", {{"field", path_}});
  }

  template <class T>
  void number(const char* name, T& out, double min, double max) {
    seen_.insert(name);
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return;
    const bool integral = std::is_integral_v<T>;
    if (!it->is_number() || (integral && !it->is_number_integer()) || it->get<double>() < min ||
        it->get<double>() > max) {
      throw bad(name, std::string("must be ") + (integral ? "an integer" : "a number") + " between " + fmt(min) +
                          " and " + fmt(max));
    }
    out = it->get<T>();
  }
  void flag(const char* name, bool& out) {
    seen_.insert(name);
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return;
    if (!it->is_boolean()) throw bad(name, "must be true or false");
    out = it->get<bool>();
  }
  void text(const char* name, std::string& out, size_t max_len, const std::set<std::string>& choices = {}) {
    seen_.insert(name);
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return;
    if (!it->is_string() || it->get_ref<const std::string&>().size() > max_len) {
      throw bad(name, "must be a string of at most " + std::to_string(max_len) + " characters");
    }
    const std::string value = it->get<std::string>();
    if (!choices.empty() && !choices.count(value)) {
      std::string list;
      for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
      throw bad(name, "must be one of " + list);
    }
    out = value;
  }
  void section(const char* name) { seen_.insert(name); }
  // Refuses members no reader asked for.
  void finish() const {
    for (const auto& [key, value] : obj_.items()) {
      if (!seen_.count(key)) {
        throw Error(ErrorCode::invalid_argument, path_ + " has no setting \"" + key + "\"", {{"field", path_ + "." + key}});
      }
    }
  }

 private:
  static std::string fmt(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  Error bad(const char* name, const std::string& what) const {
    const std::string field = path_ + "." + name;
    return Error(ErrorCode::invalid_argument, field + " " + what, {{"field", field}});
  }

  std::string path_;
  json obj_ = json::object();
  std::set<std::string> seen_;
};

}  // namespace

KnowledgeSettings parse_settings(const json& stored) {
  KnowledgeSettings s;
  SettingsReader root(stored.is_null() ? json::object() : stored);
  root.section("chunking");
  root.section("retrieval");
  root.section("answer");
  root.number("timeout_ms", s.timeout_ms, 1000, 300'000);
  root.finish();

  SettingsReader chunking(stored, "chunking", "settings");
  chunking.number("target_chars", s.chunking.target_chars, 100, 8000);
  chunking.number("max_chars", s.chunking.max_chars, 200, 12000);
  chunking.number("overlap_chars", s.chunking.overlap_chars, 0, 2000);
  chunking.finish();
  if (s.chunking.max_chars < s.chunking.target_chars) {
    throw Error(ErrorCode::invalid_argument, "settings.chunking.max_chars must be at least target_chars",
                {{"field", "settings.chunking.max_chars"}});
  }
  if (s.chunking.overlap_chars >= s.chunking.target_chars) {
    throw Error(ErrorCode::invalid_argument, "settings.chunking.overlap_chars must be less than target_chars",
                {{"field", "settings.chunking.overlap_chars"}});
  }

  SettingsReader retrieval(stored, "retrieval", "settings");
  retrieval.number("top_k", s.retrieval.top_k, 1, 50);
  retrieval.number("candidates", s.retrieval.candidates, 1, 500);
  retrieval.number("min_score", s.retrieval.min_score, 0, 1);
  retrieval.number("vector_weight", s.retrieval.vector_weight, 0, 10);
  retrieval.number("keyword_weight", s.retrieval.keyword_weight, 0, 10);
  retrieval.finish();

  SettingsReader answer(stored, "answer", "settings");
  answer.number("max_chunks", s.answer.max_chunks, 1, 20);
  answer.number("history_messages", s.answer.history_messages, 0, 50);
  answer.text("citation_style", s.answer.citation_style, 16, {"footnote", "inline", "none"});
  answer.flag("require_citation", s.answer.require_citation);
  answer.text("system_prompt", s.answer.system_prompt, 8000);
  answer.number("max_tokens", s.answer.max_tokens, 16, 8192);
  answer.number("temperature", s.answer.temperature, 0, 2);
  answer.finish();
  return s;
}

json to_json(const KnowledgeSettings& s) {
  return {{"chunking",
           {{"target_chars", s.chunking.target_chars},
            {"max_chars", s.chunking.max_chars},
            {"overlap_chars", s.chunking.overlap_chars}}},
          {"retrieval",
           {{"top_k", s.retrieval.top_k},
            {"candidates", s.retrieval.candidates},
            {"min_score", s.retrieval.min_score},
            {"vector_weight", s.retrieval.vector_weight},
            {"keyword_weight", s.retrieval.keyword_weight}}},
          {"answer",
           {{"max_chunks", s.answer.max_chunks},
            {"history_messages", s.answer.history_messages},
            {"citation_style", s.answer.citation_style},
            {"require_citation", s.answer.require_citation},
            {"system_prompt", s.answer.system_prompt},
            {"max_tokens", s.answer.max_tokens},
            {"temperature", s.answer.temperature}}},
          {"timeout_ms", s.timeout_ms}};
}

}  // namespace sb::knowledge
