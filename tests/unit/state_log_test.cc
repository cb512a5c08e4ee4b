// The state log's records: encoding, strict decoding (CRC, torn lines,
// zeros), and replay (src/queue/state_log.h; docs/queue_format.md).
#include "queue/state_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tern {
namespace {

StateRecord Try(size_t rcpt, int64_t at, int64_t next, Reply reply, std::string mta = "") {
  StateRecord r;
  r.type = StateRecord::Type::kTry;
  r.rcpt = rcpt;
  r.at = at;
  r.next = next;
  r.reply = std::move(reply);
  r.remote_mta = std::move(mta);
  return r;
}

StateRecord Ok(size_t rcpt, int64_t at, RcptOutcome outcome, bool dsn = false) {
  StateRecord r;
  r.type = StateRecord::Type::kOk;
  r.rcpt = rcpt;
  r.at = at;
  r.outcome = outcome;
  r.next_hop_dsn = dsn;
  r.reply = Reply(250, "2.0.0", "ok");
  return r;
}

StateRecord Fail(size_t rcpt, int64_t at, Reply reply) {
  StateRecord r;
  r.type = StateRecord::Type::kFail;
  r.rcpt = rcpt;
  r.at = at;
  r.reply = std::move(reply);
  return r;
}

StateRecord Warn(size_t rcpt, int64_t at) {
  StateRecord r;
  r.type = StateRecord::Type::kWarn;
  r.rcpt = rcpt;
  r.at = at;
  return r;
}

StateRecord RoundTrip(const StateRecord& r) {
  std::string line = encode_state_record(r);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  StateRecord out;
  EXPECT_TRUE(decode_state_record(std::string_view(line).substr(0, line.size() - 1), &out)) << line;
  return out;
}

TEST(StateLogTest, Crc32IsTheIeeeOne) {
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value
}

TEST(StateLogTest, RecordsAreReadableText) {
  std::string line = encode_state_record(
      Try(3, 1718000000, 1718000300, Reply(451, "4.4.1", "no answer"), "mx.example.com"));
  EXPECT_EQ(line.rfind("try 3 at=1718000000 next=1718000300 code=451 esc=4.4.1 "
                       "text=no+20answer mta=mx.example.com #",
                       0),
            0u)
      << line;
  EXPECT_EQ(line.size(), line.find(" #") + 2 + 8 + 1);
  EXPECT_EQ(encode_state_record(StateRecord::Done(0)).rfind("done 0 #", 0), 0u);
}

TEST(StateLogTest, EveryTypeRoundTrips) {
  StateRecord t = RoundTrip(
      Try(7, -5, 1718000300, Reply(421, "4.7.0", "try later"), "mx1.example.com [192.0.2.1]"));
  EXPECT_EQ(t.type, StateRecord::Type::kTry);
  EXPECT_EQ(t.rcpt, 7u);
  EXPECT_EQ(t.at, -5);
  EXPECT_EQ(t.next, 1718000300);
  EXPECT_EQ(t.reply.code, 421);
  EXPECT_EQ(t.reply.enhanced, "4.7.0");
  EXPECT_EQ(t.reply.lines, std::vector<std::string>{"try later"});
  EXPECT_EQ(t.remote_mta, "mx1.example.com [192.0.2.1]");

  StateRecord o = RoundTrip(Ok(1, 10, RcptOutcome::kRelayed, true));
  EXPECT_EQ(o.type, StateRecord::Type::kOk);
  EXPECT_EQ(o.outcome, RcptOutcome::kRelayed);
  EXPECT_TRUE(o.next_hop_dsn);
  EXPECT_EQ(RoundTrip(Ok(1, 10, RcptOutcome::kExpanded)).outcome, RcptOutcome::kExpanded);
  EXPECT_FALSE(RoundTrip(Ok(1, 10, RcptOutcome::kDelivered)).next_hop_dsn);

  StateRecord f = RoundTrip(Fail(2, 11, Reply(550, "", "")));
  EXPECT_EQ(f.type, StateRecord::Type::kFail);
  EXPECT_EQ(f.reply.code, 550);
  EXPECT_TRUE(f.reply.enhanced.empty());
  EXPECT_TRUE(f.reply.lines.empty());

  EXPECT_EQ(RoundTrip(Warn(4, 12)).type, StateRecord::Type::kWarn);
  EXPECT_EQ(RoundTrip(StateRecord::Done(99)).rcpt, 99u);
}

// Whatever a remote server says cannot break the line format.
TEST(StateLogTest, HostileReplyTextStaysOnOneLine) {
  static const char kNasty[] = "550 x\r\ndone 0 #00000000\n\0 \xff end";
  std::string nasty(kNasty, sizeof kNasty - 1);
  StateRecord f = Fail(0, 1, Reply(550, "5.1.1", {"first line", nasty}));
  f.remote_mta = "evil\nhost";
  StateRecord back = RoundTrip(f);
  EXPECT_EQ(back.reply.lines, std::vector<std::string>{"first line " + nasty});
  EXPECT_EQ(back.remote_mta, "evil\nhost");
  std::string line = encode_state_record(f);
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    EXPECT_TRUE(c >= 32 && c < 127) << i;
  }
}

TEST(StateLogTest, EveryPrefixAndEveryFlippedByteIsRejected) {
  std::string line =
      encode_state_record(Try(12, 1718000000, 1718000300, Reply(451, "4.4.1", "no answer"), "mx"));
  line.pop_back();
  StateRecord r;
  ASSERT_TRUE(decode_state_record(line, &r));
  for (size_t n = 0; n < line.size(); ++n) {
    EXPECT_FALSE(decode_state_record(line.substr(0, n), &r)) << n;
    std::string flipped = line;
    flipped[n] ^= 0x01;
    EXPECT_FALSE(decode_state_record(flipped, &r)) << n;
    std::string zeroed = line;
    zeroed[n] = '\0';
    EXPECT_FALSE(decode_state_record(zeroed, &r)) << n;
  }
}

// A line with a correct CRC must still be a well-formed record.
TEST(StateLogTest, WellFormedCheckAfterCrc) {
  auto with_crc = [](std::string body) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", crc32(body));
    return body + " #" + hex;
  };
  StateRecord r;
  EXPECT_TRUE(decode_state_record(with_crc("done 3"), &r));
  EXPECT_TRUE(decode_state_record(with_crc("done 3 future=thing"), &r));  // unknown key
  for (const char* bad :
       {"done", "done x", "done -1", "done 3  at=1", "nope 3", "try 1 at=1", "try 1 at=1 next=2",
        "ok 1 at=1", "ok 1 at=1 outcome=failed", "fail 1 at=1", "fail 1 at=1 code=999", "warn 1",
        "done 1 at=1 at=2", "fail 1 at=1 code=550 esc=5.1", "fail 1 at=1 code=550 text=+zz",
        "try 1 at=x next=2 code=451", "ok 1 at=1 outcome=delivered dsn=no"}) {
    EXPECT_FALSE(decode_state_record(with_crc(bad), &r)) << bad;
  }
  EXPECT_FALSE(decode_state_record("done 3 #ABCDEF01", &r));  // upper-case hex is not ours
}

TEST(StateLogTest, ApplyFollowsARecipientsLife) {
  std::vector<RecipientState> s(2);
  apply_state_record(Try(0, 100, 400, Reply(451, "4.4.1", "a")), &s);
  apply_state_record(Try(0, 400, 1000, Reply(452, "4.2.2", "b"), "mx"), &s);
  EXPECT_EQ(s[0].outcome, RcptOutcome::kPending);
  EXPECT_EQ(s[0].attempts, 2u);
  EXPECT_EQ(s[0].last_attempt, 400);
  EXPECT_EQ(s[0].next_attempt, 1000);
  EXPECT_EQ(s[0].last_reply.code, 452);
  EXPECT_EQ(s[0].remote_mta, "mx");
  apply_state_record(Warn(0, 400), &s);
  EXPECT_TRUE(s[0].delay_warned);
  apply_state_record(Fail(0, 1000, Reply(550, "5.1.1", "gone")), &s);
  EXPECT_EQ(s[0].outcome, RcptOutcome::kFailed);
  EXPECT_EQ(s[0].attempts, 3u);
  EXPECT_FALSE(s[0].done);
  // A final outcome sticks: a replayed try or ok cannot reopen it.
  apply_state_record(Try(0, 2000, 3000, Reply(451, "4.4.1", "a")), &s);
  apply_state_record(Ok(0, 2000, RcptOutcome::kDelivered), &s);
  EXPECT_EQ(s[0].outcome, RcptOutcome::kFailed);
  EXPECT_EQ(s[0].attempts, 3u);
  apply_state_record(StateRecord::Done(0), &s);
  EXPECT_TRUE(s[0].done);
  EXPECT_FALSE(s[1].done);
  apply_state_record(StateRecord::Done(5), &s);  // out of range: ignored
  EXPECT_EQ(s.size(), 2u);
}

TEST(StateLogTest, ReplaySkipsWhatIsNotAWholeRecord) {
  std::string log = encode_state_record(Try(0, 1, 301, Reply(451, "4.4.1", "x")));
  std::string ok = encode_state_record(Ok(1, 2, RcptOutcome::kDelivered));
  log += ok.substr(0, ok.size() / 2) + "\n";  // torn, then a new line was started
  log += std::string("\0\0\0\0\n", 5);        // zero fill
  log += encode_state_record(StateRecord::Done(2));
  std::string warn = encode_state_record(Warn(0, 3));
  log += warn.substr(0, warn.size() - 1);  // whole, only the '\n' missing: counts
  std::vector<RecipientState> s(3);
  EXPECT_EQ(replay_state_log(log, &s), 2u);
  EXPECT_EQ(s[0].attempts, 1u);
  EXPECT_TRUE(s[0].delay_warned);
  EXPECT_EQ(s[1].outcome, RcptOutcome::kPending);
  EXPECT_TRUE(s[2].done);
}

}  // namespace
}  // namespace tern
