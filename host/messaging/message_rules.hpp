#pragma once
// The domain's rules for messages: which types exist, and how an outbound
// message's status may change. Status goes queued -> sent -> delivered ->
// read, or failed with a reason. Receipts can arrive late, twice or out of
// order, so a status only ever moves forward; failed is terminal, and a
// message the recipient already has (delivered, read) does not fail.
#include <string_view>

namespace sb::messaging {

// text, image, video, audio, document, sticker, location, contact, poll,
// interactive, reaction, template.
bool is_message_type(std::string_view type);

// True for queued, sent, delivered, read and failed.
bool is_outbound_status(std::string_view status);

// True when a message in status `from` should take status `to`.
bool status_advances(std::string_view from, std::string_view to);

}  // namespace sb::messaging
