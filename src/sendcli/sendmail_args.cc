#include "sendcli/sendmail_args.h"

#include <cstring>
#include <string_view>

namespace tern::sendcli {
namespace {

constexpr char kFlags[] = "tivmnGU";             // no value
constexpr char kValued[] = "frFCBLNORVXhpAebo";  // value in the same or the next argument

// "-f <a@b>" is "-f a@b"; "-f <>" and "-f ''" are the null sender.
std::string strip_brackets(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::string unsupported_mode(const std::string& mode) {
  std::string hint;
  if (mode == "p") hint = " (use `tern queue list`)";
  if (mode == "i") hint = " (tern serve re-reads <data_dir>/aliases when it changes)";
  if (mode == "s") hint = " (talk SMTP to the server instead)";
  return "-b" + mode + " is not supported: tern sendmail only sends mail (-bm)" + hint;
}

// Applies option `letter` with `value`; returns an error or "".
std::string apply(char letter, const std::string& value, SendmailArgs* out) {
  switch (letter) {
    case 'f':
    case 'r':
      out->sender = strip_brackets(value);
      break;
    case 'F':
      out->full_name = value;
      break;
    case 'C':
      out->config = value;
      break;
    case 'b':
      if (value != "m") return unsupported_mode(value);
      break;
    case 'o':
      if (value == "i") {
        out->ignore_dots = true;
      } else {
        out->ignored.push_back("-o" + value);
      }
      break;
    default:
      out->ignored.push_back(std::string("-") + letter + " " + value);
  }
  return "";
}

// Handles a "--name" or "--name=value" argument at args[*i].
std::string apply_long(const std::vector<std::string>& args, size_t* i, SendmailArgs* out) {
  const std::string& arg = args[*i];
  const size_t eq = arg.find('=');
  const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  if (name == "help" && eq == std::string::npos) {
    out->help = true;
    return "";
  }
  std::string* target = name == "config"          ? &out->config
                        : name == "client-config" ? &out->client_config
                                                  : nullptr;
  if (target == nullptr) return "unknown option " + arg.substr(0, eq);
  if (eq != std::string::npos) {
    *target = arg.substr(eq + 1);
  } else if (*i + 1 < args.size()) {
    *target = args[++*i];
  } else {
    return "option --" + name + " needs a value";
  }
  return "";
}

}  // namespace

std::string parse_sendmail_args(const std::vector<std::string>& args, SendmailArgs* out) {
  *out = SendmailArgs{};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out->recipients.insert(out->recipients.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.starts_with("--")) {
      if (std::string err = apply_long(args, &i, out); !err.empty()) return err;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      if (arg == "-") return "unexpected argument \"-\"";
      out->recipients.push_back(arg);
      continue;
    }
    for (size_t j = 1; j < arg.size(); ++j) {
      const char c = arg[j];
      if (std::strchr(kFlags, c) != nullptr) {
        if (c == 't') out->extract_recipients = true;
        if (c == 'i') out->ignore_dots = true;
        if (c == 'v') out->verbose = true;
        if (c == 'm' || c == 'n' || c == 'G' || c == 'U') {
          out->ignored.push_back(std::string("-") + c);
        }
        continue;
      }
      if (c == 'q' || c == 'I') {
        return std::string("-") + c + " is not supported: tern serve runs its own queue" +
               " (use `tern queue flush`)";
      }
      if (std::strchr(kValued, c) == nullptr) return std::string("unknown option -") + c;
      std::string value;
      if (j + 1 < arg.size()) {
        value = arg.substr(j + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return std::string("option -") + c + " needs a value";
      }
      if (std::string err = apply(c, value, out); !err.empty()) return err;
      break;  // the value took the rest of the argument
    }
  }
  return "";
}

const char* sendmail_usage() {
  return R"(Usage: tern sendmail [options] [--] [recipient...] < message
       (or tern run through a link named sendmail)

Sends the RFC 5322 message read from standard input, as sendmail(8) does.

  -t             also send to the To, Cc and Bcc addresses of the message
  -i, -oi        a line with a single "." does not end the message
  -f ADDR        envelope sender (-f '<>' for the null sender); also -r ADDR
  -F NAME        full name for the From header, when one has to be added
  -v             print the SMTP dialogue on standard error
  -bm            send mail (the default and only mode)
  -C FILE, --config FILE   tern server config whose smtp listener is the default server
  --client-config FILE     client settings (default ~/.config/tern/client.toml)

Ignored for compatibility: -o*, -O, -B, -L, -N, -R, -V, -X, -h, -p, -A, -e, -m, -n, -G, -U.
Where mail goes, exit codes and what is added to the message: see docs/send.md.
)";
}

}  // namespace tern::sendcli
