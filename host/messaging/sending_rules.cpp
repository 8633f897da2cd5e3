#include "messaging/sending_rules.hpp"

#include "core/error.hpp"
#include "core/time_zone.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>

namespace sb::messaging {

namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kDay = 24 * 60 * kMinute;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "sending rules: " + field + " " + what);
}

void only_fields(const nlohmann::json& j, const std::string& where, std::initializer_list<const char*> allowed) {
  if (!j.is_object()) bad(where.empty() ? "the rules" : where, "must be an object");
  for (const auto& [key, value] : j.items()) {
    (void)value;
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
      bad(where.empty() ? key : where + "." + key, "is not a known field");
  }
}

std::string path(const std::string& where, const char* key) { return where.empty() ? key : where + "." + key; }

std::optional<int64_t> read_limit(const nlohmann::json& j, const std::string& where, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<int64_t>() < 1) bad(path(where, key), "must be a positive integer or null");
  return it->get<int64_t>();
}

int64_t read_int(const nlohmann::json& j, const std::string& where, const char* key, int64_t fallback, int64_t min,
                 int64_t max) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max)
    bad(path(where, key), "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  return it->get<int64_t>();
}

double read_double(const nlohmann::json& j, const std::string& where, const char* key, double fallback, double min,
                   double max) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_number() || it->get<double>() < min || it->get<double>() > max)
    bad(path(where, key), "must be a number from " + std::to_string(min) + " to " + std::to_string(max));
  return it->get<double>();
}

bool read_bool(const nlohmann::json& j, const std::string& where, const char* key, bool fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (!it->is_boolean()) bad(path(where, key), "must be true or false");
  return it->get<bool>();
}

int read_clock(const nlohmann::json& j, const std::string& where, const char* key, int fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  int h = -1, m = -1;
  char tail = 0;
  if (!it->is_string() || std::sscanf(it->get<std::string>().c_str(), "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 ||
      h > 23 || m < 0 || m > 59)
    bad(path(where, key), "must be a time of day as \"HH:MM\" (00:00 to 23:59)");
  return h * 60 + m;
}

std::string clock_text(int minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minute / 60 % 24, minute % 60);
  return buf;
}

Budget read_budget(const nlohmann::json& j, const std::string& where) {
  only_fields(j, where, {"per_second", "per_minute", "per_day"});
  return {read_limit(j, where, "per_second"), read_limit(j, where, "per_minute"), read_limit(j, where, "per_day")};
}

nlohmann::json limit_json(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

nlohmann::json budget_json(const Budget& b) {
  return {{"per_second", limit_json(b.per_second)}, {"per_minute", limit_json(b.per_minute)},
          {"per_day", limit_json(b.per_day)}};
}

const date::time_zone* zone_of(const void* z) { return static_cast<const date::time_zone*>(z); }

}  // namespace

bool is_send_kind(std::string_view kind) { return kind == "reply" || kind == "cold"; }

SendingRules parse_sending_rules(const nlohmann::json& j) {
  SendingRules r;
  if (j.is_null()) return r;
  only_fields(j, "", {"enabled", "reply", "cold", "warmup", "spacing", "quiet_hours", "breaker"});
  r.enabled = read_bool(j, "", "enabled", r.enabled);
  if (j.contains("reply")) r.reply = read_budget(j["reply"], "reply");
  if (j.contains("cold")) r.cold = read_budget(j["cold"], "cold");
  if (j.contains("warmup")) {
    const auto& w = j["warmup"];
    only_fields(w, "warmup", {"enabled", "first_day", "daily_growth"});
    r.warmup.enabled = read_bool(w, "warmup", "enabled", r.warmup.enabled);
    r.warmup.first_day = read_int(w, "warmup", "first_day", r.warmup.first_day, 1, 1'000'000'000);
    r.warmup.daily_growth = read_double(w, "warmup", "daily_growth", r.warmup.daily_growth, 1.0, 100.0);
  }
  if (j.contains("spacing")) {
    const auto& s = j["spacing"];
    only_fields(s, "spacing", {"min_ms", "max_ms"});
    r.spacing.min_ms = read_int(s, "spacing", "min_ms", 0, 0, kDay);
    r.spacing.max_ms = read_int(s, "spacing", "max_ms", r.spacing.min_ms, 0, kDay);
    if (r.spacing.max_ms < r.spacing.min_ms) bad("spacing.max_ms", "must not be less than spacing.min_ms");
  }
  if (j.contains("quiet_hours")) {
    const auto& q = j["quiet_hours"];
    only_fields(q, "quiet_hours", {"enabled", "start", "end", "include_replies"});
    r.quiet_hours.enabled = read_bool(q, "quiet_hours", "enabled", true);
    r.quiet_hours.start_minute = read_clock(q, "quiet_hours", "start", r.quiet_hours.start_minute);
    r.quiet_hours.end_minute = read_clock(q, "quiet_hours", "end", r.quiet_hours.end_minute);
    r.quiet_hours.include_replies = read_bool(q, "quiet_hours", "include_replies", false);
    if (r.quiet_hours.start_minute == r.quiet_hours.end_minute)
      bad("quiet_hours", "start and end must differ");
  }
  if (j.contains("breaker")) {
    const auto& b = j["breaker"];
    only_fields(b, "breaker", {"enabled", "window", "min_samples", "max_failure_ratio", "cooldown_ms"});
    r.breaker.enabled = read_bool(b, "breaker", "enabled", r.breaker.enabled);
    r.breaker.window = read_int(b, "breaker", "window", r.breaker.window, 1, 10'000);
    r.breaker.min_samples = read_int(b, "breaker", "min_samples", std::min(r.breaker.min_samples, r.breaker.window),
                                     1, r.breaker.window);
    r.breaker.max_failure_ratio =
        read_double(b, "breaker", "max_failure_ratio", r.breaker.max_failure_ratio, 0.01, 1.0);
    r.breaker.cooldown_ms = read_int(b, "breaker", "cooldown_ms", r.breaker.cooldown_ms, 1000, 7 * kDay);
  }
  return r;
}

nlohmann::json to_json(const SendingRules& r) {
  return {{"enabled", r.enabled},
          {"reply", budget_json(r.reply)},
          {"cold", budget_json(r.cold)},
          {"warmup",
           {{"enabled", r.warmup.enabled}, {"first_day", r.warmup.first_day}, {"daily_growth", r.warmup.daily_growth}}},
          {"spacing", {{"min_ms", r.spacing.min_ms}, {"max_ms", r.spacing.max_ms}}},
          {"quiet_hours",
           {{"enabled", r.quiet_hours.enabled},
            {"start", clock_text(r.quiet_hours.start_minute)},
            {"end", clock_text(r.quiet_hours.end_minute)},
            {"include_replies", r.quiet_hours.include_replies}}},
          {"breaker",
           {{"enabled", r.breaker.enabled},
            {"window", r.breaker.window},
            {"min_samples", r.breaker.min_samples},
            {"max_failure_ratio", r.breaker.max_failure_ratio},
            {"cooldown_ms", r.breaker.cooldown_ms}}}};
}

// ---- LocalTime ---------------------------------------------------------------

LocalTime::LocalTime(const std::string& timezone) : name_(timezone), zone_(find_time_zone(timezone)) {}

int LocalTime::minute_of_day(int64_t epoch_ms) const {
  const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{epoch_ms}};
  const auto local = zone_of(zone_)->to_local(t);
  const auto since_midnight = local - date::floor<date::days>(local);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count());
}

int64_t LocalTime::day_start(int64_t epoch_ms) const {
  const date::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds{epoch_ms}};
  const date::local_days day = date::floor<date::days>(zone_of(zone_)->to_local(t));
  // Midnight may not exist (a DST jump at 00:00): take the earliest valid time.
  const auto info = zone_of(zone_)->get_info(day);
  date::sys_seconds start;
  if (info.result == date::local_info::nonexistent) {
    start = info.second.begin;
  } else {
    start = date::sys_seconds{day.time_since_epoch()} - info.first.offset;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count();
}

// ---- RuleGate ----------------------------------------------------------------

RuleGate::RuleGate(SendingRules rules, LocalTime zone, std::optional<int64_t> warmup_started_at)
    : rules_(std::move(rules)), zone_(std::move(zone)), warmup_started_at_(warmup_started_at) {}

void RuleGate::set_rules(SendingRules rules, std::optional<int64_t> warmup_started_at) {
  rules_ = std::move(rules);
  warmup_started_at_ = warmup_started_at;
  if (!rules_.breaker.enabled) {
    breaker_until_.reset();
    probing_ = false;
  }
}

RuleGate::KindState& RuleGate::of(std::string_view kind) { return kind == "cold" ? cold_ : reply_; }

void RuleGate::roll(KindState& k, int64_t now) {
  while (!k.recent.empty() && k.recent.front() <= now - kMinute) k.recent.pop_front();
  const int64_t day = zone_.day_start(now);
  if (day != k.day_start) {
    k.day_start = day;
    k.today = 0;
  }
}

void RuleGate::seed_today(std::string_view kind, int64_t day_start, int64_t count) {
  KindState& k = of(kind);
  k.day_start = day_start;
  k.today = count;
}

void RuleGate::restore_breaker(int64_t open_until, std::string reason) {
  breaker_until_ = open_until;
  breaker_reason_ = std::move(reason);
}

std::optional<int64_t> RuleGate::cold_daily_cap(int64_t now) const {
  std::optional<int64_t> cap = rules_.cold.per_day;
  if (rules_.warmup.enabled && warmup_started_at_) {
    const int64_t days = std::max<int64_t>(0, (now - *warmup_started_at_) / kDay);
    const double ramp = static_cast<double>(rules_.warmup.first_day) *
                        std::pow(rules_.warmup.daily_growth, static_cast<double>(std::min<int64_t>(days, 365)));
    const int64_t ramped = ramp > 1e15 ? int64_t{1'000'000'000'000'000} : static_cast<int64_t>(std::floor(ramp));
    cap = cap ? std::min(*cap, ramped) : ramped;
  }
  return cap;
}

std::optional<int64_t> RuleGate::daily_cap(std::string_view kind, int64_t now) const {
  return kind == "cold" ? cold_daily_cap(now) : rules_.reply.per_day;
}

std::optional<int64_t> RuleGate::quiet_until(std::string_view kind, int64_t now) const {
  const QuietHours& q = rules_.quiet_hours;
  if (!q.enabled || (kind == "reply" && !q.include_replies)) return std::nullopt;
  const int minute = zone_.minute_of_day(now);
  const bool wraps = q.start_minute > q.end_minute;
  const bool quiet = wraps ? (minute >= q.start_minute || minute < q.end_minute)
                           : (minute >= q.start_minute && minute < q.end_minute);
  if (!quiet) return std::nullopt;
  // The end is today, or tomorrow when the window wraps and we are before midnight.
  int64_t end = zone_.day_start(now) + int64_t{q.end_minute} * kMinute;
  if (wraps && minute >= q.start_minute) end = zone_.day_start(zone_.day_start(now) + kDay + kDay / 2) + int64_t{q.end_minute} * kMinute;
  return std::max(end, now + 1);
}

Allowance RuleGate::allow(std::string_view kind, int64_t now, int64_t want) {
  Allowance a;
  if (!rules_.enabled) {
    a.count = want;
    return a;
  }
  KindState& k = of(kind);
  roll(k, now);
  const Budget& budget = kind == "cold" ? rules_.cold : rules_.reply;
  auto block = [&](int64_t at, const char* why) {
    a.count = 0;
    a.next_at = std::max(at, now + 1);
    a.blocked_by = why;
    return a;
  };

  if (auto until = quiet_until(kind, now)) return block(*until, "quiet_hours");
  if (kind == "cold" && rules_.breaker.enabled && breaker_until_) {
    if (now < *breaker_until_) return block(*breaker_until_, "breaker");
    probing_ = true;  // cool-down over: one probe decides
  }
  int64_t n = want;
  if (auto cap = daily_cap(kind, now)) {
    if (k.today >= *cap) return block(zone_.day_start(k.day_start + kDay + kDay / 2), "per_day");
    n = std::min(n, *cap - k.today);
  }
  if (budget.per_minute) {
    const auto in_window = static_cast<int64_t>(k.recent.size());
    if (in_window >= *budget.per_minute) return block(k.recent[static_cast<size_t>(in_window - *budget.per_minute)] + kMinute, "per_minute");
    n = std::min(n, *budget.per_minute - in_window);
  }
  if (budget.per_second) {
    const auto first = std::upper_bound(k.recent.begin(), k.recent.end(), now - kSecond);
    const auto in_window = static_cast<int64_t>(k.recent.end() - first);
    if (in_window >= *budget.per_second)
      return block(*(k.recent.end() - *budget.per_second) + kSecond, "per_second");
    n = std::min(n, *budget.per_second - in_window);
  }
  if (kind == "cold") {
    if (rules_.spacing.max_ms > 0) {
      if (now < k.next_spacing_at) return block(k.next_spacing_at, "spacing");
      n = std::min<int64_t>(n, 1);
    }
    if (probing_) n = std::min<int64_t>(n, 1);
  }
  a.count = std::max<int64_t>(0, n);
  return a;
}

void RuleGate::sent(std::string_view kind, int64_t now) {
  KindState& k = of(kind);
  roll(k, now);
  k.recent.push_back(now);
  ++k.today;
  if (kind == "cold" && rules_.spacing.max_ms > 0) {
    std::uniform_int_distribution<int64_t> gap(rules_.spacing.min_ms, rules_.spacing.max_ms);
    k.next_spacing_at = now + gap(rng_);
  }
}

bool RuleGate::cold_outcome(bool ok, int64_t now) {
  if (!rules_.enabled || !rules_.breaker.enabled) return false;
  if (probing_) {
    probing_ = false;
    if (ok) {
      breaker_until_.reset();
      breaker_reason_.clear();
      outcomes_.clear();
      return false;
    }
    breaker_until_ = now + rules_.breaker.cooldown_ms;
    breaker_reason_ = "the probe send after the cool-down failed too";
    return true;
  }
  outcomes_.push_back(ok);
  while (static_cast<int64_t>(outcomes_.size()) > rules_.breaker.window) outcomes_.pop_front();
  const auto samples = static_cast<int64_t>(outcomes_.size());
  if (samples < rules_.breaker.min_samples || breaker_open(now)) return false;
  const auto failures = std::count(outcomes_.begin(), outcomes_.end(), false);
  const double ratio = static_cast<double>(failures) / static_cast<double>(samples);
  if (ratio < rules_.breaker.max_failure_ratio) return false;
  breaker_until_ = now + rules_.breaker.cooldown_ms;
  breaker_reason_ = std::to_string(failures) + " of the last " + std::to_string(samples) +
                    " cold messages failed or were refused";
  outcomes_.clear();
  return true;
}

nlohmann::json RuleGate::state(int64_t now) {
  auto kind_state = [&](std::string_view kind) {
    KindState& k = of(kind);
    roll(k, now);
    const auto first = std::upper_bound(k.recent.begin(), k.recent.end(), now - kSecond);
    auto cap = daily_cap(kind, now);
    nlohmann::json j = {{"sent_last_second", static_cast<int64_t>(k.recent.end() - first)},
                        {"sent_last_minute", static_cast<int64_t>(k.recent.size())},
                        {"sent_today", k.today},
                        {"daily_cap", limit_json(cap)}};
    const Allowance a = allow(kind, now, 1);
    j["blocked_by"] = a.count > 0 ? nlohmann::json(nullptr) : nlohmann::json(a.blocked_by);
    j["next_at"] = a.count > 0 ? nlohmann::json(nullptr) : nlohmann::json(*a.next_at);
    return j;
  };
  nlohmann::json out = {{"enabled", rules_.enabled}, {"reply", kind_state("reply")}, {"cold", kind_state("cold")}};
  const auto q = quiet_until("cold", now);
  out["quiet_hours"] = {{"active", q.has_value()}, {"until", q ? nlohmann::json(*q) : nlohmann::json(nullptr)},
                        {"timezone", zone_.name()}};
  const int64_t samples = static_cast<int64_t>(outcomes_.size());
  const auto failures = std::count(outcomes_.begin(), outcomes_.end(), false);
  out["breaker"] = {{"state", breaker_open(now) ? "open" : (breaker_until_ ? "half_open" : "closed")},
                    {"until", breaker_until_ ? nlohmann::json(*breaker_until_) : nlohmann::json(nullptr)},
                    {"reason", breaker_reason_.empty() ? nlohmann::json(nullptr) : nlohmann::json(breaker_reason_)},
                    {"samples", samples},
                    {"failure_ratio", samples ? static_cast<double>(failures) / static_cast<double>(samples) : 0.0}};
  out["warmup"] = {{"enabled", rules_.warmup.enabled},
                   {"started_at", warmup_started_at_ ? nlohmann::json(*warmup_started_at_) : nlohmann::json(nullptr)},
                   {"day", warmup_started_at_ ? nlohmann::json(std::max<int64_t>(0, (now - *warmup_started_at_) / kDay) + 1)
                                              : nlohmann::json(nullptr)},
                   {"cold_cap_today", limit_json(cold_daily_cap(now))}};
  return out;
}

}  // namespace sb::messaging
