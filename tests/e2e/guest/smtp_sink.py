"""The site's mail relay, as the lab's client guest plays it: accepts every message over SMTP and
prints it on standard output, envelope and data. Python's smtpd did this until 3.11; Debian 13's
Python (3.13) has neither smtpd nor asyncore.

Usage: python3 smtp_sink.py ADDRESS PORT
"""

from __future__ import annotations

import socketserver
import sys


class Session(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 twinstore-lab-sink ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 twinstore-lab-sink")
            elif verb in ("MAIL", "RCPT"):
                print(command, flush=True)
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.receive_data()
                self.reply("250 OK: queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            else:
                self.reply("502 Command not implemented")

    def receive_data(self) -> None:
        print("---------- MESSAGE FOLLOWS ----------", flush=True)
        while True:
            line = self.rfile.readline()
            if not line or line.rstrip(b"\r\n") == b".":
                break
            text = line.decode(errors="replace").rstrip("\r\n")
            # SMTP's dot-stuffing undone.
            print(text[1:] if text.startswith("..") else text, flush=True)
        print("------------ END MESSAGE ------------", flush=True)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server((sys.argv[1], int(sys.argv[2])), Session) as server:
        server.serve_forever()
