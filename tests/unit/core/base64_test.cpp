// Base64 in both spellings: RFC 4648 test vectors, binary round trips,
// and input that is not base64 refused whole.
#include "core/base64.hpp"

#include <catch2/catch.hpp>

TEST_CASE("base64 matches the RFC 4648 vectors in both alphabets", "[core][base64]") {
  CHECK(sb::base64_encode("") == "");
  CHECK(sb::base64_encode("f") == "Zg==");
  CHECK(sb::base64_encode("fo") == "Zm8=");
  CHECK(sb::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(sb::base64url_encode("f") == "Zg");
  CHECK(sb::base64_encode("\xfb\xff") == "+/8=");
  CHECK(sb::base64url_encode("\xfb\xff") == "-_8");
  CHECK(sb::base64_decode("Zm8=") == std::optional<std::string>("fo"));
  CHECK(sb::base64url_decode("-_8") == std::optional<std::string>("\xfb\xff"));
}

TEST_CASE("base64 round-trips bytes and refuses what is not base64", "[core][base64]") {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  CHECK(sb::base64_decode(sb::base64_encode(bytes)) == bytes);
  CHECK(sb::base64url_decode(sb::base64url_encode(bytes)) == bytes);
  CHECK_FALSE(sb::base64_decode("Zm8"));     // padding missing
  CHECK_FALSE(sb::base64_decode("Zm8=!"));   // trailing garbage
  CHECK_FALSE(sb::base64_decode("-_8="));    // the URL alphabet
  CHECK_FALSE(sb::base64url_decode("Zg=="));  // padding in base64url
}
