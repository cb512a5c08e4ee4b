#include "bench/options.h"

#include <asio/ip/address.hpp>

#include "bench/message.h"
#include "config/values.h"
#include "tern/address.h"

namespace tern::bench {

const char* tls_mode_name(TlsMode mode) {
  switch (mode) {
    case TlsMode::kNone:
      return "none";
    case TlsMode::kStartTls:
      return "starttls";
    case TlsMode::kImplicit:
      return "tls";
  }
  return "none";
}

void add_bench_options(CLI::App& cmd, BenchOptions* o) {
  cmd.add_option("--host", o->host, "Server address (an IP literal)")->capture_default_str();
  cmd.add_option("--port", o->port, "Server port")->capture_default_str();
  cmd.add_option("--sessions", o->sessions,
                 "Concurrent sessions (idle mode: connection attempts at once)")
      ->capture_default_str();
  cmd.add_option("--messages", o->messages, "Messages to send in total")->capture_default_str();
  cmd.add_option("--size", o->size_text,
                 "Octets per message, header included (\"1024\", \"1K\", \"100K\")")
      ->capture_default_str();
  cmd.add_option("--per-connection", o->per_connection,
                 "Messages per connection; 1 = connect per message, 0 = no limit")
      ->capture_default_str();
  cmd.add_option("--pipelining", o->pipelining_text, "Use PIPELINING when offered")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  cmd.add_option("--tls", o->tls_text, "none, starttls (required) or tls (implicit, port 465)")
      ->check(CLI::IsMember({"none", "starttls", "tls"}))
      ->capture_default_str();
  cmd.add_flag("--insecure", o->insecure, "Do not check the server's certificate");
  cmd.add_option("--from", o->from, "Envelope sender and From:")->capture_default_str();
  cmd.add_option("--to", o->to, "Recipient (more with --rcpts: local+2@domain, ...)")
      ->capture_default_str();
  cmd.add_option("--rcpts", o->rcpts, "Recipients per message")->capture_default_str();
  cmd.add_option("--helo", o->helo, "EHLO name")->capture_default_str();
  cmd.add_option("--user", o->user, "AUTH as this user (needs --tls)");
  cmd.add_option("--password", o->password, "AUTH password");
  cmd.add_option("--timeout", o->timeout, "Seconds for each connect, reply and write")
      ->capture_default_str();
  cmd.add_option("--max-seconds", o->max_seconds,
                 "Seconds for the whole run; then open connections are aborted")
      ->capture_default_str();
  cmd.add_option("--threads", o->threads, "Event loops, one thread each")->capture_default_str();
  cmd.add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd.add_option("--idle", o->idle, "Idle mode: open this many sessions and hold them");
  cmd.add_option("--hold", o->hold, "Idle mode: seconds to hold the sessions (SIGTERM ends it)")
      ->capture_default_str();
}

std::string finish_bench_options(BenchOptions* o) {
  std::error_code ec;
  asio::ip::make_address(o->host, ec);
  if (ec) return "--host must be an IP address, not '" + o->host + "'";
  if (o->port == 0) return "--port must be from 1 to 65535";
  if (o->sessions < 1) return "--sessions must be at least 1";
  if (o->rcpts < 1) return "--rcpts must be at least 1";
  if (o->timeout < 1) return "--timeout must be at least 1 second";
  if (o->max_seconds < 1) return "--max-seconds must be at least 1 second";
  if (o->threads < 1 || o->threads > 64) return "--threads must be from 1 to 64";
  if (o->hold < 0) return "--hold must not be negative";
  if (std::string e = parse_size(o->size_text, &o->size); !e.empty()) return "--size " + e;
  o->pipelining = o->pipelining_text == "on";
  o->tls = o->tls_text == "starttls" ? TlsMode::kStartTls
           : o->tls_text == "tls"    ? TlsMode::kImplicit
                                     : TlsMode::kNone;
  if (!parse_mailbox(o->from, false)) return "--from is not an address: " + o->from;
  if (!parse_mailbox(o->to, false)) return "--to is not an address: " + o->to;
  if (!o->user.empty() && o->tls == TlsMode::kNone) return "--user needs --tls starttls or tls";
  if (o->idle > 0) return "";
  if (o->messages < 1) return "--messages must be at least 1";
  const uint64_t least = MessageTemplate::min_size(o->from, o->to);
  if (o->size < least) return "--size must be at least " + std::to_string(least) + " octets";
  if (o->size > (uint64_t{1} << 30)) return "--size must be at most 1G";
  return "";
}

}  // namespace tern::bench
