// Resolver: the real DnsLookup, on libunbound, asynchronous inside an Asio
// event loop. Queries go to the forwarders given in the options, else to
// the nameservers of /etc/resolv.conf (libunbound forwards with recursion
// desired; it does not read /etc/hosts, which has no say in mail routing).
// Answers are cached by libunbound for their TTL.
//
// How it runs: libunbound resolves in a background thread of its own and
// signals answers on a pipe; the pipe's descriptor is watched by the
// io_context, and ub_process() runs the completion callbacks on the
// io_context's thread, which resume the waiting coroutines. Every query
// has a deadline (options.timeout), after which it is cancelled and
// reported as kTempFail.
//
// DNSSEC: with a trust anchor (options.trust_anchor), libunbound's
// validator checks every answer (RFC 4035 5) and DnsResult::security says
// secure, insecure or bogus; a bogus answer is kTempFail with the reason
// (RFC 7672 2.1.1: defer, never "no record"). Upstream servers must then
// return DNSSEC records (libunbound sets the DO bit): a forwarder that
// strips RRSIGs makes every signed answer bogus. Without a trust anchor
// nothing is validated and every answer is insecure.
//
// Thread safety: one Resolver per io_context, run by ONE thread. Every
// lookup must be started from that thread, and the Resolver must be
// destroyed on it, before the io_context. Lookups still waiting when it is
// destroyed complete with kTempFail ("resolver shut down").
#pragma once

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "dns/lookup.h"

struct ub_ctx;
struct ub_result;

namespace tern {

struct ResolverOptions {
  // Upstream servers: "IP" or "IP@port" (IPv4 or IPv6 literal, port 53 by
  // default), tried by libunbound in turn. Empty: those of `resolv_conf`
  // (127.0.0.1 if the file lists none).
  std::vector<std::string> forwarders;
  std::string resolv_conf = "/etc/resolv.conf";
  // Deadline of each query, from its start to its answer.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // DNSSEC trust anchor file: DS or DNSKEY records in zone-file form, as
  // Debian's dns-root-data ships (/usr/share/dns/root.key), or a test
  // zone's key. Empty: no validation.
  std::string trust_anchor;
};

class Resolver final : public DnsLookup {
 public:
  // Throws std::runtime_error naming the problem when libunbound refuses a
  // forwarder or resolv_conf cannot be read.
  Resolver(asio::io_context& io, ResolverOptions options);
  ~Resolver() override;
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  asio::awaitable<MxResult> mx(std::string name) override;
  asio::awaitable<AddressResult> a(std::string name) override;
  asio::awaitable<AddressResult> aaaa(std::string name) override;
  asio::awaitable<TxtResult> txt(std::string name) override;
  asio::awaitable<NameResult> ptr(asio::ip::address address) override;
  asio::awaitable<TlsaResult> tlsa(std::string name) override;

 private:
  struct Answer;  // one query's outcome, RDATA still raw
  struct Query;   // one query in flight; lives in the awaiting coroutine's frame

  asio::awaitable<Answer> query(std::string name, int type);
  template <typename T, typename Parse>
  asio::awaitable<DnsResult<T>> lookup(std::string name, int type, Parse parse);
  static void on_answer(void* query, int err, ub_result* result);
  void watch();  // waits for the pipe to be readable while queries are in flight

  asio::io_context& io_;
  std::chrono::milliseconds timeout_;
  ub_ctx* ctx_ = nullptr;
  asio::posix::stream_descriptor pipe_;  // libunbound's answer pipe; not ours to close
  std::unordered_set<Query*> in_flight_;
  bool watching_ = false;
  // Shared with callbacks and coroutines that may run after destruction:
  // false once the Resolver is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tern
