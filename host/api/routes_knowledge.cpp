// Knowledge bases: /api/v1/workspaces/:workspace_id/knowledge-bases*.
// A base is named in the path by its id or its name. Reading needs the
// read permission; creating, changing, uploading, deleting and the test
// question (which calls the provider) need edit_flows, like the flows the
// bases answer for. Provider configs are stored with their secrets sealed
// and always shown redacted.
#include "api/api_context.hpp"

#include "core/error.hpp"
#include "core/text.hpp"
#include "plugins/plugin_error.hpp"

#include <spdlog/spdlog.h>

namespace sb::api {
namespace {

using nlohmann::json;
using tenancy::Permission;

Error bad(const std::string& field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

knowledge::KnowledgeBases& knowledge_of(ApiServices& s) {
  if (!s.knowledge) throw Error(ErrorCode::unavailable, "this host runs no knowledge bases");
  return *s.knowledge;
}

json hit_json(const knowledge::SearchHit& h) {
  return {{"chunk_id", h.chunk_id},
          {"document_id", h.document_id},
          {"document_name", h.document_name},
          {"title", h.document_title},
          {"tags", h.document_tags},
          {"heading", h.heading},
          {"position", h.position},
          {"page", h.page},
          {"text", h.text},
          {"score", h.score},
          {"similarity", h.similarity},
          {"vector_rank", h.vector_rank == 0 ? json(nullptr) : json(h.vector_rank)},
          {"keyword_rank", h.keyword_rank == 0 ? json(nullptr) : json(h.keyword_rank)}};
}

json search_json(const knowledge::SearchResult& r) {
  json hits = json::array();
  for (const auto& h : r.hits) hits.push_back(hit_json(h));
  return {{"results", hits}, {"best_similarity", r.best_similarity}, {"vector_search", r.vector_search},
          {"took_ms", r.took_ms}};
}

json answer_json(const knowledge::Answer& a) {
  return {{"answered", a.answered},
          {"text", a.text},
          {"reason", a.reason.empty() ? json(nullptr) : json(a.reason)},
          {"citations", a.citations},
          {"retrieved", search_json(a.retrieved)},
          {"prompt", a.prompt},
          {"provider", a.provider},
          {"model", a.model.empty() ? json(nullptr) : json(a.model)},
          {"usage", a.usage}};
}

// Tags from a form field: a JSON array, or words separated by commas.
std::vector<std::string> form_tags(const std::string& text) {
  if (text.empty()) return {};
  if (trim_ascii(text).substr(0, 1) == "[") {
    auto parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_array()) {
      throw bad("tags", "the field \"tags\" starts like a JSON array but is not one");
    }
    return knowledge::checked_tags(parsed);
  }
  json list = json::array();
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string_view tag =
        trim_ascii(std::string_view(text).substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!tag.empty()) list.push_back(std::string(tag));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return knowledge::checked_tags(list);
}

// A provider failure as the API reports it: the provider's message, 502
// (it refused or answered garbage), 503 (down), 504 (too slow).
[[noreturn]] void rethrow_provider(const plugins::PluginError& e) {
  throw Error(plugins::error_code_for(e.status()), e.what(), {{"provider", e.plugin_id()}});
}

}  // namespace

void register_knowledge_routes(ApiRoutes& routes) {
  ApiServices& s = routes.services();
  const std::string base = "/api/v1/workspaces/:workspace_id/knowledge-bases";
  const std::string item = base + "/:kb_id";
  const std::string documents = item + "/documents";
  const std::string document = documents + "/:document_id";

  routes.get(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({});
    auto& kb = knowledge_of(s);
    const auto page = kb.list(ws.id, call.page());
    return page_response(page, [&](const knowledge::repo::KnowledgeBase& b) { return kb.describe(b); });
  });

  routes.post(base, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    auto& kb = knowledge_of(s);
    const auto created_base = kb.create(ws.organization_id, ws.id, call.body());
    call.audit("knowledge_base.created", ws.organization_id, ws.id, "knowledge_base", created_base.id,
               {{"name", created_base.name}, {"provider", created_base.provider}});
    return created(kb.describe(created_base));
  });

  routes.get(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    auto& kb = knowledge_of(s);
    return ok(kb.describe(kb.get(ws.id, call.param("kb_id"))));
  });

  routes.patch(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    auto& kb = knowledge_of(s);
    const auto updated = kb.update(ws.id, kb.get(ws.id, call.param("kb_id")).id, call.body());
    json fields = json::array();
    for (const auto& [k, v] : call.body().items()) fields.push_back(k);
    call.audit("knowledge_base.updated", ws.organization_id, ws.id, "knowledge_base", updated.id, {{"fields", fields}});
    return ok(kb.describe(updated));
  });

  routes.del(item, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    auto& kb = knowledge_of(s);
    const auto b = kb.get(ws.id, call.param("kb_id"));
    kb.remove(ws.id, b.id);
    call.audit("knowledge_base.deleted", ws.organization_id, ws.id, "knowledge_base", b.id, {{"name", b.name}});
    return no_content();
  });

  routes.get(item + "/status", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    return ok(knowledge_of(s).status(ws.id, call.param("kb_id")));
  });

  routes.get(documents, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_query({"status"});
    const auto page = knowledge_of(s).documents(ws.id, call.param("kb_id"), call.query("status"), call.page());
    return page_response(page, [](const knowledge::repo::Document& d) { return knowledge::repo::to_json(d); });
  });

  // Uploads: a multipart/form-data form whose parts "file" (one or more)
  // are the documents and whose optional part "tags" holds the tags (a JSON
  // array or a comma-separated list); or one document as the raw body with
  // its content type and ?name=; or JSON {"urls": [...], "tags": [...]}.
  // 202: the documents are queued; GET .../status or the events show the
  // progress.
  routes.upload(documents, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    const std::string type = ascii_lower(call.request.header("content-type"));
    if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      // curl --data-binary's default: the body would be read as form fields.
      throw Error(ErrorCode::unsupported_media_type,
                  "send a document as multipart/form-data, or as the raw body with its own content type (e.g. "
                  "text/markdown, application/pdf), not as application/x-www-form-urlencoded");
    }
    call.allow_query({"name", "tags"});
    auto& kb = knowledge_of(s);
    std::vector<knowledge::repo::Document> queued;
    std::vector<std::string> tags;
    if (auto t = call.query("tags")) tags = form_tags(*t);
    if (type.rfind("multipart/form-data", 0) == 0) {
      std::vector<knowledge::DocumentUpload> files;
      for (const char* field : {"file", "files"}) {
        auto [from, to] = call.request.form_files.equal_range(field);
        for (auto it = from; it != to; ++it) {
          files.push_back({it->second.filename, it->second.content_type, it->second.content});
        }
      }
      if (files.empty()) throw bad("file", "the form has no part named \"file\"; send each document as a field \"file\"");
      if (auto t = call.request.form_parts.find("tags"); t != call.request.form_parts.end()) tags = form_tags(t->second);
      queued = kb.add_files(ws.id, call.param("kb_id"), files, tags);
    } else if (type.rfind("application/json", 0) == 0) {
      const json& body = call.body();
      call.allow_fields({"urls", "tags"});
      if (!body.contains("urls")) {
        throw bad("urls", "a JSON body lists \"urls\" to fetch; upload files as multipart/form-data or as the raw body");
      }
      const auto urls = optional_string_array(body, "urls", 100, 2048);
      if (body.contains("tags")) tags = knowledge::checked_tags(body["tags"]);
      queued = kb.add_urls(ws.id, call.param("kb_id"), urls, tags);
    } else {
      const auto name = call.query("name");
      if (!name || name->empty()) {
        throw bad("name", "a document sent as the raw body needs ?name= (its file name, e.g. faq.md)");
      }
      queued = kb.add_files(ws.id, call.param("kb_id"), {{*name, call.request.header("content-type"), call.request.body}},
                            tags);
    }
    json data = json::array();
    for (const auto& d : queued) {
      data.push_back(knowledge::repo::to_json(d));
      call.audit("knowledge_document.uploaded", ws.organization_id, ws.id, "knowledge_document", d.id,
                 {{"name", d.name}, {"knowledge_base_id", d.knowledge_base_id}});
    }
    ApiResponse r = ApiResponse::json(202, {{"data", data}});
    return r;
  });

  routes.get(document, [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    return ok(knowledge::repo::to_json(knowledge_of(s).document(ws.id, call.param("kb_id"), call.param("document_id"))));
  });

  routes.get(document + "/chunks", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    json data = json::array();
    for (const auto& c : knowledge_of(s).document_chunks(ws.id, call.param("kb_id"), call.param("document_id"))) {
      data.push_back({{"chunk_id", c.id}, {"position", c.position}, {"heading", c.heading}, {"page", c.page},
                      {"text", c.text}});
    }
    return ok({{"data", data}});
  });

  routes.patch(document, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    call.allow_fields({"tags"});
    if (!call.body().contains("tags")) throw bad("tags", "\"tags\" is required");
    const auto d = knowledge_of(s).set_tags(ws.id, call.param("kb_id"), call.param("document_id"),
                                            knowledge::checked_tags(call.body()["tags"]));
    return ok(knowledge::repo::to_json(d));
  });

  routes.post(document + "/reingest", [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    const auto d = knowledge_of(s).reingest(ws.id, call.param("kb_id"), call.param("document_id"));
    return ApiResponse::json(202, knowledge::repo::to_json(d));
  });

  routes.del(document, [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    auto& kb = knowledge_of(s);
    const auto d = kb.document(ws.id, call.param("kb_id"), call.param("document_id"));
    kb.remove_document(ws.id, d.knowledge_base_id, d.id);
    call.audit("knowledge_document.deleted", ws.organization_id, ws.id, "knowledge_document", d.id, {{"name", d.name}});
    return no_content();
  });

  // Search: {"query", "k"?, "tags"?} -> the fused results with their scores.
  routes.post(item + "/search", [&s](Call& call) {
    const auto ws = call.workspace(Permission::read);
    call.allow_fields({"query", "k", "tags"});
    knowledge::SearchRequest r;
    r.query = required_string(call.body(), "query", 4000);
    r.k = static_cast<int>(optional_int(call.body(), "k", 1, 50).value_or(0));
    if (call.body().contains("tags")) r.tags = knowledge::checked_tags(call.body()["tags"]);
    try {
      return ok(search_json(knowledge_of(s).search(ws.id, call.param("kb_id"), r)));
    } catch (const plugins::PluginError& e) {
      rethrow_provider(e);
    }
  });

  // The test question, for admins tuning a bot: {"question", "history"?,
  // "tags"?, "min_score"?, "citation_style"?, "max_chunks"?, "stream"?}
  // -> the retrieved chunks, the prompt sent and the answer. With
  // "stream": true the answer is Server-Sent Events: "delta" (pieces as the
  // provider writes them), then "answer" (the whole result above) or
  // "error".
  routes.post(item + "/ask", [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    call.allow_fields({"question", "history", "tags", "min_score", "citation_style", "max_chunks", "stream"});
    const json& body = call.body();
    knowledge::AnswerRequest r;
    r.question = required_string(body, "question", 4000);
    if (body.contains("history")) {
      if (!body["history"].is_array() || body["history"].size() > 50) {
        throw bad("history", "\"history\" must be an array of at most 50 {\"role\", \"content\"} messages");
      }
      for (const auto& m : body["history"]) {
        if (!m.is_object() || !m.contains("content") || !m["content"].is_string() ||
            (m.value("role", "") != "user" && m.value("role", "") != "assistant")) {
          throw bad("history", "each history message is {\"role\": \"user\" | \"assistant\", \"content\": \"...\"}");
        }
      }
      r.history = body["history"];
    }
    if (body.contains("tags")) r.tags = knowledge::checked_tags(body["tags"]);
    if (body.contains("min_score")) {
      if (!body["min_score"].is_number() || body["min_score"].get<double>() < 0 || body["min_score"].get<double>() > 1) {
        throw bad("min_score", "\"min_score\" must be a number from 0 to 1");
      }
      r.min_score = body["min_score"].get<double>();
    }
    r.citation_style = optional_string(body, "citation_style", 16);
    // Checked here as well as in answer(): a streamed answer has begun (200)
    // before that runs, and a bad request deserves its 400.
    if (r.citation_style && *r.citation_style != "footnote" && *r.citation_style != "inline" &&
        *r.citation_style != "none") {
      throw bad("citation_style", "\"citation_style\" must be footnote, inline or none");
    }
    if (auto n = optional_int(body, "max_chunks", 1, 20)) r.max_chunks = static_cast<int>(*n);
    auto& kb = knowledge_of(s);
    const std::string kb_id = kb.get(ws.id, call.param("kb_id")).id;
    if (!optional_bool(body, "stream").value_or(false)) {
      try {
        return ok(answer_json(kb.answer(ws.id, kb_id, r)));
      } catch (const plugins::PluginError& e) {
        rethrow_provider(e);
      }
    }
    ApiResponse res;
    res.content_type = "text/event-stream";
    res.headers["X-Accel-Buffering"] = "no";
    const std::string workspace_id = ws.id;
    res.stream = [&kb, workspace_id, kb_id, r](const StreamWriter& write) {
      auto event = [&](const char* name, const json& data) {
        return write(std::string("event: ") + name + "\ndata: " +
                     data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n");
      };
      bool open = true;
      try {
        knowledge::Answer a = kb.answer(workspace_id, kb_id, r, [&](std::string_view piece) {
          if (open) open = event("delta", {{"text", std::string(piece)}});
        });
        if (open) event("answer", answer_json(a));
      } catch (const plugins::PluginError& e) {
        if (open) {
          event("error", Error(plugins::error_code_for(e.status()), e.what(), {{"provider", e.plugin_id()}}).to_json()["error"]);
        }
      } catch (const Error& e) {
        if (open) event("error", e.to_json()["error"]);
      } catch (const std::exception& e) {
        spdlog::error("knowledge: a streamed answer failed: {}", e.what());
        if (open) event("error", {{"code", "internal"}, {"message", "the answer failed"}});
      }
    };
    return res;
  });

  // {"text", "labels"} classified by the base's provider (ai_classify's test).
  routes.post(item + "/classify", [&s](Call& call) {
    const auto ws = call.workspace(Permission::edit_flows);
    call.allow_fields({"text", "labels"});
    const std::string text = required_string(call.body(), "text", 4000);
    try {
      return ok(knowledge_of(s).classify(ws.id, call.param("kb_id"), text, call.body().value("labels", json())));
    } catch (const plugins::PluginError& e) {
      rethrow_provider(e);
    }
  });
}

}  // namespace sb::api
