// Fuzzes the command-line splitter and the ETRN argument parser
// (src/core/command). Invariants: name and arg are views into the line
// and together cover it; an ETRN node's domain is lower-case.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/command.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const tern::Command cmd = tern::parse_command(line);
  FUZZ_CHECK(cmd.name.data() == line.data());
  FUZZ_CHECK(line.substr(0, cmd.name.size()) == cmd.name);
  if (!cmd.arg.empty()) {
    FUZZ_CHECK(cmd.name.size() + 1 + cmd.arg.size() == line.size());
    FUZZ_CHECK(line[cmd.name.size()] == ' ');
  }
  if (cmd.verb != tern::Verb::kUnknown) FUZZ_CHECK(cmd.name.find(' ') == std::string_view::npos);
  if (auto node = tern::parse_etrn_node(line)) {
    FUZZ_CHECK(!node->name.empty());
    if (node->kind != tern::EtrnNode::Kind::kQueue) {
      for (char c : node->name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
      FUZZ_CHECK(node->name.size() <= 255);
    }
  }
  return 0;
}
