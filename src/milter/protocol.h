// The Sendmail milter protocol, version 6, as libmilter (sendmail's
// include/libmilter/mfdef.h) and Postfix (src/milter/milter8.c) speak it:
// the numbers on the wire. No I/O here; codec.h frames and decodes, and
// session.h runs the conversation.
//
// Every packet is a 4-octet big-endian length (of what follows), one
// command or reply octet, then its data. Strings are NUL-terminated.
#pragma once

#include <cstdint>

namespace tern::milter {

// The protocol version we offer in SMFIC_OPTNEG (Sendmail 8.14+, Postfix 2.6+).
inline constexpr uint32_t kVersion = 6;

// Commands, MTA -> milter (SMFIC_*).
namespace cmd {
inline constexpr char kAbort = 'A';    // end of a message that did not reach EOM
inline constexpr char kBody = 'B';     // a body chunk
inline constexpr char kConnect = 'C';  // hostname\0 family port(2) address\0
inline constexpr char kMacro = 'D';    // stage command, then name\0value\0 pairs
inline constexpr char kBodyEob = 'E';  // end of message
inline constexpr char kHelo = 'H';     // helo\0
inline constexpr char kQuitNc = 'K';   // quit, but keep the connection for a new one
inline constexpr char kHeader = 'L';   // name\0value\0
inline constexpr char kMail = 'M';     // <from>\0 esmtp-args\0...
inline constexpr char kEoh = 'N';      // end of the header
inline constexpr char kOptneg = 'O';   // version(4) actions(4) protocol(4)
inline constexpr char kQuit = 'Q';     // end of the connection
inline constexpr char kRcpt = 'R';     // <to>\0 esmtp-args\0...
inline constexpr char kData = 'T';     // DATA
inline constexpr char kUnknown = 'U';  // an unknown SMTP command
}  // namespace cmd

// Replies, milter -> MTA (SMFIR_*).
namespace rep {
inline constexpr char kAddRcpt = '+';     // rcpt\0
inline constexpr char kDelRcpt = '-';     // rcpt\0
inline constexpr char kAddRcptPar = '2';  // rcpt\0 args\0
inline constexpr char kShutdown = '4';    // the milter is going away
inline constexpr char kAccept = 'a';      // accept; no more of this message (or connection)
inline constexpr char kReplBody = 'b';    // replacement body chunk
inline constexpr char kContinue = 'c';    // go on
inline constexpr char kDiscard = 'd';     // accept the message, deliver nothing
inline constexpr char kChgFrom = 'e';     // from\0 [args\0]
inline constexpr char kConnFail = 'f';    // cause a connection failure
inline constexpr char kAddHeader = 'h';   // name\0value\0
inline constexpr char kInsHeader = 'i';   // index(4) name\0value\0
inline constexpr char kChgHeader = 'm';   // index(4) name\0value\0 (empty value: delete)
inline constexpr char kProgress = 'p';    // still working (at EOM): wait on
inline constexpr char kQuarantine = 'q';  // reason\0: keep the message on hold
inline constexpr char kReject = 'r';      // 5xx
inline constexpr char kSkip = 's';        // no more body chunks, please
inline constexpr char kTempfail = 't';    // 4xx
inline constexpr char kReplyCode = 'y';   // "xxx x.y.z text"\0
}  // namespace rep

// Actions the MTA allows (SMFIF_*), offered in OPTNEG; the milter answers
// with the ones it may use.
namespace act {
inline constexpr uint32_t kAddHdrs = 0x01;
inline constexpr uint32_t kChgBody = 0x02;
inline constexpr uint32_t kAddRcpt = 0x04;
inline constexpr uint32_t kDelRcpt = 0x08;
inline constexpr uint32_t kChgHdrs = 0x10;
inline constexpr uint32_t kQuarantine = 0x20;
inline constexpr uint32_t kChgFrom = 0x40;
inline constexpr uint32_t kAddRcptPar = 0x80;
inline constexpr uint32_t kSetSymList = 0x100;
inline constexpr uint32_t kAll = 0x1ff;
}  // namespace act

// Protocol flags (SMFIP_*): stages the milter does not want (NO*), stages
// it will not answer (NR_*), and what it understands (SKIP, HDR_LEADSPC).
namespace proto {
inline constexpr uint32_t kNoConnect = 0x1;
inline constexpr uint32_t kNoHelo = 0x2;
inline constexpr uint32_t kNoMail = 0x4;
inline constexpr uint32_t kNoRcpt = 0x8;
inline constexpr uint32_t kNoBody = 0x10;
inline constexpr uint32_t kNoHdrs = 0x20;
inline constexpr uint32_t kNoEoh = 0x40;
inline constexpr uint32_t kNrHdr = 0x80;
inline constexpr uint32_t kNoUnknown = 0x100;
inline constexpr uint32_t kNoData = 0x200;
inline constexpr uint32_t kSkip = 0x400;
inline constexpr uint32_t kRcptRej = 0x800;  // wants rejected RCPTs too (not offered)
inline constexpr uint32_t kNrConn = 0x1000;
inline constexpr uint32_t kNrHelo = 0x2000;
inline constexpr uint32_t kNrMail = 0x4000;
inline constexpr uint32_t kNrRcpt = 0x8000;
inline constexpr uint32_t kNrData = 0x10000;
inline constexpr uint32_t kNrUnkn = 0x20000;
inline constexpr uint32_t kNrEoh = 0x40000;
inline constexpr uint32_t kNrBody = 0x80000;
inline constexpr uint32_t kHdrLeadSpc = 0x100000;  // header values with their leading space
// What we offer: every skip and no-reply flag, SKIP and HDR_LEADSPC; not
// RCPT_REJ (a refused recipient never reaches the milter) nor the larger
// chunk sizes (MDS_256K, MDS_1M): body chunks stay at 65535 octets.
inline constexpr uint32_t kOffered = 0x1fffff & ~kRcptRej;
}  // namespace proto

// The stages a milter may ask macros for (SMFIM_*), in OPTNEG's reply.
enum class MacroStage : uint32_t {
  kConnect = 0,
  kHelo = 1,
  kMail = 2,
  kRcpt = 3,
  kData = 4,
  kEom = 5,
  kEoh = 6,
};
inline constexpr uint32_t kMacroStages = 7;

// Largest body chunk (MILTER_CHUNK_SIZE) and the largest packet we accept
// from a milter: a replacement body chunk or a header with some slack.
inline constexpr size_t kChunkSize = 65535;
inline constexpr size_t kMaxPacket = 1024 * 1024;

}  // namespace tern::milter
