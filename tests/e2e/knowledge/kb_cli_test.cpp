// `switchboard kb ...` run as a real process against a real host: ingest
// uploads files (creating the base) and waits until they are ready, search
// and ask read the base (the default provider ai-local answers by quoting,
// no network), a refused file stores nothing, and a wrong key or a host
// that is not running give messages that say so. The CLI's output is not a
// terminal here, so progress comes as plain lines.
#include "support/api_host.hpp"
#include "support/run_cli.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>

using nlohmann::json;
using sb::test::ApiHost;
using sb::test::CliOutput;
using sb::test::TempDir;

namespace {

const std::string kHours = R"(# Opening hours

## Weekdays

The shop is open from 9 in the morning to 6 in the evening, Monday to Friday.

## Weekends

On Saturday we open at 10 and close at 4. The shop is closed on Sundays and public holidays.
)";

const std::string kReturns = R"(# Returns

## Refunds

You can return any unused item within 30 days of delivery for a full refund. The refund goes back to the card you paid with within five working days.

## Exchanges

Exchanges for another size are free of charge. Bring the item and the receipt to the shop, or send it back with the prepaid label.
)";

std::string quoted(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// The CLI's environment must not pick a connection for the tests: every
// option is given on the command line unless a test sets one on purpose.
class CleanKbEnvironment {
 public:
  CleanKbEnvironment() {
    for (const char* name : kNames) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      ::unsetenv(name);
    }
  }
  ~CleanKbEnvironment() {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }

 private:
  static constexpr const char* kNames[] = {"SWITCHBOARD_URL", "SWITCHBOARD_API_KEY", "ENGINE_API_KEY",
                                           "SWITCHBOARD_WORKSPACE"};
  std::vector<std::pair<std::string, std::string>> saved_;
};

// A host with the master key, two Markdown files to upload, and the CLI
// pointed at the host's demo workspace.
struct KbCliFixture {
  TempDir dir{"sb-kb-cli"};
  CleanKbEnvironment environment;
  ApiHost api{dir.path()};
  std::filesystem::path hours = dir / "hours.md";
  std::filesystem::path returns = dir / "returns.md";

  KbCliFixture() {
    write_file(hours, kHours);
    write_file(returns, kReturns);
  }

  std::string connection() {
    return "--url " + api.host().base_url() + " --api-key " + quoted(ApiHost::kMasterKey) + " --workspace demo";
  }
  CliOutput kb(const std::string& args) { return sb::test::run_switchboard("kb " + args + " " + connection()); }
  CliOutput ingest_both(const std::string& base = "shop") {
    return kb("ingest --kb " + base + " " + quoted(hours.string()) + " " + quoted(returns.string()));
  }
  sb::test::ApiResult get(const std::string& path) {
    return api.call("GET", "/api/v1/workspaces/demo/knowledge-bases" + path, nullptr, api.master());
  }
};

}  // namespace

TEST_CASE("kb ingest creates the base, uploads the files and waits until each is ready with its chunk count",
          "[knowledge][cli]") {
  KbCliFixture f;
  REQUIRE(f.get("/shop").status == 404);

  const auto out = f.ingest_both();
  INFO(out.text);
  REQUIRE(out.status == 0);
  CHECK(out.text.find("Created knowledge base shop") != std::string::npos);
  CHECK(std::regex_search(out.text, std::regex(R"(\nhours\.md: ready, [1-9][0-9]* chunks?\n)")));
  CHECK(std::regex_search(out.text, std::regex(R"(\nreturns\.md: ready, [1-9][0-9]* chunks?\n)")));
  // Not a terminal: plain progress lines, the last at 100%, no bar redrawn with \r.
  CHECK(out.text.find("ingesting 100%") != std::string::npos);
  CHECK(out.text.find('\r') == std::string::npos);

  const auto base = f.get("/shop");
  INFO(base.raw);
  REQUIRE(base.status == 200);
  CHECK(base.body["documents"] == 2);
  CHECK(base.body["chunks"].get<int>() >= 2);

  // Ingesting into the existing base adds to it without creating another.
  const auto again = f.kb("ingest --kb shop " + quoted(f.hours.string()));
  INFO(again.text);
  CHECK(again.status == 0);
  CHECK(again.text.find("Created") == std::string::npos);
  CHECK(f.get("").body["data"].size() == 1);
}

TEST_CASE("kb search prints the passages closest to the question, the one from the right file first",
          "[knowledge][cli]") {
  KbCliFixture f;
  REQUIRE(f.ingest_both().status == 0);

  const auto out = f.kb("search --kb shop 'When do you open on Saturday?'");
  INFO(out.text);
  REQUIRE(out.status == 0);
  // "#1  score 0.0328  similarity 0.812  hours.md › Opening hours > Weekends", then the passage.
  const std::regex first_result(R"(#1  score [0-9.]+  similarity [0-9.]+  (\S+) › ([^\n]*)\n)");
  std::smatch first;
  REQUIRE(std::regex_search(out.text, first, first_result));
  CHECK(first[1] == "hours.md");
  CHECK(first[2].str().find("Weekends") != std::string::npos);
  CHECK(out.text.find("On Saturday we open at 10") != std::string::npos);

  const auto as_json = f.kb("search --kb shop 'When do you open on Saturday?' --k 1 --json");
  INFO(as_json.text);
  REQUIRE(as_json.status == 0);
  const auto parsed = json::parse(as_json.text);
  REQUIRE(parsed["results"].size() == 1);
  CHECK(parsed["results"][0]["document_name"] == "hours.md");
}

TEST_CASE("kb ask prints the quoted answer with its source, and No answer with exit 1 when there is none",
          "[knowledge][cli]") {
  KbCliFixture f;
  REQUIRE(f.ingest_both().status == 0);

  const auto out = f.kb("ask --kb shop 'What time do you open on Saturday?'");
  INFO(out.text);
  REQUIRE(out.status == 0);
  CHECK(out.text.find("Saturday we open at 10") != std::string::npos);
  // The default footnote style: the marker, and the source by its title and heading.
  CHECK(out.text.find("Saturday we open at 10 and close at 4. [1]") != std::string::npos);
  CHECK(out.text.find("Sources:\n[1] Opening hours > Weekends") != std::string::npos);
  // Piped output shows the final answer once, not the raw stream before it.
  const auto first = out.text.find("Saturday we open at 10");
  CHECK(out.text.find("Saturday we open at 10", first + 1) == std::string::npos);

  const auto as_json = f.kb("ask --kb shop 'What time do you open on Saturday?' --json");
  INFO(as_json.text);
  REQUIRE(as_json.status == 0);
  const auto answer = json::parse(as_json.text);
  CHECK(answer["answered"] == true);
  REQUIRE(answer["citations"].size() >= 1);
  CHECK(answer["citations"][0]["document_name"] == "hours.md");

  const auto none = f.kb("ask --kb shop 'Can you recommend a good recipe for lasagne?'");
  INFO(none.text);
  CHECK(none.status == 1);
  CHECK(none.text.find("No answer: ") != std::string::npos);
}

TEST_CASE("kb ingest of an encrypted or empty file prints the host's reason, exits 1 and stores nothing",
          "[knowledge][cli]") {
  KbCliFixture f;
  const std::string encrypted = SB_SOURCE_DIR "/tests/data/knowledge/files/encrypted.pdf";
  const auto refused = f.kb("ingest --kb shop " + quoted(f.hours.string()) + " " + quoted(encrypted));
  INFO(refused.text);
  CHECK(refused.status == 1);
  CHECK(refused.text.find("encrypted.pdf") != std::string::npos);
  CHECK(refused.text.find("the PDF is encrypted") != std::string::npos);
  // Not even the good file, nor the base the command created for them.
  CHECK(f.get("/shop").status == 404);

  REQUIRE(f.ingest_both().status == 0);
  write_file(f.dir / "empty.md", "");
  const auto empty = f.kb("ingest --kb shop " + quoted((f.dir / "empty.md").string()));
  INFO(empty.text);
  CHECK(empty.status == 1);
  CHECK(empty.text.find("empty.md") != std::string::npos);
  CHECK(empty.text.find("empty") != std::string::npos);
  // The existing base keeps its two documents.
  CHECK(f.get("/shop").body["documents"] == 2);
}

TEST_CASE("kb list and kb status show the bases and each document's state, with the connection from the environment",
          "[knowledge][cli]") {
  KbCliFixture f;
  REQUIRE(f.ingest_both().status == 0);
  f.environment.set("SWITCHBOARD_URL", f.api.host().base_url());
  f.environment.set("ENGINE_API_KEY", ApiHost::kMasterKey);  // the fallback when SWITCHBOARD_API_KEY is unset

  const auto list = sb::test::run_switchboard("kb list");
  INFO(list.text);
  REQUIRE(list.status == 0);
  CHECK(std::regex_search(list.text, std::regex(R"(\nshop +2 +[1-9][0-9]* +ai-local +kb_)")));

  const auto status = sb::test::run_switchboard("kb status --kb shop");
  INFO(status.text);
  REQUIRE(status.status == 0);
  CHECK(status.text.find("documents: 2 (2 ready, 0 processing, 0 queued, 0 failed)") != std::string::npos);
  CHECK(std::regex_search(status.text, std::regex(R"(hours\.md: ready, [1-9][0-9]* chunks?)")));
}

TEST_CASE("kb with a wrong API key says the key was refused, naming where the key comes from, and exits 1",
          "[knowledge][cli]") {
  TempDir dir("sb-kb-cli");
  CleanKbEnvironment environment;
  ApiHost api(dir.path());
  const auto out = sb::test::run_switchboard("kb list --url " + api.host().base_url() + " --api-key wrong-key");
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK(out.text.find("refused the API key") != std::string::npos);
  CHECK(out.text.find("SWITCHBOARD_API_KEY") != std::string::npos);

  const auto no_key = sb::test::run_switchboard("kb list --url " + api.host().base_url());
  INFO(no_key.text);
  CHECK(no_key.status == 1);
  CHECK(no_key.text.find("needs an API key") != std::string::npos);

  const auto workspace = sb::test::run_switchboard("kb list --url " + api.host().base_url() + " --api-key " +
                                                   quoted(ApiHost::kMasterKey) + " --workspace nowhere");
  INFO(workspace.text);
  CHECK(workspace.status == 1);
  CHECK(workspace.text.find("workspace nowhere not found") != std::string::npos);
}

TEST_CASE("kb against a host that is not running says it cannot reach it and asks whether serve is running",
          "[knowledge][cli]") {
  CleanKbEnvironment environment;
  const std::string url = "http://127.0.0.1:" + std::to_string(sb::test::free_port());
  const auto out = sb::test::run_switchboard("kb search --kb shop question --url " + url + " --api-key k");
  INFO(out.text);
  CHECK(out.status == 1);
  CHECK(out.text.find("cannot reach the Switchboard host at " + url) != std::string::npos);
  CHECK(out.text.find("switchboard serve") != std::string::npos);
}

TEST_CASE("kb usage errors exit 2 with what is missing", "[knowledge][cli]") {
  CleanKbEnvironment environment;
  const auto no_kb = sb::test::run_switchboard("kb search question");
  CHECK(no_kb.status == 2);
  CHECK(no_kb.text.find("--kb NAME is required") != std::string::npos);
  const auto no_file = sb::test::run_switchboard("kb ingest --kb shop");
  CHECK(no_file.status == 2);
  CHECK(no_file.text.find("no file given") != std::string::npos);
  const auto unknown = sb::test::run_switchboard("kb frobnicate");
  CHECK(unknown.status == 2);
  CHECK(unknown.text.find("unknown command `kb frobnicate`") != std::string::npos);
}
