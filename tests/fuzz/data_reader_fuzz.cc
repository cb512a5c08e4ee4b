// Fuzzes the DATA decoder (src/core/data_reader) with the input cut into
// chunks the fuzzer chooses. Invariants: the result does not depend on
// where the input is cut; kDone comes exactly at the first "\r\n.\r\n"
// (or ".\r\n" at the very start), never elsewhere; the body holds no bare
// CR or LF and never more than max_size octets; under kReject a bare line
// end is reported and nothing after it is kept.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/data_reader.h"
#include "fuzz_check.h"

namespace {

struct Run {
  std::string body;
  bool done = false;
  size_t consumed = 0;  // of the whole input, when done
  uint64_t size = 0;
  bool too_big = false;
  bool too_long = false;
  tern::DataReader::Error error = tern::DataReader::Error::kNone;
};

// Feeds `in` in pieces of the given sizes (cycled), stopping at kDone.
Run decode(std::string_view in, const std::string& cuts, uint64_t max_size, size_t max_line,
           tern::BareNewline policy) {
  tern::DataReader r(max_size, max_line, policy);
  Run run;
  size_t pos = 0, k = 0;
  while (pos < in.size()) {
    size_t n = cuts.empty() ? in.size() : 1 + static_cast<uint8_t>(cuts[k++ % cuts.size()]);
    n = std::min(n, in.size() - pos);
    auto res = r.feed(in.substr(pos, n), &run.body);
    if (res.status == tern::DataReader::Status::kDone) {
      FUZZ_CHECK(res.consumed <= n);
      run.done = true;
      run.consumed = pos + res.consumed;
      break;
    }
    FUZZ_CHECK(res.consumed == n);
    pos += n;
  }
  run.size = r.size();
  run.too_big = r.too_big();
  run.too_long = r.line_too_long();
  run.error = r.error();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const uint64_t max_size = fdp.ConsumeIntegralInRange<uint64_t>(0, 4096);
  const size_t max_line = fdp.ConsumeIntegralInRange<size_t>(1, 1200);
  const auto policy =
      fdp.ConsumeBool() ? tern::BareNewline::kReject : tern::BareNewline::kNormalize;
  const std::string cuts = fdp.ConsumeRandomLengthString(16);
  const std::string in = fdp.ConsumeRemainingBytesAsString();

  const Run whole = decode(in, "", max_size, max_line, policy);
  const Run cut = decode(in, cuts, max_size, max_line, policy);
  FUZZ_CHECK(whole.body == cut.body);
  FUZZ_CHECK(whole.done == cut.done);
  FUZZ_CHECK(whole.consumed == cut.consumed);
  FUZZ_CHECK(whole.size == cut.size);
  FUZZ_CHECK(whole.too_big == cut.too_big && whole.too_long == cut.too_long);
  FUZZ_CHECK(whole.error == cut.error);

  // The end is the first ".\r\n" that follows a CRLF (or starts the data):
  // a CR directly followed by LF is always a real line end, so the first
  // "\r\n.\r\n" in the raw input is the marker, and nothing else is.
  size_t end = std::string::npos;
  if (in.rfind(".\r\n", 0) == 0) {
    end = 3;
  } else if (size_t m = in.find("\r\n.\r\n"); m != std::string::npos) {
    end = m + 5;
  }
  FUZZ_CHECK(whole.done == (end != std::string::npos));
  if (whole.done) FUZZ_CHECK(whole.consumed == end);

  // A bare CR or LF in what was read is reported under kReject, and only
  // then (a CR last in unfinished input may still get its LF).
  const std::string_view read = std::string_view(in).substr(0, whole.done ? end : in.size());
  bool bare = false;
  for (size_t i = 0; i < read.size(); ++i) {
    if (read[i] == '\n' && (i == 0 || read[i - 1] != '\r')) bare = true;
    if (read[i] == '\r' && i + 1 < read.size() && read[i + 1] != '\n') bare = true;
  }
  if (policy == tern::BareNewline::kReject) {
    FUZZ_CHECK(bare == (whole.error == tern::DataReader::Error::kBareNewline));
  } else {
    FUZZ_CHECK(whole.error == tern::DataReader::Error::kNone);
  }
  FUZZ_CHECK(whole.body.size() <= max_size);
  FUZZ_CHECK(whole.too_big == (whole.size > max_size));
  // Every line end in the body is CRLF.
  const std::string& b = whole.body;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == '\r' && whole.error == tern::DataReader::Error::kNone && b.size() < max_size) {
      FUZZ_CHECK(i + 1 < b.size() && b[i + 1] == '\n');
    }
    if (b[i] == '\n') FUZZ_CHECK(i > 0 && b[i - 1] == '\r');
  }
  if (whole.done && policy == tern::BareNewline::kNormalize && whole.size <= max_size) {
    // A complete body that fit ends with CRLF (or is empty).
    FUZZ_CHECK(b.empty() || (b.size() >= 2 && b.substr(b.size() - 2) == "\r\n"));
  }
  return 0;
}
