/* send_letter: a C program using tern's C API (tern/smtp.h), compiled as
 * C99 and linked against libtern.so; driven by
 * tests/integration/test_client_lib.py.
 *
 *   send_letter HOST PORT SECURITY USER PASSWORD FROM TO SUBJECT HTML FILE [noverify]
 *
 * SECURITY is "none", "ssl" (implicit TLS) or "tls" (STARTTLS); USER ""
 * skips the login. Sends one HTML letter with FILE attached, with the
 * dialogue on stderr (debugPrint). Exits 0 when sent; otherwise prints
 * "send_letter: <step> returned <rc>: <errorString>" and exits 1.
 * With SEND_LETTER_UNSUBSCRIBE set in the environment, the letter gets
 * smtp_listUnsubscribe(c, its value, 1) (one-click, RFC 8058). With
 * SEND_LETTER_REQUIRETLS set it gets smtp_requireTls(c, 1) (RFC 8689), with
 * SEND_LETTER_TLS_OPTIONAL set smtp_tlsOptional(c, 1) (TLS-Required: No). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/smtp.h"

static int step(SMTP_Client *c, const char *what, int rc) {
  if (rc < 0) fprintf(stdout, "send_letter: %s returned %d: %s\n", what, rc, c->errorString);
  return rc;
}

int main(int argc, char **argv) {
  SMTP_Client *c = NULL;
  int security, rc;
  if (argc < 11) {
    fprintf(stderr,
            "usage: send_letter HOST PORT SECURITY USER PASSWORD FROM TO SUBJECT HTML FILE"
            " [noverify]\n");
    return 2;
  }
  if (strcmp(argv[3], "ssl") == 0)
    security = SMTP_SSL;
  else if (strcmp(argv[3], "tls") == 0)
    security = SMTP_TLS;
  else
    security = SMTP_NONSECURE;

  if (smtp_init(&c) < 0) return 1;
  c->debugPrint = 1; /* the public members, as C code uses them */
  c->debugStream = stderr;
  rc = 0;
  if (argc > 11 && strcmp(argv[11], "noverify") == 0)
    rc = step(c, "smtp_setVerify", smtp_setVerify(c, 0));
  if (rc >= 0)
    rc = step(c, "smtp_connect", smtp_connect(c, argv[1], (unsigned short)atoi(argv[2]), security));
  if (rc >= 0 && argv[4][0] != '\0') rc = step(c, "smtp_login", smtp_login(c, argv[4], argv[5]));
  if (rc >= 0)
    rc = step(c, "smtp_createLetter",
              smtp_createLetter(c, SMTP_TextHTML, "C Program", argv[6], "Reader", argv[7], argv[8],
                                argv[9]));
  if (rc >= 0 && getenv("SEND_LETTER_UNSUBSCRIBE") != NULL)
    rc = step(c, "smtp_listUnsubscribe",
              smtp_listUnsubscribe(c, getenv("SEND_LETTER_UNSUBSCRIBE"), 1));
  if (rc >= 0 && getenv("SEND_LETTER_REQUIRETLS") != NULL)
    rc = step(c, "smtp_requireTls", smtp_requireTls(c, 1));
  if (rc >= 0 && getenv("SEND_LETTER_TLS_OPTIONAL") != NULL)
    rc = step(c, "smtp_tlsOptional", smtp_tlsOptional(c, 1));
  if (rc >= 0) rc = step(c, "smtp_attachFile", smtp_attachFile(c, argv[10]));
  if (rc >= 0) rc = step(c, "smtp_endLetter", smtp_endLetter(c));
  if (rc >= 0) rc = step(c, "smtp_sendLetter", smtp_sendLetter(c));
  if (rc >= 0 && c->errorString[0] != '\0') {
    fprintf(stdout, "send_letter: errorString not cleared after success\n");
    rc = -1;
  }
  smtp_close(c);
  smtp_free(&c);
  if (c != NULL) {
    fprintf(stdout, "send_letter: smtp_free did not clear the pointer\n");
    return 1;
  }
  return rc < 0 ? 1 : 0;
}
