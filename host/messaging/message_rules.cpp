#include "messaging/message_rules.hpp"

#include <algorithm>
#include <iterator>

namespace sb::messaging {

namespace {

constexpr std::string_view kMessageTypes[] = {"text",     "image",   "video", "audio",       "document", "sticker",
                                              "location", "contact", "poll",  "interactive", "reaction", "template"};

// Position on the way to the recipient; -1 for anything else.
int rank(std::string_view status) {
  if (status == "queued") return 0;
  if (status == "sent") return 1;
  if (status == "delivered") return 2;
  if (status == "read") return 3;
  return -1;
}

}  // namespace

bool is_message_type(std::string_view type) {
  return std::find(std::begin(kMessageTypes), std::end(kMessageTypes), type) != std::end(kMessageTypes);
}

bool is_outbound_status(std::string_view status) { return rank(status) >= 0 || status == "failed"; }

bool status_advances(std::string_view from, std::string_view to) {
  if (from == "failed" || !is_outbound_status(to)) return false;
  if (to == "failed") return rank(from) >= 0 && rank(from) <= rank("sent");
  return rank(to) > rank(from);
}

}  // namespace sb::messaging
