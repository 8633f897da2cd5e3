// Regular expressions for triggers, switch cases and ask validation: PCRE2 in
// UTF-8 mode, case-insensitive by default, bad patterns and runaway
// backtracking reported as invalid arguments, compiled patterns cached.
#include "flows/regex.hpp"

#include "core/error.hpp"
#include "support/error_code.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using sb::ErrorCode;
using sb::flows::check_regex;
using sb::flows::regex_search;
using sb::test::code_of;

TEST_CASE("the first match is returned with its capture groups", "[flows][regex]") {
  const auto m = regex_search(R"((\d+)-(\d+))", "call 12-34 or 56-78");
  REQUIRE(m);
  CHECK(m->match == "12-34");
  REQUIRE(m->groups.size() == 2);
  CHECK(m->groups[0] == "12");
  CHECK(m->groups[1] == "34");

  const auto named = regex_search(R"((?<year>\d{4})-(?<month>\d\d))", "due 2026-03");
  REQUIRE(named);
  CHECK(named->groups == std::vector<std::optional<std::string>>{"2026", "03"});
}

TEST_CASE("a text without a match gives nullopt", "[flows][regex]") {
  CHECK_FALSE(regex_search("^yes$", "yes please"));
  CHECK_FALSE(regex_search(R"(\d)", ""));
  CHECK_FALSE(regex_search(R"(\d)", std::string_view()));
  CHECK(regex_search(std::string_view(), std::string_view()));
}

TEST_CASE("a group that did not take part is nullopt, an empty one is an empty string", "[flows][regex]") {
  const auto m = regex_search("(a)|(b)", "b");
  REQUIRE(m);
  REQUIRE(m->groups.size() == 2);
  CHECK_FALSE(m->groups[0].has_value());
  CHECK(m->groups[1] == "b");

  const auto trailing = regex_search("(a)(x)?", "a");
  REQUIRE(trailing);
  REQUIRE(trailing->groups.size() == 2);
  CHECK(trailing->groups[0] == "a");
  CHECK_FALSE(trailing->groups[1].has_value());

  const auto empty = regex_search("a(b*)c", "ac");
  REQUIRE(empty);
  CHECK(empty->groups[0] == "");

  const auto whole = regex_search("", "anything");
  REQUIRE(whole);
  CHECK(whole->match.empty());
  CHECK(whole->groups.empty());
}

TEST_CASE("matching ignores case unless asked not to, also beyond ASCII", "[flows][regex]") {
  CHECK(regex_search("hello", "Oh HeLLo there"));
  CHECK_FALSE(regex_search("hello", "Oh HeLLo there", true));
  CHECK(regex_search("HeLLo", "Oh HeLLo there", true));
  CHECK(regex_search("école", "L'ÉCOLE"));
  CHECK(regex_search("ДА", "да"));
  // The cache keys on case sensitivity too.
  CHECK(regex_search("abc", "ABC", false));
  CHECK_FALSE(regex_search("abc", "ABC", true));
  CHECK(regex_search("abc", "ABC", false));
}

TEST_CASE("patterns and texts are UTF-8 characters, not bytes", "[flows][regex]") {
  const auto one = regex_search("^.$", "é");
  REQUIRE(one);
  CHECK(one->match == "é");
  const auto word = regex_search(R"(\w+)", "¡mañana!");
  REQUIRE(word);
  CHECK(word->match == "mañana");
  const auto emoji = regex_search("(.)👍", "ok👍");
  REQUIRE(emoji);
  CHECK(emoji->groups[0] == "k");
}

TEST_CASE("invalid UTF-8 in the text is searched around, not an error", "[flows][regex]") {
  const std::string text = std::string("abc") + '\xff' + "def";
  const auto m = regex_search("def", text);
  REQUIRE(m);
  CHECK(m->match == "def");
  CHECK_FALSE(regex_search("c.d", text));
  const std::string truncated = std::string("caf") + '\xc3';  // half of "é"
  CHECK(regex_search("^caf", truncated));
  // A NUL byte is just a character.
  CHECK(regex_search("b$", std::string_view("a\0b", 3)));
}

TEST_CASE("a bad pattern is an invalid argument with PCRE2's message and offset", "[flows][regex]") {
  CHECK(code_of([] { regex_search("(abc", "abc"); }) == ErrorCode::invalid_argument);
  CHECK_THROWS_WITH(regex_search("(abc", "abc"), "regex: missing closing parenthesis at offset 4");
  CHECK_THROWS_WITH(check_regex("a{2,1}"), Catch::StartsWith("regex: ") && Catch::Contains("offset"));
  CHECK(code_of([] { check_regex("[z-a]"); }) == ErrorCode::invalid_argument);
  CHECK(code_of([] { check_regex("*"); }) == ErrorCode::invalid_argument);
  CHECK(code_of([] { check_regex(std::string("caf") + '\xc3'); }) == ErrorCode::invalid_argument);
  CHECK_NOTHROW(check_regex(R"(^\+?\d{7,15}$)"));
  CHECK_NOTHROW(check_regex("Hello", true));
}

TEST_CASE("catastrophic backtracking fails fast with an error", "[flows][regex]") {
  const std::string text = std::string(30, 'a') + "b";
  const auto start = std::chrono::steady_clock::now();
  try {
    regex_search("(a+)+$", text);
    FAIL("the match limit was not hit");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()) ==
          "regex: the pattern needs too much backtracking on this text (match limit exceeded)");
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  CHECK(code_of([] { regex_search(R"(^(\w+\s?)*$)", std::string(36, 'a') + "!"); }) == ErrorCode::invalid_argument);
  // Without JIT (as when a text outgrows the JIT stack) the limit holds too.
  CHECK(code_of([&] { regex_search("(*NO_JIT)(a+)+$", text); }) == ErrorCode::invalid_argument);
  // The same pattern on short texts settles without an error.
  CHECK_FALSE(regex_search("(a+)+$", "aaab"));
  CHECK(regex_search("(a+)+$", "baaa"));
}

TEST_CASE("long texts with ordinary patterns are not mistaken for runaways", "[flows][regex]") {
  const std::string text = std::string(200'000, 'x') + "needle";
  const auto m = regex_search(R"((?:x|y)*needle)", text);
  REQUIRE(m);
  CHECK(m->match.size() == text.size());
  CHECK(regex_search(R"(\bneedle\b)", text) == std::nullopt);
  CHECK(regex_search("needle$", text));
}

TEST_CASE("more distinct patterns than the cache holds all still match", "[flows][regex]") {
  for (int i = 0; i < 1500; ++i) {
    const std::string n = std::to_string(i);
    const auto m = regex_search("item-" + n + "\\b", "see item-" + n + " here");
    REQUIRE(m);
    CHECK(m->match == "item-" + n);
  }
}

TEST_CASE("patterns can be used from several threads at once", "[flows][regex]") {
  std::vector<int> matches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < matches.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 600; ++i) {
        // Distinct patterns per thread push the cache past its capacity too.
        const std::string pattern = "(\\d+)-" + std::to_string(i % 300) + "-t" + std::to_string(t);
        const auto m = regex_search(pattern, "x 42-" + std::to_string(i % 300) + "-t" + std::to_string(t));
        if (m && m->groups.at(0) == "42") ++matches[t];
      }
    });
  for (std::thread& thread : threads) thread.join();
  CHECK(matches == std::vector<int>(4, 600));
}
