// milter/codec: framing, every reply of protocol version 6 decoded, and
// malformed replies refused (never trusted).
#include <gtest/gtest.h>

#include "milter/codec.h"

namespace tern::milter {
namespace {

using K = Response::Kind;

Packet packet(char code, std::string data = {}) { return Packet{code, std::move(data)}; }

std::string u32(uint32_t v) {
  std::string s;
  put_u32(&s, v);
  return s;
}

std::string str(std::string_view s) { return std::string(s) + '\0'; }

Response decode_ok(const Packet& p) {
  std::string error;
  std::optional<Response> r = decode_response(p, &error);
  EXPECT_TRUE(r) << error;
  return r ? *r : Response{};
}

std::string decode_error(const Packet& p) {
  std::string error;
  EXPECT_FALSE(decode_response(p, &error));
  return error;
}

TEST(MilterCodec, FramesPackets) {
  EXPECT_EQ(encode_packet('C', "ab"), std::string("\0\0\0\3Cab", 7));
  EXPECT_EQ(encode_packet('A', ""), std::string("\0\0\0\1A", 5));
}

TEST(MilterCodec, ReaderIsIndifferentToCuts) {
  std::string wire = encode_packet('c', "") + encode_packet('h', str("X-A") + str("1"));
  for (size_t cut = 1; cut < wire.size(); ++cut) {
    PacketReader r;
    std::vector<Packet> got;
    for (size_t i = 0; i < wire.size(); i += cut) {
      r.feed(wire.substr(i, cut));
      while (auto p = r.next()) got.push_back(*p);
    }
    ASSERT_EQ(got.size(), 2u) << cut;
    EXPECT_EQ(got[0].code, 'c');
    EXPECT_EQ(got[1].data, str("X-A") + str("1"));
    EXPECT_EQ(r.buffered(), 0u);
  }
}

TEST(MilterCodec, ReaderRefusesBadLengths) {
  PacketReader zero;
  zero.feed(std::string("\0\0\0\0", 4));
  EXPECT_FALSE(zero.next());
  EXPECT_NE(zero.error(), "");
  PacketReader huge(1000);
  huge.feed(u32(1001) + "x");
  EXPECT_FALSE(huge.next());
  EXPECT_NE(huge.error(), "");
}

TEST(MilterCodec, SimpleReplies) {
  EXPECT_EQ(decode_ok(packet('a')).kind, K::kAccept);
  EXPECT_EQ(decode_ok(packet('c')).kind, K::kContinue);
  EXPECT_EQ(decode_ok(packet('r')).kind, K::kReject);
  EXPECT_EQ(decode_ok(packet('t')).kind, K::kTempfail);
  EXPECT_EQ(decode_ok(packet('d')).kind, K::kDiscard);
  EXPECT_EQ(decode_ok(packet('s')).kind, K::kSkip);
  EXPECT_EQ(decode_ok(packet('p')).kind, K::kProgress);
  EXPECT_EQ(decode_ok(packet('4')).kind, K::kShutdown);
  EXPECT_EQ(decode_ok(packet('f')).kind, K::kConnFail);
  EXPECT_TRUE(decode_ok(packet('a')).final());
  EXPECT_FALSE(decode_ok(packet('p')).final());
  EXPECT_FALSE(decode_ok(packet('p')).modification());
}

TEST(MilterCodec, ReplyCode) {
  Response r = decode_ok(packet('y', str("554 5.7.1 Gtube pattern")));
  EXPECT_EQ(r.kind, K::kReplyCode);
  EXPECT_EQ(r.reply.code, 554);
  EXPECT_EQ(r.reply.enhanced, "5.7.1");
  EXPECT_EQ(r.reply.lines, std::vector<std::string>{"Gtube pattern"});
  r = decode_ok(packet('y', str("450-4.2.0 first\r\n450-4.2.0 second\r\n450 4.2.0 third")));
  EXPECT_EQ(r.reply.code, 450);
  EXPECT_EQ(r.reply.lines, (std::vector<std::string>{"first", "second", "third"}));
  r = decode_ok(packet('y', str("550 no enhanced code\r\n")));
  EXPECT_EQ(r.reply.enhanced, "");
  EXPECT_EQ(r.reply.lines[0], "no enhanced code");
  // Control octets never reach a reply line.
  r = decode_ok(packet('y', str("550 5.7.1 a\x01z")));
  EXPECT_EQ(r.reply.lines[0], "a?z");
}

TEST(MilterCodec, ReplyCodeRefusesWhatIsNotARefusal) {
  decode_error(packet('y', str("250 2.0.0 ok")));  // a milter cannot accept with a code
  decode_error(packet('y', str("55")));
  decode_error(packet('y', str("550-5.7.1 a\r\n451 4.7.1 b")));  // codes differ
  decode_error(packet('y', str("550 a\r\n550 b")));              // "550 " then more
  decode_error(packet('y', "550 5.7.1 unterminated"));
  // An enhanced code of another class is text, not a code.
  Response r = decode_ok(packet('y', str("550 4.7.1 odd")));
  EXPECT_EQ(r.reply.enhanced, "");
}

TEST(MilterCodec, HeaderChanges) {
  Response r = decode_ok(packet('h', str("X-Spam") + str("yes")));
  EXPECT_EQ(r.kind, K::kAddHeader);
  EXPECT_EQ(r.name, "X-Spam");
  EXPECT_EQ(r.value, "yes");
  EXPECT_TRUE(r.modification());
  r = decode_ok(packet('i', u32(2) + str("X-First") + str("v")));
  EXPECT_EQ(r.kind, K::kInsHeader);
  EXPECT_EQ(r.index, 2u);
  r = decode_ok(packet('m', u32(1) + str("Subject") + str("")));
  EXPECT_EQ(r.kind, K::kChgHeader);
  EXPECT_EQ(r.value, "");                                 // delete
  decode_error(packet('m', "\0\0"));                      // no index
  decode_error(packet('h', str("Bad Name") + str("v")));  // space in the name
  decode_error(packet('h', str("X") + "unterminated"));   // no NUL
  decode_error(packet('h', str("X")));                    // no value
  decode_error(packet('h', str("X:Y") + str("v")));       // colon in the name
}

TEST(MilterCodec, EnvelopeBodyAndQuarantine) {
  Response r = decode_ok(packet('+', str("<new@example.org>")));
  EXPECT_EQ(r.kind, K::kAddRcpt);
  EXPECT_EQ(r.name, "<new@example.org>");
  r = decode_ok(packet('2', str("<new@example.org>") + str("NOTIFY=NEVER")));
  EXPECT_EQ(r.kind, K::kAddRcptPar);
  EXPECT_EQ(r.value, "NOTIFY=NEVER");
  r = decode_ok(packet('-', str("<old@example.org>")));
  EXPECT_EQ(r.kind, K::kDelRcpt);
  r = decode_ok(packet('e', str("<bounce@example.org>")));
  EXPECT_EQ(r.kind, K::kChgFrom);
  EXPECT_EQ(r.value, "");
  r = decode_ok(packet('b', std::string("new body\r\n\0x", 13)));
  EXPECT_EQ(r.kind, K::kReplBody);
  EXPECT_EQ(r.value.size(), 13u);  // raw octets, NUL included
  r = decode_ok(packet('q', str("looks odd")));
  EXPECT_EQ(r.kind, K::kQuarantine);
  EXPECT_EQ(r.value, "looks odd");
  decode_error(packet('+', str("")));
  decode_error(packet('e', str("a") + str("b") + str("c")));
  decode_error(packet('Z'));
}

TEST(MilterCodec, Optneg) {
  std::string d = u32(6) + u32(0x1ff) + u32(0x1000 | 0x10) + u32(1) +
                  str("{tls_version} {cipher}") + u32(5) + str("i");
  std::string error;
  std::optional<Negotiated> n = decode_optneg(packet('O', d), &error);
  ASSERT_TRUE(n) << error;
  EXPECT_EQ(n->version, 6u);
  EXPECT_EQ(n->actions, 0x1ffu);
  EXPECT_EQ(n->protocol, 0x1010u);
  ASSERT_TRUE(n->macros[1]);
  EXPECT_EQ(*n->macros[1], (std::vector<std::string>{"{tls_version}", "{cipher}"}));
  EXPECT_EQ(*n->macros[5], std::vector<std::string>{"i"});
  EXPECT_FALSE(n->macros[0]);
  EXPECT_FALSE(decode_optneg(packet('O', u32(6)), &error));
  EXPECT_FALSE(decode_optneg(packet('O', u32(6) + u32(1) + u32(0) + u32(9) + str("x")), &error));
  EXPECT_FALSE(decode_optneg(packet('c'), &error));
}

}  // namespace
}  // namespace tern::milter
