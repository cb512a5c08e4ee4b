#include "server/queue_admin.h"

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <tuple>

#include "base/log.h"
#include "queue/queue_id.h"

namespace tern {
namespace {

using nlohmann::json;

json fail(const std::string& text) { return json{{"ok", false}, {"error", text}}; }

json entry_json(const QueueEntryInfo& i) {
  json j{{"id", i.id},        {"received_at", i.received_at}, {"sender", i.sender},
         {"rcpts", i.rcpts},  {"pending", i.pending_rcpts},   {"last_error", i.last_error},
         {"active", i.active}};
  if (i.next_attempt != kNever) j["next_attempt"] = i.next_attempt;
  return j;
}

std::string notify_text(unsigned n) {
  if (n == kNotifyNone) return "";
  std::string out;
  auto add = [&](unsigned bit, const char* name) {
    if (!(n & bit)) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(kNotifyNever, "NEVER");
  add(kNotifySuccess, "SUCCESS");
  add(kNotifyFailure, "FAILURE");
  add(kNotifyDelay, "DELAY");
  return out;
}

json message_json(const QueuedMessage& m, const QueueEntryInfo* info) {
  const Envelope& e = m.envelope;
  json j = info ? entry_json(*info) : json{{"id", e.id}};
  j["received_at"] = e.received_at;
  j["sender"] = e.mail.from.str();
  j["rcpts"] = e.rcpts.size();
  j["listener"] = e.listener;
  j["client_ip"] = e.client_ip;
  j["auth_user"] = e.auth_user;
  j["envid"] = e.mail.envid;
  j["ret"] = e.mail.ret == DsnRet::kFull ? "FULL" : e.mail.ret == DsnRet::kHdrs ? "HDRS" : "";
  if (e.mail.size) j["size"] = *e.mail.size;
  j["requiretls"] = e.mail.requiretls;  // RFC 8689: only onward over authenticated TLS
  // Released from the quarantine: what the milter said then.
  if (!e.quarantine_reason.empty()) j["quarantine_reason"] = e.quarantine_reason;
  json rcpts = json::array();
  for (size_t i = 0; i < e.rcpts.size(); ++i) {
    const RecipientState& s = m.state[i];
    rcpts.push_back(json{{"address", e.rcpts[i].to.str()},
                         {"orcpt", e.rcpts[i].orcpt},
                         {"notify", notify_text(e.rcpts[i].notify)},
                         {"outcome", outcome_name(s.outcome)},
                         {"done", s.done},
                         {"attempts", s.attempts},
                         {"last_attempt", s.last_attempt},
                         {"next_attempt", s.done ? 0 : s.next_attempt},
                         {"last_reply", reply_line(s.last_reply)},
                         {"remote_mta", s.remote_mta},
                         {"delay_warned", s.delay_warned}});
  }
  j["recipients"] = std::move(rcpts);
  return j;
}

json held_json(const Quarantine::Entry& q) {
  const Envelope& e = q.envelope;
  json rcpts = json::array();
  for (const RcptArgs& r : e.rcpts) rcpts.push_back(r.to.str());
  return json{{"id", e.id},
              {"received_at", e.received_at},
              {"sender", e.mail.from.str()},
              {"recipients", std::move(rcpts)},
              {"size", q.size},
              {"reason", e.quarantine_reason},
              {"listener", e.listener},
              {"client_ip", e.client_ip}};
}

template <typename R, typename F>
asio::awaitable<R> call(F f) {  // f by value: it lives in the frame
  co_return f();
}

// Runs `f` on `ex` (file I/O off the loop). As scheduler.h says of GCC 12:
// name the lambda before passing it, never a temporary in co_await.
template <typename R, typename F>
asio::awaitable<R> off_loop(const asio::any_io_executor& ex, F f) {
  return asio::co_spawn(ex, call<R>(std::move(f)), asio::use_awaitable);
}

struct Released {
  Status status;
  Envelope envelope;
  bool moved = false;
};

// `tern queue quarantine | release` and delete of a quarantined message.
asio::awaitable<json> quarantine_request(QueueAdmin& a, const std::string& op,
                                         const std::string& id) {
  Quarantine* q = a.quarantine;
  if (!q) co_return fail("this server has no quarantine");
  if (op == "quarantine") {
    auto list = [q] {
      std::vector<Quarantine::Entry> out;
      std::vector<std::string> problems;
      Status s = q->list(&out, &problems);
      return std::make_tuple(s, std::move(out), std::move(problems));
    };
    auto [s, entries, problems] = co_await off_loop<
        std::tuple<Status, std::vector<Quarantine::Entry>, std::vector<std::string>>>(a.blocking,
                                                                                      list);
    if (!s.ok()) co_return fail(s.message());
    for (const std::string& p : problems) log_warn("quarantine: cannot read {}", p);
    json messages = json::array();
    for (const Quarantine::Entry& e : entries) messages.push_back(held_json(e));
    co_return json{{"ok", true}, {"now", a.scheduler.now()}, {"messages", std::move(messages)}};
  }
  if (op == "release") {
    auto release = [q, id] {
      Released r;
      r.status = q->release(id, &r.envelope, &r.moved);
      return r;
    };
    Released r = co_await off_loop<Released>(a.blocking, release);
    if (!r.moved) co_return fail(r.status.message());
    // In the live queue, durably: due at once.
    a.scheduler.enqueue(r.envelope);
    log_info("queue release id={} from=quarantine{}", id,
             r.status.ok() ? "" : " cleanup_error=" + log_quoted(r.status.message()));
    json out{{"ok", true}};
    if (!r.status.ok())
      out["warning"] =
          "released, but the quarantine copy stays until the next start: " + r.status.message();
    co_return out;
  }
  // delete
  auto remove = [q, id] { return q->remove(id); };
  Status s = co_await off_loop<Status>(a.blocking, remove);
  if (!s.ok()) co_return fail(s.message());
  log_info("queue delete id={} from=quarantine", id);
  co_return json{{"ok", true}, {"from", "quarantine"}};
}

// The "id" of a request; "" if absent. Error text in *error if malformed.
std::string id_of(const json& request, std::string* error) {
  auto it = request.find("id");
  if (it == request.end()) return "";
  if (!it->is_string() || !is_valid_queue_id(it->get<std::string>())) {
    *error = "\"id\" must be a queue id";
    return "";
  }
  return it->get<std::string>();
}

}  // namespace

asio::awaitable<json> handle_queue_request(QueueAdmin admin, json request) {
  Scheduler& scheduler = admin.scheduler;
  auto op_it = request.find("op");
  if (op_it == request.end() || !op_it->is_string()) co_return fail("\"op\" is missing");
  const std::string op = op_it->get<std::string>();
  std::string error;
  const std::string id = id_of(request, &error);
  if (!error.empty()) co_return fail(error);
  const bool needs_id = op == "show" || op == "delete" || op == "bounce" || op == "release";
  if (needs_id && id.empty()) co_return fail("\"" + op + "\" needs an \"id\"");

  if (op == "list") {
    json messages = json::array();
    // Named, not a temporary in the for: it lives across the co_await below.
    const std::vector<QueueEntryInfo> entries = scheduler.list();
    for (const QueueEntryInfo& i : entries) {
      json j = entry_json(i);
      // RFC 8689: whether the message must go onward over authenticated
      // TLS is in its envelope, not in the scheduler's index, so each file
      // is read (off the loop thread), as Postfix's showq reads every queue
      // file for mailq. A message gone meanwhile shows false.
      QueuedMessage m;
      Status st = co_await scheduler.inspect(i.id, &m);
      j["requiretls"] = st.ok() && m.envelope.mail.requiretls;
      messages.push_back(std::move(j));
    }
    co_return json{{"ok", true}, {"now", scheduler.now()}, {"messages", std::move(messages)}};
  }
  if (op == "show") {
    QueuedMessage m;
    Status s = co_await scheduler.inspect(id, &m);
    if (!s.ok()) co_return fail("no message " + id + " in the queue (" + s.message() + ")");
    const QueueEntryInfo* info = nullptr;
    std::vector<QueueEntryInfo> all = scheduler.list();
    for (const QueueEntryInfo& i : all)
      if (i.id == id) info = &i;
    co_return json{{"ok", true}, {"now", scheduler.now()}, {"message", message_json(m, info)}};
  }
  if (op == "flush") {
    size_t n = scheduler.flush(id);
    log_info("queue flush id={} messages={}", id.empty() ? "*" : id, n);
    if (!id.empty() && n == 0) co_return fail("no message " + id + " in the queue");
    co_return json{{"ok", true}, {"flushed", n}};
  }
  if (op == "quarantine" || op == "release") co_return co_await quarantine_request(admin, op, id);
  if (op == "delete") {
    // Not in the live queue: perhaps in the quarantine (ids are unique
    // across both; a release moves, never copies).
    bool queued = false;
    for (const QueueEntryInfo& i : scheduler.list()) queued = queued || i.id == id;
    if (!queued && admin.quarantine) {
      Quarantine* q = admin.quarantine;
      auto held = [q, id] { return q->has(id); };
      if (co_await off_loop<bool>(admin.blocking, held))
        co_return co_await quarantine_request(admin, op, id);
    }
  }
  if (op == "delete" || op == "bounce") {
    log_info("queue {} id={} requested", op, id);
    // Not `c ? co_await a : co_await b`: GCC 12 destroys that result twice.
    Status s;
    if (op == "delete")
      s = co_await scheduler.remove(id);
    else
      s = co_await scheduler.bounce(id);
    if (!s.ok()) co_return fail(s.message());
    if (op == "delete") co_return json{{"ok", true}, {"from", "queue"}};
    co_return json{{"ok", true}};
  }
  co_return fail("unknown op \"" + op + "\"");
}

}  // namespace tern
