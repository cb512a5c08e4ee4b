#include "core/domain.h"

#include <gtest/gtest.h>

#include <string>

namespace tern {
namespace {

TEST(DomainTest, LettersDigitsHyphensInLabelsOfOneTo63) {
  EXPECT_TRUE(valid_domain_name("example.com"));
  EXPECT_TRUE(valid_domain_name("localhost"));
  EXPECT_TRUE(valid_domain_name("xn--bcher-kva.example"));
  EXPECT_TRUE(valid_domain_name(std::string(63, 'a') + ".test"));
  EXPECT_FALSE(valid_domain_name(std::string(64, 'a') + ".test"));
  EXPECT_FALSE(valid_domain_name(""));
  EXPECT_FALSE(valid_domain_name("a..b"));
  EXPECT_FALSE(valid_domain_name(".a"));
  EXPECT_FALSE(valid_domain_name("example.com."));  // no trailing dot
  EXPECT_FALSE(valid_domain_name("-a.test"));
  EXPECT_FALSE(valid_domain_name("a-.test"));
  EXPECT_FALSE(
      valid_domain_name("b\xc3\xbc"
                        "cher.example"));  // U-labels are not names here
}

TEST(DomainTest, At253OctetsInAll) {
  std::string name;
  while (name.size() < 253) name += std::string(name.empty() ? 63 : 62, 'a') + ".";
  name.resize(253);
  if (name.back() == '.') name.back() = 'a';
  EXPECT_TRUE(valid_domain_name(name));
  EXPECT_FALSE(valid_domain_name(name + "a"));
}

TEST(DomainTest, UnderscoresAndLabelCountOnlyWhenAsked) {
  EXPECT_FALSE(valid_domain_name("sel_1"));
  EXPECT_TRUE(valid_domain_name("sel_1", {.min_labels = 1, .underscore = true}));
  EXPECT_FALSE(valid_domain_name("example", {.min_labels = 2}));
  EXPECT_TRUE(valid_domain_name("example.com", {.min_labels = 2}));
  EXPECT_TRUE(is_valid_domain("mx.example.test"));
}

}  // namespace
}  // namespace tern
