#pragma once
// How ai-local cuts text into words: the one tokenizer that the embedder,
// the sentence scorer and the classifier share, so that they agree on what
// a word is.
//
// A word is a run of ASCII letters and digits and of non-ASCII UTF-8 bytes
// (so accented and non-Latin letters stay whole and a multi-byte character
// is never split), lower-cased for ASCII and for the Latin-1 capitals
// (À..Þ). Punctuation and symbols, including the common non-ASCII ones
// (no-break space, « », ¿, curly quotes, dashes, currency signs, CJK and
// full-width punctuation), separate words.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ai_local {

// Lower-cases `text` into `lowered` (same length: only ASCII and Latin-1
// capitals change) and appends to `words` a view into `lowered` for each
// word, in order. Both buffers are cleared first and reused by the caller
// across texts to avoid allocations; `words` is valid while `lowered` is
// unchanged.
void split_words(std::string_view text, std::string& lowered, std::vector<std::string_view>& words);

// True for the built-in English stop words ("the", "is", "what", ...):
// words that say little about what a text is about. `word` is lower-case.
bool is_stop_word(std::string_view word);

// A crude English stem for matching words across sentences, so that
// "recycle", "recycled" and "recycling" meet: drops a plural "s" (not from
// "ss", "us", "is" or short words), then "ing" or "ed", then a final "e",
// and turns a final "y" into "i" ("batteries" and "battery" -> "batteri").
// Words with non-ASCII letters are left alone. Not used by the embedder,
// whose character n-grams already relate such forms.
std::string light_stem(std::string_view word);

}  // namespace ai_local
