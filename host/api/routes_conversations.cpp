// Conversations of a workspace (list, read, assign, resolve, reopen, hand
// off and back), their messages, and sending through the outbox
// (/api/v1/workspaces/:workspace_id/conversations*, .../messages).
//
// Every change to a conversation answers the conversation as stored and
// publishes "conversation.updated" {"conversation_id","change","conversation"}
// on the bus, except resolve and handback: the flow runtime publishes
// "conversation.resolved" / "handoff.released" for those, which both start
// flows and reach SSE clients as conversation.updated (api/event_stream.hpp).
// A request that changes nothing (resolving a resolved conversation, handing
// back one the bot already has) answers 200 and publishes nothing, so that a
// retried click does not start event-triggered flows twice.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/message_rules.hpp"
#include "messaging/message_types.hpp"
#include "messaging/phone.hpp"
#include "messaging/template_catalog.hpp"
#include "store/contact_repository.hpp"
#include "store/conversation_repository.hpp"
#include "store/message_repository.hpp"
#include "store/profile_repository.hpp"
#include "tenancy/identity_store.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

constexpr size_t kMaxTextChars = 4096;  // WhatsApp's limit for a text message
constexpr const char* kConversations = "/api/v1/workspaces/:workspace_id/conversations";
constexpr const char* kConversation = "/api/v1/workspaces/:workspace_id/conversations/:conversation_id";
constexpr const char* kMessages = "/api/v1/workspaces/:workspace_id/messages";

Error bad_field(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

// A filter that must be one of `allowed` when given.
std::optional<std::string> enum_query(const Call& call, const char* name, std::initializer_list<const char*> allowed) {
  auto v = call.query(name);
  if (!v) return std::nullopt;
  std::string list;
  for (const char* a : allowed) {
    if (*v == a) return v;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw bad_field(name, "\"" + std::string(name) + "\" must be one of " + list);
}

// An id filter: any value, but not an empty one (which would match nothing).
std::optional<std::string> id_query(const Call& call, const char* name) {
  auto v = call.query(name);
  if (v && (v->empty() || v->size() > 200))
    throw bad_field(name, "\"" + std::string(name) + "\" must be an id of 1 to 200 characters");
  return v;
}

Error conversation_not_found(const std::string& id) {
  return Error(ErrorCode::not_found, "conversation " + id + " not found in this workspace",
               {{"field", "conversation_id"}});
}

store::Conversation conversation_or_404(store::Connection& c, const std::string& workspace_id, const std::string& id) {
  auto found = store::conversations::find(c, workspace_id, id);
  if (!found) throw conversation_not_found(id);
  return std::move(*found);
}

// The conversation with its contact embedded under "contact".
json with_contact(store::Connection& c, const store::Conversation& conversation) {
  json out = store::to_json(conversation);
  auto contact = store::contacts::find(c, conversation.workspace_id, conversation.contact_id);
  out["contact"] = contact ? store::to_json(*contact) : json(nullptr);
  return out;
}

void publish_updated(ApiServices& s, const store::Conversation& conversation, const char* change) {
  json data = {{"conversation_id", conversation.id},
               {"change", change},
               {"conversation", store::to_json(conversation)}};
  s.bus.publish(Event{"conversation.updated", conversation.workspace_id, conversation.profile_id, std::move(data),
                      now_ms()});
}

// The message part of a send body: type, text, payload, checked type by
// type (messaging/message_types.hpp) before anything is queued, so that
// every mistake names its field.
messaging::OutgoingMessage parse_outgoing(const json& body) {
  messaging::OutgoingMessage out;
  out.type = optional_string(body, "type", 20).value_or("text");
  // 4 bytes per character at most; the character count is checked below.
  out.text = optional_string(body, "text", 4 * kMaxTextChars).value_or("");
  json payload = optional_object(body, "payload");
  if (!payload.is_null()) out.payload = std::move(payload);
  if (out.type != "text" && messaging::is_message_type(out.type) && out.payload.empty())
    // An image without its URL, a location without coordinates: nothing a
    // channel could send.
    throw bad_field("payload", "a message of type \"" + out.type + "\" needs its fields in \"payload\"");
  messaging::MessageContent checked = messaging::check_outgoing({out.type, out.text, out.payload});
  out.payload = std::move(checked.payload);
  return out;
}

// What each profile's channel says it can send, asked once per session
// instance (a reopened session is asked again).
class CapabilityCache {
 public:
  // The capabilities of `profile_id`'s session, or nullopt when it has none
  // (then the outbox decides: it retries until the session is back).
  std::optional<json> of(messaging::ChannelSessions& sessions, const std::string& profile_id) {
    auto session = sessions.find(profile_id);
    if (!session) return std::nullopt;
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(profile_id);
      if (it != cache_.end() && it->second.first.lock() == session) return it->second.second;
    }
    json caps = session->capabilities();
    std::lock_guard lock(mu_);
    cache_[profile_id] = {session, caps};
    return caps;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<std::weak_ptr<plugins::ChannelInstance>, json>> cache_;
};

CapabilityCache& capability_cache() {
  static CapabilityCache cache;
  return cache;
}

// 400 "this channel does not send <type> messages" when the profile's
// channel lists other message types.
void require_channel_sends(ApiServices& s, const std::string& profile_id, const std::string& plugin_id,
                           const std::string& type) {
  if (type == "text") return;
  if (auto caps = capability_cache().of(s.messaging.sessions(), profile_id))
    messaging::require_channel_sends(*caps, type, plugin_id);
}

// On a channel with WhatsApp's customer-service window (capabilities
// "customer_service_window"), 400 for a non-template message the outbox
// would send cold. Sets the message's kind, so enqueue does not decide it again.
void require_inside_window(ApiServices& s, store::Connection& c, const store::Conversation& conversation,
                           messaging::OutgoingMessage& message) {
  if (message.type == "template") return;
  auto caps = capability_cache().of(s.messaging.sessions(), conversation.profile_id);
  if (!caps || caps->value("customer_service_window", false) != true) return;
  message.kind = s.messaging.outbox().send_kind(c, conversation, message);
  messaging::require_inside_window(*caps, message.type, message.kind);
}

// 400 for a template the profile's number does not have as approved, when
// its channel lists its templates (messaging/template_catalog.hpp). Called
// before the write job: the channel may ask its provider.
void require_known_template(ApiServices& s, const std::string& profile_id, const messaging::OutgoingMessage& out) {
  if (out.type == "template") messaging::template_catalog().require_approved(s.messaging.sessions(), profile_id, out.payload);
}

// A reaction names the message it reacts to by our id or by its external
// id; the channel needs the external id, and the message must be of the
// chat the reaction goes to.
void resolve_reaction(store::Connection& c, const store::Conversation& conversation, messaging::OutgoingMessage& out) {
  if (out.type != "reaction") return;
  json& reaction = out.payload["reaction"];
  if (!reaction.contains("message_id")) return;
  const std::string id = reaction["message_id"];
  auto target = store::messages::find(c, conversation.workspace_id, id);
  if (!target)
    throw Error(ErrorCode::not_found, "message " + id + " (payload.reaction.message_id) not found in this workspace",
                {{"field", "payload.reaction.message_id"}});
  if (target->profile_id != conversation.profile_id || target->contact_id != conversation.contact_id)
    throw bad_field("payload.reaction.message_id",
                    "message " + id + " belongs to another chat; a reaction goes to the chat of its message");
  if (!target->external_id)
    throw Error(ErrorCode::conflict, "message " + id + " has not reached the channel yet (status " + target->status +
                                         "); react once it is sent",
                {{"field", "payload.reaction.message_id"}});
  reaction["external_id"] = *target->external_id;
}

void refuse_opted_out(const store::Contact& contact) {
  if (contact.opted_out)
    throw Error(ErrorCode::conflict, "contact " + contact.id + " has opted out of messages; nothing was sent",
                {{"contact_id", contact.id}});
}

json queued(const messaging::EnqueuedMessage& m) {
  return {{"message_id", m.message_id},
          {"status", "queued"},
          {"conversation_id", m.conversation_id},
          {"contact_id", m.contact_id}};
}

// ---- Conversation changes ---------------------------------------------------

struct Changed {
  store::Conversation conversation;  // as stored afterwards
  json body;                         // the answer: with its contact
  bool changed = false;
};

// In one write job: the conversation (404 when the workspace has none),
// `apply` to it (returns the conversation as stored afterwards), and
// whether status, mode or assignee moved.
template <class Apply>
Changed change_conversation(ApiServices& s, const std::string& workspace_id, const std::string& id, Apply apply) {
  return s.db.write([&](store::Connection& c) {
    const auto before = conversation_or_404(c, workspace_id, id);
    const std::optional<store::Conversation> after = apply(c, before, now_ms());
    if (!after) throw conversation_not_found(id);
    const bool changed =
        before.status != after->status || before.mode != after->mode || before.assignee != after->assignee;
    return Changed{*after, with_contact(c, *after), changed};
  });
}

// Publishes and audits a change that happened; a no-op request does neither.
ApiResponse answer_change(Call& call, const store::Workspace& ws, const Changed& r, const char* change,
                          json details = json::object()) {
  if (r.changed) {
    publish_updated(call.services, r.conversation, change);
    call.audit(std::string("conversation.") + change, ws.organization_id, ws.id, "conversation", r.conversation.id,
               std::move(details));
  }
  return ok(r.body);
}

void add_change_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = kConversation;

  routes.post(base + "/assign", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({"assignee"});
    if (!call.body().contains("assignee"))
      throw bad_field("assignee", "\"assignee\" is required: a user id, or null to unassign");
    const auto assignee = optional_string(call.body(), "assignee", 200);
    if (assignee && assignee->empty())
      throw bad_field("assignee", "\"assignee\" must be a user id, or null to unassign");
    const std::string id = call.param("conversation_id");
    const auto r =
        change_conversation(s, ws.id, id, [&](store::Connection& c, const store::Conversation&, int64_t now) {
          if (assignee && !tenancy::identity::role_in(c, *assignee, ws.organization_id, ws.id))
            throw bad_field("assignee", "user " + *assignee + " is not a member of this workspace");
          auto after = store::conversations::assign(c, ws.id, id, assignee, now);
          // A person who takes the conversation answers it: the bot stops
          // (FlowRuntime runs no flow in a "human" conversation). Unassigning
          // leaves the mode: handing back to the bot is its own decision.
          if (after && assignee) after = store::conversations::set_mode(c, ws.id, id, "human", now);
          return after;
        });
    return answer_change(call, ws, r, "assigned", {{"assignee", assignee ? json(*assignee) : json(nullptr)}});
  });

  routes.post(base + "/reopen", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({});
    const std::string id = call.param("conversation_id");
    // The store answers conflict, naming the other conversation, when the
    // contact has another active one (it wrote again after the resolve).
    const auto r =
        change_conversation(s, ws.id, id, [&](store::Connection& c, const store::Conversation&, int64_t now) {
          return store::conversations::set_status(c, ws.id, id, "open", now);
        });
    return answer_change(call, ws, r, "reopened");
  });

  routes.post(base + "/handoff", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({});
    const std::string id = call.param("conversation_id");
    const auto r =
        change_conversation(s, ws.id, id, [&](store::Connection& c, const store::Conversation&, int64_t now) {
          return store::conversations::set_mode(c, ws.id, id, "human", now);
        });
    return answer_change(call, ws, r, "handoff");
  });

  // Resolve and handback go through the flow runtime, which writes and
  // publishes the event that event-triggered flows start on (and that the
  // SSE hub shows as conversation.updated): no conversation.updated here.
  routes.post(base + "/resolve", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({});
    const std::string id = call.param("conversation_id");
    const auto before = s.db.read([&](store::Connection& c) { return conversation_or_404(c, ws.id, id); });
    if (before.status != "resolved") {
      s.flows.resolve_conversation(ws.id, id);
      call.audit("conversation.resolved", ws.organization_id, ws.id, "conversation", id);
    }
    return ok(s.db.read([&](store::Connection& c) { return with_contact(c, conversation_or_404(c, ws.id, id)); }));
  });

  routes.post(base + "/handback", [&s](Call& call) {
    const auto ws = call.workspace(Permission::handle_conversations);
    call.allow_fields({});
    const std::string id = call.param("conversation_id");
    const auto before = s.db.read([&](store::Connection& c) { return conversation_or_404(c, ws.id, id); });
    if (before.mode != "bot") {
      s.flows.release_handoff(ws.id, id);
      call.audit("conversation.handback", ws.organization_id, ws.id, "conversation", id);
    }
    return ok(s.db.read([&](store::Connection& c) { return with_contact(c, conversation_or_404(c, ws.id, id)); }));
  });
}

// ---- Messages ----------------------------------------------------------------

void add_message_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = kConversation;

  routes.get(base + "/messages", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    const auto page = call.page();
    const std::string id = call.param("conversation_id");
    return page_response(s.db.read([&](store::Connection& c) {
      conversation_or_404(c, ws.id, id);
      return store::messages::page_by_conversation(c, ws.id, id, page);
    }),
                         [](const store::Message& m) { return store::to_json(m); });
  });

  routes.post(base + "/messages", [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"type", "text", "payload"});
    const auto out = parse_outgoing(call.body());
    const std::string id = call.param("conversation_id");
    if (out.type == "template")
      require_known_template(
          s, s.db.read([&](store::Connection& c) { return conversation_or_404(c, ws.id, id); }).profile_id, out);
    const auto sent = s.db.write([&](store::Connection& c) {
      const auto conversation = conversation_or_404(c, ws.id, id);
      if (conversation.status == "resolved")
        throw Error(ErrorCode::conflict,
                    "conversation " + id + " is resolved; reopen it first, or send with POST /api/v1/workspaces/" +
                        ws.id + "/messages, which opens a new one",
                    {{"field", "conversation_id"}});
      auto contact = store::contacts::find(c, ws.id, conversation.contact_id);
      if (!contact) throw Error(ErrorCode::not_found, "the conversation's contact no longer exists");
      refuse_opted_out(*contact);
      if (out.type != "text") {
        const auto profile = store::profiles::get(c, ws.id, conversation.profile_id);
        require_channel_sends(s, conversation.profile_id, profile ? profile->channel_plugin : "the channel", out.type);
      }
      auto message = out;
      resolve_reaction(c, conversation, message);
      require_inside_window(s, c, conversation, message);
      return s.messaging.outbox().enqueue(c, conversation, message);
    });
    return ApiResponse::json(202, queued(sent));
  });

  // The route integrations send through: to a phone or a contact, in its
  // active conversation (opened when there is none). One write job and no
  // read before it besides authentication: this is the hot path.
  routes.post(kMessages, [&s](Call& call) {
    const auto ws = call.workspace(Permission::send);
    call.allow_fields({"profile_id", "to", "contact_id", "type", "text", "payload"});
    const json& body = call.body();
    const std::string profile_id = required_string(body, "profile_id", 200);
    const auto to = optional_string(body, "to", 40);
    const auto contact_id = optional_string(body, "contact_id", 200);
    if (to && contact_id) throw bad_field("to", "give either \"to\" (a phone) or \"contact_id\", not both");
    if (!to && !contact_id) throw bad_field("to", "\"to\" (a phone number) or \"contact_id\" is required");
    if (contact_id && contact_id->empty()) throw bad_field("contact_id", "\"contact_id\" must not be empty");
    std::string phone;
    if (to) {
      auto normalized = messaging::try_normalize_phone(*to);
      if (!normalized)
        throw bad_field("to", "\"to\" must be a phone number in E.164 form, \"+\" followed by 8 to 15 digits");
      phone = std::move(*normalized);
    }
    const auto out = parse_outgoing(body);
    // Only a template send pays a read before the write job: the profile
    // must be this workspace's before its channel is asked.
    if (out.type == "template" &&
        s.db.read([&](store::Connection& c) { return store::profiles::get(c, ws.id, profile_id).has_value(); }))
      require_known_template(s, profile_id, out);
    const auto sent = s.db.write([&](store::Connection& c) {
      const auto profile = store::profiles::get(c, ws.id, profile_id);
      if (!profile)
        throw Error(ErrorCode::not_found, "profile " + profile_id + " not found in this workspace",
                    {{"field", "profile_id"}});
      const int64_t now = now_ms();
      store::Contact contact;
      if (contact_id) {
        auto found = store::contacts::find(c, ws.id, *contact_id);
        if (!found)
          throw Error(ErrorCode::not_found, "contact " + *contact_id + " not found in this workspace",
                      {{"field", "contact_id"}});
        contact = std::move(*found);
      } else {
        contact = store::contacts::upsert_seen(c, {ws.organization_id, ws.id, phone, "", std::nullopt}, now).contact;
      }
      refuse_opted_out(contact);
      require_channel_sends(s, profile->id, profile->channel_plugin, out.type);
      const auto conversation =
          store::conversations::find_or_open(c, ws.organization_id, ws.id, profile->id, contact.id, now).conversation;
      auto message = out;
      resolve_reaction(c, conversation, message);
      require_inside_window(s, c, conversation, message);
      return s.messaging.outbox().enqueue(c, conversation, message);
    });
    return ApiResponse::json(202, queued(sent));
  });

  routes.get(kMessages, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"conversation_id", "contact_id", "profile_id", "direction", "status"});
    store::MessageQuery q;
    q.conversation_id = id_query(call, "conversation_id");
    q.contact_id = id_query(call, "contact_id");
    q.profile_id = id_query(call, "profile_id");
    q.direction = enum_query(call, "direction", {"in", "out"});
    q.status = enum_query(call, "status", {"queued", "sent", "delivered", "read", "failed", "received"});
    const auto page = call.page();
    return page_response(s.db.read([&](store::Connection& c) { return store::messages::search(c, ws.id, q, page); }),
                         [](const store::Message& m) { return store::to_json(m); });
  });
}

}  // namespace

void register_conversation_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();

  routes.get(kConversations, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"status", "assignee", "mode", "profile_id", "contact_id"});
    store::ConversationQuery q;
    q.status = enum_query(call, "status", {"open", "pending", "resolved"});
    q.assignee = call.query("assignee");  // "" (?assignee=) lists the unassigned
    if (q.assignee && q.assignee->size() > 200) throw bad_field("assignee", "\"assignee\" must be a user id");
    q.mode = enum_query(call, "mode", {"bot", "human"});
    q.profile_id = id_query(call, "profile_id");
    q.contact_id = id_query(call, "contact_id");
    const auto page = call.page();
    return page_response(
        s.db.read([&](store::Connection& c) { return store::conversations::search(c, ws.id, q, page); }),
        [](const store::Conversation& conversation) { return store::to_json(conversation); });
  });

  routes.get(kConversation, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    const std::string id = call.param("conversation_id");
    return ok(s.db.read([&](store::Connection& c) { return with_contact(c, conversation_or_404(c, ws.id, id)); }));
  });

  add_change_routes(routes);
  add_message_routes(routes);
}

}  // namespace sb::api
