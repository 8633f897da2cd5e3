#pragma once
// SHA-256 as lower-case hex: flow revisions, blob and document contents,
// hashed secrets. Thread-safe.
#include <string>
#include <string_view>

namespace sb {

std::string sha256_hex(std::string_view data);

}  // namespace sb
