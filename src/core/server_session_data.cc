// ServerSession, the message: DATA and BDAT (RFC 5321 4.1.1.4, RFC 3030),
// the Received/Received-SPF fields it starts with, and its end (stored,
// refused or aborted). The rest of the session is server_session.cc.
#include <algorithm>
#include <string>

#include "core/command.h"
#include "core/params.h"
#include "core/received.h"
#include "core/server_session.h"

namespace tern {

namespace {

// RFC 5321 4.5.3.1.6: text lines up to 1000 octets including CRLF.
constexpr size_t kMaxTextLine = 1000;
// Recipients shown in the log line of a refused message.
constexpr size_t kLoggedRcpts = 5;

}  // namespace

void ServerSession::cmd_data(std::string_view) {
  Tx& tx = *tx_;
  if (tx.rcpts.empty()) {
    if (tx.rcpt_attempts > 0) return reply(554, "5.5.1", "No valid recipients");
    return reply(503, "5.5.1", "Need RCPT command");
  }
  if (tx.bdat_used) return reply(503, "5.5.1", "DATA after BDAT in the same transaction");
  // RFC 3030 3: BINARYMIME content can only travel by BDAT.
  if (tx.mail.body == BodyType::kBinaryMime)
    return reply(503, "5.5.1", "BODY=BINARYMIME requires BDAT");
  if (options_.filter) return ask_filter(FilterStage::kData, {}, {});
  start_data();
}

void ServerSession::start_data() {
  Tx& tx = *tx_;
  reply(Reply(354, "", "End data with <CR><LF>.<CR><LF>"));
  tx.data.emplace(options_.max_message_size, kMaxTextLine, options_.bare_newline);
  state_ = State::kData;
  begin_message();
}

void ServerSession::begin_message() {
  const Tx& tx = *tx_;
  last_result_.clear();
  last_size_ = 0;
  env_out_ = Envelope{};
  env_out_.id = tx.id;
  env_out_.mail = tx.mail;
  env_out_.rcpts = tx.rcpts;
  env_out_.client_ip = client_ip_;
  env_out_.helo = helo_;
  env_out_.auth_user = auth_user_;
  env_out_.listener = options_.listener;
  env_out_.received_at = env_->now();
  ReceivedInfo ri;
  ri.helo = helo_;
  ri.client_ip = client_ip_;
  ri.by = options_.hostname;
  ri.esmtp = esmtp_;
  ri.utf8 = tx.mail.smtputf8;
  if (tls_) {
    ri.tls_version = tls_->version;
    ri.tls_cipher = tls_->cipher;
  }
  ri.auth_user = auth_user_;
  ri.id = env_out_.id;
  if (tx.rcpts.size() == 1) ri.for_rcpt = tx.rcpts[0].to.str();
  ri.time = env_out_.received_at;
  body_.clear();
  if (const std::optional<SpfOutcome>& spf = tx.spf) {
    // RFC 7208 9.1: above our Received (trace fields go on top, in order).
    ReceivedSpfInfo si;
    si.result = spf_result_name(spf->result);
    si.receiver = options_.hostname;
    si.client_ip = client_ip_;
    si.envelope_from = spf_request_.mail_from;
    si.helo = helo_;
    si.identity = spf_request_.helo_identity ? "helo" : "mailfrom";
    si.mechanism = spf->mechanism;
    si.problem = spf->problem;
    body_ = build_received_spf(si);
  }
  body_ += build_received(ri);
  set_pending(Action::kMessageBegin);
}

void ServerSession::process_data() {
  std::string_view avail = std::string_view(in_).substr(in_pos_);
  DataReader::Result r = tx_->data->feed(avail, &body_);
  in_pos_ += r.consumed;
  if (r.status == DataReader::Status::kDone) finish_message();
}

// The whole message is in (DATA's end, BDAT LAST, or a chunk that broke
// the size limit): the client did real work, the command count restarts,
// and refusals from here on concern the message and its recipients.
void ServerSession::data_received() {
  commands_since_message_ = 0;
  const std::vector<RcptArgs>& rcpts = tx_->rcpts;
  refused_to_.clear();
  for (size_t i = 0; i < rcpts.size() && i < kLoggedRcpts; ++i) {
    if (i) refused_to_ += ",";
    refused_to_ += "<" + rcpts[i].to.str() + ">";
  }
  if (rcpts.size() > kLoggedRcpts)
    refused_to_ += ",+" + std::to_string(rcpts.size() - kLoggedRcpts);
}

void ServerSession::finish_message() {
  state_ = State::kCommand;
  data_received();
  DataReader& data = *tx_->data;
  last_size_ = data.size();
  std::optional<Reply> fail;
  if (data.error() == DataReader::Error::kBareNewline)
    fail =
        Reply(550, "5.5.2", "Message rejected: bare <CR> or <LF> in message data (RFC 5321 2.3.8)");
  else if (data.too_big())
    fail = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
  else if (data.line_too_long())
    fail = Reply(554, "5.6.0",
                 "Message rejected: text line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
  tx_->data.reset();
  if (fail) {
    last_result_ = fail->brief();
    body_.clear();
    set_pending(Action::kMessageAbort);
    reply(std::move(*fail));  // inside the transaction, for the log
    return reset_transaction();
  }
  set_pending(Action::kMessageEnd);
}

void ServerSession::cmd_bdat(std::string_view arg) {
  // RFC 3030 2: BDAT <chunk-size> [LAST]
  size_t sp = arg.find(' ');
  std::string_view num = arg.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? "" : arg.substr(sp + 1);
  bool digits = !num.empty() && num.size() <= 19 &&
                std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !(rest.empty() || iequals(rest, "LAST")))
    return reply(501, "5.5.4", "Syntax: BDAT <size> [LAST]");
  chunk_.remaining = std::stoull(std::string(num));
  chunk_.last = !rest.empty();
  // A chunk is consumed even when it cannot be used, to stay in step.
  chunk_.discard = !tx_ || tx_->rcpts.empty();
  state_ = State::kBdat;
  if (!chunk_.discard && !tx_->bdat_used) {
    tx_->bdat_used = true;
    tx_->bdat_size = 0;
    begin_message();
  }
}

void ServerSession::process_bdat() {
  std::string_view avail = std::string_view(in_).substr(in_pos_);
  size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_.remaining, avail.size()));
  if (!chunk_.discard) {
    if (tx_->bdat_size + take <= options_.max_message_size) body_.append(avail.substr(0, take));
    tx_->bdat_size += take;
  }
  chunk_.remaining -= take;
  in_pos_ += take;
  if (chunk_.remaining > 0) return;
  state_ = State::kCommand;
  if (chunk_.discard) {
    if (!tx_) return reply(503, "5.5.1", "Need MAIL command");
    if (tx_->rcpt_attempts > 0) return reply(554, "5.5.1", "No valid recipients");
    return reply(503, "5.5.1", "Need RCPT command");
  }
  uint64_t size = tx_->bdat_size;
  if (size > options_.max_message_size) {
    data_received();
    last_size_ = size;
    last_result_ = "552 5.3.4";
    body_.clear();
    set_pending(Action::kMessageAbort);
    reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    return reset_transaction();
  }
  if (chunk_.last) {
    data_received();
    last_size_ = size;
    set_pending(Action::kMessageEnd);
    return;
  }
  reply(250, "2.0.0", std::to_string(size) + " octets received");
}

void ServerSession::message_stored(const Status& status) {
  if (status.ok()) {
    ++counts_.messages;
    counts_.recipients += env_out_.rcpts.size();
    return end_message(Reply(250, "2.0.0", "Ok: queued as " + env_out_.id));
  }
  // RFC 5321 4.2.2 452 "insufficient system storage"; RFC 3463 X.3.1
  // "mail system full". Postfix says the same (queue_minfree).
  if (status.storage_full())
    return end_message(Reply(452, "4.3.1", "Insufficient system storage, try again later"));
  if (status.kind() == Status::Kind::kTransient)
    return end_message(Reply(451, "4.3.0", "Local error in processing, try again later"));
  end_message(Reply(554, "5.3.0", "Transaction failed"));
}

void ServerSession::message_refused(Reply r) { end_message(std::move(r)); }

// The reply to the end of a message, and a new transaction.
void ServerSession::end_message(Reply r) {
  state_ = State::kCommand;
  last_result_ = r.brief();
  reply(std::move(r));  // inside the transaction, for the log
  reset_transaction();
  refused_to_.clear();
  if (draining_) shutdown();
}

}  // namespace tern
