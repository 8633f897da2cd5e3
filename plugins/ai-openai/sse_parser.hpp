#pragma once
// An incremental Server-Sent Events parser (the WHATWG event-stream format,
// as OpenAI-compatible servers stream chat completions): fed the body in
// pieces cut anywhere — mid-line, between "\r" and "\n" — it hands over the
// data of each complete event. "data:" lines of one event are joined with
// "\n"; comments (":" lines) and the event/id/retry fields are ignored.
// One parser per stream; not thread-safe (a stream is read on one thread).
#include <functional>
#include <string>
#include <string_view>

namespace openai {

class SseParser {
 public:
  using OnData = std::function<void(std::string_view data)>;

  explicit SseParser(OnData on_data) : on_data_(std::move(on_data)) {}

  // Parses the next piece of the body, calling on_data for each event that
  // it completes.
  void feed(std::string_view piece);

  // The body has ended: an event whose blank line never came is still
  // handed over (the format would drop it; servers that end on "data: ..."
  // followed by the end of the body mean it).
  void finish();

 private:
  void line(std::string_view text);
  void dispatch();

  OnData on_data_;
  std::string partial_;      // the current line so far
  std::string data_;         // the current event's data so far
  bool has_data_ = false;    // a data: line was seen since the last dispatch
  bool after_cr_ = false;    // the last piece ended in "\r": a "\n" next is not a new line
};

}  // namespace openai
