// When the client library may send a REQUIRETLS message (RFC 8689 4.2.1):
// only over TLS, and TLS that authenticated the server. A submission
// client has neither DANE nor MTA-STS to lean on, so "authenticated" means
// the certificate checked against the trusted CAs and the host name; the
// server's offering REQUIRETLS is checked later by ClientSession
// (core/client_session.cc local_check) once EHLO is known.
//
// Each refusal is an SmtpError of kind kTls, phase "mail", enhanced
// "5.7.30", not temporary: the options, not the moment, are at fault.
//
// Pure functions; thread-safe. No I/O.
#pragma once

#include <optional>
#include <string>

#include "tern/client.h"

namespace tern {

// Before connecting: security kNone or verify_certificate off can never
// carry a REQUIRETLS message. nullopt when the options allow it.
std::optional<SmtpError> requiretls_refusal(const ClientOptions& options);

// On an open connection: its TLS must be up and the certificate verified
// (`detail` says why not, for the text). nullopt when it is.
std::optional<SmtpError> requiretls_refusal(bool tls_active, bool verified,
                                            const std::string& detail);

}  // namespace tern
