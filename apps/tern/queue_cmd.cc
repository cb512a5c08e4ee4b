// `tern queue list|show|flush|delete|bounce|quarantine|release`: looks at
// and acts on the queue (and the milters' quarantine, queue/quarantine.h)
// of the running `tern serve` through its admin socket
// (<data_dir>/admin.sock; server/queue_admin.h lists the requests).
//
// Exit codes: 0 done; 1 the server refused (no such message...) or the
// socket misbehaved; 2 configuration problem; 75 (EX_TEMPFAIL) no server
// runs on this data dir.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "relay/dsn.h"
#include "relay/schedule.h"
#include "server/admin_socket.h"

namespace tern {
namespace {

using nlohmann::json;

constexpr int kExitNotRunning = 75;  // EX_TEMPFAIL: try again once the server runs

struct QueueOptions {
  std::string config;
  std::string id;
  bool json = false;
};

[[noreturn]] void fail(int code, const std::string& message) {
  std::fprintf(stderr, "tern: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

// Sends `request` to the server of o.config's data dir; returns its
// successful answer, or exits.
json call(const QueueOptions& o, const json& request) {
  const Config config = load_config_or_exit(o.config);
  const std::string path = config.data_dir + "/admin.sock";
  json response;
  std::string error;
  switch (admin_call(path, request, &response, &error)) {
    case AdminCallError::kNone:
      break;
    case AdminCallError::kNotRunning:
      fail(kExitNotRunning, "tern serve is not running (" + error + ")");
    case AdminCallError::kFailed:
      fail(1, error);
  }
  if (!response.value("ok", false)) fail(1, response.value("error", std::string("failed")));
  return response;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key, int64_t otherwise = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : otherwise;
}

std::string sender_text(const std::string& s) { return s.empty() ? "<>" : s; }

// "now", "in 4m", "5m ago".
std::string when(int64_t t, int64_t now) {
  if (t <= now) return t == now ? "now" : format_duration(now - t) + " ago";
  return "in " + format_duration(t - now);
}

std::string next_try(const json& m, int64_t now) {
  if (m.value("active", false)) return "running";
  if (!m.contains("next_attempt")) return "-";
  int64_t t = num(m, "next_attempt");
  return t <= now ? "now" : "in " + format_duration(t - now);
}

std::string pending_text(const json& m) {
  const json& p = m["pending"];
  if (!p.is_array() || p.empty()) return "-";
  std::string out = p[0].get<std::string>();
  if (p.size() > 1) out += " (+" + std::to_string(p.size() - 1) + ")";
  return out;
}

// The server's answer to `op` (list, quarantine), or nothing when it is
// already printed: as JSON under --json, or `empty` when it has no message.
std::optional<json> messages_to_print(const QueueOptions& o, const char* op, const char* empty) {
  json r = call(o, json{{"op", op}});
  if (o.json) {
    std::printf("%s\n", r["messages"].dump(2).c_str());
    return std::nullopt;
  }
  if (r["messages"].empty()) {
    std::printf("%s\n", empty);
    return std::nullopt;
  }
  return r;
}

void run_list(const QueueOptions& o) {
  std::optional<json> r = messages_to_print(o, "list", "The queue is empty.");
  if (!r) return;
  const int64_t now = num(*r, "now");
  const json& messages = (*r)["messages"];
  constexpr size_t kCols = 7;
  struct Row {
    std::string cols[kCols];
  };
  std::vector<Row> rows;
  rows.push_back(Row{{"ID", "AGE", "SENDER", "PENDING", "REQUIRETLS", "NEXT TRY", "LAST ERROR"}});
  size_t pending = 0;
  for (const json& m : messages) {
    pending += m["pending"].size();
    const int64_t received = num(m, "received_at");  // 0: not loaded yet
    rows.push_back(Row{{str(m, "id"), received == 0 ? "-" : format_duration(now - received),
                        sender_text(str(m, "sender")), pending_text(m),
                        m.value("requiretls", false) ? "yes" : "-", next_try(m, now),
                        str(m, "last_error").empty() ? "-" : str(m, "last_error")}});
  }
  size_t width[kCols - 1] = {};  // the last column is not padded
  for (const Row& row : rows)
    for (size_t c = 0; c + 1 < kCols; ++c) width[c] = std::max(width[c], row.cols[c].size());
  for (const Row& row : rows) {
    std::string line;
    for (size_t c = 0; c + 1 < kCols; ++c) {
      line += row.cols[c];
      line.append(width[c] - row.cols[c].size() + 2, ' ');
    }
    line += row.cols[kCols - 1];
    std::printf("%s\n", line.c_str());
  }
  std::printf("%zu message(s), %zu pending recipient(s)\n", messages.size(), pending);
}

void run_show(const QueueOptions& o) {
  json r = call(o, json{{"op", "show"}, {"id", o.id}});
  const json& m = r["message"];
  if (o.json) {
    std::printf("%s\n", m.dump(2).c_str());
    return;
  }
  const int64_t now = num(r, "now");
  auto line = [](const char* key, const std::string& value) {
    if (!value.empty()) std::printf("%-12s %s\n", key, value.c_str());
  };
  const int64_t received = num(m, "received_at");
  line("id:", str(m, "id"));
  line("received:", rfc5322_date(received) + " (" + when(received, now) + ")");
  line("sender:", sender_text(str(m, "sender")));
  line("listener:", str(m, "listener"));
  line("client:", str(m, "client_ip"));
  line("auth user:", str(m, "auth_user"));
  line("envid:", str(m, "envid"));
  line("ret:", str(m, "ret"));
  line("quarantined:", str(m, "quarantine_reason"));
  if (m.contains("size")) line("size:", std::to_string(num(m, "size")));
  if (m.value("requiretls", false))
    line("requiretls:", "yes (RFC 8689: relayed only over authenticated TLS, else returned)");
  line("next try:", next_try(m, now));
  std::printf("recipients:\n");
  for (const json& rc : m["recipients"]) {
    std::string state =
        rc.value("done", false) ? "done (" + str(rc, "outcome") + ")" : str(rc, "outcome");
    std::printf("  %s  %s  attempts=%lld", str(rc, "address").c_str(), state.c_str(),
                static_cast<long long>(num(rc, "attempts")));
    if (!rc.value("done", false) && str(rc, "outcome") == "pending")
      std::printf("  next try %s", when(num(rc, "next_attempt"), now).c_str());
    if (rc.value("delay_warned", false)) std::printf("  delay warning sent");
    std::printf("\n");
    std::string params;
    if (!str(rc, "notify").empty()) params += " NOTIFY=" + str(rc, "notify");
    if (!str(rc, "orcpt").empty()) params += " ORCPT=" + str(rc, "orcpt");
    if (!params.empty()) std::printf("     %s\n", params.c_str());
    if (!str(rc, "last_reply").empty()) {
      std::string from = str(rc, "remote_mta").empty() ? "" : " from " + str(rc, "remote_mta");
      std::printf("      last: %s%s (%s)\n", str(rc, "last_reply").c_str(), from.c_str(),
                  when(num(rc, "last_attempt"), now).c_str());
    }
  }
}

void run_flush(const QueueOptions& o) {
  json request{{"op", "flush"}};
  if (!o.id.empty()) request["id"] = o.id;
  json r = call(o, request);
  std::printf("flushed %lld message(s): delivery is being tried now\n",
              static_cast<long long>(num(r, "flushed")));
}

void run_delete(const QueueOptions& o) {
  json r = call(o, json{{"op", "delete"}, {"id", o.id}});
  if (str(r, "from") == "quarantine")
    std::printf("deleted %s from the quarantine (no DSN sent)\n", o.id.c_str());
  else
    std::printf("deleted %s (no DSN sent)\n", o.id.c_str());
}

// The quarantine: one block per message (reasons are free text).
void run_quarantine(const QueueOptions& o) {
  std::optional<json> r = messages_to_print(o, "quarantine", "The quarantine is empty.");
  if (!r) return;
  const int64_t now = num(*r, "now");
  const json& messages = (*r)["messages"];
  for (const json& m : messages) {
    const int64_t received = num(m, "received_at");
    std::string rcpts;
    for (const json& a : m["recipients"])
      if (a.is_string()) rcpts += (rcpts.empty() ? "" : ", ") + a.get<std::string>();
    std::printf("%s  %s (%s)\n", str(m, "id").c_str(), rfc5322_date(received).c_str(),
                when(received, now).c_str());
    std::printf("  from:    %s\n", sender_text(str(m, "sender")).c_str());
    std::printf("  to:      %s\n", rcpts.c_str());
    std::printf("  size:    %lld\n", static_cast<long long>(num(m, "size")));
    std::printf("  reason:  %s\n", str(m, "reason").empty() ? "-" : str(m, "reason").c_str());
  }
  std::printf(
      "%zu message(s) in quarantine; `tern queue release ID` delivers one, "
      "`tern queue delete ID` drops it\n",
      messages.size());
}

void run_release(const QueueOptions& o) {
  json r = call(o, json{{"op", "release"}, {"id", o.id}});
  std::printf("released %s from the quarantine: delivery is being tried now\n", o.id.c_str());
  if (!str(r, "warning").empty()) std::fprintf(stderr, "tern: %s\n", str(r, "warning").c_str());
}

void run_bounce(const QueueOptions& o) {
  call(o, json{{"op", "bounce"}, {"id", o.id}});
  std::printf("bounced %s: its pending recipients failed; DSNs go out as NOTIFY asks\n",
              o.id.c_str());
}

CLI::App* leaf(CLI::App* parent, const char* name, const char* help,
               const std::shared_ptr<QueueOptions>& o) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("-c,--config", o->config, "TOML config file (default: built-in)");
  return cmd;
}

}  // namespace

void add_queue_command(CLI::App& app) {
  auto o = std::make_shared<QueueOptions>();
  CLI::App* queue =
      app.add_subcommand("queue", "Inspect and act on the queue of the running tern serve");
  queue->require_subcommand(1);
  queue->footer(
      "Talks to tern serve through <data_dir>/admin.sock.\n"
      "Exit status: 0 done, 1 failed, 2 configuration error, 75 tern serve is not running.");

  CLI::App* list = leaf(queue, "list", "List queued messages", o);
  list->add_flag("--json", o->json, "Print JSON instead of a table");
  list->callback([o] { run_list(*o); });

  CLI::App* show = leaf(queue, "show", "Show a message and its recipients' state", o);
  show->add_option("ID", o->id, "Queue id")->required();
  show->add_flag("--json", o->json, "Print JSON");
  show->callback([o] { run_show(*o); });

  CLI::App* flush = leaf(queue, "flush", "Try pending recipients now (one message or all)", o);
  flush->add_option("ID", o->id, "Queue id (default: every message)");
  flush->callback([o] { run_flush(*o); });

  CLI::App* del = leaf(queue, "delete",
                       "Remove a message (queued or quarantined) without telling the sender", o);
  del->add_option("ID", o->id, "Queue id")->required();
  del->callback([o] { run_delete(*o); });

  CLI::App* bounce = leaf(queue, "bounce", "Fail a message's pending recipients and bounce it", o);
  bounce->add_option("ID", o->id, "Queue id")->required();
  bounce->callback([o] { run_bounce(*o); });

  CLI::App* held = leaf(queue, "quarantine", "List the messages milters quarantined", o);
  held->add_flag("--json", o->json, "Print JSON");
  held->callback([o] { run_quarantine(*o); });

  CLI::App* release =
      leaf(queue, "release", "Move a quarantined message into the queue and deliver it", o);
  release->add_option("ID", o->id, "Queue id")->required();
  release->callback([o] { run_release(*o); });
}

}  // namespace tern
