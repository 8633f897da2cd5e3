#pragma once
// UTF-8 validation shared by every room: CSV imports, flow JSON, documents.
#include <string_view>

namespace sb {

// Whether `bytes` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing past U+10FFFF: what nlohmann's dump() accepts). ASCII runs are
// checked eight bytes at a time.
bool is_valid_utf8(std::string_view bytes);

}  // namespace sb
