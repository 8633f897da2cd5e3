// Knowledge bases end to end, against a real host process with the real
// plugins: uploads through the HTTP API (multipart, raw body, refused files),
// progress, search and the test question (with streaming), tenant
// isolation, the ai_reply node answering a WhatsApp conversation or handing
// it off, a profile's auto_reply, and a provider (ai-openai against the
// fake OpenAI-compatible server) that fails or is too slow.
#include "fakes/fake_openai.hpp"
#include "support/api_host.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <thread>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::ApiResult;
using sb::test::eventually;
using sb::test::FakeOpenAi;
using sb::test::Headers;
using sb::test::require_error;
using sb::test::TempDir;
using sb::test::Tenant;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::filesystem::path source(const std::string& relative) { return std::filesystem::path(SB_SOURCE_DIR) / relative; }

const std::string kFaq = read_file(source("examples/knowledge/bakery-faq.md"));

struct Upload {
  int status = 0;
  json body;
};

// POSTs files as multipart/form-data: (name, content type, bytes).
Upload upload(ApiHost& api, const std::string& path, const Headers& auth,
              const std::vector<std::tuple<std::string, std::string, std::string>>& files, const std::string& tags = "") {
  auto c = api.host().client();
  c->set_read_timeout(60, 0);
  httplib::Headers h;
  for (const auto& [k, v] : auth) h.emplace(k, v);
  httplib::MultipartFormDataItems items;
  for (const auto& [name, type, bytes] : files) items.push_back({"file", bytes, name, type});
  if (!tags.empty()) items.push_back({"tags", tags, "", ""});
  auto res = c->Post(path.c_str(), h, items);
  REQUIRE(res);
  return {res->status, json::parse(res->body, nullptr, false)};
}

// Waits until every document of the base is ready or failed.
json wait_ingested(ApiHost& api, const std::string& base, const Headers& auth) {
  json status;
  REQUIRE(eventually(
      [&] {
        status = api.call("GET", base + "/status", nullptr, auth).body;
        return status.is_object() && status.value("idle", false);
      },
      std::chrono::seconds(60)));
  return status;
}

json make_flow(const std::string& knowledge_base, json reply_config = json::object()) {
  reply_config["knowledge_base"] = knowledge_base;
  return {{"schema", "switchboard.flow/1"},
          {"id", "faq"},
          {"rev", 1},
          {"name", "FAQ"},
          {"trigger", {{"type", "message"}}},
          {"start", "answer"},
          {"nodes",
           {{{"id", "answer"}, {"type", "ai_reply"}, {"typeVersion", 1}, {"config", reply_config}},
            {{"id", "unsure"},
             {"type", "handoff"},
             {"typeVersion", 1},
             {"config", {{"text", "A colleague will answer you shortly."}}}}}},
          {"edges", {{{"id", "e1"}, {"from", {{"node", "answer"}, {"port", "no_answer"}}}, {"to", {{"node", "unsure"}}}}}}};
}

// The texts the sandbox number sent to `phone`, oldest first.
std::vector<std::string> sent_to(ApiHost& api, const std::string& profile, const std::string& phone) {
  auto c = api.host().client();
  auto res = c->Get(("/hooks/channel-sandbox/" + profile + "/outbound").c_str());
  std::vector<std::string> out;
  if (!res || res->status != 200) return out;
  const json log = json::parse(res->body);  // named: a range-for over a temporary's member dangles
  for (const auto& m : log["messages"]) {
    if (m.value("to", "") == phone && m.contains("text")) out.push_back(m["text"]);
  }
  return out;
}

void say(ApiHost& api, const std::string& profile, const std::string& phone, const std::string& text) {
  auto c = api.host().client();
  auto in = sb::test::post_inbound(*c, {{"from", phone}, {"name", "Ana"}, {"text", text}}, profile);
  REQUIRE(in);
  REQUIRE(in->status == 200);
}

std::string conversation_mode(ApiHost& api, const Tenant& t) {
  auto res = api.call("GET", "/api/v1/workspaces/" + t.workspace_id + "/conversations", nullptr, t.owner_auth());
  if (res.status != 200 || res.body["data"].empty()) return "";
  return res.body["data"][0].value("mode", "");
}

void make_profile(ApiHost& api, const Tenant& t, const std::string& id, json extra = json::object()) {
  extra["id"] = id;
  extra["name"] = "Number " + id;
  extra["channel_plugin"] = "channel-sandbox";
  extra["connect"] = true;
  auto p = api.call("POST", "/api/v1/workspaces/" + t.workspace_id + "/profiles", extra, t.owner_auth());
  INFO(p.raw);
  REQUIRE(p.status == 201);
}

}  // namespace

TEST_CASE("documents uploaded through the API are ingested with progress, searched and asked about",
          "[knowledge][api]") {
  TempDir dir("sb-kb-api");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  auto created = api.call("POST", W + "/knowledge-bases", {{"name", "bakery"}, {"description", "Our FAQ"}}, a.owner_auth());
  INFO(created.raw);
  REQUIRE(created.status == 201);
  CHECK(created.body["provider"] == "ai-local");
  CHECK(created.body["settings"]["retrieval"]["top_k"] == 5);  // defaults shown
  const std::string base = W + "/knowledge-bases/" + created.body["id"].get<std::string>();

  auto up = upload(api, base + "/documents", a.owner_auth(),
                   {{"bakery-faq.md", "text/markdown", kFaq}, {"hours.txt", "text/plain", "We are open every day from 9 to 5."}},
                   "faq, hours");
  INFO(up.body.dump());
  REQUIRE(up.status == 202);
  REQUIRE(up.body["data"].size() == 2);
  CHECK(up.body["data"][0]["status"] == "queued");
  CHECK(up.body["data"][0]["tags"] == json({"faq", "hours"}));
  const json status = wait_ingested(api, base, a.owner_auth());
  CHECK(status["documents"]["ready"] == 2);
  CHECK(status["chunks"].get<int>() >= 6);
  CHECK(status["index"]["vectors"] == status["chunks"]);

  // A raw body with its content type and ?name=.
  auto c = api.host().client();
  auto raw = c->Post((base + "/documents?name=cakes.md").c_str(), {{"X-API-Key", a.manage_key}},
                     "# Cakes\n\nWe bake wedding cakes to order; they need two weeks' notice.\n", "text/markdown");
  REQUIRE(raw);
  CHECK(raw->status == 202);
  wait_ingested(api, base, a.owner_auth());

  auto docs = api.call("GET", base + "/documents", nullptr, a.owner_auth());
  REQUIRE(docs.status == 200);
  REQUIRE(docs.body["data"].size() == 3);
  for (const auto& d : docs.body["data"]) {
    CHECK(d["status"] == "ready");
    CHECK(d["progress"]["chunks_done"] == d["progress"]["chunks_total"]);
  }

  auto search = api.call("POST", base + "/search", {{"query", "are your croissants vegan?"}, {"k", 3}}, a.owner_auth());
  INFO(search.raw);
  REQUIRE(search.status == 200);
  REQUIRE_FALSE(search.body["results"].empty());
  CHECK(search.body["results"][0]["text"].get<std::string>().find("not vegan") != std::string::npos);
  CHECK(search.body["results"][0]["document_name"] == "bakery-faq.md");

  auto ask = api.call("POST", base + "/ask", {{"question", "how much is a cake for 16 people?"}}, a.owner_auth());
  INFO(ask.raw);
  REQUIRE(ask.status == 200);
  CHECK(ask.body["answered"] == true);
  CHECK(ask.body["text"].get<std::string>().find("55 euros") != std::string::npos);
  CHECK_FALSE(ask.body["citations"].empty());
  CHECK(ask.body["prompt"][0]["role"] == "system");
  CHECK_FALSE(ask.body["retrieved"]["results"].empty());

  // Streamed: pieces first, then the whole answer.
  std::string stream;
  auto sres = c->Post((base + "/ask").c_str(), {{"X-API-Key", a.manage_key}},
                      json{{"question", "when do you open on saturday?"}, {"stream", true}}.dump(), "application/json");
  REQUIRE(sres);
  CHECK(sres->status == 200);
  CHECK(sres->get_header_value("Content-Type").find("text/event-stream") != std::string::npos);
  const auto delta = sres->body.find("event: delta");
  const auto answer = sres->body.find("event: answer");
  CHECK(delta != std::string::npos);
  REQUIRE(answer != std::string::npos);
  CHECK(delta < answer);

  auto none = api.call("POST", base + "/ask", {{"question", "can you fix the gearbox of my car?"}}, a.owner_auth());
  CHECK(none.body["answered"] == false);
  CHECK_FALSE(none.body["reason"].get<std::string>().empty());

  // The API's errors name the field.
  require_error(api.call("POST", base + "/search", {{"k", 3}}, a.owner_auth()), 400, "invalid_argument");
  require_error(api.call("POST", W + "/knowledge-bases", {{"name", "bakery"}}, a.owner_auth()), 409, "conflict");
  require_error(api.call("POST", W + "/knowledge-bases", {{"name", "x"}, {"provider", "nope"}}, a.owner_auth()), 400,
                "invalid_argument");

  // Deleting a document removes it from search.
  const std::string cakes = docs.body["data"][0]["name"] == "cakes.md" ? docs.body["data"][0]["id"].get<std::string>()
                                                                        : std::string();
  REQUIRE_FALSE(cakes.empty());
  CHECK(api.call("DELETE", base + "/documents/" + cakes, nullptr, a.owner_auth()).status == 204);
  auto after = api.call("POST", base + "/search", {{"query", "wedding cakes notice"}, {"k", 5}}, a.owner_auth());
  for (const auto& r : after.body["results"]) CHECK(r["document_id"] != cakes);
}

TEST_CASE("a refused upload names the file and its reason and stores nothing", "[knowledge][api]") {
  TempDir dir("sb-kb-refused");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  REQUIRE(api.call("POST", W + "/knowledge-bases", {{"name", "docs"}}, a.owner_auth()).status == 201);
  const std::string base = W + "/knowledge-bases/docs";
  const auto files = source("tests/data/knowledge/files");
  struct Case {
    std::string name, type, bytes;
    int status;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"empty.md", "text/markdown", "", 400, "empty"},
           {"secret.pdf", "application/pdf", read_file(files / "encrypted.pdf"), 400, "encrypted"},
           {"broken.pdf", "application/pdf", read_file(files / "damaged.pdf"), 400, "damaged"},
           {"photo.png", "image/png", std::string("\x89PNG\r\n\x1a\n", 8), 415, "not a document type"},
       }) {
    INFO(c.name);
    auto up = upload(api, base + "/documents", a.owner_auth(), {{"good.md", "text/markdown", kFaq}, {c.name, c.type, c.bytes}});
    INFO(up.body.dump());
    CHECK(up.status == c.status);
    const std::string message = up.body["error"]["message"];
    CHECK(message.find(c.name) != std::string::npos);
    CHECK(message.find(c.reason) != std::string::npos);
  }
  auto docs = api.call("GET", base + "/documents", nullptr, a.owner_auth());
  CHECK(docs.body["data"].empty());  // not even the good file of those uploads
  auto urlencoded = api.host().client()->Post((base + "/documents?name=x.md").c_str(), {{"X-API-Key", a.manage_key}},
                                              "a=b", "application/x-www-form-urlencoded");
  REQUIRE(urlencoded);
  CHECK(urlencoded->status == 415);

  // Tags that start as a JSON array but are not one are refused, not split on commas.
  auto tags = upload(api, base + "/documents", a.owner_auth(), {{"good.md", "text/markdown", kFaq}}, "[\"faq\", \"hours\"");
  CHECK(tags.status == 400);
  CHECK(tags.body["error"]["details"]["field"] == "tags");
  CHECK(api.call("GET", base + "/documents", nullptr, a.owner_auth()).body["data"].empty());

  // A bad citation style is a 400 even when the answer would be streamed.
  auto ask = api.call("POST", base + "/ask", {{"question", "when do you open?"}, {"stream", true}, {"citation_style", "loud"}},
                      a.owner_auth());
  CHECK(ask.status == 400);
  CHECK(ask.body["error"]["details"]["field"] == "citation_style");
}

TEST_CASE("another workspace's knowledge bases and documents are not found, by id or by name", "[knowledge][api]") {
  TempDir dir("sb-kb-isolation");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  auto b = api.make_tenant("b");
  const std::string WA = "/api/v1/workspaces/" + a.workspace_id, WB = "/api/v1/workspaces/" + b.workspace_id;
  auto kb = api.call("POST", WA + "/knowledge-bases", {{"name", "private"}}, a.owner_auth());
  REQUIRE(kb.status == 201);
  const std::string id = kb.body["id"];
  auto up = upload(api, WA + "/knowledge-bases/" + id + "/documents", a.owner_auth(), {{"faq.md", "text/markdown", kFaq}});
  REQUIRE(up.status == 202);
  const std::string doc = up.body["data"][0]["id"];
  wait_ingested(api, WA + "/knowledge-bases/" + id, a.owner_auth());

  // B, in its own workspace, with A's ids and name: 404, never data.
  for (const std::string& ref : {id, std::string("private")}) {
    require_error(api.call("GET", WB + "/knowledge-bases/" + ref, nullptr, b.owner_auth()), 404, "not_found");
    require_error(api.call("POST", WB + "/knowledge-bases/" + ref + "/search", {{"query", "vegan"}}, b.owner_auth()), 404,
                  "not_found");
    require_error(api.call("POST", WB + "/knowledge-bases/" + ref + "/ask", {{"question", "vegan?"}}, b.owner_auth()), 404,
                  "not_found");
    require_error(api.call("GET", WB + "/knowledge-bases/" + ref + "/documents/" + doc, nullptr, b.owner_auth()), 404,
                  "not_found");
    const std::string theirs = WB + "/knowledge-bases/" + ref;
    require_error(api.call("GET", theirs + "/status", nullptr, b.owner_auth()), 404, "not_found");
    require_error(api.call("GET", theirs + "/documents", nullptr, b.owner_auth()), 404, "not_found");
    require_error(api.call("PATCH", theirs, {{"description", "mine now"}}, b.owner_auth()), 404, "not_found");
    require_error(api.call("GET", theirs + "/documents/" + doc + "/chunks", nullptr, b.owner_auth()), 404, "not_found");
    require_error(api.call("PATCH", theirs + "/documents/" + doc, {{"tags", {"x"}}}, b.owner_auth()), 404, "not_found");
    require_error(api.call("POST", theirs + "/documents/" + doc + "/reingest", json::object(), b.owner_auth()), 404,
                  "not_found");
    require_error(api.call("DELETE", theirs + "/documents/" + doc, nullptr, b.owner_auth()), 404, "not_found");
    require_error(api.call("POST", theirs + "/classify", {{"text", "hi"}, {"labels", {"a", "b"}}}, b.owner_auth()), 404,
                  "not_found");
    CHECK(upload(api, theirs + "/documents", b.owner_auth(), {{"x.md", "text/markdown", kFaq}}).status == 404);
    require_error(api.call("DELETE", WB + "/knowledge-bases/" + ref, nullptr, b.owner_auth()), 404, "not_found");
  }
  // B's own base of the same name holds nothing of A's.
  auto own = api.call("POST", WB + "/knowledge-bases", {{"name", "private"}}, b.owner_auth());
  REQUIRE(own.status == 201);
  auto found = api.call("POST", WB + "/knowledge-bases/private/search", {{"query", "croissants vegan"}}, b.owner_auth());
  REQUIRE(found.status == 200);
  CHECK(found.body["results"].empty());
  require_error(api.call("GET", WB + "/knowledge-bases/private/documents/" + doc, nullptr, b.owner_auth()), 404,
                "not_found");
  // A's base is untouched.
  CHECK(api.call("GET", WA + "/knowledge-bases/" + id, nullptr, a.owner_auth()).body["documents"] == 1);
}

TEST_CASE("ai_reply answers from the knowledge base with a citation and hands off when it has no answer",
          "[knowledge][flows]") {
  TempDir dir("sb-kb-flow");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  REQUIRE(api.call("POST", W + "/knowledge-bases", {{"name", "bakery"}}, a.owner_auth()).status == 201);
  REQUIRE(upload(api, W + "/knowledge-bases/bakery/documents", a.owner_auth(), {{"bakery-faq.md", "", kFaq}}).status == 202);
  wait_ingested(api, W + "/knowledge-bases/bakery", a.owner_auth());
  make_profile(api, a, "shop");
  auto flow = api.call("POST", W + "/flows", {{"document", make_flow("bakery")}}, a.owner_auth());
  INFO(flow.raw);
  REQUIRE(flow.status == 201);

  const std::string phone = "+15550001111";
  say(api, "shop", phone, "Is the rye sourdough vegan?");
  std::vector<std::string> sent;
  REQUIRE(eventually([&] { return !(sent = sent_to(api, "shop", phone)).empty(); }, std::chrono::seconds(20)));
  CHECK(sent[0].find("rye sourdough") != std::string::npos);
  CHECK(sent[0].find("[1]") != std::string::npos);
  CHECK(sent[0].find("Sources:") != std::string::npos);
  CHECK(conversation_mode(api, a) == "bot");

  say(api, "shop", phone, "Can you service the gearbox of my car?");
  REQUIRE(eventually([&] { return (sent = sent_to(api, "shop", phone)).size() >= 2; }, std::chrono::seconds(20)));
  CHECK(sent[1] == "A colleague will answer you shortly.");
  REQUIRE(eventually([&] { return conversation_mode(api, a) == "human"; }));
  auto executions = api.call("GET", W + "/executions", nullptr, a.owner_auth());
  REQUIRE(executions.body["data"].size() == 2);
  for (const auto& e : executions.body["data"]) CHECK(e["status"] == "completed");
}

TEST_CASE("a profile's auto_reply answers from the knowledge base without a flow", "[knowledge][flows]") {
  TempDir dir("sb-kb-auto");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  REQUIRE(api.call("POST", W + "/knowledge-bases", {{"name", "bakery"}}, a.owner_auth()).status == 201);
  REQUIRE(upload(api, W + "/knowledge-bases/bakery/documents", a.owner_auth(), {{"bakery-faq.md", "", kFaq}}).status == 202);
  wait_ingested(api, W + "/knowledge-bases/bakery", a.owner_auth());

  // A base the workspace does not have is refused, naming the field.
  auto bad = api.call("POST", W + "/profiles",
                      {{"name", "x"}, {"channel_plugin", "channel-sandbox"},
                       {"auto_reply", {{"enabled", true}, {"knowledge_base", "nope"}}}},
                      a.owner_auth());
  require_error(bad, 400, "invalid_argument");
  CHECK(bad.body["error"]["details"]["field"] == "auto_reply.knowledge_base");

  make_profile(api, a, "shop");
  auto patched = api.call("PATCH", W + "/profiles/shop",
                          {{"auto_reply", {{"enabled", true}, {"knowledge_base", "bakery"}, {"no_answer_text", "Let me find a colleague."}}}},
                          a.owner_auth());
  INFO(patched.raw);
  REQUIRE(patched.status == 200);
  CHECK(patched.body["auto_reply"]["enabled"] == true);

  const std::string phone = "+15550002222";
  say(api, "shop", phone, "What time do you open on Sunday?");
  std::vector<std::string> sent;
  REQUIRE(eventually([&] { return !(sent = sent_to(api, "shop", phone)).empty(); }, std::chrono::seconds(20)));
  CHECK(sent[0].find("On Sunday we open only for breakfast") != std::string::npos);
  auto executions = api.call("GET", W + "/executions", nullptr, a.owner_auth());
  REQUIRE_FALSE(executions.body["data"].empty());
  CHECK(executions.body["data"][0]["flow_id"] == "auto-reply");
  CHECK(executions.body["data"][0]["trigger"]["type"] == "auto_reply");

  say(api, "shop", phone, "Do you sell bicycles?");
  REQUIRE(eventually([&] { return (sent = sent_to(api, "shop", phone)).size() >= 2; }, std::chrono::seconds(20)));
  CHECK(sent[1] == "Let me find a colleague.");
  REQUIRE(eventually([&] { return conversation_mode(api, a) == "human"; }));

  // Turned off, the profile answers nothing (no flow).
  REQUIRE(api.call("PATCH", W + "/profiles/shop", {{"auto_reply", {{"enabled", false}}}}, a.owner_auth()).status == 200);
}

TEST_CASE("a provider that times out or answers garbage leaves the conversation with the fallback and an error on "
          "the execution",
          "[knowledge][flows]") {
  FakeOpenAi fake("sk-test-key");
  TempDir dir("sb-kb-provider");
  ApiHost api(dir.path());
  auto a = api.make_tenant("a");
  const std::string W = "/api/v1/workspaces/" + a.workspace_id;
  auto kb = api.call("POST", W + "/knowledge-bases",
                     {{"name", "remote"},
                      {"provider", "ai-openai"},
                      {"provider_config", {{"base_url", fake.base_url()}, {"api_key", "sk-test-key"}, {"max_retries", 0}}},
                      {"settings", {{"timeout_ms", 1500}, {"retrieval", {{"min_score", 0.0}}}}}},
                     a.owner_auth());
  INFO(kb.raw);
  REQUIRE(kb.status == 201);
  CHECK(kb.body["provider_config"]["api_key"] == "***");  // never shown
  REQUIRE(upload(api, W + "/knowledge-bases/remote/documents", a.owner_auth(), {{"bakery-faq.md", "", kFaq}}).status == 202);
  const json status = wait_ingested(api, W + "/knowledge-bases/remote", a.owner_auth());
  REQUIRE(status["documents"]["ready"] == 1);
  make_profile(api, a, "shop");
  REQUIRE(api.call("POST", W + "/flows",
                   {{"document", make_flow("remote", {{"fallback_text", "Sorry, I cannot answer right now."}})}},
                   a.owner_auth())
              .status == 201);

  // Answers come from the provider's chat, cited.
  fake.set_reply("We open at 8 on Sundays [1].");
  const std::string phone = "+15550003333";
  say(api, "shop", phone, "When do you open on Sunday?");
  std::vector<std::string> sent;
  REQUIRE(eventually([&] { return !(sent = sent_to(api, "shop", phone)).empty(); }, std::chrono::seconds(20)));
  CHECK(sent[0].find("We open at 8 on Sundays [1]") != std::string::npos);
  const auto chats = fake.requests_to("/v1/chat/completions");
  REQUIRE_FALSE(chats.empty());
  CHECK(chats.back().json["messages"][0]["content"].get<std::string>().find("[1]") != std::string::npos);

  // Too slow: the fallback, a human, and the execution failed with the reason.
  FakeOpenAi::Fault slow{FakeOpenAi::Failure::slow};
  slow.delay = std::chrono::milliseconds(4000);
  fake.fail_next(slow, 2);  // the question's embedding is the first call
  say(api, "shop", phone, "Do you deliver cakes?");
  REQUIRE(eventually([&] { return (sent = sent_to(api, "shop", phone)).size() >= 2; }, std::chrono::seconds(30)));
  CHECK(sent[1] == "Sorry, I cannot answer right now.");
  REQUIRE(eventually([&] { return conversation_mode(api, a) == "human"; }));
  auto executions = api.call("GET", W + "/executions?status=failed", nullptr, a.owner_auth());
  INFO(executions.raw);
  REQUIRE(executions.body["data"].size() == 1);
  const std::string error = executions.body["data"][0]["error"];
  CHECK(error.find("ai_reply") != std::string::npos);
  CHECK(error.find("sk-test-key") == std::string::npos);

  // Garbage from the provider on the test question: a 502 naming the provider.
  fake.clear_failures();
  fake.fail_next(FakeOpenAi::Failure::garbage, 4);
  auto ask = api.call("POST", W + "/knowledge-bases/remote/ask", {{"question", "Do you deliver cakes?"}}, a.owner_auth());
  INFO(ask.raw);
  CHECK(ask.status == 502);
  CHECK(ask.body["error"]["details"]["provider"] == "ai-openai");
}
