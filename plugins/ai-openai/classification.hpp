#pragma once
// Classification as a chat completion: a prompt that lists the labels (with
// their descriptions and examples) and asks for exactly one of them, and the
// model's answer matched back to a label.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace openai {

struct Label {
  std::string name;
  std::string description;
  std::vector<std::string> examples;
};

// The request's "labels" (objects or plain strings); throws
// switchboard::Error(SB_ERR_INVALID_ARGUMENT) for none or a malformed one.
std::vector<Label> labels_of(const nlohmann::json& request);

// The messages for the chat completion: a system message with the rules and
// the labels, a user message with the text.
nlohmann::json classification_messages(const std::string& text, const std::vector<Label>& labels);

// The label the answer names — equal to it ignoring case, surrounding
// spaces, quotes and punctuation — or nullopt when it names none.
std::optional<std::string> match_label(std::string_view answer, const std::vector<Label>& labels);

// The host's result: {"label","score","scores"} with score 1 for a match,
// {"label":"","score":0} when the model answered something else; "answer"
// keeps what it said, for people tuning the labels.
nlohmann::json classification_result(const std::optional<std::string>& label, const std::vector<Label>& labels,
                                     std::string_view answer);

}  // namespace openai
