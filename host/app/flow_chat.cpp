#include "app/flow_chat.hpp"
#include "core/text.hpp"

#include "app/flow_harness.hpp"
#include "core/error.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace sb::app {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Lines from `in` on a thread of their own, so that replies a timer sends
// are printed while the prompt waits. nullopt: the input ended. The thread
// is detached (a read blocked on a terminal cannot be interrupted) and owns
// the queue together with the reader.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : state_(std::make_shared<State>()) {
    std::thread([state = state_, &in] {
      for (std::string line; std::getline(in, line);) {
        const bool quit = trim(line) == "/quit";
        state->push(std::move(line));
        if (quit) return;
      }
      state->push(std::nullopt);
    }).detach();
  }

  // Waits up to `timeout` for a line; false when none came.
  bool next(std::optional<std::string>& line, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [this] { return !state_->lines.empty(); })) return false;
    line = std::move(state_->lines.front());
    state_->lines.pop_front();
    return true;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::optional<std::string>> lines;
    void push(std::optional<std::string> line) {
      std::lock_guard<std::mutex> lock(mu);
      lines.push_back(std::move(line));
      cv.notify_one();
    }
  };
  std::shared_ptr<State> state_;
};

class Chat {
 public:
  Chat(FlowHarness& harness, std::FILE* out, bool echo) : harness_(harness), out_(out), echo_(echo) {}

  void print_replies() {
    for (const auto& m : harness_.take_outbound()) {
      line("< bot: " + describe_message(m));
      // The last interactive message's titles, for taps typed as text.
      const auto interactive = m.payload.is_object() ? m.payload.value("interactive", nlohmann::json()) : nlohmann::json();
      if (m.type != "interactive" || !interactive.is_object()) continue;
      taps_.clear();
      // The host's shape keeps buttons and sections at the top; the Cloud API's in "action".
      const auto action = interactive.value("action", interactive);
      for (const auto& b : action.value("buttons", nlohmann::json::array())) {
        const auto reply = b.value("reply", b);
        taps_[ascii_lower(reply.value("title", ""))] = reply.value("id", "");
      }
      for (const auto& section : action.value("sections", nlohmann::json::array())) {
        for (const auto& row : section.value("rows", nlohmann::json::array())) {
          taps_[ascii_lower(row.value("title", ""))] = row.value("id", "");
        }
      }
    }
    report_failure();
  }

  // False when the chat should end.
  bool handle(const std::string& raw) {
    const std::string text = trim(raw);
    if (text.empty()) return true;
    if (echo_) line("> contact: " + text);
    if (text == "/quit") return false;
    if (text == "/help") {
      line("  type a message; a button's title taps it; /vars, /advance 10m, /quit");
    } else if (text == "/vars") {
      const auto e = harness_.latest_execution();
      if (!e) {
        line("  (no execution yet)");
      } else {
        line("  " + e->flow_id + " " + e->status + (e->error ? " (" + *e->error + ")" : "") + ": " +
             e->state.value("current_vars", e->state.value("vars", nlohmann::json::object())).dump());
      }
    } else if (text.rfind("/advance", 0) == 0) {
      try {
        const int64_t ms = parse_duration_ms(trim(text.substr(8)));
        harness_.advance(ms);
        line("… advanced " + format_duration(ms));
      } catch (const Error& e) {
        line(std::string("  ") + e.what());
      }
    } else if (text[0] == '/') {
      line("  unknown command " + text + " (/vars, /advance 10m, /quit)");
    } else {
      const auto tap = taps_.find(ascii_lower(text));
      harness_.say(text, tap == taps_.end() ? "" : tap->second);
    }
    print_replies();
    return true;
  }

 private:
  void line(const std::string& text) {
    std::fprintf(out_, "%s\n", text.c_str());
    std::fflush(out_);
  }

  // A failed execution says why once, so the chat does not just fall silent.
  void report_failure() {
    const auto e = harness_.latest_execution();
    if (!e || e->status != "failed" || e->id == reported_) return;
    reported_ = e->id;
    line("! flow " + e->flow_id + " failed: " + e->error.value_or("(no reason given)"));
  }

  FlowHarness& harness_;
  std::FILE* out_;
  bool echo_;
  std::map<std::string, std::string> taps_;  // lower-cased title -> reply id
  std::string reported_;
};

}  // namespace

int run_flow_chat(const FlowChatOptions& options, std::istream& in, std::FILE* out) {
  FlowHarnessOptions harness_options;
  harness_options.plugin_paths = options.plugin_paths;
  harness_options.timezone = options.timezone;
  harness_options.contact_phone = options.contact_phone;
  harness_options.contact_name = options.contact_name;
  FlowHarness harness(harness_options);

  std::vector<std::filesystem::path> files = options.other_flows;
  files.push_back(options.flow_file);  // last: it may name the others as subflows
  flows::FlowPtr flow;
  bool problems = false;
  for (const auto& file : files) {
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
      std::fprintf(out, "%s: cannot read the file\n", file.string().c_str());
      problems = true;
      continue;
    }
    std::ostringstream text;
    text << stream.rdbuf();
    const auto result = harness.install(file.filename().string(), text.str());
    if (!result.ok()) {
      std::istringstream lines(flows::format_problems(result.problems));
      for (std::string l; std::getline(lines, l);) std::fprintf(out, "%s: %s\n", file.string().c_str(), l.c_str());
      problems = true;
    }
    flow = result.flow;
  }
  std::fflush(out);
  if (problems) return 2;

  harness.start();
  std::fprintf(out, "Chatting with flow %s as %s (%s), time zone %s. /help for commands, /quit to end.\n",
               flow->id.c_str(), options.contact_name.c_str(), options.contact_phone.c_str(), options.timezone.c_str());
  std::fflush(out);
  Chat chat(harness, out, options.echo_input);
  if (flow->trigger.value("type", "") == "manual") {
    harness.start_manual(flow->id);
    chat.print_replies();
  }
  LineReader reader(in);
  for (;;) {
    std::optional<std::string> line;
    if (!reader.next(line, std::chrono::milliseconds(100))) {
      chat.print_replies();  // what timers sent meanwhile
      continue;
    }
    if (!line || !chat.handle(*line)) break;
  }
  harness.settle();
  chat.print_replies();
  return 0;
}

}  // namespace sb::app
