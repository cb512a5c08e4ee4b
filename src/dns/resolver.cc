// Resolver: libunbound's asynchronous API driven by the io_context.
//
// A query is a Query object in the frame of the coroutine that waits for
// it. Its steady_timer does two jobs: it expires at the deadline, and the
// libunbound callback cancels it to wake the coroutine early. Whoever gets
// there first decides; `done` says which did.
#include "dns/resolver.h"

#include <fmt/format.h>
#include <unbound.h>

#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "dns/rdata.h"
#include "net/awaitable.h"

namespace tern {
namespace {

// RFC 1035 3.2.2, 3.2.4; RFC 3596 2.1.
constexpr int kTypeA = 1;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;  // RFC 6698 7.1
constexpr int kClassIn = 1;

// RFC 1035 4.1.1, RFC 6895 2.3.
std::string rcode_name(int rcode) {
  switch (rcode) {
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return fmt::format("RCODE {}", rcode);
  }
}

const char* type_name(int type) {
  switch (type) {
    case kTypeA:
      return "A";
    case kTypePtr:
      return "PTR";
    case kTypeMx:
      return "MX";
    case kTypeTxt:
      return "TXT";
    case kTypeAaaa:
      return "AAAA";
    case kTypeTlsa:
      return "TLSA";
    default:
      return "?";
  }
}

// A libunbound error code (not a DNS RCODE) as an outcome.
void set_error(int err, DnsStatus* status, std::string* error) {
  if (err == UB_SYNTAX) {  // the name cannot exist
    *status = DnsStatus::kNxDomain;
    *error = "not a valid domain name";
  } else {
    *status = DnsStatus::kTempFail;
    *error = ub_strerror(err);
  }
}

std::string seconds_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return fmt::format("{}s", d.count() / 1000);
  return fmt::format("{}ms", d.count());
}

}  // namespace

const char* dns_security_name(DnsSecurity s) {
  switch (s) {
    case DnsSecurity::kInsecure:
      return "insecure";
    case DnsSecurity::kSecure:
      return "secure";
    case DnsSecurity::kBogus:
      return "bogus";
  }
  return "?";
}

asio::awaitable<TlsaResult> DnsLookup::tlsa(std::string name) {
  TlsaResult r;
  r.status = DnsStatus::kNoData;
  r.canonical_name = normalize_name(name);
  r.error = "no TLSA record";
  co_return r;
}

const char* dns_status_name(DnsStatus s) {
  switch (s) {
    case DnsStatus::kOk:
      return "ok";
    case DnsStatus::kNoData:
      return "no data";
    case DnsStatus::kNxDomain:
      return "NXDOMAIN";
    case DnsStatus::kTempFail:
      return "temporary failure";
  }
  return "?";
}

struct Resolver::Answer {
  DnsStatus status = DnsStatus::kTempFail;
  std::vector<std::string> rdata;
  std::string canonical_name;
  uint32_t ttl = 0;
  std::string error;
  DnsSecurity security = DnsSecurity::kInsecure;
};

struct Resolver::Query {
  explicit Query(asio::io_context& io, int t) : timer(io), type(t) {}
  asio::steady_timer timer;
  int type;
  int id = 0;
  bool done = false;  // `answer` is final
  Answer answer;
};

Resolver::Resolver(asio::io_context& io, ResolverOptions options)
    : io_(io), timeout_(options.timeout), pipe_(io) {
  ctx_ = ub_ctx_create();
  if (!ctx_) throw std::runtime_error("libunbound: cannot create a resolver context");
  try {
    auto check = [](int rc, const std::string& what) {
      if (rc != 0) throw std::runtime_error(fmt::format("{}: {}", what, ub_strerror(rc)));
    };
    // Forwarders and resolv.conf often name a resolver on loopback
    // (127.0.0.53, a local Unbound, the tests' server).
    check(ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no"), "do-not-query-localhost");
    // No validator without a trust anchor; see the DNSSEC note in the header.
    if (options.trust_anchor.empty()) {
      check(ub_ctx_set_option(ctx_, "module-config:", "iterator"), "module-config");
    } else {
      check(ub_ctx_set_option(ctx_, "module-config:", "validator iterator"), "module-config");
      // A static anchor: RFC 5011 updates would need a file we may write;
      // Debian's dns-root-data package keeps the root key current.
      // libunbound reads the file only at the first query; an unreadable
      // one would fail every lookup then, so it is refused here.
      if (!std::ifstream(options.trust_anchor)) {
        throw std::runtime_error(fmt::format(
            "DNSSEC trust anchor '{}' cannot be read: {} (install dns-root-data, or set [dns] "
            "trust_anchor, or dnssec = false)",
            options.trust_anchor, std::strerror(errno)));
      }
      check(ub_ctx_add_ta_file(ctx_, options.trust_anchor.c_str()),
            "DNSSEC trust anchor '" + options.trust_anchor + "'");
    }
    // libunbound answers some names itself (unbound.conf(5), "default
    // zones"). The upstream resolver is the one authority here, so only
    // localhost, .onion (RFC 7686 2: must not leak) and .invalid (RFC 6761
    // 6.4) stay local; private reverse zones (AS112), test. (RFC 6761 6.2)
    // and home.arpa. (RFC 8375) are asked upstream, which may serve them;
    // so is 127.in-addr.arpa. but for 127.0.0.1 (the tests' server gives
    // their 127.x.y.z clients names of their own, for [checks] reverse_dns).
    // (A transparent zone of the same name keeps a default one out;
    // "nodefault" does not work through ub_ctx_set_option in 1.17.)
    check(ub_ctx_set_option(ctx_, "unblock-lan-zones:", "yes"), "unblock-lan-zones");
    for (const char* zone :
         {"test. transparent", "home.arpa. transparent", "127.in-addr.arpa. transparent"}) {
      check(ub_ctx_set_option(ctx_, "local-zone:", zone), "local-zone");
    }
    // A thread, not a forked process: the server holds listening sockets
    // and a thread pool that a fork would duplicate.
    check(ub_ctx_async(ctx_, 1), "libunbound threads");
    if (options.forwarders.empty()) {
      check(ub_ctx_resolvconf(ctx_, options.resolv_conf.c_str()),
            "cannot use " + options.resolv_conf);
    } else {
      for (const std::string& f : options.forwarders) {
        check(ub_ctx_set_fwd(ctx_, f.c_str()), "DNS forwarder '" + f + "'");
      }
    }
    // 127.0.0.1 stays localhost here, as in the default zone it replaces.
    // (Last: adding data finalizes the context's settings.)
    check(ub_ctx_data_add(ctx_, "1.0.0.127.in-addr.arpa. 10800 IN PTR localhost."), "local-data");
    pipe_.assign(ub_fd(ctx_));
  } catch (...) {
    ub_ctx_delete(ctx_);
    throw;
  }
}

Resolver::~Resolver() {
  *alive_ = false;
  for (Query* q : in_flight_) {
    if (q->done) continue;  // answered; its coroutine has yet to resume
    ub_cancel(ctx_, q->id);
    q->answer.error = "resolver shut down";
    q->done = true;
    q->timer.cancel();
  }
  pipe_.release();  // the descriptor belongs to libunbound
  ub_ctx_delete(ctx_);
}

void Resolver::on_answer(void* arg, int err, ub_result* r) {
  auto* q = static_cast<Query*>(arg);
  Answer& a = q->answer;
  if (err != 0) {
    set_error(err, &a.status, &a.error);
  } else {
    a.ttl = r->ttl > 0 ? static_cast<uint32_t>(r->ttl) : 0;
    if (r->canonname) a.canonical_name = normalize_name(r->canonname);
    if (r->bogus) {
      // RFC 4035 5.5, RFC 7672 2.1.1: not "no record", a reason to wait.
      a.security = DnsSecurity::kBogus;
      a.error = fmt::format("DNSSEC validation failed for {}: {}", type_name(q->type),
                            r->why_bogus ? r->why_bogus : "bogus");
    } else if (r->rcode == 3) {
      a.status = DnsStatus::kNxDomain;
      a.error = "NXDOMAIN";
    } else if (r->rcode != 0) {
      a.error = rcode_name(r->rcode);
    } else if (r->havedata) {
      a.status = DnsStatus::kOk;
      for (int i = 0; r->data[i]; ++i) a.rdata.emplace_back(r->data[i], r->len[i]);
    } else {
      a.status = DnsStatus::kNoData;
      a.error = fmt::format("no {} record", type_name(q->type));
    }
    if (r->secure && !r->bogus) a.security = DnsSecurity::kSecure;
  }
  if (r) ub_resolve_free(r);
  q->done = true;
  q->timer.cancel();
}

void Resolver::watch() {
  if (watching_ || in_flight_.empty()) return;
  watching_ = true;
  pipe_.async_wait(asio::posix::descriptor_base::wait_read,
                   [this, alive = alive_](const std::error_code& ec) {
                     if (!*alive) return;
                     watching_ = false;
                     if (ec == asio::error::operation_aborted) {
                       watch();  // cancelled when idle; a query may have started since
                       return;
                     }
                     const int rc = ec ? UB_PIPE : ub_process(ctx_);
                     if (rc != 0) {
                       // The background thread is gone: nothing will answer.
                       for (Query* q : in_flight_) {
                         if (q->done) continue;
                         q->answer.error = std::string("resolver: ") + ub_strerror(rc);
                         q->done = true;
                         q->timer.cancel();
                       }
                       return;
                     }
                     watch();
                   });
}

asio::awaitable<Resolver::Answer> Resolver::query(std::string name, int type) {
  Query q(io_, type);
  const auto timeout = timeout_;
  q.timer.expires_after(timeout);
  const int rc =
      ub_resolve_async(ctx_, name.c_str(), type, kClassIn, &q, &Resolver::on_answer, &q.id);
  if (rc != 0) {
    set_error(rc, &q.answer.status, &q.answer.error);
    q.answer.canonical_name = normalize_name(name);
    co_return std::move(q.answer);
  }
  in_flight_.insert(&q);
  watch();
  const std::shared_ptr<bool> alive = alive_;
  std::error_code ec;
  if (!q.done) std::tie(ec) = co_await q.timer.async_wait(use_tuple);
  if (!*alive) co_return std::move(q.answer);  // answered by the destructor
  in_flight_.erase(&q);
  if (in_flight_.empty() && watching_) pipe_.cancel();  // let an idle io_context return
  if (!q.done) {
    ub_cancel(ctx_, q.id);
    q.answer.error = ec ? "query cancelled" : "timed out after " + seconds_text(timeout);
  }
  if (q.answer.canonical_name.empty()) q.answer.canonical_name = normalize_name(name);
  co_return std::move(q.answer);
}

template <typename T, typename Parse>
asio::awaitable<DnsResult<T>> Resolver::lookup(std::string name, int type, Parse parse) {
  Answer a = co_await query(std::move(name), type);
  DnsResult<T> r;
  r.status = a.status;
  r.canonical_name = std::move(a.canonical_name);
  r.ttl = a.ttl;
  r.error = std::move(a.error);
  r.security = a.security;
  for (const std::string& rdata : a.rdata) {
    std::optional<T> v = parse(rdata);
    if (!v) {
      // As Postfix does: a malformed answer may be a passing fault.
      r.status = DnsStatus::kTempFail;
      r.error = fmt::format("malformed {} record", type_name(type));
      r.records.clear();
      co_return r;
    }
    r.records.push_back(std::move(*v));
  }
  co_return r;
}

asio::awaitable<MxResult> Resolver::mx(std::string name) {
  co_return co_await lookup<MxRecord>(std::move(name), kTypeMx, parse_mx);
}

asio::awaitable<AddressResult> Resolver::a(std::string name) {
  co_return co_await lookup<asio::ip::address>(std::move(name), kTypeA, parse_a);
}

asio::awaitable<AddressResult> Resolver::aaaa(std::string name) {
  co_return co_await lookup<asio::ip::address>(std::move(name), kTypeAaaa, parse_aaaa);
}

asio::awaitable<TxtResult> Resolver::txt(std::string name) {
  co_return co_await lookup<TxtRecord>(std::move(name), kTypeTxt, parse_txt);
}

asio::awaitable<TlsaResult> Resolver::tlsa(std::string name) {
  co_return co_await lookup<TlsaRecord>(std::move(name), kTypeTlsa, parse_tlsa);
}

asio::awaitable<NameResult> Resolver::ptr(asio::ip::address address) {
  co_return co_await lookup<std::string>(reverse_name(address), kTypePtr, parse_ptr);
}

}  // namespace tern
