#include "server/milter_hooks.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "base/log.h"
#include "net/awaitable.h"
#include "queue/fs_store.h"

namespace tern {

namespace {

using milter::Verdict;

Reply tempfail_reply() { return Reply(451, "4.7.1", "Service unavailable - try again later"); }

// "<a@b> SIZE=10 BODY=8BITMIME" as SMFIC_MAIL/RCPT want it: the path,
// then each parameter, as separate strings. The path ends at the first
// '>' outside a quoted string.
std::vector<std::string> path_args(std::string_view arg) {
  while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
  size_t end = 0;
  bool quoted = false;
  for (; end < arg.size(); ++end) {
    char c = arg[end];
    if (c == '\\' && quoted) {
      ++end;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == '>' && !quoted) {
      ++end;
      break;
    }
  }
  std::vector<std::string> out{std::string(arg.substr(0, end))};
  std::string_view rest = arg.substr(std::min(end, arg.size()));
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    std::string_view p = rest.substr(0, sp);
    if (!p.empty()) out.emplace_back(p);
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
  }
  return out;
}

// The lookups of resolve_client(), shared with the coroutine that makes
// them: it may outlive the wait (it ends with the resolver's own deadline).
struct NameLookup {
  explicit NameLookup(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<NameResult> ptr;
  std::optional<AddressResult> forward;
  bool done = false;
};

// PTR (unless known), then the forward lookup of its first name.
asio::awaitable<void> look_up_names(std::shared_ptr<NameLookup> l, DnsLookup* dns,
                                    asio::ip::address address, ReverseDns known,
                                    std::string known_ptr) {
  NameResult ptr;
  switch (known) {
    case ReverseDns::kFound:
      ptr.status = DnsStatus::kOk;
      ptr.records.push_back(std::move(known_ptr));
      break;
    case ReverseDns::kMissing:
      ptr.status = DnsStatus::kNxDomain;
      break;
    case ReverseDns::kTempFail:
      ptr.status = DnsStatus::kTempFail;
      break;
    case ReverseDns::kNotChecked:
      ptr = co_await dns->ptr(address);
      break;
  }
  l->ptr = ptr;
  if (ptr.ok() && !ptr.records.empty()) {
    const std::string& name = ptr.records.front();
    if (address.is_v4())
      l->forward = co_await dns->a(name);
    else
      l->forward = co_await dns->aaaa(name);
  }
  l->done = true;
  l->timer.cancel();
}

}  // namespace

bool milters_apply(const Config& config, ListenerKind kind) {
  for (const MilterConfig& m : config.milters)
    for (ListenerKind k : m.listeners)
      if (k == kind) return true;
  return false;
}

std::unique_ptr<MilterHooks> MilterHooks::make(std::shared_ptr<const Config> config,
                                               ListenerKind kind, std::string session_id,
                                               ByteStream& stream, Quarantine* quarantine) {
  if (!milters_apply(*config, kind)) return nullptr;
  std::unique_ptr<MilterHooks> h(new MilterHooks(std::move(config), kind, std::move(session_id)));
  h->quarantine_ = quarantine;
  h->client_ip_ = stream.remote_ip();
  h->client_port_ = stream.remote_port();
  h->local_ip_ = stream.local_ip();
  return h;
}

MilterHooks::MilterHooks(std::shared_ptr<const Config> config, ListenerKind kind,
                         std::string session_id)
    : config_(std::move(config)),
      session_id_(std::move(session_id)),
      listener_(listener_kind_name(kind)) {
  for (const MilterConfig& m : config_->milters)
    for (ListenerKind k : m.listeners)
      if (k == kind) milters_.emplace_back();
}

MilterHooks::~MilterHooks() = default;

asio::awaitable<void> MilterHooks::resolve_client(DnsLookup* dns, ReverseDns known,
                                                  std::string known_ptr) {
  std::error_code ec;
  const asio::ip::address address = asio::ip::make_address(client_ip_, ec);
  if (!dns || ec) co_return;  // "unknown"
  auto ex = co_await asio::this_coro::executor;
  auto l = std::make_shared<NameLookup>(ex);
  asio::co_spawn(ex, look_up_names(l, dns, address, known, std::move(known_ptr)), asio::detached);
  if (!l->done) {
    l->timer.expires_after(kClientNameTimeout);
    co_await l->timer.async_wait(use_tuple);
  }
  // Whatever came in time; a missing answer counts as a temporary failure.
  names_ = milter::client_names(client_ip_, l->ptr ? &*l->ptr : nullptr,
                                l->forward ? &*l->forward : nullptr);
  log_info("session={} milter client_name={} client_ptr={} resolve={}", session_id_,
           log_value(names_.name), log_value(names_.ptr), names_.resolve);
}

// Postfix's macros (milter_*_macros, smtpd_milter.c), as far as tern
// knows them.
milter::MacroMap MilterHooks::macros(const ServerSession* s) const {
  milter::MacroMap m;
  m["j"] = config_->hostname;
  m["{daemon_name}"] = listener_;
  m["{daemon_addr}"] = local_ip_;
  m["v"] = "tern " TERN_VERSION;
  m["_"] = milter::client_host_macro(names_, client_ip_);
  m["{client_addr}"] = client_ip_;
  m["{client_port}"] = std::to_string(client_port_);
  m["{client_name}"] = names_.name;
  m["{client_ptr}"] = names_.ptr;
  m["{client_resolve}"] = names_.resolve;
  if (!s) return m;
  if (const auto& tls = s->tls()) {
    m["{tls_version}"] = tls->version;
    m["{cipher}"] = tls->cipher;
  }
  if (!s->auth_user().empty()) {
    m["{auth_type}"] = s->auth_request().mechanism;
    m["{auth_authen}"] = s->auth_user();
  }
  if (!queue_id_.empty()) m["i"] = queue_id_;
  m["{mail_addr}"] = envelope_.mail.from.str();
  const FilterRequest& req = s->filter_request();
  if (req.stage == FilterStage::kRcpt) m["{rcpt_addr}"] = req.address;
  return m;
}

bool MilterHooks::usable(const Milter& m) const {
  return m.client && !m.client->broken() && !m.off && !m.client->session().connection_accepted();
}

void MilterHooks::failed(Milter& m) {
  const MilterConfig& c = m.client->config();
  log_warn("session={} milter={} failed: {}; default_action={}", session_id_, log_value(c.name),
           m.client->error(), c.default_accept ? "accept" : "tempfail");
  m.client->close();
  if (c.default_accept)
    m.off = true;
  else
    tempfail_ = true;
}

asio::awaitable<bool> MilterHooks::run(Milter& m, milter::Session::Step step, bool eom) {
  const MilterConfig& c = m.client->config();
  if (co_await m.client->run(std::move(step), eom ? c.eom_timeout : c.command_timeout))
    co_return true;
  failed(m);
  co_return false;
}

asio::awaitable<std::optional<Reply>> MilterHooks::connect() {
  auto ex = co_await asio::this_coro::executor;
  size_t i = 0;
  const milter::MacroMap mm = macros(nullptr);
  const char family = client_ip_.find(':') != std::string::npos ? '6' : '4';
  for (const MilterConfig& c : config_->milters) {
    bool here = false;
    for (ListenerKind k : c.listeners) here = here || listener_ == listener_kind_name(k);
    if (!here) continue;
    Milter& m = milters_[i++];
    m.client = std::make_unique<milter::Client>(ex, c);
    if (!co_await m.client->open()) {
      failed(m);
      continue;
    }
    auto step =
        m.client->session().connect("[" + client_ip_ + "]", family, client_port_, client_ip_, mm);
    bool await = step.await;
    if (!co_await run(m, std::move(step)) || !await) continue;
    if (std::optional<Reply> r = milter::verdict_reply(m.client->session().verdict())) {
      log_info("session={} milter={} stage=connect reply={}", session_id_, log_value(c.name),
               log_quoted(r->brief()));
      // RFC 5321 4.2.3/3.1: a greeting refuses with 554, or 421 to come back later.
      r->code = r->code >= 500 ? 554 : 421;
      co_return r;
    }
  }
  co_return std::nullopt;
}

asio::awaitable<void> MilterHooks::abort_all() {
  for (Milter& m : milters_)
    if (m.client && !m.client->broken()) co_await m.client->send(m.client->session().abort());
}

asio::awaitable<std::optional<Reply>> MilterHooks::stage(const ServerSession& s) {
  const FilterRequest& req = s.filter_request();
  if (req.stage == FilterStage::kHelo || req.stage == FilterStage::kMail) {
    // A new transaction (EHLO resets one too): the milters drop the last.
    co_await abort_all();
    data_sent_ = false;
    discard_ = false;
    envelope_ = Envelope{};
    queue_id_.clear();
  }
  if (req.stage == FilterStage::kMail) {
    queue_id_ = req.queue_id;
    std::string a = req.address;
    size_t at = a.rfind('@');
    envelope_.mail.from =
        at == std::string::npos ? Address{a, ""} : Address{a.substr(0, at), a.substr(at + 1)};
  }
  if (req.stage != FilterStage::kHelo && tempfail_) co_return tempfail_reply();
  const milter::MacroMap mm = macros(&s);
  if (req.stage == FilterStage::kData) co_return co_await data_stage(mm);
  for (Milter& m : milters_) {
    if (!usable(m)) continue;
    milter::Session& ms = m.client->session();
    milter::Session::Step step;
    switch (req.stage) {
      case FilterStage::kHelo:
        step = ms.helo(req.address, mm);
        break;
      case FilterStage::kMail:
        step = ms.mail(path_args(req.arg), mm);
        break;
      case FilterStage::kRcpt:
        step = ms.rcpt(path_args(req.arg), mm);
        break;
      case FilterStage::kData:
        break;
    }
    bool await = step.await;
    if (!co_await run(m, std::move(step))) {
      if (tempfail_ && req.stage != FilterStage::kHelo) co_return tempfail_reply();
      continue;
    }
    if (!await) continue;
    const Verdict& v = ms.verdict();
    if (v.kind == Verdict::Kind::kDiscard) discard_ = true;
    if (std::optional<Reply> r = milter::verdict_reply(v)) {
      log_info("session={} milter={} stage={} reply={}", session_id_,
               log_value(m.client->config().name), milter::stage_name(ms.stage()),
               log_quoted(r->brief()));
      co_return r;
    }
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<Reply>> MilterHooks::data_stage(const milter::MacroMap& mm) {
  data_sent_ = true;
  if (tempfail_) co_return tempfail_reply();
  for (Milter& m : milters_) {
    if (!usable(m)) continue;
    milter::Session& ms = m.client->session();
    auto step = ms.data(mm);
    bool await = step.await;
    if (!co_await run(m, std::move(step))) {
      if (tempfail_) co_return tempfail_reply();
      continue;
    }
    if (!await) continue;
    if (ms.verdict().kind == Verdict::Kind::kDiscard) discard_ = true;
    if (std::optional<Reply> r = milter::verdict_reply(ms.verdict())) {
      log_info("session={} milter={} stage=data reply={}", session_id_,
               log_value(m.client->config().name), log_quoted(r->brief()));
      co_return r;
    }
  }
  co_return std::nullopt;
}

Status MilterHooks::begin(QueueStore& store, const Envelope& env,
                          std::unique_ptr<SpoolWriter>* out) {
  std::unique_ptr<MilterSpool> spool;
  Quarantine* quarantine = quarantine_;
  auto quarantine_store = [quarantine](QueueStore** q) {
    if (!quarantine) return Status::Transient("quarantine: not available");
    FsQueueStore* fs = nullptr;
    Status s = quarantine->store(&fs);
    *q = fs;
    return s;
  };
  Status s =
      MilterSpool::create(store, quarantine_store, env, config_->data_dir + "/queue/tmp", &spool);
  envelope_ = env;
  spool_ = spool.get();
  *out = std::move(spool);
  return s;
}

asio::awaitable<MilterHooks::End> MilterHooks::end(const ServerSession& s, SpoolWriter* spool) {
  End e;
  MilterSpool* sp = spool == spool_ ? spool_ : nullptr;
  spool_ = nullptr;
  if (!sp) co_return e;
  const milter::MacroMap mm = macros(&s);
  if (tempfail_) {
    e.refuse = tempfail_reply();
    co_return e;
  }
  // BDAT: the DATA stage had no command of its own; it goes now.
  if (!data_sent_) {
    if (std::optional<Reply> r = co_await data_stage(mm)) {
      e.refuse = std::move(r);
      co_await abort_all();
      co_return e;
    }
  }
  for (Milter& m : milters_) {
    if (discard_ || e.discard) break;
    if (!usable(m) || m.client->session().message_done()) continue;
    if (std::optional<Reply> r = co_await content(m, *sp, &e)) {
      e.refuse = std::move(r);
      break;
    }
  }
  if (discard_) e.discard = true;
  if (!e.refuse && !e.discard && sp->envelope().rcpts.empty()) {
    e.discard = true;  // every recipient deleted: nothing to deliver
    e.note += " milter_rcpts=none";
  }
  if (e.discard && !e.refuse)
    log_info("session={} milter discard id={}: 250 sent, nothing delivered{}", session_id_,
             queue_id_, e.note);
  // Milters still inside the message (a refusal or discard stopped the
  // loop early) drop it.
  co_await abort_all();
  envelope_ = sp->envelope();
  co_return e;
}

// Header fields, EOH, body chunks and EOM to one milter; its changes are
// applied to `spool`. A refusal comes back; a DISCARD sets end->discard.
asio::awaitable<std::optional<Reply>> MilterHooks::content(Milter& m, MilterSpool& spool,
                                                           End* end) {
  milter::Session& ms = m.client->session();
  const milter::MacroMap mm = milter::MacroMap{{"i", queue_id_}};
  // The verdict after a stage: nullopt to go on, a refusal, or an empty
  // reply (code 0) to stop with this milter without one.
  auto after = [&](bool ok, bool await) -> std::optional<Reply> {
    if (!ok) return tempfail_ ? tempfail_reply() : Reply();
    if (!await) return std::nullopt;
    const Verdict& v = ms.verdict();
    if (v.kind == Verdict::Kind::kDiscard) {
      end->discard = true;
      end->note += " milter=" + m.client->config().name + ":discard";
      return Reply();
    }
    if (v.kind == Verdict::Kind::kAccept) return Reply();
    if (std::optional<Reply> r = milter::verdict_reply(v)) return r;
    return std::nullopt;
  };
  auto step_out = [&](milter::Session::Step step,
                      bool eom = false) -> asio::awaitable<std::optional<Reply>> {
    bool await = step.await;
    bool ok = co_await run(m, std::move(step), eom);
    co_return after(ok, await);
  };
  std::vector<milter::HeaderField>* fields = nullptr;
  if (Status st = spool.header(&fields); !st.ok()) {
    log_error("session={} milter spool read failed: {}", session_id_, st.message());
    co_return Reply(451, "4.3.0", "Local error in processing, try again later");
  }
  auto stop = [](const std::optional<Reply>& r) { return r.has_value(); };
  for (const milter::HeaderField& f : *fields) {
    std::optional<Reply> r = co_await step_out(ms.header(f.name, f.value, mm));
    if (stop(r)) co_return r->code ? r : std::nullopt;
  }
  if (auto r = co_await step_out(ms.eoh(mm)); stop(r)) co_return r->code ? r : std::nullopt;
  std::string piece;
  // SMFIP_NOBODY: not a single chunk is read for this milter.
  const bool body = !(ms.protocol() & milter::proto::kNoBody);
  for (uint64_t at = 0; body && !ms.body_skipped() && !ms.message_done();) {
    if (Status st = spool.read_body(at, milter::kChunkSize, &piece); !st.ok()) {
      log_error("session={} milter spool read failed: {}", session_id_, st.message());
      co_return Reply(451, "4.3.0", "Local error in processing, try again later");
    }
    if (piece.empty()) break;
    at += piece.size();
    if (auto r = co_await step_out(ms.body(piece)); stop(r)) co_return r->code ? r : std::nullopt;
  }
  // EOM: ACCEPT and CONTINUE both take the modifications that came first.
  milter::Session::Step eom = ms.eom(mm);
  if (!co_await run(m, std::move(eom), true))
    co_return tempfail_ ? std::optional<Reply>(tempfail_reply()) : std::nullopt;
  const Verdict& v = ms.verdict();
  if (v.kind == Verdict::Kind::kDiscard) {
    end->discard = true;
    end->note += " milter=" + m.client->config().name + ":discard";
    co_return std::nullopt;
  }
  if (std::optional<Reply> r = milter::verdict_reply(v)) {
    log_info("session={} milter={} stage=eom reply={}", session_id_,
             log_value(m.client->config().name), log_quoted(r->brief()));
    co_return r;
  }
  co_return apply(m, spool, end);
}

// The EOM modifications of `m`, in order, onto the spool.
std::optional<Reply> MilterHooks::apply(Milter& m, MilterSpool& spool, End* end) {
  milter::Session& ms = m.client->session();
  const std::string& name = m.client->config().name;
  const bool leadspc = ms.protocol() & milter::proto::kHdrLeadSpc;
  std::vector<milter::HeaderField>* fields = nullptr;
  if (!spool.header(&fields).ok())
    return Reply(451, "4.3.0", "Local error in processing, try again later");
  bool replaced = false;
  milter::BodyNormalizer body;
  std::vector<std::string> done;
  auto local_error = [&](const Status& st) {
    log_error("session={} milter={} applying changes failed: {}", session_id_, log_value(name),
              st.message());
    return Reply(451, "4.3.0", "Local error in processing, try again later");
  };
  using K = milter::Response::Kind;
  for (const milter::Response& mod : ms.modifications()) {
    switch (mod.kind) {
      case K::kAddHeader:
      case K::kInsHeader:
      case K::kChgHeader:
        milter::apply_header_change(mod, leadspc, fields);
        done.push_back(mod.kind == K::kAddHeader   ? "addheader"
                       : mod.kind == K::kInsHeader ? "insheader"
                       : mod.value.empty()         ? "delheader"
                                                   : "chgheader");
        break;
      case K::kReplBody:
        if (!replaced) {
          if (Status st = spool.replace_body(); !st.ok()) return local_error(st);
          replaced = true;
          done.push_back("replbody");
        }
        if (Status st = spool.append_body(body.feed(mod.value)); !st.ok()) return local_error(st);
        break;
      case K::kAddRcpt:
      case K::kAddRcptPar:
      case K::kDelRcpt:
      case K::kChgFrom: {
        std::string error;
        if (!milter::apply_envelope_change(mod, &spool.envelope(), &error)) {
          // As Postfix: a bad change is logged and skipped, the message goes on.
          log_warn("session={} milter={} ignored: {}", session_id_, log_value(name), error);
          break;
        }
        done.push_back(mod.kind == K::kDelRcpt   ? "delrcpt"
                       : mod.kind == K::kChgFrom ? "chgfrom"
                                                 : "addrcpt");
        break;
      }
      case K::kQuarantine:
        spool.quarantine(mod.value);
        end->quarantine = true;
        done.push_back("quarantine");
        log_info("session={} milter={} quarantine id={} reason={}", session_id_, log_value(name),
                 queue_id_, log_quoted(mod.value));
        break;
      default:
        break;
    }
  }
  if (replaced)
    if (Status st = spool.append_body(body.finish()); !st.ok()) return local_error(st);
  if (!done.empty()) {
    std::string list;
    for (const std::string& d : done) list += (list.empty() ? "" : ",") + d;
    end->note += " milter=" + name + ":" + list;
  }
  return std::nullopt;
}

void MilterHooks::cancel() {
  for (Milter& m : milters_)
    if (m.client) m.client->close();
}

asio::awaitable<void> MilterHooks::quit() {
  for (Milter& m : milters_) {
    if (!m.client || m.client->broken()) continue;
    std::string bytes = m.client->session().abort();
    bytes += m.client->session().quit();
    co_await m.client->send(std::move(bytes));
    m.client->close();
  }
}

}  // namespace tern
