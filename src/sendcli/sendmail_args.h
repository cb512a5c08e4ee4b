// The sendmail(8) command line, as cron, git send-email, mailx and PHP's
// mail() use it, parsed for `tern sendmail` (and `tern` run as "sendmail").
//
// Options follow getopt(3) rules: letters may be combined ("-ti", "-oi"
// is one option), a letter taking a value takes the rest of its argument
// or the next one ("-fme@x" or "-f me@x"), "--" ends the options, and
// options may come after recipients (GNU permutation). What is understood:
//   -t         recipients also from the To, Cc and Bcc headers
//   -i, -oi    a line of a single "." does not end the message
//   -f ADDR    envelope sender ("<>" or "" for the null sender); -r ADDR too
//   -F NAME    full name for a From header that has to be generated
//   -v         show the SMTP dialogue
//   -bm        deliver mail (the default mode)
//   -C FILE, --config FILE           tern server config (for the default target)
//   --client-config FILE             client settings (see client_config.h)
// Accepted and ignored, as Postfix's sendmail does: -o<anything else>,
// -O OPT, -B TYPE, -L TAG, -N DSN, -R RET, -V ENVID, -X LOG, -h HOPS,
// -p PROTO, -A FILE, -e MODE, -m, -n, -G, -U. Refused (EX_USAGE): other
// -b modes (-bs, -bp, -bi, ...), -q, -I and unknown options.
//
// Pure; no I/O. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tern::sendcli {

struct SendmailArgs {
  bool extract_recipients = false;       // -t
  bool ignore_dots = false;              // -i, -oi
  std::optional<std::string> sender;     // -f/-r; "" is the null sender
  std::optional<std::string> full_name;  // -F
  bool verbose = false;                  // -v
  bool help = false;                     // --help
  std::string config;                    // -C, --config
  std::string client_config;             // --client-config
  std::vector<std::string> recipients;   // arguments, in order (each may be a list)
  std::vector<std::string> ignored;      // options accepted but ignored, for -v
};

// Parses argv[1..] (`args` excludes the program name). Returns an error
// message for people ("unknown option -k") or "" on success.
std::string parse_sendmail_args(const std::vector<std::string>& args, SendmailArgs* out);

// The usage text `tern sendmail --help` prints.
const char* sendmail_usage();

}  // namespace tern::sendcli
