#pragma once
// Which flow an inbound message starts (docs/flows.md, "Which flow gets a
// message"): keyword triggers by priority, then match kind (exact,
// starts_with, contains, regex), then flow id; then message triggers by
// priority, then flow id. Flows whose trigger lists `profiles` only see
// messages of those profiles.
#include "flows/flow_definition.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sb::flows {

// The flow `text` on `profile_id` starts among `flows`, or nullptr: the
// keyword match, else the message (catch-all) trigger.
FlowPtr match_message_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id,
                              std::string_view text);
// The two halves of it, for a caller that puts something between them
// (a profile's auto_reply comes after keywords and before catch-alls).
FlowPtr match_keyword_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id, std::string_view text);
FlowPtr match_any_message_trigger(const std::vector<FlowPtr>& flows, const std::string& profile_id);

// Flows with an event trigger for `event` ("contact.tagged", ...); for
// contact.tagged only those without a `tag` or with this `tag`.
std::vector<FlowPtr> match_event_trigger(const std::vector<FlowPtr>& flows, const std::string& event,
                                         const std::string& tag = "");

}  // namespace sb::flows
