// Outbound webhooks of a workspace: subscriptions
// (/api/v1/workspaces/:id/webhooks) and the delivery log with replay
// (/api/v1/workspaces/:id/webhook-deliveries). Delivery itself is
// webhooks::WebhookDispatcher's; docs/api.md "Outbound webhooks".
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "webhooks/signature.hpp"
#include "webhooks/webhook_events.hpp"
#include "webhooks/webhook_store.hpp"

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;
namespace repo = webhooks::repo;

// Webhooks carry secrets and reach out of the host: admins only, like API keys.
constexpr Permission kManage = Permission::manage_keys;
constexpr int64_t kMaxReplay = 10000;

webhooks::WebhookDispatcher& dispatcher(ApiServices& s) {
  if (!s.webhooks) throw Error(ErrorCode::unavailable, "outbound webhooks are not running on this host");
  return *s.webhooks;
}

Error bad(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

json parse_events(const json& body) {
  auto it = body.find("events");
  if (it == body.end() || (it->is_string() && it->get<std::string>() == "*")) return "*";
  std::string names;
  for (const auto& n : webhooks::event_names()) names.append(names.empty() ? "" : ", ").append(n);
  if (!it->is_array() || it->empty())
    throw bad("events", "\"events\" must be \"*\" or a non-empty list of event names (" + names + ")");
  json out = json::array();
  for (const auto& v : *it) {
    if (!v.is_string() || !webhooks::is_event_name(v.get<std::string>()))
      throw bad("events", "unknown event " + v.dump().substr(0, 80) + " in \"events\" (known: " + names + ")");
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

std::string parse_url(const json& body) {
  const std::string url = required_string(body, "url", 2000);
  tenancy::Dashboards::check_url(url, "url");
  return url;
}

repo::Subscription require_subscription(ApiServices& s, const store::Workspace& ws, const std::string& id) {
  auto found = s.db.read([&](store::Connection& c) { return repo::find_subscription(c, ws.id, id); });
  if (!found) throw Error(ErrorCode::not_found, "no webhook " + id + " in this workspace");
  return std::move(*found);
}

repo::Delivery require_delivery(ApiServices& s, const store::Workspace& ws, const std::string& id) {
  auto found = s.db.read([&](store::Connection& c) { return repo::find_delivery(c, ws.id, id); });
  if (!found) throw Error(ErrorCode::not_found, "no webhook delivery " + id + " in this workspace");
  return std::move(*found);
}

json with_secret(const repo::Subscription& sub, const std::string& secret) {
  json out = repo::to_json(sub);
  out["secret"] = secret;  // shown once
  return out;
}

std::optional<std::string> query_choice(const Call& call, const char* name, const std::vector<std::string>& allowed) {
  auto v = call.query(name);
  if (!v) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list.append(list.empty() ? "" : ", ").append(a);
    throw bad(name, std::string("\"") + name + "\" must be one of " + list);
  }
  return v;
}

const std::vector<std::string> kStates = {"pending", "delivering", "delivered", "failed", "dead"};

std::vector<std::string> event_choices() {
  std::vector<std::string> out = webhooks::event_names();
  out.push_back(webhooks::kTestEvent);
  return out;
}

}  // namespace

void register_webhook_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string W = "/api/v1/workspaces/:workspace_id";

  routes.get(W + "/webhooks", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_query({});
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) { return repo::list_subscriptions(c, ws.id, page); }),
                         [](const repo::Subscription& sub) { return repo::to_json(sub); });
  });

  routes.post(W + "/webhooks", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({"url", "events", "description"});
    const json& body = call.body();
    repo::Subscription sub;
    sub.id = new_id("wh");
    sub.organization_id = ws.organization_id;
    sub.workspace_id = ws.id;
    sub.url = parse_url(body);
    sub.events = parse_events(body);
    sub.description = optional_string(body, "description", 500).value_or("");
    const std::string secret = webhooks::new_webhook_secret();
    sub.secret = s.secrets.seal(secret);
    sub.created_at = sub.updated_at = now_ms();
    s.db.write([&](store::Connection& c) { repo::insert_subscription(c, sub); });
    dispatcher(s).subscriptions_changed();
    call.audit("webhook.created", ws.organization_id, ws.id, "webhook", sub.id, {{"url", sub.url}});
    return created(with_secret(sub, secret));
  });

  routes.get(W + "/webhooks/:webhook_id", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    return ok(repo::to_json(require_subscription(s, ws, call.param("webhook_id"))));
  });

  routes.patch(W + "/webhooks/:webhook_id", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({"url", "events", "description"});
    const json& body = call.body();
    auto sub = require_subscription(s, ws, call.param("webhook_id"));
    if (body.contains("url")) sub.url = parse_url(body);
    if (body.contains("events")) sub.events = parse_events(body);
    if (body.contains("description")) sub.description = optional_string(body, "description", 500).value_or("");
    sub.updated_at = now_ms();
    s.db.write([&](store::Connection& c) { repo::update_subscription(c, sub); });
    call.audit("webhook.updated", ws.organization_id, ws.id, "webhook", sub.id, {{"url", sub.url}});
    return ok(repo::to_json(sub));
  });

  routes.del(W + "/webhooks/:webhook_id", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    const auto sub = require_subscription(s, ws, call.param("webhook_id"));
    s.db.write([&](store::Connection& c) { repo::delete_subscription(c, sub, now_ms()); });
    call.audit("webhook.deleted", ws.organization_id, ws.id, "webhook", sub.id);
    return no_content();
  });

  routes.post(W + "/webhooks/:webhook_id/rotate-secret", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({});
    auto sub = require_subscription(s, ws, call.param("webhook_id"));
    const std::string secret = webhooks::new_webhook_secret();
    sub.secret = s.secrets.seal(secret);
    sub.updated_at = now_ms();
    s.db.write([&](store::Connection& c) { repo::update_subscription(c, sub); });
    call.audit("webhook.secret_rotated", ws.organization_id, ws.id, "webhook", sub.id);
    return ok(with_secret(sub, secret));
  });

  routes.post(W + "/webhooks/:webhook_id/pause", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({});
    auto sub = require_subscription(s, ws, call.param("webhook_id"));
    const int64_t now = now_ms();
    sub.state = "paused";
    sub.paused_by = "api";
    sub.paused_at = now;
    sub.state_reason = "paused through the API";
    sub.updated_at = now;
    s.db.write([&](store::Connection& c) { repo::update_subscription(c, sub); });
    call.audit("webhook.paused", ws.organization_id, ws.id, "webhook", sub.id);
    return ok(repo::to_json(sub));
  });

  routes.post(W + "/webhooks/:webhook_id/resume", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({});
    auto sub = require_subscription(s, ws, call.param("webhook_id"));
    sub.state = "active";
    sub.paused_by.reset();
    sub.paused_at.reset();
    sub.state_reason.reset();
    sub.consecutive_failures = 0;
    sub.failing_since.reset();
    sub.updated_at = now_ms();
    s.db.write([&](store::Connection& c) { repo::update_subscription(c, sub); });
    dispatcher(s).wake();
    call.audit("webhook.resumed", ws.organization_id, ws.id, "webhook", sub.id);
    return ok(repo::to_json(sub));
  });

  routes.post(W + "/webhooks/:webhook_id/test", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({});
    const auto sub = require_subscription(s, ws, call.param("webhook_id"));
    return created(repo::to_json(dispatcher(s).queue_test(sub)));
  });

  routes.get(W + "/webhook-deliveries", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_query({"state", "event", "webhook_id"});
    repo::DeliveryFilter f;
    f.state = query_choice(call, "state", kStates);
    f.event_type = query_choice(call, "event", event_choices());
    f.webhook_id = call.query("webhook_id");
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) { return repo::list_deliveries(c, ws.id, f, page); }),
                         [](const repo::Delivery& d) { return repo::to_json(d); });
  });

  routes.get(W + "/webhook-deliveries/:delivery_id", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    const auto d = require_delivery(s, ws, call.param("delivery_id"));
    json out = repo::to_json(d);
    out["attempt_log"] = json::array();
    for (const auto& a : s.db.read([&](store::Connection& c) { return repo::attempts_of(c, d.id); }))
      out["attempt_log"].push_back(repo::to_json(a));
    return ok(out);
  });

  routes.post(W + "/webhook-deliveries/:delivery_id/replay", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({});
    const auto d = require_delivery(s, ws, call.param("delivery_id"));
    const bool queued = s.db.write([&](store::Connection& c) { return repo::replay(c, d, dispatcher(s).now()); });
    if (!queued) throw Error(ErrorCode::conflict, "delivery " + d.id + " is being delivered right now; try again");
    dispatcher(s).wake();
    call.audit("webhook.replayed", ws.organization_id, ws.id, "webhook_delivery", d.id);
    return ok(repo::to_json(require_delivery(s, ws, d.id)));
  });

  routes.post(W + "/webhook-deliveries/replay", [&s](Call& call) {
    const auto ws = call.workspace(kManage);
    call.allow_fields({"from", "to", "state", "event", "webhook_id"});
    const json& body = call.body();
    repo::DeliveryFilter f;
    f.from = optional_int(body, "from", 0, int64_t{1} << 50);
    f.to = optional_int(body, "to", 0, int64_t{1} << 50);
    if (!f.from || !f.to) throw bad(f.from ? "to" : "from", "\"from\" and \"to\" (epoch milliseconds) are required");
    if (*f.to <= *f.from) throw bad("to", "\"to\" must be after \"from\"");
    f.state = optional_string(body, "state", 20);
    if (f.state && std::find(kStates.begin(), kStates.end(), *f.state) == kStates.end())
      throw bad("state", "\"state\" must be one of pending, delivering, delivered, failed, dead");
    f.event_type = optional_string(body, "event", 100);
    f.webhook_id = optional_string(body, "webhook_id", 100);
    const int64_t n =
        s.db.write([&](store::Connection& c) { return repo::replay_range(c, ws.id, f, dispatcher(s).now(), kMaxReplay); });
    dispatcher(s).wake();
    call.audit("webhook.replayed", ws.organization_id, ws.id, "webhook_delivery", "",
               {{"from", *f.from}, {"to", *f.to}, {"count", n}});
    return ok({{"replayed", n}, {"limit", kMaxReplay}});
  });
}

}  // namespace sb::api
