// Profiles (one WhatsApp number each, bound to a channel plugin) and their
// channel sessions: /api/v1/workspaces/:workspace_id/profiles*, and the
// dashboards' flat /api/v1/sessions* aliases, which name the workspace by
// "tenantId" in the query or body and share the same handlers.
//
// A profile's config is checked against its plugin's manifest schema and
// stored with its secrets sealed; every response carries it redacted.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "flows/auto_reply.hpp"
#include "plugins/manifest.hpp"
#include "plugins/secret_config.hpp"
#include "store/profile_repository.hpp"
#include "tenancy/dashboards.hpp"
#include "tenancy/plugin_secrets.hpp"

#include <spdlog/spdlog.h>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

// The flat aliases have no :workspace_id; their body may name the
// workspace, which the workspace lookup has already read.
bool is_flat(const Call& call) { return call.request.path_params.count("workspace_id") == 0; }

void allow_body_fields(Call& call, std::initializer_list<const char*> allowed) {
  if (!is_flat(call)) {
    call.allow_fields(allowed);
    return;
  }
  json body = call.body();
  for (const char* tenant_field : {"tenantId", "workspaceId", "workspace_id", "agencyId"}) body.erase(tenant_field);
  allow_fields(body, allowed);
}

const plugins::Manifest& channel_manifest(const ApiServices& s, const std::string& plugin_id) {
  const plugins::Manifest* m = s.registry.manifest(plugin_id);
  if (!m)
    throw Error(ErrorCode::invalid_argument, "\"channel_plugin\": no plugin \"" + plugin_id + "\" is loaded",
                {{"field", "channel_plugin"}});
  if (m->kind != plugins::PluginKind::channel)
    throw Error(ErrorCode::invalid_argument,
                "\"channel_plugin\": \"" + plugin_id + "\" is a " + std::string(plugins::to_string(m->kind)) +
                    " plugin, not a channel",
                {{"field", "channel_plugin"}});
  return *m;
}

// The config completed with the schema's defaults; 400 naming "config"
// with the validator's message (and its list of problems) otherwise.
json validated_config(const plugins::Manifest& m, const json& config) {
  try {
    return plugins::validate_plugin_config(m, config);
  } catch (const Error& e) {
    json details = {{"field", "config"}};
    if (e.details().is_object() && e.details().contains("problems")) details["problems"] = e.details()["problems"];
    throw Error(ErrorCode::invalid_argument, e.what(), details);
  }
}

// A profile's auto_reply setting checked, and its knowledge base found in
// the workspace when it is enabled (a 400 naming the field otherwise).
json checked_auto_reply(ApiServices& s, const store::Workspace& ws, const json& setting) {
  json out = flows::checked_auto_reply(setting);
  if (flows::auto_reply_enabled(out)) {
    const std::string name = out["knowledge_base"].get<std::string>();
    try {
      if (!s.knowledge) throw Error(ErrorCode::not_found, "no knowledge bases on this host");
      s.knowledge->get(ws.id, name);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::not_found) throw;
      throw Error(ErrorCode::invalid_argument,
                  "auto_reply.knowledge_base: this workspace has no knowledge base \"" + name + "\"",
                  {{"field", "auto_reply.knowledge_base"}});
    }
  }
  return out;
}

store::Profile find_profile(ApiServices& s, const store::Workspace& ws, const std::string& profile_id) {
  auto p = s.db.read([&](store::Connection& c) { return store::profiles::get(c, ws.id, profile_id); });
  if (!p)
    throw Error(ErrorCode::not_found, "profile " + profile_id + " not found in workspace " + ws.id,
                {{"field", "profile_id"}});
  return *p;
}

store::Profile reread(ApiServices& s, const store::Profile& p) {
  auto now = s.db.read([&](store::Connection& c) { return store::profiles::get(c, p.workspace_id, p.id); });
  return now ? *now : p;
}

json session_json(ApiServices& s, const std::string& profile_id) {
  auto& sessions = s.messaging.sessions();
  const auto failure = sessions.failure(profile_id);
  return {{"open", sessions.find(profile_id) != nullptr}, {"failure", failure ? json(*failure) : json(nullptr)}};
}

json profile_json(ApiServices& s, const store::Profile& p) {
  json out = store::to_json(p);
  // Without the manifest nobody can tell which values are secret.
  const plugins::Manifest* m = s.registry.manifest(p.channel_plugin);
  out["config"] = m ? redact_config(p.config, m->config_schema) : json(nullptr);
  out["session"] = session_json(s, p.id);
  return out;
}

json status_json(ApiServices& s, const store::Profile& p) {
  return {{"profile_id", p.id},
          {"status", p.status},
          {"status_detail", p.status_detail ? json(*p.status_detail) : json(nullptr)},
          {"qr", p.status == "QR_READY" && p.qr ? json(*p.qr) : json(nullptr)},
          {"session", session_json(s, p.id)}};
}

// A plugin failure reaches the caller as an sb::Error (502 unless the
// plugin said otherwise), never as a bare 500.
template <class Fn>
void channel_call(const std::string& profile_id, Fn fn) {
  try {
    fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorCode::plugin_error, "the channel session of profile " + profile_id + " failed: " + e.what());
  }
}

// Opening a session that fails is recorded on the profile (FAILED and
// session.failure); the profile itself was stored, so the request stands.
void open_session_softly(ApiServices& s, const std::string& profile_id, bool connect) {
  try {
    s.messaging.sessions().open(profile_id, connect);
  } catch (const std::exception& e) {
    spdlog::warn("profile {}: the channel session did not open: {}", profile_id, e.what());
  }
}

bool is_live(const std::string& status) {
  return status == "CONNECTING" || status == "QR_READY" || status == "CONNECTED";
}

// The handlers, shared by the nested routes and the flat aliases.

ApiResponse list_profiles(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::read);
  const auto page = call.page();
  return page_response(s.db.read([&](store::Connection& c) { return store::profiles::page(c, ws.id, page); }),
                       [&s](const store::Profile& p) { return profile_json(s, p); });
}

ApiResponse create_profile(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::connect_numbers);
  allow_body_fields(call, {"id", "name", "channel_plugin", "config", "connect", "auto_reply"});
  const json& body = call.body();
  store::Profile p;
  const auto id = optional_string(body, "id", 64);
  if (id) tenancy::Dashboards::check_agency_id(*id, "id");
  p.id = id.value_or("");
  p.organization_id = ws.organization_id;
  p.workspace_id = ws.id;
  p.name = required_string(body, "name", 200);
  p.channel_plugin = required_string(body, "channel_plugin", 100);
  json config = optional_object(body, "config");
  const bool connect = optional_bool(body, "connect").value_or(false);
  const plugins::Manifest& manifest = channel_manifest(s, p.channel_plugin);
  config = validated_config(manifest, config.is_null() ? json::object() : config);
  plugins::refuse_placeholder_secrets(config, manifest.config_schema, "config");
  p.config = tenancy::transform_plugin_secrets(s.registry, p.channel_plugin, config, s.secrets, /*seal=*/true);
  if (body.contains("auto_reply")) p.auto_reply = checked_auto_reply(s, ws, body["auto_reply"]);
  try {
    p = s.db.write([&](store::Connection& c) { return store::profiles::create(c, p, now_ms()); });
  } catch (const Error& e) {
    if (e.code() == ErrorCode::conflict) throw Error(ErrorCode::conflict, e.what(), {{"field", "id"}});
    throw;
  }
  open_session_softly(s, p.id, connect);
  call.audit("profile.created", ws.organization_id, ws.id, "profile", p.id,
             {{"channel_plugin", p.channel_plugin}, {"connect", connect}});
  return created(profile_json(s, reread(s, p)));
}

ApiResponse get_profile(Call& call) {
  const auto ws = call.workspace(Permission::read);
  return ok(profile_json(call.services, find_profile(call.services, ws, call.param("profile_id"))));
}

ApiResponse update_profile(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::connect_numbers);
  const store::Profile before = find_profile(s, ws, call.param("profile_id"));
  allow_body_fields(call, {"name", "config", "auto_reply"});
  const json& body = call.body();
  store::ProfilePatch patch;
  if (body.contains("auto_reply")) patch.auto_reply = checked_auto_reply(s, ws, body["auto_reply"]);
  patch.name = optional_string(body, "name", 200);
  if (patch.name && patch.name->empty())
    throw Error(ErrorCode::invalid_argument, "\"name\" must not be empty", {{"field", "name"}});
  const json incoming = optional_object(body, "config");
  bool config_changed = false;
  if (!incoming.is_null()) {
    const plugins::Manifest& manifest = channel_manifest(s, before.channel_plugin);
    // Compared and validated in the clear: sealing is not deterministic.
    const json stored_open =
        tenancy::transform_plugin_secrets(s.registry, before.channel_plugin, before.config, s.secrets, false);
    const json next =
        validated_config(manifest, plugins::keep_redacted_secrets(incoming, stored_open, manifest.config_schema));
    plugins::refuse_placeholder_secrets(next, manifest.config_schema, "config");
    config_changed = next != stored_open;
    if (config_changed)
      patch.config = tenancy::transform_plugin_secrets(s.registry, before.channel_plugin, next, s.secrets, true);
  }
  auto after = s.db.write(
      [&](store::Connection& c) { return store::profiles::update(c, ws.id, before.id, patch, now_ms()); });
  if (!after) throw Error(ErrorCode::not_found, "profile " + before.id + " not found", {{"field", "profile_id"}});
  if (config_changed) open_session_softly(s, before.id, is_live(before.status));
  json details = json::object();
  if (patch.name) details["name"] = *patch.name;
  details["config_changed"] = config_changed;
  if (patch.auto_reply) details["auto_reply"] = *patch.auto_reply;
  call.audit("profile.updated", ws.organization_id, ws.id, "profile", before.id, details);
  return ok(profile_json(s, reread(s, *after)));
}

ApiResponse delete_profile(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::connect_numbers);
  const store::Profile p = find_profile(s, ws, call.param("profile_id"));
  allow_body_fields(call, {});
  // The session goes first so that nothing it emits lands on deleted rows.
  s.messaging.sessions().close(p.id);
  const bool removed = s.db.write([&](store::Connection& c) { return store::profiles::remove(c, ws.id, p.id); });
  if (!removed) throw Error(ErrorCode::not_found, "profile " + p.id + " not found", {{"field", "profile_id"}});
  call.audit("profile.deleted", ws.organization_id, ws.id, "profile", p.id, {{"channel_plugin", p.channel_plugin}});
  return no_content();
}

ApiResponse connect_profile(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::connect_numbers);
  const store::Profile p = find_profile(s, ws, call.param("profile_id"));
  allow_body_fields(call, {});
  auto& sessions = s.messaging.sessions();
  channel_call(p.id, [&] {
    if (sessions.find(p.id)) sessions.connect(p.id);
    else sessions.open(p.id, true);
  });
  call.audit("profile.connected", ws.organization_id, ws.id, "profile", p.id);
  return ok(status_json(s, reread(s, p)));
}

ApiResponse disconnect_profile(Call& call) {
  ApiServices& s = call.services;
  const auto ws = call.workspace(Permission::connect_numbers);
  const store::Profile p = find_profile(s, ws, call.param("profile_id"));
  allow_body_fields(call, {});
  // Without a session the number is already disconnected: nothing to do.
  auto& sessions = s.messaging.sessions();
  if (sessions.find(p.id)) channel_call(p.id, [&] { sessions.disconnect(p.id); });
  call.audit("profile.disconnected", ws.organization_id, ws.id, "profile", p.id);
  return ok(status_json(s, reread(s, p)));
}

ApiResponse profile_qr(Call& call) {
  const auto ws = call.workspace(Permission::read);
  const auto p = find_profile(call.services, ws, call.param("profile_id"));
  return ok({{"status", p.status}, {"qr", p.status == "QR_READY" && p.qr ? json(*p.qr) : json(nullptr)}});
}

ApiResponse profile_status(Call& call) {
  const auto ws = call.workspace(Permission::read);
  return ok(status_json(call.services, find_profile(call.services, ws, call.param("profile_id"))));
}

}  // namespace

void register_profile_routes(ApiRoutes& routes) {
  const std::string nested = "/api/v1/workspaces/:workspace_id/profiles";
  routes.get(nested, list_profiles);
  routes.post(nested, create_profile);
  routes.get(nested + "/:profile_id", get_profile);
  routes.patch(nested + "/:profile_id", update_profile);
  routes.del(nested + "/:profile_id", delete_profile);
  routes.post(nested + "/:profile_id/connect", connect_profile);
  routes.post(nested + "/:profile_id/disconnect", disconnect_profile);
  routes.get(nested + "/:profile_id/qr", profile_qr);
  routes.get(nested + "/:profile_id/status", profile_status);

  // The dashboards' names for the same things.
  const std::string flat = "/api/v1/sessions";
  routes.get(flat, list_profiles);
  routes.post(flat, create_profile);
  routes.get(flat + "/:profile_id", get_profile);
  routes.del(flat + "/:profile_id", delete_profile);
  routes.post(flat + "/:profile_id/connect", connect_profile);
  routes.post(flat + "/:profile_id/disconnect", disconnect_profile);
  routes.get(flat + "/:profile_id/qr", profile_qr);
}

}  // namespace sb::api
