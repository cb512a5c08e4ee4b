// RFC 2047 encoded words, "=?UTF-8?B?...?=" and "=?UTF-8?Q?...?=": how
// non-ASCII text travels in message headers.
//
// The encoder picks B or Q for a whole run of text (whichever is shorter),
// splits the run at UTF-8 character boundaries (RFC 2047 5, last rule) into
// words of at most 75 octets (RFC 2047 2) and uses the Q alphabet that is
// safe in a phrase as well as in unstructured text (RFC 2047 5 (3)).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

inline constexpr size_t kMaxEncodedWord = 75;  // RFC 2047 2

// Encodes `text` (UTF-8, not empty) as encoded words that decode, joined,
// back to `text` (the whitespace between adjacent encoded words is not part
// of the text, RFC 2047 6.2). Words end after a space of the text where
// that costs at most half a word. The first word is at most `first_max` octets
// (capped at kMaxEncodedWord) and the others at most kMaxEncodedWord; when `first_max` cannot hold
// even one character, the first word is sized like the others. Every word holds at least one
// character.
std::vector<std::string> encode_words(std::string_view text, size_t first_max = kMaxEncodedWord);

// Decodes unstructured header text (already unfolded): every well-formed
// encoded word in a UTF-8 or US-ASCII charset (any case, with an optional
// RFC 2231 "*language" suffix) is replaced by its text, and whitespace
// between two adjacent encoded words is dropped (RFC 2047 6.2). Anything
// else, including malformed encoded words, is kept as it is. For tests and
// for reading our own headers back; not a general RFC 2047 decoder (other
// charsets are left encoded).
std::string decode_words(std::string_view text);

// Decodes one encoded word (no surrounding whitespace) under the rules of
// decode_words, or returns nullopt if `word` is not one it understands.
std::optional<std::string> decode_word(std::string_view word);

// True if `word` (no whitespace) has the shape of an encoded word, so that a
// decoder could take it for one ("=?" ... "?="): such text must be encoded
// itself when sent literally.
bool looks_encoded(std::string_view word);

}  // namespace tern::mime
