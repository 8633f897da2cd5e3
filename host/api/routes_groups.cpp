// WhatsApp groups of a profile's number, on channels that have them
// (/api/v1/workspaces/:workspace_id/profiles/:profile_id/groups*): list,
// create, read, rename, change participants, and send to a group.
//
// Groups live in the channel (the number's WhatsApp account), not in the
// host's database: every route asks the profile's channel session through
// ChannelSessions::call (the group.* ops of sb_channel_api.call). A channel
// without them is answered 400 {"code":"invalid_argument","details":
// {"reason":"unsupported"}} "... not supported by this channel"; a profile
// without a running session 503.
//
// A message to a group goes through the outbox like any other: the group is
// kept as a contact of the workspace whose phone and wa_id are the group's
// id (e.g. "120363012345678901@g.us") and its name the subject, so it has a
// conversation, an inbox entry and statuses; the channel gets the message
// with "group_id" (and "to" = the group id).
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/message_types.hpp"
#include "messaging/template_catalog.hpp"
#include "plugins/plugin_error.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/profile_repository.hpp"

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

constexpr const char* kGroups = "/api/v1/workspaces/:workspace_id/profiles/:profile_id/groups";
constexpr size_t kMaxGroupId = 128;
constexpr size_t kMaxParticipants = 256;  // per request

Error bad_field(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

store::Profile profile_or_404(ApiServices& s, const std::string& workspace_id, const std::string& profile_id) {
  auto profile = s.db.read([&](store::Connection& c) { return store::profiles::get(c, workspace_id, profile_id); });
  if (!profile)
    throw Error(ErrorCode::not_found, "profile " + profile_id + " not found in this workspace",
                {{"field", "profile_id"}});
  return std::move(*profile);
}

const std::string& group_id_of(const Call& call) {
  const std::string& id = call.param("group_id");
  if (id.empty() || id.size() > kMaxGroupId) throw bad_field("group_id", "the group id must be 1 to 128 characters");
  return id;
}

// The channel's answer to `op`, with its failures said in the API's terms.
json group_call(ApiServices& s, const store::Profile& profile, const std::string& op, const json& request) {
  try {
    return s.messaging.sessions().call(profile.id, op, request);
  } catch (const plugins::PluginError& e) {
    if (e.status() == SB_ERR_UNSUPPORTED)
      throw Error(ErrorCode::invalid_argument,
                  "groups are not supported by this channel (" + profile.channel_plugin + ")",
                  {{"reason", "unsupported"}, {"channel_plugin", profile.channel_plugin}});
    if (e.status() == SB_ERR_NOT_FOUND && request.contains("group_id"))
      throw Error(ErrorCode::not_found,
                  "group " + request["group_id"].get<std::string>() + " not found on profile " + profile.id,
                  {{"field", "group_id"}});
    throw;
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) throw;
    // No session: the profile exists (checked above) but its channel is not running.
    throw Error(ErrorCode::unavailable,
                "profile " + profile.id + " has no running channel session (status " + profile.status +
                    "); connect it and try again",
                {{"field", "profile_id"}});
  }
}

std::vector<std::string> participants_of(const json& body, bool required) {
  auto list = optional_string_array(body, "participants", kMaxParticipants, 64);
  if (required && list.empty())
    throw bad_field("participants", "\"participants\" is required: a list of phone numbers (E.164)");
  return list;
}

void audit_group(Call& call, const store::Workspace& ws, const std::string& action, const std::string& group_id,
                 json details = json::object()) {
  call.audit("group." + action, ws.organization_id, ws.id, "group", group_id, std::move(details));
}

// A message to the group `group` ({"group_id","subject",...} from the
// channel), through the outbox.
messaging::EnqueuedMessage send_to_group(ApiServices& s, const store::Workspace& ws, const store::Profile& profile,
                                         const json& group, const messaging::OutgoingMessage& out) {
  const std::string group_id = group.value("group_id", std::string());
  const std::string subject = group.value("subject", std::string());
  return s.db.write([&](store::Connection& c) {
    const int64_t now = now_ms();
    const store::Contact contact =
        store::contacts::upsert_seen(c, {ws.organization_id, ws.id, group_id, subject, group_id}, now).contact;
    if (contact.opted_out)
      throw Error(ErrorCode::conflict, "group " + group_id + " (contact " + contact.id +
                                           ") is marked opted out of messages; nothing was sent",
                  {{"contact_id", contact.id}});
    const auto conversation =
        store::conversations::find_or_open(c, ws.organization_id, ws.id, profile.id, contact.id, now).conversation;
    return s.messaging.outbox().enqueue(c, conversation, out);
  });
}

}  // namespace

void register_group_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = kGroups;
  const std::string one = base + "/:group_id";

  routes.get(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    json result = group_call(s, profile, SB_OP_GROUP_LIST, json::object());
    json data = result.contains("groups") && result["groups"].is_array() ? result["groups"] : json::array();
    return ok({{"data", std::move(data)}, {"next_cursor", nullptr}});
  });

  routes.post(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"subject", "participants"});
    const std::string subject = required_string(call.body(), "subject", 400);
    const auto participants = participants_of(call.body(), false);
    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    json created = group_call(s, profile, SB_OP_GROUP_CREATE, {{"subject", subject}, {"participants", participants}});
    const std::string id = created.value("group_id", std::string());
    if (id.empty())
      throw Error(ErrorCode::plugin_error,
                  "plugin " + profile.channel_plugin + " created a group without answering its \"group_id\"");
    audit_group(call, ws, "created", id, {{"profile_id", profile.id}, {"participants", participants.size()}});
    // A channel may answer only the id (plugin.h): the group as it is now.
    return ApiResponse::json(201, group_call(s, profile, SB_OP_GROUP_INFO, {{"group_id", id}}));
  });

  routes.get(one, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    return ok(group_call(s, profile, SB_OP_GROUP_INFO, {{"group_id", group_id_of(call)}}));
  });

  routes.patch(one, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"subject"});
    const std::string subject = required_string(call.body(), "subject", 400);
    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    const std::string& id = group_id_of(call);
    group_call(s, profile, SB_OP_GROUP_RENAME, {{"group_id", id}, {"subject", subject}});
    audit_group(call, ws, "renamed", id, {{"profile_id", profile.id}});
    return ok(group_call(s, profile, SB_OP_GROUP_INFO, {{"group_id", id}}));
  });

  routes.post(one + "/participants", [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"action", "participants"});
    const std::string action = required_string(call.body(), "action", 20);
    if (action != "add" && action != "remove" && action != "promote" && action != "demote")
      throw bad_field("action", "\"action\" must be add, remove, promote or demote");
    const auto participants = participants_of(call.body(), true);
    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    const std::string& id = group_id_of(call);
    json result = group_call(s, profile, SB_OP_GROUP_PARTICIPANTS,
                             {{"group_id", id}, {"action", action}, {"participants", participants}});
    audit_group(call, ws, "participants." + action, id,
                {{"profile_id", profile.id}, {"participants", participants.size()}});
    // The group as it is now, and the channel's answer per participant.
    json answer = group_call(s, profile, SB_OP_GROUP_INFO, {{"group_id", id}});
    answer["results"] = result.contains("participants") ? result["participants"] : json::array();
    return ok(answer);
  });

  routes.post(one + "/messages", [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"type", "text", "payload"});
    const json& body = call.body();
    messaging::MessageContent content;
    content.type = optional_string(body, "type", 20).value_or("text");
    content.text = optional_string(body, "text", 4 * 4096).value_or("");
    json payload = optional_object(body, "payload");
    if (!payload.is_null()) content.payload = std::move(payload);
    if (content.type != "text" && content.payload.empty())
      throw bad_field("payload", "a message of type \"" + content.type + "\" needs its fields in \"payload\"");
    content = messaging::check_outgoing(content);
    if (content.type == "reaction" && !content.payload["reaction"].contains("external_id"))
      throw bad_field("payload.reaction.external_id", "a reaction in a group names its message by \"external_id\"");

    const auto profile = profile_or_404(s, ws.id, call.param("profile_id"));
    const std::string& id = group_id_of(call);
    if (content.type != "text")
      if (auto session = s.messaging.sessions().find(profile.id))
        messaging::require_channel_sends(session->capabilities(), content.type, profile.channel_plugin);
    if (content.type == "template")
      messaging::template_catalog().require_approved(s.messaging.sessions(), profile.id, content.payload);
    // The group must exist on the channel before anything is queued.
    const json group = group_call(s, profile, SB_OP_GROUP_INFO, {{"group_id", id}});

    messaging::OutgoingMessage out;
    out.type = content.type;
    out.text = content.text;
    out.payload = std::move(content.payload);
    out.payload["group_id"] = group.value("group_id", id);
    const auto sent = send_to_group(s, ws, profile, group, out);
    return ApiResponse::json(202, {{"message_id", sent.message_id},
                                   {"status", "queued"},
                                   {"conversation_id", sent.conversation_id},
                                   {"contact_id", sent.contact_id},
                                   {"group_id", out.payload["group_id"]}});
  });
}

}  // namespace sb::api
