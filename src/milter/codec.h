// The milter wire format (protocol.h): packets framed and read, commands
// encoded, every reply decoded into a Response. Pure functions and a
// buffer; no I/O. A decoder never trusts the milter: lengths, strings and
// reply codes are checked, and anything malformed is an error string (the
// client then applies the milter's default action).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "milter/protocol.h"
#include "tern/reply.h"

namespace tern::milter {

// One packet: its command or reply octet and its data.
struct Packet {
  char code = 0;
  std::string data;
};

// "len code data": the framing of protocol.h.
std::string encode_packet(char code, std::string_view data);
// Appends a 4-octet big-endian number / a NUL-terminated string.
void put_u32(std::string* out, uint32_t v);
void put_str(std::string* out, std::string_view s);

// Reads packets out of a byte stream, however it is cut.
class PacketReader {
 public:
  explicit PacketReader(size_t max_packet = kMaxPacket) : max_(max_packet) {}
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // The next whole packet, or nullopt (need more bytes, or error()).
  std::optional<Packet> next();
  // Set once a packet claimed a length of 0 or over the limit; sticky.
  const std::string& error() const { return error_; }
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_;
  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

// A decoded reply of a milter.
struct Response {
  enum class Kind {
    kContinue,    // SMFIR_CONTINUE
    kAccept,      // SMFIR_ACCEPT
    kReject,      // SMFIR_REJECT
    kTempfail,    // SMFIR_TEMPFAIL
    kDiscard,     // SMFIR_DISCARD
    kReplyCode,   // SMFIR_REPLYCODE: `reply`
    kSkip,        // SMFIR_SKIP
    kProgress,    // SMFIR_PROGRESS
    kShutdown,    // SMFIR_SHUTDOWN
    kConnFail,    // SMFIR_CONN_FAIL
    kQuarantine,  // SMFIR_QUARANTINE: `value` is the reason
    kAddHeader,   // SMFIR_ADDHEADER: `name`, `value`
    kInsHeader,   // SMFIR_INSHEADER: `index` (0: first), `name`, `value`
    kChgHeader,   // SMFIR_CHGHEADER: `index` (1: first of that name), `name`, `value` ("" deletes)
    kReplBody,    // SMFIR_REPLBODY: `value` is a piece of the new body
    kAddRcpt,     // SMFIR_ADDRCPT: `name` is the address
    kAddRcptPar,  // SMFIR_ADDRCPT_PAR: `name`, `value` the ESMTP arguments
    kDelRcpt,     // SMFIR_DELRCPT: `name`
    kChgFrom,     // SMFIR_CHGFROM: `name`, `value` the ESMTP arguments
  };
  Kind kind = Kind::kContinue;
  uint32_t index = 0;
  std::string name;
  std::string value;
  Reply reply;

  // The replies that end a stage (the others are modifications or progress).
  bool final() const;
  // Modifications, allowed only in answer to EOM.
  bool modification() const;
};

// Decodes one reply packet; nullopt with *error set when it is malformed
// or unknown.
std::optional<Response> decode_response(const Packet& p, std::string* error);

// SMFIR_REPLYCODE's text: "xxx[ -]x.y.z text", lines joined by CRLF, each
// with the same code; 4xx or 5xx only, an enhanced code (if any) of the
// same class. The text keeps only printable ASCII (a '?' for the rest).
std::optional<Reply> parse_reply_code(std::string_view text, std::string* error);

// The milter's answer to SMFIC_OPTNEG.
struct Negotiated {
  uint32_t version = 0;
  uint32_t actions = 0;
  uint32_t protocol = 0;
  // Macro names the milter asked for per MacroStage (SMFIF_SETSYMLIST);
  // nullopt: no list for that stage, the defaults apply.
  std::array<std::optional<std::vector<std::string>>, kMacroStages> macros;
};
std::optional<Negotiated> decode_optneg(const Packet& p, std::string* error);

}  // namespace tern::milter
