// Log field formatting (server/log.h): nothing a client sends can forge a
// field or a line.
#include "base/log.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

TEST(LogValue, PlainValuesStayBare) {
  EXPECT_EQ(log_value("mx.example.org"), "mx.example.org");
  EXPECT_EQ(log_value("<a@b.example>"), "<a@b.example>");
}

TEST(LogValue, OthersAreQuotedAndEscaped) {
  EXPECT_EQ(log_value(""), "\"\"");
  EXPECT_EQ(log_value("a b"), "\"a b\"");
  EXPECT_EQ(log_value("x reason=quit"), "\"x reason=quit\"");
  EXPECT_EQ(log_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(log_value(std::string("a\nb\0c\xff", 6)), "\"a\\x0ab\\x00c\\xff\"");
}

TEST(LogQuoted, CutsLongValues) {
  EXPECT_EQ(log_quoted("NOOP"), "\"NOOP\"");
  EXPECT_EQ(log_quoted(std::string(10, 'x'), 4), "\"xxxx...\"");
  EXPECT_EQ(log_value(std::string(10, 'x'), 4), "\"xxxx...\"");
}

}  // namespace
}  // namespace tern
