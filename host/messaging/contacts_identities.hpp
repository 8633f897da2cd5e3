#pragma once
// The ids a channel reports for an inbound message's sender besides the
// phone (docs/plugins.md, message.inbound: "wa_id" and
// "identities": [{"kind", "value"}]), recorded in contact_identities
// (migration 008) so that a later message or a status naming only such an
// id finds the contact.
//
// Never fails the message it came with: an id of the wrong shape is left
// out, and one the workspace already gave to another contact stays with
// that one (the first contact to report it keeps it).
#include "store/contact_repository.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace sb::messaging {

// For the inbound pipeline's write job: records the ids in `payload` (the
// event's fields beyond the message's own) for `contact`, scoped by the
// channel plugin `channel`. Returns how many were new.
int record_reported_identities(store::Connection& c, const store::Contact& contact, const std::string& channel,
                               const nlohmann::json& payload, int64_t now);

}  // namespace sb::messaging
