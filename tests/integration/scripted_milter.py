#!/usr/bin/python3
"""A milter whose every answer is scripted, for test_milter.py.

Run: scripted_milter.py SOCKET CONTROL LOG
  SOCKET   pymilter's socket spec ("inet:PORT@127.0.0.1", "unix:/path")
  CONTROL  a JSON file read at each new connection: the action per stage
           ("connect", "helo", "mail", "rcpt", "data", "header", "eoh",
           "body", "eom"): "continue", "accept", "reject", "tempfail",
           "discard", "reply:CODE XCODE text" or "replyml:CODE XCODE a|b"
           (a multi-line reply); "rcpt_reject": a recipient refused with
           550 while the others pass; "eom_mods": the modifications to make
           at the end of the message, each a list:
             ["addheader", name, value]   ["insheader", index, name, value]
             ["chgheader", name, index, value]  ["delheader", name, index]
             ["replacebody", text]        ["addrcpt", rcpt]
             ["addrcpt_par", rcpt, params]  ["delrcpt", rcpt]
             ["chgfrom", sender]          ["quarantine", reason]
  LOG      JSON lines of what the milter saw: stage, arguments, macros.

Built on Debian's python3-milter (pymilter, libmilter underneath): an
independent implementation of the milter protocol.
"""
import json
import sys

import Milter

SOCKET, CONTROL, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
MACROS = ["j", "_", "{daemon_name}", "{client_addr}", "{client_port}", "{client_name}",
          "{tls_version}", "{cipher}", "{auth_type}", "{auth_authen}", "i", "{mail_addr}",
          "{rcpt_addr}", "{client_ptr}", "{client_resolve}"]


def log(event):
    with open(LOG, "a") as f:
        f.write(json.dumps(event) + "\n")


class Scripted(Milter.Base):
    def __init__(self):
        self.ctl = {}

    def seen(self, stage, **args):
        macros = {}
        for m in MACROS:
            v = self.getsymval(m)
            if v:
                macros[m] = v
        log({"stage": stage, "macros": macros, **args})

    def answer(self, stage):
        act = self.ctl.get(stage, "continue")
        if act == "continue":
            return Milter.CONTINUE
        if act == "accept":
            return Milter.ACCEPT
        if act == "reject":
            return Milter.REJECT
        if act == "tempfail":
            return Milter.TEMPFAIL
        if act == "discard":
            return Milter.DISCARD
        if act.startswith("reply:") or act.startswith("replyml:"):
            kind, text = act.split(":", 1)
            code, xcode, msg = text.split(" ", 2)
            lines = msg.split("|") if kind == "replyml" else [msg]
            self.setreply(code, xcode, *lines)
            return Milter.REJECT if code.startswith("5") else Milter.TEMPFAIL
        raise ValueError(act)

    def connect(self, hostname, family, hostaddr):
        with open(CONTROL) as f:
            self.ctl = json.load(f)
        self.seen("connect", hostname=hostname, addr=str(hostaddr[0]))
        return self.answer("connect")

    def hello(self, name):
        self.seen("helo", name=name)
        return self.answer("helo")

    def envfrom(self, mailfrom, *params):
        self.headers = []
        self.body_text = b""
        self.seen("mail", args=[mailfrom, *params])
        return self.answer("mail")

    def envrcpt(self, to, *params):
        self.seen("rcpt", args=[to, *params])
        if self.ctl.get("rcpt_reject") and self.ctl["rcpt_reject"] in to:
            self.setreply("550", "5.7.1", "recipient refused by milter")
            return Milter.REJECT
        return self.answer("rcpt")

    def data(self):
        self.seen("data")
        return self.answer("data")

    def header(self, name, value):
        self.headers.append([name, value])
        if self.ctl.get("header", "continue") != "continue":
            return self.answer("header")
        return Milter.CONTINUE

    def eoh(self):
        self.seen("eoh", headers=self.headers)
        return self.answer("eoh")

    def body(self, chunk):
        self.body_text += chunk
        if self.ctl.get("body", "continue") != "continue":
            return self.answer("body")
        return Milter.CONTINUE

    def eom(self):
        self.seen("eom", body=self.body_text.decode("latin-1"))
        for m in self.ctl.get("eom_mods", []):
            op = m[0]
            if op == "addheader":
                self.addheader(m[1], m[2])
            elif op == "insheader":
                self.addheader(m[2], m[3], m[1])
            elif op == "chgheader":
                self.chgheader(m[1], m[2], m[3])
            elif op == "delheader":
                self.chgheader(m[1], m[2], "")
            elif op == "replacebody":
                self.replacebody(m[1].encode())
            elif op == "addrcpt":
                self.addrcpt(m[1])
            elif op == "addrcpt_par":
                self.addrcpt(m[1], m[2])
            elif op == "delrcpt":
                self.delrcpt(m[1])
            elif op == "chgfrom":
                self.chgfrom(m[1])
            elif op == "quarantine":
                self.quarantine(m[1])
        return self.answer("eom")

    def abort(self):
        log({"stage": "abort"})
        return Milter.CONTINUE

    def close(self):
        log({"stage": "close"})
        return Milter.CONTINUE


def main():
    Milter.factory = Scripted
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT |
                     Milter.ADDRCPT_PAR | Milter.DELRCPT | Milter.CHGFROM | Milter.QUARANTINE)
    sys.stdout.flush()
    Milter.runmilter("scripted", SOCKET, 60)


if __name__ == "__main__":
    main()
