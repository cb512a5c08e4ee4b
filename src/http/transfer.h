// One curl easy handle set up for a ClientRequest, and the response it
// collects: shared by the blocking request() and AsyncClient (client.h).
// Internal to src/http.
//
// Thread safety: one thread at a time.
#pragma once

#include <curl/curl.h>

#include <string>

#include "http/client.h"

namespace tern::http {

struct Sink {
  std::string* body = nullptr;
  std::size_t max = 0;
  bool too_large = false;
};

class Transfer {
 public:
  // Sets every option (URL, method, headers, body, limits, CA file); the
  // handle's CURLOPT_PRIVATE is this. handle() is null if curl failed.
  Transfer(const ClientRequest& req, const ClientLimits& limits);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* handle() const { return handle_; }
  // The response for curl's result `rc` (an error text when rc failed).
  ClientResponse finish(CURLcode rc);

 private:
  CURL* handle_;
  std::size_t max_response_;
  std::string body_;  // CURLOPT_POSTFIELDS points into it
  ClientResponse response_;
  Sink sink_;
  curl_slist* headers_ = nullptr;
  curl_slist* resolve_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {0};
};

}  // namespace tern::http
