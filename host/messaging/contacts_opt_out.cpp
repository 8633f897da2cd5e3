#include "messaging/contacts_opt_out.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <mutex>

namespace sb::messaging {

namespace {

constexpr size_t kMaxKeywordText = 40;

// Upper case for ASCII and for Latin-1 letters written in UTF-8 (C3 A0..BE
// -> C3 80..9E, except the division sign C3 B7), trimmed, inner whitespace
// runs as one space, trailing "." / "!" dropped.
std::string fold(std::string_view text) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    if (c >= 'a' && c <= 'z') c = static_cast<unsigned char>(c - 'a' + 'A');
    if (c == 0xC3 && i + 1 < text.size()) {
      unsigned char next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0xA0 && next <= 0xBE && next != 0xB7) next = static_cast<unsigned char>(next - 0x20);
      out.push_back(static_cast<char>(c));
      out.push_back(static_cast<char>(next));
      ++i;
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '!' || out.back() == ' ')) out.pop_back();
  return out;
}

std::shared_ptr<const OptKeywords> folded(OptKeywords k) {
  for (auto* list : {&k.opt_out, &k.opt_in}) {
    for (auto& w : *list) {
      w = fold(w);
      if (w.empty()) throw Error(ErrorCode::invalid_argument, "an opt-out or opt-in keyword is empty");
    }
  }
  for (const auto& w : k.opt_out) {
    if (std::find(k.opt_in.begin(), k.opt_in.end(), w) != k.opt_in.end())
      throw Error(ErrorCode::invalid_argument, "the keyword " + w + " is both an opt-out and an opt-in keyword");
  }
  return std::make_shared<const OptKeywords>(std::move(k));
}

std::mutex& keywords_mu() {
  static std::mutex mu;
  return mu;
}

std::shared_ptr<const OptKeywords>& current() {
  static std::shared_ptr<const OptKeywords> keywords = folded(default_opt_keywords());
  return keywords;
}

}  // namespace

OptKeywords default_opt_keywords() {
  return {{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "OPT-OUT", "STOPP", "BAJA",
           "DAR DE BAJA", "PARAR", "SAIR", "ARRET", "ARRÊT", "ABMELDEN"},
          {"START", "UNSTOP", "SUBSCRIBE", "ALTA", "ANMELDEN"}};
}

void set_opt_keywords(OptKeywords keywords) {
  auto next = folded(std::move(keywords));
  std::lock_guard lock(keywords_mu());
  current() = std::move(next);
}

// A copy of the pointer under a short lock: readers never see a list
// being replaced.
std::shared_ptr<const OptKeywords> opt_keywords() {
  std::lock_guard lock(keywords_mu());
  return current();
}

OptKeyword match_opt_keyword(std::string_view text) {
  if (text.size() > kMaxKeywordText) return OptKeyword::none;
  const std::string word = fold(text);
  if (word.empty()) return OptKeyword::none;
  const auto keywords = opt_keywords();
  if (std::find(keywords->opt_out.begin(), keywords->opt_out.end(), word) != keywords->opt_out.end())
    return OptKeyword::opt_out;
  if (std::find(keywords->opt_in.begin(), keywords->opt_in.end(), word) != keywords->opt_in.end())
    return OptKeyword::opt_in;
  return OptKeyword::none;
}

std::optional<store::Contact> apply_opt_keyword(store::Connection& c, const store::Contact& contact,
                                                const std::optional<std::string>& text, int64_t now) {
  if (!text) return std::nullopt;
  const OptKeyword keyword = match_opt_keyword(*text);
  if (keyword == OptKeyword::none) return std::nullopt;
  const auto change =
      keyword == OptKeyword::opt_out
          ? store::contacts::opt_out(c, contact.workspace_id, contact.id, "keyword:" + fold(*text), now)
          : store::contacts::opt_in(c, contact.workspace_id, contact.id, now);
  if (!change || !change->changed) return std::nullopt;
  return change->contact;
}

}  // namespace sb::messaging
