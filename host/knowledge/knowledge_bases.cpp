// Knowledge bases and their documents: create, read, update, delete; the
// check of uploads; the AI provider instances. Ingestion is in
// ingestion.cpp, search in retrieval.cpp, answers in answering.cpp.
#include "knowledge/knowledge_bases.hpp"

#include "core/error.hpp"
#include "core/digest.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "knowledge/chunker.hpp"
#include "knowledge/document_text.hpp"
#include "plugins/manifest.hpp"
#include "plugins/secret_config.hpp"

#include <spdlog/spdlog.h>

#include <regex>

namespace sb::knowledge {
namespace {

using nlohmann::json;

constexpr size_t kMaxNameLength = 100;
constexpr size_t kMaxDescriptionLength = 2000;
constexpr size_t kMaxTags = 20;
constexpr size_t kMaxTagLength = 64;
constexpr size_t kMaxFileNameLength = 255;
constexpr size_t kMaxUrlLength = 2048;

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

std::string checked_name(const json& value) {
  if (!value.is_string()) throw bad("name", "\"name\" must be a string");
  std::string name = value.get<std::string>();
  if (name.empty() || name.size() > kMaxNameLength) {
    throw bad("name", "\"name\" must be 1 to " + std::to_string(kMaxNameLength) + " characters");
  }
  if (name.find_first_of("\r\n\t") != std::string::npos) throw bad("name", "\"name\" must be one line");
  return name;
}

std::string checked_description(const json& value) {
  if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxDescriptionLength) {
    throw bad("description", "\"description\" must be a string of at most " + std::to_string(kMaxDescriptionLength) +
                                 " characters");
  }
  return value.get<std::string>();
}

}  // namespace

std::vector<std::string> checked_tags(const json& value) {
  if (value.is_null()) return {};
  if (!value.is_array() || value.size() > kMaxTags) {
    throw bad("tags", "\"tags\" must be an array of at most " + std::to_string(kMaxTags) + " strings");
  }
  std::vector<std::string> tags;
  for (const auto& t : value) {
    if (!t.is_string() || t.get_ref<const std::string&>().empty() ||
        t.get_ref<const std::string&>().size() > kMaxTagLength) {
      throw bad("tags", "each tag must be a string of 1 to " + std::to_string(kMaxTagLength) + " characters");
    }
    const std::string tag = t.get<std::string>();
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
  }
  return tags;
}

KnowledgeBases::KnowledgeBases(store::Database& db, plugins::PluginRegistry& registry, EventBus& bus,
                               KnowledgeOptions options)
    : db_(db),
      registry_(registry),
      bus_(bus),
      options_(std::move(options)),
      indexes_(std::make_unique<KnowledgeIndexes>(db, options_.index_dir, options_.index)) {
  seal_ = [](const std::string&, const json& c) { return c; };
  open_ = seal_;
}

KnowledgeBases::~KnowledgeBases() { stop(); }

void KnowledgeBases::set_config_codec(ConfigTransform seal, ConfigTransform open) {
  seal_ = std::move(seal);
  open_ = std::move(open);
}

// ---- providers

json KnowledgeBases::checked_provider_config(const std::string& provider, const json& config,
                                             const json* stored_sealed) {
  const plugins::Manifest* m = registry_.manifest(provider);
  if (!m) throw bad("provider", "\"provider\": no AI plugin \"" + provider + "\" is loaded");
  if (m->kind != plugins::PluginKind::ai) {
    throw bad("provider", "\"provider\": \"" + provider + "\" is a " + std::string(plugins::to_string(m->kind)) +
                              " plugin, not an AI provider");
  }
  json incoming = config.is_null() ? json::object() : config;
  if (stored_sealed) incoming = plugins::keep_redacted_secrets(incoming, open_(provider, *stored_sealed), m->config_schema);
  json validated;
  try {
    validated = plugins::validate_plugin_config(*m, incoming);
  } catch (const Error& e) {
    json details = {{"field", "provider_config"}};
    if (e.details().is_object() && e.details().contains("problems")) details["problems"] = e.details()["problems"];
    throw Error(ErrorCode::invalid_argument, e.what(), details);
  }
  plugins::refuse_placeholder_secrets(validated, m->config_schema, "provider_config");
  return seal_(provider, validated);
}

std::shared_ptr<plugins::AiInstance> KnowledgeBases::provider_of(const repo::KnowledgeBase& kb) {
  {
    std::lock_guard lock(providers_mu_);
    auto it = providers_.find(kb.id);
    if (it != providers_.end() && it->second.first == kb.updated_at) return it->second.second;
  }
  // Created outside the lock: a plugin's create may take its time.
  std::shared_ptr<plugins::AiInstance> instance =
      registry_.create_ai(kb.provider, kb.id, open_(kb.provider, kb.provider_config));
  std::lock_guard lock(providers_mu_);
  providers_[kb.id] = {kb.updated_at, instance};
  return instance;
}

std::shared_ptr<plugins::AiInstance> KnowledgeBases::default_provider() {
  std::lock_guard lock(providers_mu_);
  if (!default_provider_) default_provider_ = registry_.create_ai(options_.default_provider, "default", json::object());
  return default_provider_;
}

void KnowledgeBases::forget_provider(const std::string& kb_id) {
  std::shared_ptr<plugins::AiInstance> old;  // destroyed outside the lock
  std::lock_guard lock(providers_mu_);
  auto it = providers_.find(kb_id);
  if (it == providers_.end()) return;
  old = std::move(it->second.second);
  providers_.erase(it);
}

// ---- knowledge bases

repo::KnowledgeBase KnowledgeBases::require_base(const std::string& workspace_id, const std::string& id) {
  auto kb = db_.read([&](store::Connection& c) {
    auto found = repo::find_base(c, workspace_id, id);
    if (!found) found = repo::find_base_by_name(c, workspace_id, id);
    return found;
  });
  if (!kb) {
    throw Error(ErrorCode::not_found, "knowledge base " + id + " not found in workspace " + workspace_id,
                {{"field", "knowledge_base_id"}});
  }
  return *kb;
}

repo::KnowledgeBase KnowledgeBases::create(const std::string& organization_id, const std::string& workspace_id,
                                           const json& body) {
  if (!body.is_object()) throw bad("body", "the body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    static const std::set<std::string> known = {"name", "description", "provider", "provider_config", "settings"};
    if (!known.count(key)) throw bad(key, "unknown field \"" + key + "\"");
  }
  if (!body.contains("name")) throw bad("name", "\"name\" is required");
  repo::KnowledgeBase kb;
  kb.id = new_id("kb");
  kb.organization_id = organization_id;
  kb.workspace_id = workspace_id;
  kb.name = checked_name(body["name"]);
  if (body.contains("description")) kb.description = checked_description(body["description"]);
  const json provider = body.value("provider", json(options_.default_provider));
  if (!provider.is_string()) throw bad("provider", "\"provider\" must be an AI plugin id");
  kb.provider = provider.get<std::string>();
  kb.provider_config = checked_provider_config(kb.provider, body.value("provider_config", json::object()), nullptr);
  kb.settings = body.value("settings", json::object());
  parse_settings(kb.settings);  // refuses a bad one
  kb.created_at = kb.updated_at = now_ms();
  db_.write([&](store::Connection& c) {
    auto ws = c.query_one("SELECT 1 FROM workspaces WHERE id = ? AND organization_id = ?", {workspace_id, organization_id});
    if (!ws) throw Error(ErrorCode::not_found, "workspace " + workspace_id + " not found");
    repo::insert_base(c, kb);
  });
  return kb;
}

repo::KnowledgeBase KnowledgeBases::get(const std::string& workspace_id, const std::string& id_or_name) {
  return require_base(workspace_id, id_or_name);
}

store::Page<repo::KnowledgeBase> KnowledgeBases::list(const std::string& workspace_id, const store::PageRequest& page) {
  return db_.read([&](store::Connection& c) { return repo::list_bases(c, workspace_id, page); });
}

repo::KnowledgeBase KnowledgeBases::update(const std::string& workspace_id, const std::string& id, const json& patch) {
  if (!patch.is_object()) throw bad("body", "the body must be a JSON object");
  for (const auto& [key, value] : patch.items()) {
    static const std::set<std::string> known = {"name", "description", "provider", "provider_config", "settings"};
    if (!known.count(key)) throw bad(key, "unknown field \"" + key + "\"");
  }
  repo::KnowledgeBase kb = require_base(workspace_id, id);
  const repo::KnowledgeBase before = kb;
  if (patch.contains("name")) kb.name = checked_name(patch["name"]);
  if (patch.contains("description")) kb.description = checked_description(patch["description"]);
  bool provider_changed = false;
  if (patch.contains("provider") || patch.contains("provider_config")) {
    if (patch.contains("provider")) {
      if (!patch["provider"].is_string()) throw bad("provider", "\"provider\" must be an AI plugin id");
      kb.provider = patch["provider"].get<std::string>();
    }
    const bool same_plugin = kb.provider == before.provider;
    const json incoming = patch.contains("provider_config")
                              ? patch["provider_config"]
                              : (same_plugin ? open_(kb.provider, before.provider_config) : json::object());
    kb.provider_config = checked_provider_config(kb.provider, incoming, same_plugin ? &before.provider_config : nullptr);
    // Sealing is not deterministic: compare the configs in the clear.
    provider_changed = !same_plugin || open_(kb.provider, kb.provider_config) != open_(before.provider, before.provider_config);
  }
  if (patch.contains("settings")) {
    kb.settings = patch["settings"].is_null() ? json::object() : patch["settings"];
    parse_settings(kb.settings);
  }
  kb.updated_at = std::max(now_ms(), before.updated_at + 1);  // the provider cache keys on it
  std::vector<std::string> requeued;
  db_.write([&](store::Connection& c) {
    repo::update_base(c, kb);
    if (provider_changed) {
      // Another provider or model: every document is embedded again; the
      // first vectors of the new model replace the index.
      for (const auto& d : repo::all_documents(c, kb.id)) {
        if (d.status == "queued" || d.status == "processing") continue;
        repo::Document q = d;
        q.status = "queued";
        q.error.reset();
        q.chunks_done = 0;
        q.updated_at = kb.updated_at;
        repo::update_document(c, q);
        requeued.push_back(d.id);
      }
    }
  });
  forget_provider(kb.id);
  for (const auto& doc : requeued) enqueue(doc);
  if (!requeued.empty()) {
    spdlog::info("knowledge: {} document(s) of {} queued again: its AI provider changed", requeued.size(), kb.id);
  }
  return kb;
}

void KnowledgeBases::remove(const std::string& workspace_id, const std::string& id) {
  const repo::KnowledgeBase kb = require_base(workspace_id, id);
  db_.write([&](store::Connection& c) { repo::delete_base(c, kb.id); });
  indexes_->drop(workspace_id, kb.id);
  forget_provider(kb.id);
  std::lock_guard lock(word_counts_mu_);
  word_counts_.erase(kb.id);
}

json KnowledgeBases::describe(const repo::KnowledgeBase& kb) {
  // Without the manifest nobody can tell which values are secret: none is shown.
  json config = nullptr;
  if (const plugins::Manifest* m = registry_.manifest(kb.provider)) config = redact_config(open_(kb.provider, kb.provider_config), m->config_schema);
  const auto counts = db_.read([&](store::Connection& c) { return repo::document_counts(c, kb.id); });
  const auto index = indexes_->info(kb.id);
  json settings;
  try {
    settings = to_json(parse_settings(kb.settings));
  } catch (const Error&) {
    settings = kb.settings;
  }
  return {{"id", kb.id},
          {"workspace_id", kb.workspace_id},
          {"name", kb.name},
          {"description", kb.description},
          {"provider", kb.provider},
          {"provider_config", config},
          {"settings", settings},
          {"embedding_model", kb.embedding_model ? json(*kb.embedding_model) : json(nullptr)},
          {"dimension", kb.dimension ? json(*kb.dimension) : json(nullptr)},
          {"documents", counts.documents},
          {"chunks", counts.chunks},
          {"index", {{"loaded", index.loaded}, {"kind", index.loaded ? json(index.kind) : json(nullptr)},
                     {"vectors", index.vectors}}},
          {"created_at", kb.created_at},
          {"updated_at", kb.updated_at}};
}

// ---- documents

std::vector<repo::Document> KnowledgeBases::add_files(const std::string& workspace_id, const std::string& kb_id,
                                                      const std::vector<DocumentUpload>& files,
                                                      const std::vector<std::string>& tags) {
  const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
  if (files.empty()) throw bad("files", "no file was uploaded");
  const KnowledgeSettings settings = parse_settings(kb.settings);
  // Every file is checked before anything is stored: one bad file refuses
  // the whole upload.
  struct Checked {
    const DocumentUpload* file;
    DocumentFormat format;
    std::string title;
    size_t chunks;
  };
  std::vector<Checked> checked;
  std::set<std::string> names;
  for (const DocumentUpload& f : files) {
    const std::string field = "files[" + f.name + "]";
    if (f.name.empty() || f.name.size() > kMaxFileNameLength || f.name.find_first_of("\r\n\t/\\") != std::string::npos) {
      throw bad("files", "a file needs a name of 1 to " + std::to_string(kMaxFileNameLength) +
                             " characters without slashes (got \"" + f.name + "\")");
    }
    if (!names.insert(f.name).second) throw bad("files", "the file " + f.name + " is uploaded twice");
    if (f.bytes.size() > options_.max_document_bytes) {
      throw Error(ErrorCode::payload_too_large,
                  f.name + ": the file is " + std::to_string(f.bytes.size()) + " bytes; a document may have at most " +
                      std::to_string(options_.max_document_bytes),
                  {{"field", "files"}, {"file", f.name}});
    }
    auto format = detect_format(f.content_type, f.name, f.bytes);
    if (!format) {
      throw Error(ErrorCode::unsupported_media_type,
                  f.name + ": not a document type this knowledge base reads (text, Markdown, HTML or PDF)" +
                      (f.content_type.empty() ? std::string() : " — it was sent as " + f.content_type),
                  {{"field", "files"}, {"file", f.name}});
    }
    ExtractedText text;
    try {
      text = extract_text(*format, f.bytes);
    } catch (const Error& e) {
      throw Error(ErrorCode::invalid_argument, f.name + ": " + e.what(), {{"field", "files"}, {"file", f.name}});
    }
    const auto chunks = chunk_document(text, settings.chunking);
    if (chunks.empty()) throw Error(ErrorCode::invalid_argument, f.name + ": the document holds no text", {{"field", "files"}, {"file", f.name}});
    if (chunks.size() > options_.max_document_chunks) {
      throw Error(ErrorCode::payload_too_large,
                  f.name + ": the document splits into " + std::to_string(chunks.size()) + " passages; at most " +
                      std::to_string(options_.max_document_chunks) + " are allowed",
                  {{"field", "files"}, {"file", f.name}});
    }
    checked.push_back({&f, *format, text.title, chunks.size()});
  }

  std::vector<std::string> hashes;
  for (const Checked& ch : checked) hashes.push_back(sha256_hex(ch.file->bytes));
  std::vector<repo::Document> out;
  std::vector<std::string> queue;
  const int64_t now = now_ms();
  // One write job for the whole upload: every document with its bytes, or
  // none of them.
  db_.write([&](store::Connection& c) {
    for (size_t i = 0; i < checked.size(); ++i) {
      const Checked& ch = checked[i];
      auto existing = repo::find_document_by_name(c, kb.id, ch.file->name);
      repo::Document d;
      if (existing) {
        d = *existing;
        if (d.content_sha256 == hashes[i] && (d.status == "ready" || d.status == "queued" || d.status == "processing")) {
          if (!tags.empty() && d.tags != json(tags)) {
            d.tags = tags;
            d.updated_at = now;
            repo::update_document(c, d);
          }
          out.push_back(d);  // unchanged
          continue;
        }
      } else {
        d.id = new_id("kdoc");
        d.organization_id = kb.organization_id;
        d.workspace_id = workspace_id;
        d.knowledge_base_id = kb.id;
        d.name = ch.file->name;
        d.created_at = now;
      }
      d.source = "upload";
      d.url.reset();
      d.format = std::string(to_string(ch.format));
      d.content_type = ch.file->content_type.empty() ? std::nullopt : std::optional<std::string>(ch.file->content_type);
      d.content_sha256 = hashes[i];
      d.size_bytes = static_cast<int64_t>(ch.file->bytes.size());
      if (!ch.title.empty() || d.title.empty()) d.title = ch.title;
      if (!tags.empty() || !existing) d.tags = tags;
      d.status = "queued";
      d.error.reset();
      d.chunks_total = static_cast<int64_t>(ch.chunks);
      d.chunks_done = 0;
      d.updated_at = now;
      if (existing) repo::update_document(c, d); else repo::insert_document(c, d);
      repo::put_source(c, d.id, ch.file->bytes);
      queue.push_back(d.id);
      out.push_back(d);
    }
  });
  for (const auto& id : queue) enqueue(id);
  return out;
}

std::vector<repo::Document> KnowledgeBases::add_urls(const std::string& workspace_id, const std::string& kb_id,
                                                     const std::vector<std::string>& urls,
                                                     const std::vector<std::string>& tags) {
  const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
  if (urls.empty()) throw bad("urls", "\"urls\" must list at least one address");
  static const std::regex kUrl(R"(^https?://[^/?#\s]+[^\s]*$)", std::regex::icase);
  for (const auto& url : urls) {
    if (url.size() > kMaxUrlLength || !std::regex_match(url, kUrl)) {
      throw bad("urls", "\"" + url + "\" is not an http:// or https:// address");
    }
  }
  std::vector<repo::Document> out;
  const int64_t now = now_ms();
  for (const auto& url : urls) {
    repo::Document doc = db_.write([&](store::Connection& c) {
      auto existing = repo::find_document_by_name(c, kb.id, url);
      repo::Document d;
      if (existing) {
        d = *existing;
      } else {
        d.id = new_id("kdoc");
        d.organization_id = kb.organization_id;
        d.workspace_id = workspace_id;
        d.knowledge_base_id = kb.id;
        d.name = url;
        d.created_at = now;
      }
      d.source = "url";
      d.url = url;
      if (!tags.empty() || !existing) d.tags = tags;
      d.status = "queued";
      d.error.reset();
      d.chunks_done = 0;
      d.chunks_total = 0;
      d.updated_at = now;
      if (existing) repo::update_document(c, d); else repo::insert_document(c, d);
      return d;
    });
    out.push_back(doc);
    enqueue(doc.id);
  }
  return out;
}

repo::Document KnowledgeBases::document(const std::string& workspace_id, const std::string& kb_id,
                                        const std::string& document_id) {
  const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
  auto d = db_.read([&](store::Connection& c) { return repo::find_document(c, workspace_id, kb.id, document_id); });
  if (!d) {
    throw Error(ErrorCode::not_found, "document " + document_id + " not found in knowledge base " + kb.id,
                {{"field", "document_id"}});
  }
  return *d;
}

store::Page<repo::Document> KnowledgeBases::documents(const std::string& workspace_id, const std::string& kb_id,
                                                      const std::optional<std::string>& status,
                                                      const store::PageRequest& page) {
  const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
  if (status && *status != "queued" && *status != "processing" && *status != "ready" && *status != "failed") {
    throw bad("status", "\"status\" must be queued, processing, ready or failed");
  }
  return db_.read([&](store::Connection& c) { return repo::list_documents(c, workspace_id, kb.id, status, page); });
}

std::vector<repo::ChunkRow> KnowledgeBases::document_chunks(const std::string& workspace_id, const std::string& kb_id,
                                                            const std::string& document_id) {
  const repo::Document d = document(workspace_id, kb_id, document_id);
  return db_.read([&](store::Connection& c) { return repo::document_chunks(c, d.knowledge_base_id, d.id); });
}

repo::Document KnowledgeBases::set_tags(const std::string& workspace_id, const std::string& kb_id,
                                        const std::string& document_id, const std::vector<std::string>& tags) {
  repo::Document d = document(workspace_id, kb_id, document_id);
  d.tags = tags;
  d.updated_at = now_ms();
  db_.write([&](store::Connection& c) { repo::set_tags(c, d.id, d.tags, d.updated_at); });
  return d;
}

repo::Document KnowledgeBases::reingest(const std::string& workspace_id, const std::string& kb_id,
                                        const std::string& document_id) {
  repo::Document d = document(workspace_id, kb_id, document_id);
  d.status = "queued";
  d.error.reset();
  d.chunks_done = 0;
  d.updated_at = now_ms();
  db_.write([&](store::Connection& c) { repo::update_document(c, d); });
  enqueue(d.id);
  return d;
}

void KnowledgeBases::remove_document(const std::string& workspace_id, const std::string& kb_id,
                                     const std::string& document_id) {
  const repo::Document d = document(workspace_id, kb_id, document_id);
  std::vector<int64_t> removed;
  int64_t generation = 0;
  std::optional<repo::KnowledgeBase> kb;
  db_.write([&](store::Connection& c) {
    removed = repo::chunk_ids_of_document(c, d.id);
    repo::delete_document(c, d.id);
    generation = repo::bump_generation(c, d.knowledge_base_id, now_ms());
    kb = repo::find_base_any(c, d.knowledge_base_id);
  });
  if (kb && kb->embedding_model && kb->dimension) {
    indexes_->apply(workspace_id, kb->id, generation, *kb->embedding_model, static_cast<int>(*kb->dimension), removed,
                    {}, {});
  }
  schedule_compaction(d.knowledge_base_id);
  publish(d, "knowledge.document.deleted");
}

json KnowledgeBases::status(const std::string& workspace_id, const std::string& kb_id) {
  const repo::KnowledgeBase kb = require_base(workspace_id, kb_id);
  const auto counts = db_.read([&](store::Connection& c) { return repo::document_counts(c, kb.id); });
  json docs = {{"total", counts.documents}};
  for (const char* s : {"queued", "processing", "ready", "failed"}) {
    auto it = counts.by_status.find(s);
    docs[s] = it == counts.by_status.end() ? 0 : it->second;
  }
  const auto index = indexes_->info(kb.id);
  return {{"knowledge_base_id", kb.id},
          {"documents", docs},
          {"chunks", counts.chunks},
          {"progress", {{"chunks_done", counts.chunks_done}, {"chunks_total", counts.chunks_total}}},
          {"idle", docs["queued"] == 0 && docs["processing"] == 0},
          {"index", {{"loaded", index.loaded}, {"kind", index.loaded ? json(index.kind) : json(nullptr)},
                     {"vectors", index.vectors}}}};
}

void KnowledgeBases::publish(const repo::Document& d, const std::string& type, json extra) {
  json data = {{"knowledge_base_id", d.knowledge_base_id},
               {"document_id", d.id},
               {"name", d.name},
               {"status", d.status},
               {"chunks_done", d.chunks_done},
               {"chunks_total", d.chunks_total}};
  for (auto& [k, v] : extra.items()) data[k] = v;
  bus_.publish(Event{type, d.workspace_id, "", std::move(data), now_ms()});
}

}  // namespace sb::knowledge
