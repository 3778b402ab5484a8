"""The lab's BMCs: a small Redfish service per storage guest, driving the guest through QMP.

A storage node's fence-peer handler powers its peer off with ClusterLabs' fence_redfish, the
real agent a site uses with a real BMC (iDRAC, iLO, XCC, OpenBMC all speak Redfish). Each
guest reaches every storage guest's BMC over its management network, not the LAN or the
back-to-back cable: qemu's user network forwards ``bmc_address:443`` (``guestfwd``) to this
program, started once per connection with the connection on its standard input and output,
as inetd would. It speaks HTTPS with the lab's self-signed certificate (the lab's group_data
sets ``ssl_insecure``) and checks the guest's BMC password (lab/settings.py keeps it outside
the repository, as a site keeps a BMC's).

Only what fence_redfish uses is served: the service root, the systems collection, the system
with its PowerState and its Reset action (ForceOff, ForceRestart). ``On`` is refused: the lab
starts guests itself (``python -m lab up NAME``). Every request that changes power is logged
to ``run/bmc.log`` with its time, the guest and the action: the tests read which guest was
fenced, and when.

``python -m lab bmc NAME down`` makes a guest's BMC unreachable (each connection is closed
before TLS, as by a dead BMC or a cut management cable) until ``python -m lab bmc NAME up``:
the fault of a fence agent that cannot reach the peer's BMC. ``python -m lab bmc NAME hang``
makes it accept each connection and answer nothing until ``up`` (a hung BMC): the agent waits
until the handler's timeout ends it.

Run by qemu: ``python -m lab.bmc NAME`` (lab/machines.py); ``python -m lab.bmc --certificate``
makes the certificate.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from lab import qmp
from lab.settings import Guest, bmc_certificate, bmc_password_file, guest, lab_dir

SYSTEM = "/redfish/v1/Systems/1"
RESET = f"{SYSTEM}/Actions/ComputerSystem.Reset"
USERNAME = "twinstore"
RESET_TYPES = ("ForceOff", "ForceRestart")
ALLOWED = "ResetType@Redfish.AllowableValues"


def log_file() -> Path:
    return lab_dir() / "run" / "bmc.log"


BMC_STATES = ("up", "down", "hang")
# A hung BMC's connections end by themselves after this, should the lab forget to bring it up.
HANG_LIMIT_SECONDS = 600


def unreachable_flag(name: str) -> Path:
    """While this file exists, the guest's BMC answers no connection."""
    return lab_dir() / "run" / f"bmc-{name}.down"


def hung_flag(name: str) -> Path:
    """While this file exists, the guest's BMC holds each connection and answers nothing."""
    return lab_dir() / "run" / f"bmc-{name}.hang"


def set_state(name: str, state: str) -> None:
    """up (answers), down (closes each connection at once) or hang (holds it, answering nothing)."""
    if state not in BMC_STATES:
        raise ValueError(f"a BMC is {', '.join(BMC_STATES)}, not {state!r}")
    for flag, wanted in ((unreachable_flag(name), state == "down"), (hung_flag(name), state == "hang")):
        if wanted:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)


def running(target: Guest) -> bool:
    """Whether the guest's qemu runs (its power is on)."""
    try:
        pid = int(target.pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def log(target: Guest, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    with log_file().open("a") as handle:
        handle.write(f"{stamp} {target.name} {message}\n")


def make_certificate() -> Path:
    """The lab's BMC certificate and key in one file, made once (self-signed, 10 years)."""
    path = bmc_certificate()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.new")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-subj", "/CN=twinstore-lab-bmc", "-keyout", str(temporary), "-out", str(temporary.with_suffix(".crt"))],
            check=True, capture_output=True,
        )  # fmt: skip
        with temporary.open("a") as handle:
            handle.write(temporary.with_suffix(".crt").read_text())
        temporary.with_suffix(".crt").unlink()
        temporary.chmod(0o600)
        os.replace(temporary, path)
    return path


class RedfishHandler(BaseHTTPRequestHandler):
    """One guest's Redfish service."""

    protocol_version = "HTTP/1.1"
    target: Guest

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _authorised(self) -> bool:
        expected = bmc_password_file(self.target.name).read_text().strip()
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            return user == USERNAME and hmac.compare_digest(password, expected)
        return False

    def _send(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if not self._authorised():
            self._send(401, {"error": "unauthorised"})
            return
        path = self.path.rstrip("/")
        if path == "/redfish/v1":
            self._send(200, {"Id": "RootService", "Systems": {"@odata.id": "/redfish/v1/Systems"}})
        elif path == "/redfish/v1/Systems":
            self._send(200, {"Members": [{"@odata.id": SYSTEM}], "Members@odata.count": 1})
        elif path == SYSTEM:
            power = "On" if running(self.target) else "Off"
            self._send(
                200,
                {
                    "Id": "1",
                    "Name": self.target.name,
                    "PowerState": power,
                    "Actions": {"#ComputerSystem.Reset": {"target": RESET, ALLOWED: list(RESET_TYPES)}},
                },
            )
        else:
            self._send(404, {"error": f"no resource {path}"})

    def do_POST(self) -> None:
        if not self._authorised():
            self._send(401, {"error": "unauthorised"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            reset = json.loads(self.rfile.read(length) or b"{}").get("ResetType")
        except ValueError:
            reset = None
        if self.path.rstrip("/") != RESET or reset not in RESET_TYPES:
            self._send(400, {"error": f"the lab's BMC does {', '.join(RESET_TYPES)} on {RESET}"})
            return
        log(self.target, reset)
        if running(self.target):
            if reset == "ForceOff":
                qmp.power_off(self.target)
            else:
                qmp.hard_reset(self.target)
        self._send(204)


def serve(name: str) -> None:
    """Answer the HTTPS connection on standard input (a socket qemu's user network hands over)."""
    target = guest(name)
    if unreachable_flag(name).exists():
        return  # the connection closes with this process, before a byte of TLS
    # A hung BMC: the connection stays open, with nothing on it (the agent's timeout ends it).
    hung_since = time.monotonic()
    while hung_flag(name).exists() and time.monotonic() - hung_since < HANG_LIMIT_SECONDS:
        time.sleep(1)
    # qemu hands the connection over as standard input, output and error: keep errors off it.
    errors = os.open(lab_dir() / "run" / "bmc.errors", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(errors, 2)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(bmc_certificate())
    connection = context.wrap_socket(socket.socket(fileno=0), server_side=True)
    handler = type("Handler", (RedfishHandler,), {"target": target})
    handler(connection, ("guest", 0), None)


if __name__ == "__main__":
    if sys.argv[1:] == ["--certificate"]:
        print(make_certificate())
    else:
        serve(sys.argv[1])
