#include "flows/triggers.hpp"
#include "core/text.hpp"

#include "flows/regex.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace sb::flows {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// exact < starts_with < contains < regex: the more specific match wins.
int match_rank(const std::string& match) {
  if (match == "exact") return 0;
  if (match == "starts_with") return 1;
  if (match == "contains") return 2;
  return 3;
}

bool applies_to_profile(const nlohmann::json& trigger, const std::string& profile_id) {
  auto it = trigger.find("profiles");
  if (it == trigger.end() || !it->is_array() || it->empty()) return true;
  return std::any_of(it->begin(), it->end(), [&](const auto& p) { return p.is_string() && p == profile_id; });
}

bool keyword_matches(const nlohmann::json& trigger, std::string_view text) {
  const std::string match = trigger.value("match", "exact");
  const bool case_sensitive = trigger.value("case_sensitive", false);
  const std::string_view subject = trim(text);
  const std::string folded = case_sensitive ? std::string(subject) : ascii_lower(subject);
  for (const auto& k : trigger.value("keywords", nlohmann::json::array())) {
    if (!k.is_string()) continue;
    const std::string keyword = case_sensitive ? k.get<std::string>() : ascii_lower(k.get<std::string>());
    if (match == "exact" && folded == keyword) return true;
    if (match == "starts_with" && folded.rfind(keyword, 0) == 0) return true;
    if (match == "contains" && folded.find(keyword) != std::string::npos) return true;
    if (match == "regex") {
      try {
        if (regex_search(k.get<std::string>(), text, case_sensitive)) return true;
      } catch (const std::exception& e) {
        spdlog::warn("flows: keyword regex failed: {}", e.what());
      }
    }
  }
  return false;
}

int64_t priority_of(const FlowPtr& f) { return f->trigger.value("priority", int64_t{0}); }

}  // namespace

FlowPtr match_keyword_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id, std::string_view text) {
  std::vector<FlowPtr> keyword;
  for (const auto& f : flows) {
    if (f->trigger.value("type", "") == "keyword" && applies_to_profile(f->trigger, profile_id)) keyword.push_back(f);
  }
  std::sort(keyword.begin(), keyword.end(), [](const FlowPtr& a, const FlowPtr& b) {
    if (priority_of(a) != priority_of(b)) return priority_of(a) > priority_of(b);
    const int ra = match_rank(a->trigger.value("match", "exact")), rb = match_rank(b->trigger.value("match", "exact"));
    if (ra != rb) return ra < rb;
    return a->id < b->id;
  });
  for (const auto& f : keyword) {
    if (keyword_matches(f->trigger, text)) return f;
  }
  return nullptr;
}

FlowPtr match_any_message_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id) {
  FlowPtr best;
  for (const auto& f : flows) {
    if (f->trigger.value("type", "") != "message" || !applies_to_profile(f->trigger, profile_id)) continue;
    if (!best || priority_of(f) > priority_of(best) || (priority_of(f) == priority_of(best) && f->id < best->id)) best = f;
  }
  return best;
}

FlowPtr match_message_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id,
                              std::string_view text) {
  if (FlowPtr f = match_keyword_trigger(flows, profile_id, text)) return f;
  return match_any_message_trigger(flows, profile_id);
}

std::vector<FlowPtr> match_event_trigger(const std::vector<FlowPtr>& flows, const std::string& event,
                                         const std::string& tag) {
  std::vector<FlowPtr> out;
  for (const auto& f : flows) {
    if (f->trigger.value("type", "") != "event" || f->trigger.value("event", "") != event) continue;
    if (event == "contact.tagged" && f->trigger.contains("tag") && f->trigger["tag"] != tag) continue;
    out.push_back(f);
  }
  return out;
}

}  // namespace sb::flows
