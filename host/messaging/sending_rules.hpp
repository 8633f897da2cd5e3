#pragma once
// Sending rules: how fast, when and how much a profile (one WhatsApp number)
// may send. WhatsApp bans numbers that send too much cold outreach, too
// fast, to people who block them; these rules keep a number under the
// limits an admin sets.
//
// Outgoing rows are of two kinds with separate budgets:
//   reply — inside a conversation the contact wrote to in the last 24 hours;
//   cold  — outreach: campaigns and first messages.
// Each kind has budgets per second, per minute (sliding windows) and per
// day (since midnight in the workspace's time zone). Cold sending also has:
//   - a warm-up ramp: a number's daily cold cap starts at `first_day` and
//     grows by `daily_growth` each day since warm-up started, up to the
//     daily budget;
//   - randomized spacing: at least a random [min_ms, max_ms] between two
//     cold messages;
//   - quiet hours in the workspace's time zone (replies too, if asked);
//   - a circuit breaker: when, among the last `window` cold sends, failures
//     and refusals reach `max_failure_ratio` (with at least `min_samples`),
//     cold sending pauses for `cooldown_ms`; then one probe send decides
//     whether it closes again.
// Every limit is optional (absent = unlimited) and rules can be off
// altogether ("enabled": false), which is the default for a new profile.
//
// RuleGate holds one profile's live state (recent send times, today's
// counts, the breaker). It is not thread-safe: the outbox uses a profile's
// gate from the one sender thread working on that profile, and reads a
// snapshot for the API under its own lock.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sb::messaging {

struct Budget {
  std::optional<int64_t> per_second;
  std::optional<int64_t> per_minute;
  std::optional<int64_t> per_day;
};

struct WarmUp {
  bool enabled = false;
  int64_t first_day = 50;     // cold messages allowed on the first day
  double daily_growth = 1.5;  // factor per day
};

struct Spacing {
  int64_t min_ms = 0;
  int64_t max_ms = 0;
};

struct QuietHours {
  bool enabled = false;
  int start_minute = 21 * 60;  // local minute of the day quiet hours begin, "21:00"
  int end_minute = 8 * 60;     // ... and end, "08:00" (may wrap past midnight)
  bool include_replies = false;
};

struct Breaker {
  bool enabled = true;
  int64_t window = 50;
  int64_t min_samples = 20;
  double max_failure_ratio = 0.25;
  int64_t cooldown_ms = 30 * 60 * 1000;
};

struct SendingRules {
  bool enabled = false;
  Budget reply;
  Budget cold;
  WarmUp warmup;
  Spacing spacing;
  QuietHours quiet_hours;
  Breaker breaker;
};

// Parses and checks rules; missing fields take the defaults above. Throws
// sb::Error(invalid_argument) naming the field ("cold.per_minute must be a
// positive integer", "quiet_hours.start must be HH:MM", unknown fields).
SendingRules parse_sending_rules(const nlohmann::json& json);
nlohmann::json to_json(const SendingRules& rules);

// "reply" or "cold".
bool is_send_kind(std::string_view kind);

// The workspace's time zone, for day boundaries and quiet hours.
class LocalTime {
 public:
  // Throws sb::Error(invalid_argument) for an unknown IANA name.
  explicit LocalTime(const std::string& timezone);
  // Minute of the local day (0..1439) at `epoch_ms`.
  int minute_of_day(int64_t epoch_ms) const;
  // Epoch ms of the local midnight that starts the day of `epoch_ms`.
  int64_t day_start(int64_t epoch_ms) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  const void* zone_;  // const date::time_zone*
};

// What a kind may send now.
struct Allowance {
  int64_t count = 0;                // rows that may be sent now (0: none)
  std::optional<int64_t> next_at;   // when count is 0: when to look again
  std::string blocked_by;           // when count is 0: "per_second", "quiet_hours", "breaker", ...
};

class RuleGate {
 public:
  RuleGate(SendingRules rules, LocalTime zone, std::optional<int64_t> warmup_started_at);

  const SendingRules& rules() const { return rules_; }
  void set_rules(SendingRules rules, std::optional<int64_t> warmup_started_at);

  // How many rows of `kind` may go out at `now`, at most `want`.
  Allowance allow(std::string_view kind, int64_t now, int64_t want);
  // Counts one send of `kind` at `now` (a row handed to the channel).
  void sent(std::string_view kind, int64_t now);
  // The outcome of a cold send, for the breaker. Returns true when this
  // outcome opened the breaker.
  bool cold_outcome(bool ok, int64_t now);
  // Seeds today's count (from the database, after a restart).
  void seed_today(std::string_view kind, int64_t day_start, int64_t count);
  // Restores a breaker that was open when the process stopped.
  void restore_breaker(int64_t open_until, std::string reason);

  bool breaker_open(int64_t now) const { return breaker_until_ && now < *breaker_until_; }
  std::optional<int64_t> breaker_until() const { return breaker_until_; }
  const std::string& breaker_reason() const { return breaker_reason_; }
  // Cold cap of the day of `now` after warm-up (nullopt: unlimited).
  std::optional<int64_t> cold_daily_cap(int64_t now) const;
  // Whether quiet hours hold `kind` back at `now`, and until when.
  std::optional<int64_t> quiet_until(std::string_view kind, int64_t now) const;

  // The state for the API: budgets used, caps, quiet hours, breaker.
  nlohmann::json state(int64_t now);

 private:
  struct KindState {
    std::deque<int64_t> recent;  // send times within the last minute
    int64_t day_start = 0;
    int64_t today = 0;
    int64_t next_spacing_at = 0;  // cold: not before this
  };
  KindState& of(std::string_view kind);
  void roll(KindState& k, int64_t now);
  std::optional<int64_t> daily_cap(std::string_view kind, int64_t now) const;

  SendingRules rules_;
  LocalTime zone_;
  std::optional<int64_t> warmup_started_at_;
  KindState reply_;
  KindState cold_;
  std::deque<bool> outcomes_;  // last cold outcomes, true = ok
  std::optional<int64_t> breaker_until_;
  bool probing_ = false;  // the breaker's cool-down ended: one probe send decides
  std::string breaker_reason_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sb::messaging
