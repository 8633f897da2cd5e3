#pragma once
// Which message templates a profile's number may send, asked of its channel
// (the optional op SB_OP_TEMPLATES_LIST, plugin.h) and kept for a short
// while, so that a template send naming a template the number does not have
// is refused before it is queued — without a provider call per send.
//
// A listing is trusted for `ttl`; a name and language it does not hold as
// APPROVED is looked up once more (a template approved a minute ago) unless
// the listing is younger than `miss_refresh_floor`. Never a refusal caused
// by our own failure: a channel without the op (the sandbox, a Cloud number
// without waba_id) is not checked for as long as its session lives, and a
// listing that fails (the provider down, a bad answer) leaves sends
// unchecked for `retry_after_failure`, logged once until a listing works
// again. The cache is per profile and per session instance: a reopened
// session (new config) is asked again.
//
// Threads: API workers call check() concurrently. `mu_` guards the entries'
// fields; an entry's `fetch` mutex makes concurrent misses of one profile
// share one listing. `mu_` is never held while calling
// the channel.
#include "messaging/channel_sessions.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace sb::messaging {

class TemplateCatalog {
 public:
  struct Options {
    std::chrono::milliseconds ttl{5 * 60 * 1000};
    std::chrono::milliseconds retry_after_failure{30 * 1000};
    std::chrono::milliseconds miss_refresh_floor{1000};
  };
  enum class Verdict { approved, not_approved, unchecked };
  struct Answer {
    Verdict verdict = Verdict::unchecked;
    std::string hint;  // for not_approved: "its status is PENDING", "approved in: pt_BR"
  };

  TemplateCatalog() : TemplateCatalog(Options{}) {}
  explicit TemplateCatalog(Options options) : options_(options) {}

  // Whether (name, language) is an APPROVED template of the profile's
  // number. unchecked when the profile has no session, its channel does not
  // list templates, or listing failed.
  Answer check(ChannelSessions& sessions, const std::string& profile_id, const std::string& name,
               const std::string& language);

  // For a checked "template" payload ({"template": {"name", "language"}}):
  // throws sb::Error(invalid_argument, "template \"x\" (en_US) is not an
  // approved template of this number ...", details {"field": field_prefix +
  // "template.name", "reason": "unknown_template"}) when check() answers
  // not_approved.
  void require_approved(ChannelSessions& sessions, const std::string& profile_id, const nlohmann::json& payload,
                        std::string_view field_prefix = "payload.");

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { unknown, listed, unsupported, failed };
  struct Entry {
    std::mutex fetch;  // held while listing
    // Guarded by TemplateCatalog::mu_:
    std::weak_ptr<plugins::ChannelInstance> session;
    State state = State::unknown;
    std::map<std::string, std::map<std::string, std::string>> templates;  // name -> language -> status
    Clock::time_point at;
    uint64_t version = 0;
    bool warned = false;
  };
  // The answer from `e` as it is, or verdict unchecked with `refresh` set
  // when it must be listed first. Needs mu_.
  Answer decide(const Entry& e, const std::string& name, const std::string& language, bool listed_now,
                bool& refresh) const;
  void list(Entry& e, const std::shared_ptr<plugins::ChannelInstance>& session, const std::string& profile_id);

  const Options options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
};

// The process's catalog, shared by the API's send routes.
TemplateCatalog& template_catalog();

}  // namespace sb::messaging
