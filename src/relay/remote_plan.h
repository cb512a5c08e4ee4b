// The outbound relay's decisions as pure functions, apart from the I/O of
// RemoteCourier (remote_courier.h), so that tests check them without a
// socket or a resolver:
//
//   * the loop rule of RFC 5321 5.1: MX hosts that are this server, and
//     every host of the same or a worse preference, are dropped;
//   * a route becomes the list of connection attempts ("hops"): each host
//     in route order, each of its addresses in turn, on one port;
//   * a queued envelope becomes the OutboundMessage the client session
//     sends (SIZE, BODY, SMTPUTF8, RET, ENVID, NOTIFY, ORCPT);
//   * what a ClientSession's MessageResult means for each recipient:
//     settled for this attempt (delivered, 4xx or 5xx of its own, a 5xx of
//     the whole transaction) or not settled (trouble with this host:
//     connection, greeting, EHLO, TLS, AUTH, or a transient failure of the
//     whole transaction), in which case the next host is tried.
//
// No I/O. Thread-safe.
#pragma once

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/client_session.h"
#include "core/envelope.h"
#include "dns/mx_route.h"
#include "relay/courier.h"

namespace tern {

// Who "we" are, for the loop rule.
struct SelfIdentity {
  std::string hostname;                      // config.hostname, any case
  std::vector<asio::ip::address> addresses;  // addresses we listen on at the relay port
  // A wildcard listener on the relay port: every loopback (and the
  // unspecified) address reaches us too.
  bool any_loopback = false;
};

// True if `host` is this server: its name is our host name (case-insensitive),
// or one of its addresses is ours.
bool is_self(const RouteHost& host, const SelfIdentity& self);

// RFC 5321 5.1: "If the domain name is ... one of the MX hosts, the
// client MUST discard that record and any records with preference values
// higher than (or equal to) it." A kOk route keeps the hosts better than
// the best one that is us; with none left it becomes kFail with
// "554 5.4.6 mail for DOMAIN loops back to myself" (Postfix's words).
// `looped` (may be null) is set to the first host found to be us.
// Other statuses pass through unchanged.
Route drop_self(Route route, const SelfIdentity& self, std::string* looped = nullptr);

// One connection attempt: a host of the route at one of its addresses.
struct Hop {
  std::string host;      // the RouteHost's name: the Remote-MTA, and what logs show
  std::string tls_name;  // what the certificate must match, and the SNI: the host name,
                         // or the bare IP of an address literal
  asio::ip::tcp::endpoint endpoint;

  friend bool operator==(const Hop&, const Hop&) = default;
};

// Every host of a kOk route in order, each address in turn, at `port`.
std::vector<Hop> route_hops(const Route& route, uint16_t port);

// For logs: "mx1.example.test[192.0.2.1]:25", "[192.0.2.1]:25" for a literal.
std::string hop_text(const Hop& hop);

// What reading the queued content once taught (relay/file_body.h).
struct BodyFacts {
  uint64_t size = 0;       // octets on the wire (BodyScanner::size)
  bool eight_bit = false;  // some octet >= 0x80
};

// The message to send for recipients `rcpts` (indexes into env.rcpts) of
// a queued envelope: the sender, SIZE from the content as stored, BODY
// from the content itself (8BITMIME when it has 8-bit octets, whatever the
// submitter declared; BINARYMIME kept, which the session refuses),
// SMTPUTF8, RET, ENVID and REQUIRETLS; each recipient with NOTIFY and ORCPT. AUTH= is
// not passed on. The session sends DSN parameters only to a server that
// offers DSN.
OutboundMessage outbound_message(const Envelope& env, const std::vector<size_t>& rcpts,
                                 const BodyFacts& body);

// What one attempt at one host came to, per recipient of the attempt.
struct HopOutcome {
  // Settled: the recipient's result for this delivery. nullopt: the host
  // is to blame, try the next one (the result is then `retry`).
  std::vector<std::optional<RcptResult>> rcpts;
  RcptResult retry;  // kTransient: why the unsettled ones are not done
  // The server offered DSN (RFC 3461), so NOTIFY/ORCPT/RET/ENVID went on.
  bool dsn_passed = false;
  // The STARTTLS handshake failed (after the server's 220): the same host
  // may be tried again in plaintext.
  bool tls_handshake_failed = false;
  // Whether anything was delivered.
  bool delivered = false;
};

// Maps a session's result for one message sent to `remote_mta`:
//   delivered                    -> kDelivered, the reply to the data
//   its own RCPT reply (not 421) -> kTransient (4xx) / kPermanent (5xx), settled
//   5xx to MAIL, DATA or the data -> kPermanent, settled, the server's reply
//   refused here (kLocal, 5xx: SMTPUTF8 553 5.6.7, 8-bit 554 5.6.3, size
//                552 5.3.4)       -> kPermanent, settled, our reply naming the host
//   anything else (connect, greeting, EHLO, STARTTLS, AUTH, a 421, a lost
//   connection, a timeout, 4xx to MAIL/DATA/the data)
//                                -> not settled; `retry` says why (deferral_reply)
HopOutcome settle(const MessageResult& result, const std::string& remote_mta);

// A failure that leaves recipients pending, as the reply to record: a 4xx
// reply of the server unchanged; otherwise 451 (or the server's 4xx code)
// with the enhanced code of the server's reply turned transient
// ("5.7.8" -> "4.7.8"), or one from the cause (connection 4.4.1 before a
// connection, 4.4.2 after; TLS 4.7.5; protocol 4.5.0; policy 4.7.0; local
// 4.3.0), and Failure::describe() as text ("auth: 535 5.7.8 ...").
Reply deferral_reply(const Failure& f);

// The result for every recipient of a route that is not kOk: kRetry is
// transient, kFail and kNullMx permanent; the route's reply, no Remote-MTA.
RcptResult route_result(const Route& route);

}  // namespace tern
