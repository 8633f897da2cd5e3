#pragma once
// How `switchboard kb ask` shows a streamed answer. The host streams the
// provider's raw text ("delta" events), then sends the answer as a flow
// would get it ("answer": the text with its citations in the base's style,
// or answered = false and why). On a terminal the raw text is shown as it
// arrives and then completed (or replaced) by the final one; otherwise only
// the final text is printed, so a script reads each answer once.
//
// Threads: used by the command's thread only.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

namespace sb::app {

class AnswerDisplay {
 public:
  AnswerDisplay(std::FILE* out, bool terminal);

  // A piece of the raw answer.
  void delta(const std::string& text);
  // The streamed text will not be completed (an error): erased from the
  // terminal.
  void discard();
  // Shows the "answer" event: the text and its sources, or
  // "No answer: REASON". Returns whether it was answered.
  bool finish(const nlohmann::json& answer);

 private:
  void erase_streamed();

  std::FILE* out_;
  bool terminal_;
  std::string streamed_;  // what delta() printed
};

}  // namespace sb::app
