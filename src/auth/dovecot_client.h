// DovecotAuthClient: the client side of Dovecot's authentication protocol
// (the "auth-client" socket, protocol version 1.2, as Postfix's and Exim's
// Dovecot SASL clients speak it), for one password check. No I/O: bytes in,
// bytes out, then a typed result.
//
//   DovecotAuthClient c(request);
//   write c.hello();                 // VERSION, CPID (sent at once)
//   for each read:  out = c.receive(bytes); write out;  // AUTH after DONE
//                   until c.done();   (eof(): the server went away)
//   c.result(): kOk (user: the name Dovecot knows the user by), kFail
//               (wrong credentials), kTemporary (Dovecot's "temp" flag,
//               a protocol error, or no PLAIN mechanism: try later)
//
// The conversation (lines end in LF, fields are separated by TAB; values
// are tab-escaped: \001 -> \0011, TAB -> \001t, CR -> \001r, LF -> \001n):
//
//   C: VERSION 1 2            S: VERSION 1 2
//   C: CPID <our pid>         S: MECH PLAIN plaintext ... SPID <pid>
//                             S: CUID <n>  COOKIE <hex>  DONE
//   C: AUTH <id> PLAIN service=smtp [secured] lip=<ip> rip=<ip> resp=<base64>
//   S: OK <id> user=<name> ...  |  FAIL <id> [user=..] [reason=..] [temp]
//
// Whatever the client used on the SMTP side (PLAIN or LOGIN), tern has the
// user name and password by then, so Dovecot is always asked with PLAIN
// (RFC 4616: NUL user NUL password) as the initial response.
//
// Thread-compatible: one object per check.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

struct DovecotAuthRequest {
  std::string user;
  std::string password;
  std::string service = "smtp";
  std::string local_ip;   // lip: the address the client connected to ("" : not sent)
  std::string remote_ip;  // rip: the client's address, for Dovecot's own logs and penalties
  bool secured = false;   // the SMTP session is under TLS
  uint32_t pid = 0;       // CPID: ours
  uint32_t id = 1;        // the request id on this connection
};

struct DovecotAuthResult {
  enum class Kind { kPending, kOk, kFail, kTemporary };
  Kind kind = Kind::kPending;
  std::string user;    // kOk: Dovecot's name for the user (user=), else as asked
  std::string reason;  // kFail/kTemporary: for the log
};

class DovecotAuthClient {
 public:
  // Lines longer than this end the check (kTemporary).
  static constexpr size_t kMaxLine = 16 * 1024;

  explicit DovecotAuthClient(DovecotAuthRequest request);
  ~DovecotAuthClient();

  // The handshake to send first.
  std::string hello() const;
  // Bytes from the server; returns bytes to send (the AUTH line once the
  // handshake is DONE, else ""). Ignored once done().
  std::string receive(std::string_view bytes);
  // The server closed the connection (or reading failed): kTemporary unless done().
  void eof();
  // Time ran out: kTemporary unless done().
  void timeout();

  bool done() const { return result_.kind != DovecotAuthResult::Kind::kPending; }
  const DovecotAuthResult& result() const { return result_; }

 private:
  std::string line(std::string_view text);  // one complete line; returns bytes to send
  void fail_temporary(std::string reason);

  DovecotAuthRequest req_;
  std::string buf_;
  bool version_ok_ = false;
  bool handshake_done_ = false;
  std::vector<std::string> mechs_;
  DovecotAuthResult result_;
};

// Dovecot's tab-escaping of one value, and its inverse.
std::string dovecot_escape(std::string_view s);
std::string dovecot_unescape(std::string_view s);

}  // namespace tern
