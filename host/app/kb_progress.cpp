#include "app/kb_progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

namespace sb::app {
namespace {

constexpr int kBarWidth = 20;

int64_t number(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::string text(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The part of a document done, 0..1.
double fraction_done(const IngestingDocument& d) {
  if (d.finished()) return 1.0;
  if (d.status == "processing" && d.chunks_total > 0) {
    return std::min(1.0, static_cast<double>(d.chunks_done) / static_cast<double>(d.chunks_total));
  }
  return 0.0;
}

// Columns of the terminal on `out`; 0 when unknown.
int terminal_columns(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

// `line` cut to `columns` characters (UTF-8 code points), so that `\r`
// rewrites one terminal row and does not leave wrapped rows behind.
std::string fit(const std::string& line, int columns) {
  if (columns <= 0) return line;
  int seen = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (++seen > columns) return line.substr(0, i);
  }
  return line;
}

}  // namespace

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

IngestingDocument IngestingDocument::from_json(const nlohmann::json& document) {
  IngestingDocument d;
  d.id = text(document, "id");
  d.name = text(document, "name");
  d.status = text(document, "status");
  d.error = text(document, "error");
  if (auto p = document.find("progress"); p != document.end() && p->is_object()) {
    d.chunks_done = number(*p, "chunks_done");
    d.chunks_total = number(*p, "chunks_total");
  }
  d.chunk_count = number(document, "chunk_count");
  d.size_bytes = number(document, "size_bytes");
  return d;
}

IngestProgress::IngestProgress(std::vector<IngestingDocument> documents) : documents_(std::move(documents)) {}

void IngestProgress::update(const IngestingDocument& document) {
  for (auto& d : documents_) {
    if (d.id == document.id) d = document;
  }
}

bool IngestProgress::finished() const {
  return std::all_of(documents_.begin(), documents_.end(), [](const auto& d) { return d.finished(); });
}

int IngestProgress::percent() const {
  if (finished()) return 100;
  double weight = 0, done = 0;
  for (const auto& d : documents_) {
    // An empty size (a URL not fetched yet) still counts for something.
    const double w = static_cast<double>(std::max<int64_t>(d.size_bytes, 1));
    weight += w;
    done += w * fraction_done(d);
  }
  const int p = weight > 0 ? static_cast<int>(100.0 * done / weight) : 0;
  return std::clamp(p, 0, 99);
}

int64_t IngestProgress::chunks_done() const {
  int64_t n = 0;
  for (const auto& d : documents_) {
    if (d.status == "ready") n += d.chunk_count;
    else if (d.status == "processing") n += d.chunks_done;
  }
  return n;
}

int64_t IngestProgress::chunks_total() const {
  int64_t n = 0;
  for (const auto& d : documents_) {
    if (d.status == "ready") n += d.chunk_count;
    else if (d.status == "processing") n += d.chunks_total;
  }
  return n;
}

std::string IngestProgress::current_document() const {
  const size_t count = documents_.size();
  for (const char* wanted : {"processing", "queued"}) {
    for (size_t i = 0; i < count; ++i) {
      if (documents_[i].status == wanted) {
        return documents_[i].name + " (" + std::to_string(i + 1) + " of " + std::to_string(count) + ")";
      }
    }
  }
  return std::to_string(count) + (count == 1 ? " document" : " documents");
}

std::string IngestProgress::counts() const {
  char percent_text[8];
  std::snprintf(percent_text, sizeof percent_text, "%3d%%", percent());
  return std::string(percent_text) + "  " + with_thousands(chunks_done()) + "/" + with_thousands(chunks_total()) +
         " chunks  " + current_document();
}

std::string IngestProgress::bar_line() const {
  const int filled = percent() * kBarWidth / 100;
  std::string line = "[";
  line.append(static_cast<size_t>(filled), '#');
  line.append(static_cast<size_t>(kBarWidth - filled), '-');
  line += "] ";
  line += counts();
  return line;
}

std::string IngestProgress::plain_line() const { return "ingesting " + counts(); }

ProgressDisplay::ProgressDisplay(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

void ProgressDisplay::show(const IngestProgress& progress) {
  if (terminal_) {
    const std::string line = fit(progress.bar_line(), terminal_columns(out_) - 1);
    if (line == last_line_) return;
    // \033[K clears what a longer previous line left on the row.
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    std::fflush(out_);
    last_line_ = line;
    return;
  }
  const int step = progress.percent() / 10;
  if (step <= last_step_) return;
  last_line_ = progress.plain_line();
  std::fprintf(out_, "%s\n", last_line_.c_str());
  std::fflush(out_);
  last_step_ = step;
}

void ProgressDisplay::finish(const IngestProgress& progress) {
  show(progress);
  if (terminal_) {
    std::fputs("\n", out_);
  } else if (const std::string line = progress.plain_line(); line != last_line_) {
    // The end, unless show() just printed it (the 100% step).
    std::fprintf(out_, "%s\n", line.c_str());
    last_line_ = line;
  }
  std::fflush(out_);
}

}  // namespace sb::app
