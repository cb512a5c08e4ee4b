// A ServerSession test bench shared by the session's unit tests: a fake
// SessionEnv and a Driver that runs the session the way the I/O layer does,
// completing every asynchronous action at once. No sockets.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/server_session.h"

namespace tern::testlib {

class FakeEnv : public SessionEnv {
 public:
  RcptVerdict check_rcpt(const Address& rcpt, const std::string& auth_user) override {
    if (rcpt.domain.empty()) return RcptVerdict::kLocal;  // <Postmaster>
    if (rcpt.domain == "local.test") {
      if (rcpt.local.find('/') != std::string::npos) return RcptVerdict::kBadMailbox;
      if (rcpt.local == "alice" || rcpt.local == "bob" || rcpt.local == "postmaster")
        return RcptVerdict::kLocal;
      return RcptVerdict::kUnknownUser;
    }
    if (rcpt.domain == "tempfail.test") return RcptVerdict::kTempFail;
    return auth_user.empty() ? RcptVerdict::kRelayDenied : RcptVerdict::kRelay;
  }
  // SRS-like rewriting for the tests of RcptCheck: "back=X=Y@local.test"
  // goes to Y@X; "forged=...@local.test" is refused with a reason.
  RcptCheck resolve_rcpt(const Address& rcpt, const std::string& auth_user) override {
    RcptCheck c;
    if (rcpt.domain == "local.test" && rcpt.local.rfind("back=", 0) == 0) {
      size_t eq = rcpt.local.find('=', 5);
      c.verdict = RcptVerdict::kRelay;
      c.rewrite = Address{rcpt.local.substr(eq + 1), rcpt.local.substr(5, eq - 5)};
      return c;
    }
    if (rcpt.domain == "local.test" && rcpt.local.rfind("forged=", 0) == 0) {
      c.verdict = RcptVerdict::kUnknownUser;
      c.reason = "invalid SRS signature";
      return c;
    }
    c.verdict = check_rcpt(rcpt, auth_user);
    return c;
  }
  // Senders each user owns ("user" -> addresses); "<>" is always fine.
  SenderVerdict check_sender(const Address& from, const std::string& auth_user) override {
    sender_checks.push_back(auth_user + " " + from.str());
    if (from.is_null()) return SenderVerdict::kOk;
    if (from.domain == "tempfail.test") return SenderVerdict::kTempFail;
    auto it = owned.find(auth_user);
    if (it != owned.end() && it->second.count(from.str())) return SenderVerdict::kOk;
    return SenderVerdict::kNotOwned;
  }
  std::optional<size_t> etrn(const std::string& domain, bool subdomains) override {
    etrn_calls.push_back((subdomains ? "@" : "") + domain);
    return etrn_result;
  }
  // The spool's room: a message declared this large or larger does not fit.
  bool storage_low(uint64_t declared_size) override {
    storage_asked.push_back(declared_size);
    return declared_size >= storage_room;
  }
  uint64_t storage_room = UINT64_MAX;
  std::vector<uint64_t> storage_asked;
  bool mailbox_exists(const Address& a) override { return a.str() == "alice@local.test"; }
  std::string new_queue_id() override { return "Q" + std::to_string(++ids); }
  int64_t now() override { return 1795424400; }  // Mon, 23 Nov 2026 09:00:00 +0000
  // Every refusal, as "command | reply | id | from | to".
  void on_refusal(const Refusal& r) override {
    refusals.push_back(std::string(r.command) + " | " + r.reply.brief() + " | " +
                       std::string(r.queue_id) + " | " + std::string(r.from) + " | " +
                       std::string(r.to));
  }
  std::vector<std::string> refusals;
  int ids = 0;
  std::map<std::string, std::set<std::string>> owned = {
      {"alice", {"alice@local.test", "team@local.test"}}};
  std::vector<std::string> sender_checks;
  std::vector<std::string> etrn_calls;
  std::optional<size_t> etrn_result = 0;
};

// Runs a session the way the I/O layer does, completing async actions at once.
struct Driver {
  explicit Driver(SessionOptions o = {}, std::string ip = "192.0.2.7")
      : options(o), s(o, &env, std::move(ip)) {}

  void pump() {
    for (;;) {
      ServerSession::Action a = s.next();
      switch (a.kind) {
        case ServerSession::Action::kSend:
          wire += a.data;
          ++sends;
          break;
        case ServerSession::Action::kNeedInput:
          return;
        case ServerSession::Action::kStartTls:
          ++tls_requests;
          s.tls_started({"TLSv1.3", "TLS_AES_128_GCM_SHA256"});
          break;
        case ServerSession::Action::kCheckAuth:
          auths.push_back(s.auth_request());
          if (auth_unavailable) {
            s.auth_unavailable();
          } else {
            s.auth_checked(password_ok && s.auth_request().password == "secret", auth_canonical);
          }
          break;
        case ServerSession::Action::kCheckSpf:
          spf_requests.push_back(s.spf_request());
          if (hold_spf) {  // the test answers with answer_spf()
            spf_waiting = true;
            return;
          }
          s.spf_checked(spf_answer);
          break;
        case ServerSession::Action::kFilter: {
          filter_requests.push_back(s.filter_request());
          auto it = filter_answers.find(s.filter_request().stage);
          s.filter_checked(it == filter_answers.end() ? std::nullopt : it->second);
          break;
        }
        case ServerSession::Action::kMessageBegin:
          ASSERT_FALSE(open);
          open = true;
          current.clear();
          envelopes.push_back(s.envelope());
          break;
        case ServerSession::Action::kMessageData:
          ASSERT_TRUE(open);
          current += a.data;
          break;
        case ServerSession::Action::kMessageEnd:
          ASSERT_TRUE(open);
          open = false;
          messages.push_back(current);
          if (refuse_with)
            s.message_refused(*refuse_with);
          else
            s.message_stored(store_status);
          break;
        case ServerSession::Action::kMessageAbort:
          ASSERT_TRUE(open);
          open = false;
          ++aborts;
          break;
        case ServerSession::Action::kClose:
          closed = true;
          return;
      }
    }
  }
  void start() {
    s.start();
    pump();
    wire.clear();
  }
  // Sends input and returns what the server wrote in answer.
  std::string send(std::string_view in) {
    wire.clear();
    s.receive(in);
    pump();
    return wire;
  }
  std::string ehlo() { return send("EHLO client.test\r\n"); }
  // With hold_spf: completes the outstanding SPF check.
  std::string answer_spf(const SpfOutcome& outcome) {
    wire.clear();
    spf_waiting = false;
    s.spf_checked(outcome);
    pump();
    return wire;
  }

  SessionOptions options;
  FakeEnv env;
  ServerSession s;
  std::string wire;
  int sends = 0, tls_requests = 0, aborts = 0;
  bool open = false, closed = false, password_ok = true;
  std::string current;
  std::vector<std::string> messages;
  std::vector<Envelope> envelopes;
  std::vector<AuthRequest> auths;
  bool auth_unavailable = false;  // the password database is down: 454
  std::string auth_canonical;     // the database's name for the user ("": as typed)
  // kFilter: every request, and the refusal per stage (none: accepted).
  std::vector<FilterRequest> filter_requests;
  std::map<FilterStage, std::optional<Reply>> filter_answers;
  SpfOutcome spf_answer;  // what every SPF check answers (kNone by default)
  std::vector<SpfRequest> spf_requests;
  bool hold_spf = false, spf_waiting = false;
  Status store_status;
  std::optional<Reply> refuse_with;  // answer the message end with message_refused
};

// "250 2.1.0 ..." lines -> {"250 2.1.0", ...}: code and enhanced code of each final line.
inline std::vector<std::string> codes(const std::string& wire) {
  std::vector<std::string> out;
  std::regex re(R"((\d{3}) (\d\.\d{1,3}\.\d{1,3})?)");
  size_t pos = 0;
  while (pos < wire.size()) {
    size_t end = wire.find("\r\n", pos);
    std::string line = wire.substr(pos, end - pos);
    pos = end + 2;
    if (line.size() >= 4 && line[3] == ' ') {
      std::smatch m;
      std::string head = line.substr(0, std::min<size_t>(line.size(), 14));
      if (std::regex_search(head, m, re) && m.position(0) == 0)
        out.push_back(m[2].matched ? m[1].str() + " " + m[2].str() : m[1].str());
    }
  }
  return out;
}

using V = std::vector<std::string>;

inline SessionOptions submission() {
  SessionOptions o;
  o.listener = "submission";
  o.auth_enabled = true;
  o.auth_required = true;
  return o;
}

}  // namespace tern::testlib
