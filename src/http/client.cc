#include "http/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "http/transfer.h"

namespace tern::http {
namespace {

std::once_flag g_init;

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (s->body->size() + len > s->max) {
    s->too_large = true;
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  s->body->append(data, len);
  return len;
}

std::string trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && space(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  return s.substr(i);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<HeaderList*>(user);
  std::string line(data, size * n);
  // A status line starts a new response (a 100 Continue, or a redirect when
  // followed): only the last response's headers are kept.
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  headers->emplace_back(trim(name), trim(line.substr(colon + 1)));
  return size * n;
}

}  // namespace

std::string ClientResponse::header(const std::string& name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return "";
}

void global_init() {
  std::call_once(g_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Transfer::Transfer(const ClientRequest& req, const ClientLimits& limits)
    : handle_(curl_easy_init()), max_response_(limits.max_response), body_(req.body) {
  if (handle_ == nullptr) return;
  CURL* c = handle_;
  sink_ = Sink{&response_.body, limits.max_response, false};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM on other threads
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, limits.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_response));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink_);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response_.headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tern/" TERN_VERSION);
  curl_easy_setopt(c, CURLOPT_PRIVATE, this);
  if (!limits.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, limits.ca_file.c_str());
  for (const std::string& r : limits.resolve) resolve_ = curl_slist_append(resolve_, r.c_str());
  if (resolve_) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_);
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body_.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  for (const auto& [n, v] : req.headers)
    headers_ = curl_slist_append(headers_, (n + ": " + v).c_str());
  // curl would add "Expect: 100-continue" to larger POSTs: one round trip more.
  headers_ = curl_slist_append(headers_, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_);
}

Transfer::~Transfer() {
  if (handle_) curl_easy_cleanup(handle_);
  // After the handle: curl reads the lists until then.
  curl_slist_free_all(headers_);
  curl_slist_free_all(resolve_);
}

ClientResponse Transfer::finish(CURLcode rc) {
  ClientResponse out = std::move(response_);
  if (handle_ == nullptr) {
    out.error = "curl_easy_init failed";
    return out;
  }
  if (rc != CURLE_OK) {
    out.error = sink_.too_large || rc == CURLE_FILESIZE_EXCEEDED
                    ? "response larger than " + std::to_string(max_response_) + " octets"
                    : std::string(curl_easy_strerror(rc)) + (errbuf_[0] ? ": " : "") + errbuf_;
    // curl 7.62+ folds CURLE_SSL_CACERT into CURLE_PEER_FAILED_VERIFICATION
    // (untrusted chain, expired, name mismatch with the OpenSSL backend).
    // CURLE_SSL_CACERT_BADFILE is our own CA file: not the server's fault.
    out.certificate_failed = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_ISSUER_ERROR ||
                             rc == CURLE_SSL_INVALIDCERTSTATUS ||
                             rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH;
    out.status = 0;
    out.headers.clear();
    out.body.clear();
    return out;
  }
  long status = 0;
  curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  return out;
}

ClientResponse request(const ClientRequest& req, const ClientLimits& limits) {
  global_init();
  Transfer t(req, limits);
  if (t.handle() == nullptr) return t.finish(CURLE_FAILED_INIT);
  return t.finish(curl_easy_perform(t.handle()));
}

}  // namespace tern::http
