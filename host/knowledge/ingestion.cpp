// Ingestion: the queue of documents to (re)index and the threads that work
// it, one document at a time each — bytes (the stored upload, or the URL
// fetched again), text, chunks, embeddings in batches with progress, then
// one write job that replaces the document's chunks, and the faiss index
// updated after it committed.
#include "knowledge/knowledge_bases.hpp"

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "knowledge/chunker.hpp"
#include "knowledge/document_text.hpp"
#include "knowledge/embeddings.hpp"
#include "plugins/http_client.hpp"
#include "plugins/plugin_error.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

namespace sb::knowledge {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Thrown between batches when the service stops: the document stays
// processing and is taken up again at the next start.
struct Cancelled {};

// What is embedded for a chunk: its heading (or the document's title) with
// its text, so that a passage under "Refunds" is found by "refund".
std::string embedding_text(const std::string& title, const Chunk& chunk) {
  const std::string& context = chunk.heading.empty() ? title : chunk.heading;
  if (context.empty()) return chunk.text;
  return context + "\n" + chunk.text;
}

// The name a URL's path ends in, for detecting its format ("/docs/faq.md").
std::string url_file_name(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool transient(const std::exception& e) {
  if (const auto* p = dynamic_cast<const plugins::PluginError*>(&e)) return p->transient();
  if (const auto* err = dynamic_cast<const Error*>(&e)) {
    return err->code() == ErrorCode::unavailable || err->code() == ErrorCode::timeout ||
           err->code() == ErrorCode::rate_limited;
  }
  return false;
}

}  // namespace

// Progress of one document: kept on its row and published, at most every
// `interval` (and always at the end).
class KnowledgeBases::Progress {
 public:
  Progress(KnowledgeBases& kb, repo::Document& doc) : kb_(kb), doc_(doc) {}
  void update(int64_t done, bool force = false) {
    doc_.chunks_done = done;
    const auto now = Clock::now();
    if (!force && now - last_ < kb_.options_.progress_interval) return;
    last_ = now;
    const std::string id = doc_.id;
    const int64_t total = doc_.chunks_total;
    kb_.db_.write_async([id, done, total](store::Connection& c) { repo::set_progress(c, id, done, total, now_ms()); },
                        [](std::exception_ptr) {});
    kb_.publish(doc_, "knowledge.document.progress");
  }

 private:
  KnowledgeBases& kb_;
  repo::Document& doc_;
  Clock::time_point last_{};
};

void KnowledgeBases::enqueue(const std::string& document_id, int attempt, std::chrono::milliseconds delay) {
  {
    std::lock_guard lock(queue_mu_);
    if (in_flight_.count(document_id)) {
      requeue_.insert(document_id);  // after the ingestion under way
      return;
    }
    if (queued_.count(document_id)) return;
    queued_.insert(document_id);
    queue_.push_back(Job{document_id, attempt, Clock::now() + delay});
  }
  queue_cv_.notify_all();
}

void KnowledgeBases::start() {
  {
    std::lock_guard lock(queue_mu_);
    if (started_) return;
    started_ = true;
    stopping_ = false;
  }
  cancel_ = false;
  const auto unfinished = db_.read([](store::Connection& c) { return repo::unfinished_documents(c); });
  for (const auto& d : unfinished) enqueue(d.id);
  if (!unfinished.empty()) spdlog::info("knowledge: {} unfinished document(s) queued again", unfinished.size());
  for (unsigned i = 0; i < std::max(1u, options_.ingest_threads); ++i) {
    ingest_threads_.emplace_back([this] { ingest_loop(); });
  }
  {
    std::lock_guard lock(index_mu_);
    index_stopping_ = false;
  }
  index_thread_ = std::thread([this] { index_loop(); });
  maintenance_thread_ = std::thread([this] { maintenance_loop(); });
}

void KnowledgeBases::stop() {
  {
    std::lock_guard lock(queue_mu_);
    if (!started_) return;
    started_ = false;
    stopping_ = true;
  }
  cancel_ = true;
  queue_cv_.notify_all();
  maintenance_cv_.notify_all();
  for (auto& t : ingest_threads_) t.join();
  ingest_threads_.clear();
  // Commits handed to the writer are finished (indexed, published) before
  // the indexer ends: their callbacks hold this object.
  {
    std::lock_guard lock(index_mu_);
    index_stopping_ = true;
  }
  index_cv_.notify_all();
  if (index_thread_.joinable()) index_thread_.join();
  if (maintenance_thread_.joinable()) maintenance_thread_.join();
  {
    std::lock_guard lock(queue_mu_);
    queue_.clear();
    queued_.clear();
    requeue_.clear();
    to_compact_.clear();  // merged at the next start's first commit, or never: searches stay right
  }
  indexes_->save_dirty();
}

bool KnowledgeBases::wait_until_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(queue_mu_);
  return queue_cv_.wait_for(lock, timeout, [this] { return queue_.empty() && in_flight_.empty(); });
}

bool KnowledgeBases::wait_until_compacted(std::chrono::milliseconds timeout) {
  std::unique_lock lock(queue_mu_);
  return queue_cv_.wait_for(lock, timeout, [this] {
    return queue_.empty() && in_flight_.empty() && to_compact_.empty() && !compacting_;
  });
}

void KnowledgeBases::schedule_compaction(const std::string& kb_id) {
  {
    std::lock_guard lock(queue_mu_);
    if (!started_ || stopping_) return;
    to_compact_.insert(kb_id);
  }
  maintenance_cv_.notify_all();
}

void KnowledgeBases::maintenance_loop() {
  std::unique_lock lock(queue_mu_);
  auto next_save = Clock::now() + options_.save_interval;
  while (!stopping_) {
    const bool pending = !to_compact_.empty() && queue_.empty() && in_flight_.empty();
    const auto quiet = last_ingested_ + options_.compaction_quiet;
    const auto now = Clock::now();
    if (pending && now >= quiet) {
      compact_one(lock);
      continue;
    }
    if (now >= next_save) {
      lock.unlock();
      try {
        indexes_->save_dirty();
      } catch (const std::exception& e) {
        spdlog::error("knowledge: saving indexes failed: {}", e.what());
      }
      lock.lock();
      next_save = Clock::now() + options_.save_interval;
      continue;
    }
    maintenance_cv_.wait_until(lock, pending ? std::min(next_save, quiet) : next_save);
  }
}

void KnowledgeBases::compact_one(std::unique_lock<std::mutex>& lock) {
  constexpr int kPagesPerStep = 500;  // a write job of some tens of milliseconds
  const std::string kb_id = *to_compact_.begin();
  to_compact_.erase(to_compact_.begin());
  compacting_ = true;
  bool interrupted = false;
  const auto started = Clock::now();
  int steps = 0;
  for (;;) {
    lock.unlock();
    bool more = false;
    try {
      more = db_.write([&](store::Connection& c) { return repo::merge_keyword_index(c, kb_id, kPagesPerStep); });
    } catch (const std::exception& e) {
      // Searches stay right, only slower: worth a log line, not a retry loop.
      spdlog::warn("knowledge: merging the keyword index of {} failed: {}", kb_id, e.what());
    }
    lock.lock();
    if (!more) break;
    ++steps;
    // Ingestion comes first; the base is merged again once it is idle.
    if (stopping_ || !queue_.empty() || !in_flight_.empty()) {
      interrupted = true;
      to_compact_.insert(kb_id);
      break;
    }
  }
  compacting_ = false;
  if (steps > 0) {
    spdlog::debug("knowledge: keyword index of {} merged in {} step(s), {} ms{}", kb_id, steps,
                  std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count(),
                  interrupted ? " (interrupted by ingestion)" : "");
  }
  queue_cv_.notify_all();
}

void KnowledgeBases::ingest_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(queue_mu_);
      for (;;) {
        if (stopping_) return;
        // The first job that is due; otherwise wait for the earliest.
        auto due = std::find_if(queue_.begin(), queue_.end(), [](const Job& j) { return j.not_before <= Clock::now(); });
        if (due != queue_.end()) {
          job = *due;
          queue_.erase(due);
          queued_.erase(job.document_id);
          in_flight_.insert(job.document_id);
          break;
        }
        if (queue_.empty()) {
          queue_cv_.wait(lock);
        } else {
          auto earliest = std::min_element(queue_.begin(), queue_.end(),
                                           [](const Job& a, const Job& b) { return a.not_before < b.not_before; });
          queue_cv_.wait_until(lock, earliest->not_before);
        }
      }
    }
    try {
      // Handed to the writer: the indexer thread finishes the document.
      if (ingest(job.document_id, cancel_)) continue;
    } catch (const Cancelled&) {
      spdlog::info("knowledge: ingestion of {} stopped; it resumes at the next start", job.document_id);
    } catch (const std::exception& e) {
      if (transient(e) && job.attempt + 1 < options_.transient_retries && !cancel_) {
        const auto delay = options_.retry_delay * (1 << job.attempt);
        spdlog::warn("knowledge: ingestion of {} failed for now, retrying in {} ms: {}", job.document_id,
                     delay.count(), e.what());
        const std::string note = std::string("retrying: ") + e.what();
        db_.write([&](store::Connection& c) { repo::mark_retrying(c, job.document_id, note, now_ms()); });
        finish_job(job.document_id, Job{job.document_id, job.attempt + 1, Clock::now() + delay});
        continue;
      }
      spdlog::warn("knowledge: ingestion of {} failed: {}", job.document_id, e.what());
      try {
        fail_document(job.document_id, e.what());
      } catch (const std::exception& e2) {
        spdlog::error("knowledge: recording the failure of {} failed: {}", job.document_id, e2.what());
      }
    }
    finish_job(job.document_id, std::nullopt);
  }
}

void KnowledgeBases::finish_job(const std::string& document_id, std::optional<Job> retry) {
  {
    // One lock for both, so that wait_until_idle() never sees the document
    // neither in flight nor queued while it is to run again.
    std::lock_guard lock(queue_mu_);
    in_flight_.erase(document_id);
    last_ingested_ = Clock::now();
    const bool again = requeue_.erase(document_id) > 0;
    if (!retry && again && !cancel_) retry = Job{document_id, 0, Clock::now()};
    if (retry && !stopping_ && queued_.insert(document_id).second) queue_.push_back(*retry);
  }
  queue_cv_.notify_all();
  maintenance_cv_.notify_all();  // a compaction may be waiting for ingestion to be idle
}

void KnowledgeBases::fail_document(const std::string& document_id, const std::string& reason) {
  auto doc = db_.write([&](store::Connection& c) -> std::optional<repo::Document> {
    auto d = repo::find_document_any(c, document_id);
    if (!d) return std::nullopt;
    d->status = "failed";
    d->error = reason;
    d->updated_at = now_ms();
    repo::update_document(c, *d);
    return d;
  });
  if (doc) publish(*doc, "knowledge.document.failed", {{"error", reason}});
}

bool KnowledgeBases::ingest(const std::string& document_id, const std::atomic<bool>& cancelled) {
  struct Start {
    std::optional<repo::Document> doc;
    std::optional<repo::KnowledgeBase> kb;
  };
  Start s = db_.read([&](store::Connection& c) {
    Start r;
    r.doc = repo::find_document_any(c, document_id);
    if (!r.doc || (r.doc->status != "queued" && r.doc->status != "processing")) return Start{};
    r.kb = repo::find_base_any(c, r.doc->knowledge_base_id);
    if (!r.kb) return Start{};
    return r;
  });
  if (!s.doc) return false;  // deleted, or already done by an earlier job
  // Marked processing without waiting: the write jobs run in order, so the
  // mark is in before this document's commit. Only the status changes, and
  // only while the row holds the bytes read here.
  s.doc->status = "processing";
  s.doc->chunks_done = 0;
  db_.write_async(
      [id = s.doc->id, sha = s.doc->content_sha256](store::Connection& c) {
        repo::mark_processing(c, id, sha, now_ms());
      },
      [](std::exception_ptr) {});
  repo::Document& doc = *s.doc;
  const repo::KnowledgeBase& kb = *s.kb;
  // A newer upload changes the row's hash: then this ingestion is stale.
  const std::string started_sha = doc.content_sha256.value_or("");
  const KnowledgeSettings settings = parse_settings(kb.settings);
  publish(doc, "knowledge.document.progress");

  // The bytes: the stored upload, or the URL fetched (again).
  std::string bytes;
  if (doc.source == "url" && doc.url) {
    const json response = plugins::perform_http_request(
        {{"method", "GET"}, {"url", *doc.url}, {"timeout_ms", settings.timeout_ms}, {"response_body", "base64"}});
    const int status = response.value("status", 0);
    if (status >= 500 || status == 429) {
      throw Error(ErrorCode::unavailable, *doc.url + " answered " + std::to_string(status));
    }
    if (status < 200 || status >= 300) throw Error(ErrorCode::invalid_argument, *doc.url + " answered " + std::to_string(status));
    auto decoded = base64_decode(response.value("body_base64", ""));
    bytes = decoded.value_or("");
    if (bytes.size() > options_.max_document_bytes) {
      throw Error(ErrorCode::payload_too_large, *doc.url + " is " + std::to_string(bytes.size()) +
                                                    " bytes; a document may have at most " +
                                                    std::to_string(options_.max_document_bytes));
    }
    std::string content_type;
    for (const auto& [name, value] : response.value("headers", json::object()).items()) {
      if (ascii_lower(name) == "content-type" && value.is_string()) content_type = value.get<std::string>();
    }
    doc.content_sha256 = sha256_hex(bytes);
    doc.content_type = content_type.empty() ? std::nullopt : std::optional<std::string>(content_type);
    doc.size_bytes = static_cast<int64_t>(bytes.size());
  } else {
    auto stored = db_.read([&](store::Connection& c) { return repo::get_source(c, doc.id); });
    if (!stored) throw Error(ErrorCode::not_found, "the stored file of this document is missing; upload it again");
    bytes = std::move(*stored);
  }
  const std::string ingested_sha = doc.content_sha256.value_or("");

  const auto format = detect_format(doc.content_type.value_or(""), doc.source == "url" ? url_file_name(doc.name) : doc.name, bytes);
  if (!format) {
    throw Error(ErrorCode::unsupported_media_type,
                "not a document type this knowledge base reads (text, Markdown, HTML or PDF)" +
                    (doc.content_type ? " — it came as " + *doc.content_type : std::string()));
  }
  doc.format = std::string(to_string(*format));
  const ExtractedText text = extract_text(*format, bytes);
  const std::vector<Chunk> chunks = chunk_document(text, settings.chunking);
  if (chunks.empty()) throw Error(ErrorCode::invalid_argument, "the document holds no text");
  if (chunks.size() > options_.max_document_chunks) {
    throw Error(ErrorCode::payload_too_large, "the document splits into " + std::to_string(chunks.size()) +
                                                  " passages; at most " + std::to_string(options_.max_document_chunks) +
                                                  " are allowed");
  }
  if (!text.title.empty()) doc.title = text.title;
  if (doc.title.empty()) doc.title = doc.name;
  doc.chunks_total = static_cast<int64_t>(chunks.size());
  Progress progress(*this, doc);
  progress.update(0, true);

  // Embeddings, batch by batch.
  auto provider = provider_of(kb);
  std::string model;
  int dimension = 0;
  std::vector<float> vectors;
  const size_t batch = std::max<size_t>(1, options_.embed_batch);
  for (size_t at = 0; at < chunks.size(); at += batch) {
    if (cancelled) throw Cancelled{};
    const size_t end = std::min(chunks.size(), at + batch);
    std::vector<std::string> texts;
    texts.reserve(end - at);
    for (size_t i = at; i < end; ++i) texts.push_back(embedding_text(doc.title, chunks[i]));
    Embeddings e = embed_texts(*provider, texts, "document", settings.timeout_ms);
    if (model.empty()) {
      model = e.model;
      dimension = e.dimension;
      vectors.reserve(chunks.size() * static_cast<size_t>(dimension));
    } else if (e.model != model || e.dimension != dimension) {
      throw plugins::PluginError(SB_ERR_PERMANENT, kb.provider,
                                 "plugin " + kb.provider + " changed its embedding model or dimension within one document");
    }
    vectors.insert(vectors.end(), e.values.begin(), e.values.end());
    progress.update(static_cast<int64_t>(end));
  }
  if (cancelled) throw Cancelled{};

  // One write job: the new chunks replace the old ones. It is handed to the
  // writer without waiting, so that this thread embeds the next document
  // while the database commits this one; the indexer thread finishes it.
  auto commit = std::make_shared<PendingCommit>();
  commit->doc = std::move(doc);
  commit->kb_id = kb.id;
  commit->model = model;
  commit->dimension = dimension;
  commit->started_sha = started_sha;
  commit->ingested_sha = ingested_sha;
  commit->vectors = std::move(vectors);
  if (commit->doc.source == "url") commit->fetched = std::move(bytes);
  commit->rows.reserve(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    commit->rows.push_back(repo::NewChunk{
        chunks[i].position, chunks[i].heading, chunks[i].page, chunks[i].text,
        vector_bytes(commit->vectors.data() + i * static_cast<size_t>(dimension), dimension)});
  }
  {
    std::lock_guard lock(index_mu_);
    ++pending_commits_;
  }
  db_.write_async([commit](store::Connection& c) { commit_chunks(c, *commit); },
                  [this, commit](std::exception_ptr error) {
                    // On the writer thread: only hand over.
                    commit->error = error;
                    std::lock_guard lock(index_mu_);
                    index_tasks_.push_back(commit);
                    --pending_commits_;
                    index_cv_.notify_all();
                  });
  return true;
}

void KnowledgeBases::commit_chunks(store::Connection& c, PendingCommit& p) {
  repo::Document& doc = p.doc;
  auto current = repo::find_document_any(c, doc.id);
  // Deleted meanwhile, or a newer upload replaced the bytes: that one's
  // own ingestion follows.
  if (!current || current->content_sha256.value_or("") != p.started_sha || current->status != "processing") return;
  auto base = repo::find_base_any(c, p.kb_id);
  if (!base) return;
  const int64_t now = now_ms();
  if (base->embedding_model.value_or("") != p.model || base->dimension.value_or(0) != p.dimension) {
    repo::set_embedding_model(c, p.kb_id, p.model, p.dimension);
    p.requeued = repo::requeue_other_models(c, p.kb_id, p.model, now);
    if (base->embedding_model) {
      spdlog::info("knowledge: {} now embeds with {} (was {}): {} document(s) queued again", p.kb_id, p.model,
                   *base->embedding_model, p.requeued.size());
    }
  }
  if (!p.fetched.empty()) repo::put_source(c, doc.id, p.fetched);  // what was fetched, for the record
  p.removed = repo::chunk_ids_of_document(c, doc.id);
  repo::delete_chunks_of_document(c, doc.id);
  std::tie(p.first, p.last) = repo::insert_chunks(c, doc.workspace_id, p.kb_id, doc.id, p.rows);
  doc.status = "ready";
  doc.error.reset();
  doc.chunks_done = doc.chunks_total;
  doc.indexed_sha256 = p.ingested_sha;
  doc.chunk_count = static_cast<int64_t>(p.rows.size());
  doc.embedding_model = p.model;
  doc.first_chunk_id = p.first;
  doc.last_chunk_id = p.last;
  doc.updated_at = now;
  doc.ingested_at = now;
  repo::update_document(c, doc);
  p.generation = repo::bump_generation(c, p.kb_id, now);
  p.applied = true;
}

void KnowledgeBases::finish_commit(PendingCommit& p) {
  const repo::Document& doc = p.doc;
  if (p.error) {
    std::string why = "the database refused the chunks";
    try {
      std::rethrow_exception(p.error);
    } catch (const std::exception& e) {
      why = std::string("storing the chunks failed: ") + e.what();
    }
    spdlog::error("knowledge: ingestion of {} failed: {}", doc.id, why);
    try {
      fail_document(doc.id, why);
    } catch (const std::exception& e) {
      spdlog::error("knowledge: recording the failure of {} failed: {}", doc.id, e.what());
    }
  } else if (p.applied) {
    std::vector<int64_t> added(p.rows.size());
    for (size_t i = 0; i < added.size(); ++i) added[i] = p.first + static_cast<int64_t>(i);
    if (p.last - p.first + 1 != static_cast<int64_t>(p.rows.size())) {
      // Not contiguous (cannot happen with one writer): read the real ids.
      added = db_.read([&](store::Connection& c) { return repo::chunk_ids_of_document(c, doc.id); });
    }
    indexes_->apply(doc.workspace_id, p.kb_id, p.generation, p.model, p.dimension, p.removed, added, p.vectors);
    spdlog::info("knowledge: {} ({}) ingested into {}: {} chunks", doc.name, doc.id, p.kb_id, p.rows.size());
    publish(doc, "knowledge.document.ready", {{"chunk_count", doc.chunk_count}});
    for (const auto& id : p.requeued) enqueue(id);
    schedule_compaction(p.kb_id);
  }
  finish_job(doc.id, std::nullopt);
}

void KnowledgeBases::index_loop() {
  for (;;) {
    std::shared_ptr<PendingCommit> next;
    {
      std::unique_lock lock(index_mu_);
      index_cv_.wait(lock, [this] { return !index_tasks_.empty() || (index_stopping_ && pending_commits_ == 0); });
      if (index_tasks_.empty()) return;  // stopping, and every commit handed over is done
      next = std::move(index_tasks_.front());
      index_tasks_.pop_front();
    }
    try {
      finish_commit(*next);
    } catch (const std::exception& e) {
      spdlog::error("knowledge: finishing the ingestion of {} failed: {}", next->doc.id, e.what());
      finish_job(next->doc.id, std::nullopt);
    }
  }
}

}  // namespace sb::knowledge
