#include "arc/report.h"

#include <fmt/format.h>

#include "arc/sealer.h"

namespace tern::arc {

authres::MethodResult arc_result(const ChainResult& chain, std::string_view client_ip) {
  authres::MethodResult m;
  m.method = "arc";
  m.result = chain_status_name(chain.status);
  if (chain.instance > 0) m.comment = fmt::format("i={}", chain.instance);
  if (chain.status == ChainStatus::kFail) m.reason = chain.reason;
  if (chain.status == ChainStatus::kPass) {
    m.props.push_back({"header.oldest-pass", std::to_string(chain.oldest_pass)});
  }
  if (!client_ip.empty()) m.props.push_back({"smtp.remote-ip", std::string(client_ip)});
  if (chain.status == ChainStatus::kPass) {
    std::string sealers;
    for (const std::string& d : chain.sealers) sealers += (sealers.empty() ? "" : ":") + d;
    m.props.push_back({"arc.chain", sealers});
  }
  return m;
}

std::string vouching_sealer(const ChainResult& chain, const std::vector<std::string>& trusted) {
  if (chain.status != ChainStatus::kPass) return "";
  for (size_t k = chain.sealers.size(); k-- > 0;) {
    bool listed = false;
    for (const std::string& t : trusted)
      listed = listed || dkim::equals_ignore_case(t, chain.sealers[k]);
    if (!listed || k >= chain.results.size()) continue;
    if (method_result(chain.results[k], "dmarc") == "pass") return chain.sealers[k];
  }
  return "";
}

}  // namespace tern::arc
