#include "app/api_rooms.hpp"

#include "core/error.hpp"

#include <spdlog/spdlog.h>

namespace sb::app {

std::unique_ptr<tenancy::SecretBox> ApiRooms::open_secret_box(const Config& config) {
  return std::make_unique<tenancy::SecretBox>(tenancy::load_or_create_key(
      config.security.secrets_key, config.data_dir / "keys" / "secrets.key", "secrets key (SWITCHBOARD_SECRETS_KEY)"));
}

void ApiRooms::open(const Config& config, ServiceRooms& rooms) {
  const auto& sec = config.security;
  tokens = std::make_unique<tenancy::AccessTokens>(
      tenancy::load_or_create_key(sec.token_key, config.data_dir / "keys" / "token.key",
                                  "token signing key (SWITCHBOARD_TOKEN_KEY)"),
      sec.access_token_ttl_s);
  access = std::make_unique<tenancy::AccessControl>(
      *rooms.db, *tokens, tenancy::AccessOptions{sec.engine_api_key, sec.internal_psk});
  tenancy::AccountsOptions account_options;
  account_options.password_cost = tenancy::parse_password_cost(sec.password_cost).value_or(
      tenancy::PasswordCost::interactive);
  account_options.refresh_ttl_ms = int64_t{sec.refresh_token_ttl_s} * 1000;
  accounts = std::make_unique<tenancy::Accounts>(*rooms.db, *tokens, account_options);
  keys = std::make_unique<tenancy::ApiKeys>(*rooms.db);
  dashboards = std::make_unique<tenancy::Dashboards>(*rooms.db, *keys, *secrets);
  events = std::make_unique<api::EventHub>(*rooms.bus);
  webhooks = std::make_unique<webhooks::WebhookDispatcher>(*rooms.db, *rooms.bus, *dashboards, *secrets,
                                                          webhooks::DispatcherOptions::from_environment());
  metrics = std::make_unique<api::Metrics>();
  metrics->attach(*rooms.bus);
  key_limiter = std::make_unique<tenancy::RateLimiter>(sec.key_rate, sec.key_burst);
  user_limiter = std::make_unique<tenancy::RateLimiter>(sec.user_rate, sec.user_burst);
  login_limiter = std::make_unique<tenancy::RateLimiter>(sec.login_rate, sec.login_burst);
  login_throttle = std::make_unique<tenancy::LoginThrottle>(static_cast<int>(sec.login_free_failures));
  services.reset(new api::ApiServices{*rooms.db, *rooms.registry, *rooms.bus, *rooms.messaging, *rooms.flows,
                                      *access, *accounts, *keys, *dashboards, *secrets, *events, *metrics,
                                      *key_limiter, *user_limiter, *login_limiter, *login_throttle,
                                      std::chrono::milliseconds(sec.sse_heartbeat_ms)});
  services->webhooks = webhooks.get();
  services->knowledge = rooms.knowledge.get();
  store::Database* db = rooms.db.get();
  metrics->add_gauge("switchboard_outbox_depth", "Outbound messages waiting to be sent (pending or sending)", [db] {
    return static_cast<double>(db->read([](store::Connection& c) {
      return c.query_one("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')")->integer("n");
    }));
  });
  metrics->add_gauge("switchboard_webhook_queue_depth", "Webhook deliveries waiting (pending, delivering or failed)",
                     [db] { return static_cast<double>(db->read([](store::Connection& c) {
                       return webhooks::repo::queue_depth(c);
                     })); });
  webhooks::WebhookDispatcher* dispatcher = webhooks.get();
  metrics->add_counter_callback("switchboard_webhook_failed_attempts_total", "Webhook delivery attempts that failed",
                                [dispatcher] { return static_cast<double>(dispatcher->stats().failed_attempts); });
  metrics->add_counter_callback("switchboard_webhook_dead_total", "Webhook deliveries given up after every retry",
                                [dispatcher] { return static_cast<double>(dispatcher->stats().dead); });
  messaging::Outbox* outbox = &rooms.messaging->outbox();
  metrics->add_gauge_series(
      "switchboard_sending_rule_state",
      "Sending rules per profile: sent_last_minute and sent_today per kind, daily_cap (-1 unlimited), "
      "quiet_hours (1 active), breaker_open (1 open)",
      [outbox] {
        api::Metrics::LabelledValues series;
        for (const auto& [profile, st] : outbox->rule_states()) {
          const std::string p = "profile=\"" + api::Metrics::escape_label_value(profile) + "\"";
          for (const char* kind : {"reply", "cold"}) {
            const auto& k = st[kind];
            const std::string l = p + ",kind=\"" + kind + "\"";
            series.emplace_back(l + ",measure=\"sent_last_minute\"", k["sent_last_minute"].get<double>());
            series.emplace_back(l + ",measure=\"sent_today\"", k["sent_today"].get<double>());
            series.emplace_back(l + ",measure=\"daily_cap\"",
                                k["daily_cap"].is_null() ? -1.0 : k["daily_cap"].get<double>());
          }
          series.emplace_back(p + ",measure=\"quiet_hours\"", st["quiet_hours"]["active"].get<bool>() ? 1.0 : 0.0);
          series.emplace_back(p + ",measure=\"breaker_open\"", st["breaker"]["state"] == "open" ? 1.0 : 0.0);
        }
        return series;
      });
  flows::FlowRuntime* runtime = rooms.flows.get();
  metrics->add_counter_callback("switchboard_flow_errors_total", "Flow executions that failed",
                                [runtime] { return static_cast<double>(runtime->stats().failed); });
  if (sec.bootstrap_admin_email && sec.bootstrap_admin_password) {
    const auto admin = accounts->ensure_bootstrap_admin(*sec.bootstrap_admin_email, *sec.bootstrap_admin_password);
    spdlog::info("bootstrap admin: {}", admin.email);
  }
  if (!sec.engine_api_key) spdlog::info("ENGINE_API_KEY is not set: the master key is off");
  if (!sec.internal_psk) spdlog::info("WORKFLOW_ENGINE_INTERNAL_PSK is not set: dashboard registration is off");
}

void ApiRooms::add_routes(api::HttpServer& http) {
  routes = std::make_unique<api::ApiRoutes>(http, *services);
  api::register_api_routes(*routes);
}

void ApiRooms::shutdown() {
  if (events) events->shutdown();
  if (webhooks) webhooks->stop();
}

}  // namespace sb::app
