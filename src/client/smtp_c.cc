// The C API of include/tern/smtp.h over tern::Client and tern::Message.
// No exception crosses into C: each entry point catches at the edge.
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/client.h"
#include "tern/message.h"
#include "tern/smtp.h"

struct SMTP_ClientPrivate {
  tern::ClientOptions options;
  bool connected_once = false;  // options hold a host: sending may (re)connect
  std::optional<tern::Client> client;
  std::optional<tern::Message> letter;
  bool letter_ended = false;
};

namespace {

int fail(SMTP_Client* c, int code, const std::string& why, int reply = 0) {
  std::snprintf(c->errorString, sizeof c->errorString, "%s", why.c_str());
  c->replyCode = reply;
  return code;
}

int ok(SMTP_Client* c) {
  c->errorString[0] = '\0';
  c->replyCode = 0;
  return SMTP_OK;
}

int fail(SMTP_Client* c, const tern::SmtpError& e) {
  using K = tern::SmtpError::Kind;
  int code = SMTP_ERR_PROTOCOL;
  switch (e.kind) {
    case K::kConnect:
      code = SMTP_ERR_CONNECT;
      break;
    case K::kTimeout:
      code = SMTP_ERR_TIMEOUT;
      break;
    case K::kTls:
      code = SMTP_ERR_TLS;
      break;
    case K::kAuth:
      code = SMTP_ERR_AUTH;
      break;
    case K::kRefused:
      code = SMTP_ERR_REFUSED;
      break;
    case K::kProtocol:
      code = SMTP_ERR_PROTOCOL;
      break;
    case K::kMessage:
      code = SMTP_ERR_LETTER;
      break;
  }
  return fail(c, code, e.describe(), e.code);
}

int fail(SMTP_Client* c, const tern::MessageStatus& st) {
  return fail(c, SMTP_ERR_LETTER, st.message());
}

// Runs `body`, turning a C++ exception into an error return.
template <typename F>
int guarded(SMTP_Client* c, F body) {
  if (c == nullptr || c->priv == nullptr) return SMTP_ERR_USAGE;
  try {
    return body(*c->priv);
  } catch (const std::bad_alloc&) {
    return fail(c, SMTP_ERR_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(c, SMTP_ERR_PROTOCOL, std::string("internal error: ") + e.what());
  }
}

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

// (Re)makes the Client from the options and connects it.
int open_client(SMTP_Client* c, SMTP_ClientPrivate& p) {
  p.client.reset();  // QUITs an open connection
  p.options.transcript = [c](bool sent, std::string_view line) {
    if (!c->debugPrint || c->debugStream == nullptr) return;
    std::fprintf(c->debugStream, "%s%.*s\n", sent ? "C: " : "S: ", static_cast<int>(line.size()),
                 line.data());
  };
  p.client.emplace(p.options);
  p.connected_once = true;
  if (std::optional<tern::SmtpError> e = p.client->connect()) {
    p.client.reset();
    return fail(c, *e);
  }
  return ok(c);
}

}  // namespace

extern "C" {

int smtp_init(SMTP_Client** client) {
  if (client == nullptr) return SMTP_ERR_USAGE;
  *client = nullptr;
  auto* c = new (std::nothrow) SMTP_Client();
  if (c == nullptr) return SMTP_ERR_MEMORY;
  c->priv = new (std::nothrow) SMTP_ClientPrivate();
  if (c->priv == nullptr) {
    delete c;
    return SMTP_ERR_MEMORY;
  }
  c->debugStream = stderr;
  *client = c;
  return ok(c);
}

int smtp_free(SMTP_Client** client) {
  if (client == nullptr || *client == nullptr) return SMTP_OK;
  SMTP_Client* c = *client;
  try {
    delete c->priv;  // ~Client QUITs
  } catch (...) {
  }
  delete c;
  *client = nullptr;
  return SMTP_OK;
}

int smtp_setVerify(SMTP_Client* client, int verify) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    p.options.verify_certificate = verify != 0;
    return ok(client);
  });
}

int smtp_setCAFile(SMTP_Client* client, const char* path) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    p.options.ca_file = str(path);
    return ok(client);
  });
}

int smtp_connect(SMTP_Client* client, const char* host, unsigned short port, int security) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (host == nullptr || *host == '\0') return fail(client, SMTP_ERR_USAGE, "no host given");
    switch (security) {
      case SMTP_NONSECURE:
        p.options.security = tern::Security::kNone;
        break;
      case SMTP_SSL:
        p.options.security = tern::Security::kTls;
        break;
      case SMTP_TLS:
        p.options.security = tern::Security::kStartTls;
        break;
      default:
        return fail(client, SMTP_ERR_USAGE, "unknown security " + std::to_string(security));
    }
    p.options.host = host;
    p.options.port = port;
    return open_client(client, p);
  });
}

int smtp_close(SMTP_Client* client) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (p.client) p.client->close();
    p.client.reset();
    return ok(client);
  });
}

int smtp_login(SMTP_Client* client, const char* login, const char* password) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (login == nullptr || *login == '\0') return fail(client, SMTP_ERR_USAGE, "no login given");
    p.options.user = login;
    p.options.password = str(password);
    // AUTH is part of setting up a connection (after STARTTLS, before any
    // letter), so the credentials take effect on a new one.
    if (!p.connected_once) return ok(client);
    return open_client(client, p);
  });
}

int smtp_createLetter(SMTP_Client* client, int textFormat, const char* fromName,
                      const char* fromMail, const char* toName, const char* toMail,
                      const char* subject, const char* body) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (textFormat != SMTP_TextPlain && textFormat != SMTP_TextHTML) {
      return fail(client, SMTP_ERR_USAGE, "unknown text format " + std::to_string(textFormat));
    }
    if (fromMail == nullptr || toMail == nullptr) {
      return fail(client, SMTP_ERR_USAGE, "no sender or recipient given");
    }
    p.letter.reset();
    tern::Message m;
    if (auto st = m.set_from(tern::Mailbox{str(fromName), fromMail}); !st.ok()) {
      return fail(client, st);
    }
    auto st = str(toName).empty() ? m.add_to(std::string_view(toMail))
                                  : m.add_to(tern::Mailbox{str(toName), toMail});
    if (!st.ok()) return fail(client, st);
    if (subject != nullptr) {
      if (auto sst = m.set_subject(subject); !sst.ok()) return fail(client, sst);
    }
    if (textFormat == SMTP_TextHTML) {
      m.set_html(str(body));
    } else {
      m.set_text(str(body));
    }
    p.letter = std::move(m);
    p.letter_ended = false;
    return ok(client);
  });
}

int smtp_attachFile(SMTP_Client* client, const char* path) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    if (p.letter_ended) return fail(client, SMTP_ERR_USAGE, "the letter was ended");
    if (path == nullptr) return fail(client, SMTP_ERR_USAGE, "no file given");
    if (auto st = p.letter->attach_file(path); !st.ok()) return fail(client, st);
    return ok(client);
  });
}

int smtp_listUnsubscribe(SMTP_Client* client, const char* uris, int oneClick) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    if (p.letter_ended) return fail(client, SMTP_ERR_USAGE, "the letter was ended");
    // Whitespace separates (a URI holds none); a comma may end a URI in
    // the list ("a, b", as the field is written) but also occur inside one.
    std::vector<std::string> list;
    std::string_view rest = uris != nullptr ? uris : "";
    while (!rest.empty()) {
      const size_t end = rest.find_first_of(" \t");
      std::string_view uri = rest.substr(0, end);
      if (uri.ends_with(',')) uri.remove_suffix(1);
      if (!uri.empty()) list.emplace_back(uri);
      rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    }
    if (auto st = p.letter->set_list_unsubscribe(list, oneClick != 0); !st.ok())
      return fail(client, st);
    return ok(client);
  });
}

int smtp_requireTls(SMTP_Client* client, int on) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    if (p.letter_ended) return fail(client, SMTP_ERR_USAGE, "the letter was ended");
    p.letter->set_require_tls(on != 0);
    return ok(client);
  });
}

int smtp_tlsOptional(SMTP_Client* client, int on) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    if (p.letter_ended) return fail(client, SMTP_ERR_USAGE, "the letter was ended");
    p.letter->set_tls_optional(on != 0);
    return ok(client);
  });
}

int smtp_endLetter(SMTP_Client* client) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    p.letter_ended = true;
    return ok(client);
  });
}

int smtp_sendLetter(SMTP_Client* client) {
  return guarded(client, [&](SMTP_ClientPrivate& p) {
    if (!p.letter) return fail(client, SMTP_ERR_USAGE, "no letter: call smtp_createLetter first");
    if (!p.connected_once) return fail(client, SMTP_ERR_USAGE, "not connected: call smtp_connect");
    p.letter_ended = true;
    if (!p.client) {  // closed, or the last connect failed: try again
      if (int rc = open_client(client, p); rc < 0) return rc;
    }
    const tern::SendResult r = p.client->send(*p.letter);
    if (r.error) return fail(client, *r.error);
    for (const tern::RecipientStatus& s : r.recipients) {
      if (!s.accepted && s.error) {
        return fail(client, SMTP_ERR_REFUSED, s.address + ": " + s.error->describe(),
                    s.error->code);
      }
    }
    p.letter.reset();
    return ok(client);
  });
}

}  // extern "C"
