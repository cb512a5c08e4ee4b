// Reading an mbox file for `tern send --mbox`: the messages it holds, with
// the "From " postmark lines removed and mboxrd quoting undone.
//
// The format (RFC 4155, and the mboxrd variant qmail and mutt write): each
// message starts with a line "From sender date"; a body line that would
// look like one was written with ">" in front, and every line matching
// ">*From " has one ">" more. Here a postmark is recognised only at the
// start of the file or after an empty line, which is how every writer
// separates messages, so that an unquoted "From " inside a paragraph (mboxo
// writers) does not split a message. Line ends (LF or CRLF) are kept.
//
// Pure; no I/O. Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::sendcli {

struct MboxContent {
  std::vector<std::string> messages;
  std::string error;  // set when the input is not an mbox (no postmark first)
};

// Splits `mbox` into its messages. Each loses its postmark line, the empty
// line that separated it from the next one, and one ">" from every line
// matching ">+From ". Empty lines before the first postmark are allowed;
// anything else there is an error. An empty input has no messages.
MboxContent split_mbox(std::string_view mbox);

}  // namespace tern::sendcli
