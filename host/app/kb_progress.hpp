#pragma once
// The progress `switchboard kb ingest` shows while the host ingests the
// uploaded documents: what is done, as one line.
//
//   [##########----------]  52%  1,234/2,371 chunks  faq.md (2 of 5)
//
// On a terminal that line is rewritten in place; otherwise a plain line is
// printed at each 10% step and at the end, so a log or a test reads a
// short, stable transcript.
//
// Threads: used by the command's thread only.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sb::app {

// One uploaded document as the API last showed it (GET .../documents/<id>).
struct IngestingDocument {
  std::string id;
  std::string name;
  std::string status;  // queued | processing | ready | failed
  std::string error;   // why it failed
  int64_t chunks_done = 0;
  int64_t chunks_total = 0;  // 0 until the document has been split
  int64_t chunk_count = 0;   // chunks indexed (ready)
  int64_t size_bytes = 0;

  static IngestingDocument from_json(const nlohmann::json& document);
  bool finished() const { return status == "ready" || status == "failed"; }
};

class IngestProgress {
 public:
  explicit IngestProgress(std::vector<IngestingDocument> documents);

  // Takes the document's new state (matched by id; others are ignored).
  void update(const IngestingDocument& document);
  const std::vector<IngestingDocument>& documents() const { return documents_; }
  bool finished() const;

  // 0..100; 100 only once every document is ready or failed. Documents
  // count by their size in bytes, so the figure only grows, even before a
  // document's chunk count is known.
  int percent() const;
  // Chunks embedded so far, and of how many known, over the documents not
  // failed.
  int64_t chunks_done() const;
  int64_t chunks_total() const;

  // "[##########----------]  52%  1,234/2,371 chunks  faq.md (2 of 5)"
  std::string bar_line() const;
  // The same without the bar: "ingesting  52%  1,234/2,371 chunks  faq.md (2 of 5)".
  std::string plain_line() const;

 private:
  // "faq.md (2 of 5)" for the document being ingested (else the next
  // queued one); "2 documents" when all are finished.
  std::string current_document() const;
  std::string counts() const;

  std::vector<IngestingDocument> documents_;
};

// Draws an IngestProgress on `out`: rewritten in place when `terminal`,
// else one plain line per 10% step reached and one at the end.
class ProgressDisplay {
 public:
  ProgressDisplay(std::FILE* out, bool terminal);
  void show(const IngestProgress& progress);
  // The final state (ends the terminal's line).
  void finish(const IngestProgress& progress);

 private:
  std::FILE* out_;
  bool terminal_;
  std::string last_line_;
  int last_step_ = -1;  // the last 10% step printed (plain output)
};

// 1234567 -> "1,234,567".
std::string with_thousands(int64_t n);

}  // namespace sb::app
