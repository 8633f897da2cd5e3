// The knowledge-base service over a real database, blob store and faiss
// index directory, with the real ai-local plugin: ingestion into both
// indexes, replacement and deletion keeping them in agreement, the index
// rebuilt when its file is missing or stale, refused files, recovery of
// unfinished documents, tag filters, answers and the model change.
#include "unit/knowledge/knowledge_test_host.hpp"

#include "core/error.hpp"
#include "plugins/plugin_error.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>

using nlohmann::json;
using sb::ErrorCode;
using sb::test::KnowledgeTestHost;

namespace {

const std::string kReturns = R"(# Returns

## Refunds

You can return any unused item within 30 days of delivery for a full refund. The refund goes back to the card you paid with within five working days.

## Exchanges

Exchanges for another size are free of charge. Bring the item and the receipt to the shop, or send it back with the prepaid label.
)";

const std::string kHours = R"(# Opening hours

## Weekdays

The shop is open from 9 in the morning to 6 in the evening, Monday to Friday.

## Weekends

On Saturday we open at 10 and close at 4. The shop is closed on Sundays and public holidays.
)";

const std::string kAnimals = R"(# Animals

The zebra is a striped horse of the African savanna. Zebras live in herds and eat grass.
)";

sb::knowledge::SearchRequest query(const std::string& q, int k = 3, std::vector<std::string> tags = {}) {
  return sb::knowledge::SearchRequest{q, k, std::move(tags)};
}

}  // namespace

TEST_CASE("an uploaded document is ingested into both indexes and found by search", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto doc = h.ingest(base, "returns.md", kReturns);
  CHECK(doc.status == "ready");
  CHECK(doc.format == std::optional<std::string>("markdown"));
  CHECK(doc.title == "Returns");
  REQUIRE(doc.chunk_count >= 2);
  CHECK(doc.chunks_done == doc.chunks_total);
  CHECK(h.chunk_rows(base.id) == doc.chunk_count);
  CHECK(h.keyword_rows(base.id) == doc.chunk_count);
  CHECK(h.vector_count(base.id) == static_cast<size_t>(doc.chunk_count));

  const auto result = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("how many days do I have to return an item for a refund"));
  REQUIRE_FALSE(result.hits.empty());
  CHECK(result.vector_search);
  CHECK(result.hits[0].heading == "Returns > Refunds");
  CHECK(result.hits[0].text.find("30 days") != std::string::npos);
  CHECK(result.hits[0].similarity > 0);
  CHECK(result.best_similarity >= result.hits[0].similarity);
}

TEST_CASE("a base is found by its name as well as its id, and a second base of the same name is refused",
          "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  CHECK(h.kb->get(KnowledgeTestHost::kWorkspace, "shop").id == base.id);
  CHECK(h.kb->get(KnowledgeTestHost::kWorkspace, base.id).name == "shop");
  try {
    h.make_base("shop");
    FAIL("a duplicate name was accepted");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::conflict);
  }
  try {
    h.make_base("other", {{"provider", "channel-sandbox"}});
    FAIL("a channel plugin was accepted as an AI provider");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::invalid_argument);
    CHECK(std::string(e.what()).find("not an AI provider") != std::string::npos);
  }
  try {
    h.make_base("bad-settings", {{"settings", {{"retrieval", {{"min_score", 3}}}}}});
    FAIL("a min_score of 3 was accepted");
  } catch (const sb::Error& e) {
    CHECK(std::string(e.what()).find("settings.retrieval.min_score") != std::string::npos);
  }
}

TEST_CASE("a changed re-upload replaces the document's chunks in both indexes", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto v1 = h.ingest(base, "animals.md", kAnimals);
  REQUIRE(v1.status == "ready");
  REQUIRE(h.keyword_matches(base.id, "zebra") > 0);
  const auto old_ids = h.db->read([&](sb::store::Connection& c) { return sb::knowledge::repo::chunk_ids_of_document(c, v1.id); });

  std::string v2_text = kAnimals;
  for (std::string from = "ebra"; v2_text.find("zebra") != std::string::npos;) {
    v2_text.replace(v2_text.find("zebra"), 5, "giraffe");
  }
  for (size_t at; (at = v2_text.find("Zebras")) != std::string::npos;) v2_text.replace(at, 6, "Giraffes");
  const auto v2 = h.ingest(base, "animals.md", v2_text);
  CHECK(v2.id == v1.id);  // the same document, replaced
  CHECK(v2.status == "ready");
  CHECK(v2.content_sha256 != v1.content_sha256);
  CHECK(h.keyword_matches(base.id, "zebra") == 0);
  CHECK(h.keyword_matches(base.id, "giraffe") > 0);
  CHECK(h.chunk_rows(base.id) == v2.chunk_count);
  CHECK(h.keyword_rows(base.id) == v2.chunk_count);
  auto index = h.kb->indexes().get(KnowledgeTestHost::kWorkspace, base.id);
  REQUIRE(index);
  CHECK(index->size() == static_cast<size_t>(v2.chunk_count));
  for (int64_t id : old_ids) CHECK_FALSE(index->contains(id));
  const auto hits = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("giraffe savanna herds")).hits;
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].text.find("giraffe") != std::string::npos);
}

TEST_CASE("an unchanged re-upload keeps the document's chunks", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto v1 = h.ingest(base, "hours.md", kHours);
  const auto ids = h.db->read([&](sb::store::Connection& c) { return sb::knowledge::repo::chunk_ids_of_document(c, v1.id); });
  const auto v2 = h.ingest(base, "hours.md", kHours);
  CHECK(v2.id == v1.id);
  CHECK(v2.ingested_at == v1.ingested_at);
  CHECK(h.db->read([&](sb::store::Connection& c) { return sb::knowledge::repo::chunk_ids_of_document(c, v1.id); }) == ids);
}

TEST_CASE("deleting a document removes its chunks from both indexes", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto returns = h.ingest(base, "returns.md", kReturns);
  const auto hours = h.ingest(base, "hours.md", kHours);
  REQUIRE(h.vector_count(base.id) == static_cast<size_t>(returns.chunk_count + hours.chunk_count));
  h.kb->remove_document(KnowledgeTestHost::kWorkspace, base.id, returns.id);
  CHECK(h.chunk_rows(base.id) == hours.chunk_count);
  CHECK(h.keyword_rows(base.id) == hours.chunk_count);
  CHECK(h.keyword_matches(base.id, "refund") == 0);
  CHECK(h.vector_count(base.id) == static_cast<size_t>(hours.chunk_count));
  for (const auto& hit : h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("refund to my card", 10)).hits) {
    CHECK(hit.document_id == hours.id);
  }
  try {
    h.kb->document(KnowledgeTestHost::kWorkspace, base.id, returns.id);
    FAIL("the deleted document is still there");
  } catch (const sb::Error& e) {
    CHECK(e.code() == ErrorCode::not_found);
  }
}

TEST_CASE("deleting a base removes its documents, chunks, keyword index and index file, and no other base's",
          "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto shop = h.make_base("shop");
  const auto other = h.make_base("other");
  const auto returns = h.ingest(shop, "returns.md", kReturns);
  const auto hours = h.ingest(other, "hours.md", kHours);
  h.kb->indexes().save_dirty();
  const auto file = h.kb->indexes().file_of(KnowledgeTestHost::kWorkspace, shop.id);
  REQUIRE(std::filesystem::exists(file));
  REQUIRE(h.keyword_rows(shop.id) == returns.chunk_count);

  h.kb->remove(KnowledgeTestHost::kWorkspace, shop.id);
  CHECK(h.chunk_rows(shop.id) == 0);
  CHECK(h.keyword_rows(shop.id) == -1);  // its FTS5 table is dropped
  CHECK(h.count("SELECT COUNT(*) AS n FROM knowledge_documents WHERE knowledge_base_id = ?", {shop.id}) == 0);
  CHECK(h.count("SELECT COUNT(*) AS n FROM knowledge_sources WHERE document_id = ?", {returns.id}) == 0);
  CHECK_FALSE(std::filesystem::exists(file));

  CHECK(h.keyword_rows(other.id) == hours.chunk_count);
  const auto found = h.kb->search(KnowledgeTestHost::kWorkspace, other.id, query("when do you open on sunday"));
  REQUIRE_FALSE(found.hits.empty());
  CHECK(found.hits[0].document_id == hours.id);
}

TEST_CASE("a base's keyword index is merged into one segment once ingestion is idle, and finds the same",
          "[knowledge][service]") {
  auto options = KnowledgeTestHost::defaults();
  options.compaction_quiet = std::chrono::hours(1);  // nothing merged here...
  KnowledgeTestHost h(options);
  const auto base = h.make_base("shop");
  std::vector<sb::knowledge::repo::Document> docs;
  for (const auto* text : {&kReturns, &kHours}) docs.push_back(h.ingest(base, "doc" + std::to_string(docs.size()) + ".md", *text));
  docs.push_back(h.ingest(base, "more.md", "# Delivery\n\nParcels leave the shop every weekday at noon.\n"));
  h.kb->remove_document(KnowledgeTestHost::kWorkspace, base.id, docs[1].id);
  const int64_t before = h.keyword_segments(base.id);
  REQUIRE(before > 1);  // a segment per commit, and the delete's
  const auto found = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("refund to my card", 10));

  h.options.compaction_quiet = std::chrono::milliseconds(0);  // ... but at the next start
  h.reopen();
  h.ingest(base, "again.md", "# Parking\n\nThe car park behind the shop is free for customers.\n");
  REQUIRE(h.kb->wait_until_compacted(std::chrono::seconds(30)));
  CHECK(h.keyword_segments(base.id) == 1);
  CHECK(h.keyword_rows(base.id) == h.chunk_rows(base.id));
  CHECK(h.keyword_matches(base.id, "parcels") == 1);
  CHECK(h.keyword_matches(base.id, "weekends") == 0);  // the deleted document's word
  const auto after = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("refund to my card", 10));
  // The refund passage is still the best keyword match.
  REQUIRE_FALSE(found.hits.empty());
  REQUIRE(found.hits[0].keyword_rank == 1);
  const auto refunds = std::find_if(after.hits.begin(), after.hits.end(),
                                    [&](const auto& hit) { return hit.chunk_id == found.hits[0].chunk_id; });
  REQUIRE(refunds != after.hits.end());
  CHECK(refunds->keyword_rank == 1);
}

TEST_CASE("a missing faiss index file is rebuilt from the database", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto doc = h.ingest(base, "returns.md", kReturns);
  const auto before = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("refund to my card"));
  h.reopen();  // saves the index at stop
  const auto file = h.kb->indexes().file_of(KnowledgeTestHost::kWorkspace, base.id);
  REQUIRE(std::filesystem::exists(file));
  h.kb.reset();
  std::filesystem::remove(file);
  h.reopen();
  CHECK_FALSE(h.kb->indexes().info(base.id).loaded);
  const auto after = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("refund to my card"));
  CHECK(h.kb->indexes().info(base.id).loaded);
  CHECK(h.vector_count(base.id) == static_cast<size_t>(doc.chunk_count));
  REQUIRE(after.hits.size() == before.hits.size());
  for (size_t i = 0; i < after.hits.size(); ++i) CHECK(after.hits[i].chunk_id == before.hits[i].chunk_id);
  CHECK(after.hits[0].vector_rank == 1);
  REQUIRE(h.kb->wait_until_idle(std::chrono::seconds(5)));
  h.kb->indexes().save_dirty();
  CHECK(std::filesystem::exists(file));  // saved again after the rebuild
}

TEST_CASE("an index file older than the database is rebuilt rather than trusted", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  h.ingest(base, "returns.md", kReturns);
  h.reopen();
  const auto file = h.kb->indexes().file_of(KnowledgeTestHost::kWorkspace, base.id);
  const std::string old_file = sb::test::read_file(file);
  const auto hours = h.ingest(base, "hours.md", kHours);
  h.kb.reset();
  // A crash after the commit and before the next save leaves the older file.
  std::ofstream(file, std::ios::binary | std::ios::trunc) << old_file;
  h.reopen();
  const auto hits = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("are you open on saturday")).hits;
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].document_id == hours.id);
  CHECK(hits[0].vector_rank != 0);
  CHECK(h.vector_count(base.id) == static_cast<size_t>(h.chunk_rows(base.id)));
}

TEST_CASE("files that cannot be used are refused with their reason and nothing is stored", "[knowledge][service]") {
  auto options = KnowledgeTestHost::defaults();
  options.max_document_bytes = 4096;
  KnowledgeTestHost h(options);
  const auto base = h.make_base("shop");
  const auto files = sb::test::knowledge_data_dir() / "files";
  struct Case {
    std::string name, content_type, bytes;
    ErrorCode code;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"empty.md", "text/markdown", "", ErrorCode::invalid_argument, "empty"},
      {"latin1.txt", "text/plain", "caf\xe9 cr\xe8me", ErrorCode::invalid_argument, "UTF-8"},
      {"encrypted.pdf", "application/pdf", sb::test::read_file(files / "encrypted.pdf"), ErrorCode::invalid_argument,
       "encrypted"},
      {"damaged.pdf", "application/pdf", sb::test::read_file(files / "damaged.pdf"), ErrorCode::invalid_argument,
       "damaged"},
      {"scan.pdf", "application/pdf", sb::test::read_file(files / "image-only.pdf"), ErrorCode::invalid_argument,
       "no text"},
      {"big.md", "text/markdown", std::string(5000, 'a'), ErrorCode::payload_too_large, "at most 4096"},
      {"tool.exe", "application/x-msdownload", std::string("MZ\x90\x00\x03", 5), ErrorCode::unsupported_media_type,
       "not a document type"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    try {
      h.kb->add_files(KnowledgeTestHost::kWorkspace, base.id, {{c.name, c.content_type, c.bytes}}, {});
      FAIL("accepted");
    } catch (const sb::Error& e) {
      CHECK(e.code() == c.code);
      CHECK(std::string(e.what()).find(c.name) != std::string::npos);
      CHECK(std::string(e.what()).find(c.reason) != std::string::npos);
    }
  }
  // One bad file refuses the whole upload: the good one is not stored either.
  CHECK_THROWS_AS(h.kb->add_files(KnowledgeTestHost::kWorkspace, base.id,
                                  {{"hours.md", "text/markdown", kHours}, {"empty.md", "text/markdown", ""}}, {}),
                  sb::Error);
  CHECK(h.count("SELECT COUNT(*) AS n FROM knowledge_documents") == 0);
  CHECK(h.count("SELECT COUNT(*) AS n FROM knowledge_sources") == 0);
  CHECK(h.chunk_rows(base.id) == 0);
}

TEST_CASE("a document left unfinished by a crash is ingested at the next start", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto doc = h.ingest(base, "hours.md", kHours);
  h.kb.reset();
  // As a crash mid-ingestion leaves it: processing, its old chunks gone.
  h.db->write([&](sb::store::Connection& c) {
    sb::knowledge::repo::delete_chunks_of_document(c, doc.id);
    c.execute("UPDATE knowledge_documents SET status = 'processing', chunks_done = 3 WHERE id = ?", {doc.id});
  });
  h.reopen();
  REQUIRE(h.kb->wait_until_idle(std::chrono::seconds(30)));
  const auto again = h.kb->document(KnowledgeTestHost::kWorkspace, base.id, doc.id);
  CHECK(again.status == "ready");
  CHECK(h.chunk_rows(base.id) == again.chunk_count);
  CHECK(h.keyword_rows(base.id) == again.chunk_count);
  CHECK(h.vector_count(base.id) == static_cast<size_t>(again.chunk_count));
}

TEST_CASE("ingestion publishes its progress until the document is ready", "[knowledge][service]") {
  KnowledgeTestHost h;
  std::mutex mu;
  std::vector<json> progress;
  std::vector<std::string> types;
  auto on = [&](const sb::Event& e) {
    std::lock_guard lock(mu);
    types.push_back(e.type);
    if (e.type == "knowledge.document.progress") progress.push_back(e.data);
  };
  auto s1 = h.bus.subscribe("knowledge.document.progress", on);
  auto s2 = h.bus.subscribe("knowledge.document.ready", on);
  const auto base = h.make_base("shop");
  std::string big;
  for (int i = 0; i < 40; ++i) big += "## Section " + std::to_string(i) + "\n\n" + kAnimals.substr(10) + "\n";
  const auto doc = h.ingest(base, "big.md", big);
  std::lock_guard lock(mu);
  REQUIRE(progress.size() >= 3);
  CHECK(progress.back()["chunks_done"] == doc.chunk_count);
  CHECK(progress.back()["chunks_total"] == doc.chunk_count);
  for (size_t i = 1; i < progress.size(); ++i) CHECK(progress[i]["chunks_done"] >= progress[i - 1]["chunks_done"]);
  CHECK(types.back() == "knowledge.document.ready");
}

TEST_CASE("a tag filter limits search to documents carrying every tag", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  const auto returns = h.ingest(base, "returns.md", kReturns, {"policy", "store-a"});
  const auto hours = h.ingest(base, "hours.md", kHours, {"store-b"});
  const auto all = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("when is the shop open", 10)).hits;
  std::set<std::string> docs;
  for (const auto& hit : all) docs.insert(hit.document_id);
  CHECK(docs.size() == 2);
  for (const auto& hit : h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("when is the shop open", 10, {"policy"})).hits) {
    CHECK(hit.document_id == returns.id);
  }
  CHECK(h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("when is the shop open", 10, {"policy", "store-b"})).hits.empty());
  h.kb->set_tags(KnowledgeTestHost::kWorkspace, base.id, hours.id, {"policy"});
  bool found_hours = false;
  for (const auto& hit : h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("when is the shop open", 10, {"policy"})).hits) {
    found_hours = found_hours || hit.document_id == hours.id;
  }
  CHECK(found_hours);
}

TEST_CASE("an answer cites the passage it comes from, and an unrelated question gets none", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  h.ingest(base, "returns.md", kReturns);
  h.ingest(base, "hours.md", kHours);

  sb::knowledge::AnswerRequest ask;
  ask.question = "What time do you open on Saturday?";
  const auto a = h.kb->answer(KnowledgeTestHost::kWorkspace, base.id, ask);
  INFO(a.reason);
  REQUIRE(a.answered);
  CHECK(a.text.find("Saturday we open at 10") != std::string::npos);
  REQUIRE_FALSE(a.citations.empty());
  CHECK(a.citations[0]["heading"] == "Opening hours > Weekends");
  CHECK(a.text.find("Sources:") != std::string::npos);  // the default footnote style
  REQUIRE(a.prompt.is_array());
  CHECK(a.prompt[0]["role"] == "system");
  CHECK(a.prompt[0]["content"].get<std::string>().find("[1]") != std::string::npos);
  CHECK(a.prompt.back()["content"] == ask.question);

  ask.citation_style = "none";
  const auto plain = h.kb->answer(KnowledgeTestHost::kWorkspace, base.id, ask);
  CHECK(plain.text.find('[') == std::string::npos);
  CHECK(plain.text.find("Sources") == std::string::npos);

  sb::knowledge::AnswerRequest unrelated;
  unrelated.question = "Can you recommend a good recipe for lasagne?";
  const auto none = h.kb->answer(KnowledgeTestHost::kWorkspace, base.id, unrelated);
  CHECK_FALSE(none.answered);
  CHECK(none.text.empty());
  CHECK_FALSE(none.reason.empty());
}

TEST_CASE("a provider that cannot be reached fails the answer with a transient plugin error", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("remote", {{"provider", "ai-openai"},
                                           {"provider_config", {{"base_url", "http://127.0.0.1:9"}, {"max_retries", 0}}}});
  sb::knowledge::AnswerRequest ask;
  ask.question = "anything";
  try {
    h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("anything"));
    // No vectors yet: keyword search only, nothing found, nothing asked.
    const auto a = h.kb->answer(KnowledgeTestHost::kWorkspace, base.id, ask);
    CHECK_FALSE(a.answered);
  } catch (const std::exception& e) {
    FAIL(e.what());
  }
  // A document cannot be embedded: it fails after the retries, with the reason.
  auto docs = h.kb->add_files(KnowledgeTestHost::kWorkspace, base.id, {{"hours.md", "", kHours}}, {});
  REQUIRE(h.kb->wait_until_idle(std::chrono::seconds(30)));
  const auto doc = h.kb->document(KnowledgeTestHost::kWorkspace, base.id, docs[0].id);
  CHECK(doc.status == "failed");
  REQUIRE(doc.error);
  CHECK(doc.error->find("ai-openai") != std::string::npos);
  CHECK(h.chunk_rows(base.id) == 0);
}

TEST_CASE("a new embedding model re-embeds every document and replaces the index", "[knowledge][service]") {
  KnowledgeTestHost h;
  const auto base = h.make_base("shop");
  h.ingest(base, "returns.md", kReturns);
  h.ingest(base, "hours.md", kHours);
  auto before = h.kb->get(KnowledgeTestHost::kWorkspace, base.id);
  REQUIRE(before.dimension == std::optional<int64_t>(512));
  h.kb->update(KnowledgeTestHost::kWorkspace, base.id, {{"provider_config", {{"dimension", 256}}}});
  REQUIRE(h.kb->wait_until_idle(std::chrono::seconds(60)));
  const auto after = h.kb->get(KnowledgeTestHost::kWorkspace, base.id);
  CHECK(after.dimension == std::optional<int64_t>(256));
  CHECK(after.embedding_model != before.embedding_model);
  auto index = h.kb->indexes().get(KnowledgeTestHost::kWorkspace, base.id);
  REQUIRE(index);
  CHECK(index->dimension() == 256);
  CHECK(index->size() == static_cast<size_t>(h.chunk_rows(base.id)));
  const auto hits = h.kb->search(KnowledgeTestHost::kWorkspace, base.id, query("open on saturday")).hits;
  REQUIRE_FALSE(hits.empty());
  CHECK(hits[0].vector_rank != 0);
}

TEST_CASE("one workspace never sees another's knowledge bases or documents", "[knowledge][service]") {
  KnowledgeTestHost h;
  h.add_workspace("org-other", "ws-other");
  const auto base = h.make_base("shop");
  const auto doc = h.ingest(base, "hours.md", kHours);
  CHECK_THROWS_AS(h.kb->get("ws-other", base.id), sb::Error);
  CHECK_THROWS_AS(h.kb->get("ws-other", "shop"), sb::Error);
  CHECK_THROWS_AS(h.kb->document("ws-other", base.id, doc.id), sb::Error);
  CHECK_THROWS_AS(h.kb->search("ws-other", base.id, query("open")), sb::Error);
  // The same name is free in the other workspace, and its base is its own.
  const auto other = h.kb->create("org-other", "ws-other", {{"name", "shop"}});
  CHECK(other.id != base.id);
  CHECK(h.kb->search("ws-other", other.id, query("open on saturday")).hits.empty());
}
