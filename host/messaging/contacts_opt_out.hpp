#pragma once
// Opt-out by keyword: an inbound text that is exactly one of the opt-out
// keywords (STOP, UNSUBSCRIBE, STOPP, BAJA, ...) opts its sender out of
// campaigns; one of the opt-in keywords (START, SUBSCRIBE, ...) opts them
// back in. "Exactly": trimmed, case-insensitive (ASCII and Latin-1
// letters), spaces inside collapsed and a trailing "." or "!" ignored, so
// "stop", " Stop! " match and "please stop the reminders" does not.
//
// The keyword lists are process-wide and may be replaced at start-up
// (set_opt_keywords); readers take a snapshot, safe from any thread.
#include "store/contact_repository.hpp"
#include "store/database.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sb::messaging {

struct OptKeywords {
  std::vector<std::string> opt_out;
  std::vector<std::string> opt_in;
};

// STOP STOPALL UNSUBSCRIBE CANCEL END QUIT OPTOUT "OPT OUT" OPT-OUT STOPP
// BAJA "DAR DE BAJA" PARAR SAIR ARRET ARRÊT ABMELDEN; START UNSTOP
// SUBSCRIBE ALTA ANMELDEN.
OptKeywords default_opt_keywords();
// Replaces the lists (an empty list: that direction is off). Throws
// sb::Error(invalid_argument) for an empty keyword or one in both lists.
void set_opt_keywords(OptKeywords keywords);
std::shared_ptr<const OptKeywords> opt_keywords();

enum class OptKeyword { none, opt_out, opt_in };
// Which list `text` is a keyword of, if any.
OptKeyword match_opt_keyword(std::string_view text);

// For the inbound pipeline's write job: when `text` is a keyword that
// changes `contact`'s state, writes it (reason "keyword:<WORD>") and returns
// the contact as stored; nullopt otherwise.
std::optional<store::Contact> apply_opt_keyword(store::Connection& c, const store::Contact& contact,
                                                const std::optional<std::string>& text, int64_t now);

}  // namespace sb::messaging
