#pragma once
// Standard base64 (RFC 4648, with padding), for embed's "vectors_base64".
#include <cstddef>
#include <string>

namespace ai_local {

// Appends the base64 of bytes[0 .. size) to `out`.
void append_base64(const unsigned char* bytes, std::size_t size, std::string& out);

}  // namespace ai_local
