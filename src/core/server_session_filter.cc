// ServerSession, the outside filters (SessionOptions::filter): HELO, MAIL,
// RCPT and DATA wait for kFilter once the session's own checks passed,
// and filter_checked() finishes them (milters: server/milter_hooks.h).
// The rest of the session is server_session.cc.
#include "core/server_session.h"

namespace tern {

void ServerSession::ask_filter(FilterStage stage, std::string_view arg, std::string address) {
  filter_request_ = FilterRequest{stage, std::string(arg), std::move(address), tx_ ? tx_->id : ""};
  set_pending(Action::kFilter);
}

void ServerSession::filter_checked(std::optional<Reply> refusal) {
  if (state_ == State::kClosed) return;
  state_ = State::kCommand;
  const FilterRequest& req = filter_request_;
  switch (req.stage) {
    case FilterStage::kHelo:
      if (refusal) return reply(std::move(*refusal));
      filter_passed_ = true;
      cmd_helo(req.arg, filter_esmtp_);
      filter_passed_ = false;
      return;
    case FilterStage::kMail:
      if (!tx_) return;
      if (refusal) {
        reply(std::move(*refusal));  // inside the transaction, for the log
        return reset_transaction();
      }
      return reply(250, "2.1.0", "Sender <" + tx_->mail.from.str() + "> OK");
    case FilterStage::kRcpt:
      if (!tx_) return;
      if (refusal) return reply(std::move(*refusal));
      tx_->rcpts.push_back(std::move(filter_rcpt_));
      return reply(250, "2.1.5", "Recipient <" + filter_who_ + "> OK");
    case FilterStage::kData:
      if (!tx_) return;
      if (refusal) {
        reply(std::move(*refusal));
        return reset_transaction();
      }
      return start_data();
  }
}

}  // namespace tern
