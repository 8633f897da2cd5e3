// bench_knowledge — knowledge-base ingestion, search latency and the recall
// of the approximate vector index, on real text no one here wrote: the
// manual pages Debian packages install under /usr/share/man (roff reduced
// to Markdown-like text), then README/NEWS files under /usr/share/doc.
//
// In process, no HTTP: the real KnowledgeBases service over a real SQLite
// file in a temporary directory, with the real ai-local plugin (the embedded
// default provider) and storage-sqlite loaded from the build tree.
//
// 1. Ingestion: documents are read until their text should make about
//    --chunks chunks (one in 50 is held out for queries), then uploaded in
//    batches (add_files parses and checks them) and ingested; the clock runs
//    from the first upload until the last document is ready. Printed as MB of
//    document text per second, everything included (parsing, chunking,
//    embedding, SQLite with FTS5, the faiss index). Then the wait for the
//    background merge of the keyword index's segments (it starts once
//    ingestion has been idle for two seconds), printed apart, and the save
//    of the vector index file.
// 2. Search: --queries questions (the first sentence of held-out
//    paragraphs), searched one at a time through KnowledgeBases::search (the
//    question embedded, the vector index, FTS5, fusion, the chunk rows):
//    p50 / p99 / mean milliseconds.
// 3. Recall@10: for the same questions, the base's index (approximate past
//    knowledge.exact_until) against an exact flat index over the same
//    vectors: the share of the exact top 10 that the index returns.
//
//   bench_knowledge [--chunks N] [--queries N] [--approximate lsh|ivf|hnsw]
//                   [--exact-until N] [--ingest-threads N] [--json] [--keep]
#include "bench_args.hpp"
#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/scheduler.hpp"
#include "knowledge/embeddings.hpp"
#include "knowledge/knowledge_bases.hpp"
#include "knowledge/vector_index.hpp"
#include "plugins/host_services.hpp"
#include "plugins/registry.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int64_t chunks = 100'000;
  int64_t queries = 1'000;
  std::string approximate = "lsh";
  int64_t exact_until = 5'000;
  bool json = false;
  int64_t ingest_threads = 1;
  bool keep = false;  // leave the temporary data directory (its database) for a look
};

constexpr double kBytesPerChunk = 380;  // text per chunk of manual pages (short sections) at the default settings

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string read_maybe_gzipped(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files as they are too
  if (!f) return {};
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

// roff's inline escapes: fonts dropped, a few characters kept.
std::string unescape_roff(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 >= line.size()) {
      out += line[i];
      continue;
    }
    const char c = line[++i];
    if (c == 'f' && i + 1 < line.size()) {
      if (line[i + 1] == '(' && i + 3 < line.size()) i += 3; else ++i;  // \fB, \f(CW
    } else if (c == '(' && i + 2 < line.size()) {
      const std::string name = line.substr(i + 1, 2);
      out += name == "em" || name == "en" ? "-" : name == "bu" ? "*" : name == "co" ? "(c)" : "";
      i += 2;
    } else if (c == '-' || c == 'e' || c == '\\') {
      out += c == 'e' ? '\\' : c;
    } else if (c == '&' || c == '|' || c == '^' || c == ':' || c == 'c') {
    } else if (c == '*' && i + 1 < line.size()) {
      ++i;  // a string register: dropped
    } else if (c == 's') {
      while (i + 1 < line.size() && (std::isdigit(static_cast<unsigned char>(line[i + 1])) || line[i + 1] == '-' ||
                                     line[i + 1] == '+'))
        ++i;
    } else if (c == ' ') {
      out += ' ';
    } else if (c == '"') {
      break;  // a comment
    }
  }
  return out;
}

// A manual page as Markdown: .SH / .SS headings, paragraphs, the text of
// .B / .I / .BR lines; other requests dropped.
std::string man_to_markdown(const std::string& roff) {
  std::string out;
  std::string title;
  size_t pos = 0;
  while (pos < roff.size()) {
    size_t end = roff.find('\n', pos);
    if (end == std::string::npos) end = roff.size();
    std::string line = roff.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      out += "\n";
      continue;
    }
    if (line[0] == '.' || line[0] == '\'') {
      const auto space = line.find(' ');
      const std::string req = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
      std::string arg = space == std::string::npos ? std::string() : line.substr(space + 1);
      arg.erase(std::remove(arg.begin(), arg.end(), '"'), arg.end());
      arg = unescape_roff(arg);
      if (req == "TH" && title.empty()) {
        title = arg.substr(0, arg.find(' '));
        out += "# " + title + "\n\n";
      } else if (req == "SH") {
        out += "\n## " + arg + "\n\n";
      } else if (req == "SS") {
        out += "\n### " + arg + "\n\n";
      } else if (req == "PP" || req == "LP" || req == "P" || req == "TP" || req == "IP" || req == "sp") {
        out += "\n";
        if (req == "IP" && !arg.empty()) out += arg + " ";
      } else if (req == "B" || req == "I" || req == "BR" || req == "IR" || req == "RB" || req == "BI" || req == "IB" ||
                 req == "RI" || req == "SM") {
        out += arg + "\n";
      }
      continue;
    }
    out += unescape_roff(line) + "\n";
  }
  return out;
}

struct Corpus {
  std::vector<sb::knowledge::DocumentUpload> documents;
  std::vector<std::string> queries;
  size_t bytes = 0;
};

// The first sentence of each paragraph of `text` that looks like prose.
void collect_queries(const std::string& text, std::vector<std::string>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    if (end == std::string::npos) end = text.size();
    std::string para = text.substr(pos, end - pos);
    pos = end + 2;
    if (para.empty() || para[0] == '#') continue;
    std::replace(para.begin(), para.end(), '\n', ' ');
    const auto stop = para.find(". ");
    std::string sentence = para.substr(0, stop == std::string::npos ? para.size() : stop + 1);
    if (sentence.size() >= 40 && sentence.size() <= 200) out.push_back(sentence);
  }
}

Corpus gather(int64_t chunks, int64_t queries) {
  Corpus c;
  const size_t want = static_cast<size_t>(static_cast<double>(chunks) * kBytesPerChunk);
  std::vector<fs::path> files;
  for (const char* section : {"man1", "man8", "man5", "man7", "man3", "man2", "man6", "man4"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path("/usr/share/man") / section, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator("/usr/share/doc", ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && (name.rfind("README", 0) == 0 || name.rfind("NEWS", 0) == 0)) files.push_back(it->path());
  }
  std::set<std::string> seen;  // the same page installed twice is read once
  size_t n = 0;
  for (const auto& f : files) {
    if (c.bytes >= want && static_cast<int64_t>(c.queries.size()) >= queries) break;
    std::string raw = read_maybe_gzipped(f);
    if (raw.size() < 200 || raw.find('\0') != std::string::npos) continue;
    const bool man = f.string().find("/usr/share/man/") == 0;
    std::string text = man ? man_to_markdown(raw) : raw;
    if (text.size() < 200 || !seen.insert(text.substr(0, 400)).second) continue;
    // Held out: one document in 50 gives questions instead.
    if (++n % 50 == 0 && static_cast<int64_t>(c.queries.size()) < queries) {
      collect_queries(text, c.queries);
      continue;
    }
    if (c.bytes >= want) continue;
    std::string name = f.filename().string();
    if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.resize(name.size() - 3);
    name = std::to_string(c.documents.size()) + "-" + name + (man ? ".md" : ".txt");
    c.bytes += text.size();
    c.documents.push_back({name, man ? "text/markdown" : "text/plain", std::move(text)});
  }
  if (static_cast<int64_t>(c.queries.size()) > queries) c.queries.resize(static_cast<size_t>(queries));
  return c;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

void usage() {
  std::puts(
      "bench_knowledge [--chunks N] [--queries N] [--approximate lsh|ivf|hnsw] [--exact-until N] [--ingest-threads N] [--json] [--keep]\n"
      "  Ingests real text (man pages, /usr/share/doc READMEs) into a knowledge base with the local\n"
      "  provider, then measures search latency and the approximate index's recall@10 against exact search.");
}

}  // namespace

int main(int argc, char** argv) {
  bench::set_program_name("bench_knowledge");
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) bench::fail(a + " needs a value");
      return argv[++i];
    };
    if (a == "--chunks") o.chunks = static_cast<int64_t>(bench::parse_number(a, value(), 100, 10'000'000));
    else if (a == "--queries") o.queries = static_cast<int64_t>(bench::parse_number(a, value(), 10, 100'000));
    else if (a == "--approximate") o.approximate = value();
    else if (a == "--exact-until") o.exact_until = static_cast<int64_t>(bench::parse_number(a, value(), 0, 1e9));
    else if (a == "--json") o.json = true;
    else if (a == "--keep") o.keep = true;
    else if (a == "--ingest-threads") o.ingest_threads = static_cast<int64_t>(bench::parse_number(a, value(), 1, 64));
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      bench::fail("unknown option " + a + " (see --help)");
    }
  }
  spdlog::set_level(spdlog::level::warn);

  const auto gather_started = Clock::now();
  Corpus corpus = gather(o.chunks, o.queries);
  if (corpus.documents.empty()) bench::fail("no text found under /usr/share/man or /usr/share/doc");
  std::fprintf(stderr, "bench_knowledge: %zu documents, %.1f MB of text, %zu questions (read in %.1f s)\n",
               corpus.documents.size(), static_cast<double>(corpus.bytes) / 1e6, corpus.queries.size(),
               seconds_since(gather_started));

  const fs::path dir = fs::temp_directory_path() / ("sb-bench-knowledge-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  json out;
  {
    sb::Scheduler scheduler(1);
    sb::plugins::HostServices services(scheduler);
    sb::plugins::PluginRegistry registry(services);
    registry.discover({SB_PLUGIN_DIR});
    sb::EventBus bus;
    sb::store::DatabaseOptions db_options;
    db_options.config = {{"path", (dir / "switchboard.db").string()}};
    db_options.readers = 2;
    auto db = sb::store::Database::open(registry, db_options);
    db->write([](sb::store::Connection& c) {
      c.execute("INSERT INTO organizations (id, name, created_at) VALUES ('org', 'Bench', 0)");
      c.execute("INSERT INTO workspaces (id, organization_id, name, timezone, created_at) VALUES ('ws', 'org', 'Bench', 'UTC', 0)");
    });
    sb::knowledge::KnowledgeOptions options;
    options.index_dir = dir / "knowledge";
    options.index.approximate = o.approximate;
    options.index.exact_until = static_cast<size_t>(o.exact_until);
    options.max_document_bytes = 64u << 20;
    options.ingest_threads = static_cast<unsigned>(o.ingest_threads);
    auto kb = std::make_unique<sb::knowledge::KnowledgeBases>(*db, registry, bus, options);
    kb->start();
    const auto base = kb->create("org", "ws", {{"name", "bench"}});

    // 1. Ingestion.
    const auto t0 = Clock::now();
    constexpr size_t kBatch = 50;
    for (size_t i = 0; i < corpus.documents.size(); i += kBatch) {
      std::vector<sb::knowledge::DocumentUpload> batch(
          corpus.documents.begin() + static_cast<std::ptrdiff_t>(i),
          corpus.documents.begin() + static_cast<std::ptrdiff_t>(std::min(corpus.documents.size(), i + kBatch)));
      try {
        kb->add_files("ws", base.id, batch, {});
      } catch (const std::exception&) {
        // One unreadable page refuses its batch: add the others one by one.
        for (const auto& d : batch) {
          try {
            kb->add_files("ws", base.id, {d}, {});
          } catch (const std::exception&) {
          }
        }
      }
    }
    const double upload_s = seconds_since(t0);
    if (!kb->wait_until_idle(std::chrono::hours(2))) bench::fail("ingestion did not finish in 2 hours");
    const double ingest_s = seconds_since(t0);
    // The keyword index's segments merged (after compaction_quiet): what a
    // base is searched with once its uploads are done.
    const auto m0 = Clock::now();
    if (!kb->wait_until_compacted(std::chrono::hours(1))) bench::fail("the keyword index was not merged in an hour");
    const double merge_s = seconds_since(m0);
    // And its vector index saved (the maintenance thread would write it a
    // few seconds after the last change, 200 MB at 100,000 chunks, in the
    // middle of the searches below): search is measured on a settled base.
    kb->indexes().save_dirty();
    const json status = kb->status("ws", base.id);
    size_t ingested_bytes = 0, failed = 0;
    {
      sb::store::PageRequest page{1000, std::nullopt};
      for (;;) {
        auto docs = kb->documents("ws", base.id, std::nullopt, page);
        for (const auto& d : docs.items) {
          if (d.status == "ready") ingested_bytes += static_cast<size_t>(d.size_bytes); else ++failed;
        }
        if (!docs.next) break;
        page.after = docs.next;
      }
    }
    const int64_t chunk_count = status["chunks"].get<int64_t>();
    auto index = kb->indexes().get("ws", base.id);
    if (!index) bench::fail("the base has no vector index");

    // 2. Search latency through the service.
    std::vector<double> search_ms;
    for (const auto& q : corpus.queries) {
      const auto s0 = Clock::now();
      kb->search("ws", base.id, sb::knowledge::SearchRequest{q, 10, {}});
      search_ms.push_back(seconds_since(s0) * 1000);
    }

    // 3. Recall@10: the index against exact search over the same vectors.
    sb::knowledge::VectorIndexOptions exact_options;
    exact_options.exact_until = SIZE_MAX;
    sb::knowledge::VectorIndex exact(index->dimension(), exact_options);
    const auto kb_row = kb->get("ws", base.id);
    for (int64_t after = 0;;) {
      auto page = db->read([&](sb::store::Connection& c) {
        return sb::knowledge::repo::scan_vectors(c, base.id, *kb_row.embedding_model, after, 8192);
      });
      if (page.ids.empty()) break;
      exact.add(page.ids, reinterpret_cast<const float*>(page.embeddings.data()));
      after = page.ids.back();
    }
    auto provider = registry.create_ai("ai-local", "bench-recall", json::object());
    double recall_sum = 0;
    std::vector<double> vector_ms;
    for (const auto& q : corpus.queries) {
      auto e = sb::knowledge::embed_texts(*provider, {q}, "query", 30000);
      const auto v0 = Clock::now();
      const auto approx = index->search(e.row(0), 10);
      vector_ms.push_back(seconds_since(v0) * 1000);
      const auto truth = exact.search(e.row(0), 10);
      std::set<int64_t> want;
      for (const auto& h : truth) want.insert(h.id);
      size_t hit = 0;
      for (const auto& h : approx) hit += want.count(h.id);
      recall_sum += truth.empty() ? 1.0 : static_cast<double>(hit) / static_cast<double>(truth.size());
    }
    const double recall = recall_sum / static_cast<double>(std::max<size_t>(1, corpus.queries.size()));

    out = {{"documents", corpus.documents.size()},
           {"documents_failed", failed},
           {"text_mb", static_cast<double>(ingested_bytes) / 1e6},
           {"chunks", chunk_count},
           {"index_kind", index->kind()},
           {"ingest_seconds", ingest_s},
           {"upload_seconds", upload_s},
           {"keyword_merge_seconds", merge_s},
           {"ingest_mb_per_s", static_cast<double>(ingested_bytes) / 1e6 / ingest_s},
           {"ingest_chunks_per_s", static_cast<double>(chunk_count) / ingest_s},
           {"queries", corpus.queries.size()},
           {"search_ms", {{"p50", percentile(search_ms, 0.5)},
                          {"p99", percentile(search_ms, 0.99)},
                          {"mean", std::accumulate(search_ms.begin(), search_ms.end(), 0.0) / std::max<size_t>(1, search_ms.size())}}},
           {"vector_search_ms", {{"p50", percentile(vector_ms, 0.5)}, {"p99", percentile(vector_ms, 0.99)}}},
           {"recall_at_10", recall}};
    provider.reset();
    kb->stop();
    kb.reset();
  }
  std::error_code ec;
  if (o.keep) {
    std::fprintf(stderr, "bench_knowledge: kept %s\n", dir.c_str());
  } else {
    fs::remove_all(dir, ec);
  }

  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("ingestion:  %zu documents (%zu refused), %.1f MB of text, %lld chunks in %.1f s: %.2f MB/s, %.0f chunks/s\n",
              out["documents"].get<size_t>(), out["documents_failed"].get<size_t>(), out["text_mb"].get<double>(),
              static_cast<long long>(out["chunks"].get<int64_t>()), out["ingest_seconds"].get<double>(),
              out["ingest_mb_per_s"].get<double>(), out["ingest_chunks_per_s"].get<double>());
  std::printf("            (the uploads themselves, checked, parsed and stored: %.1f s of it)\n",
              out["upload_seconds"].get<double>());
  std::printf("            then the keyword index merged, in the background once ingestion is idle: %.1f s\n",
              out["keyword_merge_seconds"].get<double>());
  std::printf("search:     %zu questions over %lld chunks (index %s): p50 %.2f ms, p99 %.2f ms, mean %.2f ms\n",
              out["queries"].get<size_t>(), static_cast<long long>(out["chunks"].get<int64_t>()),
              out["index_kind"].get<std::string>().c_str(), out["search_ms"]["p50"].get<double>(),
              out["search_ms"]["p99"].get<double>(), out["search_ms"]["mean"].get<double>());
  std::printf("            of which the vector index alone: p50 %.2f ms, p99 %.2f ms\n",
              out["vector_search_ms"]["p50"].get<double>(), out["vector_search_ms"]["p99"].get<double>());
  std::printf("recall@10:  %.3f (index %s against exact inner-product search)\n", out["recall_at_10"].get<double>(),
              out["index_kind"].get<std::string>().c_str());
  return 0;
}
