#pragma once
// Regular expressions for triggers, switch cases and ask validation: PCRE2
// (UTF-8 mode), with a match limit so that a pathological pattern fails with
// an error instead of running away. Compiled patterns are cached.
//
// Threads: thread-safe (the cache is locked; match data is per call, the JIT
// stack per thread).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::flows {

struct RegexMatch {
  std::string match;                               // the whole match
  std::vector<std::optional<std::string>> groups;  // capture groups 1..n (nullopt: did not take part)
};

// Compiles (or finds in the cache) `pattern`; case-insensitive unless
// `case_sensitive`. Throws sb::Error(invalid_argument)
// with PCRE2's message and offset for a bad pattern ("regex: missing closing
// parenthesis at offset 4").
void check_regex(std::string_view pattern, bool case_sensitive = false);

// The first match of `pattern` in `text`, or nullopt. Throws
// sb::Error(invalid_argument) for a bad pattern, and sb::Error(invalid_argument)
// "regex: the pattern needs too much backtracking on this text (match limit
// exceeded)" when matching hits the limit. Invalid UTF-8 in `text` is not an
// error: matches simply never include the bad bytes.
std::optional<RegexMatch> regex_search(std::string_view pattern, std::string_view text,
                                       bool case_sensitive = false);

}  // namespace sb::flows
