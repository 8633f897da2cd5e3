// Campaigns of a workspace (/api/v1/workspaces/:workspace_id/campaigns):
// create with an audience, add recipients (JSON, text/csv or a multipart
// form's "file"), read, edit, delete; start, pause, resume, cancel; progress
// and the recipients by state. The service is messaging/campaigns.hpp.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "messaging/campaigns.hpp"
#include "messaging/contacts_tag_query.hpp"
#include "messaging/message_types.hpp"
#include "messaging/template_catalog.hpp"
#include "messaging/phone.hpp"
#include "store/profile_repository.hpp"

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

constexpr size_t kMaxContactIds = 10000;

Error bad(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

// What the profile's channel will refuse of every recipient's message is
// refused at create instead: on a channel with WhatsApp's 24-hour window a
// campaign (always outreach) can only send an approved template, and a
// template must be one the number has (messaging/template_catalog.hpp).
// Nothing is checked for a profile of another workspace (campaigns.create
// answers 404) or without a running session.
void require_sendable(ApiServices& s, const store::Workspace& ws, const messaging::CampaignSpec& spec) {
  auto profile = s.db.read([&](store::Connection& c) { return store::profiles::get(c, ws.id, spec.profile_id); });
  if (!profile) return;
  auto session = s.messaging.sessions().find(profile->id);
  if (!session) return;
  const std::string type = spec.message.is_object() ? spec.message.value("type", std::string("text")) : "text";
  const json caps = session->capabilities();
  if (type != "template" && caps.value("customer_service_window", false) == true)
    throw Error(ErrorCode::invalid_argument,
                "this channel only delivers a campaign as an approved template: WhatsApp takes other messages only "
                "within 24 hours of the contact's last message",
                {{"field", "message.type"}, {"reason", "outside_24h_window"}});
  if (type == "template" && spec.message.contains("payload"))
    messaging::template_catalog().require_approved(s.messaging.sessions(), profile->id, spec.message["payload"]);
}

std::string region_of(const std::string& text, const char* field) {
  std::string region = text;
  for (auto& ch : region) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (!messaging::is_phone_region(region))
    throw bad(field, std::string("\"") + field + "\" must be a region code such as US or DE (got \"" +
                         text.substr(0, 10) + "\")");
  return region;
}

// {"contact_ids": [...], "tags": "tag:vip AND NOT tag:churned", "csv": "phone,name\n...",
//  "default_region": "DE"}
messaging::Audience audience_of(const json& body, const char* field) {
  messaging::Audience a;
  if (body.is_null()) return a;
  if (!body.is_object()) throw bad(field, std::string("\"") + field + "\" must be an object");
  allow_fields(body, {"contact_ids", "tags", "csv", "default_region"});
  a.contact_ids = optional_string_array(body, "contact_ids", kMaxContactIds, 64);
  if (auto tags = optional_string(body, "tags", 4000)) {
    a.tags = messaging::parse_tag_query(*tags, "tags");
    a.tags_spec = *tags;
  }
  if (body.contains("csv")) {
    if (!body["csv"].is_string()) throw bad("csv", "\"csv\" must be the CSV text (a header with \"phone\", then rows)");
    a.csv = body["csv"].get<std::string>();
  }
  if (auto region = optional_string(body, "default_region", 10)) a.default_region = region_of(*region, "default_region");
  return a;
}

messaging::CampaignPatch patch_of(const json& body) {
  messaging::CampaignPatch p;
  p.name = optional_string(body, "name", 200);
  if (body.contains("message")) p.message = body["message"];
  p.rate_per_minute = optional_int(body, "rate_per_minute", 1, 60000);
  if (body.contains("jitter")) {
    if (!body["jitter"].is_number()) throw bad("jitter", "\"jitter\" must be a number from 0 to 0.9");
    p.jitter = body["jitter"].get<double>();
  }
  return p;
}

std::optional<std::string> state_query(const Call& call, std::initializer_list<const char*> allowed) {
  auto state = call.query("state");
  if (!state || state->empty()) return std::nullopt;
  for (const char* a : allowed)
    if (*state == a) return state;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  throw bad("state", "\"state\" must be one of " + list + " (got \"" + state->substr(0, 32) + "\")");
}

json with_progress(messaging::Campaigns& campaigns, const store::Workspace& ws, const store::Campaign& c) {
  json out = store::to_json(c);
  out["progress"] = campaigns.progress(ws, c.id);
  return out;
}

}  // namespace

void register_campaign_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = "/api/v1/workspaces/:workspace_id/campaigns";
  const std::string item = base + "/:campaign_id";

  routes.get(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"state"});
    const auto state = state_query(call, {"draft", "scheduled", "running", "paused", "completed", "cancelled"});
    return page_response(s.messaging.campaigns().list(ws, state, call.page()),
                         [](const store::Campaign& c) { return store::to_json(c); });
  });

  routes.upload(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"id", "name", "profile_id", "message", "rate_per_minute", "jitter", "audience", "start",
                       "scheduled_at"});
    const json& body = call.body();
    messaging::CampaignSpec spec;
    spec.id = optional_string(body, "id", 64).value_or("");
    spec.name = required_string(body, "name", 200);
    spec.profile_id = required_string(body, "profile_id", 200);
    if (!body.contains("message")) throw bad("message", "\"message\" is required: {\"type\", \"text\", \"payload\"}");
    spec.message = body["message"];
    spec.rate_per_minute = optional_int(body, "rate_per_minute", 1, 60000).value_or(60);
    if (body.contains("jitter")) {
      if (!body["jitter"].is_number()) throw bad("jitter", "\"jitter\" must be a number from 0 to 0.9");
      spec.jitter = body["jitter"].get<double>();
    }
    const messaging::Audience audience = audience_of(body.value("audience", json(nullptr)), "audience");
    const bool start = optional_bool(body, "start").value_or(false);
    const auto scheduled_at = optional_int(body, "scheduled_at", 0, INT64_MAX);
    require_sendable(s, ws, spec);
    messaging::AudienceReport report;
    auto& campaigns = s.messaging.campaigns();
    store::Campaign campaign = campaigns.create(ws, spec, audience, &report);
    call.audit("campaign.created", ws.organization_id, ws.id, "campaign", campaign.id,
               {{"recipients", report.added}, {"skipped", report.skipped}});
    if (start || scheduled_at) campaign = campaigns.start(ws, campaign.id, scheduled_at);
    json out = with_progress(campaigns, ws, campaign);
    out["audience_report"] = report.to_json();
    return created(out);
  });

  routes.get(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    auto& campaigns = s.messaging.campaigns();
    const auto campaign = campaigns.find(ws, call.param("campaign_id"));
    if (!campaign)
      throw Error(ErrorCode::not_found, "campaign " + call.param("campaign_id") + " not found in this workspace",
                  {{"field", "campaign_id"}});
    return ok(with_progress(campaigns, ws, *campaign));
  });

  routes.patch(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"name", "message", "rate_per_minute", "jitter"});
    auto& campaigns = s.messaging.campaigns();
    const auto campaign = campaigns.update(ws, call.param("campaign_id"), patch_of(call.body()));
    call.audit("campaign.updated", ws.organization_id, ws.id, "campaign", campaign.id);
    return ok(with_progress(campaigns, ws, campaign));
  });

  routes.del(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    s.messaging.campaigns().remove(ws, call.param("campaign_id"));
    call.audit("campaign.deleted", ws.organization_id, ws.id, "campaign", call.param("campaign_id"));
    return no_content();
  });

  // More audience for a draft: the JSON audience object, or a CSV as the
  // body (text/csv) or as the field "file" of a multipart form.
  routes.upload(item + "/recipients", [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_query({"default_region"});
    const std::string type = ascii_lower(call.request.header("content-type"));
    messaging::Audience audience;
    if (type.rfind("multipart/form-data", 0) == 0) {
      auto part = call.request.form_parts.find("file");
      if (part == call.request.form_parts.end())
        throw bad("file", "the form has no part named \"file\"; send the CSV file as the field \"file\"");
      audience.csv = part->second;
    } else if (type.rfind("text/csv", 0) == 0 || type.rfind("application/csv", 0) == 0 ||
               type.rfind("text/plain", 0) == 0) {
      audience.csv = call.request.body;
    } else {
      audience = audience_of(call.body(), "body");
    }
    if (auto region = call.query("default_region"); region && !region->empty())
      audience.default_region = region_of(*region, "default_region");
    if (audience.empty()) throw bad("body", "name recipients: contact_ids, tags or csv (or a CSV body)");
    const auto report = s.messaging.campaigns().add_audience(ws, call.param("campaign_id"), audience);
    call.audit("campaign.recipients_added", ws.organization_id, ws.id, "campaign", call.param("campaign_id"),
               {{"recipients", report.added}, {"skipped", report.skipped}});
    return ok(report.to_json());
  });

  routes.get(item + "/recipients", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"state"});
    const auto state = state_query(call, {"pending", "queued", "sent", "delivered", "read", "failed", "skipped"});
    const store::PageRequest page = call.page();
    const int64_t after = page.after ? page.after->at : -1;
    auto rows = s.messaging.campaigns().recipients(ws, call.param("campaign_id"), state, after, page.limit + 1);
    json data = json::array();
    std::optional<store::Cursor> next;
    if (static_cast<int64_t>(rows.size()) > page.limit) {
      rows.resize(static_cast<size_t>(page.limit));
      next = store::Cursor{rows.back().seq, ""};
    }
    for (const auto& r : rows) data.push_back(store::to_json(r));
    return ok({{"data", std::move(data)}, {"next_cursor", next ? json(encode_cursor(*next)) : json(nullptr)}});
  });

  routes.get(item + "/progress", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    return ok(s.messaging.campaigns().progress(ws, call.param("campaign_id")));
  });

  routes.post(item + "/start", [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"scheduled_at"});
    const auto at = optional_int(call.body(), "scheduled_at", 0, INT64_MAX);
    auto& campaigns = s.messaging.campaigns();
    const auto campaign = campaigns.start(ws, call.param("campaign_id"), at);
    call.audit("campaign.started", ws.organization_id, ws.id, "campaign", campaign.id, {{"state", campaign.state}});
    return ok(with_progress(campaigns, ws, campaign));
  });

  for (const char* action : {"pause", "resume", "cancel"}) {
    routes.post(item + "/" + action, [&s, action = std::string(action)](Call& call) {
      const auto ws = call.workspace(Permission::send);
      call.allow_fields({});
      auto& campaigns = s.messaging.campaigns();
      const std::string& id = call.param("campaign_id");
      const store::Campaign campaign = action == "pause"    ? campaigns.pause(ws, id)
                                       : action == "resume" ? campaigns.resume(ws, id)
                                                            : campaigns.cancel(ws, id);
      call.audit("campaign." + std::string(action == "pause" ? "paused" : action == "resume" ? "resumed" : "cancelled"),
                 ws.organization_id, ws.id, "campaign", id);
      return ok(with_progress(campaigns, ws, campaign));
    });
  }
}

}  // namespace sb::api
