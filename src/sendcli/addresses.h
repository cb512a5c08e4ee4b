// Addresses as people and programs give them to `tern send` and
// `tern sendmail`: address lists from arguments and headers, where a bare
// login name ("root", cron's "To: root") means that user at the default
// domain, as sendmail appends $myorigin.
//
// Pure; no I/O. Thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/mailbox.h"

namespace tern::sendcli {

// Gives each element of an address list without "@" the domain:
// "root" -> "root@dom", "root (Cron Daemon)" -> "root@dom (Cron Daemon)",
// "Root <root>" -> "Root <root@dom>", "Team: a, b@x;" -> "Team: a@dom, b@x;".
// Quotes, comments and angle brackets are respected; elements that already
// hold an address, and anything not shaped like a bare local part, are left
// for the parser to judge.
std::string qualify_list(std::string_view list, std::string_view domain);

// Parses an address list after qualify_list (Mailbox::parse_list rules):
// the mailboxes, or nullopt when an element does not parse.
std::optional<std::vector<Mailbox>> parse_qualified_list(std::string_view list,
                                                         std::string_view domain);

// Appends the addresses of `more` to `list`, skipping ones already there
// (same local part and, ignoring ASCII case, same domain).
void add_unique(std::vector<std::string>* list, const std::vector<std::string>& more);

}  // namespace tern::sendcli
