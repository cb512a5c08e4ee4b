#include "relay/lmtp_sender.h"

#include "base/log.h"
#include "core/lmtp_address.h"
#include "relay/file_body.h"
#include "relay/lmtp_plan.h"
#include "relay/plan.h"

namespace tern {
namespace {

const char* status_word(RcptResult::Kind k) {
  switch (k) {
    case RcptResult::Kind::kTransient:
      return "deferred";
    case RcptResult::Kind::kPermanent:
      return "bounced";
    default:
      return "sent";
  }
}

ClientSessionOptions session_options(const LmtpSettings& s) {
  ClientSessionOptions o;
  o.lmtp = true;
  o.helo_name = s.lhlo_name;
  o.tls = TlsPolicy::kNone;  // a local socket or loopback: the server is ours
  o.pipelining = true;
  // Final delivery into our own mailbox server: 8-bit bodies go as they came.
  o.eight_bit = EightBitPolicy::kSendAsIs;
  ClientTimeouts t;
  t.greeting = t.command = t.mail = t.rcpt = t.data_init = t.data_block = t.data_end = s.timeout;
  o.timeouts = t;
  return o;
}

// Every target failed the same way, before any LMTP was spoken.
std::vector<RcptResult> all_transient(size_t n, const std::string& address, std::string why) {
  RcptResult r;
  r.kind = RcptResult::Kind::kTransient;
  r.reply = Reply(451, "4.4.1", "LMTP " + address + ": " + why);
  r.remote_mta = address;
  return std::vector<RcptResult>(n, r);
}

}  // namespace

LmtpSender::LmtpSender(asio::any_io_executor loop, asio::any_io_executor blocking,
                       std::chrono::seconds idle, LmtpSettings settings)
    : loop_(loop),
      blocking_(std::move(blocking)),
      settings_(std::make_shared<const LmtpSettings>(std::move(settings))),
      pool_(loop, idle, kMaxIdlePerAddress) {}

void LmtpSender::reconfigure(LmtpSettings settings) {
  settings_ = std::make_shared<const LmtpSettings>(std::move(settings));
  pool_.clear();
}

asio::awaitable<std::shared_ptr<ClientConnection>> LmtpSender::connect(const std::string& address,
                                                                       const LmtpSettings& s) {
  auto conn = std::make_shared<ClientConnection>(loop_, session_options(s), ClientTlsSetup{});
  std::string error;
  std::optional<LmtpAddress> a = parse_lmtp_address(address, &error);
  if (!a) co_return nullptr;  // the config checked it; a bug if reached
  ++opened_;
  if (a->kind == LmtpAddress::Kind::kUnix) {
    std::string path = a->path;
    co_await conn->connect_unix(path, s.timeout);
  } else {
    std::vector<asio::ip::tcp::endpoint> eps{
        asio::ip::tcp::endpoint(asio::ip::make_address(a->ip), a->port)};
    co_await conn->connect(eps, s.timeout);
  }
  co_return conn;
}

asio::awaitable<MessageResult> LmtpSender::send_on(std::shared_ptr<ClientConnection> conn,
                                                   const QueuedMessage& msg,
                                                   const OutboundMessage& m) {
  std::optional<MessageResult> got;
  ClientConnection::OnDone done = [&got](const MessageResult& r) { got = r; };
  conn->add(m, std::make_unique<FileBody>(blocking_, msg.body_path, msg.body_offset));
  co_await conn->run(done);
  if (got) co_return std::move(*got);
  // run() reports every message added; this is a bug, not the server's doing.
  MessageResult none;
  Failure f;
  f.phase = Phase::kMail;
  f.cause = Failure::Cause::kProtocol;
  f.detail = "no result for the message";
  none.failure = f;
  for (const RcptArgs& r : m.rcpts) none.rcpts.push_back(RecipientResult{r, std::nullopt, f});
  co_return none;
}

asio::awaitable<std::vector<RcptResult>> LmtpSender::deliver(
    std::shared_ptr<const QueuedMessage> msg, std::string address,
    std::vector<std::string> targets) {
  std::shared_ptr<const LmtpSettings> s = settings_;
  std::vector<bool> ok;
  const OutboundMessage m = lmtp_message(msg->envelope, targets, &ok);
  std::vector<RcptResult> out(targets.size());
  std::vector<RcptResult> sent;
  if (!m.rcpts.empty()) {
    try {
      MessageResult result;
      std::optional<PooledConnection> pc = pool_.take(address);
      bool done = false;
      if (pc) {
        result = co_await send_on(pc->conn, *msg, m);
        ++pc->messages;
        done = !stale_connection(result);
        if (!done) {
          log_info("lmtp: {} via={} idle connection went stale; connecting anew", msg->envelope.id,
                   address);
        }
      }
      if (!done) {
        std::shared_ptr<ClientConnection> conn = co_await connect(address, *s);
        if (!conn) throw std::runtime_error("bad LMTP address " + address);
        pc = PooledConnection{conn, Hop{}, 0};
        result = co_await send_on(conn, *msg, m);
        ++pc->messages;
      }
      sent = lmtp_results(result, address);
      if (pc->conn->open()) {
        if (pc->messages < s->max_messages_per_connection && s == settings_) {
          pool_.put(address, std::move(*pc));
        } else {
          pool_.close(std::move(pc->conn));
        }
      }
    } catch (const std::exception& e) {
      sent = all_transient(m.rcpts.size(), address, e.what());
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!ok[i]) {
      out[i].kind = RcptResult::Kind::kPermanent;
      out[i].reply = Reply(553, "5.1.3", "unusable mailbox address " + targets[i]);
    } else if (k < sent.size()) {
      out[i] = std::move(sent[k++]);
    } else {
      out[i] = all_transient(1, address, "no result")[0];
    }
    log_info("lmtp: {} to=<{}> via={} status={} ({})", msg->envelope.id, targets[i], address,
             status_word(out[i].kind), reply_line(out[i].reply));
  }
  co_return out;
}

}  // namespace tern
