#include "sandbox_groups.hpp"

#include <switchboard/plugin.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace sandbox {
namespace {

using nlohmann::json;
using switchboard::Error;

[[noreturn]] void bad(const std::string& message) { throw Error(SB_ERR_INVALID_ARGUMENT, message); }

size_t utf8_length(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}

std::string subject_of(const json& request) {
  auto it = request.find("subject");
  if (it == request.end() || !it->is_string()) bad("\"subject\" is required: the group's name");
  std::string s = it->get<std::string>();
  if (s.empty() || std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; }))
    bad("\"subject\" must not be empty");
  if (utf8_length(s) > SandboxGroups::kMaxSubject)
    bad("\"subject\" is longer than " + std::to_string(SandboxGroups::kMaxSubject) + " characters");
  return s;
}

// "+15551234567" (or its digits): what the sandbox accepts as a participant.
std::string participant_of(const json& v) {
  if (!v.is_string()) bad("\"participants\" must hold phone numbers like +15551234567");
  std::string s = v.get<std::string>();
  std::string digits;
  for (char c : s)
    if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    else if (c != '+' && c != ' ' && c != '-') bad("participant \"" + s.substr(0, 40) + "\" is not a phone number");
  if (digits.size() < 6 || digits.size() > 15) bad("participant \"" + s.substr(0, 40) + "\" is not a phone number");
  return "+" + digits;
}

std::vector<std::string> participants_of(const json& request, bool required) {
  auto it = request.find("participants");
  if (it == request.end() || it->is_null()) {
    if (required) bad("\"participants\" is required: a list of phone numbers");
    return {};
  }
  if (!it->is_array()) bad("\"participants\" must be a list of phone numbers");
  if (required && it->empty()) bad("\"participants\" must not be empty");
  if (it->size() > SandboxGroups::kMaxParticipants) bad("too many participants at once");
  std::vector<std::string> out;
  for (const json& p : *it) out.push_back(participant_of(p));
  return out;
}

}  // namespace

SandboxGroups::Group& SandboxGroups::find(const json& request) {
  auto it = request.find("group_id");
  if (it == request.end() || !it->is_string() || it->get<std::string>().empty()) bad("\"group_id\" is required");
  auto g = groups_.find(it->get<std::string>());
  if (g == groups_.end()) throw Error(SB_ERR_NOT_FOUND, "group " + it->get<std::string>() + " not found");
  return g->second;
}

json SandboxGroups::info(const Group& g) const {
  json participants = json::array();
  for (const auto& [phone, role] : g.participants) participants.push_back({{"id", phone}, {"role", role}});
  return {{"group_id", g.id},
          {"subject", g.subject},
          {"participants", std::move(participants)},
          {"size", g.participants.size()},
          {"created_at", g.created_at}};
}

json SandboxGroups::call(const std::string& op, const json& request, const std::string& new_id) {
  if (!request.is_object()) bad("the request must be a JSON object");
  if (op == SB_OP_GROUP_LIST) {
    json groups = json::array();
    for (const auto& [id, g] : groups_)
      groups.push_back({{"group_id", id}, {"subject", g.subject}, {"size", g.participants.size()}});
    return {{"groups", std::move(groups)}};
  }
  if (op == SB_OP_GROUP_CREATE) {
    if (groups_.size() >= kMaxGroups) throw Error(SB_ERR_CONFLICT, "the sandbox holds at most 1000 groups");
    Group g;
    g.id = new_id;
    g.subject = subject_of(request);
    g.created_at = static_cast<int64_t>(std::time(nullptr));
    g.participants[own_phone_] = "admin";
    for (const std::string& p : participants_of(request, false)) g.participants.emplace(p, "member");
    if (g.participants.size() > kMaxParticipants) bad("a group holds at most 1024 participants");
    json out = info(g);
    groups_[g.id] = std::move(g);
    return out;
  }
  if (op == SB_OP_GROUP_INFO) return info(find(request));
  if (op == SB_OP_GROUP_RENAME) {
    Group& g = find(request);
    g.subject = subject_of(request);
    return info(g);
  }
  if (op == SB_OP_GROUP_PARTICIPANTS) {
    Group& g = find(request);
    auto a = request.find("action");
    const std::string action = a != request.end() && a->is_string() ? a->get<std::string>() : std::string();
    if (action != "add" && action != "remove" && action != "promote" && action != "demote")
      bad("\"action\" must be add, remove, promote or demote");
    json results = json::array();
    for (const std::string& p : participants_of(request, true)) {
      auto it = g.participants.find(p);
      std::string error;
      if (action == "add") {
        if (it != g.participants.end()) error = "already in the group";
        else if (g.participants.size() >= kMaxParticipants) error = "the group is full";
        else g.participants.emplace(p, "member");
      } else if (it == g.participants.end()) {
        error = "not in the group";
      } else if (action == "remove") {
        g.participants.erase(it);
      } else {
        it->second = action == "promote" ? "admin" : "member";
      }
      json r = {{"id", p}, {"ok", error.empty()}};
      if (!error.empty()) r["error"] = error;
      results.push_back(std::move(r));
    }
    return {{"group_id", g.id}, {"participants", std::move(results)}};
  }
  throw Error(SB_ERR_UNSUPPORTED, "operation " + op + " is not supported by this channel");
}

json SandboxGroups::to_json() const {
  json groups = json::array();
  for (const auto& [id, g] : groups_) {
    json participants = json::object();
    for (const auto& [phone, role] : g.participants) participants[phone] = role;
    groups.push_back({{"id", id}, {"subject", g.subject}, {"participants", participants}, {"created_at", g.created_at}});
  }
  return {{"groups", std::move(groups)}};
}

void SandboxGroups::load(const json& saved) {
  if (!saved.is_object() || !saved.contains("groups") || !saved["groups"].is_array()) return;
  std::map<std::string, Group> groups;
  for (const json& j : saved["groups"]) {
    if (!j.is_object() || !j.value("id", json()).is_string()) continue;
    Group g;
    g.id = j["id"].get<std::string>();
    g.subject = j.value("subject", std::string());
    g.created_at = j.value("created_at", int64_t{0});
    if (j.contains("participants") && j["participants"].is_object())
      for (const auto& [phone, role] : j["participants"].items())
        if (role.is_string()) g.participants[phone] = role.get<std::string>();
    groups[g.id] = std::move(g);
  }
  groups_ = std::move(groups);
}

}  // namespace sandbox
