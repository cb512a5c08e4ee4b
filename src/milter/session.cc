#include "milter/session.h"

namespace tern::milter {

namespace {

bool has(uint32_t flags, uint32_t bit) { return (flags & bit) != 0; }

// The action bit a modification needs (SMFIF_*).
uint32_t action_needed(Response::Kind k) {
  using K = Response::Kind;
  switch (k) {
    case K::kAddHeader:
      return act::kAddHdrs;
    case K::kInsHeader:
    case K::kChgHeader:
      // Sendmail allows INSHEADER with ADDHDRS; Postfix too.
      return k == K::kInsHeader ? act::kAddHdrs : act::kChgHdrs;
    case K::kReplBody:
      return act::kChgBody;
    case K::kAddRcpt:
      return act::kAddRcpt;
    case K::kAddRcptPar:
      return act::kAddRcptPar;
    case K::kDelRcpt:
      return act::kDelRcpt;
    case K::kChgFrom:
      return act::kChgFrom;
    case K::kQuarantine:
      return act::kQuarantine;
    default:
      return 0;
  }
}

// Header values go to the milter as Postfix sends them: folded lines joined
// by LF, and without the space after the colon unless SMFIP_HDR_LEADSPC.
std::string wire_value(std::string_view value, bool leadspc) {
  if (!leadspc)
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
    out += value[i];
  }
  return out;
}

}  // namespace

const std::vector<std::string>& default_macros(MacroStage stage) {
  static const std::vector<std::string> kConnect{
      "j", "{daemon_name}", "{daemon_addr}", "v",
      "_", "{client_addr}", "{client_name}", "{client_port}"};
  static const std::vector<std::string> kHelo{"{tls_version}", "{cipher}", "{cipher_bits}",
                                              "{cert_subject}", "{cert_issuer}"};
  static const std::vector<std::string> kMail{
      "i",           "{auth_type}", "{auth_authen}", "{auth_author}",
      "{mail_addr}", "{mail_host}", "{mail_mailer}"};
  static const std::vector<std::string> kRcpt{"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"};
  static const std::vector<std::string> kQueueId{"i"};
  switch (stage) {
    case MacroStage::kConnect:
      return kConnect;
    case MacroStage::kHelo:
      return kHelo;
    case MacroStage::kMail:
      return kMail;
    case MacroStage::kRcpt:
      return kRcpt;
    default:
      return kQueueId;
  }
}

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kNone:
      return "none";
    case Stage::kNegotiate:
      return "negotiate";
    case Stage::kConnect:
      return "connect";
    case Stage::kHelo:
      return "helo";
    case Stage::kMail:
      return "mail";
    case Stage::kRcpt:
      return "rcpt";
    case Stage::kData:
      return "data";
    case Stage::kHeader:
      return "header";
    case Stage::kEoh:
      return "eoh";
    case Stage::kBody:
      return "body";
    case Stage::kEom:
      return "eom";
  }
  return "none";
}

std::optional<Reply> verdict_reply(const Verdict& v) {
  if (v.reply) return v.reply;
  if (v.kind == Verdict::Kind::kReject) return Reply(550, "5.7.1", "Command rejected");
  if (v.kind == Verdict::Kind::kTempfail)
    return Reply(451, "4.7.1", "Service unavailable - try again later");
  return std::nullopt;
}

Session::Step Session::negotiate() {
  std::string data;
  put_u32(&data, kVersion);
  put_u32(&data, options_.actions);
  put_u32(&data, options_.protocol);
  state_ = State::kAwaiting;
  stage_ = Stage::kNegotiate;
  return {encode_packet(cmd::kOptneg, data), true};
}

// Nothing is sent once the milter accepted the connection, or the message
// (for message stages), or failed.
bool Session::skipped() const {
  if (state_ != State::kReady || conn_accepted_) return true;
  return false;
}

std::string Session::macro_packet(MacroStage stage, char code, const MacroMap& macros) const {
  const auto& asked = neg_.macros[static_cast<uint32_t>(stage)];
  const std::vector<std::string>& names = asked ? *asked : default_macros(stage);
  std::string data(1, code);
  bool any = false;
  for (const std::string& name : names) {
    // A milter may name "{x}" or "x" for a long name.
    auto it = macros.find(name);
    std::string shown = name;
    if (it == macros.end() && name.size() > 1 && name.front() != '{') {
      shown = "{" + name + "}";
      it = macros.find(shown);
    }
    if (it == macros.end() || it->second.empty()) continue;
    put_str(&data, name);
    put_str(&data, it->second);
    any = true;
  }
  return any ? encode_packet(cmd::kMacro, data) : std::string();
}

Session::Step Session::stage_step(Stage stage, char code, std::string data, uint32_t no_flag,
                                  uint32_t nr_flag, std::optional<MacroStage> macro_stage,
                                  const MacroMap& macros) {
  verdict_ = Verdict{};
  stage_ = stage;
  const bool message_stage = stage != Stage::kConnect && stage != Stage::kHelo;
  if (skipped() || (message_stage && stage != Stage::kMail && msg_done_)) return {};
  if (no_flag && has(neg_.protocol, no_flag)) return {};
  Step s;
  if (macro_stage) s.send = macro_packet(*macro_stage, code, macros);
  s.send += encode_packet(code, data);
  s.await = !(nr_flag && has(neg_.protocol, nr_flag));
  if (s.await) state_ = State::kAwaiting;
  return s;
}

Session::Step Session::connect(std::string_view hostname, char family, uint16_t port,
                               std::string_view address, const MacroMap& macros) {
  std::string d;
  put_str(&d, hostname);
  d.push_back(family);
  if (family != 'L') {
    d.push_back(static_cast<char>(port >> 8));
    d.push_back(static_cast<char>(port));
    put_str(&d, address);
  }
  return stage_step(Stage::kConnect, cmd::kConnect, std::move(d), proto::kNoConnect, proto::kNrConn,
                    MacroStage::kConnect, macros);
}

Session::Step Session::helo(std::string_view name, const MacroMap& macros) {
  std::string d;
  put_str(&d, name);
  return stage_step(Stage::kHelo, cmd::kHelo, std::move(d), proto::kNoHelo, proto::kNrHelo,
                    MacroStage::kHelo, macros);
}

Session::Step Session::mail(const std::vector<std::string>& args, const MacroMap& macros) {
  // A new message: what the last one decided no longer holds.
  msg_done_ = false;
  body_skipped_ = false;
  mods_.clear();
  if (state_ == State::kReady && !conn_accepted_) in_message_ = true;
  std::string d;
  for (const std::string& a : args) put_str(&d, a);
  return stage_step(Stage::kMail, cmd::kMail, std::move(d), proto::kNoMail, proto::kNrMail,
                    MacroStage::kMail, macros);
}

Session::Step Session::rcpt(const std::vector<std::string>& args, const MacroMap& macros) {
  std::string d;
  for (const std::string& a : args) put_str(&d, a);
  return stage_step(Stage::kRcpt, cmd::kRcpt, std::move(d), proto::kNoRcpt, proto::kNrRcpt,
                    MacroStage::kRcpt, macros);
}

Session::Step Session::data(const MacroMap& macros) {
  return stage_step(Stage::kData, cmd::kData, {}, proto::kNoData, proto::kNrData, MacroStage::kData,
                    macros);
}

Session::Step Session::header(std::string_view name, std::string_view value,
                              const MacroMap& macros) {
  (void)macros;
  std::string d;
  put_str(&d, name);
  put_str(&d, wire_value(value, has(neg_.protocol, proto::kHdrLeadSpc)));
  return stage_step(Stage::kHeader, cmd::kHeader, std::move(d), proto::kNoHdrs, proto::kNrHdr,
                    std::nullopt, macros);
}

Session::Step Session::eoh(const MacroMap& macros) {
  return stage_step(Stage::kEoh, cmd::kEoh, {}, proto::kNoEoh, proto::kNrEoh, MacroStage::kEoh,
                    macros);
}

Session::Step Session::body(std::string_view chunk) {
  if (body_skipped_) return {};
  return stage_step(Stage::kBody, cmd::kBody, std::string(chunk.substr(0, kChunkSize)),
                    proto::kNoBody, proto::kNrBody, std::nullopt, {});
}

Session::Step Session::eom(const MacroMap& macros) {
  mods_.clear();
  Step s = stage_step(Stage::kEom, cmd::kBodyEob, {}, 0, 0, MacroStage::kEom, macros);
  // EOM is always answered; the message is over either way.
  if (!s.await) in_message_ = false;
  return s;
}

std::string Session::abort() {
  if (!in_message_ || state_ != State::kReady) {
    in_message_ = false;
    return {};
  }
  in_message_ = false;
  msg_done_ = false;
  mods_.clear();
  return encode_packet(cmd::kAbort, {});
}

std::string Session::quit() {
  std::string out;
  if (state_ == State::kReady || state_ == State::kAwaiting) out = encode_packet(cmd::kQuit, {});
  state_ = State::kClosed;
  return out;
}

Session::Result Session::fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::string(stage_name(stage_)) + ": " + why;
  in_message_ = false;
  return Result::kError;
}

Session::Result Session::finish(Verdict v) {
  state_ = State::kReady;
  verdict_ = std::move(v);
  const bool before_message = stage_ == Stage::kConnect || stage_ == Stage::kHelo;
  switch (verdict_.kind) {
    case Verdict::Kind::kAccept:
      if (before_message)
        conn_accepted_ = true;
      else
        msg_done_ = true;
      break;
    case Verdict::Kind::kDiscard:
      msg_done_ = true;
      break;
    case Verdict::Kind::kReject:
    case Verdict::Kind::kTempfail:
      // A refused recipient leaves the message going; a refused MAIL,
      // DATA or content ends it (the client may start another).
      if (stage_ != Stage::kRcpt && !before_message) msg_done_ = true;
      break;
    case Verdict::Kind::kSkip:
      body_skipped_ = true;
      break;
    case Verdict::Kind::kContinue:
      break;
  }
  if (stage_ == Stage::kEom) in_message_ = false;
  return Result::kDone;
}

Session::Result Session::on_packet(const Packet& p) {
  if (state_ != State::kAwaiting) return fail("reply while none was expected");
  if (stage_ == Stage::kNegotiate) {
    std::optional<Negotiated> n = decode_optneg(p, &error_);
    if (!n) return fail(error_);
    if (n->version < 2 || n->version > kVersion)
      return fail("unsupported protocol version " + std::to_string(n->version));
    // A milter may not take more than we offered.
    if (n->actions & ~options_.actions) return fail("milter asks for actions we do not offer");
    n->protocol &= options_.protocol;
    neg_ = std::move(*n);
    state_ = State::kReady;
    return Result::kDone;
  }
  std::optional<Response> r = decode_response(p, &error_);
  if (!r) return fail(error_);
  using K = Response::Kind;
  if (r->kind == K::kProgress) return Result::kMore;
  if (r->modification()) {
    if (stage_ != Stage::kEom) return fail("modification before the end of the message");
    uint32_t need = action_needed(r->kind);
    // Each modification needs its own action bit, as libmilter checks.
    if (!has(neg_.actions, need)) return fail("modification not negotiated");
    mods_.push_back(std::move(*r));
    return Result::kMore;
  }
  switch (r->kind) {
    case K::kContinue:
      return finish({Verdict::Kind::kContinue, {}});
    case K::kAccept:
      return finish({Verdict::Kind::kAccept, {}});
    case K::kReject:
      return finish({Verdict::Kind::kReject, {}});
    case K::kTempfail:
      return finish({Verdict::Kind::kTempfail, {}});
    case K::kReplyCode: {
      auto kind = r->reply.code >= 500 ? Verdict::Kind::kReject : Verdict::Kind::kTempfail;
      return finish({kind, std::move(r->reply)});
    }
    case K::kDiscard:
      if (stage_ == Stage::kConnect || stage_ == Stage::kHelo)
        return fail("DISCARD outside a message");
      return finish({Verdict::Kind::kDiscard, {}});
    case K::kSkip:
      if (stage_ != Stage::kBody) return fail("SKIP outside the body");
      if (!has(neg_.protocol, proto::kSkip)) return fail("SKIP not negotiated");
      return finish({Verdict::Kind::kSkip, {}});
    case K::kShutdown:
      return fail("milter shut down");
    case K::kConnFail:
      return fail("milter asked to fail the connection");
    default:
      return fail("unexpected reply");
  }
}

}  // namespace tern::milter
