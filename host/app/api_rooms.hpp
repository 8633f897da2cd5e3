#pragma once
// The tenancy and API rooms on top of ServiceRooms: keys from the data dir
// (or config), access control, accounts, API keys, the dashboard registry,
// the event hub, metrics and rate limits, and every /api/v1 route on the
// HTTP server. Built after the services, before the server starts; taken
// down after the server stopped.
#include "api/api_context.hpp"
#include "api/event_stream.hpp"
#include "api/http_server.hpp"
#include "api/metrics.hpp"
#include "app/service_rooms.hpp"
#include "core/config.hpp"
#include "tenancy/access.hpp"
#include "tenancy/access_tokens.hpp"
#include "tenancy/accounts.hpp"
#include "tenancy/api_keys.hpp"
#include "tenancy/crypto.hpp"
#include "tenancy/dashboards.hpp"
#include "tenancy/rate_limiter.hpp"
#include "webhooks/webhook_dispatcher.hpp"

#include <memory>

namespace sb::app {

struct ApiRooms {
  std::unique_ptr<tenancy::SecretBox> secrets;
  std::unique_ptr<tenancy::AccessTokens> tokens;
  std::unique_ptr<tenancy::AccessControl> access;
  std::unique_ptr<tenancy::Accounts> accounts;
  std::unique_ptr<tenancy::ApiKeys> keys;
  std::unique_ptr<tenancy::Dashboards> dashboards;
  std::unique_ptr<api::EventHub> events;
  std::unique_ptr<api::Metrics> metrics;
  std::unique_ptr<tenancy::RateLimiter> key_limiter, user_limiter, login_limiter;
  std::unique_ptr<tenancy::LoginThrottle> login_throttle;
  std::unique_ptr<webhooks::WebhookDispatcher> webhooks;  // subscriptions and dashboards
  std::unique_ptr<api::ApiServices> services;
  std::unique_ptr<api::ApiRoutes> routes;

  // The secret box alone (the channel sessions need it before the rest).
  static std::unique_ptr<tenancy::SecretBox> open_secret_box(const Config& config);
  // Everything else, with `secrets` already opened; routes go on `http`.
  void open(const Config& config, ServiceRooms& rooms);
  void add_routes(api::HttpServer& http);
  // Wakes SSE streams so the server can stop.
  void shutdown();
};

}  // namespace sb::app
