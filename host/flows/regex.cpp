#include "flows/regex.hpp"

#include "core/error.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

namespace sb::flows {

namespace {

// Limits that stop catastrophic backtracking ("(a+)+$" on "aaa...ab") within
// milliseconds while leaving ordinary patterns on long texts alone (a
// "(?:x|y)*" over 200,000 characters still matches).
constexpr uint32_t kMatchLimit = 1'000'000;     // backtracking steps
constexpr uint32_t kDepthLimit = 500'000;       // nested backtracking frames (interpreter)
constexpr uint32_t kHeapLimitKiB = 64 * 1024;   // backtracking memory (interpreter)
constexpr size_t kJitStackMax = 4 * 1024 * 1024;
constexpr size_t kCacheCapacity = 1024;

const char* const kTooMuchBacktracking =
    "regex: the pattern needs too much backtracking on this text (match limit exceeded)";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(code, buffer, sizeof buffer);
  if (length < 0) return "error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

// A default string_view has no data; older PCRE2 releases refuse a NULL
// pointer even with length 0.
PCRE2_SPTR as_pcre2(std::string_view s) {
  return reinterpret_cast<PCRE2_SPTR>(s.data() ? s.data() : "");
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
using CompiledPattern = std::unique_ptr<pcre2_code, CodeDeleter>;

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::shared_ptr<const pcre2_code> compile(std::string_view pattern, bool case_sensitive) {
  // UTF + UCP: patterns and texts are UTF-8 and \w, \d, case folding know
  // Unicode. MATCH_INVALID_UTF: a text with invalid UTF-8 (a truncated
  // message) is searched around the bad bytes instead of failing. \C could
  // split a character in two, so it is refused.
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C;
  if (!case_sensitive) options |= PCRE2_CASELESS;
  int error = 0;
  PCRE2_SIZE offset = 0;
  CompiledPattern code(pcre2_compile(as_pcre2(pattern), pattern.size(), options, &error, &offset, nullptr));
  if (!code)
    throw Error(ErrorCode::invalid_argument,
                "regex: " + pcre2_message(error) + " at offset " + std::to_string(offset));
  // JIT is an optimisation only: where it is unavailable (or fails for this
  // pattern) pcre2_match interprets the pattern instead.
  (void)pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
  return std::shared_ptr<const pcre2_code>(code.release(), [](const pcre2_code* c) {
    pcre2_code_free(const_cast<pcre2_code*>(c));
  });
}

// Compiled patterns by (pattern, case_sensitive). Entries are shared so that
// clearing the cache never frees a pattern another thread is matching with.
class PatternCache {
 public:
  std::shared_ptr<const pcre2_code> get(std::string_view pattern, bool case_sensitive) {
    std::pair<std::string, bool> key{std::string(pattern), case_sensitive};
    {
      std::lock_guard lock(mutex_);
      if (auto it = patterns_.find(key); it != patterns_.end()) return it->second;
    }
    // Compiled outside the lock; two threads may both compile a new pattern,
    // and the second simply replaces the first's (equal) entry.
    std::shared_ptr<const pcre2_code> code = compile(pattern, case_sensitive);
    std::lock_guard lock(mutex_);
    // Flows use a handful of patterns; a full cache means someone matches
    // generated patterns, and starting over is as good as any eviction.
    if (patterns_.size() >= kCacheCapacity) patterns_.clear();
    patterns_[std::move(key)] = code;
    return code;
  }

 private:
  std::mutex mutex_;
  std::map<std::pair<std::string, bool>, std::shared_ptr<const pcre2_code>> patterns_;
};

PatternCache& cache() {
  static PatternCache instance;
  return instance;
}

// A JIT stack serves one thread at a time, so each matching thread has its
// own, with a match context that points to it. The stack reserves address
// space up to kJitStackMax and uses memory only as a match needs it.
class MatchResources {
 public:
  MatchResources() : context_(pcre2_match_context_create(nullptr)) {
    if (!context_) throw std::bad_alloc();
    pcre2_set_match_limit(context_, kMatchLimit);
    pcre2_set_depth_limit(context_, kDepthLimit);
    pcre2_set_heap_limit(context_, kHeapLimitKiB);
    // Without a stack of its own the JIT uses 32 KiB on the machine stack.
    jit_stack_ = pcre2_jit_stack_create(32 * 1024, kJitStackMax, nullptr);
    if (jit_stack_) pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
  }
  ~MatchResources() {
    pcre2_match_context_free(context_);
    pcre2_jit_stack_free(jit_stack_);
  }
  MatchResources(const MatchResources&) = delete;
  MatchResources& operator=(const MatchResources&) = delete;

  pcre2_match_context* context() const { return context_; }

 private:
  pcre2_match_context* context_;
  pcre2_jit_stack* jit_stack_ = nullptr;
};

pcre2_match_context* match_context() {
  thread_local MatchResources resources;
  return resources.context();
}

bool is_limit(int rc) {
  return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
         rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

}  // namespace

void check_regex(std::string_view pattern, bool case_sensitive) { cache().get(pattern, case_sensitive); }

std::optional<RegexMatch> regex_search(std::string_view pattern, std::string_view text, bool case_sensitive) {
  const std::shared_ptr<const pcre2_code> code = cache().get(pattern, case_sensitive);
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> data(pcre2_match_data_create_from_pattern(code.get(), nullptr));
  if (!data) throw std::bad_alloc();

  const PCRE2_SPTR subject = as_pcre2(text);
  pcre2_match_context* context = match_context();
  int rc = pcre2_match(code.get(), subject, text.size(), 0, 0, data.get(), context);
  // The JIT stack can run out on a long text where the interpreter, with its
  // heap-allocated frames, still finishes within the limits.
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(code.get(), subject, text.size(), 0, PCRE2_NO_JIT, data.get(), context);
  if (rc == PCRE2_ERROR_NOMATCH) return std::nullopt;
  if (is_limit(rc)) throw Error(ErrorCode::invalid_argument, kTooMuchBacktracking);
  if (rc < 0) throw Error(ErrorCode::internal, "regex: matching failed: " + pcre2_message(rc));

  uint32_t capture_count = 0;
  pcre2_pattern_info(code.get(), PCRE2_INFO_CAPTURECOUNT, &capture_count);
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
  const auto substring = [&](uint32_t i) -> std::optional<std::string> {
    const PCRE2_SIZE start = ovector[2 * i], end = ovector[2 * i + 1];
    if (start == PCRE2_UNSET) return std::nullopt;
    // \K in a lookaround can put the end before the start; report empty.
    if (end < start) return std::string();
    return std::string(text.substr(start, end - start));
  };

  RegexMatch match;
  match.match = substring(0).value_or("");
  match.groups.reserve(capture_count);
  // rc is one more than the highest group that took part; later ones did not.
  for (uint32_t i = 1; i <= capture_count; ++i)
    match.groups.push_back(static_cast<int>(i) < rc ? substring(i) : std::nullopt);
  return match;
}

}  // namespace sb::flows
