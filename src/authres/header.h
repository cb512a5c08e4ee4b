// Authentication-Results (RFC 8601): the header field a receiving server
// prepends to say what it found out about a message (SPF, DKIM, DMARC), and
// the one piece of reading it that we need: whose field an existing one
// claims to be (its authserv-id, 2.5), so that forged copies of ours can be
// removed (RFC 8601 5; see authres/inbound.h).
//
// What build_header writes (RFC 8601 2.2), one result a line:
//
//   Authentication-Results: mail.example.org;
//   	spf=pass smtp.mailfrom=joe@example.com;
//   	dkim=pass header.d=example.com header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh;
//   	dmarc=pass (p=reject dis=none) header.from=example.com
//
// The field is always US-ASCII and every line stays under 998 octets
// (RFC 5322 2.1.1), whatever the inputs hold: see build_header.
//
// Value types and pure functions; thread-compatible; no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/verifier.h"

namespace tern::authres {

// One propspec (2.2): ptype "." property "=" pvalue.
struct Property {
  std::string ptype_property;  // "smtp.mailfrom", "header.d"
  std::string value;           // unquoted; build_header quotes it when needed
};

// One resinfo (2.2): what one method said about the message.
struct MethodResult {
  std::string method;   // "spf", "dkim", "dmarc" (a Keyword)
  std::string result;   // "pass", "fail", ... (a Keyword, 2.7)
  std::string reason;   // optional reason= (2.4), free text
  std::string comment;  // optional, without parentheses: "p=reject dis=none"
  std::vector<Property> props;
};

// The whole field, "Authentication-Results: " to the final CRLF, for
// `authserv_id` (our host name, 2.5) and `results` in order. No results
// give "authserv-id; none" (2.2, no-result).
//
// Each result goes on a line of its own (a tab first); a line that would
// pass 100 octets is folded between words (properties; words of a comment or
// reason). Values (authserv-id, reason, pvalues) are written as they are
// when they are RFC 2045 tokens, and pvalues also when they have the
// "[local-part] @ domain-name" form (2.2); anything else becomes a quoted
// string with '"' and '\' escaped. Comments escape '(', ')' and '\'.
// Whatever the inputs hold, the field stays well-formed: CR, LF and other
// control characters become spaces (then whitespace runs in reasons and
// comments collapse), every non-ASCII octet becomes '?', and a single word
// is cut at 900 octets. A result whose method or result is not a Keyword,
// or a property whose name is not "Keyword.Keyword", is left out (they come
// from our code, never from the message).
std::string build_header(std::string_view authserv_id, const std::vector<MethodResult>& results);

// SPF (RFC 8601 2.7.2; RFC 7208 9.1 results). With `helo_identity`, the
// HELO identity was checked: smtp.helo=<helo>. Otherwise smtp.mailfrom=
// the MAIL FROM address when there is one ("joe@example.com": RFC 8601
// allows the address or its domain, and the address says more), the domain
// when only that is given, and for the null reverse-path the identity SPF
// checked instead: postmaster@<helo> (RFC 7208 2.4). An empty identity
// gives no property.
MethodResult spf_result(std::string_view result, std::string_view mailfrom_domain_or_address,
                        std::string_view helo, bool helo_identity);

// DKIM (RFC 8601 2.7.1, RFC 6008), one result per signature in order; no
// signature gives one "dkim=none". Properties, each when known: header.d,
// header.i (only when the signature's i= is not just "@" + d=, which is
// what it defaults to), header.s, header.a, and header.b: the start of b=,
// 8 characters or more when two signatures of the message share them
// (RFC 6008 2: enough to tell them apart). Anything but pass carries the
// verifier's reason as reason=; a key in testing mode (t=y) is noted in a
// comment.
std::vector<MethodResult> dkim_results(const std::vector<dkim::SignatureResult>& sigs);

// DMARC (RFC 7489 11.2): "dmarc=<result> (p=<policy> dis=<disposition>)
// header.from=<domain>"; the comment holds whichever of policy and
// disposition is non-empty (the common practice; RFC 7489 leaves it open),
// header.from is left out when empty.
MethodResult dmarc_result(std::string_view result, std::string_view header_from,
                          std::string_view policy, std::string_view disposition);

// The authserv-id at the start of an Authentication-Results field value
// (everything after the colon, folded or not): [CFWS] then a token or a
// quoted-string (unquoted here), which must be followed by CFWS, ";" or the
// end. Nothing after it is checked (an optional version, the results): a
// field that names a server is that server's claim however malformed the
// rest is. Returns nullopt when there is no such value (empty, unbalanced
// comment or quotes, a tspecial where the id should be).
std::optional<std::string> authserv_id_of(std::string_view field_value);

// RFC 2045 5.1 token: 1*<printable US-ASCII except tspecials>. Exposed for
// tests.
bool is_token(std::string_view s);

}  // namespace tern::authres
