/* smtp.h: the tern SMTP client for C programs. Link with -ltern
 * (pkg-config --cflags --libs tern).
 *
 *   SMTP_Client *c;
 *   if (smtp_init(&c) < 0) return 1;
 *   c->debugPrint = 1;                                  // dialogue to c->debugStream
 *   if (smtp_connect(c, "smtp.example.org", 587, SMTP_TLS) < 0 ||
 *       smtp_login(c, "me@example.org", "secret") < 0 ||
 *       smtp_createLetter(c, SMTP_TextHTML, "Me", "me@example.org", "You",
 *                         "you@example.net", "Hello", "<p>Hi!</p>") < 0 ||
 *       smtp_attachFile(c, "report.pdf") < 0 || smtp_endLetter(c) < 0 ||
 *       smtp_sendLetter(c) < 0)
 *     fprintf(stderr, "smtp: %s\n", c->errorString);
 *   smtp_close(c);
 *   smtp_free(&c);
 *
 * Every function returns 0 on success and one of the negative SMTP_ERR_*
 * values on failure, with errorString saying why (and replyCode holding
 * the server's reply code when the server refused). A successful call
 * clears errorString.
 *
 * The server's certificate is checked by default against the system
 * store, or SSL_CERT_FILE / SSL_CERT_DIR when set (OpenSSL's rules), plus
 * smtp_setCAFile(); its name must match the host given to smtp_connect.
 * smtp_setVerify(c, 0) before smtp_connect turns the check off.
 *
 * Credentials are only ever sent over TLS (SMTP_SSL or SMTP_TLS) and the
 * password never appears in the debug output.
 *
 * Not thread-safe: use one SMTP_Client per thread. Built on tern::Client
 * (tern/client.h): one connection, reused for every letter sent. */
#ifndef TERN_SMTP_H_
#define TERN_SMTP_H_

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* smtp_connect security. */
enum {
  SMTP_NONSECURE = 0, /* plain text (port 25) */
  SMTP_SSL = 1,       /* implicit TLS, RFC 8314 (port 465) */
  SMTP_TLS = 2        /* STARTTLS required, RFC 3207 (port 587) */
};

/* smtp_createLetter textFormat. */
enum { SMTP_TextPlain = 0, SMTP_TextHTML = 1 };

/* Return values. */
enum {
  SMTP_OK = 0,
  SMTP_ERR_USAGE = -1,    /* a NULL argument, or a call out of order */
  SMTP_ERR_CONNECT = -2,  /* cannot connect, or the connection was lost */
  SMTP_ERR_TIMEOUT = -3,  /* the server did not answer in time */
  SMTP_ERR_TLS = -4,      /* TLS failed, or the certificate is not trusted */
  SMTP_ERR_AUTH = -5,     /* login refused */
  SMTP_ERR_REFUSED = -6,  /* the server refused the letter or a recipient */
  SMTP_ERR_PROTOCOL = -7, /* the server broke the protocol */
  SMTP_ERR_LETTER = -8,   /* the letter is unusable: bad address, unreadable file */
  SMTP_ERR_MEMORY = -9    /* out of memory */
};

typedef struct SMTP_ClientPrivate SMTP_ClientPrivate;

typedef struct SMTP_Client {
  /* Why the last call failed; "" after a successful call. */
  char errorString[512];
  /* The server's reply code with the last failure, 0 when none. */
  int replyCode;
  /* Nonzero: every line sent ("C: ...") and received ("S: ...") is
   * written to debugStream, AUTH secrets as "<redacted>". */
  int debugPrint;
  FILE *debugStream;        /* stderr after smtp_init */
  SMTP_ClientPrivate *priv; /* internal */
} SMTP_Client;

/* Allocates a client into *client. */
int smtp_init(SMTP_Client **client);
/* Closes (QUIT) and frees *client, then sets *client to NULL. NULL is fine. */
int smtp_free(SMTP_Client **client);

/* Certificate checking, on (nonzero) by default; takes effect at the next
 * smtp_connect. */
int smtp_setVerify(SMTP_Client *client, int verify);
/* Trusts the CA certificates in this PEM file besides the defaults. */
int smtp_setCAFile(SMTP_Client *client, const char *path);

/* Connects and greets the server (STARTTLS for SMTP_TLS). port 0: the
 * default of the security (25, 465, 587). */
int smtp_connect(SMTP_Client *client, const char *host, unsigned short port, int security);
/* QUIT and close. The letter in progress, if any, is kept. */
int smtp_close(SMTP_Client *client);
/* Authenticates (AUTH PLAIN or LOGIN, whichever the server offers). The
 * engine authenticates while setting up a connection, so when already
 * connected this reconnects with the credentials. */
int smtp_login(SMTP_Client *client, const char *login, const char *password);

/* Starts a letter (replacing any unsent one). Names may be NULL or "";
 * toMail may list several addresses separated by commas when toName is
 * empty. Subject and names are UTF-8. */
int smtp_createLetter(SMTP_Client *client, int textFormat, const char *fromName,
                      const char *fromMail, const char *toName, const char *toMail,
                      const char *subject, const char *body);
/* Attaches a file, read now (MIME type from its extension). */
int smtp_attachFile(SMTP_Client *client, const char *path);
/* Adds List-Unsubscribe to the letter (RFC 2369): `uris` is one URI or
 * several separated by spaces (a comma before a space is fine), each https:, http: or mailto:
 * ("https://example.org/u?id=1, mailto:u@example.org"). A nonzero oneClick
 * also adds "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (RFC 8058,
 * as Gmail and Yahoo ask of bulk senders) and needs an https: URI. A
 * second call replaces the first; NULL or "" removes both fields. */
int smtp_listUnsubscribe(SMTP_Client *client, const char *uris, int oneClick);
/* REQUIRETLS for the letter (RFC 8689), nonzero `on` to ask, 0 not to:
 * "MAIL FROM:<...> REQUIRETLS" asks every server on the way to pass the
 * letter on only over TLS that authenticates the next hop, or to return
 * it. The letter then goes only over SMTP_SSL or SMTP_TLS with the
 * certificate checked (no smtp_setVerify(c, 0)), to a server that offers
 * REQUIRETLS; otherwise smtp_sendLetter fails with SMTP_ERR_TLS,
 * errorString holding "5.7.30" (RFC 8689 5), and nothing is sent. */
int smtp_requireTls(SMTP_Client *client, int on);
/* Adds "TLS-Required: No" to the letter (RFC 8689 3) for a nonzero `on`,
 * removes it for 0: relays may then deliver it even where the recipient's
 * DANE or MTA-STS policy cannot be met. Ignored by receivers when the
 * letter also asks for REQUIRETLS. */
int smtp_tlsOptional(SMTP_Client *client, int on);
/* Completes the letter: no more attachments. */
int smtp_endLetter(SMTP_Client *client);
/* Sends the letter (ending it if smtp_endLetter was not called), over the
 * open connection or a new one. Succeeds only if every recipient accepted
 * it; the letter is then discarded. */
int smtp_sendLetter(SMTP_Client *client);

#ifdef __cplusplus
}
#endif

#endif /* TERN_SMTP_H_ */
