// Sender authentication of one message arriving on the `smtp` listener,
// at the end of DATA: DKIM (every signature, keys through the resolver),
// DMARC of the From domain with the transaction's SPF result, the one
// Authentication-Results header we add, and what the DMARC policy makes us
// do (docs/dmarc.md, "Incoming mail").
//
//   InboundAuth a(config, now);
//   spool.write(a.write(chunk));  ... spool.write(a.finish());
//   InboundVerdict v = co_await a.decide(dns, inputs);
//   v.refuse ? refuse with *v.refuse : spool.prepend(v.header), commit
//
// The octets pass through authres::InboundFilter, which drops forged
// Authentication-Results fields (ours by name) and feeds the DKIM verifier.
//
// Thread-compatible: one per message, on the connection's loop.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arc/verifier.h"
#include "authres/inbound.h"
#include "config/config.h"
#include "core/server_session.h"
#include "dmarc/aggregate.h"
#include "dns/lookup.h"
#include "tern/reply.h"

namespace tern {

// What the session knew about the transaction.
struct InboundInputs {
  std::string client_ip;
  const SpfRequest* spf_request = nullptr;  // null, or the SPF check that ran
  const SpfOutcome* spf = nullptr;          // null when SPF was not checked
};

struct InboundVerdict {
  // Authentication-Results (and X-Spam-Flag for a quarantined message), to
  // go on top of the stored message.
  std::string header;
  std::optional<Reply> refuse;  // DMARC p=reject honoured: 550 5.7.1
  std::string summary;          // for the log: "spf=pass dkim=pass dmarc=fail(reject)"
  // The DMARC evaluations for the aggregate reports: one per From domain
  // that publishes a policy.
  std::vector<dmarc::AggregateRow> report_rows;
};

class InboundAuth {
 public:
  InboundAuth(const Config& config, int64_t now);

  // The ARC chain verifier sees the message as it arrived, like DKIM's.
  std::string_view write(std::string_view chunk) {
    if (config_.arc.verify) arc_.write(chunk);
    return filter_.write(chunk);
  }
  std::string_view finish() {
    if (config_.arc.verify) arc_.finish();
    return filter_.finish();
  }

  // REQUIRES: finish() was called.
  asio::awaitable<InboundVerdict> decide(DnsLookup& dns, InboundInputs in);

 private:
  const Config& config_;
  int64_t now_;
  authres::InboundFilter filter_;
  arc::ChainVerifier arc_;
};

}  // namespace tern
