// milter::Session: one MTA-side milter conversation (protocol version 6)
// as a state machine with no I/O, like ServerSession for SMTP.
//
// Each stage call returns a Step: the bytes to write, and whether a reply
// must be awaited. While awaiting, every packet read goes to on_packet(),
// which says whether the stage is over and with what Verdict:
//
//   Step s = session.negotiate();          write s.send; await
//   on_packet(p) ... until Result::kDone   (then ready())
//   Step s = session.connect(...);         write s.send; if (s.await) read
//   on_packet(p) ... until kDone / kError
//   ... helo, mail, rcpt, data, header*, eoh, body*, eom ...
//   session.abort() between messages that did not reach EOM, quit() at the end.
//
// What it takes care of (libmilter's smfi_* docs, Postfix milter8.c):
// - negotiation (SMFIC_OPTNEG): the actions and protocol flags both sides
//   accept; stages the milter skips (SMFIP_NO*) are not sent and those it
//   does not answer (SMFIP_NR_*) are not awaited; SKIP ends the body early.
// - macros (SMFIC_MACRO) before each stage: the names the milter asked for
//   (SMFIF_SETSYMLIST), else Postfix's default lists, from the values the
//   caller knows.
// - ACCEPT before EOM: no more calls for this message (at connect/HELO:
//   for this connection); REJECT/TEMPFAIL/REPLYCODE at RCPT concern that
//   recipient only.
// - EOM: modifications (header, body, envelope, quarantine) are gathered
//   until the final reply, PROGRESS keeps the caller waiting.
// Anything the protocol does not allow (a modification outside EOM or not
// negotiated, an unknown reply) is an error: the caller applies the
// milter's default action, and the session is unusable afterwards.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "milter/codec.h"
#include "tern/reply.h"

namespace tern::milter {

// Macro values by Postfix/Sendmail name: "j", "_", "i", "{client_addr}".
using MacroMap = std::map<std::string, std::string, std::less<>>;

// The default macro names of each stage: Postfix's milter_*_macros, with
// the client's address, name and port at connect (as Sendmail).
const std::vector<std::string>& default_macros(MacroStage stage);

enum class Stage {
  kNone,
  kNegotiate,
  kConnect,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kHeader,
  kEoh,
  kBody,
  kEom
};
const char* stage_name(Stage s);  // "connect", "helo", ... for logs

// How a stage ended.
struct Verdict {
  enum class Kind {
    kContinue,  // go on (also: stage not sent, or not awaited)
    kAccept,    // accept; the milter wants nothing more of this message/connection
    kReject,    // 5xx (reply: the milter's own, or none for the default)
    kTempfail,  // 4xx (likewise)
    kDiscard,   // accept the message, deliver nothing
    kSkip,      // body: send no more chunks
  };
  Kind kind = Kind::kContinue;
  std::optional<Reply> reply;  // SMFIR_REPLYCODE's reply
};

// The SMTP reply a verdict calls for: the milter's own when it sent one,
// else Postfix's defaults "550 5.7.1 Command rejected" and "451 4.7.1
// Service unavailable - try again later"; nullopt for the others.
std::optional<Reply> verdict_reply(const Verdict& v);

struct SessionOptions {
  uint32_t actions = act::kAll;         // the actions we allow
  uint32_t protocol = proto::kOffered;  // the protocol flags we offer
};

class Session {
 public:
  struct Step {
    std::string send;    // bytes to write (may be empty: nothing to do)
    bool await = false;  // a reply must be read before the next stage
  };
  enum class Result { kMore, kDone, kError };

  explicit Session(SessionOptions options = {}) : options_(options) {}

  Step negotiate();
  // SMFIC_CONNECT. `family`: '4', '6', 'U' (unix) or 'L' (unknown); `port`
  // the client's.
  Step connect(std::string_view hostname, char family, uint16_t port, std::string_view address,
               const MacroMap& macros);
  Step helo(std::string_view name, const MacroMap& macros);
  // `args`: "<address>" then the ESMTP parameters, as the client sent them.
  Step mail(const std::vector<std::string>& args, const MacroMap& macros);
  Step rcpt(const std::vector<std::string>& args, const MacroMap& macros);
  Step data(const MacroMap& macros);
  // One header field: its name and its value as in the message (after the
  // colon, folded lines joined by CRLF).
  Step header(std::string_view name, std::string_view value, const MacroMap& macros);
  Step eoh(const MacroMap& macros);
  // A body chunk of at most kChunkSize octets (CRLF lines, unstuffed).
  Step body(std::string_view chunk);
  Step eom(const MacroMap& macros);
  // SMFIC_ABORT: the message in progress is dropped (RSET, a refusal, a new
  // MAIL); no reply. Empty when no message is in progress.
  std::string abort();
  // SMFIC_QUIT; no reply.
  std::string quit();

  // A packet read while awaiting. kDone: verdict() says how the stage ended.
  Result on_packet(const Packet& p);
  const Verdict& verdict() const { return verdict_; }
  const std::string& error() const { return error_; }

  // After a kDone EOM: the modifications in order (Response::modification())
  // and the quarantine reason, if any (also among the modifications).
  const std::vector<Response>& modifications() const { return mods_; }

  bool ready() const { return state_ == State::kReady; }
  bool failed() const { return state_ == State::kFailed; }
  // Accepted at connect/HELO: nothing more for this connection.
  bool connection_accepted() const { return conn_accepted_; }
  // Accepted (or discarded, or refused) before EOM: nothing more for this message.
  bool message_done() const { return msg_done_; }
  // Between MAIL and the end of its message.
  bool in_message() const { return in_message_; }
  // The SKIP reply ended the body: send no more chunks.
  bool body_skipped() const { return body_skipped_; }
  Stage stage() const { return stage_; }
  const Negotiated& negotiated() const { return neg_; }
  // What was agreed (our offer masked by the milter's answer).
  uint32_t actions() const { return neg_.actions; }
  uint32_t protocol() const { return neg_.protocol; }

 private:
  enum class State { kNew, kAwaiting, kReady, kFailed, kClosed };

  Step stage_step(Stage stage, char code, std::string data, uint32_t no_flag, uint32_t nr_flag,
                  std::optional<MacroStage> macro_stage, const MacroMap& macros);
  std::string macro_packet(MacroStage stage, char code, const MacroMap& macros) const;
  bool skipped() const;
  Result fail(std::string why);
  Result finish(Verdict v);

  SessionOptions options_;
  State state_ = State::kNew;
  Stage stage_ = Stage::kNone;
  Negotiated neg_;
  Verdict verdict_;
  std::string error_;
  std::vector<Response> mods_;
  bool conn_accepted_ = false;
  bool msg_done_ = false;
  bool in_message_ = false;
  bool body_skipped_ = false;
};

}  // namespace tern::milter
