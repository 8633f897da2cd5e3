#include "text_words.hpp"

#include "feature_hash.hpp"

#include <algorithm>
#include <array>
#include <iterator>

namespace ai_local {
namespace {

// How many bytes of separator start at p[0] (0 when p[0] belongs to a word).
// `left` is the number of bytes from p to the end of the text.
std::size_t separator_length(const unsigned char* p, std::size_t left) {
  const unsigned char c = p[0];
  if (c < 0x80) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum ? 0 : 1;
  }
  // U+0080..U+00BF: C1 controls, no-break space, ¡ « » ¿ £ § ° and friends.
  if (c == 0xC2 && left >= 2) return 2;
  if (c == 0xE2 && left >= 3) {
    // U+2000..U+20FF: spaces, dashes, curly quotes, bullets, ellipsis,
    // currency signs (€ is U+20AC).
    if (p[1] >= 0x80 && p[1] <= 0x83) return 3;
  }
  // U+3000..U+303F: CJK spaces and punctuation (、。「」).
  if (c == 0xE3 && left >= 3 && p[1] == 0x80) return 3;
  if (c == 0xEF && left >= 3) {
    // U+FEFF byte-order mark; U+FF01..U+FF0F and U+FF1A..U+FF20 full-width
    // punctuation (！，．：？).
    if (p[1] == 0xBB && p[2] == 0xBF) return 3;
    if (p[1] == 0xBC && ((p[2] >= 0x81 && p[2] <= 0x8F) || (p[2] >= 0x9A && p[2] <= 0xA0))) return 3;
  }
  return 0;
}

// English words that carry little topic. Question words are here too: in a
// question they say what kind of answer is wanted, not what it is about;
// so are greetings and thanks, which chat messages wrap questions in. The
// one-letter and short pieces come from contractions split at the
// apostrophe ("don't" -> "don" "t").
constexpr std::string_view kStopWords[] = {
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
    "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "cannot", "could", "couldn", "d", "did", "didn", "do", "does", "doesn", "doing", "don", "down",
    "during", "each", "else", "few", "for", "from", "further", "get", "got", "had", "hadn", "has", "hasn",
    "have", "haven", "having", "he", "hello", "her", "here", "hers", "herself", "hey", "hi", "him", "himself",
    "his", "how", "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "let", "like", "ll",
    "m", "many", "me", "might", "more", "most", "much", "must", "my", "myself", "no", "nor", "not", "now",
    "of", "off", "ok", "okay", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
    "own", "please", "pls", "re", "s", "same", "shall", "she", "should", "so", "some", "such", "t", "than",
    "thank", "thanks", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these",
    "they", "this", "those", "through", "thx", "to", "too", "under", "until", "up", "us", "ve", "very", "was",
    "wasn", "we", "were", "weren", "what", "when", "where", "which", "while", "who", "whom", "whose", "why",
    "will", "with", "won", "would", "wouldn", "you", "your",
};

// The stop words in an open-addressing table keyed by FNV-1a: the check
// runs once per word of every embedded text, so it must cost about one
// hash and one comparison.
class StopWordTable {
 public:
  StopWordTable() {
    for (std::string_view word : kStopWords) {
      std::size_t i = fnv1a(word) & kMask;
      while (!slots_[i].empty()) i = (i + 1) & kMask;
      slots_[i] = word;
    }
  }

  bool contains(std::string_view word) const {
    for (std::size_t i = fnv1a(word) & kMask;; i = (i + 1) & kMask) {
      if (slots_[i].empty()) return false;
      if (slots_[i] == word) return true;
    }
  }

 private:
  static constexpr std::size_t kSlots = 1024;  // a power of two, over 4 times the word count
  static constexpr std::size_t kMask = kSlots - 1;
  static_assert(std::size(kStopWords) * 4 < kSlots);
  std::array<std::string_view, kSlots> slots_{};
};

const StopWordTable& stop_word_table() {
  static const StopWordTable table;
  return table;
}

}  // namespace

void split_words(std::string_view text, std::string& lowered, std::vector<std::string_view>& words) {
  lowered.assign(text.data(), text.size());
  words.clear();
  auto* bytes = reinterpret_cast<unsigned char*>(lowered.data());
  const std::size_t n = lowered.size();
  std::size_t i = 0;
  std::size_t word_start = 0;
  bool in_word = false;
  while (i < n) {
    const std::size_t sep = separator_length(bytes + i, n - i);
    if (sep == 0) {
      unsigned char& c = bytes[i];
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<unsigned char>(c + ('a' - 'A'));
      } else if (c == 0xC3 && i + 1 < n && bytes[i + 1] >= 0x80 && bytes[i + 1] <= 0x9E && bytes[i + 1] != 0x97) {
        // À (U+00C0) .. Þ (U+00DE), except × (U+00D7): the small letter is
        // 0x20 higher, in the same two bytes.
        bytes[i + 1] = static_cast<unsigned char>(bytes[i + 1] + 0x20);
      }
      if (!in_word) {
        word_start = i;
        in_word = true;
      }
      ++i;
      continue;
    }
    if (in_word) {
      words.emplace_back(lowered.data() + word_start, i - word_start);
      in_word = false;
    }
    i += sep;
  }
  if (in_word) words.emplace_back(lowered.data() + word_start, n - word_start);
}

bool is_stop_word(std::string_view word) {
  if (word.size() > 10) return false;  // the longest stop word has 10 letters
  return stop_word_table().contains(word);
}

std::string light_stem(std::string_view word) {
  auto ends_with = [&](std::string_view suffix) {
    return word.size() >= suffix.size() && word.substr(word.size() - suffix.size()) == suffix;
  };
  // Only ASCII words: the rules are English.
  if (std::any_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return std::string(word);
  }
  std::string stem(word);
  if (ends_with("ies") && word.size() > 4) {
    stem.resize(stem.size() - 2);  // batteries -> batteri, as battery below
  } else if (ends_with("s") && !ends_with("ss") && !ends_with("us") && !ends_with("is") && word.size() > 3) {
    stem.pop_back();
  }
  if (stem.size() >= 6 && stem.compare(stem.size() - 3, 3, "ing") == 0) {
    stem.resize(stem.size() - 3);
  } else if (stem.size() >= 5 && stem.compare(stem.size() - 2, 2, "ed") == 0) {
    stem.resize(stem.size() - 2);
  }
  if (stem.size() > 3 && stem.back() == 'e') stem.pop_back();
  if (stem.size() > 3 && stem.back() == 'y') stem.back() = 'i';
  return stem;
}

}  // namespace ai_local
