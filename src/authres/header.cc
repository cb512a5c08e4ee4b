// Writing Authentication-Results (RFC 8601 2.2) and reading the authserv-id
// of existing ones (2.5). See authres/header.h for the contract.
#include "authres/header.h"

#include <cstring>

#include "core/ascii.h"
#include "mime/header.h"
#include "mime/text.h"

namespace tern::authres {
namespace {

// Lines fold before passing this many octets. RFC 5322 2.1.1 asks for 78
// (SHOULD); a little more keeps a usual DKIM result (d, s, a, b) on one line,
// which reads better than splitting every one of them.
constexpr size_t kFoldAt = 100;
constexpr size_t kMaxWord = 400;  // octets of one word before escaping (so <= 800 after)
const char kPropFold[] = "\t  ";  // a folded property line: deeper than a result line
const char kResultFold[] = "\t";  // each result starts a line with this

// RFC 2045 5.1 tspecials.
bool is_tspecial(char c) { return c != '\0' && std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr; }

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5321 Keyword (Ldh-str): letters, digits and hyphens, not ending in one.
bool is_keyword(std::string_view s) {
  if (s.empty() || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// ptype "." property (2.2), both Keywords ("mailfrom" and "rcptto", the
// special SMTP verbs, are Keywords too).
bool is_ptype_property(std::string_view s) {
  const size_t dot = s.find('.');
  return dot != std::string_view::npos && is_keyword(s.substr(0, dot)) &&
         is_keyword(s.substr(dot + 1));
}

// RFC 5322 dot-atom-text (an empty local part is allowed by the caller).
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
    } else if (!mime::is_atext(s[i])) {
      return false;
    }
  }
  return true;
}

// RFC 6376 domain-name: sub-domain 1*("." sub-domain), each Let-dig
// [Ldh-str] (RFC 5321 4.1.2).
bool is_domain_name(std::string_view s) {
  size_t labels = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view label =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_keyword(label)) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= 2;
}

// The "[ [ local-part ] "@" ] domain-name" form of pvalue (2.2), which may
// go unquoted although "@" is a tspecial.
bool is_address_pvalue(std::string_view s) {
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos) return false;
  const std::string_view local = s.substr(0, at);
  return (local.empty() || is_dot_atom(local)) && is_domain_name(s.substr(at + 1));
}

// Control characters (CR and LF among them) become spaces and non-ASCII
// octets '?': the field we write is US-ASCII and one field, whatever the
// message or the envelope held.
std::string sanitized(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      c = '?';
    } else if (u < 0x20 || u == 0x7f) {
      c = ' ';
    }
  }
  return out;
}

// Splits `s` at runs of spaces: the words, each with the run before it
// (empty for the first). Words longer than kMaxWord are cut there.
struct Piece {
  std::string space;
  std::string word;
};
std::vector<Piece> pieces(std::string_view s) {
  std::vector<Piece> out;
  size_t i = 0;
  while (i < s.size()) {
    Piece p;
    while (i < s.size() && s[i] == ' ') p.space += s[i++];
    while (i < s.size() && s[i] != ' ') p.word += s[i++];
    if (p.word.size() > kMaxWord) p.word.resize(kMaxWord);
    if (p.word.empty() && !out.empty()) {
      out.back().word += p.space;  // trailing spaces stay inside the last word
    } else {
      out.push_back(std::move(p));
    }
  }
  if (out.empty()) out.push_back({});
  return out;
}

std::string escaped(std::string_view s, const char* specials) {
  std::string out;
  for (char c : s) {
    if (std::strchr(specials, c) != nullptr) out += '\\';
    out += c;
  }
  return out;
}

// Builds the field line by line (RFC 5322 2.2.3 folding: a CRLF goes in
// front of whitespace that is already there, so unfolding gives back the
// unfolded text).
class Writer {
 public:
  Writer() : out_("Authentication-Results:") {}

  // Appends `space` then `word`. When the line would pass kFoldAt octets
  // and already has a word, or with `force`, the line ends first and
  // `fold_space` starts the next one instead of `space`. A word glued to the
  // one before (empty `space`) is never folded away from it.
  void add(std::string_view word, std::string_view space, std::string_view fold_space,
           bool force = false) {
    const size_t line = out_.size() - line_start_;
    const bool fold =
        force || (has_word_ && !space.empty() && line + space.size() + word.size() > kFoldAt);
    if (fold) {
      out_ += "\r\n";
      line_start_ = out_.size();
      out_ += fold_space;
    } else {
      out_ += space;
    }
    out_ += word;
    has_word_ = true;
  }

  // A value (2.2 "value", or pvalue when `pvalue`): as it is when it is a
  // token (or an address-form pvalue), else a quoted-string whose words
  // may fold at the spaces they had. `prefix` ("reason=", "header.d=") is
  // glued to the first word.
  void add_value(std::string_view prefix, std::string_view raw, bool pvalue, std::string_view space,
                 std::string_view fold_space) {
    const std::string value = sanitized(raw);
    std::vector<Piece> words = pieces(value);
    if (words.size() == 1 && words[0].space.empty() &&
        (is_token(words[0].word) || (pvalue && is_address_pvalue(words[0].word)))) {
      add(std::string(prefix) + words[0].word, space, fold_space);
      return;
    }
    for (size_t i = 0; i < words.size(); ++i) {
      std::string word = escaped(words[i].word, "\"\\");
      if (i == 0) word = std::string(prefix) + "\"" + words[i].space + word;
      if (i + 1 == words.size()) word += "\"";
      if (i == 0) {
        add(word, space, fold_space);
      } else {
        // Inside the quotes the whitespace is content: a fold keeps it.
        add(word, words[i].space, words[i].space);
      }
    }
  }

  // A comment: whitespace runs collapse, "(" ")" "\" are escaped, and it
  // may fold between its words.
  void add_comment(std::string_view raw, std::string_view space, std::string_view fold_space) {
    const std::string text = mime::collapse_whitespace(sanitized(raw));
    if (text.empty()) return;
    std::vector<Piece> words = pieces(text);
    for (size_t i = 0; i < words.size(); ++i) {
      std::string word = escaped(words[i].word, "()\\");
      if (i == 0) word = "(" + word;
      if (i + 1 == words.size()) word += ")";
      if (i == 0) {
        add(word, space, fold_space);
      } else {
        add(word, " ", fold_space);
      }
    }
  }

  std::string finish() { return std::move(out_) + "\r\n"; }

 private:
  std::string out_;
  size_t line_start_ = 0;
  bool has_word_ = false;
};

void add_result(Writer& w, const MethodResult& r) {
  w.add(";", "", "");
  w.add(r.method + "=" + r.result, "", kResultFold, /*force=*/true);
  w.add_comment(r.comment, " ", kPropFold);
  if (!r.reason.empty()) {
    const std::string reason = mime::collapse_whitespace(sanitized(r.reason));
    w.add_value("reason=", reason, /*pvalue=*/false, " ", kPropFold);
  }
  for (const Property& p : r.props) {
    if (!is_ptype_property(p.ptype_property)) continue;
    w.add_value(p.ptype_property + "=", p.value, /*pvalue=*/true, " ", kPropFold);
  }
}

// Skips CFWS from `pos` (comments nest and honour quoted-pairs; CR and LF
// of folding count as whitespace). Returns the position after it, or npos
// when a comment does not close.
size_t skip_cfws(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++pos;
    } else if (c == '(') {
      int depth = 0;
      for (; pos < s.size(); ++pos) {
        if (s[pos] == '\\') {
          ++pos;
        } else if (s[pos] == '(') {
          ++depth;
        } else if (s[pos] == ')' && --depth == 0) {
          break;
        }
      }
      if (pos >= s.size()) return std::string_view::npos;
      ++pos;
    } else {
      break;
    }
  }
  return pos;
}

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || is_tspecial(c)) return false;
  }
  return true;
}

std::string build_header(std::string_view authserv_id, const std::vector<MethodResult>& results) {
  Writer w;
  w.add_value("", authserv_id, /*pvalue=*/false, " ", " ");
  bool any = false;
  for (const MethodResult& r : results) {
    if (!is_keyword(r.method) || !is_keyword(r.result)) continue;
    add_result(w, r);
    any = true;
  }
  if (!any) {
    w.add(";", "", "");
    w.add("none", " ", kResultFold);
  }
  return w.finish();
}

MethodResult spf_result(std::string_view result, std::string_view mailfrom_domain_or_address,
                        std::string_view helo, bool helo_identity) {
  MethodResult r;
  r.method = "spf";
  r.result = std::string(result);
  if (helo_identity) {
    if (!helo.empty()) r.props.push_back({"smtp.helo", std::string(helo)});
  } else if (!mailfrom_domain_or_address.empty()) {
    r.props.push_back({"smtp.mailfrom", std::string(mailfrom_domain_or_address)});
  } else if (!helo.empty()) {
    // RFC 7208 2.4: the null reverse-path is checked as postmaster@<helo>.
    r.props.push_back({"smtp.mailfrom", "postmaster@" + std::string(helo)});
  }
  return r;
}

std::vector<MethodResult> dkim_results(const std::vector<dkim::SignatureResult>& sigs) {
  std::vector<MethodResult> out;
  if (sigs.empty()) {
    out.push_back({.method = "dkim", .result = "none"});
    return out;
  }
  for (size_t i = 0; i < sigs.size(); ++i) {
    const dkim::SignatureResult& s = sigs[i];
    MethodResult r;
    r.method = "dkim";
    r.result = dkim::result_name(s.result);
    if (s.result != dkim::Result::kPass) r.reason = s.reason;
    if (s.testing) r.comment = "test mode";
    if (!s.domain.empty()) r.props.push_back({"header.d", s.domain});
    if (!s.identity.empty() && ascii_lower(s.identity) != "@" + ascii_lower(s.domain)) {
      r.props.push_back({"header.i", s.identity});
    }
    if (!s.selector.empty()) r.props.push_back({"header.s", s.selector});
    if (!s.algorithm.empty()) r.props.push_back({"header.a", s.algorithm});
    if (!s.b.empty()) {
      // RFC 6008 2: at least 8 characters, more while another signature of
      // this message starts the same.
      size_t n = 8;
      const auto shared = [&](size_t len) {
        for (size_t j = 0; j < sigs.size(); ++j) {
          if (j != i && sigs[j].b.size() >= len && s.b.size() >= len &&
              sigs[j].b.compare(0, len, s.b, 0, len) == 0) {
            return true;
          }
        }
        return false;
      };
      while (n < s.b.size() && shared(n)) ++n;
      r.props.push_back({"header.b", s.b.substr(0, n)});
    }
    out.push_back(std::move(r));
  }
  return out;
}

MethodResult dmarc_result(std::string_view result, std::string_view header_from,
                          std::string_view policy, std::string_view disposition) {
  MethodResult r;
  r.method = "dmarc";
  r.result = std::string(result);
  if (!policy.empty()) r.comment = "p=" + std::string(policy);
  if (!disposition.empty()) {
    r.comment += (r.comment.empty() ? "" : " ") + std::string("dis=") + std::string(disposition);
  }
  if (!header_from.empty()) r.props.push_back({"header.from", std::string(header_from)});
  return r;
}

std::optional<std::string> authserv_id_of(std::string_view v) {
  size_t pos = skip_cfws(v, 0);
  if (pos == std::string_view::npos || pos >= v.size()) return std::nullopt;
  std::string id;
  if (v[pos] == '"') {
    // quoted-string: quoted-pairs unescaped, folding CRLFs dropped.
    bool closed = false;
    for (++pos; pos < v.size(); ++pos) {
      const char c = v[pos];
      if (c == '\\' && pos + 1 < v.size()) {
        id += v[++pos];
      } else if (c == '"') {
        closed = true;
        ++pos;
        break;
      } else if (c != '\r' && c != '\n') {
        id += c;
      }
    }
    if (!closed) return std::nullopt;
  } else {
    while (pos < v.size() && is_token(v.substr(pos, 1))) id += v[pos++];
  }
  if (id.empty()) return std::nullopt;
  if (pos < v.size()) {
    const char c = v[pos];
    if (c != ';' && c != '(' && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return std::nullopt;
    }
  }
  return id;
}

}  // namespace tern::authres
