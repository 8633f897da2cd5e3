#include "app/kb_answer_display.hpp"

#include "core/text.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace sb::app {
namespace {

using nlohmann::json;

size_t code_points(const std::string& s, size_t from, size_t to) {
  size_t n = 0;
  for (size_t i = from; i < to; ++i) n += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  return n;
}

// Terminal rows `text` took when printed from the start of a row.
size_t rows_of(const std::string& text, size_t columns) {
  size_t rows = 0, start = 0;
  while (true) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const size_t width = code_points(text, start, end);
    rows += width == 0 ? 1 : (width + columns - 1) / columns;
    if (end >= text.size()) break;
    start = end + 1;
  }
  return rows;
}

// "[1] faq.md › Opening hours" for each citation.
std::string sources_of(const json& citations) {
  std::string out;
  for (const auto& c : citations) {
    if (!c.is_object()) continue;
    out += "\n[";
    out += c.contains("n") ? c["n"].dump() : std::string("?");
    out += "] ";
    out += c.value("document_name", "");
    const std::string heading = c.value("heading", "");
    if (!heading.empty()) out += " › " + heading;
  }
  return out.empty() ? "" : "\nSources:" + out;
}

}  // namespace

AnswerDisplay::AnswerDisplay(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

void AnswerDisplay::delta(const std::string& text) {
  if (!terminal_ || text.empty()) return;
  std::fputs(text.c_str(), out_);
  std::fflush(out_);
  streamed_ += text;
}

void AnswerDisplay::discard() { erase_streamed(); }

void AnswerDisplay::erase_streamed() {
  if (streamed_.empty()) return;
  winsize ws{};
  const size_t columns = ioctl(fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
  const size_t up = rows_of(streamed_, columns) - 1;
  // Back to the first row the answer used, then clear to the end of the
  // screen. Rows scrolled off the top stay (the terminal cannot reach them).
  std::fputs("\r", out_);
  if (up > 0) std::fprintf(out_, "\033[%zuA", up);
  std::fputs("\033[J", out_);
  std::fflush(out_);
  streamed_.clear();
}

bool AnswerDisplay::finish(const json& answer) {
  const bool answered = answer.value("answered", false);
  if (!answered) {
    erase_streamed();
    const json reason = answer.value("reason", json());
    const std::string why = reason.is_string() ? reason.get<std::string>() : "no reason was given";
    std::fprintf(out_, "No answer: %s\n", why.c_str());
    std::fflush(out_);
    return false;
  }
  const std::string text = answer.value("text", "");
  // The footnote style lists the sources after the text already; the
  // others do not, and an admin testing a base wants to see them.
  const std::string sources =
      text.find("\nSources:") == std::string::npos ? sources_of(answer.value("citations", json::array())) : "";
  const std::string shown(trim_ascii(streamed_));
  if (!shown.empty() && text.compare(0, shown.size(), shown) == 0) {
    // What was streamed is the start of the final text: complete it.
    std::fprintf(out_, "%s\n%s%s", text.substr(shown.size()).c_str(), sources.c_str(), sources.empty() ? "" : "\n");
  } else {
    erase_streamed();
    std::fprintf(out_, "%s\n%s%s", text.c_str(), sources.c_str(), sources.empty() ? "" : "\n");
  }
  std::fflush(out_);
  return true;
}

}  // namespace sb::app
