#include "sts/publish.h"

#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>

namespace tern::sts {

Policy make_policy(std::string_view mode, const std::vector<std::string>& mx, uint32_t max_age) {
  Policy p;
  p.mode = mode == "enforce" ? Mode::kEnforce : mode == "testing" ? Mode::kTesting : Mode::kNone;
  p.mx = mx;
  p.max_age = std::min(max_age, kMaxMaxAge);
  return p;
}

std::string policy_id(const Policy& policy) {
  const std::string text = policy.text();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string id;
  for (int i = 0; i < 16; ++i) id += fmt::format("{:02x}", digest[i]);
  return id;
}

std::string txt_record_line(std::string_view domain, const Policy& policy) {
  return fmt::format("_mta-sts.{}. IN TXT \"v=STSv1; id={}\"", domain, policy_id(policy));
}

}  // namespace tern::sts
