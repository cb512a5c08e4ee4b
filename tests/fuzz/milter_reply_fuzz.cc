// Fuzzes what a milter sends back (src/milter): the packet reader, the
// reply and OPTNEG decoders, the session that takes them at the end of a
// message, and the header changes they make. Input: one octet choosing the
// chunk size, then the milter's bytes. Invariants: packets do not depend
// on how the input is cut; a decoded reply code is 4xx/5xx with printable
// lines; the session never accepts a modification it did not negotiate;
// a header changed by any modification still renders and splits back into
// as many fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "milter/codec.h"
#include "milter/edit.h"
#include "milter/session.h"

namespace {

std::vector<tern::milter::Packet> read_all(std::string_view in, size_t chunk) {
  tern::milter::PacketReader r(4096);
  std::vector<tern::milter::Packet> out;
  for (size_t pos = 0; pos < in.size(); pos += chunk) {
    r.feed(in.substr(pos, chunk));
    while (auto p = r.next()) out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::milter;
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 32;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::vector<Packet> whole = read_all(in, in.size() + 1);
  const std::vector<Packet> cut = read_all(in, chunk);
  FUZZ_CHECK(whole.size() == cut.size());
  for (size_t i = 0; i < whole.size(); ++i)
    FUZZ_CHECK(whole[i].code == cut[i].code && whole[i].data == cut[i].data);

  // A session at the end of a message, having allowed header changes only.
  Session s(SessionOptions{act::kAddHdrs | act::kChgHdrs, proto::kOffered});
  s.negotiate();
  std::string neg;
  put_u32(&neg, kVersion);
  put_u32(&neg, act::kAddHdrs | act::kChgHdrs);
  put_u32(&neg, 0);
  FUZZ_CHECK(s.on_packet(Packet{'O', neg}) == Session::Result::kDone);
  s.mail({"<a@b.example>"}, {});
  s.on_packet(Packet{'c', ""});
  s.eom({});

  std::vector<HeaderField> fields = {{"Received", " from a\r\n\tby b"}, {"Subject", " hi"}};
  bool open = true;
  for (const Packet& p : whole) {
    std::string error;
    std::optional<Response> r = decode_response(p, &error);
    if (!r) FUZZ_CHECK(!error.empty());
    if (r && r->kind == Response::Kind::kReplyCode) {
      FUZZ_CHECK(r->reply.code >= 400 && r->reply.code <= 599);
      for (const std::string& line : r->reply.lines)
        for (unsigned char c : line) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
      if (!r->reply.enhanced.empty()) FUZZ_CHECK(r->reply.enhanced[0] - '0' == r->reply.code / 100);
    }
    if (r && r->modification()) {
      apply_header_change(*r, p.code == 'i', &fields);
      std::string text = render_header(fields) + "\r\nbody\r\n";
      std::optional<HeaderSection> back = split_header(text, true);
      FUZZ_CHECK(back && back->fields.size() == fields.size());
      tern::Envelope env;
      std::string why;
      if (!apply_envelope_change(*r, &env, &why)) FUZZ_CHECK(!why.empty());
    }
    std::optional<Negotiated> n = decode_optneg(p, &error);
    (void)n;
    if (open) {
      Session::Result res = s.on_packet(p);
      if (res != Session::Result::kMore) open = false;
      for (const Response& m : s.modifications())
        FUZZ_CHECK(m.kind == Response::Kind::kAddHeader || m.kind == Response::Kind::kInsHeader ||
                   m.kind == Response::Kind::kChgHeader);
    }
  }
  return 0;
}
