"""A minimal loopback SMTP server (RFC 5321 subset) that records what it is sent.

Enough for ``smtplib`` and the smtp provider's ``SmtpHook`` without TLS: ``EHLO``/``HELO``,
``AUTH PLAIN`` (checked against ``user``/``password`` when given), ``MAIL FROM``, ``RCPT TO``,
``DATA`` (dot-unstuffed, parsed with ``email``), ``RSET``, ``NOOP``, ``QUIT``. Commands out of
order get 503, unknown ones 502; ``fail_next(n)`` answers the next ``n`` ``DATA`` bodies with a
451 (temporary failure). Binds 127.0.0.1 on a free port; nothing leaves loopback.

    with SMTPServer() as smtp:
        smtplib.SMTP("127.0.0.1", smtp.port).sendmail("a@x.org", ["b@x.org"], "Subject: hi\\r\\n\\r\\nhello")
        assert smtp.messages[0].rcpt_to == ["b@x.org"]
"""

from __future__ import annotations

import base64
import re
import socketserver
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from tests.servers.loopback import LoopbackServer

_ADDR = re.compile(r"^<([^<>\s]*)>")


@dataclass
class Mail:
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    message: EmailMessage = field(repr=False)

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def _send(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        smtp = self.server.smtp
        self._send("220 socialhub-test ESMTP ready")
        greeted = authed = False
        mail_from: str | None = None
        rcpt: list[str] = []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            with smtp._lock:
                smtp.commands.append(verb)
            if verb in ("EHLO", "HELO"):
                greeted = True
                mail_from, rcpt = None, []
                if verb == "EHLO":
                    self._send("250-socialhub-test")
                    self._send("250-8BITMIME")
                    self._send("250 AUTH PLAIN")
                else:
                    self._send("250 socialhub-test")
            elif verb == "AUTH":
                mech, _, initial = arg.partition(" ")
                if mech.upper() != "PLAIN" or not initial:
                    self._send("504 only AUTH PLAIN with an initial response")
                    continue
                try:
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                except ValueError:
                    self._send("501 malformed AUTH PLAIN")
                    continue
                if smtp.user is not None and (user, password) != (smtp.user, smtp.password):
                    self._send("535 authentication failed")
                    continue
                authed = True
                with smtp._lock:
                    smtp.logins.append(user)
                self._send("235 authenticated")
            elif verb == "MAIL":
                m = _ADDR.match(arg[len("FROM:"):].strip()) if arg.upper().startswith("FROM:") else None
                if not greeted or m is None:
                    self._send("503 EHLO first" if not greeted else "501 syntax: MAIL FROM:<address>")
                elif smtp.user is not None and not authed:
                    self._send("530 authentication required")
                else:
                    mail_from, rcpt = m.group(1), []
                    self._send("250 OK")
            elif verb == "RCPT":
                m = _ADDR.match(arg[len("TO:"):].strip()) if arg.upper().startswith("TO:") else None
                if mail_from is None or m is None or not m.group(1):
                    self._send("503 MAIL first" if mail_from is None else "501 syntax: RCPT TO:<address>")
                else:
                    rcpt.append(m.group(1))
                    self._send("250 OK")
            elif verb == "DATA":
                if mail_from is None or not rcpt:
                    self._send("503 need MAIL and RCPT")
                    continue
                self._send("354 end with <CRLF>.<CRLF>")
                lines: list[bytes] = []
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                body = b"".join(lines)
                with smtp._lock:
                    fail = smtp._failures > 0
                    if fail:
                        smtp._failures -= 1
                if fail:
                    self._send("451 temporary failure, try again")
                else:
                    message = BytesParser(policy=policy.default).parsebytes(body)
                    with smtp._lock:
                        smtp.messages.append(Mail(mail_from, list(rcpt), body, message))  # type: ignore[arg-type]
                    self._send("250 OK queued")
                mail_from, rcpt = None, []
            elif verb == "RSET":
                mail_from, rcpt = None, []
                self._send("250 OK")
            elif verb == "NOOP":
                self._send("250 OK")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("502 command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    smtp: SMTPServer


class SMTPServer(LoopbackServer):
    server_class = _Server
    handler_class = _Handler
    owner_attr = "smtp"
    thread_name = "fake-smtp"

    def __init__(self, *, user: str | None = None, password: str | None = None) -> None:
        self.user = user
        self.password = password
        self.messages: list[Mail] = []
        self.commands: list[str] = []
        self.logins: list[str] = []
        self._failures = 0
        self._lock = threading.Lock()

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._failures += n

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.commands.clear()
            self.logins.clear()
            self._failures = 0





