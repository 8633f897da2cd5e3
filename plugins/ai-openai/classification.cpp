#include "classification.hpp"

#include <switchboard/plugin.hpp>

#include <algorithm>
#include <cctype>

namespace openai {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void invalid(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

// Trims whitespace and punctuation (quotes, backticks, '*', '.', ...) at both ends.
std::string_view trim_punctuation(std::string_view s) {
  auto strip = [](unsigned char c) { return std::isspace(c) || std::ispunct(c); };
  while (!s.empty() && strip(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && strip(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::vector<Label> labels_of(const json& request) {
  auto it = request.find("labels");
  if (it == request.end() || !it->is_array() || it->empty()) invalid("the classify request needs \"labels\": [...]");
  std::vector<Label> labels;
  for (const auto& item : *it) {
    Label label;
    if (item.is_string()) {
      label.name = item.get<std::string>();
    } else if (item.is_object() && item.contains("label") && item["label"].is_string()) {
      label.name = item["label"].get<std::string>();
      if (auto d = item.find("description"); d != item.end() && d->is_string()) label.description = d->get<std::string>();
      if (auto e = item.find("examples"); e != item.end() && e->is_array()) {
        for (const auto& example : *e)
          if (example.is_string()) label.examples.push_back(example.get<std::string>());
      }
    } else {
      invalid("each label must be a string or {\"label\", \"description\", \"examples\"}");
    }
    if (trim_punctuation(label.name).empty()) invalid("a label must not be empty");
    labels.push_back(std::move(label));
  }
  return labels;
}

json classification_messages(const std::string& text, const std::vector<Label>& labels) {
  std::string system =
      "You classify the user's message. Answer with exactly one of the labels below, written exactly as listed, "
      "and nothing else: no explanation, no punctuation.\n\nLabels:\n";
  for (const auto& label : labels) {
    system += "- " + label.name;
    if (!label.description.empty()) system += ": " + label.description;
    if (!label.examples.empty()) {
      system += " (for example: ";
      for (size_t i = 0; i < label.examples.size(); ++i) system += (i ? "; \"" : "\"") + label.examples[i] + "\"";
      system += ")";
    }
    system += "\n";
  }
  return json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", text}}});
}

std::optional<std::string> match_label(std::string_view answer, const std::vector<Label>& labels) {
  const std::string_view said = trim_punctuation(answer);
  for (const auto& label : labels) {
    if (same_ignoring_case(said, trim_punctuation(label.name))) return label.name;
  }
  return std::nullopt;
}

json classification_result(const std::optional<std::string>& label, const std::vector<Label>& labels,
                           std::string_view answer) {
  json scores = json::object();
  for (const auto& l : labels) scores[l.name] = label && *label == l.name ? 1.0 : 0.0;
  return {{"label", label.value_or("")},
          {"score", label ? 1.0 : 0.0},
          {"scores", std::move(scores)},
          {"answer", std::string(answer)}};
}

}  // namespace openai
