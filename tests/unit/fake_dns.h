// A DnsLookup for unit tests: TXT answers from a map (unknown names are
// NXDOMAIN), every query recorded; the other record types answer nothing.
// With RunSync, which runs an awaitable to completion on its own io_context.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dns/lookup.h"

namespace tern::testlib {

inline TxtResult Txt(std::vector<TxtRecord> records) {
  TxtResult r;
  r.status = DnsStatus::kOk;
  r.records = std::move(records);
  return r;
}

// A failed TXT lookup; the error text defaults to the status's name.
inline TxtResult Failed(DnsStatus status, std::string error = "") {
  TxtResult r;
  r.status = status;
  r.error = error.empty() ? dns_status_name(status) : std::move(error);
  return r;
}

class FakeTxtDns : public DnsLookup {
 public:
  std::map<std::string, TxtResult> txt_answers;
  std::vector<std::string> queries;

  asio::awaitable<TxtResult> txt(std::string name) override {
    queries.push_back(name);
    const auto it = txt_answers.find(name);
    co_return it == txt_answers.end() ? Failed(DnsStatus::kNxDomain) : it->second;
  }
  asio::awaitable<MxResult> mx(std::string) override { co_return MxResult{}; }
  asio::awaitable<AddressResult> a(std::string) override { co_return AddressResult{}; }
  asio::awaitable<AddressResult> aaaa(std::string) override { co_return AddressResult{}; }
  asio::awaitable<NameResult> ptr(asio::ip::address) override { co_return NameResult{}; }
};

template <typename T>
T RunSync(asio::awaitable<T> a) {
  asio::io_context io;
  T out{};
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return out;
}

}  // namespace tern::testlib
