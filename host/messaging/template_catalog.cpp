#include "messaging/template_catalog.hpp"

#include "core/error.hpp"
#include "plugins/plugin_error.hpp"

#include <spdlog/spdlog.h>

#include <switchboard/plugin.h>

namespace sb::messaging {

using nlohmann::json;

TemplateCatalog::Answer TemplateCatalog::decide(const Entry& e, const std::string& name, const std::string& language,
                                                bool listed_now, bool& refresh) const {
  refresh = false;
  const auto age = Clock::now() - e.at;
  switch (e.state) {
    case State::unsupported: return {};
    case State::failed:
      if (listed_now || age < options_.retry_after_failure) return {};
      refresh = true;
      return {};
    case State::unknown: refresh = !listed_now; return {};
    case State::listed: break;
  }
  if (!listed_now && age >= options_.ttl) {
    refresh = true;
    return {};
  }
  auto it = e.templates.find(name);
  if (it != e.templates.end()) {
    auto lang = it->second.find(language);
    if (lang != it->second.end() && lang->second == "APPROVED") return {Verdict::approved, ""};
  }
  if (!listed_now && age >= options_.miss_refresh_floor) {
    refresh = true;  // approved since the listing, perhaps
    return {};
  }
  Answer a{Verdict::not_approved, ""};
  if (it != e.templates.end()) {
    auto lang = it->second.find(language);
    if (lang != it->second.end()) {
      a.hint = "its status is " + lang->second;
    } else {
      std::string others;
      for (const auto& [code, status] : it->second)
        if (status == "APPROVED") others += (others.empty() ? "" : ", ") + code;
      if (!others.empty()) a.hint = "approved in: " + others;
    }
  }
  return a;
}

void TemplateCatalog::list(Entry& e, const std::shared_ptr<plugins::ChannelInstance>& session,
                           const std::string& profile_id) {
  State state = State::failed;
  std::map<std::string, std::map<std::string, std::string>> templates;
  std::string why;
  try {
    const json answer = session->call(SB_OP_TEMPLATES_LIST, json::object());
    if (!answer.contains("templates") || !answer["templates"].is_array())
      throw Error(ErrorCode::plugin_error, "templates.list answered without a \"templates\" array");
    for (const auto& t : answer["templates"]) {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) continue;
      std::string status = t.value("status", std::string());
      for (char& ch : status) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      templates[t["name"].get<std::string>()][t.value("language", std::string())] = status;
    }
    state = State::listed;
  } catch (const plugins::PluginError& ex) {
    state = ex.status() == SB_ERR_UNSUPPORTED ? State::unsupported : State::failed;
    why = ex.what();
  } catch (const std::exception& ex) {
    why = ex.what();
  }
  std::lock_guard lock(mu_);
  if (e.session.lock() != session) return;  // reopened meanwhile: this listing is of the old one
  e.state = state;
  e.at = Clock::now();
  ++e.version;
  if (state == State::listed) {
    e.templates = std::move(templates);
    e.warned = false;
  } else if (state == State::unsupported) {
    spdlog::debug("profile {}: the channel does not list templates; template names are not checked before sending",
                  profile_id);
  } else if (!e.warned) {
    e.warned = true;
    spdlog::warn("profile {}: could not list the number's templates ({}); template sends are not checked until a "
                 "listing works",
                 profile_id, why);
  }
}

TemplateCatalog::Answer TemplateCatalog::check(ChannelSessions& sessions, const std::string& profile_id,
                                               const std::string& name, const std::string& language) {
  auto session = sessions.find(profile_id);
  if (!session) return {};  // the outbox decides (it retries until the session is back)
  std::shared_ptr<Entry> e;
  uint64_t seen;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[profile_id];
    if (!slot || slot->session.lock() != session) {
      slot = std::make_shared<Entry>();
      slot->session = session;
    }
    e = slot;
    bool refresh;
    Answer a = decide(*e, name, language, false, refresh);
    if (!refresh) return a;
    seen = e->version;
  }
  std::lock_guard fetching(e->fetch);
  {
    // Another request listed while this one waited: its listing will do.
    std::lock_guard lock(mu_);
    if (e->version != seen) {
      bool refresh;
      return decide(*e, name, language, true, refresh);
    }
  }
  list(*e, session, profile_id);
  std::lock_guard lock(mu_);
  bool refresh;
  return decide(*e, name, language, true, refresh);
}

void TemplateCatalog::require_approved(ChannelSessions& sessions, const std::string& profile_id, const json& payload,
                                       std::string_view field_prefix) {
  if (!payload.is_object() || !payload.contains("template") || !payload["template"].is_object()) return;
  const json& t = payload["template"];
  const std::string name = t.value("name", std::string());
  const std::string language = t.contains("language") && t["language"].is_string() ? t["language"].get<std::string>()
                                                                                     : std::string();
  const Answer a = check(sessions, profile_id, name, language);
  if (a.verdict != Verdict::not_approved) return;
  std::string message = "template \"" + name + "\" (" + language + ") is not an approved template of this number";
  if (!a.hint.empty()) message += " (" + a.hint + ")";
  throw Error(ErrorCode::invalid_argument, message,
              {{"field", std::string(field_prefix) + "template.name"}, {"reason", "unknown_template"}});
}

TemplateCatalog& template_catalog() {
  static TemplateCatalog catalog;
  return catalog;
}

}  // namespace sb::messaging
