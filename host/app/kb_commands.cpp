#include "app/kb_commands.hpp"

#include "app/kb_answer_display.hpp"
#include "app/kb_client.hpp"
#include "app/kb_progress.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

namespace sb::app {

const char* const kKbUsage = R"usage(  switchboard kb ingest --kb NAME FILE... [--tags a,b] [--timeout SECONDS]
      Upload documents (.md, .txt, .html, .pdf) to knowledge base NAME of
      a running host, creating the base when it does not exist, and show
      the ingestion's progress until every document is ready or failed
      (waiting at most SECONDS, default 600). Exit status 0 when every
      document is ready.
  switchboard kb search --kb NAME QUESTION [--k N] [--tags a,b] [--json]
      The passages of NAME closest to QUESTION, best first, with scores.
  switchboard kb ask --kb NAME QUESTION [--tags a,b] [--json]
      The answer NAME's provider gives, with its sources, as a flow would
      get it; "No answer: REASON" and exit status 1 when there is none.
  switchboard kb list [--json]
  switchboard kb status --kb NAME [--json]
      The workspace's knowledge bases; one base's documents and progress.
      The kb commands call a running host: --url URL (default
      $SWITCHBOARD_URL, else http://127.0.0.1:8080), --api-key KEY (sent as
      X-API-Key; default $SWITCHBOARD_API_KEY, else $ENGINE_API_KEY) and
      --workspace ID (default $SWITCHBOARD_WORKSPACE, else demo).
)usage";

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr size_t kPolledPerTick = 5;  // 25 requests a second at most
constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";
constexpr const char* kDefaultWorkspace = "demo";
constexpr size_t kPassageWidth = 76;
constexpr size_t kPassageLines = 4;

// A failure of the command that is not a usage error: printed, exit 1.
class CommandFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

// What one kb subcommand was given.
struct KbArguments {
  KbConnection connection;
  std::string kb;                       // --kb
  std::vector<std::string> positional;  // files, or the words of the question
  std::optional<std::vector<std::string>> tags;
  std::optional<int> k;
  double timeout_seconds = 600;
  bool json = false;
};

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> tags;
  std::stringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    const auto b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b != std::string::npos) tags.push_back(part.substr(b, e - b + 1));
  }
  return tags;
}

// Reads the options `allowed` (besides --url, --api-key, --workspace) from
// args[1...]; anything else that starts with "--" is refused.
KbArguments parse_arguments(const std::vector<std::string>& args, const std::set<std::string>& allowed,
                            const std::string& usage) {
  KbArguments a;
  std::optional<std::string> url, key, workspace;
  auto refuse = [&](const std::string& message) {
    throw Error(ErrorCode::invalid_argument, message + " (usage: " + usage + ")");
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) refuse(arg + " needs a value");
      return args[++i];
    };
    const bool option = arg.size() > 2 && arg.rfind("--", 0) == 0;
    if (!option) {
      a.positional.push_back(arg);
    } else if (arg == "--url") {
      url = value();
    } else if (arg == "--api-key") {
      key = value();
    } else if (arg == "--workspace") {
      workspace = value();
    } else if (!allowed.count(arg)) {
      refuse("unknown option " + arg);
    } else if (arg == "--kb") {
      a.kb = value();
      if (a.kb.empty()) refuse("--kb needs a knowledge base name");
    } else if (arg == "--tags") {
      a.tags = split_tags(value());
    } else if (arg == "--k") {
      const std::string v = value();
      char* end = nullptr;
      const long k = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || k < 1 || k > 50) refuse("--k must be a whole number from 1 to 50");
      a.k = static_cast<int>(k);
    } else if (arg == "--timeout") {
      const std::string v = value();
      char* end = nullptr;
      const double seconds = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !std::isfinite(seconds) || seconds < 0) {
        refuse("--timeout must be a number of seconds (0 or more)");
      }
      a.timeout_seconds = seconds;
    } else if (arg == "--json") {
      a.json = true;
    }
  }
  if (allowed.count("--kb") && a.kb.empty()) refuse("--kb NAME is required");
  a.connection.url = url ? *url : env("SWITCHBOARD_URL").value_or(kDefaultUrl);
  a.connection.api_key = key ? *key : env("SWITCHBOARD_API_KEY").value_or(env("ENGINE_API_KEY").value_or(""));
  a.connection.workspace = workspace ? *workspace : env("SWITCHBOARD_WORKSPACE").value_or(kDefaultWorkspace);
  if (a.connection.workspace.empty()) refuse("--workspace needs a workspace id");
  return a;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string kb_path(const KbClient& client, const std::string& kb, const std::string& suffix = "") {
  return client.knowledge_bases_path("/" + KbClient::path_segment(kb) + suffix);
}

// Every item of a paged list (GET path?limit=200&cursor=...).
json all_pages(KbClient& client, const std::string& path) {
  json items = json::array();
  std::string cursor;
  do {
    const json page =
        client.get(path + "?limit=200" + (cursor.empty() ? "" : "&cursor=" + KbClient::path_segment(cursor)));
    for (const auto& item : page.value("data", json::array())) items.push_back(item);
    const json next = page.value("next_cursor", json());
    cursor = next.is_string() ? next.get<std::string>() : "";
  } while (!cursor.empty());
  return items;
}

std::string plural(int64_t n, const char* one, const char* many) {
  return with_thousands(n) + " " + (n == 1 ? one : many);
}

// "faq.md: ready, 48 chunks", "bad.pdf: failed: the PDF is encrypted", ...
std::string document_line(const IngestingDocument& d) {
  if (d.status == "ready") return d.name + ": ready, " + plural(d.chunk_count, "chunk", "chunks");
  if (d.status == "failed") return d.name + ": failed: " + (d.error.empty() ? "no reason was given" : d.error);
  if (d.status == "processing" && d.chunks_total > 0) {
    return d.name + ": processing, " + with_thousands(d.chunks_done) + "/" + with_thousands(d.chunks_total) + " chunks";
  }
  return d.name + ": " + d.status;
}

void print_json(const json& value) { std::printf("%s\n", value.dump(2).c_str()); }

// ---- kb list

int kb_list(const std::vector<std::string>& args) {
  const auto a = parse_arguments(args, {"--json"}, "switchboard kb list [--json]");
  if (!a.positional.empty()) throw Error(ErrorCode::invalid_argument, "kb list takes no argument " + a.positional[0]);
  KbClient client(a.connection);
  const json bases = all_pages(client, client.knowledge_bases_path());
  if (a.json) {
    print_json(bases);
    return 0;
  }
  if (bases.empty()) {
    std::printf("No knowledge bases in workspace %s. Create one with `switchboard kb ingest --kb NAME FILE...`.\n",
                a.connection.workspace.c_str());
    return 0;
  }
  std::printf("%-24s %10s %10s  %-16s %s\n", "NAME", "DOCUMENTS", "CHUNKS", "PROVIDER", "ID");
  for (const auto& b : bases) {
    std::printf("%-24s %10s %10s  %-16s %s\n", b.value("name", "").c_str(),
                with_thousands(b.value("documents", int64_t{0})).c_str(),
                with_thousands(b.value("chunks", int64_t{0})).c_str(), b.value("provider", "").c_str(),
                b.value("id", "").c_str());
  }
  return 0;
}

// ---- kb status

int kb_status(const std::vector<std::string>& args) {
  const auto a = parse_arguments(args, {"--kb", "--json"}, "switchboard kb status --kb NAME [--json]");
  if (!a.positional.empty()) throw Error(ErrorCode::invalid_argument, "kb status takes no argument " + a.positional[0]);
  KbClient client(a.connection);
  const json base = client.get(kb_path(client, a.kb));
  const std::string id = base.value("id", a.kb);
  const json status = client.get(kb_path(client, id, "/status"));
  const json documents = all_pages(client, kb_path(client, id, "/documents"));
  if (a.json) {
    print_json({{"knowledge_base", base}, {"status", status}, {"documents", documents}});
    return 0;
  }
  const json counts = status.value("documents", json::object());
  auto count = [&](const char* key) { return counts.value(key, int64_t{0}); };
  std::printf("Knowledge base %s (%s) in workspace %s\n", base.value("name", "").c_str(), id.c_str(),
              a.connection.workspace.c_str());
  std::string provider = "  provider: " + base.value("provider", "");
  if (base.contains("embedding_model") && base["embedding_model"].is_string()) {
    provider += ", embeddings: " + base["embedding_model"].get<std::string>();
    if (base.contains("dimension") && base["dimension"].is_number()) {
      provider += " (" + std::to_string(base["dimension"].get<int64_t>()) + " dimensions)";
    }
  }
  std::printf("%s\n", provider.c_str());
  std::printf("  documents: %s (%s ready, %s processing, %s queued, %s failed)\n",
              with_thousands(count("total")).c_str(),
              with_thousands(count("ready")).c_str(), with_thousands(count("processing")).c_str(),
              with_thousands(count("queued")).c_str(), with_thousands(count("failed")).c_str());
  const json index = status.value("index", json::object());
  std::string chunks = "  chunks: " + with_thousands(status.value("chunks", int64_t{0}));
  if (index.value("loaded", false)) {
    chunks += ", index: " + index.value("kind", std::string("?")) + " with " +
              plural(index.value("vectors", int64_t{0}), "vector", "vectors");
  }
  std::printf("%s\n", chunks.c_str());
  if (!status.value("idle", true)) {
    const json progress = status.value("progress", json::object());
    std::printf("  ingesting: %s/%s chunks\n", with_thousands(progress.value("chunks_done", int64_t{0})).c_str(),
                with_thousands(progress.value("chunks_total", int64_t{0})).c_str());
  }
  if (!documents.empty()) std::printf("\n");
  for (const auto& d : documents) std::printf("  %s\n", document_line(IngestingDocument::from_json(d)).c_str());
  return 0;
}

// ---- kb ingest

std::string content_type_for(const std::filesystem::path& file) {
  const std::string ext = ascii_lower(file.extension().string());
  if (ext == ".md" || ext == ".markdown") return "text/markdown";
  if (ext == ".html" || ext == ".htm") return "text/html";
  if (ext == ".pdf") return "application/pdf";
  if (ext == ".txt") return "text/plain";
  return "";  // the host tells by the name and the bytes (and says so when it cannot)
}

KbUploadFile read_upload(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw CommandFailed("cannot upload " + path + ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CommandFailed("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw CommandFailed("cannot read " + path + ": " + std::strerror(errno));
  const std::filesystem::path p(path);
  return {p.filename().string(), content_type_for(p), bytes.str()};
}

// The base named `name`, created (with the host's default provider) when
// the workspace has none of that name or id; `created` says which.
json find_or_create_base(KbClient& client, const std::string& name, bool& created) {
  created = false;
  try {
    return client.get(kb_path(client, name));
  } catch (const KbApiError& e) {
    if (e.status() != 404 || e.field() != "knowledge_base_id") throw;
  }
  json base = client.post(client.knowledge_bases_path(), {{"name", name}});
  created = true;
  std::printf("Created knowledge base %s (provider %s).\n", base.value("name", name).c_str(),
              base.value("provider", "").c_str());
  return base;
}

int kb_ingest(const std::vector<std::string>& args) {
  const std::string usage = "switchboard kb ingest --kb NAME FILE... [--tags a,b] [--timeout SECONDS]";
  const auto a = parse_arguments(args, {"--kb", "--tags", "--timeout"}, usage);
  if (a.positional.empty()) throw Error(ErrorCode::invalid_argument, "no file given (usage: " + usage + ")");
  // Every file is read before anything is sent: a typo uploads nothing.
  std::vector<KbUploadFile> files;
  for (const auto& path : a.positional) files.push_back(read_upload(path));

  KbClient client(a.connection);
  bool created = false;
  const json base = find_or_create_base(client, a.kb, created);
  const std::string kb_id = base.value("id", a.kb);
  std::vector<std::pair<std::string, std::string>> fields;
  if (a.tags) {
    std::string list;
    for (const auto& t : *a.tags) list += (list.empty() ? "" : ",") + t;
    fields.emplace_back("tags", list);
  }
  json queued;
  try {
    queued = client.post_form(kb_path(client, kb_id, "/documents"), files, fields);
  } catch (const KbApiError& e) {
    // The host checks every file before it stores any: a refused upload
    // leaves nothing behind, and neither does this command.
    if (created && e.status() != 0) {
      try {
        client.del(kb_path(client, kb_id));
        std::printf("Removed the new knowledge base %s again: nothing was uploaded.\n", a.kb.c_str());
      } catch (const KbApiError&) {
        // The refusal is what the user needs to read; an empty base is harmless.
      }
    }
    throw;
  }
  std::vector<IngestingDocument> documents;
  for (const auto& d : queued.value("data", json::array())) documents.push_back(IngestingDocument::from_json(d));
  std::printf("Uploaded %s to knowledge base %s.\n",
              plural(static_cast<int64_t>(documents.size()), "document", "documents").c_str(),
              base.value("name", a.kb).c_str());
  std::fflush(stdout);

  IngestProgress progress(std::move(documents));
  ProgressDisplay display(stdout, isatty(STDOUT_FILENO) != 0);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(a.timeout_seconds));
  display.show(progress);
  size_t next_polled = 0;  // the document the next tick asks about first
  while (!progress.finished() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::min<Clock::duration>(kPollInterval, deadline - Clock::now()));
    // A few unfinished documents a tick, in turn: one request each would
    // run into the API's rate limit (50 a second per key by default) for an
    // upload of more than a few files. A 429 waits for the next tick.
    const auto& docs = progress.documents();
    size_t polled = 0, resume = next_polled;
    for (size_t n = 0; n < docs.size() && polled < kPolledPerTick; ++n) {
      const size_t i = (next_polled + n) % docs.size();
      IngestingDocument d = docs[i];
      if (d.finished()) continue;
      ++polled;
      resume = i + 1;
      try {
        const std::string path = kb_path(client, kb_id, "/documents/" + KbClient::path_segment(d.id));
        d = IngestingDocument::from_json(client.get(path));
      } catch (const KbApiError& e) {
        if (e.status() == 429) break;
        if (e.status() != 404) throw;
        d.status = "failed";  // deleted (or replaced) while it was being ingested
        d.error = "it was deleted while it was being ingested";
      }
      progress.update(d);
    }
    next_polled = docs.empty() ? 0 : resume % docs.size();
    display.show(progress);
  }
  display.finish(progress);
  for (const auto& d : progress.documents()) std::printf("%s\n", document_line(d).c_str());
  std::fflush(stdout);
  if (!progress.finished()) {
    char waited[32];
    std::snprintf(waited, sizeof waited, "%g", a.timeout_seconds);
    throw CommandFailed(std::string("gave up waiting after ") + waited +
                        " s: the documents are still being ingested; watch them with `switchboard kb status --kb " +
                        a.kb + "`");
  }
  const auto failed = std::count_if(progress.documents().begin(), progress.documents().end(),
                                    [](const auto& d) { return d.status != "ready"; });
  return failed == 0 ? 0 : 1;
}

// ---- kb search

// `text` on lines of at most `width` characters, whitespace collapsed; at
// most `max_lines`, the last ending in "…" when the text goes on.
std::vector<std::string> wrap(const std::string& text, size_t width, size_t max_lines) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  auto length = [](const std::string& s) {
    // UTF-8 code points: every byte but the continuation bytes.
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
  };
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < words.size(); ++i) {
    if (!line.empty() && length(line) + 1 + length(words[i]) > width) {
      if (lines.size() + 1 == max_lines) {
        lines.push_back(line + " …");
        return lines;
      }
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + words[i];
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// "faq.md › Opening hours", "manual.pdf p. 3 › Setup".
std::string source_of(const json& hit) {
  std::string source = hit.value("document_name", "");
  if (hit.contains("page") && hit["page"].is_number() && hit["page"].get<int64_t>() > 0) {
    source += " p. " + std::to_string(hit["page"].get<int64_t>());
  }
  const std::string heading = hit.value("heading", "");
  if (!heading.empty()) source += " › " + heading;
  return source;
}

int kb_search(const std::vector<std::string>& args) {
  const std::string usage = "switchboard kb search --kb NAME QUESTION [--k N] [--tags a,b] [--json]";
  const auto a = parse_arguments(args, {"--kb", "--k", "--tags", "--json"}, usage);
  const std::string question = join_words(a.positional);
  if (question.empty()) throw Error(ErrorCode::invalid_argument, "no question given (usage: " + usage + ")");
  KbClient client(a.connection);
  json body = {{"query", question}};
  if (a.k) body["k"] = *a.k;
  if (a.tags) body["tags"] = *a.tags;
  const json result = client.post(kb_path(client, a.kb, "/search"), body);
  if (a.json) {
    print_json(result);
    return 0;
  }
  const json hits = result.value("results", json::array());
  if (!result.value("vector_search", true) && !hits.empty()) {
    std::printf("(keyword matches only: the base has no vectors from its provider's current model yet)\n\n");
  }
  if (hits.empty()) {
    std::printf("No passage of %s matches the question.\n", a.kb.c_str());
    return 0;
  }
  for (size_t rank = 1; rank <= hits.size(); ++rank) {
    const json& hit = hits[rank - 1];
    std::printf("%s#%zu  score %.4f  similarity %.3f  %s\n", rank > 1 ? "\n" : "", rank, hit.value("score", 0.0),
                hit.value("similarity", 0.0), source_of(hit).c_str());
    for (const auto& line : wrap(hit.value("text", ""), kPassageWidth, kPassageLines)) {
      std::printf("    %s\n", line.c_str());
    }
  }
  return 0;
}

// ---- kb ask

int kb_ask(const std::vector<std::string>& args) {
  const std::string usage = "switchboard kb ask --kb NAME QUESTION [--tags a,b] [--json]";
  const auto a = parse_arguments(args, {"--kb", "--tags", "--json"}, usage);
  const std::string question = join_words(a.positional);
  if (question.empty()) throw Error(ErrorCode::invalid_argument, "no question given (usage: " + usage + ")");
  KbClient client(a.connection);
  json body = {{"question", question}};
  if (a.tags) body["tags"] = *a.tags;
  const std::string path = kb_path(client, a.kb, "/ask");
  if (a.json) {
    const json answer = client.post(path, body);
    print_json(answer);
    return answer.value("answered", false) ? 0 : 1;
  }
  body["stream"] = true;
  AnswerDisplay display(stdout, isatty(STDOUT_FILENO) != 0);
  std::optional<json> answer;
  std::string error;
  client.post_events(path, body, [&](const std::string& event, const json& data) {
    if (event == "delta" && data.is_object()) {
      display.delta(data.value("text", ""));
    } else if (event == "answer") {
      answer = data;
    } else if (event == "error") {
      error = data.is_object() ? data.value("message", data.dump()) : data.dump();
    }
  });
  if (!error.empty()) {
    display.discard();
    throw CommandFailed("the answer failed: " + error);
  }
  if (!answer) {
    display.discard();
    throw CommandFailed("the host ended the answer without a result (see the host's log)");
  }
  return display.finish(*answer) ? 0 : 1;
}

}  // namespace

int run_kb_command(const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "help" || sub == "-h" || sub == "--help") {
    std::fputs(kKbUsage, stdout);
    return 0;
  }
  try {
    if (sub == "ingest") return kb_ingest(args);
    if (sub == "search") return kb_search(args);
    if (sub == "ask") return kb_ask(args);
    if (sub == "list") return kb_list(args);
    if (sub == "status") return kb_status(args);
  } catch (const KbApiError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 1;
  } catch (const CommandFailed& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "switchboard: %s\n", e.what());
    return 1;
  }
  throw Error(ErrorCode::invalid_argument,
              sub.empty() ? "name a kb command: ingest, search, ask, list or status (see `switchboard help`)"
                          : "unknown command `kb " + sub + "` (see `switchboard help`)");
}

}  // namespace sb::app
