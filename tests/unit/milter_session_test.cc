// milter::Session, the MTA side of the milter protocol, against a scripted
// milter in memory (no sockets): negotiation, skipped and unanswered
// stages, macros, every final reply per stage, EOM modifications.
#include <gtest/gtest.h>

#include "milter/session.h"

namespace tern::milter {
namespace {

std::string u32(uint32_t v) {
  std::string s;
  put_u32(&s, v);
  return s;
}
std::string str(std::string_view s) { return std::string(s) + '\0'; }

// The packets of `wire`, in order.
std::vector<Packet> packets(const std::string& wire) {
  PacketReader r;
  r.feed(wire);
  std::vector<Packet> out;
  while (auto p = r.next()) out.push_back(*p);
  EXPECT_EQ(r.buffered(), 0u);
  return out;
}

Packet optneg(uint32_t actions, uint32_t protocol, std::string lists = {}) {
  return Packet{'O', u32(6) + u32(actions) + u32(protocol) + lists};
}

MacroMap all_macros() {
  return {{"j", "mx.example.org"},
          {"{client_addr}", "192.0.2.7"},
          {"_", "unknown [192.0.2.7]"},
          {"i", "Q1"},
          {"{mail_addr}", "a@example.org"},
          {"{rcpt_addr}", "b@example.org"},
          {"{auth_authen}", ""}};
}

// A session past negotiation with these flags.
Session negotiated(uint32_t actions = act::kAll, uint32_t protocol = 0, std::string lists = {}) {
  Session s;
  Session::Step st = s.negotiate();
  std::vector<Packet> ps = packets(st.send);
  EXPECT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].code, 'O');
  EXPECT_EQ(ps[0].data, u32(6) + u32(act::kAll) + u32(proto::kOffered));
  EXPECT_TRUE(st.await);
  EXPECT_EQ(s.on_packet(optneg(actions, protocol, std::move(lists))), Session::Result::kDone);
  EXPECT_TRUE(s.ready());
  return s;
}

TEST(MilterSession, ConnectSendsMacrosThenAddress) {
  Session s = negotiated();
  Session::Step st = s.connect("[192.0.2.7]", '4', 25000, "192.0.2.7", all_macros());
  EXPECT_TRUE(st.await);
  std::vector<Packet> ps = packets(st.send);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].code, 'D');
  // The default connect list, in its order, only the names we know.
  EXPECT_EQ(ps[0].data, "C" + str("j") + str("mx.example.org") + str("_") +
                            str("unknown [192.0.2.7]") + str("{client_addr}") + str("192.0.2.7"));
  EXPECT_EQ(ps[1].code, 'C');
  EXPECT_EQ(ps[1].data, str("[192.0.2.7]") + "4" + std::string("\x61\xa8", 2) + str("192.0.2.7"));
  EXPECT_EQ(s.on_packet({'c', ""}), Session::Result::kDone);
  EXPECT_EQ(s.verdict().kind, Verdict::Kind::kContinue);
}

TEST(MilterSession, AskedMacrosReplaceTheDefaults) {
  Session s = negotiated(act::kAll, 0, u32(2) + str("{auth_authen} i {mail_addr}"));
  std::vector<Packet> ps = packets(s.mail({"<a@example.org>", "SIZE=10"}, all_macros()).send);
  ASSERT_EQ(ps.size(), 2u);
  // {auth_authen} is empty here: not sent.
  EXPECT_EQ(ps[0].data, "M" + str("i") + str("Q1") + str("{mail_addr}") + str("a@example.org"));
  EXPECT_EQ(ps[1].data, str("<a@example.org>") + str("SIZE=10"));
}

TEST(MilterSession, SkippedAndUnansweredStages) {
  Session s = negotiated(act::kAll, proto::kNoConnect | proto::kNrHelo | proto::kNoHdrs |
                                        proto::kNrBody | proto::kNrEoh);
  EXPECT_EQ(s.connect("h", '4', 1, "192.0.2.1", {}).send, "");
  Session::Step helo = s.helo("client.example", {});
  EXPECT_FALSE(helo.await);
  EXPECT_EQ(packets(helo.send).back().code, 'H');
  EXPECT_EQ(s.header("Subject", " hi", {}).send, "");
  EXPECT_FALSE(s.eoh({}).await);
  EXPECT_FALSE(s.body("text\r\n").await);
  EXPECT_TRUE(s.eom({}).await);  // EOM is always answered
}

TEST(MilterSession, OfferIsMaskedAndOverreachRefused) {
  Session s;
  s.negotiate();
  // Flags we never offered (RCPT_REJ) are dropped.
  EXPECT_EQ(s.on_packet(optneg(act::kAddHdrs, proto::kRcptRej | proto::kNoHelo)),
            Session::Result::kDone);
  EXPECT_EQ(s.protocol(), proto::kNoHelo);
  Session greedy(SessionOptions{act::kAddHdrs, proto::kOffered});
  greedy.negotiate();
  EXPECT_EQ(greedy.on_packet(optneg(act::kChgBody, 0)), Session::Result::kError);
  Session future;
  future.negotiate();
  EXPECT_EQ(future.on_packet(Packet{'O', u32(7) + u32(0) + u32(0)}), Session::Result::kError);
  EXPECT_TRUE(future.failed());
}

TEST(MilterSession, HeaderValuesAsPostfixSendsThem) {
  Session s = negotiated();
  std::vector<Packet> ps = packets(s.header("Subject", " folded\r\n line", {}).send);
  EXPECT_EQ(ps.back().data, str("Subject") + str("folded\n line"));
  Session lead = negotiated(act::kAll, proto::kHdrLeadSpc);
  ps = packets(lead.header("Subject", " x", {}).send);
  EXPECT_EQ(ps.back().data, str("Subject") + str(" x"));
}

TEST(MilterSession, ReplyCodeAtRcptRefusesThatRecipient) {
  Session s = negotiated();
  s.mail({"<a@example.org>"}, {});
  s.on_packet({'c', ""});
  s.rcpt({"<b@example.org>"}, {});
  EXPECT_EQ(s.on_packet({'y', str("550 5.1.1 no such user")}), Session::Result::kDone);
  EXPECT_EQ(s.verdict().kind, Verdict::Kind::kReject);
  EXPECT_EQ(verdict_reply(s.verdict())->brief(), "550 5.1.1 no such user");
  EXPECT_FALSE(s.message_done());  // the message goes on with other recipients
  s.rcpt({"<c@example.org>"}, {});
  EXPECT_EQ(s.on_packet({'t', ""}), Session::Result::kDone);
  EXPECT_EQ(verdict_reply(s.verdict())->brief(), "451 4.7.1 Service unavailable - try again later");
  s.rcpt({"<d@example.org>"}, {});
  s.on_packet({'r', ""});
  EXPECT_EQ(verdict_reply(s.verdict())->brief(), "550 5.7.1 Command rejected");
}

TEST(MilterSession, AcceptEndsTheMessageOrTheConnection) {
  Session s = negotiated();
  s.mail({"<a@example.org>"}, {});
  s.on_packet({'a', ""});
  EXPECT_TRUE(s.message_done());
  EXPECT_EQ(s.rcpt({"<b@example.org>"}, {}).send, "");  // nothing more for this message
  EXPECT_EQ(packets(s.abort()).at(0).code, 'A');
  EXPECT_FALSE(s.message_done());
  EXPECT_NE(s.mail({"<a@example.org>"}, {}).send, "");  // the next message is asked again
  s.on_packet({'c', ""});

  Session c = negotiated();
  c.connect("h", '4', 1, "192.0.2.1", {});
  c.on_packet({'a', ""});
  EXPECT_TRUE(c.connection_accepted());
  EXPECT_EQ(c.helo("x", {}).send, "");
  EXPECT_EQ(c.mail({"<a@b>"}, {}).send, "");
}

TEST(MilterSession, EomGathersModificationsThroughProgress) {
  Session s = negotiated();
  s.mail({"<a@example.org>"}, {});
  s.on_packet({'c', ""});
  Session::Step st = s.eom({{"i", "Q1"}});
  std::vector<Packet> ps = packets(st.send);
  EXPECT_EQ(ps[0].data, "E" + str("i") + str("Q1"));
  EXPECT_EQ(ps[1].code, 'E');
  EXPECT_EQ(s.on_packet({'h', str("X-Scanned") + str("yes")}), Session::Result::kMore);
  EXPECT_EQ(s.on_packet({'p', ""}), Session::Result::kMore);
  EXPECT_EQ(s.on_packet({'b', "new\r\n"}), Session::Result::kMore);
  EXPECT_EQ(s.on_packet({'q', str("held")}), Session::Result::kMore);
  EXPECT_EQ(s.on_packet({'a', ""}), Session::Result::kDone);
  ASSERT_EQ(s.modifications().size(), 3u);
  EXPECT_EQ(s.modifications()[0].kind, Response::Kind::kAddHeader);
  EXPECT_EQ(s.modifications()[2].kind, Response::Kind::kQuarantine);
  EXPECT_FALSE(s.in_message());
  EXPECT_EQ(s.abort(), "");  // no ABORT after a finished message
}

TEST(MilterSession, ProtocolViolationsAreErrors) {
  Session early = negotiated();
  early.mail({"<a@b>"}, {});
  EXPECT_EQ(early.on_packet({'h', str("X") + str("y")}), Session::Result::kError);  // before EOM
  Session unasked = negotiated(act::kAddHdrs);
  unasked.eom({});
  EXPECT_EQ(unasked.on_packet({'b', "x"}), Session::Result::kError);  // CHGBODY not negotiated
  Session skip = negotiated();
  skip.body("x");
  EXPECT_EQ(skip.on_packet({'s', ""}), Session::Result::kError);  // SKIP not negotiated
  Session skip_ok = negotiated(act::kAll, proto::kSkip);
  skip_ok.body("x");
  EXPECT_EQ(skip_ok.on_packet({'s', ""}), Session::Result::kDone);
  EXPECT_TRUE(skip_ok.body_skipped());
  EXPECT_EQ(skip_ok.body("more").send, "");
  Session discard = negotiated();
  discard.helo("x", {});
  EXPECT_EQ(discard.on_packet({'d', ""}), Session::Result::kError);
  Session shut = negotiated();
  shut.helo("x", {});
  EXPECT_EQ(shut.on_packet({'4', ""}), Session::Result::kError);
  EXPECT_NE(shut.error(), "");
  EXPECT_EQ(shut.helo("y", {}).send, "");  // unusable afterwards
}

TEST(MilterSession, DiscardEndsTheMessage) {
  Session s = negotiated();
  s.mail({"<a@b>"}, {});
  s.on_packet({'c', ""});
  s.rcpt({"<c@d>"}, {});
  s.on_packet({'d', ""});
  EXPECT_EQ(s.verdict().kind, Verdict::Kind::kDiscard);
  EXPECT_TRUE(s.message_done());
  EXPECT_EQ(verdict_reply(s.verdict()), std::nullopt);
}

TEST(MilterSession, QuitAfterAbort) {
  Session s = negotiated();
  s.mail({"<a@b>"}, {});
  s.on_packet({'c', ""});
  std::string wire = s.abort();
  wire += s.quit();
  std::vector<Packet> ps = packets(wire);
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(ps[0].code, 'A');
  EXPECT_EQ(ps[1].code, 'Q');
}

}  // namespace
}  // namespace tern::milter
